//! Issue 13, the server's part: what a hostile client or a damaged store must not get.

mod common;

use common::{client, get, get_json, start, start_sample};
use mlytiles_serve::Config;

/// A z14 area of the sample (4 x 4 tiles) that holds data.
fn sample_tiles() -> Vec<String> {
    let mut out = Vec::new();
    for x in 3250..=3253 {
        for y in 6256..=6259 {
            out.push(format!("14/{x}/{y}"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_filter_parameter_is_a_400_naming_it() {
    let server = start_sample();
    let http = client();
    for path in [
        "/mvt/mly1_public/14/3251/6257.mvt?pano=only&pano=exclude",
        "/mapillary/14/3251/6257.png?since=2020-01-01&since=2021-01-01",
        "/mvt/mly1_public/tiles.json?org=none&org=none",
    ] {
        let r = get(&http, &server.url(path), &[]).await;
        assert_eq!(r.status(), 400, "{path}");
        let reason = r.text().await.unwrap();
        let name = path.split('?').nth(1).unwrap().split('=').next().unwrap();
        assert!(
            reason.starts_with(&format!("{name}: given more than once")),
            "{path}: {reason}"
        );
    }
    // Parameters whose values add up may still repeat.
    let r = get(
        &http,
        &server.url("/mvt/mly1_public/14/3251/6257.mvt?creator=1&creator=2"),
        &[],
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_that_keeps_nothing_answers_204_saying_so() {
    let server = start_sample();
    let http = client();
    let r = get(
        &http,
        &server.url("/mvt/mly1_public/14/3251/6257.mvt?creator=987654321987"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["x-mlytiles-note"], "the filter kept nothing");
    // From memory the second time, with the same note.
    let r = get(
        &http,
        &server.url("/mvt/mly1_public/14/3251/6257.mvt?creator=987654321987"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["x-mlytiles-note"], "the filter kept nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_filtered_vector_tile_share_one_filter_run() {
    let server = start_sample();
    let http = client();
    const CALLERS: usize = 8;
    let mut tasks = Vec::new();
    for tile in sample_tiles() {
        for _ in 0..CALLERS {
            let url = server.url(&format!("/mvt/mly1_public/{tile}.mvt?pano=exclude"));
            let http = http.clone();
            let tile = tile.clone();
            tasks.push(tokio::spawn(async move {
                let r = get(&http, &url, &[]).await;
                let status = r.status().as_u16();
                let note = r
                    .headers()
                    .get("x-mlytiles-note")
                    .map(|n| n.to_str().unwrap().to_owned());
                (tile, status, note)
            }));
        }
    }
    let mut filtered = std::collections::BTreeSet::new();
    for t in tasks {
        let (tile, status, note) = t.await.unwrap();
        assert!(status == 200 || status == 204, "{tile}: {status}");
        // A 200, or a 204 because nothing matched: the filter ran over stored data.
        if status == 200 || note.as_deref() == Some("the filter kept nothing") {
            filtered.insert(tile);
        }
    }
    assert!(!filtered.is_empty());
    let health = get_json(&http, &server.url("/health"), &[]).await;
    assert_eq!(
        health["filtered_mvt"].as_u64().unwrap(),
        filtered.len() as u64,
        "one filter run per tile, however many asked at once ({CALLERS} each)"
    );
}

/// A real vector tile (one point in an `image` layer).
fn a_tile() -> Vec<u8> {
    let mut b = mlytiles_mvt::TileBuilder::new();
    b.layer("image")
        .add_feature(
            Some(1),
            &mlytiles_mvt::geo_types::Geometry::Point(mlytiles_mvt::geo_types::Point::new(
                100, 100,
            )),
            [("id", mlytiles_mvt::Value::UInt(1))],
        )
        .unwrap();
    b.to_bytes()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_store_serves_no_link_out_of_it_and_no_bytes_that_are_not_a_tile() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("passwd");
    std::fs::write(&secret, b"root:x:0:0:root:/root:/bin/bash SECRET\n").unwrap();
    let cache = dir.path().join("cache");
    let x = cache.join("mly1_public/14/1");
    std::fs::create_dir_all(&x).unwrap();
    std::os::unix::fs::symlink(&secret, x.join("1.mvt")).unwrap();
    std::fs::write(x.join("2.mvt"), b"root:x:0:0:root:/root:/bin/bash SECRET\n").unwrap();
    std::fs::write(x.join("3.mvt"), [0xff; 64]).unwrap();
    let good = a_tile();
    std::fs::write(x.join("4.mvt"), &good).unwrap();

    let server = start(Config {
        cache_dir: cache,
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    });
    let http = client();
    for y in 1..=3 {
        for query in ["", "?pano=exclude"] {
            let url = server.url(&format!("/mvt/mly1_public/14/1/{y}.mvt{query}"));
            let r = get(&http, &url, &[]).await;
            let status = r.status();
            let body = r.bytes().await.unwrap();
            assert!(!status.is_success(), "{url}: {status}");
            assert!(
                !String::from_utf8_lossy(&body).contains("SECRET"),
                "{url}: {status} {body:?}"
            );
        }
    }
    let r = get(&http, &server.url("/mvt/mly1_public/14/1/4.mvt"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), good);
}

#[test]
fn a_client_that_stops_reading_its_answers_is_disconnected() {
    use std::io::{Read, Write};
    let server = start(Config {
        cache_dir: common::sample_cache(),
        addr: "127.0.0.1:0".parse().unwrap(),
        header_read_timeout: std::time::Duration::from_secs(600),
        idle_timeout: std::time::Duration::from_secs(1),
        ..Config::default()
    });
    let path = "/mapillary/14/3251/6257@2x.png";
    let one = {
        let (status, body) = common::raw_get(server.addr, path);
        assert_eq!(status, 200);
        body.len()
    };
    // Far more answers than the socket buffers hold, asked for at once and never read: the
    // server's writes stall with no request left to answer.
    let asked = (64 << 20) / one.max(1) + 1;
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let mut all = Vec::new();
    for _ in 0..asked {
        all.extend_from_slice(request.as_bytes());
    }
    // Written from another thread: the server stops reading requests once its writes stall.
    let mut writer = s.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(&all);
    });
    std::thread::sleep(std::time::Duration::from_secs(4));
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut got = Vec::new();
    let result = s.read_to_end(&mut got);
    let answers = got.windows(12).filter(|w| w == b"HTTP/1.1 200").count();
    assert!(
        result.is_ok()
            || result
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the connection was not closed: {result:?} after {answers} answers"
    );
    assert!(answers < asked, "{answers} of {asked} answers");
    let _ = s.shutdown(std::net::Shutdown::Both);
    sending.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_in_an_mbtiles_store_is_not_answered_as_a_tile() {
    use mlytiles_store::{MbTiles, TileRecord, TileStore};
    let dir = tempfile::tempdir().unwrap();
    let now = mlytiles_store::chrono::Utc::now();
    {
        let store = MbTiles::open(dir.path().join("mly1_public.mbtiles")).unwrap();
        let tile = |y| mlytiles_tile::TileId::new(14, 1, y).unwrap();
        let garbage = b"<html>not a tile SECRET</html>".to_vec();
        store.put(tile(1), &TileRecord::data(garbage, now)).unwrap();
        store
            .put(tile(2), &TileRecord::data(vec![0xff; 64], now))
            .unwrap();
        store
            .put(tile(3), &TileRecord::data(a_tile(), now))
            .unwrap();
    }
    let server = start(Config {
        cache_dir: dir.path().to_owned(),
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    });
    let http = client();
    for y in 1..=2 {
        let url = server.url(&format!("/mvt/mly1_public/14/1/{y}.mvt"));
        let r = get(&http, &url, &[("accept-encoding", "gzip")]).await;
        let status = r.status();
        let body = r.bytes().await.unwrap();
        assert_eq!(status, 500, "{url}: {body:?}");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("not a vector tile"), "{url}: {text}");
        assert!(!text.contains("SECRET"), "{url}: {text}");
    }
    let r = get(&http, &server.url("/mvt/mly1_public/14/1/3.mvt"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), a_tile());
}

/// Overzoomed PNGs (issue 13, item 11) read their z14 parent once: the children inside one
/// parent share one indexed copy of it, which /health counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overzoomed_children_share_one_indexed_parent() {
    let server = start_sample();
    let http = client();
    let health = server.url("/health");
    let parents = |h: &serde_json::Value| h["overzoom_parents"]["tiles"].as_u64().unwrap();
    assert_eq!(parents(&get_json(&http, &health, &[]).await), 0);
    // The four z16 children of 14/3251/6257 that touch none of its edges (their neighbours
    // are its children too), at 1x and 2x.
    for (x, y) in [
        (13005, 25029),
        (13006, 25029),
        (13005, 25030),
        (13006, 25030),
    ] {
        for suffix in ["", "@2x"] {
            let url = server.url(&format!("/mapillary/16/{x}/{y}{suffix}.png"));
            let r = get(&http, &url, &[]).await;
            assert_eq!(r.status(), 200, "{url}");
        }
    }
    let h = get_json(&http, &health, &[]).await;
    assert_eq!(parents(&h), 1, "{h}");
    assert!(h["overzoom_parents"]["bytes"].as_u64().unwrap() > 0, "{h}");
}
