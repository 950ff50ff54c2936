#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod area;
mod bbox;
mod cover;
mod error;
mod mercator;
mod order;
mod span;
mod tile;

pub use area::{cover_box, parse_tile_list};
#[cfg(feature = "polygon")]
pub use area::{cover_polygons, tile_touches};
pub use bbox::BBox;
pub use cover::TileCover;
pub use error::{Error, Result};
pub use mercator::{TileTransform, lon_lat_to_tile_fraction};
pub use order::hilbert_order;
pub use span::{Span, SpanUnit};
pub use tile::TileId;

/// The deepest supported zoom level (2^30 tiles per side).
pub const MAX_ZOOM: u8 = 30;

/// The latitude (degrees) of the north edge of the Web Mercator square,
/// `atan(sinh(pi))`; latitudes beyond ±this are clamped.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;
