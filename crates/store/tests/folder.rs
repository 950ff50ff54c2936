//! The folder backend: behaviour, layout and folders written by other tools.

mod common;

use common::*;
use mlytiles_store::{FolderStore, TileRecord, TileStatus, TileStore};

#[test]
fn contract_holds() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = FolderStore::open(dir.path().join("tiles"))?;
    contract(&store)?;
    let store = FolderStore::open(dir.path().join("tiles"))?;
    assert_eq!(store.list(14, None)?.len(), 5);
    Ok(())
}

#[test]
fn layout_is_zxy_with_sidecars() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = FolderStore::open(dir.path())?;
    let bytes = sample_tile(1, 2);
    store.put(tile(14, 8800, 5373), &TileRecord::data(bytes.clone(), t(0)))?;
    store.put(tile(14, 8800, 5374), &TileRecord::empty(t(0)))?;
    assert_eq!(std::fs::read(dir.path().join("14/8800/5373.mvt"))?, bytes);
    assert!(dir.path().join("14/8800/5373.mlytiles.json").is_file());
    assert!(!dir.path().join("14/8800/5374.mvt").exists());
    assert!(dir.path().join("14/8800/5374.mlytiles.json").is_file());
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("14/8800"))?
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    Ok(())
}

#[test]
fn reads_a_folder_written_by_another_tool() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let a = sample_tile(7, 3);
    let b = sample_tile(8, 4);
    std::fs::create_dir_all(dir.path().join("14/8800"))?;
    std::fs::create_dir_all(dir.path().join("14/junk"))?;
    std::fs::write(dir.path().join("14/8800/5373.pbf"), gzip(&a))?;
    std::fs::write(dir.path().join("14/8800/5374.mvt"), &b)?;
    std::fs::write(dir.path().join("14/8800/notes.txt"), b"hi")?;
    std::fs::write(dir.path().join("14/8800/99999.mvt"), b"out of range")?;
    std::fs::write(
        dir.path().join("metadata.json"),
        br#"{"name":"x","maxzoom":14}"#,
    )?;
    let store = FolderStore::open(dir.path())?;
    let got = store.get(tile(14, 8800, 5373))?.unwrap();
    assert_eq!(got.info.status, TileStatus::Data);
    assert_eq!(got.info.fetched_at, None);
    assert_eq!(&*got.uncompressed()?, &a[..]);
    assert_eq!(
        &*store.get(tile(14, 8800, 5374))?.unwrap().uncompressed()?,
        &b[..]
    );
    assert_eq!(
        store.list(14, None)?,
        vec![
            (tile(14, 8800, 5373), TileStatus::Data),
            (tile(14, 8800, 5374), TileStatus::Data)
        ]
    );
    assert_eq!(store.metadata_value("maxzoom")?.as_deref(), Some("14"));
    // A failure keeps foreign data.
    store.put(tile(14, 8800, 5373), &TileRecord::failed("HTTP 500", t(1)))?;
    let got = store.get(tile(14, 8800, 5373))?.unwrap();
    assert_eq!(got.info.status, TileStatus::Data);
    assert_eq!(&*got.uncompressed()?, &a[..]);
    // A put replaces the foreign .pbf by our .mvt.
    store.put(tile(14, 8800, 5373), &TileRecord::data(b.clone(), t(2)))?;
    assert!(!dir.path().join("14/8800/5373.pbf").exists());
    assert_eq!(store.get(tile(14, 8800, 5373))?.unwrap().data, b);
    Ok(())
}

#[test]
fn bad_sidecars_give_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("1/0"))?;
    std::fs::write(dir.path().join("1/0/0.mlytiles.json"), b"{not json")?;
    std::fs::write(dir.path().join("1/0/1.mlytiles.json"), vec![b' '; 100_000])?;
    let store = FolderStore::open(dir.path())?;
    let err = store.get(tile(1, 0, 0)).unwrap_err();
    assert!(err.to_string().contains("1/0/0"), "{err}");
    assert!(store.get(tile(1, 0, 1)).is_err());
    Ok(())
}
