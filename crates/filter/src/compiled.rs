//! Filters compiled for one layer: per-feature tests read only tag integers.

use chrono::{DateTime, Utc};
use geo::{Geometry, MultiLineString};
use mlytiles_mvt::{Feature, GeomType, GeometrySink, Layer, Value};
use mlytiles_tile::{TileId, TileTransform};

use crate::error::{Error, Result};
use crate::filter::{Area, ClassPattern, CompassRange, Filter, ImageType, LookingAt, Predicate};
use crate::kind::LayerKind;
use crate::records::{read_angle, read_bool, read_id, read_ms, read_str};

// One bit per property test.
const CAPTURED: u16 = 1 << 0;
const IMAGE_TYPE: u16 = 1 << 1;
const ORGANIZATIONS: u16 = 1 << 2;
const CREATORS: u16 = 1 << 3;
const SEQUENCES: u16 = 1 << 4;
const COMPASS: u16 = 1 << 5;
const CLASSES: u16 = 1 << 6;
const SEEN_START: u16 = 1 << 7;
const SEEN_END: u16 = 1 << 8;

/// A [`Filter`] compiled for one layer of one tile.
///
/// Compiling resolves the keys and tests every entry of the layer's value table once
/// (O(keys + values x predicates)); [`matches`](Self::matches) then walks the feature's tag
/// integers and looks each up in two small tables: no allocation, no string comparison, no
/// hashing per feature. Geometry is decoded only when a spatial predicate (`area`,
/// `looking_at`) is set, and only for features that passed the property tests.
///
/// The tables belong to the layer they were built from: use a compiled filter only with that
/// layer's features.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_filter::{CompiledFilter, Filter, chrono::Utc};
/// use mlytiles_mvt::{Tile, TileBuilder, Value, geo_types::{Geometry, Point}};
///
/// let mut builder = TileBuilder::new();
/// let layer = builder.layer("image");
/// for (angle, pano) in [(5.0, false), (180.0, false), (355.0, true)] {
///     let p = Geometry::Point(Point::new(1, 1));
///     layer.add_feature(None, &p, [("compass_angle", Value::Double(angle)), ("is_pano", Value::Bool(pano))])?;
/// }
/// let bytes = builder.to_bytes();
/// let tile = Tile::new(&bytes)?;
/// let layer = tile.layer("image")?.unwrap();
///
/// let filter = Filter { compass: Some("350..10".parse()?), ..Filter::default() };
/// let compiled = CompiledFilter::for_layer(&filter, &layer, None, Utc::now())?;
/// let mut n = 0;
/// for feature in layer.features() {
///     n += usize::from(compiled.matches(&feature?));
/// }
/// assert_eq!(n, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    kind: LayerKind,
    /// Per key index: the tests that key decides.
    key_mask: Vec<u16>,
    /// Per value index: the tests the value passes (for whichever key it comes under).
    value_pass: Vec<u16>,
    /// The tests that hold while their key is absent (organizations with `none`).
    absent_pass: u16,
    /// Every test set.
    required: u16,
    spatial: Option<Spatial>,
}

#[derive(Debug, Clone)]
struct Spatial {
    transform: TileTransform,
    area: Option<Area>,
    looking_at: Option<LookingAt>,
    /// For looking_at: key indices of `compass_angle` and `is_pano`, and per value index the
    /// value read as an angle (NaN when unreadable) and as a pano flag (0 false, 1 true,
    /// 2 unknown).
    compass_key: u32,
    pano_key: u32,
    angle: Vec<f64>,
    pano: Vec<u8>,
}

