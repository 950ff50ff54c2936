//! The folder backend: `root/{z}/{x}/{y}.mvt` files (XYZ rows) with a JSON sidecar per tile.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use mlytiles_tile::{BBox, TileId};
use serde::{Deserialize, Serialize};

use crate::bytes::{self, TileBytes};
use crate::error::{Error, Location, Result};
use crate::record::{
    Failure, StatusCounts, StoredTile, TileBody, TileInfo, TileRecord, TileStatus, clip_reason,
    from_ms,
};
use crate::{Ranges, TileStore};

/// Sidecars are small; anything bigger is not ours.
const MAX_SIDECAR_LEN: u64 = 64 * 1024;
const SIDECAR_SUFFIX: &str = ".mlytiles.json";
const METADATA_FILE: &str = "metadata.json";

/// A folder of tiles, `root/{z}/{x}/{y}.mvt` with rows in XYZ order, as tile servers and
/// `tippecanoe --output-to-directory` lay them out.
///
/// - Tile bytes are written exactly as given (plain or gzip-compressed). Reading accepts
///   `{y}.mvt` and, from other tools, `{y}.pbf`, plain or gzipped.
/// - Status and times go in a sidecar `{y}.mlytiles.json` next to the tile. An empty or failed
///   tile has only the sidecar. A data file without a sidecar (another tool's folder) reads
///   as [`TileStatus::Data`] with unknown fetch time.
/// - Every file is written to a temporary file in the same folder (names starting with `.`,
///   ignored by listings), flushed to disk and renamed over the target, so a reader or a
///   process killed mid-write sees the old file or the new one. A data put writes the tile,
///   then its sidecar; a crash between the two leaves the new data with the old sidecar's
///   times, which is still a complete tile. Temporary files left by a kill are ignored.
/// - Metadata go in `root/metadata.json`, a JSON object of strings (as tippecanoe writes).
/// - [`TileStore::get_bytes`] maps a tile file of 64 KiB or more instead of reading it, on
///   Linux (x86-64, AArch64) under a read lease: see [`TileBytes`](crate::TileBytes).
/// - Only regular files inside the folder are read: a tile, sidecar or metadata file that is
///   a link leading out of the folder (`14/1/1.mvt -> /etc/passwd`), or that is not a regular
///   file (a device, a FIFO), is refused with [`Error::Corrupt`] rather than read. Links that
///   stay inside the folder are followed.
///
/// Puts from threads sharing one `FolderStore` are serialised; several processes writing the
/// same folder at once are not supported (readers in other processes are fine).
#[derive(Debug)]
pub struct FolderStore {
    root: PathBuf,
    /// `root` with every link resolved: what every file read must lie under.
    canonical_root: PathBuf,
    write_lock: Mutex<()>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Sidecar {
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fetched_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failed_at_ms: Option<i64>,
}

impl FolderStore {
    /// Opens the folder `root`, creating it if it does not exist.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the folder cannot be created or is not a folder.
    pub fn open(root: impl AsRef<Path>) -> Result<FolderStore> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(|source| Error::Io {
            at: Location::new(&root, None),
            source,
        })?;
        let canonical_root = fs::canonicalize(&root).map_err(|source| Error::Io {
            at: Location::new(&root, None),
            source,
        })?;
        Ok(FolderStore {
            root,
            canonical_root,
            write_lock: Mutex::new(()),
        })
    }

    fn dir(&self, tile: TileId) -> PathBuf {
        self.root
            .join(tile.z().to_string())
            .join(tile.x().to_string())
    }

    fn file(&self, tile: TileId, ext: &str) -> PathBuf {
        self.dir(tile).join(format!("{}{ext}", tile.y()))
    }

    fn io(&self, path: &Path, tile: Option<TileId>) -> impl FnOnce(io::Error) -> Error {
        let at = Location::new(path, tile);
        move |source| Error::Io { at, source }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `bytes` to `path` atomically ([`crate::write_atomic`]), creating its folder.
    fn write_atomic(&self, path: &Path, tile: Option<TileId>, bytes: &[u8]) -> Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(self.io(dir, tile))?;
        crate::write_atomic(path, bytes).map_err(self.io(path, tile))
    }

