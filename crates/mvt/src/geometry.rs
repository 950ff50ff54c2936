//! Geometry decoding (spec 4.3): raw integers, a command iterator, a sink, and `geo_types`.

use geo_types::{
    Coord, CoordNum, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon,
};

use crate::error::{Error, ErrorKind, Result};
use crate::feature::Feature;
use crate::geom_type::{GeomType, GeometrySink};
use crate::pbf::{VarintError, decode_varint, varint_from_word, zigzag32};

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

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

/// Reads one `uint32` geometry integer. Most are one byte; longer ones are decoded from one
/// 8-byte load when the buffer has that many bytes left.
#[inline(always)]
fn read_u32(buf: &[u8], pos: &mut usize) -> std::result::Result<u32, ErrorKind> {
    let rest = buf.get(*pos..).unwrap_or_default();
    match *rest {
        [b0, ..] if b0 < 0x80 => {
            *pos += 1;
            return Ok(u32::from(b0));
        }
        [b0, b1, ..] if b1 < 0x80 => {
            *pos += 2;
            return Ok(u32::from(b0 & 0x7f) | (u32::from(b1) << 7));
        }
        [b0, b1, b2, ..] if b2 < 0x80 => {
            *pos += 3;
            return Ok(u32::from(b0 & 0x7f) | (u32::from(b1 & 0x7f) << 7) | (u32::from(b2) << 14));
        }
        _ => {}
    }
    if let Some(word) = rest.first_chunk::<8>()
        && let Some((v, n)) = varint_from_word(u64::from_le_bytes(*word))
    {
        *pos += n;
        return u32::try_from(v).map_err(|_| ErrorKind::GeometryIntegerOverflow(v));
    }
    // `pos` goes by value so it can stay in a register in the decoding loops.
    let (v, n) = read_u32_slow(buf, *pos)?;
    *pos += n;
    Ok(v)
}

/// Reads the two zigzag parameters of one point. When 8 bytes are left and both integers are
/// one or two bytes long (deltas below 8192: nearly every vertex of a real tile), both come out
/// of one load with no per-byte branch.
#[inline(always)]
fn read_pair(buf: &[u8], pos: &mut usize) -> std::result::Result<(i32, i32), ErrorKind> {
    if let Some(word) = buf.get(*pos..).and_then(|r| r.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*word);
        // Branch on the lengths rather than compute them: the next load's address then does
        // not wait for this one's bits, and runs of similar deltas predict well.
        let two = |x: u64| ((x & 0x7f) | ((x >> 1) & 0x3f80)) as u32;
        let found = if w & 0x80 == 0 {
            let a = (w & 0x7f) as u32;
            if w & 0x8000 == 0 {
                Some((a, ((w >> 8) & 0x7f) as u32, 2))
            } else if w & 0x80_0000 == 0 {
                Some((a, two(w >> 8), 3))
            } else {
                None
            }
        } else if w & 0x8000 == 0 {
            let a = two(w);
            if w & 0x80_0000 == 0 {
                Some((a, ((w >> 16) & 0x7f) as u32, 3))
            } else if w & 0x8000_0000 == 0 {
                Some((a, two(w >> 16), 4))
            } else {
                None
            }
        } else {
            None
        };
        if let Some((a, b, n)) = found {
            *pos += n;
            return Ok((zigzag32(a), zigzag32(b)));
        }
        // Longer integers (tiles with a large extent have many of three bytes), both still in
        // the 8 bytes: a varint of more than 5 bytes is above u32 and left to the checks below.
        if let Some((a, na)) = varint_from_word(w).filter(|&(_, n)| n <= 5)
            && let Some((b, nb)) = varint_from_word(w >> (8 * na))
            && na + nb <= 8
            && let (Ok(a), Ok(b)) = (u32::try_from(a), u32::try_from(b))
        {
            *pos += na + nb;
            return Ok((zigzag32(a), zigzag32(b)));
        }
    }
    let a = read_u32(buf, pos)?;
    let b = read_u32(buf, pos)?;
    Ok((zigzag32(a), zigzag32(b)))
}

