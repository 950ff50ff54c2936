//! The MBTiles stores mlytiles writes, as other readers see them: GDAL's MVT driver types each
//! layer from the `tilestats` of the `json` metadata entry, so `ogrinfo` must report the
//! sample's and a fetched store's images as points and sequences as lines (with only
//! `vector_layers` it says `Unknown (any)`). GDAL reports a `Point` layer as `Multi Point` and
//! a `LineString` layer as `Multi Line String` (its MVT driver promotes both to multi types).

use std::path::{Path, PathBuf};
use std::process::Command;

use mlytiles_store::{MbTiles, TileStats, TileStatus, TileStore};
use mlytiles_testserver::TestServer;
use mlytiles_tile::TileId;

const TOKEN: &str = "MLY|777|readersTOKENneverPRINTED";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cache")
        .join(name)
}

/// A server holding every data tile of the bundled sample; other tiles get 404 (empty).
fn server() -> TestServer {
    let server = TestServer::start_background();
    let store = MbTiles::open_read_only(fixture("mly1_public.mbtiles")).unwrap();
    for z in 0..=14 {
        for (tile, status) in store.list(z, None).unwrap() {
            if status == TileStatus::Data {
                let stored = store.get(tile).unwrap().unwrap();
                let bytes = stored.uncompressed().unwrap().into_owned();
                server.insert((tile.z(), tile.x(), tile.y()), bytes);
            }
        }
    }
    server
}

fn sample_z14() -> Vec<TileId> {
    let store = MbTiles::open_read_only(fixture("mly1_public.mbtiles")).unwrap();
    store
        .list(14, None)
        .unwrap()
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

/// `mlytiles fetch` of `tiles` (a tile list) into `cache`, from `server`.
fn fetch(server: &TestServer, cache: &Path, tiles: &[TileId]) {
    let list = cache.with_extension("tiles.txt");
    let text: String = tiles.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&list, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .arg("fetch")
        .arg("--endpoint")
        .arg(server.url())
        .arg("--cache")
        .arg(cache)
        .arg("--tiles")
        .arg(&list)
        .arg("--quiet")
        .env("MAPILLARY_ACCESS_TOKEN", TOKEN)
        .env_remove("MLYTILES_ENDPOINT")
        .env_remove("MLYTILES_CACHE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mlytiles fetch failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `json` metadata entry of a store, parsed.
fn json_entry(store: &MbTiles) -> serde_json::Value {
    let json = store
        .metadata_value("json")
        .unwrap()
        .expect("the store has a json metadata entry");
    serde_json::from_str(&json).unwrap()
}

/// What `ogrinfo -so` says of each layer: (layer name, its `Geometry:` line's value, its
/// field lines), for the layers named.
fn ogrinfo(path: &Path, layers: &[&str]) -> Vec<(String, String, Vec<String>)> {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so"])
        .arg(path)
        .args(layers)
        .output()
        .expect("ogrinfo runs (apt-get install gdal-bin)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ogrinfo failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found: Vec<(String, String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            found.push((name.to_string(), String::new(), Vec::new()));
        } else if let Some(last) = found.last_mut() {
            if let Some(g) = line.strip_prefix("Geometry: ") {
                last.1 = g.to_string();
            } else if line.contains(": ") && !line.starts_with(' ') {
                last.2.push(line.to_string());
            }
        }
    }
    assert_eq!(found.len(), layers.len(), "ogrinfo said:\n{text}");
    found
}

fn geometry_of<'a>(info: &'a [(String, String, Vec<String>)], layer: &str) -> &'a str {
    info.iter()
        .find(|(n, _, _)| n == layer)
        .map(|(_, g, _)| g.as_str())
        .unwrap_or_else(|| panic!("ogrinfo named no layer {layer}"))
}

