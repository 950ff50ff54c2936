//! UTF-8 checks of a layer's key and value strings, many at once.
//!
//! Checking each string on its own costs a call and a set-up per string, and most strings in a
//! table are short: in basemap tiles with multilingual names that was half the time of reading
//! the tables. Strings in a table lie close together, separated by a few bytes of protobuf
//! framing (a field key, a length, the value's own key and length). Those bytes are ASCII
//! whenever the lengths are below 128, and an ASCII byte can neither be part of a multi-byte
//! character nor make a neighbour invalid. So one vectorised check (simdutf8, whose `unsafe`
//! stays inside it) over a whole stretch of the table proves every string in the stretch, and a
//! string is then a slice of the checked text, taken at character boundaries (which `str::get`
//! checks, safely). Where the stretch stops (a number's bytes, a long length, a real error), the
//! next string starts a new one; a string the window cannot serve is checked on its own by std,
//! whose verdict is final, so the answer is always exactly std's.

/// How far ahead one check reads: enough to cover many strings, little enough that a stretch
/// cut short early wastes little.
const STRETCH: usize = 4096;

/// The strings of one byte region, checked a stretch at a time.
pub(crate) struct CheckedText<'a> {
    region: &'a [u8],
    /// Checked text: `region[start..start + text.len()]`.
    text: &'a str,
    start: usize,
}

impl<'a> CheckedText<'a> {
    pub(crate) fn new(region: &'a [u8]) -> Self {
        CheckedText {
            region,
            text: "",
            start: 0,
        }
    }

    /// `region[at..at + len]` as text, or `None` if it is not UTF-8 (or not in the region).
    #[inline(always)]
    pub(crate) fn get(&mut self, at: usize, len: usize) -> Option<&'a str> {
        if let Some(s) = self.from_window(at, len) {
            return Some(s);
        }
        self.check_from(at, len)
    }

    #[inline(always)]
    fn from_window(&self, at: usize, len: usize) -> Option<&'a str> {
        let from = at.checked_sub(self.start)?;
        self.text.get(from..from.checked_add(len)?)
    }

    /// Checks a new stretch from `at`, then serves the string from it, or from std.
    #[inline(never)]
    fn check_from(&mut self, at: usize, len: usize) -> Option<&'a str> {
        let bytes = self.region.get(at..at.checked_add(len)?)?;
        let rest = &self.region[at..];
        let stretch = &rest[..rest.len().min(STRETCH.max(len))];
        let valid = match simdutf8::compat::from_utf8(stretch) {
            Ok(text) => text,
            // The valid part is checked again to hold it as `&str` without `unsafe`; this
            // happens once per stretch, not per string.
            Err(e) => simdutf8::basic::from_utf8(&stretch[..e.valid_up_to()]).unwrap_or(""),
        };
        self.text = valid;
        self.start = at;
        match self.from_window(at, len) {
            Some(s) => Some(s),
            None => std::str::from_utf8(bytes).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of every region agrees with std, whatever surrounds it.
    #[test]
    fn answers_are_exactly_stds() {
        let pieces: [&[u8]; 9] = [
            b"abc",
            "Stra\u{df}e".as_bytes(),
            "\u{6771}\u{4eac}".as_bytes(),
            &[0xe6, 0x9d], // a character cut short
            &[0x9d, 0xb1], // its continuation bytes alone
            &[0xff],       // never UTF-8
            &[0x85],       // a length byte of 128 or more
            b"",
            &[0xc3], // a lead byte whose follower is elsewhere
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..5_000 {
            let mut region = Vec::new();
            let mut spans = Vec::new();
            for _ in 0..next(12) {
                region.extend_from_slice(pieces[next(pieces.len())]);
                let at = region.len();
                for _ in 0..next(3) {
                    region.extend_from_slice(pieces[next(pieces.len())]);
                }
                spans.push((at, region.len() - at));
            }
            let mut text = CheckedText::new(&region);
            for &(at, len) in &spans {
                let expected = std::str::from_utf8(&region[at..at + len]).ok();
                assert_eq!(text.get(at, len), expected, "{region:x?} at {at} len {len}");
            }
            assert_eq!(text.get(region.len(), 1), None);
        }
    }

    #[test]
    fn a_long_table_is_served_from_few_checks() {
        let mut region = Vec::new();
        let mut spans = Vec::new();
        for i in 0..2_000 {
            region.extend_from_slice(&[0x22, 0x10, 0x0a, 0x0e]);
            let name = format!("\u{540d}\u{524d} {i:04}");
            spans.push((region.len(), name.len()));
            region.extend_from_slice(name.as_bytes());
        }
        let mut text = CheckedText::new(&region);
        let mut checks = 0;
        for &(at, len) in &spans {
            if text.from_window(at, len).is_none() {
                checks += 1;
            }
            assert_eq!(
                text.get(at, len),
                std::str::from_utf8(&region[at..at + len]).ok()
            );
        }
        // One check per stretch of 4 KiB, not one per string.
        assert!(checks <= region.len() / STRETCH + 1, "{checks} checks");
    }
}