/// Where the four integers of two points lie in an 8-byte word, for one pattern of continuation
/// bits, when each integer is one or two bytes long; see [`read_two_pairs`].
#[derive(Debug, Clone, Copy)]
struct FourInts {
    /// The bit offset of each integer's first byte.
    shift: [u8; 4],
    /// `0x3f80` for an integer with a second byte, `0` for one without.
    high: [u32; 4],
    /// The bytes the four take, or 0 when they are not four integers of one or two bytes.
    len: u8,
}

const fn four_ints(continues: u8) -> FourInts {
    let mut f = FourInts {
        shift: [0; 4],
        high: [0; 4],
        len: 0,
    };
    let (mut i, mut k) = (0u8, 0);
    while k < 4 {
        if i >= 8 {
            return f;
        }
        f.shift[k] = 8 * i;
        if (continues >> i) & 1 == 0 {
            i += 1;
        } else if i < 7 && (continues >> (i + 1)) & 1 == 0 {
            f.high[k] = 0x3f80;
            i += 2;
        } else {
            return f;
        }
        k += 1;
    }
    f.len = i;
    f
}

/// [`FourInts`] for each pattern of continuation bits (bit `i` is the top bit of byte `i`).
static FOUR_INTS: [FourInts; 256] = {
    let mut table = [four_ints(0); 256];
    let mut m = 0;
    while m < 256 {
        table[m] = four_ints(m as u8);
        m += 1;
    }
    table
};

