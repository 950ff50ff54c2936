//! The filter specification and the parsers of its user-facing forms.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use geo::{
    Bearing, BoundingRect, Coord, Distance, Haversine, Intersects, LineString, MultiLineString,
    MultiPolygon, Point, Polygon,
};
use mlytiles_tile::BBox;

use crate::error::{Error, Result};
use crate::kind::LayerKind;
use crate::records::normalize_angle;

fn parse_error(
    what: &'static str,
    input: &str,
    reason: impl Into<String>,
    expected: &'static str,
) -> Error {
    Error::Parse {
        what,
        input: input.into(),
        reason: reason.into(),
        expected,
    }
}

/// A filter over Mapillary features: every predicate that is set must hold (AND).
///
/// A plain struct: set the fields, or parse their user-facing forms with the types'
/// `FromStr` impls. Each predicate applies to some layers only ([`Predicate::applies_to`]);
/// compiling a filter for a layer one of its predicates cannot apply to is an error
/// ([`Error::NotApplicable`]), never a silent pass.
///
/// Unknown values never match a predicate on them: a `captured_at` of 0 (or unreadable) is
/// excluded by any date range, an unknown `is_pano` by `pano` and `flat`, an unknown compass
/// angle by a compass range. The one exception is organizations: `none` matches features without
/// a readable `organization_id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Capture time range on `captured_at` (overview, sequence, image). Default `None`: any.
    pub captured: Option<DateRange>,
    /// Panoramas, flat images or all (overview, sequence, image). Default [`ImageType::All`].
    pub image_type: ImageType,
    /// Organization ids, possibly `none` (sequence, image). Default `None`: any.
    pub organizations: Option<Organizations>,
    /// Creator ids; the feature's `creator_id` must be one of them (overview, sequence,
    /// image). Default empty: any.
    pub creators: Vec<u64>,
    /// Sequence keys: `sequence_id` on overview and image, `id` on sequence. Default empty:
    /// any.
    pub sequences: Vec<String>,
    /// Compass range, wrapping through north (image). Default `None`: any.
    pub compass: Option<CompassRange>,
    /// Where the feature must lie: a point inside, a line touching (all layers; needs the tile
    /// id). Default `None`: anywhere.
    pub area: Option<Area>,
    /// Images that look at a point (image; needs the tile id). Default `None`.
    pub looking_at: Option<LookingAt>,
    /// Map feature classes; the class must match one of them (point, traffic_sign). Default
    /// empty: any.
    pub classes: Vec<ClassPattern>,
    /// Map features whose `[first_seen_at, last_seen_at]` overlaps this range (point,
    /// traffic_sign); features with either time unknown (0) are excluded. Default `None`.
    pub seen: Option<DateRange>,
}

/// The predicates of a [`Filter`], named as its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Predicate {
    /// [`Filter::captured`]
    Captured,
    /// [`Filter::image_type`]
    ImageType,
    /// [`Filter::organizations`]
    Organizations,
    /// [`Filter::creators`]
    Creators,
    /// [`Filter::sequences`]
    Sequences,
    /// [`Filter::compass`]
    Compass,
    /// [`Filter::area`]
    Area,
    /// [`Filter::looking_at`]
    LookingAt,
    /// [`Filter::classes`]
    Classes,
    /// [`Filter::seen`]
    Seen,
}

