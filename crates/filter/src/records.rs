//! The five Mapillary layers as typed records read straight from a layer's tag integers.

use std::str::FromStr;

use mlytiles_mvt::{Feature, Layer, Value};

use crate::error::{Error, Result};
use crate::kind::{Key, LayerKind};
use crate::report::{Found, Mismatches};

impl LayerKind {
    /// The kind of a layer, from its name.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownLayer`] if the name is not one of the five.
    pub fn of(layer: &Layer<'_>) -> Result<LayerKind> {
        LayerKind::from_name(layer.name()).ok_or_else(|| Error::UnknownLayer(layer.name().into()))
    }
}

impl FromStr for LayerKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<LayerKind> {
        LayerKind::from_name(s.trim()).ok_or_else(|| Error::UnknownLayer(s.into()))
    }
}

// The value rules, shared by the records and the compiled filters so both agree on every
// value. Each gives the field, or what was found instead.

/// An id: a non-negative integer of any integer type, kept as an exact `u64`.
#[inline]
pub(crate) fn read_id(v: &Value<'_>) -> std::result::Result<u64, Found> {
    v.as_u64().ok_or_else(|| Found::of(v))
}

/// A time in ms: an integer that fits `i64`. 0 is a valid value meaning "unknown".
#[inline]
pub(crate) fn read_ms(v: &Value<'_>) -> std::result::Result<i64, Found> {
    v.as_i64().ok_or_else(|| Found::of(v))
}

/// A compass angle: any finite number, normalised to [0, 360).
#[inline]
pub(crate) fn read_angle(v: &Value<'_>) -> std::result::Result<f64, Found> {
    match v.as_f64() {
        Some(a) if a.is_finite() => Ok(normalize_angle(a)),
        _ => Err(Found::of(v)),
    }
}

/// A bool: only `bool_value` counts.
#[inline]
pub(crate) fn read_bool(v: &Value<'_>) -> std::result::Result<bool, Found> {
    v.as_bool().ok_or_else(|| Found::of(v))
}

/// A string: a non-empty `string_value` (an empty one is "unknown" and counted).
#[inline]
pub(crate) fn read_str<'a>(v: &Value<'a>) -> std::result::Result<&'a str, Found> {
    match v.as_str() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(Found::of(v)),
    }
}

/// Normalises an angle in degrees to [0, 360): `361.39` gives `1.39` (up to rounding), `-10`
/// gives `350`.
#[inline]
pub fn normalize_angle(a: f64) -> f64 {
    if (0.0..360.0).contains(&a) {
        return a;
    }
    // Not `rem_euclid`: its fmod is slow, and compiling a compass filter tests every number in
    // a layer's value table (timestamps and ids included). For angles near the range this is
    // exact (361.39 - 360 loses nothing); far from it only the fraction's last bits differ.
    let r = a - 360.0 * (a / 360.0).floor();
    // Rounding can land on 360.0 itself (for a tiny negative angle, say).
    if (0.0..360.0).contains(&r) { r } else { 0.0 }
}

/// A record of the `overview` layer (z0-5 of the coverage tilesets).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overview<'a> {
    /// `id`: an image id, exact. `None` if absent or not a non-negative integer.
    pub id: Option<u64>,
    /// `captured_at`, UTC milliseconds; 0 means unknown (absent, 0 in the tile, or not an
    /// integer).
    pub captured_at: i64,
    /// `creator_id`.
    pub creator_id: Option<u64>,
    /// `sequence_id`, borrowed from the tile.
    pub sequence_id: Option<&'a str>,
    /// `is_pano`.
    pub is_pano: Option<bool>,
}

/// A record of the `sequence` layer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sequence<'a> {
    /// `id`: the 22-character sequence key, borrowed from the tile.
    pub id: Option<&'a str>,
    /// `image_id`: the sequence's first image.
    pub image_id: Option<u64>,
    /// `captured_at`, UTC milliseconds; 0 means unknown.
    pub captured_at: i64,
    /// `creator_id`.
    pub creator_id: Option<u64>,
    /// `organization_id`: `None` when absent (no organization) or unreadable.
    pub organization_id: Option<u64>,
    /// `is_pano`.
    pub is_pano: Option<bool>,
}

/// A record of the `image` layer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Image<'a> {
    /// `id`: the image id, exact.
    pub id: Option<u64>,
    /// `captured_at`, UTC milliseconds; 0 means unknown.
    pub captured_at: i64,
    /// `compass_angle` in degrees, normalised to [0, 360) (tiles carry values above 360).
    pub compass_angle: Option<f64>,
    /// `creator_id`.
    pub creator_id: Option<u64>,
    /// `organization_id`: `None` when absent (no organization) or unreadable.
    pub organization_id: Option<u64>,
    /// `sequence_id`, borrowed from the tile.
    pub sequence_id: Option<&'a str>,
    /// `is_pano`.
    pub is_pano: Option<bool>,
}

