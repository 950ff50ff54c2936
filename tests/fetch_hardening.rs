//! `mlytiles fetch` against a hostile or odd upstream (a scripted test server on 127.0.0.1):
//! redirect loops and redirects to another origin, a 403 to a refresh, and two fetches of
//! one area at the same time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use mlytiles_store::{MbTiles, TileStatus, TileStore};
use mlytiles_testserver::{Reply, TestServer};
use mlytiles_tile::TileId;

const TOKEN: &str = "MLY|99|hardeningTOKEN";

/// A valid tile of the bundled sample, as plain bytes.
fn sample_tile() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache/mly1_public.mbtiles");
    let store = MbTiles::open_read_only(path).unwrap();
    let (tile, _) = store.list(14, None).unwrap()[0];
    store
        .get(tile)
        .unwrap()
        .unwrap()
        .uncompressed()
        .unwrap()
        .into_owned()
}

fn row(n: u32, x0: u32, y: u32) -> Vec<TileId> {
    (0..n)
        .map(|i| TileId::new(14, x0 + i, y).unwrap())
        .collect()
}

fn key(t: TileId) -> (u8, u32, u32) {
    (t.z(), t.x(), t.y())
}

fn path_of(t: TileId) -> String {
    format!("/maps/vtp/mly1_public/2/{}/{}/{}", t.z(), t.x(), t.y())
}

fn list_file(dir: &Path, name: &str, tiles: &[TileId]) -> PathBuf {
    let path = dir.join(name);
    let text: String = tiles.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// `mlytiles fetch` of the tiles in `list` from `server` into `cache`, with `args`.
fn fetch(server: &TestServer, cache: &Path, list: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlytiles"));
    cmd.arg("fetch")
        .arg("--endpoint")
        .arg(server.url())
        .arg("--cache")
        .arg(cache)
        .arg("--tiles")
        .arg(list)
        .args(["--no-skip-empty", "--quiet"])
        .args(args)
        .env("MAPILLARY_ACCESS_TOKEN", TOKEN)
        .env_remove("MLYTILES_ENDPOINT")
        .env_remove("MLYTILES_CACHE");
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn redirect(location: String) -> Reply {
    Reply::Redirect {
        status: 302,
        location,
    }
}

#[test]
fn a_redirect_loop_spends_no_more_than_the_budget() {
    let server = TestServer::start_background();
    let dir = tempfile::tempdir().unwrap();
    let tiles = row(5, 10, 10);
    for &t in &tiles {
        server.script(key(t), vec![redirect(path_of(t)); 100]);
    }
    let list = list_file(dir.path(), "t.txt", &tiles);
    let out = fetch(
        &server,
        &dir.path().join("cache"),
        &list,
        &["--budget", "10", "--concurrency", "1"],
    )
    .output()
    .unwrap();
    let all = text(&out);
    // Stopped at the budget, with the server having seen no more than the budget.
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        server.total_requests() <= 10,
        "{} requests",
        server.total_requests()
    );
    assert!(all.contains("failed (redirect)"), "{all}");
    assert!(all.contains("more than 3 redirects"), "{all}");
}

#[test]
fn a_redirect_to_another_origin_is_a_failure_and_never_followed() {
    let server = TestServer::start_background();
    let other = TestServer::start_background();
    let dir = tempfile::tempdir().unwrap();
    let tile = TileId::new(14, 20, 20).unwrap();
    other.insert(key(tile), sample_tile());
    server.script(
        key(tile),
        [redirect(format!("{}{}", other.url(), path_of(tile)))],
    );
    let list = list_file(dir.path(), "t.txt", &[tile]);
    let out = fetch(&server, &dir.path().join("cache"), &list, &[])
        .output()
        .unwrap();
    let all = text(&out);
    // The only tile failed: a run that got nothing exits 1.
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("redirect to another origin"), "{all}");
    assert_eq!(other.total_requests(), 0, "the other origin was not asked");
    assert_eq!(server.total_requests(), 1, "not retried");
    let store = MbTiles::open_read_only(dir.path().join("cache/mly1_public.mbtiles")).unwrap();
    assert_eq!(
        store.info(tile).unwrap().map(|i| i.status),
        Some(TileStatus::Failed)
    );
}

#[test]
fn a_refresh_answered_403_keeps_the_stored_tile() {
    let server = TestServer::start_background();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tile = TileId::new(14, 30, 30).unwrap();
    server.insert(key(tile), sample_tile());
    let list = list_file(dir.path(), "t.txt", &[tile]);
    let out = fetch(&server, &cache, &list, &[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let db = cache.join("mly1_public.mbtiles");
    let before = MbTiles::open_read_only(&db)
        .unwrap()
        .get(tile)
        .unwrap()
        .unwrap();
    assert_eq!(before.info.status, TileStatus::Data);
    // Older than 1 s, then re-checked: a firewall answers 403.
    std::thread::sleep(Duration::from_millis(1100));
    server.script(key(tile), [Reply::Status(403)]);
    let out = fetch(&server, &cache, &list, &["--refresh-older-than", "1s"])
        .output()
        .unwrap();
    let all = text(&out);
    // The re-check of the only tile failed (the stored tile stays): exit 1.
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert_eq!(server.total_requests(), 2, "the refresh asked");
    assert!(
        all.contains("HTTP 403 to a refresh: the stored tile is kept"),
        "{all}"
    );
    let after = MbTiles::open_read_only(&db)
        .unwrap()
        .get(tile)
        .unwrap()
        .unwrap();
    assert_eq!(after.info.status, TileStatus::Data);
    assert_eq!(after.data, before.data);
    assert!(after.info.failure.is_some_and(|f| f.reason.contains("403")));
}

#[test]
fn two_fetches_of_one_area_at_once_request_each_tile_once() {
    let server = TestServer::start_background();
    server.set_latency(Duration::from_millis(30));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tiles = row(30, 40, 40);
    let body = sample_tile();
    for &t in &tiles {
        server.insert(key(t), body.clone());
    }
    let list = list_file(dir.path(), "t.txt", &tiles);
    // Create the cache folder, its store and budget file before the two runs race to (one
    // tile outside the area, answered 404: empty).
    let first = list_file(dir.path(), "first.txt", &[TileId::new(14, 0, 0).unwrap()]);
    let out = fetch(&server, &cache, &first, &[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let a = fetch(&server, &cache, &list, &["--budget", "100"])
        .spawn()
        .unwrap();
    let b = fetch(&server, &cache, &list, &["--budget", "100"])
        .spawn()
        .unwrap();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let counts = server.counts();
    for t in &tiles {
        assert_eq!(counts.get(&key(*t)), Some(&1), "{t}: {counts:?}");
    }
    assert_eq!(server.total_requests(), 31);
    let store = MbTiles::open_read_only(cache.join("mly1_public.mbtiles")).unwrap();
    assert_eq!(store.count_by_status().unwrap().data, 30);
}
