//! Writer processes killed (SIGKILL) mid-write leave a sound store that lost at most the tile
//! in flight.
//!
//! The writer is this test binary itself, re-run on the same test with `MLYTILES_STORE_WRITER`
//! set: that test then writes tiles in a loop, printing `committed N` after each put, instead of
//! killing writers. (So every test here does its work when run normally; none is a helper that
//! passes by doing nothing.)

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use mlytiles_store::{FolderStore, MbTiles, TileId, TileRecord, TileStatus, TileStore};

const ENV: &str = "MLYTILES_STORE_WRITER";
/// Tile indices of round `r` start at `r * ROUND_STRIDE`.
const ROUND_STRIDE: u64 = 100_000;

fn tile_for(i: u64) -> TileId {
    TileId::new(14, (i % 16_384) as u32, (i / 16_384) as u32).unwrap()
}

/// Mostly small tiles, every 7th a large one so that kills often land inside a write.
fn bytes_for(i: u64) -> Vec<u8> {
    let n = if i.is_multiple_of(7) {
        3000
    } else {
        20 + (i % 60) as usize
    };
    sample_tile(i, n)
}

fn open(kind: &str, path: &str) -> Box<dyn TileStore> {
    match kind {
        "mbtiles" => Box::new(MbTiles::open(path).unwrap()),
        _ => Box::new(FolderStore::open(path).unwrap()),
    }
}

/// The body of the writer process: `spec` is `kind|start|path`.
fn write_until_killed(spec: &str) {
    let mut parts = spec.splitn(3, '|');
    let (kind, start, path) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().parse::<u64>().unwrap(),
        parts.next().unwrap().to_string(),
    );
    let store = open(&kind, &path);
    // Bounded, so a forgotten child ends by itself.
    for i in start..start + 20_000 {
        store
            .put(tile_for(i), &TileRecord::data(bytes_for(i), t(i as i64)))
            .unwrap();
        println!("committed {i}");
        if i % 3 == 0 && i > start {
            // Failures on earlier tiles: they must never cost the data.
            store
                .put(
                    tile_for(i - 1),
                    &TileRecord::failed("HTTP 503", t(i as i64)),
                )
                .unwrap();
        }
    }
}

/// Kills the child when dropped, so a failing assertion does not leave it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs one writer, kills it after at least `after` commits plus `extra_ms`, and returns the
/// last index the child reported committed (or `start - 1` style `None` if none).
fn run_and_kill(
    test: &str,
    kind: &str,
    path: &str,
    start: u64,
    after: u64,
    extra_ms: u64,
) -> Option<u64> {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV, format!("{kind}|{start}|{path}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut last = None;
    for line in lines.by_ref() {
        if let Some(n) = line.unwrap().strip_prefix("committed ") {
            let n: u64 = n.trim().parse().unwrap();
            last = Some(n);
            if n + 1 - start >= after {
                break;
            }
        }
    }
    std::thread::sleep(Duration::from_millis(extra_ms));
    child.0.kill().unwrap(); // SIGKILL on unix
    child.0.wait().unwrap();
    // Everything the child printed before it died was committed.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(n) = line.strip_prefix("committed ") {
            last = Some(n.trim().parse().unwrap());
        }
    }
    last
}

/// Every acknowledged tile is present and exact; after them at most one tile (the one in
/// flight) may be present, and it is complete too.
fn check(store: &dyn TileStore, start: u64, last: Option<u64>) {
    let end = last.map_or(start, |l| l + 1);
    for i in start..end {
        let got = store
            .get(tile_for(i))
            .unwrap()
            .unwrap_or_else(|| panic!("tile {i} lost"));
        assert_eq!(got.info.status, TileStatus::Data, "tile {i}");
        let bytes = got.uncompressed().unwrap();
        assert_eq!(&*bytes, &bytes_for(i)[..], "tile {i}");
        decode_all(&bytes).unwrap();
    }
    if let Some(got) = store.get(tile_for(end)).unwrap() {
        let bytes = got.uncompressed().unwrap();
        assert_eq!(
            &*bytes,
            &bytes_for(end)[..],
            "in-flight tile {end} is partial"
        );
    }
    for i in end + 1..end + 5 {
        assert_eq!(
            store.get(tile_for(i)).unwrap(),
            None,
            "tile {i} cannot exist yet"
        );
    }
}

/// `rounds` writers of a `kind` store, each killed mid-write, checked after every kill. The
/// writers are `test` (the calling test) re-run with [`ENV`] set, which makes it write instead.
fn kill_rounds(test: &str, kind: &str, rounds: u64) {
    if let Ok(spec) = std::env::var(ENV) {
        write_until_killed(&spec);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = match kind {
        "mbtiles" => dir.path().join("k.mbtiles"),
        _ => dir.path().join("k"),
    };
    let path = path.to_str().unwrap().to_string();
    let mut done = Vec::new();
    for round in 0..rounds {
        let start = round * ROUND_STRIDE;
        // Deterministic, varied kill points.
        let after = 5 + (round * 37) % 60;
        let extra_ms = (round * 3) % 7;
        let last = run_and_kill(test, kind, &path, start, after, extra_ms);
        assert!(last.is_some(), "the writer committed nothing");
        eprintln!(
            "{kind} round {round}: killed after {} commits (asked {after})",
            last.map_or(0, |l| l + 1 - start)
        );
        if kind == "mbtiles" {
            // Check the raw file before our code opens (and possibly repairs) it.
            let conn = rusqlite::Connection::open(&path).unwrap();
            let ok: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(ok, "ok", "round {round}");
        }
        let store = open(kind, &path);
        done.push((start, last));
        // Earlier rounds survive later kills too.
        for &(start, last) in &done {
            check(&*store, start, last);
        }
    }
}

#[test]
fn mbtiles_survives_sigkill_mid_write() {
    kill_rounds("mbtiles_survives_sigkill_mid_write", "mbtiles", 5);
}

#[test]
fn folder_survives_sigkill_mid_write() {
    kill_rounds("folder_survives_sigkill_mid_write", "folder", 4);
}
