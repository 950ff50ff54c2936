//! Writing vector tiles: [`TileBuilder`], [`LayerBuilder`] and the streaming
//! [`GeometryEncoder`].
//!
//! A [`LayerBuilder`] encodes each feature into protobuf bytes as it is added, deduplicating
//! property keys and values into the layer's tables (spec 4.4) with hash maps, so adding a
//! feature allocates nothing beyond the amortised growth of the layer's buffers and tables. A
//! [`TileBuilder`] holds the layers and concatenates them into a tile.
//!
//! Geometry comes either from a [`geo_types::Geometry<i32>`] in tile coordinates
//! ([`LayerBuilder::add_feature`]), which is normalised to what spec 4.3 requires (see
//! [`GeometryEncoder::encode_geometry`]), or from a [`GeometryEncoder`] fed through the
//! [`GeometrySink`] trait ([`LayerBuilder::add_feature_encoded`]), which lets a caller copy
//! features from a reader without building geometry values.
//!
//! The bytes are the ones prost writes for the same [`model::Tile`] (fields in tag order, packed
//! `tags` and `geometry`), so `model::Tile::decode` followed by `encode_to_vec` gives them back
//! unchanged.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use geo_types::{Coord, Geometry, Polygon};
use prost::Message;

use std::cell::Cell;

use crate::error::ErrorKind;
use crate::geom_type::{GeomType, GeometrySink};
use crate::geometry::{SliceInts, cross, decode_commands};
use crate::model;
use crate::pbf::zigzag32;
use crate::value::Value;

// spec 4.3.3: command ids.
const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;
/// spec 4.3.3: the command count is the upper 29 bits of the command integer.
const MAX_COUNT: u32 = (1 << 29) - 1;

/// spec 4.3.3: `CommandInteger = (id & 0x7) | (count << 3)`.
fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

/// spec 4.3.2: parameter integers are zigzag-encoded.
fn zigzag(d: i32) -> u32 {
    ((d << 1) ^ (d >> 31)) as u32
}

/// Twice the signed area of a ring by the surveyor's formula, in tile coordinates (spec
/// 4.3.4.4). Exact: each product fits in an `i64`, the sum is kept in an `i128`.
fn twice_signed_area(ring: &[Coord<i32>]) -> i128 {
    let mut sum: i128 = 0;
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        sum += cross(a.x, a.y, b.x, b.y);
    }
    sum
}

/// Errors from building a tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The geometry has no vertices at all (an empty multipoint, linestring, multilinestring,
    /// polygon or multipolygon).
    #[error(
        "the geometry is an empty {kind}; a feature's geometry needs at least one vertex (spec 4.3.4)"
    )]
    EmptyGeometry {
        /// The geo-types name of the empty geometry, such as `"MultiPoint"`.
        kind: &'static str,
    },
    /// A `GeometryCollection` was given; MVT has no collection type.
    #[error(
        "a GeometryCollection cannot be written: MVT has no geometry collections (spec 4.3.4); write each member as its own feature"
    )]
    GeometryCollection,
    /// A line has fewer than 2 distinct vertices once consecutive duplicates are dropped.
    #[error("line {line} has {distinct} distinct vertices; a line needs at least 2 (spec 4.3.4.3)")]
    ShortLine {
        /// The line's index in its multilinestring (0 for a single line).
        line: usize,
        /// How many vertices are left after dropping consecutive duplicates.
        distinct: usize,
    },
    /// A polygon ring has fewer than 3 distinct vertices once consecutive duplicates and the
    /// closing vertex are dropped.
    #[error(
        "polygon {polygon} ring {ring} has {distinct} distinct vertices; a ring needs at least 3 (spec 4.3.4.4)"
    )]
    ShortRing {
        /// The polygon's index in its multipolygon (0 for a single polygon).
        polygon: usize,
        /// The ring's index in the polygon: 0 is the exterior, 1 and up the interiors.
        ring: usize,
        /// How many vertices are left after dropping consecutive duplicates and the closing
        /// vertex.
        distinct: usize,
    },
    /// A polygon ring has zero area, so it is neither an exterior nor an interior ring.
    #[error(
        "polygon {polygon} ring {ring} has zero area; a ring must have a non-zero area to be an exterior or interior ring (spec 4.3.4.4)"
    )]
    ZeroAreaRing {
        /// The polygon's index in its multipolygon (0 for a single polygon).
        polygon: usize,
        /// The ring's index in the polygon: 0 is the exterior, 1 and up the interiors.
        ring: usize,
    },
    /// A command stream given to [`LayerBuilder::add_feature_encoded`] or
    /// [`validate_commands`] breaks the rules of its geometry type.
    #[error("invalid {geom_type} command stream at integer {offset}: {reason}")]
    InvalidCommands {
        /// The geometry type the stream was checked against.
        geom_type: GeomType,
        /// Index of the offending integer in the stream (the stream's length if it ends too
        /// early).
        offset: usize,
        /// What is wrong, citing the spec.
        reason: String,
    },
    /// A feature lists the same property key twice.
    #[error(
        "property key {key:?} appears more than once in one feature; a feature's key indices must be unique (spec 4.4)"
    )]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A layer was added to a tile that already has a layer of that name.
    #[error(
        "the tile already has a layer named {name:?}; layer names must be unique within a tile (spec 4.1)"
    )]
    DuplicateLayer {
        /// The repeated layer name.
        name: String,
    },
    /// A layer's key or value table would need an index beyond `u32::MAX`.
    #[error("the layer has too many distinct {what}: tag indices are 32-bit (spec 4.2)")]
    TooManyEntries {
        /// `"keys"` or `"values"`.
        what: &'static str,
    },
}

/// Checks a command stream against the rules of a geometry type (spec 4.3.3 and 4.3.4), with
/// the reader's own grammar, so that what the writer takes the reader reads back. On top of
/// what the reader accepts, a writer must not produce:
///
/// * an empty stream (spec 4.2: a feature has a geometry field; an empty packed field would not
///   be written at all);
/// * for `Polygon`: a ring whose last vertex repeats its first (ClosePath closes it), a ring of
///   zero area, or a first ring that is not exterior (negative area by the surveyor's formula in
///   tile coordinates) (spec 4.3.4.4).
///
/// Self-intersections and the nesting of interior rings are not checked.
pub fn validate_commands(geom_type: GeomType, commands: &[u32]) -> Result<(), WriteError> {
    let fail = |offset: usize, reason: String| WriteError::InvalidCommands {
        geom_type,
        offset,
        reason,
    };
    if commands.is_empty() {
        return Err(fail(0, "the geometry has no commands (spec 4.2)".into()));
    }
    let last = Cell::new(0);
    let mut rings = RingCheck {
        last: &last,
        start: (0, 0),
        at: (0, 0),
        area: 0,
        rings: 0,
        problem: None,
    };
    let mut ints = SliceInts::new(commands, &last);
    // Version 2: what a writer writes.
    if let Err(kind) = decode_commands(&mut ints, geom_type, 2, &mut rings) {
        // A stream that stops early is wrong at its end, anything else where the read began.
        let offset = match kind {
            ErrorKind::IncompleteGeometry { .. } => commands.len(),
            _ => last.get(),
        };
        return Err(fail(offset, kind.to_string()));
    }
    match rings.problem {
        Some((offset, reason)) if geom_type == GeomType::Polygon => {
            Err(fail(offset, reason.into()))
        }
        _ => Ok(()),
    }
}

/// Watches the rings the decoder hands over for what a writer must not produce (see
/// [`validate_commands`]), noting the first problem and the index of its ClosePath.
struct RingCheck<'a> {
    last: &'a Cell<usize>,
    start: (i32, i32),
    at: (i32, i32),
    area: i128,
    rings: usize,
    problem: Option<(usize, &'static str)>,
}

impl GeometrySink for RingCheck<'_> {
    fn move_to(&mut self, x: i32, y: i32) {
        (self.start, self.at, self.area) = ((x, y), (x, y), 0);
    }

    fn line_to(&mut self, x: i32, y: i32) {
        self.area += cross(self.at.0, self.at.1, x, y);
        self.at = (x, y);
    }

    fn close_path(&mut self) {
        let area = self.area + cross(self.at.0, self.at.1, self.start.0, self.start.1);
        let problem = if self.at == self.start {
            Some(
                "the ring's last vertex repeats its first; ClosePath closes the ring by itself (spec 4.3.4.4)",
            )
        } else if area == 0 {
            Some("the ring has zero area, so it is neither exterior nor interior (spec 4.3.4.4)")
        } else if self.rings == 0 && area < 0 {
            Some(
                "the polygon's first ring has negative area; it must be an exterior ring, with positive area (spec 4.3.4.4)",
            )
        } else {
            None
        };
        if let (None, Some(p)) = (self.problem, problem) {
            self.problem = Some((self.last.get(), p));
        }
        self.rings += 1;
    }
}

/// The command stream being built, with the cursor and the open command.
#[derive(Debug, Clone, Default)]
struct Stream {
    commands: Vec<u32>,
    /// spec 4.3.1: the cursor, the position after the last parameter pair.
    x: i32,
    y: i32,
    /// The first vertex of the current part (for the ClosePath check).
    start_x: i32,
    start_y: i32,
    /// Index in `commands` of the open command's header.
    header: usize,
    /// `MOVE_TO` or `LINE_TO` while the last command can take more pairs, 0 otherwise.
    open: u32,
}

impl Stream {
    fn clear(&mut self) {
        self.commands.clear();
        self.x = 0;
        self.y = 0;
        self.start_x = 0;
        self.start_y = 0;
        self.header = 0;
        self.open = 0;
    }

