//! End-to-end tests of `mlytiles fetch` and `mlytiles cache` against the scripted test server
//! on 127.0.0.1, serving the bundled sample area (`fixtures/cache/mly1_public.mbtiles`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mlytiles_store::{MbTiles, TileStatus, TileStore};
use mlytiles_testserver::{Reply, TestServer};
use mlytiles_tile::TileId;

const TOKEN: &str = "MLY|777|cliTOKENneverPRINTED";
const NEEDLE: &[u8] = b"cliTOKENneverPRINTED";

fn sample() -> MbTiles {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache/mly1_public.mbtiles");
    MbTiles::open_read_only(path).expect("the bundled sample cache")
}

/// A server holding every tile of the sample (all zooms); other tiles get 404 (empty).
fn server() -> TestServer {
    let server = TestServer::start_background();
    let store = sample();
    for z in 0..=14 {
        for (tile, status) in store.list(z, None).unwrap() {
            if status == TileStatus::Data {
                let bytes = store
                    .get(tile)
                    .unwrap()
                    .unwrap()
                    .uncompressed()
                    .unwrap()
                    .into_owned();
                server.insert((tile.z(), tile.x(), tile.y()), bytes);
            }
        }
    }
    server
}

/// The sample's z14 tiles.
fn sample_z14() -> Vec<TileId> {
    sample()
        .list(14, None)
        .unwrap()
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

/// 160 z14 tiles (16 columns by 10 rows): the 16 of the sample and their empty neighbours.
fn sample_with_neighbours() -> Vec<TileId> {
    let first = sample_z14()[0];
    (0..16)
        .flat_map(|dx| (0..10).map(move |dy| (dx, dy)))
        .map(|(dx, dy)| TileId::new(14, first.x() - 4 + dx, first.y() - 3 + dy).unwrap())
        .collect()
}

/// How many tiles (of any status) the MBTiles file at `db` holds; 0 while it cannot be opened.
fn stored_count(db: &Path) -> u64 {
    MbTiles::open_read_only(db)
        .ok()
        .and_then(|s| s.count_by_status().ok())
        .map_or(0, |c| c.total())
}

/// `mlytiles cache SUB CACHE`.
fn cache_cmd(sub: &str, cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlytiles"));
    cmd.args(["cache", sub]).arg(cache);
    cmd
}

fn bin(server: &TestServer, cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlytiles"));
    cmd.arg("fetch")
        .arg("--endpoint")
        .arg(server.url())
        .arg("--cache")
        .arg(cache)
        .env("MAPILLARY_ACCESS_TOKEN", TOKEN)
        .env_remove("MLYTILES_ENDPOINT")
        .env_remove("MLYTILES_CACHE");
    cmd
}

fn run(mut cmd: Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    assert!(
        !stdout.windows(NEEDLE.len()).any(|w| w == NEEDLE)
            && !stderr.windows(NEEDLE.len()).any(|w| w == NEEDLE),
        "the token was printed:\n{out}\n{err}"
    );
    (status.code().unwrap_or(-1), out, err)
}

/// A tile list file of `tiles`.
fn list_file(dir: &Path, tiles: &[TileId]) -> PathBuf {
    let path = dir.join("tiles.txt");
    let text: String = tiles.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&path, format!("# tiles\n{text}")).unwrap();
    path
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_token_absent_from(dir: &Path) {
    for f in files(dir) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(NEEDLE.len()).any(|w| w == NEEDLE),
            "the token is in {}",
            f.display()
        );
        assert!(!f.to_string_lossy().contains("cliTOKEN"));
    }
}

/// The bbox of the sample's z14 tiles with a margin of two tiles.
fn sample_bbox() -> String {
    let tiles = sample_z14();
    let x0 = tiles.iter().map(|t| t.x()).min().unwrap() - 2;
    let x1 = tiles.iter().map(|t| t.x()).max().unwrap() + 2;
    let y0 = tiles.iter().map(|t| t.y()).min().unwrap() - 2;
    let y1 = tiles.iter().map(|t| t.y()).max().unwrap() + 2;
    let nw = TileId::new(14, x0, y0).unwrap().bounds();
    let se = TileId::new(14, x1, y1).unwrap().bounds();
    // Shrink by a hair so the cover does not reach the next tiles.
    let e = 1e-7;
    format!(
        "{},{},{},{}",
        nw.west() + e,
        se.south() + e,
        se.east() - e,
        nw.north() - e
    )
}

