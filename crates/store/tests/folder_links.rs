//! A folder store reads only regular files inside its folder (issue 13, item 5).
#![cfg(unix)]

mod common;

use std::os::unix::fs::symlink;

use common::*;
use mlytiles_store::{Error, FolderStore, TileStatus, TileStore};

#[test]
fn a_link_out_of_the_folder_is_refused_and_one_inside_is_followed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let outside = dir.path().join("secret.txt");
    std::fs::write(&outside, b"root:x:0:0:SECRET\n")?;
    let root = dir.path().join("tiles");
    let x = root.join("14/1");
    std::fs::create_dir_all(&x)?;
    // A tile, a sidecar and the metadata that lead out of the folder.
    symlink(&outside, x.join("1.mvt"))?;
    symlink(&outside, x.join("2.mlytiles.json"))?;
    // A link inside the folder, to a real tile.
    let bytes = sample_tile(1, 2);
    std::fs::write(x.join("3.mvt"), &bytes)?;
    symlink(x.join("3.mvt"), x.join("4.mvt"))?;
    // Relative links: one out of the folder by `..` (a tile), one to its neighbour (a tile).
    symlink("../../../secret.txt", x.join("6.mvt"))?;
    symlink("3.mvt", x.join("7.mvt"))?;
    // A whole x folder that is a link out of the store.
    let away = dir.path().join("away");
    std::fs::create_dir_all(&away)?;
    std::fs::write(away.join("5.mvt"), &bytes)?;
    symlink(&away, root.join("14/2"))?;

    let store = FolderStore::open(&root)?;
    for (y, xdir) in [(1, 1), (2, 1), (5, 2), (6, 1)] {
        match store.get(tile(14, xdir, y)) {
            Err(Error::Corrupt { detail, .. }) => {
                assert!(
                    detail.contains("out of the store"),
                    "14/{xdir}/{y}: {detail}"
                );
                assert!(!detail.contains("SECRET"));
            }
            other => panic!("14/{xdir}/{y}: a link out of the folder was read: {other:?}"),
        }
    }
    let inside = store
        .get(tile(14, 1, 4))?
        .expect("the link inside is followed");
    assert_eq!(inside.info.status, TileStatus::Data);
    assert_eq!(inside.data, bytes);
    let beside = store
        .get(tile(14, 1, 7))?
        .expect("the relative link inside is followed");
    assert_eq!(beside.data, bytes);

    // Metadata as a link out: refused too.
    symlink(&outside, root.join("metadata.json"))?;
    assert!(matches!(store.metadata(), Err(Error::Corrupt { .. })));
    // And the store's folder itself may be a link: the tiles inside it are read.
    let linked_root = dir.path().join("linked");
    symlink(&root, &linked_root)?;
    let store = FolderStore::open(&linked_root)?;
    assert_eq!(store.get(tile(14, 1, 3))?.unwrap().data, bytes);
    Ok(())
}

/// A FIFO where a sidecar, a tile or the metadata would be is refused at once as not a regular
/// file, never opened to wait for a writer (a render over such a store hung before).
#[test]
fn a_fifo_in_the_folder_is_refused_without_waiting() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("tiles");
    let x = root.join("14/1");
    std::fs::create_dir_all(&x)?;
    std::fs::write(x.join("3.mvt"), sample_tile(1, 2))?;
    for fifo in [x.join("3.mlytiles.json"), root.join("metadata.json")] {
        let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(made.success(), "mkfifo {}", fifo.display());
    }
    let store = FolderStore::open(&root)?;
    // On a thread, so a regression fails here instead of hanging the suite.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let tile = store.get(tile(14, 1, 3)).map(|_| ());
        let meta = store.metadata().map(|_| ());
        let _ = tx.send((tile, meta));
    });
    let (tile, meta) = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the store waited on a FIFO");
    for (what, result) in [("the sidecar", tile), ("the metadata", meta)] {
        match result {
            Err(Error::Corrupt { detail, .. }) => {
                assert!(detail.contains("not a regular file"), "{what}: {detail}")
            }
            other => panic!("{what}: a FIFO was not refused: {other:?}"),
        }
    }
    Ok(())
}
