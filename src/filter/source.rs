//! Where `mlytiles filter` reads tiles: tile files, folders, MBTiles stores, PMTiles archives,
//! or the cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use mlytiles_filter::{Area, Filter, LayerKind};
use mlytiles_store::TileStore;
use mlytiles_tile::TileId;

use super::Args;
use crate::cache_home::ReadCache;
use crate::input::Input;

/// Where tiles come from.
pub(super) enum Source {
    /// One tile's bytes.
    File(Input),
    /// A folder, MBTiles or PMTiles store, with its name.
    Store(String, Arc<dyn TileStore>),
}

/// The store of the cache that a run without INPUT reads: of `--cache`, else of the default
/// cache, or of the bundled sample while the default cache holds no store (as `render` and
/// `serve` read it).
pub(super) fn cache_store(args: &Args, cache: &ReadCache) -> Result<PathBuf> {
    let dir = &cache.dir;
    let tileset = match (&args.tileset, args.layer.first()) {
        (Some(t), _) => t.clone(),
        (None, Some(kind)) => kind.tileset().into(),
        (None, None) if !args.filter.class.is_empty() => LayerKind::TrafficSign.tileset().into(),
        (None, None) => LayerKind::Image.tileset().into(),
    };
    match mlytiles_store::find_store(dir, &tileset)? {
        Some(path) => Ok(path),
        None => bail!(
            "{} has no {tileset} store: fetch it with `mlytiles fetch --tileset {tileset} \
             --bbox W,S,E,N`, or give tile files or stores as INPUT",
            cache.describe()
        ),
    }
}

pub(super) fn open(path: &Path) -> Result<Source> {
    let name = path.display().to_string();
    if path != Path::new("-") && !path.exists() {
        bail!("{name}: no such file or folder");
    }
    // Folders, MBTiles stores and PMTiles archives open as stores; anything else is one tile.
    let is_store = path.is_dir()
        || path
            .extension()
            .is_some_and(|e| e == "mbtiles" || e == "pmtiles");
    if is_store {
        let store = mlytiles_store::open_store(path).with_context(|| name.clone())?;
        return Ok(Source::Store(name, store));
    }
    Ok(Source::File(Input::read(path)?))
}

/// The tiles of a store to read: --tiles, else those with data at --zoom (by default the
/// deepest zoom with data) inside the filter's area.
pub(super) fn store_tiles(
    args: &Args,
    filter: &Filter,
    store: &dyn TileStore,
) -> Result<Vec<TileId>> {
    if !args.tiles.is_empty() {
        return Ok(args.tiles.clone());
    }
    let bbox = filter.area.as_ref().and_then(Area::bounds);
    Ok(mlytiles_store::data_tiles(store, args.zoom, bbox)?)
}