#[test]
fn plan_then_fetch_then_a_rerun_requests_nothing() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let bbox = sample_bbox();
    // 8x8 z14 tiles; the plan asks nothing of the server.
    let mut cmd = bin(&server, &cache);
    cmd.args(["--bbox", &bbox, "--plan"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("64 tiles"), "{out}");
    assert!(out.contains("to request 64"), "{out}");
    assert!(out.contains("not cached yet"), "{out}");
    assert_eq!(server.total_requests(), 0);
    // The run: one z5 overview tile, then only the z14 tiles whose z13 cell has images.
    let mut cmd = bin(&server, &cache);
    cmd.args(["--bbox", &bbox, "--quiet"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("skip-empty saves"), "{out}");
    let store = MbTiles::open_read_only(cache.join("mly1_public.mbtiles")).unwrap();
    for tile in sample_z14() {
        let stored = store
            .get(tile)
            .unwrap()
            .expect("every sample tile is fetched");
        assert_eq!(stored.info.status, TileStatus::Data);
    }
    let requested = server.total_requests();
    assert!(requested < 64, "{requested} requests for 64 tiles");
    assert_eq!(store.integrity_check().unwrap(), "ok");
    // The re-run is answered from the cache.
    let mut cmd = bin(&server, &cache);
    cmd.args(["--bbox", &bbox]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("to request 0"), "{out}");
    assert_eq!(server.total_requests(), requested);
    // cache info and verify.
    let (code, out, err) = run(cache_cmd("info", &cache));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("mly1_public: "), "{out}");
    assert!(out.contains("z14: 16 data"), "{out}");
    assert!(out.contains("z5: 1 data"), "{out}");
    let (code, out, err) = run(cache_cmd("verify", &cache));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("mly1_public: ok, 17 data tiles checked"),
        "{out}"
    );
    assert_token_absent_from(dir.path());
}

#[test]
fn failures_are_summarised_listed_and_never_hold_the_token() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tiles = sample_z14();
    let echo = format!("<html>denied: access_token={TOKEN}</html>").into_bytes();
    server.script(
        (14, tiles[0].x(), tiles[0].y()),
        vec![
            Reply::Body {
                status: 502,
                content_type: "text/html".into(),
                body: echo,
            };
            10
        ],
    );
    server.script((14, tiles[1].x(), tiles[1].y()), vec![Reply::Reset; 10]);
    let list = list_file(dir.path(), &tiles);
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles").arg(&list);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("14 data"), "{out}");
    assert!(out.contains("2 failed"), "{out}");
    assert!(
        out.contains("failed (server-error): 1 tiles, e.g. HTTP 502"),
        "{out}"
    );
    assert!(out.contains("failed (connection): 1 tiles"), "{out}");
    let (code, out, err) = run(cache_cmd("failed", &cache));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(&format!("mly1_public {} ", tiles[0])), "{out}");
    assert_token_absent_from(dir.path());
    for r in server.requests() {
        assert!(!r.path.contains("cliTOKEN"));
        assert!(r.headers.iter().all(|(_, v)| !v.contains("cliTOKEN")));
    }
}