/// Reads the parameters of two points at once, when 8 bytes are left and the four integers
/// are one or two bytes long: their layout comes from a table indexed by the word's
/// continuation bits, so one load and one lookup replace four branches on lengths that real
/// geometry mixes unpredictably. `None` (nothing read) otherwise.
#[inline(always)]
fn read_two_pairs(buf: &[u8], pos: &mut usize) -> Option<[(i32, i32); 2]> {
    let word = buf.get(*pos..).and_then(|r| r.first_chunk::<8>())?;
    let w = u64::from_le_bytes(*word);
    // The top bit of each byte gathered into one byte (bit i from byte i); the multiplier's
    // partial products meet only in the top byte, without carries.
    let continues = ((w >> 7) & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let f = &FOUR_INTS[continues as usize];
    if f.len == 0 {
        return None;
    }
    let int = |k: usize| {
        let x = w >> f.shift[k];
        zigzag32(((x & 0x7f) as u32) | ((x >> 1) as u32 & f.high[k]))
    };
    *pos += usize::from(f.len);
    Some([(int(0), int(1)), (int(2), int(3))])
}

/// A geometry integer of three bytes or more at `pos`: its value and length.
#[inline(never)]
fn read_u32_slow(buf: &[u8], pos: usize) -> std::result::Result<(u32, usize), ErrorKind> {
    let rest = buf.get(pos..).unwrap_or(&[]);
    match decode_varint(rest) {
        Ok((v, n)) => match u32::try_from(v) {
            Ok(v) => Ok((v, n)),
            Err(_) => Err(ErrorKind::GeometryIntegerOverflow(v)),
        },
        Err(VarintError::Truncated) => Err(ErrorKind::Protobuf {
            message: "Feature",
            problem: format!("the geometry ends inside an integer at byte {pos}"),
        }),
        Err(VarintError::Overflow) => Err(ErrorKind::Protobuf {
            message: "Feature",
            problem: format!("geometry varint at byte {pos} is longer than 64 bits"),
        }),
    }
}

/// Checks that `count` points (two parameter integers each, one byte at least each) can still
/// be in the geometry, before anything is read or reserved for them (spec 4.3.2).
#[inline(always)]
fn check_count(
    command: &'static str,
    count: u32,
    buf: &[u8],
    pos: usize,
) -> std::result::Result<(), ErrorKind> {
    count_fits(command, count, buf.len() - pos)
}

/// Checks that `count` points (two integers each) fit in `left` integers (or bytes, one at
/// least per integer).
#[inline(always)]
fn count_fits(
    command: &'static str,
    count: u32,
    left: usize,
) -> std::result::Result<(), ErrorKind> {
    let needed = 2 * u64::from(count);
    if needed > left as u64 {
        return Err(ErrorKind::CommandCountTooLarge {
            command,
            count,
            needed,
            left,
        });
    }
    Ok(())
}

/// Where geometry integers come from: the packed bytes of a tile, or the `u32`s a writer was
/// given. Positions go by value into the slow paths so the decoding loop keeps them in registers.
pub(crate) trait IntSource {
    /// Whether integers are left.
    fn has_more(&self) -> bool;
    /// The next command integer.
    fn next_u32(&mut self) -> std::result::Result<u32, ErrorKind>;
    /// The next two parameter integers, zigzag-decoded.
    fn next_pair(&mut self) -> std::result::Result<(i32, i32), ErrorKind>;
    /// The next two points' parameters when a fast path has them; `None`, having read
    /// nothing, otherwise (the caller then reads one point with `next_pair`).
    fn next_two_pairs(&mut self) -> Option<[(i32, i32); 2]> {
        None
    }
    /// Checks that `count` points can still follow, before any is read (spec 4.3.2).
    fn check_count(&self, command: &'static str, count: u32) -> std::result::Result<(), ErrorKind>;
}

/// Geometry integers from the packed varint bytes of a tile.
struct ByteInts<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl IntSource for ByteInts<'_> {
    #[inline(always)]
    fn has_more(&self) -> bool {
        self.pos < self.buf.len()
    }
    #[inline(always)]
    fn next_u32(&mut self) -> std::result::Result<u32, ErrorKind> {
        read_u32(self.buf, &mut self.pos)
    }
    #[inline(always)]
    fn next_pair(&mut self) -> std::result::Result<(i32, i32), ErrorKind> {
        read_pair(self.buf, &mut self.pos)
    }
    #[inline(always)]
    fn next_two_pairs(&mut self) -> Option<[(i32, i32); 2]> {
        read_two_pairs(self.buf, &mut self.pos)
    }
    #[inline(always)]
    fn check_count(&self, command: &'static str, count: u32) -> std::result::Result<(), ErrorKind> {
        check_count(command, count, self.buf, self.pos)
    }
}

/// Geometry integers from a slice of `u32`, remembering where the last read started so that an
/// error can point at the integer it is about.
pub(crate) struct SliceInts<'a> {
    ints: &'a [u32],
    pos: usize,
    last: &'a std::cell::Cell<usize>,
}

impl<'a> SliceInts<'a> {
    /// Reads `ints` from the start; `last` follows the index where each read starts.
    pub(crate) fn new(ints: &'a [u32], last: &'a std::cell::Cell<usize>) -> Self {
        SliceInts { ints, pos: 0, last }
    }

    fn take(&mut self) -> std::result::Result<u32, ErrorKind> {
        let int = self
            .ints
            .get(self.pos)
            .copied()
            .ok_or(ErrorKind::IncompleteGeometry {
                geom_type: "geometry",
                problem: "inside a command's parameters",
                rule: "4.3.2",
            })?;
        self.pos += 1;
        Ok(int)
    }
}

