//! Writing PMTiles archives: streamed in tile id order, whole or not at all, and joining the
//! archives of shards.

use std::fs::File;
use std::path::{Path, PathBuf};

use mlytiles_tile::{BBox, TileId};
use pmtiles::{Compression, PmTilesStreamWriter, PmTilesWriter, TileType};

use super::{PmTiles, pmtiles_tile_id, tile_of_pmtiles_id};
use crate::TileStore;
use crate::error::{Error, Location, Result};

/// What an archive's tiles are, and how they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// PNG images, stored as given.
    Png,
    /// Mapbox vector tiles, given gzip-compressed and stored as given.
    MvtGzip,
    /// Mapbox vector tiles, given plain and gzip-compressed by the writer.
    Mvt,
}

/// What [`ArchiveWriter::finish`] and [`merge_archives`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// Tiles the archive addresses.
    pub tiles: u64,
    /// The archive's size in bytes.
    pub bytes: u64,
}

/// Writes a PMTiles v3 archive tile by tile, in increasing tile id (zoom, then Hilbert)
/// order, so tile data streams to the file and only the directory (some 24 bytes a run of
/// tiles, plus a hash a distinct content for deduplication) is held in memory. Identical
/// tiles are stored once; consecutive identical tiles become one run.
///
/// The archive is written to a temporary file beside `path` and renamed over it by
/// [`finish`](Self::finish): `path` is never seen half written. Dropping the writer without
/// finishing removes the temporary file.
///
/// ```
/// use mlytiles_store::{ArchiveFormat, ArchiveWriter, BBox, PmTiles, TileId, TileStore};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("out.pmtiles");
/// let mut writer = ArchiveWriter::create(&path, ArchiveFormat::Png)?;
/// writer.add(TileId::new(1, 0, 0)?, b"png a")?;
/// writer.add(TileId::new(1, 0, 1)?, b"png a")?;
/// writer.add(TileId::new(1, 1, 0)?, b"png b")?;
/// let meta = serde_json::json!({"name": "demo"});
/// writer.finish(meta.as_object().unwrap(), "-180,-85,180,85".parse::<BBox>()?)?;
///
/// let archive = PmTiles::open(&path)?;
/// assert_eq!(archive.get(TileId::new(1, 0, 1)?)?.unwrap().data, b"png a");
/// assert_eq!(archive.metadata_value("name")?.as_deref(), Some("demo"));
/// assert_eq!(archive.header().tile_contents, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ArchiveWriter {
    path: PathBuf,
    tmp: PathBuf,
    inner: Option<PmTilesStreamWriter<File>>,
    last: Option<u64>,
    zooms: Option<(u8, u8)>,
    tiles: u64,
}

impl std::fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("path", &self.path)
            .field("tiles", &self.tiles)
            .finish_non_exhaustive()
    }
}

impl ArchiveWriter {
    /// Starts an archive of `format` tiles to be written at `path` (its folder must exist).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the temporary file cannot be created.
    pub fn create(path: &Path, format: ArchiveFormat) -> Result<ArchiveWriter> {
        match format {
            ArchiveFormat::Png => Self::create_raw(path, TileType::Png, Compression::None, true),
            ArchiveFormat::MvtGzip => {
                Self::create_raw(path, TileType::Mvt, Compression::Gzip, true)
            }
            ArchiveFormat::Mvt => Self::create_raw(path, TileType::Mvt, Compression::Gzip, false),
        }
    }

    /// An archive of `tile_type` whose tiles are `compression`-compressed: given so
    /// (`precompressed`) or compressed by the writer.
    fn create_raw(
        path: &Path,
        tile_type: TileType,
        compression: Compression,
        precompressed: bool,
    ) -> Result<Self> {
        let tmp = crate::atomic::temp_path(path).map_err(|e| io(path, e))?;
        let file = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let mut writer = ArchiveWriter {
            path: path.to_path_buf(),
            tmp,
            inner: None,
            last: None,
            zooms: None,
            tiles: 0,
        };
        let builder = PmTilesWriter::new(tile_type);
        let builder = if precompressed {
            builder.precompressed(compression)
        } else {
            builder.tile_compression(compression)
        };
        let inner = builder.create(file).map_err(|e| writer.pmt(e))?;
        writer.inner = Some(inner);
        Ok(writer)
    }

