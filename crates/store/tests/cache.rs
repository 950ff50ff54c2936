//! The cache folder: one store per tileset, validated names.

mod common;

use std::sync::Arc;

use common::*;
use mlytiles_store::{Backend, Cache, Error, TileRecord, validate_tileset_name};

#[test]
fn one_store_per_tileset() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = Cache::open(dir.path())?;
    let a = cache.store("mly1_public")?;
    let b = cache.store("mly1_public")?;
    assert!(Arc::ptr_eq(&a, &b));
    let c = cache.store("mly_map_feature_point")?;
    a.put(tile(1, 0, 0), &TileRecord::empty(t(0)))?;
    assert!(!c.has(tile(1, 0, 0))?);
    assert_eq!(a.path(), dir.path().join("mly1_public.mbtiles"));
    assert_eq!(cache.tilesets()?, ["mly1_public", "mly_map_feature_point"]);

    let folders = Cache::with_backend(dir.path().join("f"), Backend::Folder)?;
    let s = folders.store("mly1_computed_public")?;
    s.put(tile(1, 0, 0), &TileRecord::data(sample_tile(1, 1), t(0)))?;
    assert_eq!(s.path(), dir.path().join("f/mly1_computed_public"));
    assert_eq!(folders.tilesets()?, ["mly1_computed_public"]);
    Ok(())
}

#[test]
fn tileset_names_are_validated() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cache = Cache::open(dir.path())?;
    for bad in [
        "",
        "..",
        "../x",
        "a/b",
        "a\\b",
        ".hidden",
        "a b",
        "é",
        &"x".repeat(129),
    ] {
        assert!(
            matches!(cache.store(bad), Err(Error::InvalidTilesetName { .. })),
            "{bad:?}"
        );
    }
    validate_tileset_name("mly1_public")?;
    validate_tileset_name("v2.1-test")?;
    Ok(())
}
