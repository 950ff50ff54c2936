//! UTF-8 checks of a layer's key and value strings, a run of strings at a time.
//!
//! Checking each string on its own costs a call and a set-up per string, and most strings in a
//! table are short: in basemap tiles with multilingual names that was half the time of reading
//! the tables. Strings in a table lie close together, separated by a few bytes of protobuf
//! framing (a field key, a length, the value's own key and length) and perhaps small numbers.
//! When those bytes are ASCII, they can neither be part of a multi-byte character nor make a
//! neighbour invalid, so the whole stretch from the first string of a run to the last is UTF-8
//! exactly when every string in it is. One check of the stretch (vectorised by simdutf8, whose
//! `unsafe` stays inside it, when the stretch is long enough for that to pay) then proves the
//! run, and each string is a slice of the checked text, taken at character boundaries (which
//! `str::get` checks, safely). A run ends where the bytes between two strings are not ASCII, or
//! when it is full; a run that fails its check is checked string by string with std, whose
//! verdict is final, so the answer is always exactly std's.

use crate::value::Value;

/// Strings held back before a check: enough to make runs long, few enough that setting up the
/// list for each layer costs little.
const RUN: usize = 48;

/// Where a string goes once it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Key(usize),
    Value(usize),
}

/// A string whose check failed: its slot, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotUtf8(pub(crate) Slot);

/// The strings of a table region waiting for their check, in the order they were found.
pub(crate) struct StringRun<'a> {
    region: &'a [u8],
    /// Slot, start and end of each string held back (`u32`, to keep the list small: a string
    /// that ends past 4 GiB is checked on its own at once).
    pending: [(Slot, u32, u32); RUN],
    len: usize,
}

impl<'a> StringRun<'a> {
    pub(crate) fn new(region: &'a [u8]) -> Self {
        StringRun {
            region,
            pending: [(Slot::Key(0), 0, 0); RUN],
            len: 0,
        }
    }

    /// Holds back the string `region[at..at + len]`, to be written to `slot` (which holds a
    /// placeholder) when its run is checked. Checks the run so far first if this string
    /// cannot join it.
    #[inline(always)]
    pub(crate) fn push(
        &mut self,
        slot: Slot,
        at: usize,
        len: usize,
        keys: &mut [&'a str],
        values: &mut [Value<'a>],
    ) -> Result<(), NotUtf8> {
        let end = at.saturating_add(len);
        let (Ok(at32), Ok(end32)) = (u32::try_from(at), u32::try_from(end)) else {
            self.flush(keys, values)?;
            let text = self.region.get(at..end);
            let text = text.and_then(|t| std::str::from_utf8(t).ok());
            return put(slot, text.ok_or(NotUtf8(slot))?, keys, values);
        };
        if self.len > 0 {
            let (_, _, last_end) = self.pending[self.len - 1];
            if self.len == RUN || !self.ascii_between(last_end as usize, at) {
                self.flush(keys, values)?;
            }
        }
        self.pending[self.len] = (slot, at32, end32);
        self.len += 1;
        Ok(())
    }

    /// Whether the bytes from `start` to `end` are ASCII; the usual few bytes of framing are
    /// tested in one load.
    #[inline(always)]
    fn ascii_between(&self, start: usize, end: usize) -> bool {
        let Some(gap) = self.region.get(start..end) else {
            return false;
        };
        match self.region.get(start..).and_then(|r| r.first_chunk::<8>()) {
            Some(word) if gap.len() <= 8 => {
                let keep = u64::MAX.checked_shr(64 - 8 * gap.len() as u32).unwrap_or(0);
                u64::from_le_bytes(*word) & keep & 0x8080_8080_8080_8080 == 0
            }
            _ => gap.is_ascii(),
        }
    }

    /// Checks the strings held back and writes them to their slots. The first string (in
    /// table order) that is not UTF-8 is the error.
    pub(crate) fn flush(
        &mut self,
        keys: &mut [&'a str],
        values: &mut [Value<'a>],
    ) -> Result<(), NotUtf8> {
        let pending = &self.pending[..std::mem::take(&mut self.len)];
        let (Some(&(_, first, _)), Some(&(_, _, last_end))) = (pending.first(), pending.last())
        else {
            return Ok(());
        };
        let first = first as usize;
        let stretch = self
            .region
            .get(first..last_end as usize)
            .unwrap_or_default();
        // simdutf8 hands stretches under 64 bytes to std itself.
        let checked = simdutf8::basic::from_utf8(stretch).ok();
        for &(slot, at, end) in pending {
            let (at, end) = (at as usize, end as usize);
            let text = checked
                .and_then(|t| t.get(at - first..end - first))
                .or_else(|| std::str::from_utf8(self.region.get(at..end)?).ok())
                .ok_or(NotUtf8(slot))?;
            put(slot, text, keys, values)?;
        }
        Ok(())
    }
}

/// Writes a checked string to its slot.
#[inline(always)]
fn put<'a>(
    slot: Slot,
    text: &'a str,
    keys: &mut [&'a str],
    values: &mut [Value<'a>],
) -> Result<(), NotUtf8> {
    match slot {
        Slot::Key(i) => *keys.get_mut(i).ok_or(NotUtf8(slot))? = text,
        Slot::Value(i) => *values.get_mut(i).ok_or(NotUtf8(slot))? = Value::String(text),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of strings with every kind of byte around and inside them: each string is what std
    /// says, and the error is the first string std refuses.
    #[test]
    fn answers_are_exactly_stds() {
        let pieces: [&[u8]; 10] = [
            b"abc",
            "Stra\u{df}e".as_bytes(),
            "\u{6771}\u{4eac}".as_bytes(),
            &[0xe6, 0x9d], // a character cut short
            &[0x9d, 0xb1], // its continuation bytes alone
            &[0xff],       // never UTF-8
            &[0x85],       // a length byte of 128 or more
            b"",
            &[0xc3], // a lead byte whose follower is elsewhere
            b"a long enough piece of text to take the vectorised check, on its own",
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
            for _ in 0..next(300) {
                region.extend_from_slice(pieces[next(pieces.len())]);
                let at = region.len();
                for _ in 0..next(3) {
                    region.extend_from_slice(pieces[next(pieces.len())]);
                }
                spans.push((at, region.len() - at));
            }
            let mut keys = vec![""; spans.len()];
            let mut values = vec![Value::Bool(false); spans.len()];
            let mut run = StringRun::new(&region);
            let mut result = Ok(());
            for (i, &(at, len)) in spans.iter().enumerate() {
                let slot = if i % 3 == 0 {
                    Slot::Key(i)
                } else {
                    Slot::Value(i)
                };
                result = run.push(slot, at, len, &mut keys, &mut values);
                if result.is_err() {
                    break;
                }
            }
            if result.is_ok() {
                result = run.flush(&mut keys, &mut values);
            }
            let first_bad = spans
                .iter()
                .position(|&(at, len)| std::str::from_utf8(&region[at..at + len]).is_err());
            match first_bad {
                Some(i) => {
                    let slot = if i % 3 == 0 {
                        Slot::Key(i)
                    } else {
                        Slot::Value(i)
                    };
                    assert_eq!(result, Err(NotUtf8(slot)), "{region:x?}");
                }
                None => {
                    assert_eq!(result, Ok(()));
                    for (i, &(at, len)) in spans.iter().enumerate() {
                        let expected = std::str::from_utf8(&region[at..at + len]).unwrap();
                        if i % 3 == 0 {
                            assert_eq!(keys[i], expected);
                        } else {
                            assert_eq!(values[i], Value::String(expected));
                        }
                    }
                }
            }
        }
    }
}