impl Predicate {
    /// The field name, such as `"compass"`.
    pub const fn name(self) -> &'static str {
        match self {
            Predicate::Captured => "captured",
            Predicate::ImageType => "image_type",
            Predicate::Organizations => "organizations",
            Predicate::Creators => "creators",
            Predicate::Sequences => "sequences",
            Predicate::Compass => "compass",
            Predicate::Area => "area",
            Predicate::LookingAt => "looking_at",
            Predicate::Classes => "classes",
            Predicate::Seen => "seen",
        }
    }

    /// The layers whose features carry what the predicate tests.
    pub const fn applies_to(self) -> &'static [LayerKind] {
        use LayerKind::*;
        match self {
            Predicate::Captured
            | Predicate::ImageType
            | Predicate::Creators
            | Predicate::Sequences => &[Overview, Sequence, Image],
            // overview points carry no organization_id.
            Predicate::Organizations => &[Sequence, Image],
            Predicate::Compass | Predicate::LookingAt => &[Image],
            Predicate::Area => &[Overview, Sequence, Image, Point, TrafficSign],
            Predicate::Classes | Predicate::Seen => &[Point, TrafficSign],
        }
    }

    /// Whether the predicate needs the feature's position (and so the tile id).
    pub const fn is_spatial(self) -> bool {
        matches!(self, Predicate::Area | Predicate::LookingAt)
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Filter {
    /// The predicates that are set, in field order.
    pub fn predicates(&self) -> Vec<Predicate> {
        let mut p = Vec::new();
        let mut add = |set: bool, pred| {
            if set {
                p.push(pred);
            }
        };
        add(self.captured.is_some(), Predicate::Captured);
        add(self.image_type != ImageType::All, Predicate::ImageType);
        add(self.organizations.is_some(), Predicate::Organizations);
        add(!self.creators.is_empty(), Predicate::Creators);
        add(!self.sequences.is_empty(), Predicate::Sequences);
        add(self.compass.is_some(), Predicate::Compass);
        add(self.area.is_some(), Predicate::Area);
        add(self.looking_at.is_some(), Predicate::LookingAt);
        add(!self.classes.is_empty(), Predicate::Classes);
        add(self.seen.is_some(), Predicate::Seen);
        p
    }

    /// The layers every set predicate applies to (all five for an empty filter).
    pub fn layers(&self) -> Vec<LayerKind> {
        let preds = self.predicates();
        LayerKind::ALL
            .into_iter()
            .filter(|l| preds.iter().all(|p| p.applies_to().contains(l)))
            .collect()
    }

    /// Checks that every set predicate applies to `layer`.
    ///
    /// # Errors
    ///
    /// [`Error::NotApplicable`] naming the first predicate that does not.
    pub fn check_layer(&self, layer: LayerKind) -> Result<()> {
        match self
            .predicates()
            .into_iter()
            .find(|p| !p.applies_to().contains(&layer))
        {
            None => Ok(()),
            Some(p) => Err(Error::NotApplicable {
                predicate: p.name(),
                layer,
                applies_to: p
                    .applies_to()
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dates

const DATE_FORMS: &str = "a date or datetime (UTC) `2023-01-01`, `2023-06`, `2023`, \
    `2023-01-01T12:00:00Z`, a range `A..B` (either side may be empty, both ends inclusive), \
    or a window `last 30 months` / `30months` / `2y` (units h, d, w, mo, y)";

/// A unit of a relative time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `h`, `hour`, `hours`
    Hours,
    /// `d`, `day`, `days`
    Days,
    /// `w`, `week`, `weeks`
    Weeks,
    /// `mo`, `month`, `months` (calendar months)
    Months,
    /// `y`, `year`, `years` (calendar years)
    Years,
}

/// One end of a [`DateRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeBound {
    /// A fixed instant, UTC milliseconds since the epoch.
    At(i64),
    /// `count` units before "now" (given when the filter is compiled).
    Ago {
        /// How many units.
        count: u32,
        /// Which unit.
        unit: TimeUnit,
    },
}

impl TimeBound {
    /// The instant in UTC ms, relative bounds counted back from `now`.
    ///
    /// # Errors
    ///
    /// [`Error::DateOutOfRange`] if counting back leaves chrono's range.
    pub fn resolve(self, now: DateTime<Utc>) -> Result<i64> {
        let (count, unit) = match self {
            TimeBound::At(ms) => return Ok(ms),
            TimeBound::Ago { count, unit } => (count, unit),
        };
        let n = i64::from(count);
        let t = match unit {
            TimeUnit::Hours => now.checked_sub_signed(TimeDelta::hours(n)),
            TimeUnit::Days => now.checked_sub_signed(TimeDelta::days(n)),
            TimeUnit::Weeks => now.checked_sub_signed(TimeDelta::weeks(n)),
            TimeUnit::Months => now.checked_sub_months(Months::new(count)),
            TimeUnit::Years => count
                .checked_mul(12)
                .and_then(|m| now.checked_sub_months(Months::new(m))),
        };
        t.map(|t| t.timestamp_millis())
            .ok_or_else(|| Error::DateOutOfRange(format!("{count} {unit:?} before {now}")))
    }
}

/// A time range, both ends inclusive, UTC. An open end is unbounded.
///
/// Parses from `2023-01-01..2023-12-31` (whole days: the end day is included), `2023-06`
/// (a whole month), `2023-01-01T12:00:00Z..`, `..2020`, `last 30 months`, `30months`, `2y`
/// (from that long ago up to now).
///
/// ```
/// use mlytiles_filter::DateRange;
/// let r: DateRange = "2023-01-01..2023-01-31".parse().unwrap();
/// let now = mlytiles_filter::chrono::Utc::now();
/// let (start, end) = r.resolve(now).unwrap();
/// assert_eq!(start, 1_672_531_200_000); // 2023-01-01T00:00:00Z
/// assert_eq!(end, 1_675_209_599_999); // 2023-01-31T23:59:59.999Z
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DateRange {
    /// The first instant in range; `None` is unbounded.
    pub start: Option<TimeBound>,
    /// The last instant in range; `None` is unbounded (for relative windows: up to now and
    /// beyond).
    pub end: Option<TimeBound>,
}

impl DateRange {
    /// The range in UTC ms `(start, end)`, inclusive, with relative bounds resolved
    /// against `now`; open ends give `i64::MIN` / `i64::MAX`.
    ///
    /// # Errors
    ///
    /// [`Error::DateOutOfRange`] if a relative bound leaves chrono's range.
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<(i64, i64)> {
        let start = self.start.map(|b| b.resolve(now)).transpose()?;
        let end = self.end.map(|b| b.resolve(now)).transpose()?;
        Ok((start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX)))
    }
}

impl FromStr for DateRange {
    type Err = Error;

    fn from_str(input: &str) -> Result<DateRange> {
        let err = |reason: String| parse_error("date range", input, reason, DATE_FORMS);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty".into()));
        }
        if let Some(rest) = s.strip_prefix("last ") {
            let (count, unit) = parse_span(rest.trim()).map_err(err)?;
            return Ok(DateRange {
                start: Some(TimeBound::Ago { count, unit }),
                end: None,
            });
        }
        if let Some((a, b)) = s.split_once("..") {
            let (a, b) = (a.trim(), b.trim());
            if a.is_empty() && b.is_empty() {
                return Err(err("both ends are empty".into()));
            }
            let start = (!a.is_empty())
                .then(|| parse_bound(a).map(|(lo, _)| lo))
                .transpose()
                .map_err(err)?;
            let end = (!b.is_empty())
                .then(|| parse_bound(b).map(|(_, hi)| hi))
                .transpose()
                .map_err(err)?;
            if let (Some(TimeBound::At(lo)), Some(TimeBound::At(hi))) = (start, end)
                && lo > hi
            {
                return Err(err(format!("the start {a} is after the end {b}")));
            }
            return Ok(DateRange { start, end });
        }
        let (lo, hi) = parse_bound(s).map_err(err)?;
        Ok(match lo {
            // A bare span is a window up to now.
            TimeBound::Ago { .. } => DateRange {
                start: Some(lo),
                end: None,
            },
            TimeBound::At(_) => DateRange {
                start: Some(lo),
                end: Some(hi),
            },
        })
    }
}

/// A bound: a period (date, month, year, datetime) as its first and last ms, or a span ago.
fn parse_bound(s: &str) -> std::result::Result<(TimeBound, TimeBound), String> {
    if let Some((first, last)) = parse_period(s)? {
        return Ok((TimeBound::At(first), TimeBound::At(last)));
    }
    let (count, unit) = parse_span(s)?;
    let b = TimeBound::Ago { count, unit };
    Ok((b, b))
}

/// `Ok(None)` if `s` does not look like a date at all (no leading 4-digit year).
fn parse_period(s: &str) -> std::result::Result<Option<(i64, i64)>, String> {
    let looks_like_date = s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if !looks_like_date {
        return Ok(None);
    }
    let day_ms = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
    };
    let bad = || format!("{s:?} is not a valid date or datetime");
    if s.contains('T') || s.contains(' ') {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            let ms = t.with_timezone(&Utc).timestamp_millis();
            return Ok(Some((ms, ms)));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
                let ms = t.and_utc().timestamp_millis();
                return Ok(Some((ms, ms)));
            }
        }
        return Err(bad());
    }
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str| p.parse::<u32>().map_err(|_| bad());
    let year = s[..4].parse::<i32>().map_err(|_| bad())?;
    let (first, next) = match parts[..] {
        [y] if y.len() == 4 => (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year + 1, 1, 1),
        ),
        [y, m] if y.len() == 4 && m.len() == 2 => {
            let m = num(m)?;
            let first = NaiveDate::from_ymd_opt(year, m, 1);
            (
                first,
                first.and_then(|d| d.checked_add_months(Months::new(1))),
            )
        }
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            let first = NaiveDate::from_ymd_opt(year, num(m)?, num(d)?);
            (first, first.and_then(|d| d.succ_opt()))
        }
        _ => return Err(bad()),
    };
    match (first.and_then(day_ms), next.and_then(day_ms)) {
        (Some(a), Some(b)) => Ok(Some((a, b - 1))),
        _ => Err(bad()),
    }
}