impl CompiledFilter {
    /// Compiles `filter` for `layer`, whose kind comes from its name.
    ///
    /// `tile` is needed by the spatial predicates (`area`, `looking_at`) to place tile
    /// coordinates on the map; `now` resolves relative date windows such as
    /// `last 30 months`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownLayer`] for a layer that is not one of the five;
    /// [`Error::NotApplicable`] if a predicate set in the filter does not apply to the layer
    /// (the error names both); [`Error::NeedsTileId`] for a spatial predicate without
    /// `tile`; [`Error::DateOutOfRange`] for a relative window beyond chrono's range; the
    /// tile's errors if the layer's tables are malformed.
    pub fn for_layer(
        filter: &Filter,
        layer: &Layer<'_>,
        tile: Option<TileId>,
        now: DateTime<Utc>,
    ) -> Result<CompiledFilter> {
        let kind = LayerKind::of(layer)?;
        filter.check_layer(kind)?;
        let keys = layer.keys()?;
        let values = layer.values()?;
        let mut c = CompiledFilter {
            kind,
            key_mask: vec![0; keys.len()],
            value_pass: vec![0; values.len()],
            absent_pass: 0,
            required: 0,
            spatial: None,
        };
        // (bit, key, passes when absent, test)
        let mut tests: Vec<(u16, &str, bool, Test<'_>)> = Vec::new();
        if let Some(range) = &filter.captured {
            let (lo, hi) = range.resolve(now)?;
            tests.push((CAPTURED, "captured_at", false, Test::KnownMsIn(lo, hi)));
        }
        match filter.image_type {
            ImageType::All => {}
            ImageType::Pano => tests.push((IMAGE_TYPE, "is_pano", false, Test::Bool(true))),
            ImageType::Flat => tests.push((IMAGE_TYPE, "is_pano", false, Test::Bool(false))),
        }
        if let Some(orgs) = &filter.organizations {
            let (ids, none) = (&orgs.ids[..], orgs.none);
            tests.push((
                ORGANIZATIONS,
                "organization_id",
                none,
                Test::IdIn { ids, none },
            ));
        }
        if !filter.creators.is_empty() {
            let ids = &filter.creators[..];
            tests.push((
                CREATORS,
                "creator_id",
                false,
                Test::IdIn { ids, none: false },
            ));
        }
        if !filter.sequences.is_empty() {
            let key = if kind == LayerKind::Sequence {
                "id"
            } else {
                "sequence_id"
            };
            tests.push((SEQUENCES, key, false, Test::StrIn(&filter.sequences)));
        }
        if let Some(range) = filter.compass {
            tests.push((COMPASS, "compass_angle", false, Test::Angle(range)));
        }
        if !filter.classes.is_empty() {
            tests.push((CLASSES, "value", false, Test::Class(&filter.classes)));
        }
        if let Some(range) = &filter.seen {
            // [first, last] overlaps [lo, hi] iff first <= hi and last >= lo.
            let (lo, hi) = range.resolve(now)?;
            tests.push((
                SEEN_START,
                "first_seen_at",
                false,
                Test::KnownMsIn(i64::MIN, hi),
            ));
            tests.push((
                SEEN_END,
                "last_seen_at",
                false,
                Test::KnownMsIn(lo, i64::MAX),
            ));
        }
        for &(bit, key, absent, _) in &tests {
            c.required |= bit;
            if absent {
                c.absent_pass |= bit;
            }
            for (m, k) in c.key_mask.iter_mut().zip(keys) {
                if *k == key {
                    *m |= bit;
                }
            }
        }
        // One pass over the value table per test, each a loop of its own.
        for (bit, _, _, test) in &tests {
            test.mark(values, &mut c.value_pass, *bit);
        }

        if filter.area.is_some() || filter.looking_at.is_some() {
            let predicate = if filter.area.is_some() {
                Predicate::Area
            } else {
                Predicate::LookingAt
            };
            let tile = tile.ok_or(Error::NeedsTileId {
                predicate: predicate.name(),
            })?;
            let key = |name: &str| {
                keys.iter()
                    .position(|k| *k == name)
                    .map_or(u32::MAX, |i| i as u32)
            };
            let looking = filter.looking_at.is_some();
            c.spatial = Some(Spatial {
                transform: TileTransform::new(tile, layer.extent())?,
                area: filter.area.clone(),
                looking_at: filter.looking_at,
                compass_key: key("compass_angle"),
                pano_key: key("is_pano"),
                angle: if looking {
                    values
                        .iter()
                        .map(|v| read_angle(v).unwrap_or(f64::NAN))
                        .collect()
                } else {
                    Vec::new()
                },
                pano: if looking {
                    values
                        .iter()
                        .map(|v| read_bool(v).map_or(2, u8::from))
                        .collect()
                } else {
                    Vec::new()
                },
            });
        }
        Ok(c)
    }

    /// The layer kind the filter was compiled for.
    pub fn kind(&self) -> LayerKind {
        self.kind
    }

    /// Whether the filter needs geometry (has a spatial predicate).
    pub fn is_spatial(&self) -> bool {
        self.spatial.is_some()
    }

    /// Whether the filter selects every feature (no predicate set).
    pub fn is_empty(&self) -> bool {
        self.required == 0 && self.spatial.is_none()
    }

    /// Whether the feature passes every predicate: the property tests first (O(tags), table
    /// lookups only), then, if they pass and a spatial predicate is set, the geometry is
    /// decoded and placed on the map. A feature whose geometry fails to decode does not
    /// match a spatial predicate. A key repeated within one feature (which spec 4.4 forbids
    /// and the writer refuses) must pass at every occurrence.
    #[inline]
    pub fn matches(&self, feature: &Feature<'_, '_>) -> bool {
        self.matches_properties(feature) && self.spatial.as_ref().is_none_or(|s| s.matches(feature))
    }

    /// The property tests alone (no geometry): O(tags), no allocation.
    #[inline]
    pub fn matches_properties(&self, feature: &Feature<'_, '_>) -> bool {
        if self.required == 0 {
            return true;
        }
        let mut sat = self.absent_pass;
        for (k, v) in feature.tags() {
            let mask = self.key_mask.get(k as usize).copied().unwrap_or(0);
            if mask != 0 {
                // A value index past the table is ignored, as the typed records ignore it.
                if let Some(&pass) = self.value_pass.get(v as usize) {
                    if mask & !pass != 0 {
                        // Fail fast. A key repeated in one feature (which the spec forbids,
                        // 4.4) must pass at every occurrence.
                        return false;
                    }
                    sat |= mask;
                }
            }
        }
        sat == self.required
    }
}

/// A test of one value, run once per value-table entry.
enum Test<'f> {
    /// A known (non-zero) time in ms within `lo..=hi`.
    KnownMsIn(i64, i64),
    /// A `bool_value` equal to this.
    Bool(bool),
    /// An id in the list; an unreadable value passes iff `none` (as the records read it:
    /// no id).
    IdIn { ids: &'f [u64], none: bool },
    /// A non-empty string in the list.
    StrIn(&'f [String]),
    /// An angle in the range.
    Angle(CompassRange),
    /// A non-empty string matching one of the patterns.
    Class(&'f [ClassPattern]),
}

impl Test<'_> {
    /// Sets `bit` in `pass[i]` for every value `values[i]` that passes.
    fn mark(&self, values: &[Value<'_>], pass: &mut [u16], bit: u16) {
        fn each(values: &[Value<'_>], pass: &mut [u16], bit: u16, f: impl Fn(&Value<'_>) -> bool) {
            for (p, v) in pass.iter_mut().zip(values) {
                if f(v) {
                    *p |= bit;
                }
            }
        }
        match *self {
            Test::KnownMsIn(lo, hi) => each(values, pass, bit, |v| {
                read_ms(v).is_ok_and(|t| t != 0 && lo <= t && t <= hi)
            }),
            Test::Bool(b) => each(values, pass, bit, |v| read_bool(v) == Ok(b)),
            Test::IdIn { ids, none } => each(values, pass, bit, |v| match read_id(v) {
                Ok(id) => ids.contains(&id),
                Err(_) => none,
            }),
            Test::StrIn(list) => each(values, pass, bit, |v| {
                read_str(v).is_ok_and(|s| list.iter().any(|q| q == s))
            }),
            Test::Angle(range) => each(values, pass, bit, |v| {
                read_angle(v).is_ok_and(|a| range.contains(a))
            }),
            Test::Class(patterns) => each(values, pass, bit, |v| {
                read_str(v).is_ok_and(|s| patterns.iter().any(|p| p.matches(s)))
            }),
        }
    }
}

impl Spatial {
    fn matches(&self, feature: &Feature<'_, '_>) -> bool {
        match feature.geom_type() {
            GeomType::Point => {
                let (compass, pano) = self.view(feature);
                let mut sink = PointSink {
                    spatial: self,
                    compass,
                    pano,
                    found: false,
                };
                feature.decode_geometry(&mut sink).is_ok() && sink.found
            }
            GeomType::LineString | GeomType::Polygon => {
                let tr = &self.transform;
                let Ok(g) = feature.to_geometry_with(|x, y| {
                    let (lon, lat) = tr.to_lon_lat(f64::from(x), f64::from(y));
                    geo::Coord { x: lon, y: lat }
                }) else {
                    return false;
                };
                // Lines (and polygon outlines: Mapillary layers carry none) touch the area.
                let lines = match g {
                    Geometry::LineString(l) => MultiLineString(vec![l]),
                    Geometry::MultiLineString(m) => m,
                    Geometry::Polygon(p) => {
                        let (ext, holes) = p.into_inner();
                        MultiLineString(std::iter::once(ext).chain(holes).collect())
                    }
                    Geometry::MultiPolygon(mp) => MultiLineString(
                        mp.0.into_iter()
                            .flat_map(|p| {
                                let (ext, holes) = p.into_inner();
                                std::iter::once(ext).chain(holes)
                            })
                            .collect(),
                    ),
                    _ => return false,
                };
                // looking_at applies to images only, which are points.
                self.area
                    .as_ref()
                    .is_none_or(|a| a.intersects_lines(&lines))
            }
            GeomType::Unknown => false,
        }
    }

    /// The compass angle and pano flag, for looking_at.
    fn view(&self, feature: &Feature<'_, '_>) -> (Option<f64>, Option<bool>) {
        let (mut compass, mut pano) = (None, None);
        if self.looking_at.is_some() {
            for (k, v) in feature.tags() {
                if k == self.compass_key {
                    compass = self.angle.get(v as usize).copied().filter(|a| !a.is_nan());
                } else if k == self.pano_key {
                    pano = match self.pano.get(v as usize) {
                        Some(0) => Some(false),
                        Some(1) => Some(true),
                        _ => None,
                    };
                }
            }
        }
        (compass, pano)
    }
}

struct PointSink<'s> {
    spatial: &'s Spatial,
    compass: Option<f64>,
    pano: Option<bool>,
    found: bool,
}

impl GeometrySink for PointSink<'_> {
    fn move_to(&mut self, x: i32, y: i32) {
        if self.found {
            return;
        }
        let s = self.spatial;
        let (lon, lat) = s.transform.to_lon_lat(f64::from(x), f64::from(y));
        self.found = s.area.as_ref().is_none_or(|a| a.contains_point(lon, lat))
            && s.looking_at
                .is_none_or(|l| l.sees(lon, lat, self.compass, self.pano));
    }

    fn line_to(&mut self, _: i32, _: i32) {}

    fn close_path(&mut self) {}
}
