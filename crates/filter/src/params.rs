//! Filters from named text parameters: the flags of `mlytiles filter` and `render`, and the
//! query parameters of the tile server, with one set of names and forms.

use std::str::FromStr;

use mlytiles_tile::BBox;

use crate::error::{Error, Result};
use crate::filter::{
    Area, ClassPattern, CompassRange, DateRange, Filter, ImageType, LookingAt, Organizations,
    parse_ids,
};

/// The parameter names [`FilterParams::set`] accepts, in the order the CLI lists them.
pub const PARAMETER_NAMES: [&str; 14] = [
    "since",
    "until",
    "last",
    "pano",
    "org",
    "creator",
    "sequence",
    "compass",
    "bbox",
    "near",
    "radius",
    "looking-at",
    "class",
    "seen-between",
];

/// `pano` values: the CLI's `--pano only|exclude|all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pano {
    /// Panoramas only (`only`).
    Only,
    /// No panoramas (`exclude`).
    Exclude,
    /// Every image (`all`, the default).
    #[default]
    All,
}

impl FromStr for Pano {
    type Err = Error;

    fn from_str(s: &str) -> Result<Pano> {
        match s.trim().to_ascii_lowercase().as_str() {
            "only" => Ok(Pano::Only),
            "exclude" => Ok(Pano::Exclude),
            "all" => Ok(Pano::All),
            _ => Err(Error::Parse {
                what: "pano choice",
                input: s.into(),
                reason: "unknown choice".into(),
                expected: "`only`, `exclude` or `all`",
            }),
        }
    }
}

impl From<Pano> for ImageType {
    fn from(p: Pano) -> ImageType {
        match p {
            Pano::Only => ImageType::Pano,
            Pano::Exclude => ImageType::Flat,
            Pano::All => ImageType::All,
        }
    }
}

/// The text parameters of a filter before they are combined into a [`Filter`].
///
/// Each field holds one parameter, already checked; [`to_filter`](Self::to_filter) combines
/// them (`since`/`last` and `until` into one date range, `near` and `radius` into a circle)
/// and rejects combinations that contradict each other. Fill it field by field (the CLI does,
/// from its typed flags) or by name with [`set`](Self::set) (the tile server does, from query
/// parameters).
///
/// # Examples
///
/// ```
/// use mlytiles_filter::{FilterParams, ImageType};
///
/// let mut params = FilterParams::default();
/// for (name, value) in [("since", "2023-01-01"), ("pano", "only"), ("org", "none")] {
///     params.set(name, value)?;
/// }
/// let filter = params.to_filter()?;
/// assert_eq!(filter.image_type, ImageType::Pano);
/// assert!(filter.captured.is_some());
/// # Ok::<(), mlytiles_filter::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterParams {
    /// `since`: captured at or after this date or datetime (UTC). Default `None`.
    pub since: Option<String>,
    /// `until`: captured at or before this date (a whole day, month or year included).
    /// Default `None`.
    pub until: Option<String>,
    /// `last`: captured within this span before now, such as `30months`. Default `None`.
    pub last: Option<String>,
    /// `pano`: `only`, `exclude` or `all`. Default `None` (all).
    pub pano: Option<Pano>,
    /// `org`: organization ids and/or `none`. Default `None`.
    pub org: Option<Organizations>,
    /// `creator`: creator ids (comma-separated; repeating adds). Default empty.
    pub creators: Vec<u64>,
    /// `sequence`: sequence keys (comma-separated; repeating adds). Default empty.
    pub sequences: Vec<String>,
    /// `compass`: `FROM..TO` degrees, wrapping through north. Default `None`.
    pub compass: Option<CompassRange>,
    /// `bbox`: `W,S,E,N` in degrees. Default `None`.
    pub bbox: Option<BBox>,
    /// `near`: `LON,LAT`, with `radius`. Default `None`.
    pub near: Option<String>,
    /// `radius`: metres for `near` (`200`, `200m`, `1.5km`). Default `None`.
    pub radius: Option<String>,
    /// `looking-at`: `LON,LAT` or `LON,LAT,TOLERANCE_DEGREES`. Default `None`.
    pub looking_at: Option<LookingAt>,
    /// `class`: map feature class patterns (repeating adds). Default empty.
    pub classes: Vec<ClassPattern>,
    /// `seen-between`: `A..B`, overlapping a map feature's first..last seen. Default `None`.
    pub seen_between: Option<DateRange>,
}

