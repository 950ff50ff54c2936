//! The messages of `vector_tile.proto` 2.1 as owned, prost-derived structs.
//!
//! These mirror the spec's protobuf schema field for field, with proto2 semantics: `optional`
//! fields are `Option`s, `required` fields are plain values that are always encoded, and the
//! `repeated` integer fields `tags` and `geometry` are packed (spec 4.2). Decoding does not
//! check the geometry or the tags; that is the reader's job.
//!
//! Prost writes fields in tag order, so a layer's `version` (tag 15) comes last in the bytes;
//! real-world tiles do the same, and readers must accept fields in any order.

use crate::value::Value as BorrowedValue;

/// A vector tile: a list of layers (`message Tile`, spec 4.1).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Tile {
    /// `repeated Layer layers = 3`.
    #[prost(message, repeated, tag = "3")]
    pub layers: Vec<Layer>,
}

/// A named layer with its features and the key and value tables their tags index into
/// (`message Layer`, spec 4.1).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Layer {
    /// `required uint32 version = 15 [default = 1]`: the spec version the layer follows
    /// (2 for spec 2.x, spec 4.1).
    #[prost(uint32, required, tag = "15", default = "1")]
    pub version: u32,
    /// `required string name = 1`: unique within the tile (spec 4.1).
    #[prost(string, required, tag = "1")]
    pub name: String,
    /// `repeated Feature features = 2`.
    #[prost(message, repeated, tag = "2")]
    pub features: Vec<Feature>,
    /// `repeated string keys = 3`: the property names that feature tags index (spec 4.4).
    #[prost(string, repeated, tag = "3")]
    pub keys: Vec<String>,
    /// `repeated Value values = 4`: the property values that feature tags index (spec 4.4).
    #[prost(message, repeated, tag = "4")]
    pub values: Vec<Value>,
    /// `optional uint32 extent = 5 [default = 4096]`: the width and height of the tile in
    /// geometry units (spec 4.3.2). Prost's generated `extent()` returns 4096 when unset.
    #[prost(uint32, optional, tag = "5", default = "4096")]
    pub extent: Option<u32>,
}

/// One feature: an optional id, its property tags, its geometry type and its encoded geometry
/// (`message Feature`, spec 4.2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Feature {
    /// `optional uint64 id = 1 [default = 0]`.
    #[prost(uint64, optional, tag = "1", default = "0")]
    pub id: Option<u64>,
    /// `repeated uint32 tags = 2 [packed = true]`: pairs of key index and value index
    /// (spec 4.4).
    #[prost(uint32, repeated, packed = "true", tag = "2")]
    pub tags: Vec<u32>,
    /// `optional GeomType type = 3 [default = UNKNOWN]`, as the raw enum number. Prost's
    /// generated `r#type()` maps it to [`GeomType`] (unknown numbers become `Unknown`).
    #[prost(enumeration = "GeomType", optional, tag = "3", default = "Unknown")]
    pub r#type: Option<i32>,
    /// `repeated uint32 geometry = 4 [packed = true]`: the command stream (spec 4.3).
    #[prost(uint32, repeated, packed = "true", tag = "4")]
    pub geometry: Vec<u32>,
}

/// One property value (`message Value`, spec 4.1). Exactly one field should be set.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// `optional string string_value = 1`.
    #[prost(string, optional, tag = "1")]
    pub string_value: Option<String>,
    /// `optional float float_value = 2`.
    #[prost(float, optional, tag = "2")]
    pub float_value: Option<f32>,
    /// `optional double double_value = 3`.
    #[prost(double, optional, tag = "3")]
    pub double_value: Option<f64>,
    /// `optional int64 int_value = 4`.
    #[prost(int64, optional, tag = "4")]
    pub int_value: Option<i64>,
    /// `optional uint64 uint_value = 5`.
    #[prost(uint64, optional, tag = "5")]
    pub uint_value: Option<u64>,
    /// `optional sint64 sint_value = 6` (zigzag encoded).
    #[prost(sint64, optional, tag = "6")]
    pub sint_value: Option<i64>,
    /// `optional bool bool_value = 7`.
    #[prost(bool, optional, tag = "7")]
    pub bool_value: Option<bool>,
}

/// The `GeomType` enum of the proto (spec 4.3.4), as prost sees it.
///
/// The crate-level [`crate::geom_type::GeomType`] is the same set of values; `From` converts
/// both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum GeomType {
    /// `UNKNOWN = 0`.
    Unknown = 0,
    /// `POINT = 1`.
    Point = 1,
    /// `LINESTRING = 2`.
    Linestring = 2,
    /// `POLYGON = 3`.
    Polygon = 3,
}

