#![doc = include_str!("../README.md")]
// Only `bytes` (mapping a file under a read lease) has unsafe code, each block explained.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod atomic;
mod bytes;
mod cache;
mod error;
mod folder;
mod mbtiles;
mod metadata;
mod pmtiles;
mod record;
mod select;
mod stats;

use std::path::Path;

pub use atomic::{write_atomic, write_replacing};
pub use bytes::{Mapped, TileBytes};
pub use cache::{Backend, Cache, validate_tileset_name};
pub use error::{Error, Location, Result};
pub use folder::FolderStore;
pub use mbtiles::MbTiles;
pub use metadata::TilesetMetadata;
pub use pmtiles::{
    ArchiveFormat, ArchiveHeader, ArchiveSummary, ArchiveWriter, Entry as ArchiveEntry,
    MAX_DIRECTORY_BYTES, MAX_DIRECTORY_ENTRIES, MAX_LEAF_DEPTH, MAX_LISTED, PART_KEY, PmTiles,
    merge_archives, pmtiles_tile_id, tile_of_pmtiles_id,
};
pub use record::{
    Failure, MAX_REASON_LEN, StatusCounts, StoredTile, TileBody, TileInfo, TileRecord, TileStatus,
    uncompressed,
};
pub use select::{data_tiles, deepest_data_zoom, find_store, open_store};
pub use stats::{
    MAX_ALL_ATTRIBUTES, MAX_ATTRIBUTES, MAX_COUNTED_VALUES, MAX_LAYERS, MAX_REPORTED_VALUES,
    MAX_VALUE_LEN, TileStats,
};

pub use chrono;
pub use mlytiles_tile::{BBox, TileId};
pub use rusqlite;

/// A store of one tileset's tiles, each with a status (data, empty, failed) and fetch times.
///
/// Implementations are `Send + Sync`: one store can be shared by threads (e.g. in an `Arc`).
/// Every [`put`](Self::put) is atomic: a reader, or a process opening the store after a crash,
/// sees the tile as it was before or after the write, never half of it.
///
/// A failure never replaces a result: `put` of [`TileBody::Failed`] on a tile that has data
/// or an empty answer keeps them and only records the failure in [`TileInfo::failure`]. A later
/// successful put clears the failure.
pub trait TileStore: Send + Sync {
    /// The store's file or folder.
    fn path(&self) -> &Path;

    /// The tile's bytes (as stored: maybe gzip-compressed, see
    /// [`StoredTile::uncompressed`]) and status; `None` if the store knows nothing of it.
    ///
    /// # Errors
    ///
    /// I/O or SQLite errors, or [`Error::Corrupt`] for unreadable status records.
    fn get(&self, tile: TileId) -> Result<Option<StoredTile>>;

