//! The layer builder (spec 4.1, 4.2): features encoded to bytes as they are added.

use std::collections::HashMap;

use geo_types::Geometry;
use prost::Message;

use super::values::ScalarKey;
use super::wire;
use super::{GeometryEncoder, WriteError, validate_commands};
use crate::geom_type::GeomType;
use crate::model;
use crate::value::Value;

/// Builds one layer (spec 4.1): its name, extent, version, features, and the key and value
/// tables the features' tags index (spec 4.4).
///
/// Keys and values are deduplicated: every feature that uses the key `"class"` gets the same
/// key index, and likewise for values. Values are equal only if they have the same variant
/// and, for floats, the same bit pattern (`Int(5)`, `UInt(5)` and `SInt(5)` are three values;
/// so are `0.0`, `-0.0` and `NaN`).
///
/// Features are encoded into bytes as they are added; a feature that fails (bad geometry,
/// repeated key) leaves the layer as it was.
#[derive(Debug, Clone)]
pub struct LayerBuilder {
    pub(super) name: String,
    pub(super) extent: u32,
    pub(super) version: u32,
    pub(super) feature_count: usize,
    /// The encoded `features` fields (tag 2), in insertion order.
    pub(super) features: Vec<u8>,
    /// The encoded `keys` fields (tag 3).
    pub(super) keys: Vec<u8>,
    pub(super) key_index: HashMap<String, u32>,
    /// Per key index, the serial of the last feature that used it (spec 4.4: a key index is
    /// unique within a feature). Its length is the number of keys.
    pub(super) key_last_use: Vec<u64>,
    /// The encoded `values` fields (tag 4).
    pub(super) values: Vec<u8>,
    pub(super) value_count: u32,
    pub(super) string_values: HashMap<String, u32>,
    pub(super) scalar_values: HashMap<ScalarKey, u32>,
    /// Serial of the feature being added.
    pub(super) serial: u64,
    /// Scratch for the feature's tags.
    pub(super) tags: Vec<u32>,
    /// Scratch for `add_feature`'s geometry.
    pub(super) encoder: GeometryEncoder,
}

impl LayerBuilder {
    /// An empty layer named `name`, with extent 4096 and version 2.
    pub fn new(name: impl Into<String>) -> Self {
        LayerBuilder {
            name: name.into(),
            extent: 4096,
            version: 2,
            feature_count: 0,
            features: Vec::new(),
            keys: Vec::new(),
            key_index: HashMap::new(),
            key_last_use: Vec::new(),
            values: Vec::new(),
            value_count: 0,
            string_values: HashMap::new(),
            scalar_values: HashMap::new(),
            serial: 0,
            tags: Vec::new(),
            encoder: GeometryEncoder::new(),
        }
    }

    /// Sets the extent (spec 4.3.2; default 4096), which is always written.
    pub fn extent(mut self, extent: u32) -> Self {
        self.extent = extent;
        self
    }

    /// Sets the version (spec 4.1; default 2), which is written as given.
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Sets the extent in place; see [`extent`](Self::extent).
    pub fn set_extent(&mut self, extent: u32) -> &mut Self {
        self.extent = extent;
        self
    }

    /// Sets the version in place; see [`version`](Self::version).
    pub fn set_version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of features added.
    pub fn len(&self) -> usize {
        self.feature_count
    }

    /// `true` if no feature has been added.
    pub fn is_empty(&self) -> bool {
        self.feature_count == 0
    }

    /// The number of distinct keys in the layer's key table.
    pub fn key_count(&self) -> usize {
        self.key_last_use.len()
    }

    /// The number of distinct values in the layer's value table.
    pub fn value_count(&self) -> usize {
        self.value_count as usize
    }

    /// Removes all features, keys and values, keeping the name, extent, version and the
    /// allocated buffers.
    pub fn clear(&mut self) {
        self.feature_count = 0;
        self.features.clear();
        self.keys.clear();
        self.key_index.clear();
        self.key_last_use.clear();
        self.values.clear();
        self.value_count = 0;
        self.string_values.clear();
        self.scalar_values.clear();
        self.tags.clear();
        self.encoder.clear();
    }