    /// Appends a parameter pair to the open command of kind `id`, or starts one.
    fn push_pair(&mut self, id: u32, x: i32, y: i32) {
        if self.open == id && (self.commands[self.header] >> 3) < MAX_COUNT {
            self.commands[self.header] += 1 << 3;
        } else {
            self.header = self.commands.len();
            self.commands.push(command(id, 1));
            self.open = id;
        }
        // spec 4.3.2: parameters are deltas from the cursor; wrapping keeps them exact for
        // any i32 coordinates, as a decoder sums them with wrapping too.
        self.commands.push(zigzag(x.wrapping_sub(self.x)));
        self.commands.push(zigzag(y.wrapping_sub(self.y)));
        self.x = x;
        self.y = y;
    }

    fn move_to(&mut self, x: i32, y: i32) {
        self.push_pair(MOVE_TO, x, y);
        self.start_x = x;
        self.start_y = y;
    }

    fn line_to(&mut self, x: i32, y: i32) {
        // spec 4.3.3.2: a LineTo's dX and dY must not both be 0.
        if (x, y) != (self.x, self.y) {
            self.push_pair(LINE_TO, x, y);
        }
    }

    fn close_path(&mut self) {
        // spec 4.3.4.4: the cursor before ClosePath must not repeat the ring's first point;
        // ClosePath draws that segment itself, so a LineTo back to the start is taken back.
        if self.open == LINE_TO && (self.x, self.y) == (self.start_x, self.start_y) {
            let dy = self.commands.pop().map_or(0, zigzag32);
            let dx = self.commands.pop().map_or(0, zigzag32);
            self.x = self.x.wrapping_sub(dx);
            self.y = self.y.wrapping_sub(dy);
            self.commands[self.header] -= 1 << 3;
            if self.commands[self.header] >> 3 == 0 {
                self.commands.truncate(self.header);
            }
        }
        // spec 4.3.3.3: ClosePath has a count of 1 and no parameters; it does not move the
        // cursor.
        self.commands.push(command(CLOSE_PATH, 1));
        self.open = 0;
    }
}

/// Builds one feature's geometry command stream (spec 4.3) from absolute tile coordinates.
///
/// Feed it through [`GeometrySink`] (`move_to`, `line_to`, `close_path`), for instance straight
/// from a reader's `decode_geometry`, or give it a whole geo-types geometry with
/// [`encode_geometry`](Self::encode_geometry). It writes zigzag-encoded deltas from the cursor
/// (wrapping `i32` arithmetic, spec 4.3.2) and:
///
/// * coalesces consecutive `move_to` calls into one MoveTo with a count (a multipoint is a
///   single MoveTo(n), spec 4.3.4.2) and consecutive `line_to` calls into one LineTo(n);
/// * drops a `line_to` to the cursor's own position (spec 4.3.3.2: a LineTo's dX and dY must
///   not both be 0);
/// * on `close_path`, takes back a final `line_to` to the ring's first vertex, as the
///   ClosePath draws that segment (spec 4.3.4.4), so closed rings such as geo-types' can be
///   fed as they are.
///
/// It does not check the stream against a geometry type as it goes (nor fix ring winding);
/// [`LayerBuilder::add_feature_encoded`] does that with [`validate_commands`]. Note that
/// after the dropping above a degenerate part can leave a stream that fails validation, for
/// instance two `move_to` calls in a row in a linestring coalesce into a MoveTo(2).
///
/// [`clear`](Self::clear) keeps the buffers, so one encoder can encode feature after feature
/// without allocating.
#[derive(Debug, Clone, Default)]
pub struct GeometryEncoder {
    stream: Stream,
    /// Scratch for the vertices of one line or ring in `encode_geometry`.
    vertices: Vec<Coord<i32>>,
}

impl GeometryEncoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the encoder and resets its cursor to (0, 0), keeping its buffers.
    pub fn clear(&mut self) {
        self.stream.clear();
        self.vertices.clear();
    }

    /// The command stream so far: the integers of the feature's `geometry` field.
    pub fn commands(&self) -> &[u32] {
        &self.stream.commands
    }

    /// `true` if nothing has been encoded since the last [`clear`](Self::clear).
    pub fn is_empty(&self) -> bool {
        self.stream.commands.is_empty()
    }

    /// Checks the stream against the rules of `geom_type`; see [`validate_commands`].
    pub fn validate(&self, geom_type: GeomType) -> Result<(), WriteError> {
        validate_commands(geom_type, self.commands())
    }

    /// Clears the encoder, encodes `geometry` (tile coordinates, x right, y down) and returns
    /// the feature's geometry type. On error the encoder is left empty.
    ///
    /// The geometry is normalised to what spec 4.3.4 requires:
    ///
    /// * `Point` and `MultiPoint` become one MoveTo with a count of n (spec 4.3.4.2);
    ///   repeated points of a multipoint are kept.
    /// * `LineString`, `MultiLineString` and `Line` become MoveTo(1), LineTo(n-1) per line
    ///   (spec 4.3.4.3), after dropping consecutive duplicate vertices (spec 4.3.3.2). A line
    ///   left with fewer than 2 vertices is an error ([`WriteError::ShortLine`]), not skipped.
    /// * `Polygon`, `MultiPolygon`, `Rect` and `Triangle` become, per polygon, the exterior
    ///   ring then the interior rings, each MoveTo(1), LineTo(n-1), ClosePath (spec 4.3.4.4).
    ///   Consecutive duplicate vertices and the closing vertex (geo-types rings repeat their
    ///   first vertex at the end) are dropped. A ring left with fewer than 3 vertices is an
    ///   error ([`WriteError::ShortRing`]), as is a ring of zero area
    ///   ([`WriteError::ZeroAreaRing`]); neither is skipped. Winding is fixed: a ring whose
    ///   area by the surveyor's formula has the wrong sign (exterior rings must be positive,
    ///   that is clockwise on screen with y down; interior rings negative) is written in
    ///   reverse order, starting from the same first vertex. Self-intersections are not
    ///   checked.
    /// * A geometry with no vertices at all is [`WriteError::EmptyGeometry`], and a
    ///   `GeometryCollection` is [`WriteError::GeometryCollection`].
    pub fn encode_geometry(&mut self, geometry: &Geometry<i32>) -> Result<GeomType, WriteError> {
        self.clear();
        let result = self.encode_inner(geometry);
        if result.is_err() {
            self.clear();
        }
        result
    }

    fn encode_inner(&mut self, geometry: &Geometry<i32>) -> Result<GeomType, WriteError> {
        match geometry {
            Geometry::Point(p) => {
                self.stream.move_to(p.x(), p.y());
                Ok(GeomType::Point)
            }
            Geometry::MultiPoint(mp) => {
                if mp.0.is_empty() {
                    return Err(WriteError::EmptyGeometry { kind: "MultiPoint" });
                }
                // spec 4.3.4.2: a multipoint is a single MoveTo with a count of n; the stream
                // coalesces consecutive MoveTos.
                for p in &mp.0 {
                    self.stream.move_to(p.x(), p.y());
                }
                Ok(GeomType::Point)
            }
            Geometry::Line(l) => {
                self.line(0, [l.start, l.end])?;
                Ok(GeomType::LineString)
            }
            Geometry::LineString(ls) => {
                if ls.0.is_empty() {
                    return Err(WriteError::EmptyGeometry { kind: "LineString" });
                }
                self.line(0, ls.0.iter().copied())?;
                Ok(GeomType::LineString)
            }
            Geometry::MultiLineString(mls) => {
                if mls.0.is_empty() {
                    return Err(WriteError::EmptyGeometry {
                        kind: "MultiLineString",
                    });
                }
                for (i, ls) in mls.0.iter().enumerate() {
                    self.line(i, ls.0.iter().copied())?;
                }
                Ok(GeomType::LineString)
            }
            Geometry::Polygon(p) => {
                if p.exterior().0.is_empty() && p.interiors().is_empty() {
                    return Err(WriteError::EmptyGeometry { kind: "Polygon" });
                }
                self.polygon(0, p)?;
                Ok(GeomType::Polygon)
            }
            Geometry::MultiPolygon(mp) => {
                if mp.0.is_empty() {
                    return Err(WriteError::EmptyGeometry {
                        kind: "MultiPolygon",
                    });
                }
                // spec 4.3.4.4: each polygon's exterior ring, then its interior rings.
                for (i, p) in mp.0.iter().enumerate() {
                    self.polygon(i, p)?;
                }
                Ok(GeomType::Polygon)
            }
            Geometry::Rect(r) => {
                let (min, max) = (r.min(), r.max());
                let corners = [
                    Coord { x: min.x, y: min.y },
                    Coord { x: max.x, y: min.y },
                    Coord { x: max.x, y: max.y },
                    Coord { x: min.x, y: max.y },
                ];
                self.ring(0, 0, corners)?;
                Ok(GeomType::Polygon)
            }
            Geometry::Triangle(t) => {
                self.ring(0, 0, t.to_array())?;
                Ok(GeomType::Polygon)
            }
            Geometry::GeometryCollection(_) => Err(WriteError::GeometryCollection),
        }
    }

    /// Collects `coords` into the scratch buffer without consecutive duplicates.
    fn collect_distinct(&mut self, coords: impl IntoIterator<Item = Coord<i32>>) {
        self.vertices.clear();
        for c in coords {
            if self.vertices.last() != Some(&c) {
                self.vertices.push(c);
            }
        }
    }

    /// One line: spec 4.3.4.3, MoveTo(1) then LineTo(n-1).
    fn line(
        &mut self,
        index: usize,
        coords: impl IntoIterator<Item = Coord<i32>>,
    ) -> Result<(), WriteError> {
        // spec 4.3.3.2: consecutive duplicates would give a LineTo with dX = dY = 0.
        self.collect_distinct(coords);
        let Some((first, rest)) = self.vertices.split_first().filter(|(_, r)| !r.is_empty()) else {
            return Err(WriteError::ShortLine {
                line: index,
                distinct: self.vertices.len(),
            });
        };
        self.stream.move_to(first.x, first.y);
        for c in rest {
            self.stream.line_to(c.x, c.y);
        }
        Ok(())
    }

    /// A polygon's exterior ring then its interior rings.
    fn polygon(&mut self, index: usize, polygon: &Polygon<i32>) -> Result<(), WriteError> {
        self.ring(index, 0, polygon.exterior().0.iter().copied())?;
        for (k, interior) in polygon.interiors().iter().enumerate() {
            self.ring(index, k + 1, interior.0.iter().copied())?;
        }
        Ok(())
    }

    /// One ring: spec 4.3.4.4, MoveTo(1), LineTo(n-1), ClosePath, with ring 0 exterior.
    fn ring(
        &mut self,
        polygon: usize,
        ring: usize,
        coords: impl IntoIterator<Item = Coord<i32>>,
    ) -> Result<(), WriteError> {
        self.collect_distinct(coords);
        // spec 4.3.4.4: ClosePath closes the ring, so the closing vertex is not written.
        if self.vertices.len() > 1 && self.vertices.first() == self.vertices.last() {
            self.vertices.pop();
        }
        if self.vertices.len() < 3 {
            return Err(WriteError::ShortRing {
                polygon,
                ring,
                distinct: self.vertices.len(),
            });
        }
        // spec 4.3.4.4: an exterior ring has positive area by the surveyor's formula in tile
        // coordinates, an interior ring negative area.
        let area = twice_signed_area(&self.vertices);
        if area == 0 {
            return Err(WriteError::ZeroAreaRing { polygon, ring });
        }
        let reverse = (ring == 0) != (area > 0);
        let (first, rest) = self
            .vertices
            .split_first()
            .expect("a ring has at least 3 vertices here");
        self.stream.move_to(first.x, first.y);
        if reverse {
            for c in rest.iter().rev() {
                self.stream.line_to(c.x, c.y);
            }
        } else {
            for c in rest {
                self.stream.line_to(c.x, c.y);
            }
        }
        self.stream.close_path();
        Ok(())
    }
}

