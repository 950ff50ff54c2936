//! Fetch-through: tiles missing from the cache come from upstream (a scripted test server on
//! 127.0.0.1), once however many clients ask at the same time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{client, decode_png, drawn_pixels, get, sample_cache, start};
use mlytiles_serve::Config;
use mlytiles_serve::mlytiles_fetch::{FetchConfig, Token};
use mlytiles_store::{MbTiles, TileStore};
use mlytiles_testserver::{Reply, TestServer};
use mlytiles_tile::TileId;

const TILE: (u8, u32, u32) = (14, 3251, 6257);

async fn upstream() -> (TestServer, Vec<u8>) {
    let store: Arc<dyn TileStore> =
        Arc::new(MbTiles::open_read_only(sample_cache().join("mly1_public.mbtiles")).unwrap());
    let expected = store
        .get(TileId::new(TILE.0, TILE.1, TILE.2).unwrap())
        .unwrap()
        .unwrap()
        .uncompressed()
        .unwrap()
        .into_owned();
    let server = TestServer::start_with_store(store).await;
    // Slow answers, so that the concurrent requests below overlap the one fetch.
    server.set_latency(Duration::from_millis(400));
    (server, expected)
}

/// The image features of a plain tile, and how many of them are panoramas.
fn panoramas(bytes: &[u8]) -> (usize, usize) {
    let tile = mlytiles_mvt::Tile::new(bytes).unwrap();
    let Some(images) = tile.layer("image").unwrap() else {
        return (0, 0);
    };
    images.features().fold((0, 0), |(all, panos), f| {
        let pano = f.unwrap().get("is_pano").unwrap() == Some(mlytiles_mvt::Value::Bool(true));
        (all + 1, panos + usize::from(pano))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_missing_tile_cause_one_upstream_request() {
    let (upstream, expected) = upstream().await;
    let cache = tempfile::tempdir().unwrap();
    let server = start(Config {
        cache_dir: cache.path().to_owned(),
        addr: "127.0.0.1:0".parse().unwrap(),
        fetch: Some(FetchConfig {
            endpoint: upstream.url(),
            token: Some(Token::new("MLY|1|SECRETTOKEN").unwrap()),
            max_retries: 0,
            ..FetchConfig::default()
        }),
        ..Config::default()
    });
    let http = client();
    let (z, x, y) = TILE;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let http = http.clone();
        // Vector tiles and PNGs of the same data tile, plain and filtered, all at once.
        let path = match i % 4 {
            0 => format!("/mvt/mly1_public/{z}/{x}/{y}.mvt"),
            1 => format!("/mapillary/{z}/{x}/{y}.png"),
            2 => format!("/mapillary/{}/{}/{}.png", z + 1, x * 2, y * 2),
            _ => format!("/mvt/mly1_public/{z}/{x}/{y}.mvt?pano=exclude"),
        };
        let url = server.url(&path);
        tasks.push(tokio::spawn(async move {
            let r = http.get(url).send().await.unwrap();
            (path, r.status().as_u16(), r.bytes().await.unwrap())
        }));
    }
    for t in tasks {
        let (path, status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{path}");
        if path.ends_with(".mvt") {
            assert_eq!(body, expected, "{path}: the upstream tile, as fetched");
        } else if path.ends_with(".png") {
            assert!(drawn_pixels(&decode_png(&body).2) > 100, "{path}");
        }
    }
    assert_eq!(upstream.count(TILE), 1, "one upstream request for the tile");
    // The token went upstream in the query, as Mapillary wants it.
    let log = upstream.requests();
    assert!(log[0].query.contains("access_token="), "{:?}", log[0]);

    // Later requests are served from the cache folder, without asking upstream.
    // The filtered tile holds exactly the stored panoramas (no content when there are none).
    let r = get(
        &http,
        &server.url(&format!("/mvt/mly1_public/{z}/{x}/{y}.mvt?pano=only")),
        &[],
    )
    .await;
    let (_, panos) = panoramas(&expected);
    assert_eq!(r.status(), if panos > 0 { 200 } else { 204 });
    let body = r.bytes().await.unwrap();
    if panos > 0 {
        assert_eq!(panoramas(&body), (panos, panos));
    }
    assert_eq!(upstream.count(TILE), 1);
    let stored = MbTiles::open_read_only(cache.path().join("mly1_public.mbtiles")).unwrap();
    assert!(stored.has(TileId::new(z, x, y).unwrap()).unwrap());

    // A tile upstream does not have (404): recorded empty, answered with no content, once.
    for _ in 0..3 {
        let r = http
            .get(server.url("/mvt/mly1_public/14/100/100.mvt"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    assert_eq!(upstream.count((14, 100, 100)), 1);

    // An upstream failure is a 502 with the kind of failure (not an empty tile clients would
    // keep); the next request tries again.
    let other = (14, 3252, 6257);
    upstream.script(other, [Reply::Status(503)]);
    let url = server.url(&format!(
        "/mvt/mly1_public/{}/{}/{}.mvt",
        other.0, other.1, other.2
    ));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let reason = r.text().await.unwrap();
    assert!(
        reason.contains("(server-error)") && !reason.contains("SECRET"),
        "{reason}"
    );
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(upstream.count(other), 2);
}