    /// Adds `tile`, whose id must be greater than the last one added's.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for a tile out of order or with no bytes; [`Error::Io`] if
    /// writing fails.
    pub fn add(&mut self, tile: TileId, data: &[u8]) -> Result<()> {
        let id = pmtiles_tile_id(tile);
        if self.last.is_some_and(|last| id <= last) || data.is_empty() {
            let what = if data.is_empty() {
                "a tile with no bytes".to_string()
            } else {
                "tiles out of tile id (zoom, then Hilbert) order".to_string()
            };
            return Err(Error::Unsupported {
                at: Location::new(&self.path, Some(tile)),
                what,
            });
        }
        let coord =
            pmtiles::TileCoord::new(tile.z(), tile.x(), tile.y()).map_err(|e| self.pmt(e))?;
        let Some(inner) = self.inner.as_mut() else {
            return Err(self.pmt("the writer failed before"));
        };
        if let Err(e) = inner.add_tile(coord, data) {
            self.inner = None;
            return Err(self.pmt(e));
        }
        self.last = Some(id);
        let z = tile.z();
        self.zooms = Some(self.zooms.map_or((z, z), |(a, b)| (a.min(z), b.max(z))));
        self.tiles += 1;
        Ok(())
    }

    /// Tiles added so far.
    pub fn tiles(&self) -> u64 {
        self.tiles
    }

    /// Writes the directories, `metadata` and the header (bounds `bounds`, zooms those of the
    /// tiles added, or `min_zoom` when none was), flushes the file to disk and renames it to
    /// its path.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if writing, flushing or renaming fails.
    pub fn finish(
        mut self,
        metadata: &serde_json::Map<String, serde_json::Value>,
        bounds: BBox,
    ) -> Result<ArchiveSummary> {
        let Some(mut inner) = self.inner.take() else {
            return Err(self.pmt("the writer failed before"));
        };
        let (z0, z1) = self.zooms.unwrap_or((0, 0));
        inner.set_zoom_range(z0, z1);
        let (w, s, e, n) = (bounds.west(), bounds.south(), bounds.east(), bounds.north());
        inner.set_bounds(w, s, e, n);
        inner.set_center((w + e) / 2.0, (s + n) / 2.0, z0);
        inner.set_metadata(serde_json::Value::Object(metadata.clone()).to_string());
        inner.finalize().map_err(|e| self.pmt(e))?;
        let tmp = self.tmp.clone();
        let file = File::open(&tmp).map_err(|e| io(&tmp, e))?;
        file.sync_all().map_err(|e| io(&tmp, e))?;
        let bytes = file.metadata().map_err(|e| io(&tmp, e))?.len();
        std::fs::rename(&tmp, &self.path).map_err(|e| io(&self.path, e))?;
        if let Some(dir) = self.path.parent().and_then(|d| File::open(d).ok()) {
            let _ = dir.sync_all();
        }
        Ok(ArchiveSummary {
            tiles: self.tiles,
            bytes,
        })
    }

    fn pmt(&self, e: impl std::fmt::Display) -> Error {
        Error::Io {
            at: Location::new(&self.path, None),
            source: std::io::Error::other(format!("writing PMTiles: {e}")),
        }
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        // Removed unless finish renamed it (then it is gone and this fails harmlessly).
        self.inner = None;
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        at: Location::new(path, None),
        source,
    }
}

/// The metadata key a shard's archive records its part in (`"I/N"`); parts may differ in it
/// and nothing else.
pub const PART_KEY: &str = "mlytiles:part";