/// `30months`, `30 months`, `2y`, `6w`, `10d`, `12h`.
fn parse_span(s: &str) -> std::result::Result<(u32, TimeUnit), String> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("{s:?} does not start with a number"));
    }
    let count: u32 = s[..digits]
        .parse()
        .map_err(|_| format!("{:?} is too large", &s[..digits]))?;
    let unit = match s[digits..].trim() {
        "h" | "hour" | "hours" => TimeUnit::Hours,
        "d" | "day" | "days" => TimeUnit::Days,
        "w" | "week" | "weeks" => TimeUnit::Weeks,
        "mo" | "month" | "months" => TimeUnit::Months,
        "y" | "year" | "years" => TimeUnit::Years,
        "m" => return Err("`m` is ambiguous: write `mo` for months".into()),
        "" => return Err(format!("{s:?} has no unit")),
        other => return Err(format!("unknown unit {other:?}")),
    };
    Ok((count, unit))
}

// ---------------------------------------------------------------------------------------
// Image type, ids

/// Panoramas, flat images, or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ImageType {
    /// Every feature, whatever its `is_pano` (the default).
    #[default]
    All,
    /// `is_pano` true.
    Pano,
    /// `is_pano` false (an unknown `is_pano` matches neither `Pano` nor `Flat`).
    Flat,
}

impl FromStr for ImageType {
    type Err = Error;

    fn from_str(s: &str) -> Result<ImageType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(ImageType::All),
            "pano" | "panorama" | "panoramas" | "360" => Ok(ImageType::Pano),
            "flat" | "regular" | "perspective" => Ok(ImageType::Flat),
            _ => Err(parse_error(
                "image type",
                s,
                "unknown image type",
                "`all`, `pano` or `flat`",
            )),
        }
    }
}

/// Organization ids; `none` stands for features without an `organization_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Organizations {
    /// The ids that match.
    pub ids: Vec<u64>,
    /// Whether features without a (readable) organization id match.
    pub none: bool,
}

impl FromStr for Organizations {
    type Err = Error;

    /// `123,456`, `none`, `none,123`.
    fn from_str(input: &str) -> Result<Organizations> {
        const FORMS: &str =
            "comma-separated organization ids and/or `none`, such as `1805883732926354,none`";
        let mut orgs = Organizations::default();
        for part in input.split(',').map(str::trim) {
            if part.eq_ignore_ascii_case("none") {
                orgs.none = true;
            } else {
                orgs.ids.push(part.parse().map_err(|_| {
                    parse_error(
                        "organization list",
                        input,
                        format!("{part:?} is not an id"),
                        FORMS,
                    )
                })?);
            }
        }
        Ok(orgs)
    }
}

