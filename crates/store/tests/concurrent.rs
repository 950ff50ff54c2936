//! Concurrent writers and readers on one store, through shared handles and separate ones.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::*;
use mlytiles_store::{FolderStore, MbTiles, TileId, TileRecord, TileStatus, TileStore};

const WRITERS: u32 = 4;
const TILES_PER_WRITER: u32 = 40;
/// Written by every writer, to exercise races on one tile.
const HOT: (u8, u32, u32) = (12, 7, 7);

/// The content written for `tile` in `round`; seeds are unique per (tile, round).
fn content(tile: TileId, round: u32) -> Vec<u8> {
    sample_tile(
        u64::from(tile.x()) * 10 + u64::from(round),
        3 + (tile.x() % 5) as usize,
    )
}

fn writer_tile(w: u32, i: u32) -> TileId {
    tile(14, w * 1000 + i, 100)
}

/// Writer `w`: three rounds over its own tiles (data, failure, data again or empty), and
/// data or failures on the hot tile.
fn write_all(store: &dyn TileStore, w: u32) {
    let hot = tile(HOT.0, HOT.1, HOT.2);
    for round in 0..3 {
        for i in 0..TILES_PER_WRITER {
            let id = writer_tile(w, i);
            let rec = match round {
                0 => TileRecord::data(content(id, 0), t(0)),
                1 => TileRecord::failed(format!("w{w} i{i}"), t(1)),
                _ if i % 4 == 0 => TileRecord::empty(t(2)),
                _ => TileRecord::data(content(id, 2), t(2)),
            };
            store.put(id, &rec).unwrap();
            if i % 5 == 0 {
                let rec = if (i + w).is_multiple_of(2) {
                    TileRecord::data(content(hot, w), t(3))
                } else {
                    TileRecord::failed("hot failure", t(3))
                };
                store.put(hot, &rec).unwrap();
            }
        }
    }
}

/// Reads random-ish tiles until told to stop; every tile seen must be complete and be one of
/// the contents written for it.
fn read_loop(store: &dyn TileStore, stop: &AtomicBool, seed: u32) -> usize {
    let hot = tile(HOT.0, HOT.1, HOT.2);
    let mut n = 0u32;
    let mut seen = 0;
    while !stop.load(Ordering::Relaxed) || n < 50 {
        n += 1;
        let k = n.wrapping_mul(2_654_435_761).wrapping_add(seed);
        let id = if k.is_multiple_of(7) {
            hot
        } else {
            writer_tile(k % WRITERS, (k / 7) % TILES_PER_WRITER)
        };
        let Some(got) = store.get(id).unwrap() else {
            continue;
        };
        seen += 1;
        if got.info.status == TileStatus::Data {
            let bytes = got.uncompressed().unwrap().into_owned();
            decode_all(&bytes).unwrap();
            let ok = if id == hot {
                (0..WRITERS).any(|w| content(hot, w) == bytes)
            } else {
                bytes == content(id, 0) || bytes == content(id, 2)
            };
            assert!(ok, "tile {id} holds bytes never written for it");
        }
    }
    seen
}

fn check_final(store: &dyn TileStore) {
    for w in 0..WRITERS {
        for i in 0..TILES_PER_WRITER {
            let id = writer_tile(w, i);
            let got = store.get(id).unwrap().expect("every tile present");
            if i % 4 == 0 {
                assert_eq!(got.info.status, TileStatus::Empty, "{id}");
            } else {
                assert_eq!(got.info.status, TileStatus::Data, "{id}");
                assert_eq!(&*got.uncompressed().unwrap(), &content(id, 2)[..], "{id}");
            }
        }
    }
    let hot = store.get(tile(HOT.0, HOT.1, HOT.2)).unwrap().unwrap();
    assert_eq!(
        hot.info.status,
        TileStatus::Data,
        "failures never replace data"
    );
    let counts = store.count_by_status().unwrap();
    let empty = u64::from(WRITERS * TILES_PER_WRITER / 4);
    assert_eq!(counts.empty, empty);
    assert_eq!(
        counts.data,
        u64::from(WRITERS * TILES_PER_WRITER) - empty + 1
    );
    assert_eq!(counts.failed, 0);
}

/// Writers 0 and 1 share `shared`; the others and the readers use their own handles.
fn run(shared: Arc<dyn TileStore>, open: &(dyn Fn() -> Arc<dyn TileStore> + Sync)) {
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        let readers: Vec<_> = (0..3)
            .map(|r| {
                let store = if r == 0 { Arc::clone(&shared) } else { open() };
                let stop = &stop;
                s.spawn(move || read_loop(&*store, stop, r))
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = if w < 2 { Arc::clone(&shared) } else { open() };
                s.spawn(move || write_all(&*store, w))
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
    });
    check_final(&*shared);
    check_final(&*open());
}

#[test]
fn mbtiles_concurrent_writers_and_readers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.mbtiles");
    let shared: Arc<dyn TileStore> = Arc::new(MbTiles::open(&path)?);
    run(shared, &|| Arc::new(MbTiles::open(&path).unwrap()));
    assert_eq!(MbTiles::open(&path)?.integrity_check()?, "ok");
    Ok(())
}

#[test]
fn folder_concurrent_writers_and_readers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shared = Arc::new(FolderStore::open(dir.path())?);
    // Writes to one folder are serialised per handle: all writers share it; readers may use
    // their own handles.
    let for_readers = Arc::clone(&shared);
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        let readers: Vec<_> = (0..3)
            .map(|r| {
                let store: Arc<dyn TileStore> = if r == 0 {
                    for_readers.clone()
                } else {
                    Arc::new(FolderStore::open(dir.path()).unwrap())
                };
                let stop = &stop;
                s.spawn(move || read_loop(&*store, stop, r))
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = Arc::clone(&shared);
                s.spawn(move || write_all(&*store, w))
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
    });
    check_final(&*shared);
    check_final(&FolderStore::open(dir.path())?);
    Ok(())
}
