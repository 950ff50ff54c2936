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
    // A whole x folder that is a link out of the store.
    let away = dir.path().join("away");
    std::fs::create_dir_all(&away)?;
    std::fs::write(away.join("5.mvt"), &bytes)?;
    symlink(&away, root.join("14/2"))?;

    let store = FolderStore::open(&root)?;
    for (y, xdir) in [(1, 1), (2, 1), (5, 2)] {
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
