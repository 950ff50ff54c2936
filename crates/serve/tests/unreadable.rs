//! A stored tile that cannot be read is drawn as missing: its PNG, its neighbours' and its
//! overzoomed children's answer 200, and the log names it once however often it is met.

mod common;

use common::{client, get, log, start};
use mlytiles_serve::Config;
use mlytiles_store::{MbTiles, TileRecord, TileStore};
use mlytiles_tile::TileId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_tile_and_its_neighbours_answer_pngs_and_it_is_logged_once() {
    let log = log();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mly1_public.mbtiles");
    std::fs::copy(common::sample_cache().join("mly1_public.mbtiles"), &db).unwrap();
    let bad = TileId::new(14, 3251, 6257).unwrap();
    let garbage = vec![0x1a, 0x7f, 1, 2];
    MbTiles::open(&db)
        .unwrap()
        .put(
            bad,
            &TileRecord::data(garbage, mlytiles_store::chrono::Utc::now()),
        )
        .unwrap();
    let server = start(Config {
        cache_dir: dir.path().to_owned(),
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    });
    let http = client();
    let mut paths = vec!["/mapillary/14/3251/6257.png".to_string()];
    for (dx, dy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1), (1, 1)] {
        let (x, y) = (3251 + dx, 6257 + dy);
        paths.push(format!("/mapillary/14/{x}/{y}.png"));
    }
    paths.push("/mapillary/17/26008/50056.png".into());
    paths.push("/age/16/13004/25028@2x.png".into());
    for path in &paths {
        let r = get(&http, &server.url(path), &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        let body = r.bytes().await.unwrap();
        assert!(body.starts_with(b"\x89PNG"), "{path}");
    }
    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    let named: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("stored tile 14/3251/6257 cannot be read"))
        .collect();
    assert_eq!(named.len(), 1, "logged once:\n{text}");
}
