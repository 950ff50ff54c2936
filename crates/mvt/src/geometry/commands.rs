//! The command grammar (spec 4.3.3, 4.3.4): the state machine that checks each command against
//! the rules of a geometry type and feeds a [`GeometrySink`], the [`Commands`] iterator, and
//! the raw [`GeometryInts`].

use crate::command::{CLOSE_PATH, LINE_TO, MOVE_TO, unpack};
use crate::error::{Error, ErrorKind, Result};
use crate::feature::Feature;
use crate::geom_type::{GeomType, GeometrySink};
use crate::pbf::zigzag32;
use crate::ring::{RingArea, RingClassifier};

use super::ints::{ByteInts, IntSource, check_count, read_u32};

/// One decoded drawing command with absolute tile coordinates (spec 4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Start a new part at the point.
    MoveTo(i32, i32),
    /// Draw to the point.
    LineTo(i32, i32),
    /// Close the current ring.
    ClosePath,
}
/// Decodes a command stream into `sink`, checking every rule of `geom_type` (spec 4.3.3,
/// 4.3.4) as it goes: the one grammar the reader reads with and the writer checks with.
/// `version` is the layer's: version 1 lets lines close with ClosePath (count 0 or 1).
#[inline(always)]
pub(crate) fn decode_commands<I: IntSource, S: GeometrySink>(
    ints: &mut I,
    geom_type: GeomType,
    version: u32,
    sink: &mut S,
) -> std::result::Result<(), ErrorKind> {
    let rule = rule_of(geom_type);
    let lines_may_close = version == 1;
    let (mut x, mut y) = (0i32, 0i32);
    // The current ring's area and the rings' classification, kept only for a sink that asks
    // for ring types: `S::WANTS_RING_TYPES` is a constant, so for the others this code is gone.
    let mut area = RingArea::default();
    let mut classes = RingClassifier::new(version);
    let mut state = State::Start;
    // LineTo points in the current part (rings need two or more).
    let mut part_points: u32 = 0;
    let unexpected = |command: &'static str, state: State| ErrorKind::UnexpectedCommand {
        command,
        place: state.place(),
        geom_type: geom_type.name(),
        rule,
    };
    let bad_count = |command: &'static str, count: u32| ErrorKind::BadCommandCount {
        command,
        count,
        geom_type: geom_type.name(),
        rule,
    };
    while ints.has_more() {
        let int = ints.next_u32()?;
        let (id, count) = unpack(int);
        match id {
            MOVE_TO => {
                match geom_type {
                    GeomType::Point if state != State::Start => {
                        return Err(unexpected("MoveTo", state));
                    }
                    GeomType::LineString
                        if state == State::AfterMoveTo
                            || (state == State::AfterClosePath && !lines_may_close) =>
                    {
                        return Err(unexpected("MoveTo", state));
                    }
                    GeomType::Polygon
                        if state == State::AfterMoveTo || state == State::AfterLineTo =>
                    {
                        return Err(unexpected("MoveTo", state));
                    }
                    _ => {}
                }
                let single = matches!(geom_type, GeomType::LineString | GeomType::Polygon);
                if count == 0 || (single && count != 1) {
                    return Err(bad_count("MoveTo", count));
                }
                ints.check_count("MoveTo", count)?;
                for _ in 0..count {
                    let (dx, dy) = ints.next_pair()?;
                    // Cursor overflow (mvt-fixtures 049, 050) wraps, as 32-bit integers do.
                    x = x.wrapping_add(dx);
                    y = y.wrapping_add(dy);
                    sink.move_to(x, y);
                    if S::WANTS_RING_TYPES {
                        area = RingArea::start(x, y);
                    }
                }
                state = State::AfterMoveTo;
                part_points = 0;
            }
            LINE_TO => {
                let allowed = match geom_type {
                    GeomType::Point => false,
                    // UNKNOWN has no rules of its own (spec 4.3.4.1): only those of
                    // Commands apply.
                    GeomType::Unknown => true,
                    _ => state == State::AfterMoveTo || state == State::AfterLineTo,
                };
                if !allowed {
                    return Err(unexpected("LineTo", state));
                }
                if count == 0 {
                    return Err(bad_count("LineTo", count));
                }
                ints.check_count("LineTo", count)?;
                let mut left = count;
                let mut line_to = |(dx, dy): (i32, i32)| {
                    // spec 4.3.3.2, a rule of the command, so UNKNOWN too.
                    if dx == 0 && dy == 0 {
                        return Err(ErrorKind::ZeroLengthSegment { x, y });
                    }
                    x = x.wrapping_add(dx);
                    y = y.wrapping_add(dy);
                    sink.line_to(x, y);
                    if S::WANTS_RING_TYPES {
                        area.push(x, y);
                    }
                    Ok(())
                };
                while left > 0 {
                    if left >= 2
                        && let Some([first, second]) = ints.next_two_pairs()
                    {
                        line_to(first)?;
                        line_to(second)?;
                        left -= 2;
                    } else {
                        line_to(ints.next_pair()?)?;
                        left -= 1;
                    }
                }
                part_points += count;
                state = State::AfterLineTo;
            }
            CLOSE_PATH => {
                if !close_count_ok(count, version) {
                    return Err(ErrorKind::BadCommandCount {
                        command: "ClosePath",
                        count,
                        geom_type: geom_type.name(),
                        rule: "4.3.3.3",
                    });
                }
                let allowed = match geom_type {
                    GeomType::Point => false,
                    // UNKNOWN has no rules of its own (spec 4.3.4.1): only those of
                    // Commands apply.
                    GeomType::Unknown => true,
                    GeomType::LineString => lines_may_close && state == State::AfterLineTo,
                    GeomType::Polygon => state == State::AfterLineTo,
                };
                if !allowed {
                    return Err(unexpected("ClosePath", state));
                }
                if geom_type == GeomType::Polygon && part_points < 2 {
                    // A ring is MoveTo(1) and LineTo points adding up to 2 or more.
                    return Err(bad_count("LineTo", part_points));
                }
                sink.close_path();
                if S::WANTS_RING_TYPES && geom_type == GeomType::Polygon {
                    sink.ring_end(classes.classify(area.close()));
                }
                state = State::AfterClosePath;
            }
            other => return Err(ErrorKind::UnknownCommand(other)),
        }
    }
    let complete = match geom_type {
        GeomType::Unknown => true,
        GeomType::Point => state == State::AfterMoveTo,
        GeomType::LineString => {
            state == State::AfterLineTo || (lines_may_close && state == State::AfterClosePath)
        }
        GeomType::Polygon => state == State::AfterClosePath,
    };
    if !complete {
        let problem = match state {
            State::Start => "with no commands",
            State::AfterMoveTo if geom_type != GeomType::Point => "after a MoveTo",
            State::AfterLineTo => "with a ring that is not closed",
            _ => "mid-part",
        };
        return Err(ErrorKind::IncompleteGeometry {
            geom_type: geom_type.name(),
            problem,
            rule,
        });
    }
    Ok(())
}

