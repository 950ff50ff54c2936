//! PMTiles v3 archives: one file of tiles ordered by Hilbert tile id, with a directory that
//! clients read by range requests. Read here as a read-only [`TileStore`]; written by
//! [`ArchiveWriter`] (through the `pmtiles` crate's streaming writer) and joined by
//! [`merge_archives`].
//!
//! The reader is synchronous and checks everything it reads against the file: sections lie
//! inside the file, a directory inflates to at most [`MAX_DIRECTORY_BYTES`] and holds at most
//! [`MAX_DIRECTORY_ENTRIES`], leaf directories
//! nest at most [`MAX_LEAF_DEPTH`] deep and a listing holds at most [`MAX_LISTED`] tiles, so
//! a damaged or hostile archive gives an error, never a panic or an allocation far beyond
//! its size.

mod format;
mod write;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mlytiles_tile::{BBox, TileId};

use crate::error::{Error, Location, Result};
use crate::record::{StatusCounts, StoredTile, TileInfo, TileRecord, TileStatus};
use crate::{Ranges, TileStore};

pub use format::{
    ArchiveHeader, Entry, MAX_DIRECTORY_BYTES, MAX_DIRECTORY_ENTRIES, MAX_LEAF_DEPTH, MAX_LISTED,
};
pub use write::{ArchiveFormat, ArchiveSummary, ArchiveWriter, PART_KEY, merge_archives};

/// The PMTiles tile id of `tile`: its zoom's base plus its distance along the Hilbert curve.
///
/// ```
/// use mlytiles_store::{TileId, pmtiles_tile_id};
///
/// assert_eq!(pmtiles_tile_id(TileId::new(0, 0, 0)?), 0);
/// assert_eq!(pmtiles_tile_id(TileId::new(1, 0, 0)?), 1);
/// assert_eq!(pmtiles_tile_id(TileId::new(1, 1, 0)?), 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pmtiles_tile_id(tile: TileId) -> u64 {
    zoom_ids(tile.z()).0 + mlytiles_tile::hilbert_order(tile.z(), tile.x(), tile.y())
}

/// The tile of a PMTiles tile id; `None` past the deepest zoom either side supports.
pub fn tile_of_pmtiles_id(id: u64) -> Option<TileId> {
    let coord = pmtiles::TileCoord::from(pmtiles::TileId::new(id).ok()?);
    TileId::new(coord.z(), coord.x(), coord.y()).ok()
}

/// How many leaf directories a [`PmTiles`] keeps decoded.
const LEAF_CACHE: usize = 64;

/// A PMTiles v3 archive opened for reading, as a [`TileStore`]: every tile it addresses has
/// [`TileStatus::Data`] and no fetch time; writes fail with [`Error::ReadOnly`] (archives are
/// written whole by [`ArchiveWriter`]).
///
/// Opening reads the header, the root directory and the metadata; each
/// [`get`](TileStore::get) reads at most one leaf directory per level (the last
/// 64 are kept decoded) and the tile's bytes.
pub struct PmTiles {
    path: PathBuf,
    file: Mutex<File>,
    header: ArchiveHeader,
    root: Arc<Vec<Entry>>,
    metadata: serde_json::Map<String, serde_json::Value>,
    leaves: Mutex<lru::LruCache<u64, Arc<Vec<Entry>>>>,
}