    /// Adds a feature with a geo-types geometry in tile coordinates and its properties.
    ///
    /// The geometry is normalised as [`GeometryEncoder::encode_geometry`] describes (dropped
    /// duplicate vertices, ring winding fixed) and its type follows from the variant. The
    /// properties become tags (spec 4.4); a key may appear only once. On error the layer is
    /// unchanged.
    pub fn add_feature<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<i32>,
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        let mut encoder = std::mem::take(&mut self.encoder);
        let result = encoder.encode_geometry(geometry).and_then(|geom_type| {
            debug_assert_eq!(validate_commands(geom_type, encoder.commands()), Ok(()));
            self.push_feature(id, geom_type, encoder.commands(), properties)
        });
        self.encoder = encoder;
        result
    }

    /// Adds a feature whose geometry was built with a [`GeometryEncoder`], checking the
    /// command stream against `geom_type` first ([`validate_commands`]). On error the layer
    /// is unchanged.
    pub fn add_feature_encoded<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geom_type: GeomType,
        geometry: &GeometryEncoder,
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        self.add_feature_commands(id, geom_type, geometry.commands(), properties)
    }

    /// Adds a feature from an already encoded command stream (the integers of the `geometry`
    /// field), checking it against `geom_type` first ([`validate_commands`]). On error the
    /// layer is unchanged.
    pub fn add_feature_commands<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geom_type: GeomType,
        commands: &[u32],
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        validate_commands(geom_type, commands)?;
        self.push_feature(id, geom_type, commands, properties)
    }

    /// The layer as the prost model (decoded from the bytes this builder writes).
    pub fn to_model(&self) -> model::Layer {
        let mut bytes = Vec::with_capacity(self.body_len());
        self.encode_body(&mut bytes);
        model::Layer::decode(bytes.as_slice()).expect("the writer's own bytes decode")
    }

    fn push_feature<'k, 'v>(
        &mut self,
        id: Option<u64>,
        geom_type: GeomType,
        commands: &[u32],
        properties: impl IntoIterator<Item = (&'k str, Value<'v>)>,
    ) -> Result<(), WriteError> {
        self.intern_properties(properties)?;

        // spec 4.2, in tag order: id (1), tags (2, packed), type (3), geometry (4, packed).
        let tags_len = wire::packed_len(&self.tags);
        let geometry_len = wire::packed_len(commands);
        let mut body = wire::key_len(3) + wire::varint_len(u64::from(geom_type.to_u32()));
        if let Some(id) = id {
            body += wire::key_len(1) + wire::varint_len(id);
        }
        if !self.tags.is_empty() {
            body += wire::len_field_len(2, tags_len);
        }
        if !commands.is_empty() {
            body += wire::len_field_len(4, geometry_len);
        }

        let out = &mut self.features;
        out.reserve(wire::len_field_len(2, body));
        wire::put_key(out, 2, wire::LEN);
        wire::put_varint(out, body as u64);
        if let Some(id) = id {
            wire::put_key(out, 1, wire::VARINT);
            wire::put_varint(out, id);
        }
        if !self.tags.is_empty() {
            wire::put_key(out, 2, wire::LEN);
            wire::put_varint(out, tags_len as u64);
            for &t in &self.tags {
                wire::put_varint(out, u64::from(t));
            }
        }
        wire::put_key(out, 3, wire::VARINT);
        wire::put_varint(out, u64::from(geom_type.to_u32()));
        if !commands.is_empty() {
            wire::put_key(out, 4, wire::LEN);
            wire::put_varint(out, geometry_len as u64);
            for &c in commands {
                wire::put_varint(out, u64::from(c));
            }
        }
        self.feature_count += 1;
        Ok(())
    }
    /// The length of the `Layer` message's body.
    pub(super) fn body_len(&self) -> usize {
        wire::len_field_len(1, self.name.len())
            + self.features.len()
            + self.keys.len()
            + self.values.len()
            + wire::key_len(5)
            + wire::varint_len(u64::from(self.extent))
            + wire::key_len(15)
            + wire::varint_len(u64::from(self.version))
    }

    /// Appends the `Layer` message's body: fields in tag order, as prost writes them.
    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        // spec 4.1: name (1), features (2), keys (3), values (4), extent (5), version (15).
        wire::put_key(out, 1, wire::LEN);
        wire::put_varint(out, self.name.len() as u64);
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.features);
        out.extend_from_slice(&self.keys);
        out.extend_from_slice(&self.values);
        wire::put_key(out, 5, wire::VARINT);
        wire::put_varint(out, u64::from(self.extent));
        wire::put_key(out, 15, wire::VARINT);
        wire::put_varint(out, u64::from(self.version));
    }
}
#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    #[test]
    fn keys_and_values_are_deduplicated() {
        let mut tile = TileBuilder::new();
        let layer = tile.layer("roads");
        let point = point!(x: 1, y: 1).into();
        layer
            .add_feature(
                Some(1),
                &point,
                [
                    ("class", Value::String("primary")),
                    ("lanes", Value::Int(5)),
                ],
            )
            .unwrap();
        layer
            .add_feature(
                Some(2),
                &point,
                [
                    ("lanes", Value::Int(5)),
                    ("class", Value::String("primary")),
                ],
            )
            .unwrap();
        layer
            .add_feature(
                Some(3),
                &point,
                [
                    ("a", Value::UInt(5)),
                    ("b", Value::SInt(5)),
                    ("c", Value::Int(5)),
                    ("d", Value::Double(5.0)),
                    ("e", Value::Float(5.0)),
                    ("f", Value::String("5")),
                ],
            )
            .unwrap();
        assert_eq!(layer.key_count(), 8);
        assert_eq!(layer.value_count(), 7);

        let decoded = decode_tile(&tile.to_bytes());
        let l = &decoded.layers[0];
        assert_eq!(l.keys, ["class", "lanes", "a", "b", "c", "d", "e", "f"]);
        assert_eq!(l.features[0].tags, [0, 0, 1, 1]);
        assert_eq!(l.features[1].tags, [1, 1, 0, 0]);
        assert_eq!(l.features[2].tags, [2, 2, 3, 3, 4, 1, 5, 4, 6, 5, 7, 6]);
        let values: Vec<_> = l.values.iter().map(|v| v.to_value().unwrap()).collect();
        assert_eq!(
            values,
            [
                Value::String("primary"),
                Value::Int(5),
                Value::UInt(5),
                Value::SInt(5),
                Value::Double(5.0),
                Value::Float(5.0),
                Value::String("5"),
            ]
        );
        assert_eq!(
            l.features.iter().map(|f| f.id).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
    }

    #[test]
    fn floats_are_keyed_by_bits() {
        let mut layer = LayerBuilder::new("l");
        let point = point!(x: 1, y: 1).into();
        let props = [
            ("a", Value::Double(0.0)),
            ("b", Value::Double(-0.0)),
            ("c", Value::Double(f64::NAN)),
            ("d", Value::Float(f32::NAN)),
            ("e", Value::Float(-0.0)),
        ];
        layer.add_feature(None, &point, props).unwrap();
        layer.add_feature(None, &point, props).unwrap();
        assert_eq!(layer.value_count(), 5);
        let model = layer.to_model();
        assert_eq!(model.features[1].tags, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        assert_eq!(
            model.values[1].double_value.unwrap().to_bits(),
            (-0.0f64).to_bits()
        );
        assert!(model.values[2].double_value.unwrap().is_nan());
    }

    #[test]
    fn a_repeated_key_fails_and_leaves_the_tables() {
        let mut layer = LayerBuilder::new("l");
        let point = point!(x: 1, y: 1).into();
        layer
            .add_feature(None, &point, [("a", Value::Int(1))])
            .unwrap();
        let err = layer
            .add_feature(
                None,
                &point,
                [
                    ("new", Value::String("x")),
                    ("a", Value::Int(1)),
                    ("b", Value::Bool(true)),
                    ("a", Value::Int(2)),
                ],
            )
            .unwrap_err();
        assert_eq!(
            err,
            WriteError::DuplicateKey {
                key: "a".to_owned()
            }
        );
        assert_eq!(layer.len(), 1);
        assert_eq!(layer.key_count(), 1);
        assert_eq!(layer.value_count(), 1);
        // The next feature is unaffected: "a" is usable again, new entries start after it.
        layer
            .add_feature(
                None,
                &point,
                [("a", Value::Int(1)), ("b", Value::Bool(true))],
            )
            .unwrap();
        let model = layer.to_model();
        assert_eq!(model.keys, ["a", "b"]);
        assert_eq!(model.values.len(), 2);
        assert_eq!(model.features[1].tags, [0, 0, 1, 1]);
    }
}