/// Parses comma-separated ids (creators), exact `u64`s.
///
/// # Errors
///
/// [`Error::Parse`] naming the item that is not an id.
pub fn parse_ids(input: &str) -> Result<Vec<u64>> {
    input
        .split(',')
        .map(str::trim)
        .map(|p| {
            p.parse().map_err(|_| {
                parse_error(
                    "id list",
                    input,
                    format!("{p:?} is not an id"),
                    "comma-separated non-negative integers, such as `102345,2938475`",
                )
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Compass

/// A compass range in degrees, both ends inclusive, going clockwise from `from` to `to`:
/// `350..10` wraps through north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompassRange {
    from: f64,
    to: f64,
}

impl CompassRange {
    /// The range clockwise from `from` to `to`, both normalised to [0, 360).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] if either is not finite.
    pub fn new(from: f64, to: f64) -> Result<CompassRange> {
        if !from.is_finite() || !to.is_finite() {
            return Err(parse_error(
                "compass range",
                &format!("{from}..{to}"),
                "an angle is not a finite number",
                COMPASS_FORMS,
            ));
        }
        Ok(CompassRange {
            from: normalize_angle(from),
            to: normalize_angle(to),
        })
    }

    /// The start, in [0, 360).
    pub fn from(&self) -> f64 {
        self.from
    }

    /// The end, in [0, 360).
    pub fn to(&self) -> f64 {
        self.to
    }

    /// Whether the (normalised) angle lies in the range.
    pub fn contains(&self, angle: f64) -> bool {
        let a = normalize_angle(angle);
        if self.from <= self.to {
            self.from <= a && a <= self.to
        } else {
            a >= self.from || a <= self.to
        }
    }
}

const COMPASS_FORMS: &str = "`FROM..TO` in degrees, clockwise, such as `80..100` or `350..10`";

impl FromStr for CompassRange {
    type Err = Error;

    fn from_str(input: &str) -> Result<CompassRange> {
        let err = |r: String| parse_error("compass range", input, r, COMPASS_FORMS);
        let (a, b) = input
            .split_once("..")
            .ok_or_else(|| err("there is no `..`".into()))?;
        let num = |p: &str| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(format!("{:?} is not a number", p.trim())))
        };
        CompassRange::new(num(a)?, num(b)?)
    }
}

// ---------------------------------------------------------------------------------------
// Classes

/// A map-feature class pattern: an exact name, or a pattern where `*` stands for any run of
/// characters (`regulatory--*`, `*--g1`, `warning--*-curve--*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassPattern(String);

impl ClassPattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `class` matches: exact unless the pattern has `*`.
    pub fn matches(&self, class: &str) -> bool {
        glob(self.0.as_bytes(), class.as_bytes())
    }
}

/// `*` matches any run; everything else literally. Greedy with backtracking to the last star:
/// O(pattern * text) at worst.
fn glob(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

impl FromStr for ClassPattern {
    type Err = Error;

    fn from_str(input: &str) -> Result<ClassPattern> {
        let s = input.trim();
        if s.is_empty() || s.contains(char::is_whitespace) || s.contains(',') {
            return Err(parse_error(
                "class pattern",
                input,
                "a class is one word without spaces or commas",
                "a class such as `regulatory--stop--g1`, or a pattern with `*` such as `regulatory--*`",
            ));
        }
        Ok(ClassPattern(s.to_owned()))
    }
}

// ---------------------------------------------------------------------------------------
// Space

/// Mean Earth radius used for distances, metres (as geo's `Haversine`).
const EARTH_RADIUS: f64 = 6_371_008.8;

/// Where features must lie.
#[derive(Debug, Clone, PartialEq)]
pub enum Area {
    /// A bounding box (may cross the antimeridian).
    BBox(BBox),
    /// Polygons in lon/lat (GeoJSON Polygon or MultiPolygon); holes are outside.
    Polygon(MultiPolygon<f64>),
    /// Within `metres` of a point (great-circle distance).
    Radius {
        /// Centre longitude.
        lon: f64,
        /// Centre latitude.
        lat: f64,
        /// Radius in metres.
        metres: f64,
    },
}

const RADIUS_FORMS: &str = "`LON,LAT,RADIUS` with the radius in metres, optionally suffixed `m` or `km`, such as `13.40,52.52,500m`";

impl Area {
    /// A bbox from `W,S,E,N`.
    ///
    /// # Errors
    ///
    /// [`Error::Tile`] as `BBox`'s parser.
    pub fn parse_bbox(s: &str) -> Result<Area> {
        Ok(Area::BBox(s.parse()?))
    }

    /// A radius from `LON,LAT,RADIUS` (`500`, `500m`, `2km`).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] saying which part is wrong.
    pub fn parse_radius(input: &str) -> Result<Area> {
        let err = |r: String| parse_error("radius", input, r, RADIUS_FORMS);
        let parts: Vec<&str> = input.split(',').map(str::trim).collect();
        let [lon, lat, r] = parts[..] else {
            return Err(err(format!(
                "expected 3 comma-separated parts, found {}",
                parts.len()
            )));
        };
        let (lon, lat) = parse_lon_lat(lon, lat).map_err(err)?;
        let (num, scale) = if let Some(n) = r.strip_suffix("km") {
            (n, 1000.0)
        } else {
            (r.strip_suffix('m').unwrap_or(r), 1.0)
        };
        let metres = num
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|m| m.is_finite() && *m >= 0.0)
            .ok_or_else(|| err(format!("{r:?} is not a non-negative distance")))?
            * scale;
        Ok(Area::Radius { lon, lat, metres })
    }

    /// Polygons from GeoJSON: a Polygon, a MultiPolygon, a Feature of one, or a
    /// FeatureCollection of them (their union).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] saying what is wrong (not JSON, another geometry type, a bad ring).
    pub fn from_geojson(json: &str) -> Result<Area> {
        let err = |r: String| {
            parse_error(
                "GeoJSON area",
                &json.chars().take(80).collect::<String>(),
                r,
                "a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection of them, in lon/lat",
            )
        };
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| err(format!("not JSON: {e}")))?;
        let mut polys = Vec::new();
        collect_polygons(&v, &mut polys).map_err(err)?;
        if polys.is_empty() {
            return Err(err("it holds no polygon".into()));
        }
        Ok(Area::Polygon(MultiPolygon(polys)))
    }

    /// A box holding the whole area, for choosing which tiles to read; `None` for an empty
    /// polygon.
    ///
    /// A radius reaching a pole spans every longitude; one crossing the antimeridian gives a
    /// box that does too (west > east).
    pub fn bounds(&self) -> Option<BBox> {
        match self {
            Area::BBox(b) => Some(*b),
            Area::Polygon(mp) => {
                let r = mp.bounding_rect()?;
                BBox::new(r.min().x, r.min().y, r.max().x, r.max().y).ok()
            }
            Area::Radius { lon, lat, metres } => {
                // On the sphere Haversine measures on: the angle the radius spans, and the
                // widest longitude offset a circle of that angle reaches at latitude `lat`.
                let angle = metres / EARTH_RADIUS;
                let margin = 1e-9;
                let dlat = angle.to_degrees() + margin;
                let (south, north) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
                let ratio = angle.sin() / lat.to_radians().cos();
                if angle >= std::f64::consts::FRAC_PI_2
                    || ratio.is_nan()
                    || ratio >= 1.0
                    || north >= 90.0
                    || south <= -90.0
                {
                    return BBox::new(-180.0, south, 180.0, north).ok();
                }
                let dlon = ratio.asin().to_degrees() + margin;
                let wrap = |x: f64| {
                    if x < -180.0 {
                        x + 360.0
                    } else if x > 180.0 {
                        x - 360.0
                    } else {
                        x
                    }
                };
                BBox::new(wrap(lon - dlon), south, wrap(lon + dlon), north).ok()
            }
        }
    }

    /// Whether the point lies in the area (borders included).
    pub fn contains_point(&self, lon: f64, lat: f64) -> bool {
        match self {
            Area::BBox(b) => b.contains(lon, lat),
            Area::Polygon(mp) => mp.intersects(&Coord { x: lon, y: lat }),
            Area::Radius {
                lon: clon,
                lat: clat,
                metres,
            } => Haversine.distance(Point::new(*clon, *clat), Point::new(lon, lat)) <= *metres,
        }
    }

    /// Whether any part of the lines touches the area.
    pub fn intersects_lines(&self, lines: &MultiLineString<f64>) -> bool {
        match self {
            Area::BBox(b) => bbox_polygons(b).intersects(lines),
            Area::Polygon(mp) => mp.intersects(lines),
            Area::Radius { lon, lat, metres } => lines.0.iter().any(|l| {
                l.0.iter().any(|c| self.contains_point(c.x, c.y))
                    || l.lines()
                        .any(|s| segment_distance_m(*lon, *lat, s.start, s.end) <= *metres)
            }),
        }
    }
}