/// A record of the `point` or `traffic_sign` layer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MapFeature<'a> {
    /// `id`: the map feature id, exact (ids above 2^53 occur).
    pub id: Option<u64>,
    /// `value`: the class, such as `regulatory--no-stopping--g1`, borrowed from the tile.
    pub class: Option<&'a str>,
    /// `first_seen_at`, UTC milliseconds; 0 means unknown.
    pub first_seen_at: i64,
    /// `last_seen_at`, UTC milliseconds; 0 means unknown.
    pub last_seen_at: i64,
}

/// A record of any of the five layers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Record<'a> {
    /// From `overview`.
    Overview(Overview<'a>),
    /// From `sequence`.
    Sequence(Sequence<'a>),
    /// From `image`.
    Image(Image<'a>),
    /// From `point` or `traffic_sign`.
    MapFeature(MapFeature<'a>),
}

/// A layer's key indices resolved to [`Key`]s, once per layer.
#[derive(Debug, Clone)]
pub(crate) struct Schema<'l, 'a> {
    pub(crate) kind: LayerKind,
    /// Indexed by key index: the key the record reads, if any.
    pub(crate) slots: Vec<Option<Key>>,
    pub(crate) values: &'l [Value<'a>],
}

impl<'l, 'a> Schema<'l, 'a> {
    pub(crate) fn new(layer: &'l Layer<'a>, kind: LayerKind) -> Result<Self> {
        let wanted = Key::of_layer(kind);
        let slots = layer
            .keys()?
            .iter()
            .map(|k| wanted.iter().copied().find(|w| w.name() == *k))
            .collect();
        Ok(Schema {
            kind,
            slots,
            values: layer.values()?,
        })
    }

    /// Visits the feature's tags that the record reads, resolved: O(tags), no allocation.
    #[inline(always)]
    fn for_each(&self, feature: &Feature<'_, 'a>, mut f: impl FnMut(Key, &Value<'a>)) {
        for (k, v) in feature.tags() {
            if let (Some(Some(key)), Some(value)) =
                (self.slots.get(k as usize), self.values.get(v as usize))
            {
                f(*key, value);
            }
        }
    }
}

fn checked<T>(
    kind: LayerKind,
    key: Key,
    r: std::result::Result<T, Found>,
    m: &mut impl Mismatches,
) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(found) => {
            m.mismatch(kind, key, found);
            None
        }
    }
}

fn wrong(expected: LayerKind, layer: &Layer<'_>) -> Error {
    Error::WrongLayer {
        expected: expected.name(),
        found: layer.name().into(),
    }
}

macro_rules! reader {
    ($(#[$doc:meta])* $name:ident, $record:ident, $check:expr, |$kind:ident, $key:ident, $v:ident, $rec:ident, $m:ident| $body:block) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<'l, 'a> {
            schema: Schema<'l, 'a>,
        }

        impl<'l, 'a> $name<'l, 'a> {
            /// Resolves the layer's keys once (parsing its tables if not yet done): O(keys).
            ///
            /// # Errors
            ///
            /// [`Error::WrongLayer`] if the layer's name is not this reader's, and the tile's
            /// errors if its tables are malformed.
            pub fn new(layer: &'l Layer<'a>) -> Result<Self> {
                let check: fn(&Layer<'_>) -> Result<LayerKind> = $check;
                let kind = check(layer)?;
                Ok($name {
                    schema: Schema::new(layer, kind)?,
                })
            }

            /// The layer kind read.
            pub fn kind(&self) -> LayerKind {
                self.schema.kind
            }

            /// Reads one feature's record from its tag integers: O(tags), no allocation. An
            /// unreadable value leaves its field unknown.
            #[inline]
            pub fn read(&self, feature: &Feature<'_, 'a>) -> $record<'a> {
                self.read_counting(feature, &mut ())
            }

            /// As [`read`](Self::read), counting every unreadable value in `report`.
            #[inline]
            pub fn read_reporting(
                &self,
                feature: &Feature<'_, 'a>,
                report: &mut crate::TypeReport,
            ) -> $record<'a> {
                self.read_counting(feature, report)
            }

            #[inline(always)]
            fn read_counting(
                &self,
                feature: &Feature<'_, 'a>,
                $m: &mut impl Mismatches,
            ) -> $record<'a> {
                let mut $rec = $record::default();
                let $kind = self.schema.kind;
                self.schema.for_each(feature, |$key, $v| $body);
                $rec
            }
        }
    };
}