    /// As [`get`](Self::get), with the bytes as [`TileBytes`]: a store of files maps a large
    /// one into memory instead of reading it when the system promises it will not shrink
    /// meanwhile (a [`FolderStore`] on Linux, under a read lease), which spares copying it
    /// into fresh memory. Meant for bytes used and dropped soon (drawing a tile): while
    /// they live, other programs' writes to the file wait. The default reads, as `get`.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn get_bytes(&self, tile: TileId) -> Result<Option<(TileInfo, TileBytes)>> {
        Ok(self.get(tile)?.map(|t| (t.info, TileBytes::Owned(t.data))))
    }

    /// Records the outcome of fetching `tile`, atomically.
    ///
    /// # Errors
    ///
    /// I/O or SQLite errors; [`Error::ReadOnly`] for a store opened read-only.
    fn put(&self, tile: TileId, record: &TileRecord) -> Result<()>;

    /// The tile's status and times without its bytes; `None` if the store knows nothing of it.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn info(&self, tile: TileId) -> Result<Option<TileInfo>>;

    /// Whether the store holds a result for the tile: data or an empty answer. A tile that only
    /// failed is not held (it should be fetched again).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn has(&self, tile: TileId) -> Result<bool> {
        Ok(self
            .info(tile)?
            .is_some_and(|i| i.status != TileStatus::Failed))
    }

    /// The tiles the store knows at zoom `z`, inside `bbox` if given (the tiles of
    /// [`TileCover::new(bbox, z)`](mlytiles_tile::TileCover::new)), sorted by [`TileId`].
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn list(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileStatus)>>;

    /// As [`list`](Self::list), with each tile's status, times and validators (no bytes):
    /// what a download plan needs. The default asks [`info`](Self::info) per tile; MBTiles
    /// answers in one query.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn list_info(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileInfo)>> {
        let mut out = Vec::new();
        for (tile, _) in self.list(z, bbox)? {
            if let Some(info) = self.info(tile)? {
                out.push((tile, info));
            }
        }
        Ok(out)
    }

    /// Records several outcomes, each as [`put`](Self::put) would. The default puts them one
    /// by one; MBTiles writes them in one transaction (all or none).
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    fn put_many(&self, records: &[(TileId, TileRecord)]) -> Result<()> {
        for (tile, record) in records {
            self.put(*tile, record)?;
        }
        Ok(())
    }

    /// How many tiles the store holds per status, over all zooms.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn count_by_status(&self) -> Result<StatusCounts>;

    /// All metadata entries (`name`, `format`, `bounds`, `minzoom`, `maxzoom`, `json`, ...),
    /// sorted by name.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn metadata(&self) -> Result<Vec<(String, String)>>;

    /// One metadata value.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    fn metadata_value(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .metadata()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v))
    }

    /// Sets metadata entries, replacing earlier values of the same names, atomically.
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    fn set_metadata(&self, entries: &[(&str, &str)]) -> Result<()>;
}

/// The inclusive tile ranges of a bbox cover at one zoom, for filtering listings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranges {
    /// First column; when `x0 > x1` the columns wrap around the antimeridian.
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
}

impl Ranges {
    pub(crate) fn new(z: u8, bbox: Option<BBox>) -> Option<Ranges> {
        if z > mlytiles_tile::MAX_ZOOM {
            return None;
        }
        let last = (1u32 << z) - 1;
        let Some(bbox) = bbox else {
            return Some(Ranges {
                x0: 0,
                x1: last,
                y0: 0,
                y1: last,
            });
        };
        let mut cover = mlytiles_tile::TileCover::new(bbox, z).ok()?;
        let first = cover.next()?;
        let end = cover.next_back().unwrap_or(first);
        Some(Ranges {
            x0: first.x(),
            x1: end.x(),
            y0: first.y(),
            y1: end.y(),
        })
    }

    /// The TMS rows (first, last) of the XYZ rows `y0..=y1` at zoom `z`.
    pub(crate) fn tms_rows(&self, z: u8) -> (u32, u32) {
        let last = (1u32 << z) - 1;
        (last - self.y1, last - self.y0)
    }

    /// The SQL condition on `{prefix}zoom_level`, `{prefix}tile_column` and `{prefix}tile_row`
    /// for these ranges, with the parameters ?1 zoom, ?2 x0, ?3 x1, ?4 and ?5 the
    /// [`tms_rows`](Self::tms_rows); columns wrap around the antimeridian when `x0 > x1`.
    pub(crate) fn sql(&self, prefix: &str) -> String {
        let cols = if self.x0 <= self.x1 {
            format!("{prefix}tile_column BETWEEN ?2 AND ?3")
        } else {
            format!("({prefix}tile_column >= ?2 OR {prefix}tile_column <= ?3)")
        };
        format!("{prefix}zoom_level=?1 AND {cols} AND {prefix}tile_row BETWEEN ?4 AND ?5")
    }

    pub(crate) fn contains(&self, tile: TileId) -> bool {
        let x_in = if self.x0 <= self.x1 {
            (self.x0..=self.x1).contains(&tile.x())
        } else {
            tile.x() >= self.x0 || tile.x() <= self.x1
        };
        x_in && (self.y0..=self.y1).contains(&tile.y())
    }
}