/// spec 4.3.3.3: a ClosePath count MUST be 1. Version 1 did not say so, and version 1 tiles
/// exist with a count of 0 (mvt-fixtures 061), so those are accepted in version 1 layers.
#[inline]
fn close_count_ok(count: u32, version: u32) -> bool {
    count == 1 || (count == 0 && version == 1)
}

/// The raw `uint32` integers of a geometry, as stored (commands and zigzag parameters).
#[derive(Debug, Clone)]
pub struct GeometryInts<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Iterator for GeometryInts<'_> {
    type Item = Result<u32>;

    fn next(&mut self) -> Option<Result<u32>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        match read_u32(self.buf, &mut self.pos) {
            Ok(v) => Some(Ok(v)),
            Err(kind) => {
                self.pos = self.buf.len();
                Some(Err(Error::new(kind)))
            }
        }
    }
}

/// The commands of a geometry with absolute coordinates; see [`Feature::geometry`].
///
/// It checks what holds for every geometry type: known command ids, counts that fit the bytes
/// left, a ClosePath count of 1, integers within 32 bits. The rules of a particular geometry
/// type (a point has one MoveTo, a ring has two LineTo points or more) are checked by
/// [`Feature::decode_geometry`]. The first error ends the iteration.
#[derive(Debug, Clone)]
pub struct Commands<'l, 'a> {
    feature: Feature<'l, 'a>,
    pos: usize,
    x: i32,
    y: i32,
    command: u32,
    left: u32,
}

impl Iterator for Commands<'_, '_> {
    type Item = Result<Command>;

    fn next(&mut self) -> Option<Result<Command>> {
        let buf = self.feature.geometry;
        let step = (|| {
            if self.left == 0 {
                if self.pos >= buf.len() {
                    return Ok(None);
                }
                let int = read_u32(buf, &mut self.pos)?;
                let (id, count) = unpack(int);
                match id {
                    MOVE_TO | LINE_TO => {
                        let name = if id == MOVE_TO { "MoveTo" } else { "LineTo" };
                        if count == 0 {
                            return Err(ErrorKind::BadCommandCount {
                                command: name,
                                count,
                                geom_type: self.feature.geom_type().name(),
                                rule: "4.3.3",
                            });
                        }
                        check_count(name, count, buf, self.pos)?;
                    }
                    CLOSE_PATH => {
                        if !close_count_ok(count, self.feature.layer().version()) {
                            return Err(ErrorKind::BadCommandCount {
                                command: "ClosePath",
                                count,
                                geom_type: self.feature.geom_type().name(),
                                rule: "4.3.3.3",
                            });
                        }
                        return Ok(Some(Command::ClosePath));
                    }
                    other => return Err(ErrorKind::UnknownCommand(other)),
                }
                self.command = id;
                self.left = count;
            }
            let dx = zigzag32(read_u32(buf, &mut self.pos)?);
            let dy = zigzag32(read_u32(buf, &mut self.pos)?);
            // Cursor overflow (mvt-fixtures 049, 050) wraps around, as 32-bit integers do.
            self.x = self.x.wrapping_add(dx);
            self.y = self.y.wrapping_add(dy);
            self.left -= 1;
            Ok(Some(if self.command == MOVE_TO {
                Command::MoveTo(self.x, self.y)
            } else {
                Command::LineTo(self.x, self.y)
            }))
        })();
        match step {
            Ok(c) => c.map(Ok),
            Err(kind) => {
                self.pos = buf.len();
                self.left = 0;
                Some(Err(self.feature.locate(Error::new(kind))))
            }
        }
    }
}

