//! Reading geometry integers (spec 4.3.1): the packed varints of a tile, fast paths that take
//! one or two points from one 8-byte load, and the [`IntSource`] the command grammar reads from
//! (bytes for the reader, `u32`s for the writer's checks).

use crate::error::ErrorKind;
use crate::pbf::{VarintError, decode_varint, varint_from_word, zigzag32};

/// Reads one `uint32` geometry integer. Most are one byte; longer ones are decoded from one
/// 8-byte load when the buffer has that many bytes left.
#[inline(always)]
pub(super) fn read_u32(buf: &[u8], pos: &mut usize) -> std::result::Result<u32, ErrorKind> {
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
///
/// `window` is `buf` and perhaps the bytes after it (the rest of the layer), so that a point
/// near the end of a geometry is still read from one load; what is read must end within `buf`.
#[inline(always)]
fn read_pair(
    buf: &[u8],
    window: &[u8],
    pos: &mut usize,
) -> std::result::Result<(i32, i32), ErrorKind> {
    if let Some(word) = window.get(*pos..).and_then(|r| r.first_chunk::<8>()) {
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
        if let Some((a, b, n)) = found
            && *pos + n <= buf.len()
        {
            *pos += n;
            return Ok((zigzag32(a), zigzag32(b)));
        }
        // Longer integers (tiles with a large extent have many of three bytes), both still in
        // the 8 bytes: a varint of more than 5 bytes is above u32 and left to the checks below.
        if let Some((a, na)) = varint_from_word(w).filter(|&(_, n)| n <= 5)
            && let Some((b, nb)) = varint_from_word(w >> (8 * na))
            && na + nb <= 8
            && *pos + na + nb <= buf.len()
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

/// The point of a geometry that is exactly MoveTo(1) and two integers of one or two bytes (the
/// usual encoding of a point feature), zigzag-decoded; `None` for anything else, which the
/// full decoder then reads and checks.
#[inline(always)]
pub(super) fn lone_point(geometry: &[u8]) -> Option<(i32, i32)> {
    let two = |lo: u8, hi: u8| u32::from(lo & 0x7f) | (u32::from(hi) << 7);
    let (a, b) = match *geometry {
        [0x09, a, b] if a < 0x80 && b < 0x80 => (u32::from(a), u32::from(b)),
        [0x09, a0, a1, b] if a0 >= 0x80 && a1 < 0x80 && b < 0x80 => (two(a0, a1), u32::from(b)),
        [0x09, a, b0, b1] if a < 0x80 && b0 >= 0x80 && b1 < 0x80 => (u32::from(a), two(b0, b1)),
        [0x09, a0, a1, b0, b1] if a0 >= 0x80 && a1 < 0x80 && b0 >= 0x80 && b1 < 0x80 => {
            (two(a0, a1), two(b0, b1))
        }
        _ => return None,
    };
    Some((zigzag32(a), zigzag32(b)))
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
fn read_two_pairs(buf: &[u8], window: &[u8], pos: &mut usize) -> Option<[(i32, i32); 2]> {
    let word = window.get(*pos..).and_then(|r| r.first_chunk::<8>())?;
    let w = u64::from_le_bytes(*word);
    // Four one-byte integers (small deltas, the usual case): no lookup.
    if w & 0x8080_8080 == 0 && *pos + 4 <= buf.len() {
        *pos += 4;
        let int = |k: u32| zigzag32((w >> (8 * k)) as u32 & 0x7f);
        return Some([(int(0), int(1)), (int(2), int(3))]);
    }
    // The top bit of each byte gathered into one byte (bit i from byte i); the multiplier's
    // partial products meet only in the top byte, without carries.
    let continues = ((w >> 7) & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let f = &FOUR_INTS[continues as usize];
    if f.len == 0 || *pos + usize::from(f.len) > buf.len() {
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
pub(super) fn check_count(
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
pub(super) struct ByteInts<'a> {
    /// The geometry's bytes.
    buf: &'a [u8],
    /// `buf` and whatever follows it in the layer, for loads of 8 bytes near its end.
    window: &'a [u8],
    pos: usize,
}

impl<'a> ByteInts<'a> {
    /// Reads `buf`; `window` is `buf` and perhaps more bytes after it (see
    /// [`crate::pbf::run_on`]), which fast paths may load but never use.
    pub(super) fn new(buf: &'a [u8], window: &'a [u8]) -> Self {
        ByteInts {
            buf,
            window,
            pos: 0,
        }
    }
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
        read_pair(self.buf, self.window, &mut self.pos)
    }
    #[inline(always)]
    fn next_two_pairs(&mut self) -> Option<[(i32, i32); 2]> {
        read_two_pairs(self.buf, self.window, &mut self.pos)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom_type::{GeomType, GeometrySink};
    use crate::geometry::commands::decode_commands;

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
    fn a_lone_point_reads_as_the_full_decoder_reads_it() {
        // Every length of either integer (one to five bytes) and the geometries around a point
        // that are not one (a second point, a LineTo, a count of 2, a cut): the shortcut
        // either gives the full decoder's point or leaves the geometry to it.
        let values = [0u32, 1, 2, 127, 128, 300, 16_383, 16_384, 1 << 21, u32::MAX];
        for &a in &values {
            for &b in &values {
                let mut point = vec![0x09];
                crate::writer::wire::put_varint(&mut point, u64::from(a));
                crate::writer::wire::put_varint(&mut point, u64::from(b));
                let mut variants = vec![point.clone(), point[..point.len() - 1].to_vec()];
                variants.push([point.as_slice(), &[0x01, 0x01]].concat());
                variants.push([&[0x11], &point[1..], &[0x02, 0x02]].concat());
                for bytes in variants {
                    let mut full = Record::default();
                    let mut reader = ByteInts::new(&bytes, &bytes);
                    let decoded = decode_commands(&mut reader, GeomType::Point, 2, &mut full);
                    match lone_point(&bytes) {
                        Some((x, y)) => {
                            assert!(decoded.is_ok(), "{bytes:x?}");
                            assert_eq!(full.0, [('M', x, y)], "{bytes:x?}");
                        }
                        // Only points with integers of one or two bytes take the shortcut.
                        None => assert!(
                            decoded.is_err() || full.0.len() != 1 || a >= 1 << 14 || b >= 1 << 14,
                            "{bytes:x?} left to the decoder"
                        ),
                    }
                }
            }
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
            let mut reader = ByteInts::new(&bytes, &bytes);
            decode_commands(&mut reader, GeomType::LineString, 2, &mut got)
                .unwrap_or_else(|e| panic!("{ints:?}: {e}"));
            assert_eq!(got, expected, "{ints:?}");
            assert_eq!(got.0.len(), points as usize, "{ints:?}");
            for cut in 0..bytes.len() {
                // The bytes after the cut may be loaded (they are the rest of the layer in a
                // tile) but never read: the cut is found either way.
                for window in [&bytes[..cut], &bytes[..]] {
                    let mut got = Record::default();
                    let mut reader = ByteInts::new(&bytes[..cut], window);
                    let result = decode_commands(&mut reader, GeomType::LineString, 2, &mut got);
                    assert!(result.is_err(), "{ints:?} cut at {cut}");
                    // What was drawn before the cut is a prefix of the whole.
                    assert!(expected.0.starts_with(&got.0), "{ints:?} cut at {cut}");
                }
            }
            // A window running on past the end changes nothing for the whole geometry.
            let mut padded = bytes.clone();
            padded.extend_from_slice(&[0x81; 16]);
            let mut got = Record::default();
            let mut reader = ByteInts::new(&padded[..bytes.len()], &padded);
            decode_commands(&mut reader, GeomType::LineString, 2, &mut got)
                .unwrap_or_else(|e| panic!("{ints:?}: {e}"));
            assert_eq!(got, expected, "{ints:?} with bytes after it");
        }
    }
}