reader!(
    /// Reads `overview` features as [`Overview`] records.
    OverviewLayer, Overview,
    |l| if l.name() == "overview" { Ok(LayerKind::Overview) } else { Err(wrong(LayerKind::Overview, l)) },
    |kind, key, v, rec, m| {
        match key {
            Key::Id => rec.id = checked(kind, key, read_id(v), m),
            Key::CapturedAt => rec.captured_at = checked(kind, key, read_ms(v), m).unwrap_or(0),
            Key::CreatorId => rec.creator_id = checked(kind, key, read_id(v), m),
            Key::SequenceId => rec.sequence_id = checked(kind, key, read_str(v), m),
            Key::IsPano => rec.is_pano = checked(kind, key, read_bool(v), m),
            _ => {}
        }
    }
);

reader!(
    /// Reads `sequence` features as [`Sequence`] records.
    SequenceLayer, Sequence,
    |l| if l.name() == "sequence" { Ok(LayerKind::Sequence) } else { Err(wrong(LayerKind::Sequence, l)) },
    |kind, key, v, rec, m| {
        match key {
            Key::Id => rec.id = checked(kind, key, read_str(v), m),
            Key::ImageId => rec.image_id = checked(kind, key, read_id(v), m),
            Key::CapturedAt => rec.captured_at = checked(kind, key, read_ms(v), m).unwrap_or(0),
            Key::CreatorId => rec.creator_id = checked(kind, key, read_id(v), m),
            Key::OrganizationId => rec.organization_id = checked(kind, key, read_id(v), m),
            Key::IsPano => rec.is_pano = checked(kind, key, read_bool(v), m),
            _ => {}
        }
    }
);

reader!(
    /// Reads `image` features as [`Image`] records.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mlytiles_filter::ImageLayer;
    /// use mlytiles_mvt::{Tile, TileBuilder, Value, geo_types::{Geometry, Point}};
    ///
    /// let mut builder = TileBuilder::new();
    /// builder.layer("image").add_feature(
    ///     Some(0),
    ///     &Geometry::Point(Point::new(10, 20)),
    ///     [("id", Value::UInt(9_007_199_254_740_993)), ("compass_angle", Value::Double(361.5))],
    /// )?;
    /// let bytes = builder.to_bytes();
    /// let tile = Tile::new(&bytes)?;
    /// let layer = tile.layer("image")?.unwrap();
    /// let images = ImageLayer::new(&layer)?;
    /// let image = images.read(&layer.features().next().unwrap()?);
    /// assert_eq!(image.id, Some(9_007_199_254_740_993));
    /// assert_eq!(image.compass_angle, Some(1.5));
    /// assert_eq!(image.organization_id, None);
    /// # Ok(())
    /// # }
    /// ```
    ImageLayer, Image,
    |l| if l.name() == "image" { Ok(LayerKind::Image) } else { Err(wrong(LayerKind::Image, l)) },
    |kind, key, v, rec, m| {
        match key {
            Key::Id => rec.id = checked(kind, key, read_id(v), m),
            Key::CapturedAt => rec.captured_at = checked(kind, key, read_ms(v), m).unwrap_or(0),
            Key::CompassAngle => rec.compass_angle = checked(kind, key, read_angle(v), m),
            Key::CreatorId => rec.creator_id = checked(kind, key, read_id(v), m),
            Key::OrganizationId => rec.organization_id = checked(kind, key, read_id(v), m),
            Key::SequenceId => rec.sequence_id = checked(kind, key, read_str(v), m),
            Key::IsPano => rec.is_pano = checked(kind, key, read_bool(v), m),
            _ => {}
        }
    }
);

reader!(
    /// Reads `point` and `traffic_sign` features as [`MapFeature`] records.
    MapFeatureLayer, MapFeature,
    |l| match LayerKind::from_name(l.name()) {
        Some(k) if k.is_map_feature() => Ok(k),
        _ => Err(Error::WrongLayer { expected: "point or traffic_sign", found: l.name().into() }),
    },
    |kind, key, v, rec, m| {
        match key {
            Key::Id => rec.id = checked(kind, key, read_id(v), m),
            Key::Value => rec.class = checked(kind, key, read_str(v), m),
            Key::FirstSeenAt => rec.first_seen_at = checked(kind, key, read_ms(v), m).unwrap_or(0),
            Key::LastSeenAt => rec.last_seen_at = checked(kind, key, read_ms(v), m).unwrap_or(0),
            _ => {}
        }
    }
);