impl std::iter::FusedIterator for Commands<'_, '_> {}

/// Where the geometry state machine is, for the per-type rules of spec 4.3.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    AfterMoveTo,
    AfterLineTo,
    AfterClosePath,
}

impl State {
    fn place(self) -> &'static str {
        match self {
            State::Start => "at the start",
            State::AfterMoveTo => "after MoveTo",
            State::AfterLineTo => "after LineTo",
            State::AfterClosePath => "after ClosePath",
        }
    }
}

fn rule_of(geom_type: GeomType) -> &'static str {
    match geom_type {
        GeomType::Unknown => "4.3.4.1",
        GeomType::Point => "4.3.4.2",
        GeomType::LineString => "4.3.4.3",
        GeomType::Polygon => "4.3.4.4",
    }
}

impl<'l, 'a> Feature<'l, 'a> {
    /// The raw geometry integers, as stored: what mvt-fixtures' `tile.json` lists.
    pub fn geometry_ints(&self) -> GeometryInts<'a> {
        GeometryInts {
            buf: self.geometry,
            pos: 0,
        }
    }

    /// The geometry as commands with absolute coordinates. No allocation; see [`Commands`] for
    /// what it checks.
    pub fn geometry(&self) -> Commands<'l, 'a> {
        Commands {
            feature: *self,
            pos: 0,
            x: 0,
            y: 0,
            command: 0,
            left: 0,
        }
    }

    /// Decodes the geometry into `sink`, checking every rule of the feature's geometry type
    /// (spec 4.3.4) as it goes. No allocation; the sink sees only well-formed sequences up to the
    /// first error.
    ///
    /// In version 1 layers a LineString may close its parts with ClosePath (mvt-fixtures 061);
    /// in version 2 that is an error. UNKNOWN geometries are passed through with only the
    /// checks of [`Commands`].
    ///
    /// A sink that sets [`GeometrySink::WANTS_RING_TYPES`] also gets each polygon ring's
    /// [`RingType`](crate::RingType) through [`GeometrySink::ring_end`], computed here from
    /// the ring's vertices as they are decoded (spec 4.3.4.4).
    ///
    /// # Errors
    ///
    /// Fatal errors for a broken command stream (unknown command, a count that does not fit the
    /// bytes, a command the type does not allow, a geometry that stops mid-part); a recoverable
    /// [`ErrorKind::ZeroLengthSegment`] for a LineTo that does not move (spec 4.3.3.2).
    #[inline(always)]
    pub fn decode_geometry<S: GeometrySink>(&self, sink: &mut S) -> Result<()> {
        // A lone point (MoveTo(1) and two integers of one or two bytes) is most features of
        // Mapillary's tiles and many of a basemap's: it is read here, in the caller's loop,
        // without the call and set-up of the full decoder.
        if self.geom_type() == GeomType::Point
            && let Some((x, y)) = super::ints::lone_point(self.geometry)
        {
            sink.move_to(x, y);
            return Ok(());
        }
        let window = crate::pbf::run_on(self.geometry, self.layer.bytes());
        decode_bytes(
            self.geometry,
            window,
            self.geom_type(),
            self.layer.version(),
            sink,
        )
        .map_err(|kind| crate::feature::locate_in(self.layer, self.index, kind))
    }
}

// Kept out of the caller's loop on purpose: in a function of its own the cursor, the
// coordinates and the sink's fields stay in registers, where inlined into a feature loop they
// were spilled to the stack on every vertex. It takes the feature's fields by value: a
// reference to the feature would make the caller keep the feature in memory.
#[inline(never)]
fn decode_bytes<S: GeometrySink>(
    geometry: &[u8],
    window: &[u8],
    geom_type: GeomType,
    version: u32,
    sink: &mut S,
) -> std::result::Result<(), ErrorKind> {
    let mut ints = ByteInts::new(geometry, window);
    decode_commands(&mut ints, geom_type, version, sink)
}
