#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
mod error;
mod feature;
mod geom_type;
mod geometry;
mod gzip;
mod layer;
pub mod model;
mod pbf;
mod ring;
mod text;
mod tile;
mod value;
mod writer;

pub use error::{Error, ErrorKind, Result, Severity};
pub use feature::{Feature, Properties, Tags};
pub use geo_types;
pub use geom_type::{GeomType, GeometrySink, RingType};
pub use geometry::{Command, Commands, GeometryInts};
pub use gzip::{DEFAULT_MAX_DECOMPRESSED, decompress, is_gzip};
pub use layer::{DEFAULT_EXTENT, Features, Layer, LayerHeader};
pub use ring::ring_area2;
pub use tile::{Layers, Tile, VersionPolicy};
pub use value::{Value, ValueType};
pub use writer::{GeometryEncoder, LayerBuilder, TileBuilder, WriteError, validate_commands};