/// Reads any of the five layers as [`Record`]s, the kind chosen from the layer's name.
#[derive(Debug, Clone)]
pub enum RecordReader<'l, 'a> {
    /// An `overview` layer.
    Overview(OverviewLayer<'l, 'a>),
    /// A `sequence` layer.
    Sequence(SequenceLayer<'l, 'a>),
    /// An `image` layer.
    Image(ImageLayer<'l, 'a>),
    /// A `point` or `traffic_sign` layer.
    MapFeature(MapFeatureLayer<'l, 'a>),
}

impl<'l, 'a> RecordReader<'l, 'a> {
    /// The reader for `layer`, by its name: O(keys).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownLayer`] for a name that is not one of the five; the tile's errors if
    /// its tables are malformed.
    pub fn new(layer: &'l Layer<'a>) -> Result<Self> {
        Ok(match LayerKind::of(layer)? {
            LayerKind::Overview => RecordReader::Overview(OverviewLayer::new(layer)?),
            LayerKind::Sequence => RecordReader::Sequence(SequenceLayer::new(layer)?),
            LayerKind::Image => RecordReader::Image(ImageLayer::new(layer)?),
            LayerKind::Point | LayerKind::TrafficSign => {
                RecordReader::MapFeature(MapFeatureLayer::new(layer)?)
            }
        })
    }

    /// The layer kind read.
    pub fn kind(&self) -> LayerKind {
        match self {
            RecordReader::Overview(r) => r.kind(),
            RecordReader::Sequence(r) => r.kind(),
            RecordReader::Image(r) => r.kind(),
            RecordReader::MapFeature(r) => r.kind(),
        }
    }

    /// Reads one feature's record: O(tags), no allocation.
    pub fn read(&self, feature: &Feature<'_, 'a>) -> Record<'a> {
        match self {
            RecordReader::Overview(r) => Record::Overview(r.read(feature)),
            RecordReader::Sequence(r) => Record::Sequence(r.read(feature)),
            RecordReader::Image(r) => Record::Image(r.read(feature)),
            RecordReader::MapFeature(r) => Record::MapFeature(r.read(feature)),
        }
    }

    /// As [`read`](Self::read), counting every unreadable value in `report`.
    pub fn read_reporting(
        &self,
        feature: &Feature<'_, 'a>,
        report: &mut crate::TypeReport,
    ) -> Record<'a> {
        match self {
            RecordReader::Overview(r) => Record::Overview(r.read_reporting(feature, report)),
            RecordReader::Sequence(r) => Record::Sequence(r.read_reporting(feature, report)),
            RecordReader::Image(r) => Record::Image(r.read_reporting(feature, report)),
            RecordReader::MapFeature(r) => Record::MapFeature(r.read_reporting(feature, report)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_normalise_into_0_360() {
        assert!((normalize_angle(361.39) - 1.39).abs() < 1e-9);
        assert_eq!(normalize_angle(360.0), 0.0);
        assert_eq!(normalize_angle(-10.0), 350.0);
        assert_eq!(normalize_angle(-1e-20), 0.0);
        assert_eq!(normalize_angle(0.0), 0.0);
        assert_eq!(normalize_angle(720.5), 0.5);
        assert_eq!(normalize_angle(361.39), 361.39 - 360.0);
        assert_eq!(normalize_angle(-0.5), 359.5);
        for a in [1.6e12, -1e300, 1e300, f64::MAX, -f64::MAX, 123_456_789.123] {
            let r = normalize_angle(a);
            assert!((0.0..360.0).contains(&r), "{a} -> {r}");
        }
    }

    #[test]
    fn value_rules() {
        use mlytiles_mvt::ValueType;
        assert_eq!(read_id(&Value::UInt(u64::MAX)), Ok(u64::MAX));
        assert_eq!(read_id(&Value::Int(-1)), Err(Found::Type(ValueType::Int)));
        assert_eq!(read_id(&Value::String("")), Err(Found::EmptyString));
        assert_eq!(
            read_id(&Value::Double(5.0)),
            Err(Found::Type(ValueType::Double))
        );
        assert_eq!(read_ms(&Value::SInt(5)), Ok(5));
        assert_eq!(read_angle(&Value::Int(90)), Ok(90.0));
        assert_eq!(
            read_angle(&Value::Double(f64::NAN)),
            Err(Found::Type(ValueType::Double))
        );
        assert_eq!(read_bool(&Value::Int(1)), Err(Found::Type(ValueType::Int)));
        assert_eq!(read_str(&Value::String("")), Err(Found::EmptyString));
        assert_eq!(read_str(&Value::String("abc")), Ok("abc"));
    }

    #[test]
    fn layer_names_round_trip() {
        for k in LayerKind::ALL {
            assert_eq!(LayerKind::from_name(k.name()), Some(k));
            assert_eq!(k.name().parse::<LayerKind>().unwrap(), k);
        }
        assert!("images".parse::<LayerKind>().is_err());
    }
}