/// A bbox as one polygon, or two when it crosses the antimeridian.
fn bbox_polygons(b: &BBox) -> MultiPolygon<f64> {
    let rect = |w: f64, e: f64| {
        Polygon::new(
            LineString::from(vec![
                (w, b.south()),
                (e, b.south()),
                (e, b.north()),
                (w, b.north()),
                (w, b.south()),
            ]),
            vec![],
        )
    };
    if b.crosses_antimeridian() {
        MultiPolygon(vec![rect(b.west(), 180.0), rect(-180.0, b.east())])
    } else {
        MultiPolygon(vec![rect(b.west(), b.east())])
    }
}

/// Distance in metres from a point to a segment, in a local equirectangular projection around
/// the point (good to well under 1% for the few kilometres a radius filter spans).
fn segment_distance_m(lon: f64, lat: f64, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let k = EARTH_RADIUS * std::f64::consts::PI / 180.0;
    let kx = k * lat.to_radians().cos();
    let proj = |c: Coord<f64>| (wrap_lon(c.x - lon) * kx, (c.y - lat) * k);
    let ((ax, ay), (bx, by)) = (proj(a), proj(b));
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (px, py) = (ax + t * dx, ay + t * dy);
    (px * px + py * py).sqrt()
}

fn wrap_lon(d: f64) -> f64 {
    (d + 180.0).rem_euclid(360.0) - 180.0
}

fn parse_lon_lat(lon: &str, lat: &str) -> std::result::Result<(f64, f64), String> {
    let lon_v = lon
        .parse::<f64>()
        .ok()
        .filter(|v| (-180.0..=180.0).contains(v))
        .ok_or_else(|| format!("longitude {lon:?} is not a number in -180..180"))?;
    let lat_v = lat
        .parse::<f64>()
        .ok()
        .filter(|v| (-90.0..=90.0).contains(v))
        .ok_or_else(|| format!("latitude {lat:?} is not a number in -90..90"))?;
    Ok((lon_v, lat_v))
}

