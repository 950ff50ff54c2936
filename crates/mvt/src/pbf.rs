//! The protobuf wire format, as much of it as vector tiles use: a cursor over borrowed bytes.
//!
//! Everything here is bounds-checked and returns [`WireError`] instead of panicking; callers add
//! the place (layer, feature) when they turn it into a crate [`Error`](crate::Error).

/// A protobuf wire type (the low three bits of a field key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

impl WireType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "64-bit",
            WireType::Len => "length-delimited",
            WireType::Fixed32 => "32-bit",
        }
    }
}

/// What went wrong at the wire level, and at which byte of the message being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    /// The bytes end inside a varint, a fixed-size value or a length-delimited field.
    Truncated { at: usize },
    /// A varint longer than 10 bytes or above 2^64.
    VarintOverflow { at: usize },
    /// Wire types 3 and 4 (groups, deprecated and never used by vector tiles), 6 and 7 (undefined).
    BadWireType { at: usize, wire_type: u8 },
    /// Field number 0 is not allowed.
    FieldZero { at: usize },
}

/// A read position in a protobuf message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The whole buffer, read or not.
    #[inline]
    pub(crate) fn all(&self) -> &'a [u8] {
        self.buf
    }

    /// Bytes left to read.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next byte, without consuming it.
    #[inline(always)]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Moves to the end: nothing more will be read.
    #[inline]
    pub(crate) fn finish(&mut self) {
        self.pos = self.buf.len();
    }

    /// Steps over `n` bytes the caller has already looked at.
    #[inline(always)]
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads one varint. One- and two-byte varints (most tags, lengths, table indices and
    /// geometry integers) take the fast path.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        match *rest {
            [b0, ..] if b0 < 0x80 => {
                self.pos += 1;
                Ok(u64::from(b0))
            }
            [b0, b1, ..] if b1 < 0x80 => {
                self.pos += 2;
                Ok(u64::from(b0 & 0x7f) | (u64::from(b1) << 7))
            }
            _ => {
                // The cursor is passed by value, not by reference, so it can stay in registers
                // in the callers' loops: a reference escaping into a call would pin it to memory.
                let (v, n) = varint_slow(self.buf, self.pos)?;
                self.pos += n;
                Ok(v)
            }
        }
    }

    /// Reads a varint that is often long (feature ids: OSM ids take four or five bytes) from
    /// one 8-byte load, inline, when 8 bytes are left; as [`Cursor::varint`] otherwise.
    #[inline(always)]
    pub(crate) fn varint_long(&mut self) -> Result<u64, WireError> {
        if let Some(word) = self.buf.get(self.pos..).and_then(|r| r.first_chunk::<8>())
            && let Some((v, n)) = varint_from_word(u64::from_le_bytes(*word))
        {
            self.pos += n;
            return Ok(v);
        }
        self.varint()
    }

    /// Reads a field key. `None` at the end of the message.
    #[inline(always)]
    pub(crate) fn field(&mut self) -> Option<Result<(u32, WireType), WireError>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let at = self.pos;
        Some(self.varint().and_then(|key| {
            let field = key >> 3;
            if field == 0 {
                return Err(WireError::FieldZero { at });
            }
            let wire_type = match key & 7 {
                0 => WireType::Varint,
                1 => WireType::Fixed64,
                2 => WireType::Len,
                5 => WireType::Fixed32,
                other => {
                    return Err(WireError::BadWireType {
                        at,
                        wire_type: other as u8,
                    });
                }
            };
            // Field numbers above 2^29 - 1 do not exist; saturate so they match no known field.
            Ok((u32::try_from(field).unwrap_or(u32::MAX), wire_type))
        }))
    }

    /// Reads the payload of a length-delimited field, borrowed.
    #[inline(always)]
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let at = self.pos;
        let len = self.varint()?;
        let start = self.pos;
        let remaining = (self.buf.len() - start) as u64;
        if len > remaining {
            return Err(WireError::Truncated { at });
        }
        let end = start + len as usize;
        self.pos = end;
        Ok(&self.buf[start..end])
    }

    /// Reads 4 little-endian bytes.
    #[inline]
    pub(crate) fn fixed32(&mut self) -> Result<u32, WireError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or(WireError::Truncated { at: self.pos })?;
        self.pos += 4;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    /// Reads 8 little-endian bytes.
    #[inline]
    pub(crate) fn fixed64(&mut self) -> Result<u64, WireError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + 8)
            .ok_or(WireError::Truncated { at: self.pos })?;
        self.pos += 8;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    /// Skips a field's payload.
    #[inline]
    pub(crate) fn skip(&mut self, wire_type: WireType) -> Result<(), WireError> {
        match wire_type {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.fixed64().map(drop),
            WireType::Len => self.bytes().map(drop),
            WireType::Fixed32 => self.fixed32().map(drop),
        }
    }
}

