//! The crate's error type.

use std::path::PathBuf;

use mlytiles_tile::TileId;

/// What went wrong while rendering or writing a coverage image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tile's bytes could not be read as a vector tile.
    #[error("tile {tile}: {source}")]
    Tile {
        /// The tile whose bytes were read (the stored tile, e.g. the z14 parent of an
        /// overzoomed tile).
        tile: TileId,
        /// The reader's error, naming the layer, feature and spec rule.
        source: mlytiles_mvt::Error,
    },
    /// A stored tile could not be read, with [`RenderOptions::strict`](crate::RenderOptions)
    /// (without it the tile is drawn as missing and named in
    /// [`RenderStats::unreadable`](crate::RenderStats)).
    #[error("tile {tile} in {store} cannot be read: {source}", store = .store.display())]
    Unreadable {
        /// The stored tile (the z14 parent of an overzoomed tile, or a neighbour read for the
        /// dots crossing the edges).
        tile: TileId,
        /// The store it was read from.
        store: PathBuf,
        /// What was wrong with it (the reader's or the store's error).
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Reading a store failed.
    #[error(transparent)]
    Store(#[from] mlytiles_store::Error),
    /// A filter could not be compiled for a layer.
    #[error("filter on tile {tile}, layer {layer}: {source}")]
    Filter {
        /// The tile.
        tile: TileId,
        /// The layer name.
        layer: String,
        /// The filter's error.
        source: mlytiles_filter::Error,
    },
    /// A style name that is not one of [`Style::NAMES`](crate::Style::NAMES), or an
    /// `organization:` / `creator:` style without a numeric id.
    #[error(
        "unknown style {0:?}: expected one of mapillary, classic, age, pano, density, organization:ID, creator:ID"
    )]
    UnknownStyle(String),
    /// Options out of range (tile size, scale, zoom, an empty area...).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The image would be larger than the PNG format or the configured limit allows.
    #[error(
        "a {width} x {height} px image is too large (limit {limit} px on a side); choose a lower zoom or a smaller area"
    )]
    TooLarge {
        /// Width in pixels.
        width: u64,
        /// Height in pixels.
        height: u64,
        /// The largest side allowed.
        limit: u64,
    },
    /// Encoding the PNG failed.
    #[error("PNG encoding: {0}")]
    Png(String),
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file or folder operation failed: `action` is `creating`, `reading` or `writing`.
    #[error("{action} {path}: {source}", path = .path.display())]
    Action {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Drawing one tile of a pyramid failed.
    #[error("tile {tile}: {source}")]
    TileFailed {
        /// The tile.
        tile: TileId,
        /// Why.
        source: Box<Error>,
    },
    /// A pyramid folder was made with other settings, or cannot say how it was made.
    #[error("{folder} {problem}", folder = .folder.display())]
    PyramidSettings {
        /// The pyramid folder.
        folder: PathBuf,
        /// What is wrong.
        problem: crate::pyramid::SettingsProblem,
    },
    /// A shard of a pyramid holds no tile (more shards than tiles).
    #[error("shard {index}/{count} is empty ({total} tiles in all)")]
    EmptyShard {
        /// The shard, 0-based.
        index: u64,
        /// The number of shards.
        count: u64,
        /// The tiles of the whole pyramid.
        total: usize,
    },
    /// A store's `bounds` metadata is not a box W,S,E,N.
    #[error("the store's bounds {text:?}: {source}")]
    BadBounds {
        /// The metadata value.
        text: String,
        /// Why it is not a box.
        source: mlytiles_tile::Error,
    },
    /// The legend's font could not be loaded.
    #[error("legend font: {0}")]
    Font(String),
}

impl Error {
    /// Wraps a reader error as [`Error::Tile`] for `tile`; for `map_err`.
    pub(crate) fn in_tile(tile: TileId) -> impl Fn(mlytiles_mvt::Error) -> Error + Copy {
        move |source| Error::Tile { tile, source }
    }
}

/// This crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
