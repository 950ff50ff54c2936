//! Choosing what to read: a tileset's store in a cache folder, the deepest zoom that holds
//! data, and the tiles with data at a zoom, inside an area.

use std::path::{Path, PathBuf};

use crate::{BBox, Result, TileId, TileStatus, TileStore};

/// The deepest zoom (from [`MAX_ZOOM`](mlytiles_tile::MAX_ZOOM) down) at which `store` holds at
/// least one tile with data; `None` if it holds none. Costs one [`list`](TileStore::list) per
/// zoom tried.
///
/// # Errors
///
/// The store's errors, as [`TileStore::list`].
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_store::{FolderStore, TileId, TileRecord, TileStore, chrono::Utc, deepest_data_zoom};
///
/// let dir = tempfile::tempdir()?;
/// let store = FolderStore::open(dir.path())?;
/// assert_eq!(deepest_data_zoom(&store)?, None);
/// let tile = TileId::new(12, 2200, 1343)?;
/// store.put(tile, &TileRecord::data(b"tile".to_vec(), Utc::now()))?;
/// assert_eq!(deepest_data_zoom(&store)?, Some(12));
/// # Ok(())
/// # }
/// ```
pub fn deepest_data_zoom<S: TileStore + ?Sized>(store: &S) -> Result<Option<u8>> {
    for z in (0..=mlytiles_tile::MAX_ZOOM).rev() {
        let listed = store.list(z, None)?;
        if listed.iter().any(|(_, s)| *s == TileStatus::Data) {
            return Ok(Some(z));
        }
    }
    Ok(None)
}

/// The tiles of `store` with data at `zoom` (by default its [`deepest_data_zoom`]), inside
/// `bbox` if given, sorted by [`TileId`]. Tiles known empty or failed are left out. A store
/// with no data gives an empty list.
///
/// # Errors
///
/// The store's errors, as [`TileStore::list`].
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_store::{BBox, FolderStore, TileId, TileRecord, TileStore, chrono::Utc, data_tiles};
///
/// let dir = tempfile::tempdir()?;
/// let store = FolderStore::open(dir.path())?;
/// let berlin = TileId::new(12, 2200, 1343)?;
/// let empty = TileId::new(12, 2201, 1343)?;
/// store.put(berlin, &TileRecord::data(b"tile".to_vec(), Utc::now()))?;
/// store.put(empty, &TileRecord::empty(Utc::now()))?;
/// store.put(TileId::new(10, 550, 335)?, &TileRecord::data(b"z10".to_vec(), Utc::now()))?;
///
/// assert_eq!(data_tiles(&store, None, None)?, [berlin]);
/// let elsewhere: BBox = "2.2,48.8,2.4,48.9".parse()?;
/// assert!(data_tiles(&store, Some(12), Some(elsewhere))?.is_empty());
/// assert_eq!(data_tiles(&store, Some(10), None)?.len(), 1);
/// # Ok(())
/// # }
/// ```
pub fn data_tiles<S: TileStore + ?Sized>(
    store: &S,
    zoom: Option<u8>,
    bbox: Option<BBox>,
) -> Result<Vec<TileId>> {
    let zoom = match zoom {
        Some(z) => z,
        None => match deepest_data_zoom(store)? {
            Some(z) => z,
            None => return Ok(Vec::new()),
        },
    };
    Ok(store
        .list(zoom, bbox)?
        .into_iter()
        .filter(|(_, s)| *s == TileStatus::Data)
        .map(|(t, _)| t)
        .collect())
}

/// The store of `tileset` in the cache folder `dir`, if there is one: `dir/TILESET.mbtiles`
/// if that file exists, else the folder store `dir/TILESET`; `None` if neither does. Nothing
/// is opened or created.
///
/// # Errors
///
/// [`Error::InvalidTilesetName`](crate::Error::InvalidTilesetName) (see
/// [`validate_tileset_name`](crate::validate_tileset_name)).
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_store::find_store;
///
/// let dir = tempfile::tempdir()?;
/// assert_eq!(find_store(dir.path(), "mly1_public")?, None);
/// std::fs::create_dir(dir.path().join("mly1_public"))?;
/// assert_eq!(find_store(dir.path(), "mly1_public")?, Some(dir.path().join("mly1_public")));
/// std::fs::write(dir.path().join("mly1_public.mbtiles"), b"")?;
/// assert_eq!(
///     find_store(dir.path(), "mly1_public")?,
///     Some(dir.path().join("mly1_public.mbtiles"))
/// );
/// assert!(find_store(dir.path(), "../x").is_err());
/// # Ok(())
/// # }
/// ```
pub fn find_store(dir: &Path, tileset: &str) -> Result<Option<PathBuf>> {
    crate::validate_tileset_name(tileset)?;
    let file = dir.join(format!("{tileset}.mbtiles"));
    if file.is_file() {
        return Ok(Some(file));
    }
    let folder = dir.join(tileset);
    Ok(folder.is_dir().then_some(folder))
}

/// Opens the store at `path` for reading: a folder as a [`FolderStore`](crate::FolderStore),
/// a file whose name ends in `.pmtiles` or that starts as a PMTiles archive as
/// [`PmTiles`](crate::PmTiles), any other file as an MBTiles file opened read-only.
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io) when `path` is neither a file nor a folder; the errors of
/// the store's `open`.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_store::{ArchiveFormat, ArchiveWriter, TileId, open_store};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.pmtiles");
/// let mut writer = ArchiveWriter::create(&path, ArchiveFormat::Png)?;
/// writer.add(TileId::new(0, 0, 0)?, b"png")?;
/// writer.finish(&Default::default(), "-180,-85,180,85".parse()?)?;
/// let store = open_store(&path)?;
/// assert_eq!(store.get(TileId::new(0, 0, 0)?)?.unwrap().data, b"png");
/// assert!(open_store(&dir.path().join("missing.mbtiles")).is_err());
/// # Ok(())
/// # }
/// ```
pub fn open_store(path: &Path) -> Result<std::sync::Arc<dyn TileStore>> {
    use std::io::Read;
    if path.is_dir() {
        return Ok(std::sync::Arc::new(crate::FolderStore::open(path)?));
    }
    if !path.is_file() {
        return Err(crate::Error::Io {
            at: crate::Location::new(path, None),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such store"),
        });
    }
    let mut magic = [0u8; 7];
    let starts_pmtiles = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"PMTiles");
    if starts_pmtiles || path.extension().is_some_and(|e| e == "pmtiles") {
        return Ok(std::sync::Arc::new(crate::PmTiles::open(path)?));
    }
    Ok(std::sync::Arc::new(crate::MbTiles::open_read_only(path)?))
}