impl IntSource for SliceInts<'_> {
    fn has_more(&self) -> bool {
        self.pos < self.ints.len()
    }
    fn next_u32(&mut self) -> std::result::Result<u32, ErrorKind> {
        self.last.set(self.pos);
        self.take()
    }
    fn next_pair(&mut self) -> std::result::Result<(i32, i32), ErrorKind> {
        self.last.set(self.pos);
        Ok((zigzag32(self.take()?), zigzag32(self.take()?)))
    }
    fn check_count(&self, command: &'static str, count: u32) -> std::result::Result<(), ErrorKind> {
        count_fits(command, count, self.ints.len() - self.pos)
    }
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
        let (id, count) = (int & 7, int >> 3);
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
                let (id, count) = (int & 7, int >> 3);
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
    /// # Errors
    ///
    /// Fatal errors for a broken command stream (unknown command, a count that does not fit the
    /// bytes, a command the type does not allow, a geometry that stops mid-part); a recoverable
    /// [`ErrorKind::ZeroLengthSegment`] for a LineTo that does not move (spec 4.3.3.2).
    #[inline]
    pub fn decode_geometry<S: GeometrySink>(&self, sink: &mut S) -> Result<()> {
        self.decode_into(sink)
            .map_err(|kind| self.locate(Error::new(kind)))
    }

    // Kept out of the caller's loop on purpose: in a function of its own the cursor, the
    // coordinates and the sink's fields stay in registers, where inlined into a feature loop
    // they were spilled to the stack on every vertex.
    #[inline(never)]
    fn decode_into<S: GeometrySink>(&self, sink: &mut S) -> std::result::Result<(), ErrorKind> {
        let mut ints = ByteInts {
            buf: self.geometry,
            pos: 0,
        };
        decode_commands(&mut ints, self.geom_type(), self.layer.version(), sink)
    }

    /// The geometry as a `geo_types` value in tile coordinates (x right, y down), converted to
    /// `T` (`i32`, `i64`, `f32`, `f64`...). Allocates the result.
    ///
    /// Points give a `Point` or `MultiPoint`, lines a `LineString` or `MultiLineString`,
    /// polygons a `Polygon` or `MultiPolygon` with closed rings. Polygon rings are classified by
    /// their signed area, computed exactly in integers: in version 2 layers a positive area
    /// (clockwise on screen) starts a new polygon and a negative one is a hole of the polygon
    /// before it (spec 4.3.4.4); in version 1 layers the first ring's sign counts as exterior.
    /// Rings of zero area enclose nothing and are dropped.
    ///
    /// # Errors
    ///
    /// Those of [`Feature::decode_geometry`]; [`ErrorKind::UnknownGeometry`] for UNKNOWN
    /// geometries; [`ErrorKind::InteriorRingFirst`] for a hole before any exterior ring;
    /// [`ErrorKind::CoordinateOutOfRange`] when a coordinate does not fit `T`.
    pub fn to_geometry<T: CoordNum>(&self) -> Result<Geometry<T>> {
        self.build_geometry(|(x, y)| match (T::from(x), T::from(y)) {
            (Some(x), Some(y)) => Ok(Coord { x, y }),
            _ => Err(ErrorKind::CoordinateOutOfRange { x, y }),
        })
    }

    /// The geometry as a `geo_types` value whose coordinates `transform` makes from tile
    /// coordinates, for example lon/lat with `mlytiles_tile::TileTransform`. Rings are
    /// classified in tile coordinates, before the transform, exactly as by
    /// [`Feature::to_geometry`]. Allocates the result only.
    ///
    /// # Errors
    ///
    /// As [`Feature::to_geometry`], less the coordinate range check.
    pub fn to_geometry_with<T: CoordNum>(
        &self,
        mut transform: impl FnMut(i32, i32) -> Coord<T>,
    ) -> Result<Geometry<T>> {
        self.build_geometry(|(x, y)| Ok(transform(x, y)))
    }

    fn build_geometry<T: CoordNum>(
        &self,
        mut make: impl FnMut((i32, i32)) -> std::result::Result<Coord<T>, ErrorKind>,
    ) -> Result<Geometry<T>> {
        let mut parts = Parts::default();
        self.decode_geometry(&mut parts)?;
        let fail = |kind| self.locate(Error::new(kind));
        let mut coord = |p: (i32, i32)| -> Result<Coord<T>> { make(p).map_err(fail) };
        let mut ring = |part: &[(i32, i32)], close: bool| -> Result<LineString<T>> {
            let mut coords = Vec::with_capacity(part.len() + usize::from(close));
            for &p in part {
                coords.push(coord(p)?);
            }
            if close {
                coords.push(coord(part[0])?);
            }
            Ok(LineString(coords))
        };
        match self.geom_type() {
            GeomType::Unknown => Err(fail(ErrorKind::UnknownGeometry)),
            GeomType::Point => {
                let points = parts
                    .points
                    .iter()
                    .map(|&p| coord(p).map(Point))
                    .collect::<Result<Vec<_>>>()?;
                Ok(match <[Point<T>; 1]>::try_from(points) {
                    Ok([p]) => Geometry::Point(p),
                    Err(points) => Geometry::MultiPoint(MultiPoint(points)),
                })
            }
            GeomType::LineString => {
                let lines = parts
                    .iter()
                    .map(|(part, closed)| ring(part, closed))
                    .collect::<Result<Vec<_>>>()?;
                Ok(match <[LineString<T>; 1]>::try_from(lines) {
                    Ok([l]) => Geometry::LineString(l),
                    Err(lines) => Geometry::MultiLineString(MultiLineString(lines)),
                })
            }
            GeomType::Polygon => {
                let v1 = self.layer.version() == 1;
                let mut polygons: Vec<(LineString<T>, Vec<LineString<T>>)> = Vec::new();
                let mut exterior_sign = if v1 { 0 } else { 1 };
                for (i, (part, _)) in parts.iter().enumerate() {
                    let sign = ring_area2(part).signum() as i32;
                    if sign == 0 {
                        continue; // encloses nothing
                    }
                    if exterior_sign == 0 {
                        exterior_sign = sign; // version 1: the first ring decides
                    }
                    let r = ring(part, true)?;
                    if sign == exterior_sign {
                        polygons.push((r, Vec::new()));
                    } else {
                        match polygons.last_mut() {
                            Some((_, holes)) => holes.push(r),
                            None => return Err(fail(ErrorKind::InteriorRingFirst(i))),
                        }
                    }
                }
                let mut polygons: Vec<Polygon<T>> = polygons
                    .into_iter()
                    .map(|(exterior, holes)| Polygon::new(exterior, holes))
                    .collect();
                Ok(if polygons.len() == 1 {
                    Geometry::Polygon(polygons.remove(0))
                } else {
                    Geometry::MultiPolygon(MultiPolygon(polygons))
                })
            }
        }
    }
}

