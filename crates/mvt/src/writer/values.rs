//! A layer's key and value tables (spec 4.4): interning keys and values as features are
//! added, taking them back when a feature fails, and the encoding of a `Value`.

use std::collections::hash_map::Entry;

use super::WriteError;
use super::layer::LayerBuilder;
use super::wire;
use crate::value::Value;

/// A non-string value as a hashable key: floats by bit pattern, so `0.0`, `-0.0` and each NaN
/// pattern are distinct values, and the variant is part of the key, so `Int(5)`, `UInt(5)`
/// and `SInt(5)` are distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ScalarKey {
    Float(u32),
    Double(u64),
    Int(i64),
    UInt(u64),
    SInt(i64),
    Bool(bool),
}

impl ScalarKey {
    pub(super) fn of(value: Value<'_>) -> Option<ScalarKey> {
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
impl LayerBuilder {
    /// Fills `self.tags` from `properties`; on error takes back any keys and values added.
    pub(super) fn intern_properties<'k, 'v>(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;
    use prost::Message;

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
}
