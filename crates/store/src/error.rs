//! The crate's error type.

use std::fmt;
use std::path::PathBuf;

use mlytiles_tile::TileId;

/// Where an error happened: a file or folder, and the tile if one was involved.
///
/// Displays as `path` or `path, tile z/x/y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The store file or folder, or the file inside a folder store.
    pub path: PathBuf,
    /// The tile being read or written, if any.
    pub tile: Option<TileId>,
}

impl Location {
    pub(crate) fn new(path: impl Into<PathBuf>, tile: Option<TileId>) -> Location {
        Location {
            path: path.into(),
            tile,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(tile) = self.tile {
            write!(f, ", tile {tile}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in this crate. Each message names the file or folder and,
/// where one is involved, the tile as `z/x/y`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file or folder failed.
    #[error("{at}: {source}")]
    Io {
        /// The file and tile.
        at: Location,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite reported an error (including "file is not a database" and a busy timeout).
    #[error("{at}: SQLite: {source}")]
    Sqlite {
        /// The MBTiles file and tile.
        at: Location,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The store holds something that does not make sense (an invalid tile address, an unknown
    /// status, an unreadable sidecar file).
    #[error("{at}: corrupt store: {detail}")]
    Corrupt {
        /// The file and tile.
        at: Location,
        /// What is wrong.
        detail: String,
    },
    /// Stored tile bytes are gzip data that does not decompress (or decompresses beyond
    /// [`mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED`]).
    #[error("tile {tile}: {source}")]
    Decompress {
        /// The tile.
        tile: TileId,
        /// The underlying error.
        #[source]
        source: mlytiles_mvt::Error,
    },
    /// A write was attempted on a store opened read-only.
    #[error("{path}: the store is open read-only", path = .path.display())]
    ReadOnly {
        /// The store file.
        path: PathBuf,
    },
    /// The store uses a layout this crate can read but not write (e.g. an MBTiles file whose
    /// `tiles` is a view over deduplicated tables).
    #[error("{at}: {what} is not supported")]
    Unsupported {
        /// The file.
        at: Location,
        /// What is not supported.
        what: String,
    },
    /// Two PMTiles archives that [`merge_archives`](crate::merge_archives) cannot join.
    #[error("{part}: cannot be merged with {other}: {reason}", part = .part.display(), other = .other.display())]
    MergeRefused {
        /// The part refused.
        part: PathBuf,
        /// The part it conflicts with.
        other: PathBuf,
        /// Why: the tiles overlap, or which settings differ.
        reason: String,
    },
    /// A tileset name that cannot be used as a file name in a cache folder.
    #[error("invalid tileset name {name:?}: {reason}")]
    InvalidTilesetName {
        /// The rejected name.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
