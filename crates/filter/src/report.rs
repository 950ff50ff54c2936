//! Counts of property values that arrived with an unexpected type.

use std::fmt;

use mlytiles_mvt::{Value, ValueType};

use crate::kind::{Key, LayerKind, expected_type};

/// What was found where a typed value was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Found {
    /// A value of this type (for an id: also a negative integer; for an angle: a non-finite
    /// number).
    Type(ValueType),
    /// The empty string `""`, which older tiles carry in place of numbers.
    EmptyString,
}

impl Found {
    /// What `v` is, for a report.
    pub fn of(v: &Value<'_>) -> Found {
        match v {
            Value::String("") => Found::EmptyString,
            other => Found::Type(other.value_type()),
        }
    }

    const SLOTS: usize = 8;

    fn slot(self) -> usize {
        match self {
            Found::EmptyString => 0,
            Found::Type(t) => 1 + t as usize,
        }
    }

    fn from_slot(i: usize) -> Found {
        const TYPES: [ValueType; 7] = [
            ValueType::String,
            ValueType::Float,
            ValueType::Double,
            ValueType::Int,
            ValueType::UInt,
            ValueType::SInt,
            ValueType::Bool,
        ];
        match i {
            0 => Found::EmptyString,
            i => Found::Type(TYPES[i - 1]),
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Type(t) => write!(f, "{t}"),
            Found::EmptyString => f.write_str("empty string"),
        }
    }
}

/// Receives unreadable values; `()` ignores them.
pub(crate) trait Mismatches {
    fn mismatch(&mut self, layer: LayerKind, key: Key, found: Found);
}

impl Mismatches for () {
    #[inline(always)]
    fn mismatch(&mut self, _: LayerKind, _: Key, _: Found) {}
}

/// One line of a [`TypeReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    /// The layer.
    pub layer: LayerKind,
    /// The property key.
    pub key: Key,
    /// The type the record expects there.
    pub expected: ValueType,
    /// What was found instead.
    pub found: Found,
    /// How many values.
    pub count: u64,
}

/// Counts, per layer, key and found type, the values the typed records could not use (the
/// field was left unknown). A fixed table: counting never allocates.
///
/// Fill it with the readers' `read_reporting`; merge reports of several tiles with
/// [`TypeReport::merge`].
#[derive(Clone, PartialEq, Eq)]
pub struct TypeReport {
    counts: [[[u64; Found::SLOTS]; Key::COUNT]; 5],
}

impl Default for TypeReport {
    fn default() -> Self {
        TypeReport {
            counts: [[[0; Found::SLOTS]; Key::COUNT]; 5],
        }
    }
}

impl TypeReport {
    /// An empty report.
    pub fn new() -> TypeReport {
        TypeReport::default()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// The number of unreadable values counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().flatten().sum()
    }

    /// The count for one layer, key and found type.
    pub fn count(&self, layer: LayerKind, key: Key, found: Found) -> u64 {
        self.counts[layer.index()][key as usize][found.slot()]
    }

    /// Adds `other`'s counts to this one's.
    pub fn merge(&mut self, other: &TypeReport) {
        for (a, b) in self
            .counts
            .iter_mut()
            .flatten()
            .flatten()
            .zip(other.counts.iter().flatten().flatten())
        {
            *a += b;
        }
    }

    /// The non-zero counts, by layer, key and found type.
    pub fn iter(&self) -> impl Iterator<Item = Mismatch> + '_ {
        LayerKind::ALL.into_iter().flat_map(move |layer| {
            Key::ALL.into_iter().flat_map(move |key| {
                (0..Found::SLOTS).filter_map(move |slot| {
                    let count = self.counts[layer.index()][key as usize][slot];
                    (count > 0).then(|| Mismatch {
                        layer,
                        key,
                        expected: expected_type(layer, key),
                        found: Found::from_slot(slot),
                        count,
                    })
                })
            })
        })
    }
}

impl Mismatches for TypeReport {
    #[inline]
    fn mismatch(&mut self, layer: LayerKind, key: Key, found: Found) {
        self.counts[layer.index()][key as usize][found.slot()] += 1;
    }
}

impl fmt::Debug for TypeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Display for TypeReport {
    /// One line per count: `image.captured_at: 31261 empty string (expected int)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in self.iter() {
            writeln!(
                f,
                "{}.{}: {} {} (expected {})",
                m.layer, m.key, m.count, m.found, m.expected
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_and_display() {
        let mut a = TypeReport::new();
        assert!(a.is_empty());
        a.mismatch(LayerKind::Image, Key::CapturedAt, Found::EmptyString);
        a.mismatch(LayerKind::Image, Key::CapturedAt, Found::EmptyString);
        let mut b = TypeReport::new();
        b.mismatch(LayerKind::Sequence, Key::Id, Found::Type(ValueType::Int));
        a.merge(&b);
        assert_eq!(a.total(), 3);
        assert_eq!(
            a.count(LayerKind::Image, Key::CapturedAt, Found::EmptyString),
            2
        );
        assert_eq!(
            a.to_string(),
            "sequence.id: 1 int (expected string)\nimage.captured_at: 2 empty string (expected int)\n"
        );
        for slot in 0..Found::SLOTS {
            assert_eq!(Found::from_slot(slot).slot(), slot);
        }
    }
}
