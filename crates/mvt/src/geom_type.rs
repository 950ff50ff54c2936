//! The geometry type of a feature (spec 4.3.4) and the sink that receives decoded geometry.

use std::fmt;

/// A feature's geometry type (the `type` field, spec 4.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GeomType {
    /// `UNKNOWN` (0): the spec allows it; its geometry has no defined meaning.
    Unknown,
    /// `POINT` (1): one MoveTo with one or more points (spec 4.3.4.2).
    Point,
    /// `LINESTRING` (2): MoveTo(1) then LineTo(n>=1), repeated (spec 4.3.4.3).
    LineString,
    /// `POLYGON` (3): rings of MoveTo(1), LineTo(n>=2), ClosePath (spec 4.3.4.4).
    Polygon,
}

impl GeomType {
    /// The enum's wire value, 0 to 3.
    pub fn to_u32(self) -> u32 {
        match self {
            GeomType::Unknown => 0,
            GeomType::Point => 1,
            GeomType::LineString => 2,
            GeomType::Polygon => 3,
        }
    }

    /// The geometry type for a wire value, or `None` outside 0..=3.
    pub fn from_u64(v: u64) -> Option<GeomType> {
        match v {
            0 => Some(GeomType::Unknown),
            1 => Some(GeomType::Point),
            2 => Some(GeomType::LineString),
            3 => Some(GeomType::Polygon),
            _ => None,
        }
    }

    /// `"Unknown"`, `"Point"`, `"LineString"` or `"Polygon"`.
    pub fn name(self) -> &'static str {
        match self {
            GeomType::Unknown => "Unknown",
            GeomType::Point => "Point",
            GeomType::LineString => "LineString",
            GeomType::Polygon => "Polygon",
        }
    }
}

impl fmt::Display for GeomType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Receives a feature's geometry as absolute tile coordinates, one command at a time.
///
/// The reader calls it from [`Feature::decode_geometry`](crate::Feature::decode_geometry) after
/// checking each command against the rules of the feature's geometry type, so a sink sees only
/// well-formed sequences: for points one `move_to` per point; for lines `move_to` then one or more
/// `line_to` per part; for polygons `move_to`, two or more `line_to`, then `close_path` per ring.
/// Nothing is allocated between the bytes and the sink.
pub trait GeometrySink {
    /// Starts a new part (a point, a line or a ring) at `(x, y)`.
    fn move_to(&mut self, x: i32, y: i32);
    /// Extends the current part to `(x, y)`.
    fn line_to(&mut self, x: i32, y: i32);
    /// Closes the current ring (polygons; in version 1 layers, also lines).
    fn close_path(&mut self);
}
