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
///
/// A sink that draws polygons can also ask for each ring's type: set
/// [`WANTS_RING_TYPES`](Self::WANTS_RING_TYPES) to `true` and the reader follows every
/// polygon ring's `close_path` with [`ring_end`](Self::ring_end), having computed the ring's
/// area as it decoded the vertices. The constant is read at compile time, so a sink that leaves
/// it `false` gets the decoding loop without the area.
///
/// ```
/// use mlytiles_mvt::{GeometrySink, RingType};
///
/// /// Counts the holes of a polygon.
/// #[derive(Default)]
/// struct Holes(usize);
///
/// impl GeometrySink for Holes {
///     const WANTS_RING_TYPES: bool = true;
///     fn move_to(&mut self, _x: i32, _y: i32) {}
///     fn line_to(&mut self, _x: i32, _y: i32) {}
///     fn close_path(&mut self) {}
///     fn ring_end(&mut self, ring_type: RingType) {
///         self.0 += usize::from(ring_type == RingType::Inner);
///     }
/// }
/// ```
pub trait GeometrySink {
    /// Whether the sink wants [`ring_end`](Self::ring_end) calls; `false` unless the sink says
    /// otherwise. Checked at compile time.
    const WANTS_RING_TYPES: bool = false;
    /// Starts a new part (a point, a line or a ring) at `(x, y)`.
    fn move_to(&mut self, x: i32, y: i32);
    /// Extends the current part to `(x, y)`.
    fn line_to(&mut self, x: i32, y: i32);
    /// Closes the current ring (polygons; in version 1 layers, also lines).
    fn close_path(&mut self);
    /// The type of the polygon ring just closed, called right after its `close_path` when
    /// [`WANTS_RING_TYPES`](Self::WANTS_RING_TYPES) is `true` (POLYGON geometries only).
    /// The default does nothing.
    #[inline]
    fn ring_end(&mut self, ring_type: RingType) {
        let _ = ring_type;
    }
}

/// Whether a polygon ring is an exterior or an interior ring (spec 4.3.4.4), by its signed
/// area in tile coordinates (surveyor's formula, exact; see [`ring_area2`](crate::ring_area2)).
///
/// In version 2 layers a positive area (clockwise on screen, y down) is exterior and a negative
/// one interior. Version 1 did not fix the winding, so there the first ring of non-zero area
/// decides which sign is exterior. This is the classification
/// [`Feature::to_geometry`](crate::Feature::to_geometry) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RingType {
    /// An exterior ring: it starts a new polygon.
    Outer,
    /// An interior ring: a hole in the polygon of the last outer ring.
    Inner,
    /// A ring of zero area: it encloses nothing and is neither exterior nor interior; a
    /// renderer can skip it (`to_geometry` drops it).
    ZeroArea,
}