/// Twice the signed area of a ring (the surveyor's formula), exactly: i64 products summed in
/// i128, so no coordinate can overflow or round it. Positive means clockwise with y down, the
/// exterior winding of spec 4.3.4.4. `ring` does not repeat its first point.
pub fn ring_area2(ring: &[(i32, i32)]) -> i128 {
    let n = ring.len();
    let mut sum: i128 = 0;
    for i in 0..n {
        let (x0, y0) = ring[i];
        let (x1, y1) = ring[(i + 1) % n];
        sum += cross(x0, y0, x1, y1);
    }
    sum
}

/// `x0 * y1 - x1 * y0`, exactly: one term of the surveyor's formula.
#[inline]
pub(crate) fn cross(x0: i32, y0: i32, x1: i32, y1: i32) -> i128 {
    i128::from(i64::from(x0) * i64::from(y1)) - i128::from(i64::from(x1) * i64::from(y0))
}

/// Collects decoded geometry into flat vectors for [`Feature::to_geometry`].
#[derive(Default)]
struct Parts {
    points: Vec<(i32, i32)>,
    /// (start index in `points`, closed by ClosePath)
    starts: Vec<(usize, bool)>,
}

impl Parts {
    fn iter(&self) -> impl Iterator<Item = (&[(i32, i32)], bool)> {
        self.starts.iter().enumerate().map(|(i, &(start, closed))| {
            let end = self.starts.get(i + 1).map_or(self.points.len(), |s| s.0);
            (&self.points[start..end], closed)
        })
    }
}