#[test]
fn at_the_budget_the_run_stops_cleanly_and_says_when_it_resets() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let list = list_file(dir.path(), &sample_z14());
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles")
        .arg(&list)
        .args(["--budget", "5", "--concurrency", "2", "--no-skip-empty"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(out.contains("takes 4 days of budget"), "{out}");
    assert!(out.contains("budget of 5 is used up"), "{out}");
    assert!(out.contains("11 tiles remain"), "{out}");
    assert!(out.contains("resets at"), "{out}");
    assert_eq!(server.total_requests(), 5);
    // The next run (same day) sends nothing more.
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles").arg(&list).args(["--budget", "5"]);
    let (code, out, _) = run(cmd);
    assert_eq!(code, 3, "{out}");
    assert_eq!(server.total_requests(), 5);
}

#[test]
fn an_invalid_token_stops_with_a_message_saying_so() {
    let server = server();
    server.script_requests([Reply::Status(401)]);
    let dir = tempfile::tempdir().unwrap();
    let list = list_file(dir.path(), &sample_z14());
    let mut cmd = bin(&server, &dir.path().join("cache"));
    cmd.arg("--tiles").arg(&list).args(["--concurrency", "1"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("access token is invalid"), "{err}");
    assert_eq!(server.total_requests(), 1);
}

#[test]
fn killed_mid_fetch_the_store_is_sound_and_the_rerun_completes() {
    let server = server();
    server.set_latency(Duration::from_millis(40));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tiles = sample_with_neighbours();
    let list = list_file(dir.path(), &tiles);
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles")
        .arg(&list)
        .args(["--concurrency", "2", "--no-skip-empty"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let db = cache.join("mly1_public.mbtiles");
    // Wait (generously) until some tiles are stored, then SIGKILL.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if stored_count(&db) >= 20 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let store = MbTiles::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let before: Vec<(TileId, TileStatus)> = tiles
        .iter()
        .filter_map(|t| store.info(*t).unwrap().map(|i| (*t, i.status)))
        .collect();
    assert!(before.len() >= 20 && before.len() < tiles.len());
    let sample = sample();
    for (tile, status) in &before {
        if *status == TileStatus::Data {
            let got = store.get(*tile).unwrap().unwrap();
            let want = sample.get(*tile).unwrap().unwrap();
            assert_eq!(
                got.uncompressed().unwrap(),
                want.uncompressed().unwrap(),
                "{tile}"
            );
        }
    }
    drop(store);
    let counts = server.counts();
    server.set_latency(Duration::ZERO);
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles")
        .arg(&list)
        .args(["--quiet", "--no-skip-empty"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    let after = server.counts();
    for (tile, _) in &before {
        let k = (tile.z(), tile.x(), tile.y());
        assert_eq!(counts.get(&k), after.get(&k), "{tile} was requested again");
    }
    let store = MbTiles::open_read_only(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let c = store.count_by_status().unwrap();
    assert_eq!((c.data, c.data + c.empty), (16, 160));
    assert_token_absent_from(dir.path());
}

#[test]
fn a_polygon_area_plans_only_the_tiles_it_touches() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let t = sample_z14()[0];
    let b = |dx, dy| TileId::new(14, t.x() + dx, t.y() + dy).unwrap().bounds();
    // An L over three of the four tiles of a 2x2 block (its bbox covers all four), and a
    // square inside one tile.
    let (nw, ne, sw) = (b(0, 0), b(1, 0), b(0, 1));
    let e = 1e-6;
    let mid_x = nw.east();
    let mid_y = nw.south();
    let l_shape = [
        (nw.west() + e, nw.north() - e),
        (ne.east() - e, ne.north() - e),
        (ne.east() - e, mid_y + e),
        (mid_x - e, mid_y + e),
        (mid_x - e, sw.south() + e),
        (sw.west() + e, sw.south() + e),
        (nw.west() + e, nw.north() - e),
    ];
    let inner = [
        (
            nw.west() + 0.3 * (mid_x - nw.west()),
            nw.north() - 0.3 * (nw.north() - mid_y),
        ),
        (
            nw.west() + 0.6 * (mid_x - nw.west()),
            nw.north() - 0.3 * (nw.north() - mid_y),
        ),
        (
            nw.west() + 0.6 * (mid_x - nw.west()),
            nw.north() - 0.6 * (nw.north() - mid_y),
        ),
        (
            nw.west() + 0.3 * (mid_x - nw.west()),
            nw.north() - 0.3 * (nw.north() - mid_y),
        ),
    ];
    for (ring, expected) in [(&l_shape[..], 3), (&inner[..], 1)] {
        let coords: Vec<String> = ring.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
        let geojson = format!(
            r#"{{"type":"Polygon","coordinates":[[{}]]}}"#,
            coords.join(",")
        );
        let path = dir.path().join("area.geojson");
        std::fs::write(&path, geojson).unwrap();
        let mut cmd = bin(&server, &dir.path().join("cache"));
        cmd.arg("--within").arg(&path).arg("--plan");
        let (code, out, err) = run(cmd);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!(": {expected} tiles;")), "{out}");
    }
    assert_eq!(server.total_requests(), 0);
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_what_is_stored() {
    let server = server();
    server.set_latency(Duration::from_millis(40));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tiles = sample_with_neighbours();
    let list = list_file(dir.path(), &tiles);
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles")
        .arg(&list)
        .args(["--concurrency", "2", "--no-skip-empty", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let db = cache.join("mly1_public.mbtiles");
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored_count(&db) < 10 {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("stopped: interrupted"), "{stdout}");
    let store = MbTiles::open_read_only(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let c = store.count_by_status().unwrap();
    // Everything the summary counts as done is stored.
    let done: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("mly1_public: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a summary line");
    assert_eq!(c.total(), done, "{stdout}");
    assert!(done < 160);
}

#[test]
fn a_tile_list_takes_three_separators_and_names_a_bad_line() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let list = dir.path().join("tiles.txt");
    std::fs::write(
        &list,
        "# two tiles\n14/8185/5447\n14,8186 5447  # comma, space\n",
    )
    .unwrap();
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles").arg(&list).arg("--plan");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": 2 tiles;"), "{out}");
    std::fs::write(&list, "14/8185/5447\n14/99999/1\n").unwrap();
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles").arg(&list).arg("--plan");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("tiles.txt:2: \"14/99999/1\" is not a tile"),
        "{err}"
    );
    assert!(err.contains("x 99999 is outside"), "{err}");
    assert_eq!(server.total_requests(), 0);
}

#[test]
fn cache_verify_names_a_stored_tile_that_is_not_a_tile() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let good = sample_z14()[0];
    let bad = TileId::new(14, good.x() + 1, good.y()).unwrap();
    {
        let store = MbTiles::open(cache.join("mly1_public.mbtiles")).unwrap();
        let now = mlytiles_store::chrono::Utc::now();
        let body = sample().get(good).unwrap().unwrap().data;
        store
            .put(good, &mlytiles_store::TileRecord::data(body, now))
            .unwrap();
        let garbage = vec![0x1a, 0x7f, 1, 2];
        store
            .put(bad, &mlytiles_store::TileRecord::data(garbage, now))
            .unwrap();
    }
    let (code, out, err) = run(cache_cmd("verify", &cache));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains(&format!("mly1_public: {bad}: ")), "{out}");
    assert!(!out.contains(&format!("mly1_public: {good}: ")), "{out}");
    assert!(
        out.contains("mly1_public: 1 problem(s), 2 data tiles checked"),
        "{out}"
    );
    assert!(err.contains("1 problem(s) found"), "{err}");
}

#[test]
fn a_fetch_in_which_every_tile_failed_exits_1() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tiles = &sample_z14()[..2];
    for t in tiles {
        server.script((14, t.x(), t.y()), vec![Reply::Reset; 10]);
    }
    let list = list_file(dir.path(), tiles);
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles").arg(&list).arg("--no-skip-empty");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("0 data, 0 empty, 0 not modified, 2 failed"),
        "{out}"
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("error:"))
            .collect::<Vec<_>>(),
        [format!(
            "error: every tile requested failed (2 of 2); `mlytiles cache failed --cache {}` \
             lists the reasons",
            cache.display()
        )]
    );
    // One tile that comes through makes a success (the other is listed as failed).
    let list = list_file(dir.path(), &[tiles[1], sample_z14()[2]]);
    let mut cmd = bin(&server, &cache);
    cmd.arg("--tiles").arg(&list).arg("--no-skip-empty");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 data"), "{out}");
}

