//! Writing vector tiles: [`TileBuilder`], [`LayerBuilder`] and the streaming
//! [`GeometryEncoder`].
//!
//! A [`LayerBuilder`] encodes each feature into protobuf bytes as it is added, deduplicating
//! property keys and values into the layer's tables (spec 4.4) with hash maps, so adding a
//! feature allocates nothing beyond the amortised growth of the layer's buffers and tables. A
//! [`TileBuilder`] holds the layers and concatenates them into a tile.
//!
//! Geometry comes either from a [`geo_types::Geometry<i32>`] in tile coordinates
//! ([`LayerBuilder::add_feature`]), which is normalised to what spec 4.3 requires (see
//! [`GeometryEncoder::encode_geometry`]), or from a [`GeometryEncoder`] fed through the
//! [`GeometrySink`] trait ([`LayerBuilder::add_feature_encoded`]), which lets a caller copy
//! features from a reader without building geometry values.
//!
//! The bytes are the ones prost writes for the same [`model::Tile`] (fields in tag order, packed
//! `tags` and `geometry`), so `model::Tile::decode` followed by `encode_to_vec` gives them back
//! unchanged.
//!
//! Where things are: `geometry.rs` holds the [`GeometryEncoder`] and [`validate_commands`],
//! `layer.rs` the [`LayerBuilder`] and `values.rs` its key and value tables, `tile.rs` the
//! [`TileBuilder`], and `wire.rs` the protobuf encoding helpers. The command integers and the
//! ring area are shared with the reader (`command.rs`, `ring.rs`).

use crate::geom_type::GeomType;

mod geometry;
mod layer;
mod tile;
mod values;
pub(crate) mod wire;

pub use geometry::{GeometryEncoder, validate_commands};
pub use layer::LayerBuilder;
pub use tile::TileBuilder;

/// Errors from building a tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The geometry has no vertices at all (an empty multipoint, linestring, multilinestring,
    /// polygon or multipolygon).
    #[error(
        "the geometry is an empty {kind}; a feature's geometry needs at least one vertex (spec 4.3.4)"
    )]
    EmptyGeometry {
        /// The geo-types name of the empty geometry, such as `"MultiPoint"`.
        kind: &'static str,
    },
    /// A `GeometryCollection` was given; MVT has no collection type.
    #[error(
        "a GeometryCollection cannot be written: MVT has no geometry collections (spec 4.3.4); write each member as its own feature"
    )]
    GeometryCollection,
    /// A line has fewer than 2 distinct vertices once consecutive duplicates are dropped.
    #[error("line {line} has {distinct} distinct vertices; a line needs at least 2 (spec 4.3.4.3)")]
    ShortLine {
        /// The line's index in its multilinestring (0 for a single line).
        line: usize,
        /// How many vertices are left after dropping consecutive duplicates.
        distinct: usize,
    },
    /// A polygon ring has fewer than 3 distinct vertices once consecutive duplicates and the
    /// closing vertex are dropped.
    #[error(
        "polygon {polygon} ring {ring} has {distinct} distinct vertices; a ring needs at least 3 (spec 4.3.4.4)"
    )]
    ShortRing {
        /// The polygon's index in its multipolygon (0 for a single polygon).
        polygon: usize,
        /// The ring's index in the polygon: 0 is the exterior, 1 and up the interiors.
        ring: usize,
        /// How many vertices are left after dropping consecutive duplicates and the closing
        /// vertex.
        distinct: usize,
    },
    /// A polygon ring has zero area, so it is neither an exterior nor an interior ring.
    #[error(
        "polygon {polygon} ring {ring} has zero area; a ring must have a non-zero area to be an exterior or interior ring (spec 4.3.4.4)"
    )]
    ZeroAreaRing {
        /// The polygon's index in its multipolygon (0 for a single polygon).
        polygon: usize,
        /// The ring's index in the polygon: 0 is the exterior, 1 and up the interiors.
        ring: usize,
    },
    /// A command stream given to [`LayerBuilder::add_feature_encoded`] or
    /// [`validate_commands`] breaks the rules of its geometry type.
    #[error("invalid {geom_type} command stream at integer {offset}: {reason}")]
    InvalidCommands {
        /// The geometry type the stream was checked against.
        geom_type: GeomType,
        /// Index of the offending integer in the stream (the stream's length if it ends too
        /// early).
        offset: usize,
        /// What is wrong, citing the spec.
        reason: String,
    },
    /// A feature lists the same property key twice.
    #[error(
        "property key {key:?} appears more than once in one feature; a feature's key indices must be unique (spec 4.4)"
    )]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A layer was added to a tile that already has a layer of that name.
    #[error(
        "the tile already has a layer named {name:?}; layer names must be unique within a tile (spec 4.1)"
    )]
    DuplicateLayer {
        /// The repeated layer name.
        name: String,
    },
    /// A layer's key or value table would need an index beyond `u32::MAX`.
    #[error("the layer has too many distinct {what}: tag indices are 32-bit (spec 4.2)")]
    TooManyEntries {
        /// `"keys"` or `"values"`.
        what: &'static str,
    },
}

#[cfg(test)]
mod tests;
