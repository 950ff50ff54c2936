//! The tile builder (spec 4.1): uniquely named layers concatenated into a tile.

use super::WriteError;
use super::layer::LayerBuilder;
use super::wire;
use crate::model;

/// Builds a tile (spec 4.1): a list of uniquely named layers.
///
/// Layers are written in the order they were first added. Layers without features are left
/// out of the bytes (spec 4.1: a layer should contain at least one feature), so a tile whose
/// layers are all empty encodes to zero bytes.
#[derive(Debug, Clone, Default)]
pub struct TileBuilder {
    layers: Vec<LayerBuilder>,
}

impl TileBuilder {
    /// An empty tile.
    pub fn new() -> Self {
        Self::default()
    }

    /// The layer named `name`, created (extent 4096, version 2) if the tile has none yet.
    /// Calling it again with the same name returns the same layer, so a tile never gets two
    /// layers of one name (spec 4.1).
    pub fn layer(&mut self, name: &str) -> &mut LayerBuilder {
        match self.layers.iter().position(|l| l.name == name) {
            Some(i) => &mut self.layers[i],
            None => {
                self.layers.push(LayerBuilder::new(name));
                self.layers.last_mut().expect("just pushed")
            }
        }
    }

    /// Adds a layer built on its own, or fails with [`WriteError::DuplicateLayer`] if the
    /// tile already has a layer of that name (spec 4.1).
    pub fn add_layer(&mut self, layer: LayerBuilder) -> Result<&mut LayerBuilder, WriteError> {
        if self.layers.iter().any(|l| l.name == layer.name) {
            return Err(WriteError::DuplicateLayer { name: layer.name });
        }
        self.layers.push(layer);
        Ok(self.layers.last_mut().expect("just pushed"))
    }

    /// The layers, in order, including empty ones.
    pub fn layers(&self) -> &[LayerBuilder] {
        &self.layers
    }

    /// `true` if no layer has a feature, so the tile encodes to zero bytes.
    pub fn is_empty(&self) -> bool {
        self.layers.iter().all(LayerBuilder::is_empty)
    }

    /// Removes all layers.
    pub fn clear(&mut self) {
        self.layers.clear();
    }

    /// The length of the encoded tile in bytes.
    pub fn encoded_len(&self) -> usize {
        self.written_layers()
            .map(|l| wire::len_field_len(3, l.body_len()))
            .sum()
    }

    /// Appends the encoded tile to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for layer in self.written_layers() {
            // spec 4.1: `repeated Layer layers = 3`.
            wire::put_key(out, 3, wire::LEN);
            wire::put_varint(out, layer.body_len() as u64);
            layer.encode_body(out);
        }
    }

    /// The encoded tile.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// The encoded tile, consuming the builder.
    pub fn into_bytes(self) -> Vec<u8> {
        self.to_bytes()
    }

    /// The tile as the prost model (the layers that [`to_bytes`](Self::to_bytes) writes).
    pub fn to_model(&self) -> model::Tile {
        model::Tile {
            layers: self.written_layers().map(LayerBuilder::to_model).collect(),
        }
    }

    fn written_layers(&self) -> impl Iterator<Item = &LayerBuilder> {
        self.layers.iter().filter(|l| !l.is_empty())
    }
}
#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    #[test]
    fn layers_are_unique_by_name() {
        let mut tile = TileBuilder::new();
        assert!(tile.is_empty());
        tile.layer("a").set_extent(512);
        let point: Geometry<i32> = point!(x: 1, y: 1).into();
        tile.layer("a").add_feature(None, &point, []).unwrap();
        assert_eq!(tile.layers().len(), 1);
        assert_eq!(tile.layers()[0].len(), 1);
        let err = tile.add_layer(LayerBuilder::new("a")).unwrap_err();
        assert_eq!(
            err,
            WriteError::DuplicateLayer {
                name: "a".to_owned()
            }
        );
        let b = tile
            .add_layer(LayerBuilder::new("b").extent(256).version(1))
            .unwrap();
        b.add_feature(None, &point, []).unwrap();
        tile.layer("empty");
        assert!(!tile.is_empty());

        let decoded = decode_tile(&tile.to_bytes());
        // The empty layer is left out.
        assert_eq!(decoded.layers.len(), 2);
        assert_eq!(decoded.layers[0].name, "a");
        assert_eq!(decoded.layers[0].extent, Some(512));
        assert_eq!(decoded.layers[0].version, 2);
        assert_eq!(decoded.layers[1].name, "b");
        assert_eq!(decoded.layers[1].extent, Some(256));
        assert_eq!(decoded.layers[1].version, 1);
        assert_eq!(tile.to_model(), decoded);

        let mut empty = TileBuilder::new();
        empty.layer("x");
        assert!(empty.is_empty());
        assert!(empty.to_bytes().is_empty());
    }
}
