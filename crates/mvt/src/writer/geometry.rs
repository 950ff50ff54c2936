//! The geometry encoder (spec 4.3): a command stream from absolute coordinates, geo-types
//! geometries normalised to what spec 4.3.4 requires, and the check of a finished stream.

use std::cell::Cell;

use geo_types::{Coord, Geometry, Polygon};

use super::WriteError;
use super::wire::zigzag;
use crate::command::{CLOSE_PATH, COUNT_ONE, LINE_TO, MAX_COUNT, MOVE_TO, command, unpack};
use crate::error::ErrorKind;
use crate::geom_type::{GeomType, GeometrySink};
use crate::geometry::{SliceInts, decode_commands};
use crate::pbf::zigzag32;
use crate::ring::{RingArea, area2};

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
        area: RingArea::default(),
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
    area: RingArea,
    rings: usize,
    problem: Option<(usize, &'static str)>,
}

impl GeometrySink for RingCheck<'_> {
    fn move_to(&mut self, x: i32, y: i32) {
        self.area = RingArea::start(x, y);
    }

    fn line_to(&mut self, x: i32, y: i32) {
        self.area.push(x, y);
    }

    fn close_path(&mut self) {
        let area = self.area.close();
        let problem = if self.area.ends_at_start() {
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
        if self.open == id && unpack(self.commands[self.header]).1 < MAX_COUNT {
            self.commands[self.header] += COUNT_ONE;
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
            self.commands[self.header] -= COUNT_ONE;
            if unpack(self.commands[self.header]).1 == 0 {
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
/// [`LayerBuilder::add_feature_encoded`](crate::LayerBuilder::add_feature_encoded) does that with [`validate_commands`]. Note that
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
        let area = area2(&self.vertices);
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

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

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
        assert!(area2(&ccw.exterior().0[..4]) < 0);
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
        assert!(area2(&ring) < 0);
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
}
