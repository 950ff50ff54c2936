//! The five Mapillary layers and the property keys their typed records read.
//!
//! Plain enums with no dependency on the rest of the crate, so that the error type, the
//! records and the type reports can all name them without depending on each other. Parsing a
//! layer name (`FromStr`, [`LayerKind::of`]) is in the records module, beside the error it
//! returns.

use std::fmt;

use mlytiles_mvt::ValueType;

/// The five layers of Mapillary's vector tilesets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LayerKind {
    /// `overview`: one point per image cluster, z0-5 of the coverage tilesets.
    Overview,
    /// `sequence`: capture sequences as lines, z6-14.
    Sequence,
    /// `image`: one point per image, z14.
    Image,
    /// `point`: map features that are not traffic signs.
    Point,
    /// `traffic_sign`: traffic-sign map features.
    TrafficSign,
}

impl LayerKind {
    /// All five, in the order above.
    pub const ALL: [LayerKind; 5] = [
        LayerKind::Overview,
        LayerKind::Sequence,
        LayerKind::Image,
        LayerKind::Point,
        LayerKind::TrafficSign,
    ];

    /// The layer's name in the tiles, such as `"traffic_sign"`.
    pub const fn name(self) -> &'static str {
        match self {
            LayerKind::Overview => "overview",
            LayerKind::Sequence => "sequence",
            LayerKind::Image => "image",
            LayerKind::Point => "point",
            LayerKind::TrafficSign => "traffic_sign",
        }
    }

    /// The kind for a layer name, if it is one of the five.
    pub fn from_name(name: &str) -> Option<LayerKind> {
        LayerKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The Mapillary tileset whose tiles hold this layer: `mly1_public` for `overview`,
    /// `sequence` and `image`, `mly_map_feature_point` for `point`,
    /// `mly_map_feature_traffic_sign` for `traffic_sign`.
    ///
    /// ```
    /// use mlytiles_filter::LayerKind;
    /// assert_eq!(LayerKind::Image.tileset(), "mly1_public");
    /// assert_eq!(LayerKind::TrafficSign.tileset(), "mly_map_feature_traffic_sign");
    /// ```
    pub const fn tileset(self) -> &'static str {
        match self {
            LayerKind::Overview | LayerKind::Sequence | LayerKind::Image => "mly1_public",
            LayerKind::Point => "mly_map_feature_point",
            LayerKind::TrafficSign => "mly_map_feature_traffic_sign",
        }
    }

    /// Whether this is a map-feature layer (`point` or `traffic_sign`).
    pub const fn is_map_feature(self) -> bool {
        matches!(self, LayerKind::Point | LayerKind::TrafficSign)
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The property keys the typed records read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Key {
    /// `id`: the Mapillary id (int), or on `sequence` the sequence key (string).
    Id,
    /// `captured_at`: capture time, UTC milliseconds (int).
    CapturedAt,
    /// `creator_id` (int).
    CreatorId,
    /// `organization_id` (int), often absent.
    OrganizationId,
    /// `sequence_id` (string).
    SequenceId,
    /// `image_id` on `sequence`: its first image (int).
    ImageId,
    /// `is_pano` (bool).
    IsPano,
    /// `compass_angle` (double; ints accepted).
    CompassAngle,
    /// `value`: a map feature's class (string).
    Value,
    /// `first_seen_at` (int ms).
    FirstSeenAt,
    /// `last_seen_at` (int ms).
    LastSeenAt,
}

impl Key {
    pub(crate) const COUNT: usize = 11;

    /// Every key, in declaration order.
    pub const ALL: [Key; Key::COUNT] = [
        Key::Id,
        Key::CapturedAt,
        Key::CreatorId,
        Key::OrganizationId,
        Key::SequenceId,
        Key::ImageId,
        Key::IsPano,
        Key::CompassAngle,
        Key::Value,
        Key::FirstSeenAt,
        Key::LastSeenAt,
    ];

    /// The property name in the tiles.
    pub const fn name(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::CapturedAt => "captured_at",
            Key::CreatorId => "creator_id",
            Key::OrganizationId => "organization_id",
            Key::SequenceId => "sequence_id",
            Key::ImageId => "image_id",
            Key::IsPano => "is_pano",
            Key::CompassAngle => "compass_angle",
            Key::Value => "value",
            Key::FirstSeenAt => "first_seen_at",
            Key::LastSeenAt => "last_seen_at",
        }
    }

    /// The keys the typed record of `layer` reads.
    pub const fn of_layer(layer: LayerKind) -> &'static [Key] {
        use Key::*;
        match layer {
            LayerKind::Overview => &[Id, CapturedAt, CreatorId, SequenceId, IsPano],
            LayerKind::Sequence => &[Id, ImageId, CapturedAt, CreatorId, OrganizationId, IsPano],
            LayerKind::Image => &[
                Id,
                CapturedAt,
                CompassAngle,
                CreatorId,
                OrganizationId,
                SequenceId,
                IsPano,
            ],
            LayerKind::Point | LayerKind::TrafficSign => &[Id, Value, FirstSeenAt, LastSeenAt],
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The expected value type of a key on a layer, for reports.
pub(crate) fn expected_type(layer: LayerKind, key: Key) -> ValueType {
    match key {
        Key::Id if layer == LayerKind::Sequence => ValueType::String,
        Key::SequenceId | Key::Value => ValueType::String,
        Key::IsPano => ValueType::Bool,
        Key::CompassAngle => ValueType::Double,
        _ => ValueType::Int,
    }
}