impl std::fmt::Debug for PmTiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PmTiles")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl PmTiles {
    /// Opens the archive at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if it cannot be read; [`Error::Corrupt`] if it is not a PMTiles v3
    /// archive or its header, root directory or metadata are damaged; [`Error::Unsupported`]
    /// for directories compressed otherwise than gzip or not at all.
    pub fn open(path: impl AsRef<Path>) -> Result<PmTiles> {
        let path = path.as_ref().to_path_buf();
        let io = |e| Error::Io {
            at: Location::new(&path, None),
            source: e,
        };
        let mut file = File::open(&path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut head = vec![0u8; format::HEADER_LEN.min(size as usize)];
        file.read_exact(&mut head).map_err(io)?;
        let header = ArchiveHeader::parse(&head, size).map_err(|d| corrupt(&path, None, d))?;
        let store = PmTiles {
            root: Arc::new(Vec::new()),
            metadata: serde_json::Map::new(),
            leaves: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(LEAF_CACHE).unwrap_or(NonZeroUsize::MIN),
            )),
            file: Mutex::new(file),
            header,
            path,
        };
        let root = Arc::new(store.directory(header.root, None)?);
        let metadata = store.read_metadata()?;
        Ok(PmTiles {
            root,
            metadata,
            ..store
        })
    }

    /// The archive's header.
    pub fn header(&self) -> &ArchiveHeader {
        &self.header
    }

    /// The archive's metadata JSON object.
    pub fn metadata_json(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.metadata
    }

    /// `len` bytes at `offset` of the file (the caller has checked they lie inside it).
    fn read_at(&self, offset: u64, len: u64, tile: Option<TileId>) -> Result<Vec<u8>> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = vec![0u8; len as usize];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|source| Error::Io {
                at: Location::new(&self.path, tile),
                source,
            })?;
        Ok(buf)
    }

    /// The decoded directory in `section` (offset, length), checked to lie inside the file.
    fn directory(&self, section: (u64, u64), tile: Option<TileId>) -> Result<Vec<Entry>> {
        let bytes = self.read_at(section.0, section.1, tile)?;
        let raw = format::inflate(
            &bytes,
            self.header.internal_compression,
            MAX_DIRECTORY_BYTES,
        )
        .map_err(|d| self.fail(tile, format!("directory at byte {}: {d}", section.0)))?;
        format::parse_directory(&raw)
            .map_err(|d| self.fail(tile, format!("directory at byte {}: {d}", section.0)))
    }

    fn read_metadata(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let (offset, len) = self.header.metadata;
        if len == 0 {
            return Ok(serde_json::Map::new());
        }
        let bytes = self.read_at(offset, len, None)?;
        let raw = format::inflate(
            &bytes,
            self.header.internal_compression,
            MAX_DIRECTORY_BYTES,
        )
        .map_err(|d| self.fail(None, format!("metadata: {d}")))?;
        match serde_json::from_slice(&raw) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err(self.fail(None, "metadata is not a JSON object".into())),
            Err(e) => Err(self.fail(None, format!("metadata: {e}"))),
        }
    }

    fn fail(&self, tile: Option<TileId>, detail: String) -> Error {
        corrupt(&self.path, tile, detail)
    }

    /// The leaf directory that `entry` (of a directory at `depth`) points at.
    fn leaf(&self, entry: &Entry, depth: usize, tile: Option<TileId>) -> Result<Arc<Vec<Entry>>> {
        if depth >= MAX_LEAF_DEPTH {
            return Err(self.fail(
                tile,
                format!("leaf directories nest more than {MAX_LEAF_DEPTH} deep"),
            ));
        }
        let section = self
            .header
            .leaf_section(entry)
            .map_err(|d| self.fail(tile, d))?;
        let mut cache = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(dir) = cache.get(&section.0) {
            return Ok(Arc::clone(dir));
        }
        drop(cache);
        let dir = Arc::new(self.directory(section, tile)?);
        let mut cache = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        cache.put(section.0, Arc::clone(&dir));
        Ok(dir)
    }

    /// The tile entry addressing `id`, if any.
    fn find(&self, id: u64, tile: TileId) -> Result<Option<Entry>> {
        let mut dir: Arc<Vec<Entry>> = Arc::clone(&self.root);
        for depth in 0..=MAX_LEAF_DEPTH {
            let Some(entry) = format::find(&dir, id) else {
                return Ok(None);
            };
            if entry.run_length > 0 {
                return Ok(Some(entry));
            }
            dir = self.leaf(&entry, depth, Some(tile))?;
        }
        Err(self.fail(
            Some(tile),
            format!("leaf directories nest more than {MAX_LEAF_DEPTH} deep"),
        ))
    }

    /// Calls `visit` with every tile entry whose ids meet `lo..hi`, in id order.
    pub(crate) fn walk(
        &self,
        lo: u64,
        hi: u64,
        visit: &mut dyn FnMut(&Entry) -> Result<()>,
    ) -> Result<()> {
        self.walk_dir(&self.root, lo, hi, 0, visit)
    }

    fn walk_dir(
        &self,
        dir: &[Entry],
        lo: u64,
        hi: u64,
        depth: usize,
        visit: &mut dyn FnMut(&Entry) -> Result<()>,
    ) -> Result<()> {
        for (i, entry) in dir.iter().enumerate() {
            // A leaf covers the ids up to the next entry's; a tile entry its run.
            let end = if entry.run_length == 0 {
                dir.get(i + 1).map_or(u64::MAX, |next| next.tile_id)
            } else {
                entry.tile_id.saturating_add(u64::from(entry.run_length))
            };
            if end <= lo || entry.tile_id >= hi {
                continue;
            }
            if entry.run_length == 0 {
                let leaf = self.leaf(entry, depth, None)?;
                self.walk_dir(&leaf, lo, hi, depth + 1, visit)?;
            } else {
                visit(entry)?;
            }
        }
        Ok(())
    }

    /// The tile data of `entry`, checked to lie inside the data section.
    pub(crate) fn entry_bytes(&self, entry: &Entry, tile: Option<TileId>) -> Result<Vec<u8>> {
        let (offset, len) = self
            .header
            .data_section(entry)
            .map_err(|d| self.fail(tile, d))?;
        self.read_at(offset, len, tile)
    }

    fn data_info() -> TileInfo {
        TileInfo {
            status: TileStatus::Data,
            fetched_at: None,
            etag: None,
            last_modified: None,
            failure: None,
        }
    }

    fn read_only(&self) -> Error {
        Error::ReadOnly {
            path: self.path.clone(),
        }
    }
}