impl FilterParams {
    /// Sets the parameter `name` (one of [`PARAMETER_NAMES`]; `_` may stand for `-`) from its
    /// text. `creator`, `sequence` and `class` add to what is there; the others replace.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownParameter`] for a name not in the list, [`Error::Parameter`] naming the
    /// parameter when the value does not parse.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let canonical = name.trim().replace('_', "-");
        let Some(&name) = PARAMETER_NAMES.iter().find(|n| **n == canonical) else {
            return Err(Error::UnknownParameter(name.to_owned()));
        };
        let at = |source: Error| Error::Parameter {
            name,
            source: Box::new(source),
        };
        match name {
            "since" => self.since = Some(check_bound(value).map_err(at)?),
            "until" => self.until = Some(check_bound(value).map_err(at)?),
            "last" => self.last = Some(check_bound(value).map_err(at)?),
            "pano" => self.pano = Some(value.parse().map_err(at)?),
            "org" => self.org = Some(value.parse().map_err(at)?),
            "creator" => self.creators.extend(parse_ids(value).map_err(at)?),
            "sequence" => self.sequences.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            "compass" => self.compass = Some(value.parse().map_err(at)?),
            "bbox" => self.bbox = Some(value.parse::<BBox>().map_err(Error::from).map_err(at)?),
            "near" => {
                // Checked with a nominal radius: the point's form is what can be wrong here.
                Area::parse_radius(&format!("{value},1")).map_err(at)?;
                self.near = Some(value.trim().to_owned());
            }
            "radius" => {
                Area::parse_radius(&format!("0,0,{value}")).map_err(at)?;
                self.radius = Some(value.trim().to_owned());
            }
            "looking-at" => self.looking_at = Some(value.parse().map_err(at)?),
            "class" => self.classes.push(value.parse().map_err(at)?),
            "seen-between" => self.seen_between = Some(value.parse().map_err(at)?),
            _ => unreachable!("every name in PARAMETER_NAMES has an arm"),
        }
        Ok(())
    }

    /// Sets every `(name, value)` pair in turn, as [`set`](Self::set) does.
    ///
    /// # Errors
    ///
    /// The first pair's error.
    pub fn extend<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        pairs.into_iter().try_for_each(|(n, v)| self.set(n, v))
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        *self == FilterParams::default()
    }

    /// The filter the parameters describe.
    ///
    /// # Errors
    ///
    /// [`Error::ConflictingParameters`] for `since` with `last`, `bbox` with `near`, or `near`
    /// without `radius` (and the reverse); [`Error::Parameter`] when the combined date range
    /// does not parse (an `until` before `since` is fine: it selects nothing).
    pub fn to_filter(&self) -> Result<Filter> {
        if self.since.is_some() && self.last.is_some() {
            return Err(Error::ConflictingParameters(
                "since and last cannot be given together: last is a window up to now",
            ));
        }
        let area = match (&self.bbox, &self.near, &self.radius) {
            (Some(_), Some(_), _) => {
                return Err(Error::ConflictingParameters(
                    "bbox and near cannot be given together: give one area",
                ));
            }
            (Some(b), None, _) => Some(Area::BBox(*b)),
            (None, Some(near), Some(radius)) => {
                Some(Area::parse_radius(&format!("{near},{radius}"))?)
            }
            (None, Some(_), None) => {
                return Err(Error::ConflictingParameters("near needs a radius"));
            }
            (_, None, Some(_)) => {
                return Err(Error::ConflictingParameters(
                    "radius needs near (the centre)",
                ));
            }
            (None, None, None) => None,
        };
        Ok(Filter {
            captured: self.captured()?,
            image_type: self.pano.unwrap_or_default().into(),
            organizations: self.org.clone(),
            creators: self.creators.clone(),
            sequences: self.sequences.clone(),
            compass: self.compass,
            area,
            looking_at: self.looking_at,
            classes: self.classes.clone(),
            seen: self.seen_between,
        })
    }

    /// `since`/`last` and `until` as one range.
    fn captured(&self) -> Result<Option<DateRange>> {
        let start = self.since.as_deref().or(self.last.as_deref());
        let text = match (start, self.until.as_deref()) {
            (None, None) => return Ok(None),
            (Some(s), None) => format!("{s}.."),
            (None, Some(u)) => format!("..{u}"),
            (Some(s), Some(u)) => format!("{s}..{u}"),
        };
        // A span alone (`30months`) is a window up to now; with `..` it is one bound.
        text.parse().map(Some).map_err(|e| Error::Parameter {
            name: if self.last.is_some() {
                "last/until"
            } else {
                "since/until"
            },
            source: Box::new(e),
        })
    }
}