impl GeometrySink for GeometryEncoder {
    /// Appends to the open MoveTo, or starts a MoveTo(1).
    fn move_to(&mut self, x: i32, y: i32) {
        self.stream.move_to(x, y);
    }

    /// Appends to the open LineTo, or starts a LineTo(1); a segment of zero length is dropped
    /// (spec 4.3.3.2).
    fn line_to(&mut self, x: i32, y: i32) {
        self.stream.line_to(x, y);
    }

    /// Writes a ClosePath, after taking back a final LineTo to the ring's first vertex
    /// (spec 4.3.4.4).
    fn close_path(&mut self) {
        self.stream.close_path();
    }
}

/// Protobuf wire helpers (<https://protobuf.dev/programming-guides/encoding/>).
pub(crate) mod wire {
    pub(super) const VARINT: u32 = 0;
    pub(super) const I64: u32 = 1;
    pub(super) const LEN: u32 = 2;
    pub(super) const I32: u32 = 5;

    pub(super) fn varint_len(v: u64) -> usize {
        // 7 bits per byte; 0 takes one byte.
        (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
    }

    pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub(super) fn put_key(out: &mut Vec<u8>, tag: u32, wire_type: u32) {
        put_varint(out, u64::from((tag << 3) | wire_type));
    }

    /// The length of a field key (all tags used here are below 16: one byte).
    pub(super) fn key_len(tag: u32) -> usize {
        varint_len(u64::from(tag << 3))
    }

    /// The byte length of a packed run of varints.
    pub(super) fn packed_len(values: &[u32]) -> usize {
        values.iter().map(|&v| varint_len(u64::from(v))).sum()
    }

    /// The length of a length-delimited field holding `len` bytes.
    pub(super) fn len_field_len(tag: u32, len: usize) -> usize {
        key_len(tag) + varint_len(len as u64) + len
    }

    /// zigzag for `sint64`.
    pub(super) fn zigzag64(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }
}

/// A non-string value as a hashable key: floats by bit pattern, so `0.0`, `-0.0` and each NaN
/// pattern are distinct values, and the variant is part of the key, so `Int(5)`, `UInt(5)`
/// and `SInt(5)` are distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ScalarKey {
    Float(u32),
    Double(u64),
    Int(i64),
    UInt(u64),
    SInt(i64),
    Bool(bool),
}

impl ScalarKey {
    fn of(value: Value<'_>) -> Option<ScalarKey> {
        Some(match value {
            Value::String(_) => return None,
            Value::Float(f) => ScalarKey::Float(f.to_bits()),
            Value::Double(d) => ScalarKey::Double(d.to_bits()),
            Value::Int(i) => ScalarKey::Int(i),
            Value::UInt(u) => ScalarKey::UInt(u),
            Value::SInt(s) => ScalarKey::SInt(s),
            Value::Bool(b) => ScalarKey::Bool(b),
        })
    }
}

/// The length of a `Value` message's body.
fn value_body_len(value: Value<'_>) -> usize {
    match value {
        Value::String(s) => wire::len_field_len(1, s.len()),
        Value::Float(_) => 1 + 4,
        Value::Double(_) => 1 + 8,
        Value::Int(i) => 1 + wire::varint_len(i as u64),
        Value::UInt(u) => 1 + wire::varint_len(u),
        Value::SInt(s) => 1 + wire::varint_len(wire::zigzag64(s)),
        Value::Bool(_) => 1 + 1,
    }
}

