//! Property values as the spec defines them (spec 4.1, `Value` message).

use std::fmt;

/// One property value, borrowed from the tile's bytes.
///
/// The variants follow the seven fields of the `Value` message of vector_tile.proto 2.1; the
/// reader keeps the one the tile used, so `Int(5)` and `UInt(5)` are different values, as they
/// are in the encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// `string_value` (field 1), UTF-8 checked.
    String(&'a str),
    /// `float_value` (field 2).
    Float(f32),
    /// `double_value` (field 3).
    Double(f64),
    /// `int_value` (field 4, `int64`).
    Int(i64),
    /// `uint_value` (field 5, `uint64`).
    UInt(u64),
    /// `sint_value` (field 6, zigzag `sint64`).
    SInt(i64),
    /// `bool_value` (field 7).
    Bool(bool),
}

impl<'a> Value<'a> {
    /// The string, if this is a `String` value.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an `i64` if it is an integer that fits (`Int`, `SInt`, or `UInt` up to
    /// `i64::MAX`). Floating-point values are not converted.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) | Value::SInt(v) => Some(v),
            Value::UInt(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a `u64` if it is a non-negative integer (`UInt`, or `Int`/`SInt` >= 0).
    /// Mapillary ids go above 2^53, so read them with this, never through `f64`.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::UInt(v) => Some(v),
            Value::Int(v) | Value::SInt(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as an `f64` for any numeric variant (integers above 2^53 round).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(f64::from(v)),
            Value::Double(v) => Some(v),
            Value::Int(v) | Value::SInt(v) => Some(v as f64),
            Value::UInt(v) => Some(v as f64),
            _ => None,
        }
    }

    /// The value if it is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The kind of value, independent of its content.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::String(_) => ValueType::String,
            Value::Float(_) => ValueType::Float,
            Value::Double(_) => ValueType::Double,
            Value::Int(_) => ValueType::Int,
            Value::UInt(_) => ValueType::UInt,
            Value::SInt(_) => ValueType::SInt,
            Value::Bool(_) => ValueType::Bool,
        }
    }
}

impl fmt::Display for Value<'_> {
    /// Writes the value plainly: strings without quotes, numbers exactly (integers never go
    /// through a float).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => f.write_str(s),
            Value::Float(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
            Value::Int(v) | Value::SInt(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// The seven value types of the spec, named as in vector_tile.proto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// `string_value`
    String,
    /// `float_value`
    Float,
    /// `double_value`
    Double,
    /// `int_value`
    Int,
    /// `uint_value`
    UInt,
    /// `sint_value`
    SInt,
    /// `bool_value`
    Bool,
}

impl ValueType {
    /// The proto field name, such as `"uint_value"`.
    pub fn proto_name(self) -> &'static str {
        match self {
            ValueType::String => "string_value",
            ValueType::Float => "float_value",
            ValueType::Double => "double_value",
            ValueType::Int => "int_value",
            ValueType::UInt => "uint_value",
            ValueType::SInt => "sint_value",
            ValueType::Bool => "bool_value",
        }
    }

    /// A short name for people: `string`, `float`, `double`, `int`, `uint`, `sint`, `bool`.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Float => "float",
            ValueType::Double => "double",
            ValueType::Int => "int",
            ValueType::UInt => "uint",
            ValueType::SInt => "sint",
            ValueType::Bool => "bool",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
