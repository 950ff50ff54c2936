//! A folder store maps a large tile file under a read lease instead of reading it
//! (`TileStore::get_bytes`), and the lease keeps the file whole while it is mapped.
#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use mlytiles_store::{FolderStore, TileBody, TileRecord, TileStatus, TileStore};

/// `len` bytes that differ from page to page, so a page lost or swapped shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i / 4096) as u8 ^ (i as u8) ^ seed)
        .collect()
}

#[test]
fn a_large_tile_is_mapped_and_a_small_one_read() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = FolderStore::open(dir.path())?;
    let now = chrono::Utc::now();
    let (large, small) = (pattern(300_000, 1), pattern(1_000, 2));
    store.put(tile(14, 1, 1), &TileRecord::data(large.clone(), now))?;
    store.put(tile(14, 1, 2), &TileRecord::data(small.clone(), now))?;
    for (y, want, mapped) in [(1, &large, true), (2, &small, false)] {
        let (info, bytes) = store.get_bytes(tile(14, 1, y))?.expect("stored");
        assert_eq!(info.status, TileStatus::Data);
        assert_eq!(bytes.is_mapped(), mapped, "14/1/{y}");
        assert_eq!(&bytes[..], &want[..], "14/1/{y}");
        // `get` reads the same bytes into memory of their own.
        assert_eq!(store.get(tile(14, 1, y))?.expect("stored").data, *want);
    }
    // An empty answer has no bytes, and a tile never stored is none.
    store.put(tile(14, 1, 3), &TileRecord::new(TileBody::Empty, now))?;
    let (info, bytes) = store.get_bytes(tile(14, 1, 3))?.expect("stored");
    assert_eq!((info.status, bytes.len()), (TileStatus::Empty, 0));
    assert!(store.get_bytes(tile(14, 1, 4))?.is_none());
    Ok(())
}

/// Truncating a mapped file would make its pages vanish (SIGBUS on touching them): under the
/// lease, the truncating open waits until the bytes are dropped, and they read whole
/// meanwhile. Replacing the file by a rename, as stores write, neither waits nor changes
/// the mapped bytes.
#[test]
fn a_mapped_tile_stays_whole_while_another_writer_waits() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = FolderStore::open(dir.path())?;
    let now = chrono::Utc::now();
    let old = pattern(200_000, 3);
    store.put(tile(14, 2, 2), &TileRecord::data(old.clone(), now))?;
    let path = dir.path().join("14/2/2.mvt");

    let (_, bytes) = store.get_bytes(tile(14, 2, 2))?.expect("stored");
    assert!(bytes.is_mapped());
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, done) = (path.clone(), Arc::clone(&done));
        std::thread::spawn(move || -> std::io::Result<()> {
            // Opening with O_TRUNC: what `cp` or a shell redirection does to the file.
            let mut f = std::fs::File::create(&path)?;
            f.write_all(b"short")?;
            done.store(true, Ordering::Release);
            Ok(())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !done.load(Ordering::Acquire),
        "the file was truncated while mapped"
    );
    assert_eq!(&bytes[..], &old[..], "every mapped page reads as before");
    let released = Instant::now();
    drop(bytes);
    writer.join().expect("the writer thread")?;
    assert!(
        released.elapsed() < Duration::from_secs(10),
        "the writer went on once the bytes were dropped"
    );
    assert_eq!(std::fs::read(&path)?, b"short");

    // A rename over the mapped file goes ahead at once and leaves the mapping as it was.
    let old = pattern(150_000, 4);
    store.put(tile(14, 2, 2), &TileRecord::data(old.clone(), now))?;
    let (_, bytes) = store.get_bytes(tile(14, 2, 2))?.expect("stored");
    assert!(bytes.is_mapped());
    let new = pattern(150_000, 5);
    let began = Instant::now();
    store.put(tile(14, 2, 2), &TileRecord::data(new.clone(), now))?;
    assert!(began.elapsed() < Duration::from_secs(10), "the put waited");
    assert_eq!(&bytes[..], &old[..]);
    drop(bytes);
    assert_eq!(store.get(tile(14, 2, 2))?.expect("stored").data, new);
    Ok(())
}

/// A huge tile file (a damaged store: 1 GiB, sparse) is mapped, not read into memory.
#[test]
fn a_huge_tile_file_is_mapped_not_read() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = FolderStore::open(dir.path())?;
    std::fs::create_dir_all(dir.path().join("14/4"))?;
    let file = std::fs::File::create(dir.path().join("14/4/4.mvt"))?;
    file.set_len(1 << 30)?;
    drop(file);
    let (info, bytes) = store.get_bytes(tile(14, 4, 4))?.expect("stored");
    assert_eq!(info.status, TileStatus::Data);
    assert!(bytes.is_mapped());
    assert_eq!(bytes.len(), 1 << 30);
    assert_eq!(bytes[..8], [0; 8]);
    Ok(())
}

/// A file open for writing elsewhere cannot be leased: it is read, and reads what the file
/// holds.
#[test]
fn a_file_open_for_writing_is_read_not_mapped() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = FolderStore::open(dir.path())?;
    let bytes = pattern(100_000, 6);
    store.put(
        tile(14, 3, 3),
        &TileRecord::data(bytes.clone(), chrono::Utc::now()),
    )?;
    let _open = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("14/3/3.mvt"))?;
    let (_, read) = store.get_bytes(tile(14, 3, 3))?.expect("stored");
    assert!(!read.is_mapped(), "leased while open for writing");
    assert_eq!(&read[..], &bytes[..]);
    Ok(())
}