#[test]
fn fetch_usage_errors_exit_2() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let list = list_file(dir.path(), &sample_z14()[..1]);
    let list = list.to_str().unwrap();
    for args in [
        &["--tiles", list, "--zoom", "12"][..],
        &["--tiles", list, "--bbox", "1,2,3,4"],
        &["--bbox", "1,2,3"],
        &[],
    ] {
        let mut cmd = bin(&server, &cache);
        cmd.args(args);
        let (code, out, err) = run(cmd);
        assert_eq!(code, 2, "{args:?}: {out}\n{err}");
    }
    assert_eq!(server.total_requests(), 0);
}

/// An installed binary (a copy outside the source tree) run in an empty folder with an empty
/// home: `render` shows the bundled sample and says so; once `fetch` has put the area into
/// the default cache, the same `render --bbox` draws from it.
#[test]
fn an_installed_binary_renders_the_sample_then_what_fetch_put_in_the_default_cache() {
    let server = server();
    let root = tempfile::tempdir().unwrap();
    let (bin_dir, work, home) = (
        root.path().join("bin"),
        root.path().join("work"),
        root.path().join("home"),
    );
    for d in [&bin_dir, &work, &home] {
        std::fs::create_dir_all(d).unwrap();
    }
    let installed = bin_dir.join("mlytiles");
    std::fs::copy(env!("CARGO_BIN_EXE_mlytiles"), &installed).unwrap();
    let mlytiles = |args: &[&str]| {
        let mut cmd = Command::new(&installed);
        cmd.args(args)
            .current_dir(&work)
            .env("HOME", &home)
            .env("MAPILLARY_ACCESS_TOKEN", TOKEN)
            .env_remove("XDG_CACHE_HOME")
            .env_remove("MLYTILES_CACHE")
            .env_remove("MLYTILES_ENDPOINT");
        run(cmd)
    };
    let default_cache = home.join(".cache/mlytiles");
    let bbox = sample_bbox();

    let (code, out, err) = mlytiles(&["render", "--bbox", &bbox, "--out", "before.png"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "the cache {} is empty: showing the bundled sample area",
            default_cache.display()
        )),
        "{err}"
    );
    assert!(out.contains("from the bundled sample area"), "{out}");

    let (code, out, err) = mlytiles(&["fetch", "--endpoint", &server.url(), "--bbox", &bbox]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(default_cache.join("mly1_public.mbtiles").is_file());

    let (code, out, err) = mlytiles(&["render", "--bbox", &bbox, "--out", "after.png"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!err.contains("sample"), "{err}");
    assert!(
        out.contains(&format!(
            "from {}",
            default_cache.join("mly1_public.mbtiles").display()
        )),
        "{out}"
    );
    assert!(work.join("after.png").is_file() && work.join("after.pgw").is_file());
}

/// `cache verify` goes on past a store it cannot open, checks folder stores too, and names
/// rows of the tiles table that are no tile (zoom 99, a text zoom), one line a problem.
#[test]
fn cache_verify_checks_every_store_folders_too_and_rows_outside_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::write(cache.join("aaa_broken.mbtiles"), b"not a database").unwrap();
    let sample_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache/mly1_public.mbtiles");
    let db = cache.join("mly1_public.mbtiles");
    std::fs::copy(&sample_path, &db).unwrap();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "INSERT INTO tiles VALUES (99, 0, 0, x'00');
             INSERT INTO tiles VALUES ('x', 0, 0, x'00');",
        )
        .unwrap();
    }
    let good = sample_z14()[0];
    let bytes = sample()
        .get(good)
        .unwrap()
        .unwrap()
        .uncompressed()
        .unwrap()
        .into_owned();
    let folder = cache.join("zzz_folder/14/100");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("200.mvt"), &bytes).unwrap();
    std::fs::write(folder.join("201.mvt"), [0x1a, 0x7f, 1, 2]).unwrap();

    let (code, out, err) = run(cache_cmd("verify", &cache));
    assert_eq!(code, 1, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("aaa_broken: cannot open: ")
            && lines[0].ends_with("SQLite: file is not a database"),
        "{out}"
    );
    assert!(
        lines.contains(
            &"mly1_public: a tiles row names no tile: zoom_level 99, tile_column 0, tile_row 0"
        ),
        "{out}"
    );
    assert!(
        lines.contains(
            &"mly1_public: a tiles row names no tile: zoom_level 'x', tile_column 0, tile_row 0"
        ),
        "{out}"
    );
    let data_tiles: u64 = (0..=14)
        .map(|z| {
            sample()
                .list(z, None)
                .unwrap()
                .iter()
                .filter(|(_, s)| *s == TileStatus::Data)
                .count() as u64
        })
        .sum();
    assert!(
        lines.contains(
            &format!("mly1_public: 2 problem(s), {data_tiles} data tiles checked").as_str()
        ),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("zzz_folder: 14/100/201: ")),
        "{out}"
    );
    assert!(
        lines.contains(&"zzz_folder: 1 problem(s), 2 data tiles checked"),
        "{out}"
    );
    assert_eq!(
        err.trim_end(),
        format!("error: 4 problem(s) found in {}", cache.display())
    );

    // A sound folder cache is checked and said to be so.
    std::fs::remove_file(folder.join("201.mvt")).unwrap();
    let only_folder = tempfile::tempdir().unwrap();
    std::fs::rename(
        cache.join("zzz_folder"),
        only_folder.path().join("zzz_folder"),
    )
    .unwrap();
    let (code, out, err) = run(cache_cmd("verify", only_folder.path()));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out.trim_end(), "zzz_folder: ok, 1 data tiles checked");
}

/// A failure reason stored by an older mlytiles that still holds the token (percent-encoded
/// here) is scrubbed when `cache failed` prints it.
#[test]
fn cache_failed_scrubs_reasons_stored_before_scrubbing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let tile = sample_z14()[0];
    MbTiles::open(cache.join("mly1_public.mbtiles"))
        .unwrap()
        .put(
            tile,
            &mlytiles_store::TileRecord::failed(
                "HTTP 500: \"GET /x?access_token=MLY%7C777%7CcliTOKENneverPRINTED\"",
                mlytiles_store::chrono::Utc::now(),
            ),
        )
        .unwrap();
    let mut cmd = cache_cmd("failed", &cache);
    cmd.env("MAPILLARY_ACCESS_TOKEN", TOKEN);
    // `run` fails the test if the token is printed.
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("mly1_public {tile} ")), "{out}");
    assert!(out.contains("HTTP 500"), "{out}");
}