/// Checks one date or span (a bound, not a range) by parsing it as a range; returns it trimmed.
///
/// # Errors
///
/// [`Error::Parse`] when it is a range or does not parse.
pub fn check_bound(s: &str) -> Result<String> {
    if s.contains("..") {
        return Err(Error::Parse {
            what: "date",
            input: s.into(),
            reason: "a range where one date belongs".into(),
            expected: "one date or datetime such as `2023-01-01`, or a span such as `30months`",
        });
    }
    s.parse::<DateRange>()?;
    Ok(s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(pairs: &[(&str, &str)]) -> Result<Filter> {
        let mut p = FilterParams::default();
        p.extend(pairs.iter().copied())?;
        p.to_filter()
    }

    #[test]
    fn names_and_forms_match_the_cli_flags() {
        let f = filter(&[
            ("since", "2023-01-01"),
            ("until", "2023-12-31"),
            ("pano", "exclude"),
            ("org", "none,123"),
            ("creator", "7,8"),
            ("creator", "9"),
            ("sequence", "a,b"),
            ("compass", "350..10"),
            ("bbox", "-108.56,39.06,-108.54,39.08"),
            ("looking_at", "-108.55,39.07"),
        ])
        .unwrap();
        assert_eq!(f.image_type, ImageType::Flat);
        assert_eq!(f.creators, [7, 8, 9]);
        assert_eq!(f.sequences, ["a", "b"]);
        let orgs = f.organizations.unwrap();
        assert!(orgs.none);
        assert_eq!(orgs.ids, [123]);
        assert_eq!(f.captured, Some("2023-01-01..2023-12-31".parse().unwrap()));
        assert!(matches!(f.area, Some(Area::BBox(_))));
        assert!(f.looking_at.is_some() && f.compass.is_some());

        let f = filter(&[("class", "regulatory--*"), ("seen-between", "2020..2024")]).unwrap();
        assert_eq!(f.classes.len(), 1);
        assert!(f.seen.is_some());
        assert_eq!(filter(&[]).unwrap(), Filter::default());
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = filter(&[("since", "yesterday")]).unwrap_err().to_string();
        assert!(e.starts_with("since: "), "{e}");
        let e = filter(&[("pano", "sometimes")]).unwrap_err().to_string();
        assert!(e.starts_with("pano: ") && e.contains("only"), "{e}");
        let e = filter(&[("org", "acme")]).unwrap_err().to_string();
        assert!(e.starts_with("org: "), "{e}");
        let e = filter(&[("bbox", "1,2,3")]).unwrap_err().to_string();
        assert!(e.starts_with("bbox: "), "{e}");
        let e = filter(&[("radius", "far")]).unwrap_err().to_string();
        assert!(e.starts_with("radius: "), "{e}");
        let e = filter(&[("since", "2020..2021")]).unwrap_err().to_string();
        assert!(e.contains("a range"), "{e}");
        let e = filter(&[("../../etc/passwd", "x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown filter parameter"), "{e}");
    }

    #[test]
    fn contradicting_parameters_are_refused() {
        let e = filter(&[("since", "2020-01-01"), ("last", "2y")]).unwrap_err();
        assert!(e.to_string().starts_with("since and last"), "{e}");
        let e = filter(&[("bbox", "0,0,1,1"), ("near", "0,0"), ("radius", "5")]).unwrap_err();
        assert!(e.to_string().starts_with("bbox and near"), "{e}");
        assert!(filter(&[("near", "0,0")]).is_err());
        assert!(filter(&[("radius", "10m")]).is_err());
        assert!(matches!(
            filter(&[("near", "10,20"), ("radius", "1.5km")])
                .unwrap()
                .area,
            Some(Area::Radius { .. })
        ));
    }

    #[test]
    fn last_is_a_window_up_to_now() {
        let f = filter(&[("last", "30months")]).unwrap();
        assert_eq!(f.captured, Some("30months".parse().unwrap()));
    }
}