impl From<crate::geom_type::GeomType> for GeomType {
    fn from(t: crate::geom_type::GeomType) -> Self {
        match t {
            crate::geom_type::GeomType::Unknown => GeomType::Unknown,
            crate::geom_type::GeomType::Point => GeomType::Point,
            crate::geom_type::GeomType::LineString => GeomType::Linestring,
            crate::geom_type::GeomType::Polygon => GeomType::Polygon,
        }
    }
}

impl From<GeomType> for crate::geom_type::GeomType {
    fn from(t: GeomType) -> Self {
        match t {
            GeomType::Unknown => crate::geom_type::GeomType::Unknown,
            GeomType::Point => crate::geom_type::GeomType::Point,
            GeomType::Linestring => crate::geom_type::GeomType::LineString,
            GeomType::Polygon => crate::geom_type::GeomType::Polygon,
        }
    }
}

impl From<BorrowedValue<'_>> for Value {
    /// Sets the one field that matches the variant (`Int` to `int_value`, `SInt` to
    /// `sint_value`, and so on); the string is copied.
    fn from(v: BorrowedValue<'_>) -> Self {
        let mut out = Value::default();
        match v {
            BorrowedValue::String(s) => out.string_value = Some(s.to_owned()),
            BorrowedValue::Float(f) => out.float_value = Some(f),
            BorrowedValue::Double(d) => out.double_value = Some(d),
            BorrowedValue::Int(i) => out.int_value = Some(i),
            BorrowedValue::UInt(u) => out.uint_value = Some(u),
            BorrowedValue::SInt(s) => out.sint_value = Some(s),
            BorrowedValue::Bool(b) => out.bool_value = Some(b),
        }
        out
    }
}

impl Value {
    /// The value as the crate's borrowed [`Value`](crate::value::Value), or `None` unless
    /// exactly one of the seven fields is set (spec 4.1: a value has exactly one of them).
    pub fn to_value(&self) -> Option<BorrowedValue<'_>> {
        let set = [
            self.string_value.as_deref().map(BorrowedValue::String),
            self.float_value.map(BorrowedValue::Float),
            self.double_value.map(BorrowedValue::Double),
            self.int_value.map(BorrowedValue::Int),
            self.uint_value.map(BorrowedValue::UInt),
            self.sint_value.map(BorrowedValue::SInt),
            self.bool_value.map(BorrowedValue::Bool),
        ];
        let mut fields = set.into_iter().flatten();
        let first = fields.next()?;
        match fields.next() {
            None => Some(first),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn value_round_trips_through_the_model() {
        let values = [
            BorrowedValue::String("hello"),
            BorrowedValue::String(""),
            BorrowedValue::Float(-0.0),
            BorrowedValue::Double(1.5e300),
            BorrowedValue::Int(-5),
            BorrowedValue::UInt(u64::MAX),
            BorrowedValue::SInt(i64::MIN),
            BorrowedValue::Bool(false),
        ];
        for v in values {
            let m = Value::from(v);
            assert_eq!(m.to_value(), Some(v));
            let decoded = Value::decode(m.encode_to_vec().as_slice()).unwrap();
            assert_eq!(decoded.to_value(), Some(v));
        }
    }

    #[test]
    fn to_value_needs_exactly_one_field() {
        assert_eq!(Value::default().to_value(), None);
        let two = Value {
            int_value: Some(1),
            uint_value: Some(1),
            ..Value::default()
        };
        assert_eq!(two.to_value(), None);
    }

    #[test]
    fn defaults_follow_the_proto() {
        let layer = Layer::default();
        assert_eq!(layer.version, 1);
        assert_eq!(layer.extent, None);
        assert_eq!(layer.extent(), 4096);
        let feature = Feature::default();
        assert_eq!(feature.r#type(), GeomType::Unknown);
        assert_eq!(feature.id(), 0);
        // A required field is written even when it holds its default.
        let bytes = Layer::default().encode_to_vec();
        assert_eq!(bytes, [0x0a, 0x00, 0x78, 0x01]);
    }

    #[test]
    fn geom_type_converts_both_ways() {
        use crate::geom_type::GeomType as G;
        for g in [G::Unknown, G::Point, G::LineString, G::Polygon] {
            let m = GeomType::from(g);
            assert_eq!(m as i32 as u32, g.to_u32());
            assert_eq!(G::from(m), g);
        }
    }
}