/// Appends `value` as a layer's `values` field (tag 4).
fn put_value(out: &mut Vec<u8>, value: Value<'_>) {
    wire::put_key(out, 4, wire::LEN);
    wire::put_varint(out, value_body_len(value) as u64);
    match value {
        Value::String(s) => {
            wire::put_key(out, 1, wire::LEN);
            wire::put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Float(f) => {
            wire::put_key(out, 2, wire::I32);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Double(d) => {
            wire::put_key(out, 3, wire::I64);
            out.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        Value::Int(i) => {
            // int64: negative numbers are ten-byte varints of their two's complement.
            wire::put_key(out, 4, wire::VARINT);
            wire::put_varint(out, i as u64);
        }
        Value::UInt(u) => {
            wire::put_key(out, 5, wire::VARINT);
            wire::put_varint(out, u);
        }
        Value::SInt(s) => {
            wire::put_key(out, 6, wire::VARINT);
            wire::put_varint(out, wire::zigzag64(s));
        }
        Value::Bool(b) => {
            wire::put_key(out, 7, wire::VARINT);
            wire::put_varint(out, u64::from(b));
        }
    }
}

/// Table sizes before a feature, to take back what a failed feature added.
#[derive(Clone, Copy)]
struct Mark {
    keys: usize,
    key_bytes: usize,
    values: u32,
    value_bytes: usize,
}

/// Builds one layer (spec 4.1): its name, extent, version, features, and the key and value
/// tables the features' tags index (spec 4.4).
///
/// Keys and values are deduplicated: every feature that uses the key `"class"` gets the same
/// key index, and likewise for values. Values are equal only if they have the same variant
/// and, for floats, the same bit pattern (`Int(5)`, `UInt(5)` and `SInt(5)` are three values;
/// so are `0.0`, `-0.0` and `NaN`).
///
/// Features are encoded into bytes as they are added; a feature that fails (bad geometry,
/// repeated key) leaves the layer as it was.
#[derive(Debug, Clone)]
pub struct LayerBuilder {
    name: String,
    extent: u32,
    version: u32,
    feature_count: usize,
    /// The encoded `features` fields (tag 2), in insertion order.
    features: Vec<u8>,
    /// The encoded `keys` fields (tag 3).
    keys: Vec<u8>,
    key_index: HashMap<String, u32>,
    /// Per key index, the serial of the last feature that used it (spec 4.4: a key index is
    /// unique within a feature). Its length is the number of keys.
    key_last_use: Vec<u64>,
    /// The encoded `values` fields (tag 4).
    values: Vec<u8>,
    value_count: u32,
    string_values: HashMap<String, u32>,
    scalar_values: HashMap<ScalarKey, u32>,
    /// Serial of the feature being added.
    serial: u64,
    /// Scratch for the feature's tags.
    tags: Vec<u32>,
    /// Scratch for `add_feature`'s geometry.
    encoder: GeometryEncoder,
}

impl LayerBuilder {
    /// An empty layer named `name`, with extent 4096 and version 2.
    pub fn new(name: impl Into<String>) -> Self {
        LayerBuilder {
            name: name.into(),
            extent: 4096,
            version: 2,
            feature_count: 0,
            features: Vec::new(),
            keys: Vec::new(),
            key_index: HashMap::new(),
            key_last_use: Vec::new(),
            values: Vec::new(),
            value_count: 0,
            string_values: HashMap::new(),
            scalar_values: HashMap::new(),
            serial: 0,
            tags: Vec::new(),
            encoder: GeometryEncoder::new(),
        }
    }

    /// Sets the extent (spec 4.3.2; default 4096), which is always written.
    pub fn extent(mut self, extent: u32) -> Self {
        self.extent = extent;
        self
    }

    /// Sets the version (spec 4.1; default 2), which is written as given.
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Sets the extent in place; see [`extent`](Self::extent).
    pub fn set_extent(&mut self, extent: u32) -> &mut Self {
        self.extent = extent;
        self
    }

    /// Sets the version in place; see [`version`](Self::version).
    pub fn set_version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of features added.
    pub fn len(&self) -> usize {
        self.feature_count
    }

    /// `true` if no feature has been added.
    pub fn is_empty(&self) -> bool {
        self.feature_count == 0
    }

    /// The number of distinct keys in the layer's key table.
    pub fn key_count(&self) -> usize {
        self.key_last_use.len()
    }

    /// The number of distinct values in the layer's value table.
    pub fn value_count(&self) -> usize {
        self.value_count as usize
    }

    /// Removes all features, keys and values, keeping the name, extent, version and the
    /// allocated buffers.
    pub fn clear(&mut self) {
        self.feature_count = 0;
        self.features.clear();
        self.keys.clear();
        self.key_index.clear();
        self.key_last_use.clear();
        self.values.clear();
        self.value_count = 0;
        self.string_values.clear();
        self.scalar_values.clear();
        self.tags.clear();
        self.encoder.clear();
    }

    /// Adds a feature with a geo-types geometry in tile coordinates and its properties.
    ///
    /// The geometry is normalised as [`GeometryEncoder::encode_geometry`] describes (dropped
    /// duplicate vertices, ring winding fixed) and its type follows from the variant. The
    /// properties become tags (spec 4.4); a key may appear only once. On error the layer is
    /// unchanged.
    pub fn add_feature<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<i32>,
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        let mut encoder = std::mem::take(&mut self.encoder);
        let result = encoder.encode_geometry(geometry).and_then(|geom_type| {
            debug_assert_eq!(validate_commands(geom_type, encoder.commands()), Ok(()));
            self.push_feature(id, geom_type, encoder.commands(), properties)
        });
        self.encoder = encoder;
        result
    }

    /// Adds a feature whose geometry was built with a [`GeometryEncoder`], checking the
    /// command stream against `geom_type` first ([`validate_commands`]). On error the layer
    /// is unchanged.
    pub fn add_feature_encoded<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geom_type: GeomType,
        geometry: &GeometryEncoder,
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        self.add_feature_commands(id, geom_type, geometry.commands(), properties)
    }

    /// Adds a feature from an already encoded command stream (the integers of the `geometry`
    /// field), checking it against `geom_type` first ([`validate_commands`]). On error the
    /// layer is unchanged.
    pub fn add_feature_commands<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geom_type: GeomType,
        commands: &[u32],
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        validate_commands(geom_type, commands)?;
        self.push_feature(id, geom_type, commands, properties)
    }

    /// The layer as the prost model (decoded from the bytes this builder writes).
    pub fn to_model(&self) -> model::Layer {
        let mut bytes = Vec::with_capacity(self.body_len());
        self.encode_body(&mut bytes);
        model::Layer::decode(bytes.as_slice()).expect("the writer's own bytes decode")
    }

    fn push_feature<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geom_type: GeomType,
        commands: &[u32],
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        self.intern_properties(properties)?;

        // spec 4.2, in tag order: id (1), tags (2, packed), type (3), geometry (4, packed).
        let tags_len = wire::packed_len(&self.tags);
        let geometry_len = wire::packed_len(commands);
        let mut body = wire::key_len(3) + wire::varint_len(u64::from(geom_type.to_u32()));
        if let Some(id) = id {
            body += wire::key_len(1) + wire::varint_len(id);
        }
        if !self.tags.is_empty() {
            body += wire::len_field_len(2, tags_len);
        }
        if !commands.is_empty() {
            body += wire::len_field_len(4, geometry_len);
        }

        let out = &mut self.features;
        out.reserve(wire::len_field_len(2, body));
        wire::put_key(out, 2, wire::LEN);
        wire::put_varint(out, body as u64);
        if let Some(id) = id {
            wire::put_key(out, 1, wire::VARINT);
            wire::put_varint(out, id);
        }
        if !self.tags.is_empty() {
            wire::put_key(out, 2, wire::LEN);
            wire::put_varint(out, tags_len as u64);
            for &t in &self.tags {
                wire::put_varint(out, u64::from(t));
            }
        }
        wire::put_key(out, 3, wire::VARINT);
        wire::put_varint(out, u64::from(geom_type.to_u32()));
        if !commands.is_empty() {
            wire::put_key(out, 4, wire::LEN);
            wire::put_varint(out, geometry_len as u64);
            for &c in commands {
                wire::put_varint(out, u64::from(c));
            }
        }
        self.feature_count += 1;
        Ok(())
    }

    /// Fills `self.tags` from `properties`; on error takes back any keys and values added.
    fn intern_properties<'k, 'v>(
        &mut self,
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        self.serial += 1;
        self.tags.clear();
        let mark = Mark {
            keys: self.key_last_use.len(),
            key_bytes: self.keys.len(),
            values: self.value_count,
            value_bytes: self.values.len(),
        };
        let result = self.intern_all(properties);
        if result.is_err() {
            self.rollback(mark);
        }
        result
    }

    fn intern_all<'k, 'v>(
        &mut self,
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        for (key, value) in properties {
            let k = self.intern_key(key)?;
            // spec 4.4: every key index must be unique within a feature.
            let last_use = &mut self.key_last_use[k as usize];
            if *last_use == self.serial {
                return Err(WriteError::DuplicateKey {
                    key: key.to_owned(),
                });
            }
            *last_use = self.serial;
            let v = self.intern_value(value)?;
            self.tags.push(k);
            self.tags.push(v);
        }
        Ok(())
    }

    fn intern_key(&mut self, key: &str) -> Result<u32, WriteError> {
        if let Some(&k) = self.key_index.get(key) {
            return Ok(k);
        }
        let k = u32::try_from(self.key_last_use.len())
            .map_err(|_| WriteError::TooManyEntries { what: "keys" })?;
        self.key_index.insert(key.to_owned(), k);
        self.key_last_use.push(0);
        wire::put_key(&mut self.keys, 3, wire::LEN);
        wire::put_varint(&mut self.keys, key.len() as u64);
        self.keys.extend_from_slice(key.as_bytes());
        Ok(k)
    }

    fn intern_value(&mut self, value: Value<'_>) -> Result<u32, WriteError> {
        let next = self.value_count;
        let too_many = WriteError::TooManyEntries { what: "values" };
        match ScalarKey::of(value) {
            None => {
                let Value::String(s) = value else {
                    unreachable!("only strings have no scalar key")
                };
                if let Some(&v) = self.string_values.get(s) {
                    return Ok(v);
                }
                if next == u32::MAX {
                    return Err(too_many);
                }
                self.string_values.insert(s.to_owned(), next);
            }
            Some(key) => match self.scalar_values.entry(key) {
                Entry::Occupied(e) => return Ok(*e.get()),
                Entry::Vacant(e) => {
                    if next == u32::MAX {
                        return Err(too_many);
                    }
                    e.insert(next);
                }
            },
        }
        put_value(&mut self.values, value);
        self.value_count += 1;
        Ok(next)
    }

    fn rollback(&mut self, mark: Mark) {
        if self.key_last_use.len() > mark.keys {
            self.key_index.retain(|_, k| (*k as usize) < mark.keys);
            self.key_last_use.truncate(mark.keys);
            self.keys.truncate(mark.key_bytes);
        }
        if self.value_count > mark.values {
            self.string_values.retain(|_, v| *v < mark.values);
            self.scalar_values.retain(|_, v| *v < mark.values);
            self.values.truncate(mark.value_bytes);
            self.value_count = mark.values;
        }
    }

    /// The length of the `Layer` message's body.
    fn body_len(&self) -> usize {
        wire::len_field_len(1, self.name.len())
            + self.features.len()
            + self.keys.len()
            + self.values.len()
            + wire::key_len(5)
            + wire::varint_len(u64::from(self.extent))
            + wire::key_len(15)
            + wire::varint_len(u64::from(self.version))
    }

    /// Appends the `Layer` message's body: fields in tag order, as prost writes them.
    fn encode_body(&self, out: &mut Vec<u8>) {
        // spec 4.1: name (1), features (2), keys (3), values (4), extent (5), version (15).
        wire::put_key(out, 1, wire::LEN);
        wire::put_varint(out, self.name.len() as u64);
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.features);
        out.extend_from_slice(&self.keys);
        out.extend_from_slice(&self.values);
        wire::put_key(out, 5, wire::VARINT);
        wire::put_varint(out, u64::from(self.extent));
        wire::put_key(out, 15, wire::VARINT);
        wire::put_varint(out, u64::from(self.version));
    }
}

/// Builds a tile (spec 4.1): a list of uniquely named layers.
///
/// Layers are written in the order they were first added. Layers without features are left
/// out of the bytes (spec 4.1: a layer should contain at least one feature), so a tile whose
/// layers are all empty encodes to zero bytes.
#[derive(Debug, Clone, Default)]
pub struct TileBuilder {
    layers: Vec<LayerBuilder>,
}

impl TileBuilder {
    /// An empty tile.
    pub fn new() -> Self {
        Self::default()
    }

    /// The layer named `name`, created (extent 4096, version 2) if the tile has none yet.
    /// Calling it again with the same name returns the same layer, so a tile never gets two
    /// layers of one name (spec 4.1).
    pub fn layer(&mut self, name: &str) -> &mut LayerBuilder {
        match self.layers.iter().position(|l| l.name == name) {
            Some(i) => &mut self.layers[i],
            None => {
                self.layers.push(LayerBuilder::new(name));
                self.layers.last_mut().expect("just pushed")
            }
        }
    }

    /// Adds a layer built on its own, or fails with [`WriteError::DuplicateLayer`] if the
    /// tile already has a layer of that name (spec 4.1).
    pub fn add_layer(&mut self, layer: LayerBuilder) -> Result<&mut LayerBuilder, WriteError> {
        if self.layers.iter().any(|l| l.name == layer.name) {
            return Err(WriteError::DuplicateLayer { name: layer.name });
        }
        self.layers.push(layer);
        Ok(self.layers.last_mut().expect("just pushed"))
    }

    /// The layers, in order, including empty ones.
    pub fn layers(&self) -> &[LayerBuilder] {
        &self.layers
    }