fn collect_polygons(
    v: &serde_json::Value,
    out: &mut Vec<Polygon<f64>>,
) -> std::result::Result<(), String> {
    let ty = v.get("type").and_then(|t| t.as_str()).unwrap_or("");
    match ty {
        "FeatureCollection" => {
            let features = v
                .get("features")
                .and_then(|f| f.as_array())
                .ok_or("a FeatureCollection without a `features` array")?;
            for f in features {
                collect_polygons(f, out)?;
            }
            Ok(())
        }
        "Feature" => collect_polygons(
            v.get("geometry").ok_or("a Feature without a `geometry`")?,
            out,
        ),
        "Polygon" => {
            out.push(json_polygon(coords(v)?)?);
            Ok(())
        }
        "MultiPolygon" => {
            let polys = coords(v)?
                .as_array()
                .ok_or("MultiPolygon coordinates are not an array")?;
            for p in polys {
                out.push(json_polygon(p)?);
            }
            Ok(())
        }
        "" => Err("no `type` member".into()),
        other => Err(format!("a {other} is not an area")),
    }
}

fn coords(v: &serde_json::Value) -> std::result::Result<&serde_json::Value, String> {
    v.get("coordinates")
        .ok_or_else(|| "a geometry without `coordinates`".into())
}

fn json_polygon(v: &serde_json::Value) -> std::result::Result<Polygon<f64>, String> {
    let rings = v
        .as_array()
        .ok_or("polygon coordinates are not an array of rings")?;
    let mut rings = rings.iter().map(|r| {
        let pts = r.as_array().ok_or("a ring is not an array of positions")?;
        let coords = pts
            .iter()
            .map(|p| match p.as_array().map(|a| a.as_slice()) {
                Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => Ok(Coord { x, y }),
                    _ => Err("a position is not numbers"),
                },
                _ => Err("a position has fewer than 2 numbers"),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if coords.len() < 4 {
            return Err("a ring has fewer than 4 positions");
        }
        Ok(LineString(coords))
    });
    let exterior = rings.next().ok_or("a polygon without rings")??;
    let holes = rings.collect::<std::result::Result<Vec<_>, &str>>()?;
    Ok(Polygon::new(exterior, holes))
}

/// Images looking at a point: the bearing from the image to the point lies within
/// `tolerance` degrees of the image's compass angle. Panoramas always match; images with an
/// unknown compass angle never do (unless they are panoramas).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookingAt {
    /// Target longitude.
    pub lon: f64,
    /// Target latitude.
    pub lat: f64,
    /// Allowed difference between bearing and compass angle, degrees. Default 30 when
    /// parsed without one.
    pub tolerance: f64,
}

impl LookingAt {
    /// The default tolerance, degrees.
    pub const DEFAULT_TOLERANCE: f64 = 30.0;

    /// Whether an image at `(lon, lat)` with this compass angle and pano flag looks at the
    /// target.
    pub fn sees(&self, lon: f64, lat: f64, compass: Option<f64>, is_pano: Option<bool>) -> bool {
        if is_pano == Some(true) {
            return true;
        }
        let Some(compass) = compass else {
            return false;
        };
        let bearing = Haversine.bearing(Point::new(lon, lat), Point::new(self.lon, self.lat));
        let d = (bearing - compass).rem_euclid(360.0);
        d.min(360.0 - d) <= self.tolerance
    }
}

impl FromStr for LookingAt {
    type Err = Error;