fn corrupt(path: &Path, tile: Option<TileId>, detail: String) -> Error {
    Error::Corrupt {
        at: Location::new(path, tile),
        detail: format!("PMTiles: {detail}"),
    }
}

/// The ids of zoom `z`: `first..first + 4^z`.
fn zoom_ids(z: u8) -> (u64, u64) {
    let count = 1u64 << (2 * u32::from(z));
    // spec: the ids of the zooms above z, (4^z - 1) / 3, come first.
    let first = (count - 1) / 3;
    (first, first + count)
}

impl TileStore for PmTiles {
    fn path(&self) -> &Path {
        &self.path
    }

    fn get(&self, tile: TileId) -> Result<Option<StoredTile>> {
        let Some(entry) = self.find(pmtiles_tile_id(tile), tile)? else {
            return Ok(None);
        };
        Ok(Some(StoredTile {
            tile,
            data: self.entry_bytes(&entry, Some(tile))?,
            info: Self::data_info(),
        }))
    }

    fn put(&self, _tile: TileId, _record: &TileRecord) -> Result<()> {
        Err(self.read_only())
    }

    fn info(&self, tile: TileId) -> Result<Option<TileInfo>> {
        Ok(self
            .find(pmtiles_tile_id(tile), tile)?
            .map(|_| Self::data_info()))
    }

    fn list(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileStatus)>> {
        let Some(ranges) = Ranges::new(z, bbox) else {
            return Ok(Vec::new());
        };
        let (lo, hi) = zoom_ids(z);
        let mut out = Vec::new();
        let mut seen = 0u64;
        self.walk(lo, hi, &mut |entry| {
            let first = entry.tile_id.max(lo);
            let end = entry
                .tile_id
                .saturating_add(u64::from(entry.run_length))
                .min(hi);
            seen += end.saturating_sub(first);
            if seen > MAX_LISTED {
                return Err(Error::Unsupported {
                    at: Location::new(&self.path, None),
                    what: format!("listing more than {MAX_LISTED} tiles at zoom {z}"),
                });
            }
            for id in first..end {
                if let Some(tile) = tile_of_pmtiles_id(id).filter(|t| ranges.contains(*t)) {
                    out.push((tile, TileStatus::Data));
                }
            }
            Ok(())
        })?;
        out.sort_unstable();
        Ok(out)
    }

    fn count_by_status(&self) -> Result<StatusCounts> {
        let mut counts = StatusCounts::default();
        self.walk(0, u64::MAX, &mut |entry| {
            counts.data += u64::from(entry.run_length);
            Ok(())
        })?;
        Ok(counts)
    }

    fn metadata(&self) -> Result<Vec<(String, String)>> {
        let mut out: Vec<(String, String)> = self
            .metadata
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect();
        let h = &self.header;
        let mut default = |name: &str, value: String| {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), value));
            }
        };
        default("format", h.format_name().to_string());
        default("minzoom", h.min_zoom.to_string());
        default("maxzoom", h.max_zoom.to_string());
        let [w, s, e, n] = h.bounds;
        default("bounds", format!("{w},{s},{e},{n}"));
        out.sort();
        Ok(out)
    }

    fn set_metadata(&self, _entries: &[(&str, &str)]) -> Result<()> {
        Err(self.read_only())
    }
}

#[cfg(test)]
mod tests;