    /// `true` if no layer has a feature, so the tile encodes to zero bytes.
    pub fn is_empty(&self) -> bool {
        self.layers.iter().all(LayerBuilder::is_empty)
    }

    /// Removes all layers.
    pub fn clear(&mut self) {
        self.layers.clear();
    }

    /// The length of the encoded tile in bytes.
    pub fn encoded_len(&self) -> usize {
        self.written_layers()
            .map(|l| wire::len_field_len(3, l.body_len()))
            .sum()
    }

    /// Appends the encoded tile to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for layer in self.written_layers() {
            // spec 4.1: `repeated Layer layers = 3`.
            wire::put_key(out, 3, wire::LEN);
            wire::put_varint(out, layer.body_len() as u64);
            layer.encode_body(out);
        }
    }

    /// The encoded tile.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// The encoded tile, consuming the builder.
    pub fn into_bytes(self) -> Vec<u8> {
        self.to_bytes()
    }

    /// The tile as the prost model (the layers that [`to_bytes`](Self::to_bytes) writes).
    pub fn to_model(&self) -> model::Tile {
        model::Tile {
            layers: self.written_layers().map(LayerBuilder::to_model).collect(),
        }
    }

    fn written_layers(&self) -> impl Iterator<Item = &LayerBuilder> {
        self.layers.iter().filter(|l| !l.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{
        Line, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Rect, Triangle, coord,
        line_string, point, polygon,
    };

    /// One part of a decoded geometry: its vertices and whether a ClosePath ended it.
    type Part = (Vec<(i32, i32)>, bool);

    /// A tiny test-only decoder: each MoveTo point starts a part, LineTo extends it,
    /// ClosePath marks it closed.
    fn decode(commands: &[u32]) -> Vec<Part> {
        let mut parts: Vec<Part> = Vec::new();
        let (mut x, mut y) = (0i32, 0i32);
        let mut i = 0;
        while i < commands.len() {
            let (id, count) = (commands[i] & 7, commands[i] >> 3);
            i += 1;
            if id == CLOSE_PATH {
                parts.last_mut().unwrap().1 = true;
                continue;
            }
            for _ in 0..count {
                x = x.wrapping_add(zigzag32(commands[i]));
                y = y.wrapping_add(zigzag32(commands[i + 1]));
                i += 2;
                if id == MOVE_TO {
                    parts.push((vec![(x, y)], false));
                } else {
                    parts.last_mut().unwrap().0.push((x, y));
                }
            }
        }
        parts
    }

    fn decode_tile(bytes: &[u8]) -> model::Tile {
        model::Tile::decode(bytes).expect("the writer's bytes decode with prost")
    }

    /// Writes one feature in a fresh tile and returns it as prost decodes it.
    fn write_one(geometry: impl Into<Geometry<i32>>) -> model::Feature {
        let mut tile = TileBuilder::new();
        tile.layer("l")
            .add_feature(None, &geometry.into(), [])
            .unwrap();
        let mut decoded = decode_tile(&tile.to_bytes());
        decoded.layers.remove(0).features.remove(0)
    }

    fn geometry_of(geometry: impl Into<Geometry<i32>>) -> Vec<u32> {
        write_one(geometry).geometry
    }

    fn encode_err(geometry: impl Into<Geometry<i32>>) -> WriteError {
        GeometryEncoder::new()
            .encode_geometry(&geometry.into())
            .unwrap_err()
    }

    fn spec_multipolygon() -> MultiPolygon<i32> {
        MultiPolygon(vec![
            polygon![(x: 0, y: 0), (x: 10, y: 0), (x: 10, y: 10), (x: 0, y: 10), (x: 0, y: 0)],
            polygon!(
                exterior: [(x: 11, y: 11), (x: 20, y: 11), (x: 20, y: 20), (x: 11, y: 20), (x: 11, y: 11)],
                interiors: [[(x: 13, y: 13), (x: 13, y: 17), (x: 17, y: 17), (x: 17, y: 13), (x: 13, y: 13)]],
            ),
        ])
    }

    const SPEC_MULTIPOLYGON: [u32; 33] = [
        9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15, 9, 4, 13, 26,
        0, 8, 8, 0, 0, 7, 15,
    ];

    #[test]
    fn zigzag_matches_the_spec() {
        // spec 4.3.2: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3 ...
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(-2), 3);
        assert_eq!(zigzag(i32::MAX), u32::MAX - 1);
        assert_eq!(zigzag(i32::MIN), u32::MAX);
        for d in [0, 1, -1, 12345, -98765, i32::MAX, i32::MIN] {
            assert_eq!(zigzag32(zigzag(d)), d);
        }
        assert_eq!(command(MOVE_TO, 1), 9);
        assert_eq!(command(LINE_TO, 3), 26);
        assert_eq!(command(CLOSE_PATH, 1), 15);
    }

    // spec 4.3.5: the worked examples.

    #[test]
    fn spec_point() {
        let f = write_one(point!(x: 25, y: 17));
        assert_eq!(f.geometry, [9, 50, 34]);
        assert_eq!(f.r#type(), model::GeomType::Point);
    }

    #[test]
    fn spec_multipoint() {
        let f = write_one(MultiPoint::from(vec![(5, 7), (3, 2)]));
        assert_eq!(f.geometry, [17, 10, 14, 3, 9]);
        assert_eq!(f.r#type(), model::GeomType::Point);
    }

    #[test]
    fn spec_linestring() {
        let f = write_one(line_string![(x: 2, y: 2), (x: 2, y: 10), (x: 10, y: 10)]);
        assert_eq!(f.geometry, [9, 4, 4, 18, 0, 16, 16, 0]);
        assert_eq!(f.r#type(), model::GeomType::Linestring);
    }

    #[test]
    fn spec_multilinestring() {
        let mls = MultiLineString(vec![
            line_string![(x: 2, y: 2), (x: 2, y: 10), (x: 10, y: 10)],
            line_string![(x: 1, y: 1), (x: 3, y: 5)],
        ]);
        assert_eq!(
            geometry_of(mls),
            [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]
        );
    }

    #[test]
    fn spec_polygon() {
        let f = write_one(polygon![(x: 3, y: 6), (x: 8, y: 12), (x: 20, y: 34), (x: 3, y: 6)]);
        assert_eq!(f.geometry, [9, 6, 12, 18, 10, 12, 24, 44, 15]);
        assert_eq!(f.r#type(), model::GeomType::Polygon);
    }

    #[test]
    fn spec_multipolygon_example() {
        assert_eq!(geometry_of(spec_multipolygon()), SPEC_MULTIPOLYGON);
    }

    #[test]
    fn spec_examples_through_the_sink() {
        let mut enc = GeometryEncoder::new();
        enc.move_to(5, 7);
        enc.move_to(3, 2);
        assert_eq!(enc.commands(), [17, 10, 14, 3, 9]);

        enc.clear();
        for (x, y) in [(2, 2), (2, 10), (10, 10)] {
            if (x, y) == (2, 2) {
                enc.move_to(x, y);
            } else {
                enc.line_to(x, y);
            }
        }
        enc.move_to(1, 1);
        enc.line_to(3, 5);
        assert_eq!(
            enc.commands(),
            [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]
        );

        // A closed ring as geo-types has it: the LineTo back to the start is taken back.
        enc.clear();
        enc.move_to(3, 6);
        enc.line_to(8, 12);
        enc.line_to(20, 34);
        enc.line_to(3, 6);
        enc.close_path();
        assert_eq!(enc.commands(), [9, 6, 12, 18, 10, 12, 24, 44, 15]);

        // The multipolygon, fed ring by ring with and without closing vertices.
        enc.clear();
        for (i, ring) in [
            &[(0, 0), (10, 0), (10, 10), (0, 10)][..],
            &[(11, 11), (20, 11), (20, 20), (11, 20), (11, 11)][..],
            &[(13, 13), (13, 17), (17, 17), (17, 13)][..],
        ]
        .into_iter()
        .enumerate()
        {
            enc.move_to(ring[0].0, ring[0].1);
            for &(x, y) in &ring[1..] {
                enc.line_to(x, y);
                if i == 2 {
                    enc.line_to(x, y); // duplicates are dropped
                }
            }
            enc.close_path();
        }
        assert_eq!(enc.commands(), SPEC_MULTIPOLYGON);

        let mut tile = TileBuilder::new();
        tile.layer("l")
            .add_feature_encoded(Some(1), GeomType::Polygon, &enc, [])
            .unwrap();
        let decoded = decode_tile(&tile.to_bytes());
        assert_eq!(decoded.layers[0].features[0].geometry, SPEC_MULTIPOLYGON);
    }

    #[test]
    fn encoder_reuse_keeps_its_buffer() {
        let mut enc = GeometryEncoder::new();
        enc.encode_geometry(&spec_multipolygon().into()).unwrap();
        let capacity = enc.stream.commands.capacity();
        enc.clear();
        assert!(enc.is_empty());
        assert_eq!(enc.stream.commands.capacity(), capacity);
        // The cursor restarts at (0, 0).
        enc.move_to(25, 17);
        assert_eq!(enc.commands(), [9, 50, 34]);
    }

    #[test]
    fn consecutive_duplicates_are_dropped() {
        let ls = line_string![
            (x: 2, y: 2), (x: 2, y: 2), (x: 2, y: 10), (x: 10, y: 10), (x: 10, y: 10)
        ];
        assert_eq!(geometry_of(ls), [9, 4, 4, 18, 0, 16, 16, 0]);
        let p = polygon![
            (x: 3, y: 6), (x: 8, y: 12), (x: 8, y: 12), (x: 20, y: 34), (x: 3, y: 6), (x: 3, y: 6)
        ];
        assert_eq!(geometry_of(p), [9, 6, 12, 18, 10, 12, 24, 44, 15]);
        // Repeated points of a multipoint are kept (MoveTo may have zero deltas).
        let mp = MultiPoint::from(vec![(5, 7), (5, 7)]);
        assert_eq!(geometry_of(mp), [17, 10, 14, 0, 0]);
    }

    #[test]
    fn counter_clockwise_exterior_is_reversed() {
        // (0,0) (0,10) (10,10) (10,0) has negative area in tile coordinates (y down).
        let ccw = polygon![(x: 0, y: 0), (x: 0, y: 10), (x: 10, y: 10), (x: 10, y: 0)];
        assert!(twice_signed_area(&ccw.exterior().0[..4]) < 0);
        // Written from the same first vertex the other way round: (0,0) (10,0) (10,10) (0,10).
        assert_eq!(geometry_of(ccw), [9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15]);
    }

    #[test]
    fn interior_rings_get_negative_area() {
        // The spec's second polygon with its hole wound the wrong way (positive area).
        let p = polygon!(
            exterior: [(x: 11, y: 11), (x: 20, y: 11), (x: 20, y: 20), (x: 11, y: 20)],
            interiors: [[(x: 13, y: 13), (x: 17, y: 13), (x: 17, y: 17), (x: 13, y: 17)]],
        );
        let parts = decode(&geometry_of(p));
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].0, [(13, 13), (13, 17), (17, 17), (17, 13)]);
        let ring: Vec<Coord<i32>> = parts[1]
            .0
            .iter()
            .map(|&(x, y)| coord! {x: x, y: y})
            .collect();
        assert!(twice_signed_area(&ring) < 0);
    }

    #[test]
    fn line_rect_and_triangle_convert() {
        assert_eq!(
            geometry_of(Line::new(coord! {x: 2, y: 2}, coord! {x: 2, y: 10})),
            [9, 4, 4, 10, 0, 16]
        );
        let rect = Rect::new(coord! {x: 0, y: 0}, coord! {x: 10, y: 10});
        assert_eq!(geometry_of(rect), [9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15]);
        let tri = Triangle::new(
            coord! {x: 3, y: 6},
            coord! {x: 20, y: 34},
            coord! {x: 8, y: 12},
        );
        let f = write_one(tri);
        assert_eq!(f.r#type(), model::GeomType::Polygon);
        assert_eq!(validate_commands(GeomType::Polygon, &f.geometry), Ok(()));
        // geo-types may rotate a triangle's vertices; the ring is the spec polygon's.
        let mut parts = decode(&f.geometry);
        assert_eq!(parts.len(), 1);
        assert!(parts[0].1);
        parts[0].0.sort();
        assert_eq!(parts[0].0, [(3, 6), (8, 12), (20, 34)]);
    }

    #[test]
    fn geometry_errors() {
        assert_eq!(
            encode_err(MultiPoint::<i32>(vec![])),
            WriteError::EmptyGeometry { kind: "MultiPoint" }
        );
        assert_eq!(
            encode_err(LineString::<i32>(vec![])),
            WriteError::EmptyGeometry { kind: "LineString" }
        );
        assert_eq!(
            encode_err(MultiPolygon::<i32>(vec![])),
            WriteError::EmptyGeometry {
                kind: "MultiPolygon"
            }
        );
        assert_eq!(
            encode_err(Polygon::<i32>::new(LineString(vec![]), vec![])),
            WriteError::EmptyGeometry { kind: "Polygon" }
        );
        assert_eq!(
            encode_err(Geometry::GeometryCollection(geo_types::GeometryCollection(
                vec![point!(x: 1, y: 1).into()]
            ))),
            WriteError::GeometryCollection
        );
        assert_eq!(
            encode_err(line_string![(x: 1, y: 1), (x: 1, y: 1)]),
            WriteError::ShortLine {
                line: 0,
                distinct: 1
            }
        );
        let mls = MultiLineString(vec![
            line_string![(x: 1, y: 1), (x: 2, y: 2)],
            line_string![(x: 1, y: 1), (x: 2, y: 2)],
            line_string![(x: 5, y: 5)],
        ]);
        assert_eq!(
            encode_err(mls),
            WriteError::ShortLine {
                line: 2,
                distinct: 1
            }
        );
        let hole_too_small = polygon!(
            exterior: [(x: 0, y: 0), (x: 10, y: 0), (x: 10, y: 10), (x: 0, y: 10)],
            interiors: [
                [(x: 1, y: 1), (x: 2, y: 1), (x: 2, y: 2)],
                [(x: 5, y: 5), (x: 6, y: 6), (x: 6, y: 6), (x: 5, y: 5)],
            ],
        );
        let err = encode_err(hole_too_small);
        assert_eq!(
            err,
            WriteError::ShortRing {
                polygon: 0,
                ring: 2,
                distinct: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "polygon 0 ring 2 has 2 distinct vertices; a ring needs at least 3 (spec 4.3.4.4)"
        );
        let flat = polygon![(x: 0, y: 0), (x: 5, y: 0), (x: 10, y: 0)];
        assert_eq!(
            encode_err(MultiPolygon(vec![spec_multipolygon().0[0].clone(), flat])),
            WriteError::ZeroAreaRing {
                polygon: 1,
                ring: 0
            }
        );
        assert_eq!(
            encode_err(Rect::new(coord! {x: 0, y: 0}, coord! {x: 0, y: 10})),
            WriteError::ShortRing {
                polygon: 0,
                ring: 0,
                distinct: 2
            }
        );

        // A failed feature leaves the layer and the encoder empty.
        let mut layer = LayerBuilder::new("l");
        let err = layer.add_feature(
            Some(1),
            &line_string![(x: 1, y: 1)].into(),
            [("k", Value::Int(1))],
        );
        assert!(matches!(err, Err(WriteError::ShortLine { .. })));
        assert!(layer.is_empty());
        assert_eq!(layer.key_count(), 0);
        assert_eq!(layer.value_count(), 0);
    }

    #[test]
    fn validate_rejects_bad_streams() {
        let bad = |t: GeomType, c: &[u32]| match validate_commands(t, c) {
            Err(WriteError::InvalidCommands { offset, .. }) => offset,
            other => panic!("{t} {c:?}: expected an error, got {other:?}"),
        };
        // LineTo with a zero delta (spec 4.3.3.2).
        assert_eq!(bad(GeomType::LineString, &[9, 4, 4, 18, 0, 0, 16, 0]), 4);
        assert_eq!(bad(GeomType::Unknown, &[9, 4, 4, 10, 0, 0]), 4);
        // A point with a LineTo, two MoveTos, no MoveTo, an empty MoveTo.
        assert_eq!(bad(GeomType::Point, &[9, 2, 2, 10, 2, 2]), 3);
        assert_eq!(bad(GeomType::Point, &[9, 2, 2, 9, 2, 2]), 3);
        assert_eq!(bad(GeomType::Point, &[]), 0);
        assert_eq!(bad(GeomType::Point, &[1]), 0);
        // A linestring part with MoveTo(2), one without a LineTo.
        assert_eq!(bad(GeomType::LineString, &[17, 2, 2, 4, 4, 10, 2, 2]), 0);
        assert_eq!(bad(GeomType::LineString, &[9, 2, 2, 10, 2, 2, 9, 2, 2]), 9);
        // Parameters past the end; unknown command id; ClosePath count 2.
        assert_eq!(bad(GeomType::LineString, &[9, 2, 2, 18, 2, 2]), 3);
        assert_eq!(bad(GeomType::Unknown, &[9, 2, 2, 3]), 3);
        assert_eq!(bad(GeomType::Unknown, &[23]), 0);
        // A polygon with a clockwise-on-paper (negative) first ring.
        assert_eq!(
            bad(GeomType::Polygon, &[9, 0, 0, 26, 0, 20, 20, 0, 0, 19, 15]),
            10
        );
        // A ring whose last vertex repeats the first.
        assert_eq!(
            bad(
                GeomType::Polygon,
                &[9, 6, 12, 26, 10, 12, 24, 44, 33, 55, 15]
            ),
            10
        );
        // A ring with a LineTo(1) (found at its ClosePath: LineTo points may come in several
        // commands); a zero-area ring; a missing ClosePath.
        assert_eq!(bad(GeomType::Polygon, &[9, 0, 0, 10, 20, 0, 15]), 6);
        assert_eq!(bad(GeomType::Polygon, &[9, 0, 0, 18, 20, 0, 20, 0, 15]), 8);
        assert_eq!(bad(GeomType::Polygon, &[9, 6, 12, 18, 10, 12, 24, 44]), 8);

        // The good ones.
        for (t, c) in [
            (GeomType::Point, &[9, 50, 34][..]),
            (GeomType::Point, &[17, 10, 14, 3, 9]),
            (
                GeomType::LineString,
                &[9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8],
            ),
            (GeomType::Polygon, &[9, 6, 12, 18, 10, 12, 24, 44, 15]),
            (GeomType::Polygon, &SPEC_MULTIPOLYGON),
            (GeomType::Unknown, &[15, 15, 9, 2, 2]),
        ] {
            assert_eq!(validate_commands(t, c), Ok(()), "{t} {c:?}");
        }
        // spec 4.2: every feature has a geometry field; an empty one would not be written.
        assert!(validate_commands(GeomType::Unknown, &[]).is_err());

        let mut layer = LayerBuilder::new("l");
        assert!(
            layer
                .add_feature_commands(None, GeomType::Point, &[9, 2, 2, 10, 2, 2], [])
                .is_err()
        );
        assert!(layer.is_empty());
    }

    #[test]
    fn sink_stream_with_a_degenerate_part_fails_validation() {
        let mut enc = GeometryEncoder::new();
        enc.move_to(1, 1);
        enc.line_to(1, 1); // dropped: the part has no LineTo left
        enc.move_to(5, 5);
        enc.line_to(6, 6);
        assert_eq!(enc.commands(), [17, 2, 2, 8, 8, 10, 2, 2]);
        assert!(enc.validate(GeomType::LineString).is_err());
    }

    #[test]
    fn keys_and_values_are_deduplicated() {
        let mut tile = TileBuilder::new();
        let layer = tile.layer("roads");
        let point = point!(x: 1, y: 1).into();
        layer
            .add_feature(
                Some(1),
                &point,
                [
                    ("class", Value::String("primary")),
                    ("lanes", Value::Int(5)),
                ],
            )
            .unwrap();
        layer
            .add_feature(
                Some(2),
                &point,
                [
                    ("lanes", Value::Int(5)),
                    ("class", Value::String("primary")),
                ],
            )
            .unwrap();
        layer
            .add_feature(
                Some(3),
                &point,
                [
                    ("a", Value::UInt(5)),
                    ("b", Value::SInt(5)),
                    ("c", Value::Int(5)),
                    ("d", Value::Double(5.0)),
                    ("e", Value::Float(5.0)),
                    ("f", Value::String("5")),
                ],
            )
            .unwrap();
        assert_eq!(layer.key_count(), 8);
        assert_eq!(layer.value_count(), 7);

        let decoded = decode_tile(&tile.to_bytes());
        let l = &decoded.layers[0];
        assert_eq!(l.keys, ["class", "lanes", "a", "b", "c", "d", "e", "f"]);
        assert_eq!(l.features[0].tags, [0, 0, 1, 1]);
        assert_eq!(l.features[1].tags, [1, 1, 0, 0]);
        assert_eq!(l.features[2].tags, [2, 2, 3, 3, 4, 1, 5, 4, 6, 5, 7, 6]);
        let values: Vec<_> = l.values.iter().map(|v| v.to_value().unwrap()).collect();
        assert_eq!(
            values,
            [
                Value::String("primary"),
                Value::Int(5),
                Value::UInt(5),
                Value::SInt(5),
                Value::Double(5.0),
                Value::Float(5.0),
                Value::String("5"),
            ]
        );
        assert_eq!(
            l.features.iter().map(|f| f.id).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
    }

    #[test]
    fn floats_are_keyed_by_bits() {
        let mut layer = LayerBuilder::new("l");
        let point = point!(x: 1, y: 1).into();
        let props = [
            ("a", Value::Double(0.0)),
            ("b", Value::Double(-0.0)),
            ("c", Value::Double(f64::NAN)),
            ("d", Value::Float(f32::NAN)),
            ("e", Value::Float(-0.0)),
        ];
        layer.add_feature(None, &point, props).unwrap();
        layer.add_feature(None, &point, props).unwrap();
        assert_eq!(layer.value_count(), 5);
        let model = layer.to_model();
        assert_eq!(model.features[1].tags, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        assert_eq!(
            model.values[1].double_value.unwrap().to_bits(),
            (-0.0f64).to_bits()
        );
        assert!(model.values[2].double_value.unwrap().is_nan());
    }

    #[test]
    fn a_repeated_key_fails_and_leaves_the_tables() {
        let mut layer = LayerBuilder::new("l");
        let point = point!(x: 1, y: 1).into();
        layer
            .add_feature(None, &point, [("a", Value::Int(1))])
            .unwrap();
        let err = layer
            .add_feature(
                None,
                &point,
                [
                    ("new", Value::String("x")),
                    ("a", Value::Int(1)),
                    ("b", Value::Bool(true)),
                    ("a", Value::Int(2)),
                ],
            )
            .unwrap_err();
        assert_eq!(
            err,
            WriteError::DuplicateKey {
                key: "a".to_owned()
            }
        );
        assert_eq!(layer.len(), 1);
        assert_eq!(layer.key_count(), 1);
        assert_eq!(layer.value_count(), 1);
        // The next feature is unaffected: "a" is usable again, new entries start after it.
        layer
            .add_feature(
                None,
                &point,
                [("a", Value::Int(1)), ("b", Value::Bool(true))],
            )
            .unwrap();
        let model = layer.to_model();
        assert_eq!(model.keys, ["a", "b"]);
        assert_eq!(model.values.len(), 2);
        assert_eq!(model.features[1].tags, [0, 0, 1, 1]);
    }

    #[test]
    fn layers_are_unique_by_name() {
        let mut tile = TileBuilder::new();
        assert!(tile.is_empty());
        tile.layer("a").set_extent(512);
        let point: Geometry<i32> = point!(x: 1, y: 1).into();
        tile.layer("a").add_feature(None, &point, []).unwrap();
        assert_eq!(tile.layers().len(), 1);
        assert_eq!(tile.layers()[0].len(), 1);
        let err = tile.add_layer(LayerBuilder::new("a")).unwrap_err();
        assert_eq!(
            err,
            WriteError::DuplicateLayer {
                name: "a".to_owned()
            }
        );
        let b = tile
            .add_layer(LayerBuilder::new("b").extent(256).version(1))
            .unwrap();
        b.add_feature(None, &point, []).unwrap();
        tile.layer("empty");
        assert!(!tile.is_empty());

        let decoded = decode_tile(&tile.to_bytes());
        // The empty layer is left out.
        assert_eq!(decoded.layers.len(), 2);
        assert_eq!(decoded.layers[0].name, "a");
        assert_eq!(decoded.layers[0].extent, Some(512));
        assert_eq!(decoded.layers[0].version, 2);
        assert_eq!(decoded.layers[1].name, "b");
        assert_eq!(decoded.layers[1].extent, Some(256));
        assert_eq!(decoded.layers[1].version, 1);
        assert_eq!(tile.to_model(), decoded);

        let mut empty = TileBuilder::new();
        empty.layer("x");
        assert!(empty.is_empty());
        assert!(empty.to_bytes().is_empty());
    }

    #[test]
    fn bytes_equal_prosts_encoding_of_the_same_model() {
        let mut tile = TileBuilder::new();
        let layer = tile.layer("mixed");
        layer
            .add_feature(
                Some(300),
                &point!(x: -3, y: 4100).into(),
                [
                    ("name", Value::String("héllo")),
                    ("n", Value::Int(-1)),
                    ("big", Value::UInt(u64::MAX)),
                    ("s", Value::SInt(-300)),
                    ("f", Value::Float(1.5)),
                    ("d", Value::Double(-2.25)),
                    ("ok", Value::Bool(false)),
                ],
            )
            .unwrap();
        layer
            .add_feature(None, &spec_multipolygon().into(), [("n", Value::Int(-1))])
            .unwrap();
        layer
            .add_feature_commands(Some(0), GeomType::Unknown, &[15], [])
            .unwrap();
        tile.layer("second")
            .add_feature(
                Some(7),
                &line_string![(x: 2, y: 2), (x: 2, y: 10)].into(),
                [],
            )
            .unwrap();

        let value = |v: Value<'_>| model::Value::from(v);
        let expected = model::Tile {
            layers: vec![
                model::Layer {
                    version: 2,
                    name: "mixed".to_owned(),
                    features: vec![
                        model::Feature {
                            id: Some(300),
                            tags: vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
                            r#type: Some(model::GeomType::Point as i32),
                            geometry: vec![9, 5, 8200],
                        },
                        model::Feature {
                            id: None,
                            tags: vec![1, 1],
                            r#type: Some(model::GeomType::Polygon as i32),
                            geometry: SPEC_MULTIPOLYGON.to_vec(),
                        },
                        model::Feature {
                            id: Some(0),
                            tags: vec![],
                            r#type: Some(model::GeomType::Unknown as i32),
                            geometry: vec![15],
                        },
                    ],
                    keys: ["name", "n", "big", "s", "f", "d", "ok"]
                        .map(str::to_owned)
                        .to_vec(),
                    values: vec![
                        value(Value::String("héllo")),
                        value(Value::Int(-1)),
                        value(Value::UInt(u64::MAX)),
                        value(Value::SInt(-300)),
                        value(Value::Float(1.5)),
                        value(Value::Double(-2.25)),
                        value(Value::Bool(false)),
                    ],
                    extent: Some(4096),
                },
                model::Layer {
                    version: 2,
                    name: "second".to_owned(),
                    features: vec![model::Feature {
                        id: Some(7),
                        tags: vec![],
                        r#type: Some(model::GeomType::Linestring as i32),
                        geometry: vec![9, 4, 4, 10, 0, 16],
                    }],
                    keys: vec![],
                    values: vec![],
                    extent: Some(4096),
                },
            ],
        };
        let bytes = tile.to_bytes();
        assert_eq!(bytes, expected.encode_to_vec());
        assert_eq!(bytes.len(), tile.encoded_len());
        assert_eq!(decode_tile(&bytes), expected);
        assert_eq!(tile.to_model(), expected);
        assert_eq!(tile.clone().into_bytes(), bytes);
        let mut appended = vec![0xff];
        tile.encode_into(&mut appended);
        assert_eq!(appended[1..], bytes[..]);
    }

    #[test]
    fn wire_helpers() {
        for v in [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            wire::put_varint(&mut out, v);
            assert_eq!(out.len(), wire::varint_len(v), "{v}");
        }
        for v in [
            Value::String(""),
            Value::String("abc"),
            Value::Float(f32::NAN),
            Value::Double(-0.0),
            Value::Int(i64::MIN),
            Value::Int(3),
            Value::UInt(0),
            Value::SInt(i64::MAX),
            Value::Bool(true),
        ] {
            let mut ours = Vec::new();
            put_value(&mut ours, v);
            // Field 4, length-delimited, then prost's encoding of the message.
            let body = model::Value::from(v).encode_to_vec();
            let mut expected = vec![0x22];
            wire::put_varint(&mut expected, body.len() as u64);
            expected.extend_from_slice(&body);
            assert_eq!(ours, expected, "{v:?}");
        }
    }

    #[test]
    fn extreme_coordinates_wrap_exactly() {
        let ls = line_string![(x: i32::MIN, y: i32::MAX), (x: i32::MAX, y: i32::MIN), (x: 0, y: 0)];
        let parts = decode(&geometry_of(ls));
        assert_eq!(
            parts,
            [(
                vec![(i32::MIN, i32::MAX), (i32::MAX, i32::MIN), (0, 0)],
                false
            )]
        );
        let big = polygon![
            (x: i32::MIN, y: i32::MIN), (x: i32::MAX, y: i32::MIN),
            (x: i32::MAX, y: i32::MAX), (x: i32::MIN, y: i32::MAX)
        ];
        let f = geometry_of(big);
        assert_eq!(validate_commands(GeomType::Polygon, &f), Ok(()));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        fn coordinate() -> impl Strategy<Value = i32> {
            prop_oneof![4 => -40i32..40, 1 => any::<i32>()]
        }

        fn coords(max: usize) -> impl Strategy<Value = Vec<Coord<i32>>> {
            prop::collection::vec(
                (coordinate(), coordinate()).prop_map(|(x, y)| coord! {x: x, y: y}),
                0..max,
            )
        }

        fn polygon_strategy() -> impl Strategy<Value = Polygon<i32>> {
            (coords(8), prop::collection::vec(coords(6), 0..3)).prop_map(|(ext, ints)| {
                Polygon::new(LineString(ext), ints.into_iter().map(LineString).collect())
            })
        }

        fn geometry() -> impl Strategy<Value = Geometry<i32>> {
            prop_oneof![
                (coordinate(), coordinate()).prop_map(|(x, y)| Point::new(x, y).into()),
                coords(6).prop_map(|c| MultiPoint(c.into_iter().map(Point).collect()).into()),
                coords(8).prop_map(|c| LineString(c).into()),
                prop::collection::vec(coords(6), 0..4)
                    .prop_map(
                        |ls| MultiLineString(ls.into_iter().map(LineString).collect()).into()
                    ),
                polygon_strategy().prop_map(Geometry::from),
                prop::collection::vec(polygon_strategy(), 0..3)
                    .prop_map(|p| MultiPolygon(p).into()),
            ]
        }

        fn distinct(c: &[Coord<i32>]) -> Vec<(i32, i32)> {
            let mut v: Vec<(i32, i32)> = c.iter().map(|c| (c.x, c.y)).collect();
            v.dedup();
            v
        }

        /// The documented normalisation, written plainly: `None` if an error is expected.
        fn expected_ring(c: &[Coord<i32>], exterior: bool) -> Option<Part> {
            let mut v = distinct(c);
            if v.len() > 1 && v.first() == v.last() {
                v.pop();
            }
            if v.len() < 3 {
                return None;
            }
            let mut area: i128 = 0;
            for i in 0..v.len() {
                let (a, b) = (v[i], v[(i + 1) % v.len()]);
                area += i128::from(a.0) * i128::from(b.1) - i128::from(b.0) * i128::from(a.1);
            }
            if area == 0 {
                return None;
            }
            if exterior != (area > 0) {
                v[1..].reverse();
            }
            Some((v, true))
        }

        fn expected_polygon(p: &Polygon<i32>, out: &mut Vec<Part>) -> Option<()> {
            out.push(expected_ring(&p.exterior().0, true)?);
            for r in p.interiors() {
                out.push(expected_ring(&r.0, false)?);
            }
            Some(())
        }

        fn expected_line(c: &[Coord<i32>], out: &mut Vec<Part>) -> Option<()> {
            let v = distinct(c);
            if v.len() < 2 {
                return None;
            }
            out.push((v, false));
            Some(())
        }

        fn expected(g: &Geometry<i32>) -> Option<(GeomType, Vec<Part>)> {
            let mut out = Vec::new();
            let t = match g {
                Geometry::Point(p) => {
                    out.push((vec![(p.x(), p.y())], false));
                    GeomType::Point
                }
                Geometry::MultiPoint(mp) => {
                    if mp.0.is_empty() {
                        return None;
                    }
                    out.extend(mp.0.iter().map(|p| (vec![(p.x(), p.y())], false)));
                    GeomType::Point
                }
                Geometry::LineString(ls) => {
                    expected_line(&ls.0, &mut out)?;
                    GeomType::LineString
                }
                Geometry::MultiLineString(mls) => {
                    if mls.0.is_empty() {
                        return None;
                    }
                    for ls in &mls.0 {
                        expected_line(&ls.0, &mut out)?;
                    }
                    GeomType::LineString
                }
                Geometry::Polygon(p) => {
                    expected_polygon(p, &mut out)?;
                    GeomType::Polygon
                }
                Geometry::MultiPolygon(mp) => {
                    if mp.0.is_empty() {
                        return None;
                    }
                    for p in &mp.0 {
                        expected_polygon(p, &mut out)?;
                    }
                    GeomType::Polygon
                }
                _ => unreachable!("not generated"),
            };
            Some((t, out))
        }

        fn value() -> impl Strategy<Value = Value<'static>> {
            prop_oneof![
                prop::sample::select(vec!["", "a", "b", "héllo"]).prop_map(Value::String),
                prop::sample::select(vec![0.0f32, -0.0, 1.5, f32::NAN]).prop_map(Value::Float),
                prop::sample::select(vec![0.0f64, -0.0, 1.5, f64::NAN]).prop_map(Value::Double),
                (-3i64..3).prop_map(Value::Int),
                (0u64..3).prop_map(Value::UInt),
                (-3i64..3).prop_map(Value::SInt),
                any::<bool>().prop_map(Value::Bool),
            ]
        }

        /// Values compared by variant and bits (NaN equals itself).
        fn same(a: Value<'_>, b: Value<'_>) -> bool {
            match (a, b) {
                (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
                (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
                _ => a == b,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn geometry_round_trips(g in geometry(), id in proptest::option::of(any::<u64>())) {
                let mut tile = TileBuilder::new();
                let result = tile.layer("l").add_feature(id, &g, []);
                match expected(&g) {
                    None => {
                        prop_assert!(result.is_err(), "{g:?} should fail");
                        prop_assert!(tile.to_bytes().is_empty());
                    }
                    Some((t, parts)) => {
                        prop_assert_eq!(&result, &Ok(()), "{:?}", g);
                        let decoded = decode_tile(&tile.to_bytes());
                        let f = &decoded.layers[0].features[0];
                        prop_assert_eq!(f.id, id);
                        prop_assert_eq!(
                            crate::geom_type::GeomType::from(f.r#type()),
                            t
                        );
                        prop_assert_eq!(validate_commands(t, &f.geometry), Ok(()));
                        prop_assert_eq!(decode(&f.geometry), parts);

                        // Feeding the decoded geometry back through the sink gives the same
                        // stream.
                        let mut enc = GeometryEncoder::new();
                        for (vertices, closed) in decode(&f.geometry) {
                            enc.move_to(vertices[0].0, vertices[0].1);
                            for &(x, y) in &vertices[1..] {
                                enc.line_to(x, y);
                            }
                            if closed {
                                enc.line_to(vertices[0].0, vertices[0].1);
                                enc.close_path();
                            }
                        }
                        prop_assert_eq!(enc.commands(), &f.geometry[..]);
                    }
                }
            }

            #[test]
            fn properties_round_trip(
                features in prop::collection::vec(
                    prop::collection::vec(
                        (prop::sample::select(vec!["a", "b", "c", "d", "é"]), value()),
                        0..6,
                    ),
                    1..5,
                )
            ) {
                let mut layer = LayerBuilder::new("l");
                let point: Geometry<i32> = Point::new(1, 2).into();
                let mut written = Vec::new();
                for props in &features {
                    let mut seen = BTreeMap::new();
                    let repeated = props.iter().any(|(k, _)| seen.insert(*k, ()).is_some());
                    let result = layer.add_feature(None, &point, props.iter().copied());
                    if repeated {
                        let is_duplicate = matches!(result, Err(WriteError::DuplicateKey { .. }));
                        prop_assert!(is_duplicate);
                    } else {
                        prop_assert_eq!(result, Ok(()));
                        written.push(props.clone());
                    }
                }
                let mut tile = TileBuilder::new();
                tile.add_layer(layer).unwrap();
                let bytes = tile.to_bytes();
                prop_assert_eq!(bytes.len(), tile.encoded_len());
                let decoded = decode_tile(&bytes);
                if written.is_empty() {
                    prop_assert!(decoded.layers.is_empty());
                    return Ok(());
                }
                prop_assert_eq!(&decoded.encode_to_vec(), &bytes);
                let l = &decoded.layers[0];
                prop_assert_eq!(l.features.len(), written.len());
                // The tables hold each key and value once, and only used ones.
                let mut keys = l.keys.clone();
                keys.sort();
                keys.dedup();
                prop_assert_eq!(keys.len(), l.keys.len());
                let values: Vec<Value<'_>> =
                    l.values.iter().map(|v| v.to_value().unwrap()).collect();
                for (i, a) in values.iter().enumerate() {
                    for b in &values[i + 1..] {
                        prop_assert!(!same(*a, *b), "{a:?} twice");
                    }
                }
                let used: std::collections::BTreeSet<u32> = l
                    .features
                    .iter()
                    .flat_map(|f| f.tags.chunks(2).map(|t| t[1]))
                    .collect();
                prop_assert_eq!(used.len(), values.len());
                for (f, props) in l.features.iter().zip(&written) {
                    prop_assert_eq!(f.tags.len(), props.len() * 2);
                    for (tag, (k, v)) in f.tags.chunks(2).zip(props) {
                        prop_assert_eq!(&l.keys[tag[0] as usize], k);
                        prop_assert!(same(values[tag[1] as usize], *v));
                    }
                }
            }
        }
    }
}