/// `part` and whatever follows it in `whole`, when `part` is a piece of `whole` (found by its
/// address, which is safe to compare); `part` itself otherwise. Lets a reader near the end of a
/// field load 8 bytes at once, checking lengths against the field's own end.
#[inline]
pub(crate) fn run_on<'a>(part: &'a [u8], whole: &'a [u8]) -> &'a [u8] {
    (part.as_ptr() as usize)
        .checked_sub(whole.as_ptr() as usize)
        .and_then(|offset| whole.get(offset..))
        .filter(|w| w.as_ptr() == part.as_ptr() && w.len() >= part.len())
        .unwrap_or(part)
}

/// A varint of three bytes or more at `pos`: its value and length.
#[inline(never)]
fn varint_slow(buf: &[u8], pos: usize) -> Result<(u64, usize), WireError> {
    let rest = buf.get(pos..).unwrap_or_default();
    if let Some(word) = rest.first_chunk::<8>()
        && let Some(found) = varint_from_word(u64::from_le_bytes(*word))
    {
        return Ok(found);
    }
    decode_varint(rest).map_err(|e| match e {
        VarintError::Truncated => WireError::Truncated { at: pos },
        VarintError::Overflow => WireError::VarintOverflow { at: pos },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    Truncated,
    Overflow,
}

/// Decodes a varint at the start of `buf`: the value and the number of bytes it took.
#[inline]
pub(crate) fn decode_varint(buf: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut value: u64 = 0;
    for (i, &b) in buf.iter().take(10).enumerate() {
        // The tenth byte may only carry the top bit of a 64-bit value.
        if i == 9 && b > 1 {
            return Err(VarintError::Overflow);
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok((value, i + 1));
        }
    }
    if buf.len() >= 10 {
        Err(VarintError::Overflow)
    } else {
        Err(VarintError::Truncated)
    }
}

/// Decodes a varint of up to 8 bytes held in the little-endian `word`, without a loop: the value
/// and its length, or `None` if the varint is longer than 8 bytes.
#[inline(always)]
pub(crate) fn varint_from_word(word: u64) -> Option<(u64, usize)> {
    // The terminating byte is the first one whose top bit is clear.
    let stops = !word & 0x8080_8080_8080_8080;
    if stops == 0 {
        return None;
    }
    let len = (stops.trailing_zeros() as usize + 1) / 8;
    // Keep the bytes up to and including the terminator, then pack the 7-bit groups.
    let w = word & (stops ^ (stops - 1));
    let mut v = w & 0x7f;
    v |= (w >> 1) & (0x7f << 7);
    v |= (w >> 2) & (0x7f << 14);
    v |= (w >> 3) & (0x7f << 21);
    v |= (w >> 4) & (0x7f << 28);
    v |= (w >> 5) & (0x7f << 35);
    v |= (w >> 6) & (0x7f << 42);
    v |= (w >> 7) & (0x7f << 49);
    Some((v, len))
}

/// Zigzag decoding of a 32-bit parameter integer (spec 4.3.2).
#[inline(always)]
pub(crate) fn zigzag32(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Zigzag decoding of a `sint64`.
#[inline]
pub(crate) fn zigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_and_reject_overflow() {
        assert_eq!(decode_varint(&[0x00]), Ok((0, 1)));
        assert_eq!(decode_varint(&[0x96, 0x01]), Ok((150, 2)));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode_varint(&max), Ok((u64::MAX, 10)));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(decode_varint(&over), Err(VarintError::Overflow));
        assert_eq!(decode_varint(&[0x80; 11]), Err(VarintError::Overflow));
        assert_eq!(decode_varint(&[0x80, 0x80]), Err(VarintError::Truncated));
        assert_eq!(decode_varint(&[]), Err(VarintError::Truncated));
    }

    #[test]
    fn word_decoding_matches_the_loop() {
        let samples: [u64; 9] = [0, 1, 127, 128, 300, 16_383, 16_384, 1 << 35, (1 << 56) - 1];
        for v in samples {
            let mut buf = Vec::new();
            let mut x = v;
            while x >= 0x80 {
                buf.push((x as u8) | 0x80);
                x >>= 7;
            }
            buf.push(x as u8);
            let expected = decode_varint(&buf).unwrap();
            buf.resize(8, 0xff);
            let word = u64::from_le_bytes(buf[..8].try_into().unwrap());
            assert_eq!(varint_from_word(word), Some(expected), "{v}");
        }
        assert_eq!(varint_from_word(u64::MAX), None);
    }

    #[test]
    fn zigzag_matches_the_spec_examples() {
        // spec 4.3.2: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(1), -1);
        assert_eq!(zigzag32(2), 1);
        assert_eq!(zigzag32(3), -2);
        assert_eq!(zigzag32(u32::MAX), i32::MIN);
        assert_eq!(zigzag32(u32::MAX - 1), i32::MAX);
        assert_eq!(zigzag64(u64::MAX), i64::MIN);
    }

    #[test]
    fn length_beyond_the_buffer_is_truncation() {
        let mut c = Cursor::new(&[0x0a, 0x05, b'a']);
        assert!(matches!(c.field(), Some(Ok((1, WireType::Len)))));
        assert_eq!(c.bytes(), Err(WireError::Truncated { at: 1 }));
    }
}