    fn remove(&self, path: &Path, tile: TileId) -> Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(self.io(path, Some(tile))(e)),
            _ => Ok(()),
        }
    }

    /// Opens a file of the store for reading if it exists, provided it is a regular file
    /// inside the store's folder once every link on the way is resolved; with its length
    /// when it was opened.
    fn open_inside(&self, path: &Path, tile: Option<TileId>) -> Result<Option<(File, u64)>> {
        let refuse = |detail: &str| Error::Corrupt {
            at: Location::new(path, tile),
            detail: detail.to_owned(),
        };
        // Most files looked for are not there (sidecars, the tiles beside a lone tile): one
        // stat says so, where resolving the path asks about each of its folders in turn.
        if let Err(e) = fs::symlink_metadata(path)
            && e.kind() == io::ErrorKind::NotFound
        {
            return Ok(None);
        }
        let canonical = match fs::canonicalize(path) {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(path, tile)(e)),
        };
        if !canonical.starts_with(&self.canonical_root) {
            return Err(refuse("a link leading out of the store's folder: not read"));
        }
        // Without waiting: opening a FIFO to read waits for a writer, which would hang a
        // render on a FIFO named as a sidecar or the metadata; the type is checked just below.
        let mut options = fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let f = match options.open(&canonical) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(path, tile)(e)),
        };
        let meta = f.metadata().map_err(self.io(path, tile))?;
        if !meta.is_file() {
            return Err(refuse("not a regular file: not read"));
        }
        // Where the file opened really is (a link may have been swapped in between the
        // check and the open): Linux says, through the open descriptor.
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = format!("/proc/self/fd/{}", f.as_raw_fd());
            if let Ok(real) = fs::read_link(fd)
                && !real.starts_with(&self.canonical_root)
            {
                return Err(refuse("a link leading out of the store's folder: not read"));
            }
        }
        Ok(Some((f, meta.len())))
    }

    /// Reads a file if it exists.
    fn read_opt(&self, path: &Path, tile: TileId, limit: Option<u64>) -> Result<Option<Vec<u8>>> {
        let Some((f, len)) = self.open_inside(path, Some(tile))? else {
            return Ok(None);
        };
        if let Some(limit) = limit
            && len > limit
        {
            return Err(Error::Corrupt {
                at: Location::new(path, Some(tile)),
                detail: format!("sidecar of {len} bytes is larger than {limit}"),
            });
        }
        self.read_whole(f, len, limit, path, tile).map(Some)
    }

    /// The bytes of an open file of `len` bytes (`limit` at most), for errors named `path`.
    fn read_whole(
        &self,
        f: File,
        len: u64,
        limit: Option<u64>,
        path: &Path,
        tile: TileId,
    ) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 26));
        let mut reader = f.take(limit.unwrap_or(u64::MAX));
        reader
            .read_to_end(&mut out)
            .map_err(self.io(path, Some(tile)))?;
        Ok(out)
    }

    fn read_sidecar(&self, tile: TileId) -> Result<Option<Sidecar>> {
        let path = self.file(tile, SIDECAR_SUFFIX);
        let Some(bytes) = self.read_opt(&path, tile, Some(MAX_SIDECAR_LEN))? else {
            return Ok(None);
        };
        let side: Sidecar = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            at: Location::new(&path, Some(tile)),
            detail: format!("sidecar is not valid: {e}"),
        })?;
        if TileStatus::parse(&side.status).is_none() {
            return Err(Error::Corrupt {
                at: Location::new(&path, Some(tile)),
                detail: format!("unknown status {:?}", side.status),
            });
        }
        Ok(Some(side))
    }

    /// The data file of a tile, if any: ours (`.mvt`) first, then another tool's (`.pbf`).
    fn data_file(&self, tile: TileId) -> Option<PathBuf> {
        [".mvt", ".pbf"]
            .into_iter()
            .map(|ext| self.file(tile, ext))
            .find(|p| p.is_file())
    }

    /// The tile's status and bytes (empty unless it has data; none read unless `with_data`),
    /// a large data file mapped rather than read when `map` ([`crate::TileBytes`]).
    fn read(
        &self,
        tile: TileId,
        with_data: bool,
        map: bool,
    ) -> Result<Option<(TileInfo, TileBytes)>> {
        let sidecar = self.read_sidecar(tile)?;
        let mut data = None;
        if let Some(path) = self.data_file(tile) {
            data = if with_data {
                // The file may vanish between the check and the read (a concurrent empty put).
                self.read_data(&path, tile, map)?
            } else {
                Some(TileBytes::Owned(Vec::new()))
            };
        }
        let Some(status) = resolve(data.is_some(), sidecar.as_ref()) else {
            return Ok(None);
        };
        let bytes = match data {
            Some(bytes) if status == TileStatus::Data => bytes,
            _ => TileBytes::Owned(Vec::new()),
        };
        Ok(Some((info(status, sidecar.as_ref()), bytes)))
    }

    /// A tile's data file if it exists, mapped when `map` and it can be.
    fn read_data(&self, path: &Path, tile: TileId, map: bool) -> Result<Option<TileBytes>> {
        let Some((f, len)) = self.open_inside(path, Some(tile))? else {
            return Ok(None);
        };
        let f = if map {
            match bytes::map(f, len) {
                Ok(mapped) => return Ok(Some(TileBytes::Mapped(mapped))),
                Err(f) => f,
            }
        } else {
            f
        };
        let bytes = self.read_whole(f, len, None, path, tile)?;
        Ok(Some(TileBytes::Owned(bytes)))
    }

    fn metadata_map(&self) -> Result<BTreeMap<String, String>> {
        let path = self.root.join(METADATA_FILE);
        let Some((mut file, _)) = self.open_inside(&path, None)? else {
            return Ok(BTreeMap::new());
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(self.io(&path, None))?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                at: Location::new(&path, None),
                detail: format!("not JSON: {e}"),
            })?;
        let serde_json::Value::Object(map) = value else {
            return Err(Error::Corrupt {
                at: Location::new(&path, None),
                detail: "not a JSON object".into(),
            });
        };
        // Other tools may write numbers or nested JSON: keep them as their JSON text.
        Ok(map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect())
    }
}

