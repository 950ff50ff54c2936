//! `mlytiles cache verify`: whether every store of a cache is sound.

use std::io::Write;

use anyhow::bail;
use mlytiles_fetch::validate_tile;
use mlytiles_store::{MbTiles, TileStatus, TileStore};

use super::{MAX_LISTED_ZOOM, Target, stores_of};

/// Checks every store of the cache, MBTiles or folder: each problem is one line (a store that
/// cannot be opened, each line of SQLite's integrity check, rows that name no tile, stored
/// tiles that do not decode), then one summary line per store. Exit 1 if anything was found.
pub(super) fn verify(t: &Target) -> anyhow::Result<()> {
    let dir = crate::cache_home::resolve(t.cache.as_deref().or(t.dir.as_deref()))?;
    if !dir.is_dir() {
        bail!("{}: no such cache folder", dir.display());
    }
    let stores = stores_of(&dir, t.tileset.as_deref())?;
    let mut out = std::io::stdout().lock();
    if stores.is_empty() {
        match &t.tileset {
            Some(name) => bail!("{}: no store for tileset {name:?}", dir.display()),
            None => writeln!(out, "{}: no stores to verify", dir.display())?,
        }
        return Ok(());
    }
    let mut problems = 0u64;
    for (name, path) in stores {
        let mut found = 0u64;
        let mut problem = |out: &mut std::io::StdoutLock<'_>, text: String| {
            found += 1;
            writeln!(out, "{name}: {text}")
        };
        type Opened = (
            std::sync::Arc<dyn TileStore>,
            Option<std::sync::Arc<MbTiles>>,
        );
        let opened: mlytiles_store::Result<Opened> = if path.is_dir() {
            mlytiles_store::FolderStore::open(&path).map(|s| (std::sync::Arc::new(s) as _, None))
        } else if path.extension().is_some_and(|e| e == "pmtiles") {
            match mlytiles_store::PmTiles::open(&path) {
                // A coverage pyramid (PNG tiles): opened and read, but not vector tiles.
                Ok(archive) if archive.header().tile_type != 1 => {
                    writeln!(
                        out,
                        "{name}: a PMTiles archive of raster tiles, not a vector tileset: not \
                         decoded"
                    )?;
                    continue;
                }
                opened => opened.map(|s| (std::sync::Arc::new(s) as _, None)),
            }
        } else {
            MbTiles::open_read_only(&path).map(|db| {
                let db = std::sync::Arc::new(db);
                (db.clone() as _, Some(db))
            })
        };
        let (store, db) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                problem(
                    &mut out,
                    format!("cannot open: {}", crate::error_line(&e.into())),
                )?;
                problems += 1;
                continue;
            }
        };
        // MBTiles only: SQLite's own check, and rows that name no tile.
        if let Some(db) = db {
            match db.integrity_check() {
                Ok(check) if check == "ok" => {}
                Ok(check) => {
                    for line in check.lines() {
                        problem(&mut out, format!("integrity check: {line}"))?;
                    }
                }
                Err(e) => problem(
                    &mut out,
                    format!("integrity check failed: {}", crate::error_line(&e.into())),
                )?,
            }
            match db.rows_outside_schema(10) {
                Ok((0, _)) => {}
                Ok((n, rows)) => {
                    for row in &rows {
                        problem(&mut out, format!("a tiles row names no tile: {row}"))?;
                    }
                    if n > rows.len() as u64 {
                        problem(
                            &mut out,
                            format!("{} more tiles rows name no tile", n - rows.len() as u64),
                        )?;
                    }
                }
                Err(e) => problem(&mut out, crate::error_line(&e.into()))?,
            }
        }
        let mut tiles = 0u64;
        for z in 0..=MAX_LISTED_ZOOM {
            let listed = match store.list(z, None) {
                Ok(l) => l,
                Err(e) => {
                    problem(&mut out, format!("z{z}: {}", crate::error_line(&e.into())))?;
                    continue;
                }
            };
            for (tile, status) in listed {
                if status != TileStatus::Data {
                    continue;
                }
                tiles += 1;
                let bad = match store.get(tile) {
                    Ok(Some(stored)) => match stored.uncompressed() {
                        Ok(bytes) => validate_tile(&bytes).err().map(|e| e.to_string()),
                        Err(e) => Some(e.to_string()),
                    },
                    Ok(None) => Some("listed but not readable".into()),
                    Err(e) => Some(crate::error_line(&e.into())),
                };
                if let Some(why) = bad {
                    problem(&mut out, format!("{tile}: {why}"))?;
                }
            }
        }
        problems += found;
        if found == 0 {
            writeln!(out, "{name}: ok, {tiles} data tiles checked")?;
        } else {
            writeln!(
                out,
                "{name}: {found} problem(s), {tiles} data tiles checked"
            )?;
        }
    }
    if problems > 0 {
        bail!("{problems} problem(s) found in {}", dir.display());
    }
    Ok(())
}