impl GeometrySink for Parts {
    fn move_to(&mut self, x: i32, y: i32) {
        self.starts.push((self.points.len(), false));
        self.points.push((x, y));
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.points.push((x, y));
    }
    fn close_path(&mut self) {
        if let Some(last) = self.starts.last_mut() {
            last.1 = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug, PartialEq)]
    struct Record(Vec<(char, i32, i32)>);

    impl GeometrySink for Record {
        fn move_to(&mut self, x: i32, y: i32) {
            self.0.push(('M', x, y));
        }
        fn line_to(&mut self, x: i32, y: i32) {
            self.0.push(('L', x, y));
        }
        fn close_path(&mut self) {
            self.0.push(('C', 0, 0));
        }
    }

    #[test]
    fn packed_bytes_decode_like_the_integers_they_hold() {
        // Lines whose deltas take 1 to 5 bytes in every mix, so each fast path of the byte
        // reader (pairs of short integers, longer pairs from one load, the tail of the bytes)
        // is taken; every prefix of the bytes too, so integers are cut at the end.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3_000 {
            let points = 2 + (next() % 6) as u32;
            let mut ints = vec![(1 << 3) | 1];
            for i in 0..points {
                if i == 1 {
                    ints.push(((points - 1) << 3) | 2);
                }
                for _ in 0..2 {
                    // A zigzag value of 1 to 32 bits, never 0 (a LineTo must move).
                    let bits = 1 + next() % 32;
                    let v = (next() as u32 >> (32 - bits)).max(1);
                    ints.push(v);
                }
            }
            let mut bytes = Vec::new();
            for &v in &ints {
                crate::writer::wire::put_varint(&mut bytes, u64::from(v));
            }
            let last = std::cell::Cell::new(0);
            let mut expected = Record::default();
            decode_commands(
                &mut SliceInts::new(&ints, &last),
                GeomType::LineString,
                2,
                &mut expected,
            )
            .unwrap_or_else(|e| panic!("{ints:?}: {e}"));
            let mut got = Record::default();
            let mut reader = ByteInts {
                buf: &bytes,
                pos: 0,
            };
            decode_commands(&mut reader, GeomType::LineString, 2, &mut got)
                .unwrap_or_else(|e| panic!("{ints:?}: {e}"));
            assert_eq!(got, expected, "{ints:?}");
            assert_eq!(got.0.len(), points as usize, "{ints:?}");
            for cut in 0..bytes.len() {
                let mut got = Record::default();
                let mut reader = ByteInts {
                    buf: &bytes[..cut],
                    pos: 0,
                };
                let result = decode_commands(&mut reader, GeomType::LineString, 2, &mut got);
                assert!(result.is_err(), "{ints:?} cut at {cut}");
                // What was drawn before the cut is a prefix of the whole.
                assert!(expected.0.starts_with(&got.0), "{ints:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn ring_area_sign_follows_the_spec_winding() {
        // spec 4.3.5.5: the example polygon (3,6) (8,12) (20,34) is an exterior ring.
        assert!(ring_area2(&[(3, 6), (8, 12), (20, 34)]) > 0);
        assert!(ring_area2(&[(20, 34), (8, 12), (3, 6)]) < 0);
        assert_eq!(ring_area2(&[(0, 0), (5, 5), (10, 10)]), 0);
        // Extreme coordinates do not overflow.
        let big = [
            (i32::MIN, i32::MIN),
            (i32::MAX, i32::MIN),
            (i32::MAX, i32::MAX),
        ];
        assert!(ring_area2(&big) > 0);
    }
}