/// The status of a tile from whether a data file exists and its sidecar. The data file wins:
/// it is written before its sidecar and removed before an `empty` sidecar is written.
fn resolve(has_data: bool, sidecar: Option<&Sidecar>) -> Option<TileStatus> {
    if has_data {
        return Some(TileStatus::Data);
    }
    match sidecar.and_then(|s| TileStatus::parse(&s.status)) {
        Some(TileStatus::Data) | None => None,
        Some(s) => Some(s),
    }
}

fn info(status: TileStatus, sidecar: Option<&Sidecar>) -> TileInfo {
    let same = sidecar.filter(|s| TileStatus::parse(&s.status) == Some(status));
    let failure = sidecar.and_then(|s| {
        Some(Failure {
            reason: s.failure_reason.clone()?,
            at: from_ms(s.failed_at_ms?)?,
        })
    });
    TileInfo {
        status,
        fetched_at: same
            .filter(|_| status != TileStatus::Failed)
            .and_then(|s| s.fetched_at_ms)
            .and_then(from_ms),
        etag: same.and_then(|s| s.etag.clone()),
        last_modified: same.and_then(|s| s.last_modified.clone()),
        failure,
    }
}

fn parse_u32(name: &str) -> Option<u32> {
    // Only plain decimal: no sign, no leading `+`.
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

impl TileStore for FolderStore {
    fn path(&self) -> &Path {
        &self.root
    }

    fn get(&self, tile: TileId) -> Result<Option<StoredTile>> {
        Ok(self
            .read(tile, true, false)?
            .map(|(info, bytes)| StoredTile {
                tile,
                data: bytes.into_vec(),
                info,
            }))
    }

    fn get_bytes(&self, tile: TileId) -> Result<Option<(TileInfo, TileBytes)>> {
        self.read(tile, true, true)
    }

    fn info(&self, tile: TileId) -> Result<Option<TileInfo>> {
        Ok(self.read(tile, false, false)?.map(|(info, _)| info))
    }

    fn put(&self, tile: TileId, record: &TileRecord) -> Result<()> {
        let _guard = self.lock();
        let at = record.fetched_at.timestamp_millis();
        let sidecar_path = self.file(tile, SIDECAR_SUFFIX);
        let ok_sidecar = |status: TileStatus| Sidecar {
            status: status.as_str().to_string(),
            fetched_at_ms: Some(at),
            etag: record.etag.clone(),
            last_modified: record.last_modified.clone(),
            failure_reason: None,
            failed_at_ms: None,
        };
        let to_json = |s: &Sidecar| serde_json::to_vec(s).unwrap_or_default();
        match &record.body {
            TileBody::Data(bytes) if !bytes.is_empty() => {
                let path = self.file(tile, ".mvt");
                self.write_atomic(&path, Some(tile), bytes)?;
                self.remove(&self.file(tile, ".pbf"), tile)?;
                self.write_atomic(
                    &sidecar_path,
                    Some(tile),
                    &to_json(&ok_sidecar(TileStatus::Data)),
                )
            }
            TileBody::Data(_) | TileBody::Empty => {
                self.remove(&self.file(tile, ".mvt"), tile)?;
                self.remove(&self.file(tile, ".pbf"), tile)?;
                self.write_atomic(
                    &sidecar_path,
                    Some(tile),
                    &to_json(&ok_sidecar(TileStatus::Empty)),
                )
            }
            TileBody::Failed { reason } => {
                let reason = clip_reason(reason).to_string();
                let old = self.read_sidecar(tile)?;
                let has_data = self.data_file(tile).is_some();
                let mut side = match resolve(has_data, old.as_ref()) {
                    // A failure never replaces a result: keep it, note the failure beside it.
                    Some(s @ (TileStatus::Data | TileStatus::Empty)) => {
                        let mut side = old
                            .filter(|o| TileStatus::parse(&o.status) == Some(s))
                            .unwrap_or_default();
                        side.status = s.as_str().to_string();
                        side
                    }
                    _ => Sidecar {
                        status: "failed".into(),
                        ..Sidecar::default()
                    },
                };
                side.failure_reason = Some(reason);
                side.failed_at_ms = Some(at);
                self.write_atomic(&sidecar_path, Some(tile), &to_json(&side))
            }
        }
    }

    fn list(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileStatus)>> {
        let Some(ranges) = Ranges::new(z, bbox) else {
            return Ok(Vec::new());
        };
        let zdir = self.root.join(z.to_string());
        let xdirs = match fs::read_dir(&zdir) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(&zdir, None)(e)),
        };
        // tile -> (has data file, has sidecar)
        let mut seen: BTreeMap<TileId, (bool, bool)> = BTreeMap::new();
        for xdir in xdirs {
            let xdir = xdir.map_err(self.io(&zdir, None))?;
            let Some(x) = xdir.file_name().to_str().and_then(parse_u32) else {
                continue;
            };
            let xpath = xdir.path();
            let files = match fs::read_dir(&xpath) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotADirectory => continue,
                Err(e) => return Err(self.io(&xpath, None)(e)),
            };
            for file in files {
                let file = file.map_err(self.io(&xpath, None))?;
                let name = file.file_name();
                let Some(name) = name.to_str() else { continue };
                let (stem, is_data) = if let Some(s) = name.strip_suffix(SIDECAR_SUFFIX) {
                    (s, false)
                } else if let Some(s) = name
                    .strip_suffix(".mvt")
                    .or_else(|| name.strip_suffix(".pbf"))
                {
                    (s, true)
                } else {
                    continue;
                };
                let Some(tile) = parse_u32(stem).and_then(|y| TileId::new(z, x, y).ok()) else {
                    continue;
                };
                if !ranges.contains(tile) {
                    continue;
                }
                let entry = seen.entry(tile).or_default();
                if is_data {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
        }
        let mut out = Vec::with_capacity(seen.len());
        for (tile, (has_data, has_sidecar)) in seen {
            let sidecar = if has_sidecar && !has_data {
                self.read_sidecar(tile)?
            } else {
                None
            };
            if let Some(status) = resolve(has_data, sidecar.as_ref()) {
                out.push((tile, status));
            }
        }
        Ok(out)
    }

    fn count_by_status(&self) -> Result<StatusCounts> {
        let mut counts = StatusCounts::default();
        let dirs = match fs::read_dir(&self.root) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(counts),
            Err(e) => return Err(self.io(&self.root, None)(e)),
        };
        for dir in dirs {
            let dir = dir.map_err(self.io(&self.root, None))?;
            let Some(z) = dir
                .file_name()
                .to_str()
                .and_then(parse_u32)
                .and_then(|z| u8::try_from(z).ok())
                .filter(|&z| z <= mlytiles_tile::MAX_ZOOM)
            else {
                continue;
            };
            for (_, status) in self.list(z, None)? {
                counts.add(status);
            }
        }
        Ok(counts)
    }

    fn metadata(&self) -> Result<Vec<(String, String)>> {
        Ok(self.metadata_map()?.into_iter().collect())
    }

    fn set_metadata(&self, entries: &[(&str, &str)]) -> Result<()> {
        let _guard = self.lock();
        let mut map = self.metadata_map()?;
        for (k, v) in entries {
            map.insert((*k).to_string(), (*v).to_string());
        }
        let bytes = serde_json::to_vec_pretty(&map).unwrap_or_default();
        self.write_atomic(&self.root.join(METADATA_FILE), None, &bytes)
    }
}