    /// `LON,LAT` or `LON,LAT,TOLERANCE`.
    fn from_str(input: &str) -> Result<LookingAt> {
        const FORMS: &str = "`LON,LAT` or `LON,LAT,TOLERANCE_DEGREES`, such as `13.40,52.52,20`";
        let err = |r: String| parse_error("looking-at target", input, r, FORMS);
        let parts: Vec<&str> = input.split(',').map(str::trim).collect();
        let (lon, lat, tol) = match parts[..] {
            [lon, lat] => (lon, lat, None),
            [lon, lat, tol] => (lon, lat, Some(tol)),
            _ => return Err(err(format!("expected 2 or 3 parts, found {}", parts.len()))),
        };
        let (lon, lat) = parse_lon_lat(lon, lat).map_err(err)?;
        let tolerance = match tol {
            None => LookingAt::DEFAULT_TOLERANCE,
            Some(t) => t
                .parse::<f64>()
                .ok()
                .filter(|t| (0.0..=180.0).contains(t))
                .ok_or_else(|| err(format!("tolerance {t:?} is not a number in 0..180")))?,
        };
        Ok(LookingAt {
            lon,
            lat,
            tolerance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ms(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, mi, s)
            .unwrap()
            .timestamp_millis()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 31, 12, 0, 0).unwrap()
    }

    fn range(s: &str) -> (i64, i64) {
        s.parse::<DateRange>().unwrap().resolve(now()).unwrap()
    }

    #[test]
    fn date_ranges() {
        assert_eq!(
            range("2023-01-01"),
            (ms(2023, 1, 1, 0, 0, 0), ms(2023, 1, 2, 0, 0, 0) - 1)
        );
        assert_eq!(
            range("2023-01-01..2023-12-31"),
            (ms(2023, 1, 1, 0, 0, 0), ms(2024, 1, 1, 0, 0, 0) - 1)
        );
        assert_eq!(
            range("2024-02"),
            (ms(2024, 2, 1, 0, 0, 0), ms(2024, 3, 1, 0, 0, 0) - 1)
        );
        assert_eq!(
            range("2023"),
            (ms(2023, 1, 1, 0, 0, 0), ms(2024, 1, 1, 0, 0, 0) - 1)
        );
        assert_eq!(range("2023-01-01.."), (ms(2023, 1, 1, 0, 0, 0), i64::MAX));
        assert_eq!(
            range("..2023-01-01"),
            (i64::MIN, ms(2023, 1, 2, 0, 0, 0) - 1)
        );
        let t = ms(2023, 1, 1, 12, 0, 0);
        assert_eq!(range("2023-01-01T12:00:00Z"), (t, t));
        assert_eq!(range("2023-01-01T14:00:00+02:00"), (t, t));
        assert_eq!(range("2023-01-01T12:00:00"), (t, t));
        assert_eq!(
            range("2023-01-01T12:00:00Z..2023-01-02"),
            (t, ms(2023, 1, 3, 0, 0, 0) - 1)
        );
    }

    #[test]
    fn relative_windows() {
        let ago_30mo = ms(2022, 9, 30, 12, 0, 0);
        assert_eq!(range("last 30 months"), (ago_30mo, i64::MAX));
        assert_eq!(range("30months"), (ago_30mo, i64::MAX));
        assert_eq!(range("last 30mo"), (ago_30mo, i64::MAX));
        assert_eq!(range("2y"), (ms(2023, 3, 31, 12, 0, 0), i64::MAX));
        assert_eq!(range("last 10 days"), (ms(2025, 3, 21, 12, 0, 0), i64::MAX));
        assert_eq!(range("1w"), (ms(2025, 3, 24, 12, 0, 0), i64::MAX));
        assert_eq!(range("12h"), (ms(2025, 3, 31, 0, 0, 0), i64::MAX));
        // 1 month before March 31 is the end of February (chrono clamps the day).
        assert_eq!(range("1mo"), (ms(2025, 2, 28, 12, 0, 0), i64::MAX));
        // A window between two relative bounds.
        assert_eq!(
            range("2y..1y"),
            (ms(2023, 3, 31, 12, 0, 0), ms(2024, 3, 31, 12, 0, 0))
        );
    }

    #[test]
    fn date_errors_say_what_and_show_forms() {
        for bad in [
            "",
            "..",
            "2023-13-01",
            "2023-02-30",
            "2023-1-1",
            "yesterday",
            "30m",
            "30",
            "last x",
            "2024..2023",
            "2023-01-01T25:00",
            "30 fortnights",
        ] {
            let e = bad.parse::<DateRange>().unwrap_err().to_string();
            assert!(e.contains("expected a date"), "{bad:?}: {e}");
            assert!(e.contains("invalid date range"), "{bad:?}: {e}");
        }
        let e = "30m".parse::<DateRange>().unwrap_err().to_string();
        assert!(e.contains("`mo` for months"), "{e}");
        let e = "2024..2023".parse::<DateRange>().unwrap_err().to_string();
        assert!(e.contains("is after the end"), "{e}");
    }

    #[test]
    fn compass_ranges_wrap_through_north() {
        let r: CompassRange = "350..10".parse().unwrap();
        assert!(r.contains(355.0) && r.contains(5.0) && r.contains(350.0) && r.contains(10.0));
        assert!(r.contains(0.0) && r.contains(361.39));
        assert!(!r.contains(180.0) && !r.contains(11.0) && !r.contains(349.0));
        let r: CompassRange = "80..100".parse().unwrap();
        assert!(r.contains(90.0) && !r.contains(0.0) && !r.contains(270.0));
        let r: CompassRange = "-10..370".parse().unwrap();
        assert_eq!((r.from(), r.to()), (350.0, 10.0));
        for bad in ["10", "a..b", "1..inf", ""] {
            let e = bad.parse::<CompassRange>().unwrap_err().to_string();
            assert!(e.contains("`FROM..TO`"), "{e}");
        }
    }

    #[test]
    fn class_patterns() {
        let p = |s: &str| s.parse::<ClassPattern>().unwrap();
        assert!(p("regulatory--*").matches("regulatory--no-stopping--g1"));
        assert!(!p("regulatory--*").matches("warning--curve-left--g1"));
        assert!(p("regulatory--stop--g1").matches("regulatory--stop--g1"));
        assert!(!p("regulatory--stop--g1").matches("regulatory--stop--g10"));
        assert!(p("*").matches(""));
        assert!(p("*--g1").matches("regulatory--stop--g1"));
        assert!(p("warning--*-curve--*").matches("warning--double-curve--g2"));
        assert!(!p("warning--*-curve--*").matches("warning--curve--g2"));
        assert!(p("a*b*c").matches("aXXbYYbc"));
        assert!("".parse::<ClassPattern>().is_err());
        assert!("a b".parse::<ClassPattern>().is_err());
    }

    #[test]
    fn organizations_image_types_ids() {
        let o: Organizations = "12, none ,18446744073709551615".parse().unwrap();
        assert_eq!(o.ids, [12, u64::MAX]);
        assert!(o.none);
        let e = "12,x".parse::<Organizations>().unwrap_err().to_string();
        assert!(
            e.contains("\"x\" is not an id") && e.contains("none"),
            "{e}"
        );
        assert_eq!("PANO".parse::<ImageType>().unwrap(), ImageType::Pano);
        assert_eq!("flat".parse::<ImageType>().unwrap(), ImageType::Flat);
        assert_eq!("all".parse::<ImageType>().unwrap(), ImageType::All);
        assert!("spherical".parse::<ImageType>().is_err());
        assert_eq!(
            parse_ids("9007199254740993").unwrap(),
            [9_007_199_254_740_993]
        );
        assert!(parse_ids("1,-2").is_err());
    }

    #[test]
    fn areas() {
        let a = Area::parse_radius("13.4,52.5,1km").unwrap();
        assert!(a.contains_point(13.4, 52.5));
        // 0.01 degree of latitude is about 1112 m.
        assert!(a.contains_point(13.4, 52.508));
        assert!(!a.contains_point(13.4, 52.51));
        assert_eq!(
            Area::parse_radius("13.4,52.5,500m").unwrap(),
            Area::Radius {
                lon: 13.4,
                lat: 52.5,
                metres: 500.0
            }
        );
        assert!(Area::parse_radius("13.4,52.5").is_err());
        assert!(Area::parse_radius("200,52.5,1").is_err());
        assert!(Area::parse_radius("13,52,-1").is_err());

        let b = Area::parse_bbox("170,-10,-170,10").unwrap();
        assert!(b.contains_point(175.0, 0.0) && b.contains_point(-175.0, 0.0));
        assert!(!b.contains_point(0.0, 0.0));
        let line = MultiLineString(vec![LineString::from(vec![(160.0, 0.0), (165.0, 0.0)])]);
        assert!(!b.intersects_lines(&line));
        let line = MultiLineString(vec![LineString::from(vec![(165.0, -20.0), (175.0, 20.0)])]);
        assert!(b.intersects_lines(&line));

        let square = r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon",
            "coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}}"#;
        let p = Area::from_geojson(square).unwrap();
        assert!(p.contains_point(1.0, 1.0));
        assert!(!p.contains_point(5.0, 5.0), "holes are outside");
        assert!(!p.contains_point(11.0, 5.0));
        let fc = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[20,20],[21,20],[21,21],[20,20]]]]}}]}"#;
        assert!(Area::from_geojson(fc).unwrap().contains_point(20.8, 20.2));
        for bad in [
            "nope",
            r#"{"type":"Point","coordinates":[0,0]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}"#,
            r#"{"type":"FeatureCollection","features":[]}"#,
        ] {
            let e = Area::from_geojson(bad).unwrap_err().to_string();
            assert!(e.contains("GeoJSON Polygon"), "{e}");
        }

        // A radius reaches a line that passes near the centre between two far vertices.
        let r = Area::parse_radius("0,0,200").unwrap();
        let line = MultiLineString(vec![LineString::from(vec![(-1.0, 0.001), (1.0, 0.001)])]);
        assert!(r.intersects_lines(&line));
        let line = MultiLineString(vec![LineString::from(vec![(-1.0, 0.01), (1.0, 0.01)])]);
        assert!(!r.intersects_lines(&line));
    }

    #[test]
    fn looking_at() {
        let target: LookingAt = "0,0.001".parse().unwrap(); // due north of (0, 0)
        assert_eq!(target.tolerance, LookingAt::DEFAULT_TOLERANCE);
        assert!(target.sees(0.0, 0.0, Some(0.0), Some(false)));
        assert!(target.sees(0.0, 0.0, Some(350.0), None));
        assert!(target.sees(0.0, 0.0, Some(29.0), None));
        assert!(!target.sees(0.0, 0.0, Some(31.0), None));
        assert!(!target.sees(0.0, 0.0, Some(180.0), Some(false)));
        assert!(
            target.sees(0.0, 0.0, Some(180.0), Some(true)),
            "panoramas always match"
        );
        assert!(!target.sees(0.0, 0.0, None, Some(false)));
        assert!(target.sees(0.0, 0.0, None, Some(true)));
        let east: LookingAt = "0.001,0,5".parse().unwrap();
        assert!(east.sees(0.0, 0.0, Some(92.0), None) && !east.sees(0.0, 0.0, Some(80.0), None));
        assert!("0".parse::<LookingAt>().is_err());
        assert!("0,0,200".parse::<LookingAt>().is_err());
    }

    #[test]
    fn applicability() {
        let f = Filter {
            compass: Some("0..10".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(f.layers(), [LayerKind::Image]);
        let e = f.check_layer(LayerKind::Sequence).unwrap_err().to_string();
        assert_eq!(
            e,
            "the compass filter does not apply to the sequence layer (it applies to: image)"
        );
        assert!(f.check_layer(LayerKind::Image).is_ok());
        assert_eq!(Filter::default().layers(), LayerKind::ALL);
        let f = Filter {
            image_type: ImageType::Pano,
            ..Filter::default()
        };
        assert!(f.check_layer(LayerKind::TrafficSign).is_err());
        let f = Filter {
            organizations: Some("none".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(f.layers(), [LayerKind::Sequence, LayerKind::Image]);
        let f = Filter {
            classes: vec!["a".parse().unwrap()],
            seen: Some("2y".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(f.layers(), [LayerKind::Point, LayerKind::TrafficSign]);
        assert!(
            f.check_layer(LayerKind::Image)
                .unwrap_err()
                .to_string()
                .contains("classes")
        );
    }
}
