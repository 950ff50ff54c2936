//! Protobuf wire helpers (<https://protobuf.dev/programming-guides/encoding/>) and the zigzag
//! encoding of geometry parameters.

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

/// spec 4.3.2: parameter integers are zigzag-encoded.
pub(super) fn zigzag(d: i32) -> u32 {
    ((d << 1) ^ (d >> 31)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbf::zigzag32;

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
        // The command integers' packing is tested with it, in `crate::command`.
    }
}