/// Joins archives written by shards of one run into `out`, copying each tile's bytes as they
/// are (nothing is decoded). Parts are taken in tile id order, whatever the order given.
///
/// # Errors
///
/// [`Error::MergeRefused`], naming the two files, when parts overlap (hold tiles in a common
/// range of tile ids) or differ in tile type, compression or metadata other than
/// [`PART_KEY`]; [`Error::Unsupported`] for no parts; the parts' read errors; [`Error::Io`]
/// when writing fails.
pub fn merge_archives(parts: &[PathBuf], out: &Path) -> Result<ArchiveSummary> {
    // Each part with the range of tile ids it holds (`None` when it holds no tile).
    let mut all = Vec::new();
    for path in parts {
        let archive = PmTiles::open(path)?;
        let mut range: Option<(u64, u64)> = None;
        archive.walk(0, u64::MAX, &mut |e| {
            let last = e.tile_id + u64::from(e.run_length) - 1;
            range = Some((range.map_or(e.tile_id, |r| r.0), last));
            Ok(())
        })?;
        all.push((range, archive));
    }
    let Some((_, reference)) = all.first() else {
        return Err(Error::Unsupported {
            at: Location::new(out, None),
            what: "merging no archives".into(),
        });
    };
    let settings = |a: &PmTiles| {
        let mut m = a.metadata_json().clone();
        m.remove(PART_KEY);
        (a.header.tile_type, a.header.tile_compression, m)
    };
    let refuse = |part: &Path, other: &Path, reason: String| Error::MergeRefused {
        part: part.to_path_buf(),
        other: other.to_path_buf(),
        reason,
    };
    let wanted = settings(reference);
    for (_, archive) in &all {
        let theirs = settings(archive);
        if theirs != wanted {
            let mut differ: Vec<String> = Vec::new();
            if (theirs.0, theirs.1) != (wanted.0, wanted.1) {
                differ.push("tile type or compression".into());
            }
            let keys: std::collections::BTreeSet<&String> =
                theirs.2.keys().chain(wanted.2.keys()).collect();
            differ.extend(
                keys.into_iter()
                    .filter(|k| theirs.2.get(*k) != wanted.2.get(*k))
                    .map(|k| format!("metadata {k}")),
            );
            return Err(refuse(
                archive.path(),
                reference.path(),
                format!("made with different settings ({})", differ.join(", ")),
            ));
        }
    }
    // Parts that hold tiles, in tile id order; an empty part (every tile of its shard left
    // out) holds nothing to merge.
    let mut opened: Vec<(u64, u64, &PmTiles)> = all
        .iter()
        .filter_map(|(range, a)| range.map(|(first, last)| (first, last, a)))
        .collect();
    opened.sort_by_key(|(first, _, _)| *first);
    for pair in opened.windows(2) {
        let ((_, prev_last, prev), (first, _, archive)) = (pair[0], pair[1]);
        if prev_last >= first {
            return Err(refuse(
                archive.path(),
                prev.path(),
                "their tiles overlap (the same shard twice, or shards of different runs)".into(),
            ));
        }
    }
    let tile_type: TileType = reference.header.tile_type.try_into().map_err(|_| {
        refuse(
            reference.path(),
            reference.path(),
            "unknown tile type".into(),
        )
    })?;
    let compression: Compression = reference.header.tile_compression.try_into().map_err(|_| {
        refuse(
            reference.path(),
            reference.path(),
            "unknown compression".into(),
        )
    })?;
    let mut writer = ArchiveWriter::create_raw(out, tile_type, compression, true)?;
    let mut bounds: Option<[f64; 4]> = None;
    for &(_, _, archive) in &opened {
        let [w, s, e, n] = archive.header.bounds;
        bounds = Some(bounds.map_or([w, s, e, n], |[a, b, c, d]| {
            [a.min(w), b.min(s), c.max(e), d.max(n)]
        }));
        archive.walk(0, u64::MAX, &mut |entry| {
            let bytes = archive.entry_bytes(entry, None)?;
            for id in entry.tile_id..entry.tile_id + u64::from(entry.run_length) {
                let tile = tile_of_pmtiles_id(id).ok_or_else(|| Error::Corrupt {
                    at: Location::new(archive.path(), None),
                    detail: format!("PMTiles: tile id {id} beyond the deepest zoom"),
                })?;
                writer.add(tile, &bytes)?;
            }
            Ok(())
        })?;
    }
    let metadata = wanted.2;
    let [w, s, e, n] = bounds.unwrap_or(reference.header.bounds);
    let bbox = BBox::new(w, s, e, n).map_err(|e| Error::Corrupt {
        at: Location::new(reference.path(), None),
        detail: format!("PMTiles: bounds: {e}"),
    })?;
    writer.finish(&metadata, bbox)
}