/// A copy of a store in a temporary folder, so that no reader touches the committed file.
fn copy_of(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(fixture(name), &to).unwrap();
    to
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn ogrinfo_types_the_bundled_samples_layers() {
    let dir = tempfile::tempdir().unwrap();
    let info = ogrinfo(
        &copy_of("mly1_public.mbtiles", dir.path()),
        &["image", "sequence"],
    );
    assert_eq!(geometry_of(&info, "image"), "Multi Point");
    assert_eq!(geometry_of(&info, "sequence"), "Multi Line String");
    // The fields come typed from vector_layers.
    let image_fields = &info.iter().find(|l| l.0 == "image").unwrap().2;
    assert!(
        image_fields
            .iter()
            .any(|f| f.starts_with("is_pano: Integer(Boolean)")),
        "{image_fields:?}"
    );
    assert!(
        image_fields
            .iter()
            .any(|f| f.starts_with("sequence_id: String")),
        "{image_fields:?}"
    );
    for (store, layer) in [
        ("mly_map_feature_point.mbtiles", "point"),
        ("mly_map_feature_traffic_sign.mbtiles", "traffic_sign"),
    ] {
        let info = ogrinfo(&copy_of(store, dir.path()), &[layer]);
        assert_eq!(geometry_of(&info, layer), "Multi Point", "{store}");
    }
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn ogrinfo_types_the_layers_of_a_store_fetch_wrote() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    fetch(&server, &cache, &sample_z14());
    let info = ogrinfo(&cache.join("mly1_public.mbtiles"), &["image", "sequence"]);
    assert_eq!(geometry_of(&info, "image"), "Multi Point");
    assert_eq!(geometry_of(&info, "sequence"), "Multi Line String");
}

/// After each run the store's `json` entry describes exactly the tiles it holds: after a first
/// run into an empty cache (the run's own statistics) and after a second run that adds tiles
/// to it (read again from the store), as reading the whole store tells.
#[test]
fn a_fetched_store_records_what_its_tiles_hold() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tiles = sample_z14();
    let (first, second) = tiles.split_at(tiles.len() / 2);
    for (run, tiles) in [first, second].into_iter().enumerate() {
        fetch(&server, &cache, tiles);
        let store = MbTiles::open_read_only(cache.join("mly1_public.mbtiles")).unwrap();
        let read = TileStats::from_store(&store).unwrap();
        let recorded = json_entry(&store);
        let expected: serde_json::Value = serde_json::from_str(&read.metadata_json()).unwrap();
        assert_eq!(recorded, expected, "run {}", run + 1);
        let layers = recorded["tilestats"]["layers"].as_array().unwrap();
        let geometry = |name: &str| {
            layers
                .iter()
                .find(|l| l["layer"] == name)
                .map(|l| l["geometry"].clone())
        };
        assert_eq!(geometry("image"), Some("Point".into()));
        assert_eq!(geometry("sequence"), Some("LineString".into()));
        let meta = |k: &str| store.metadata_value(k).unwrap();
        assert_eq!(meta("name").as_deref(), Some("mly1_public"));
        assert_eq!(meta("format").as_deref(), Some("pbf"));
        assert_eq!(meta("maxzoom").as_deref(), Some("14"));
        assert!(meta("bounds").is_some());
    }
    // Every image of the sample's z14 tiles is counted once.
    let sample = MbTiles::open_read_only(fixture("mly1_public.mbtiles")).unwrap();
    let mut z14 = TileStats::new();
    for t in &tiles {
        z14.add_tile(*t, &sample.get(*t).unwrap().unwrap().data)
            .unwrap();
    }
    let store = MbTiles::open_read_only(cache.join("mly1_public.mbtiles")).unwrap();
    let image_count = |ts: &serde_json::Value| {
        ts["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["layer"] == "image")
            .map(|l| l["count"].clone())
    };
    assert_eq!(
        image_count(&json_entry(&store)["tilestats"]),
        image_count(&z14.tilestats())
    );
}

#[test]
fn a_fetch_with_nothing_to_request_records_statistics_a_store_lacks() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let tiles = sample_z14();
    fetch(&server, &cache, &tiles);
    let path = cache.join("mly1_public.mbtiles");
    let expected = json_entry(&MbTiles::open_read_only(&path).unwrap());
    // A store filled before mlytiles recorded statistics (or by another tool).
    MbTiles::open(&path)
        .unwrap()
        .set_metadata(&[("json", "{}")])
        .unwrap();
    let requests = server.requests().len();
    fetch(&server, &cache, &tiles);
    assert_eq!(server.requests().len(), requests, "every tile was cached");
    assert_eq!(
        json_entry(&MbTiles::open_read_only(&path).unwrap()),
        expected
    );
}
