//! End-to-end tests of `mlytiles filter`, run on the sample tile
//! (`fixtures/sample/14/3251/6257.mvt`) and on a folder store and an MBTiles store built from
//! it in a temp dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use mlytiles_mvt::{Tile, Value};
use mlytiles_store::chrono::Utc;
use mlytiles_store::{FolderStore, MbTiles, TileRecord, TileStore};
use mlytiles_tile::TileId;
use serde_json::Value as Json;

const BIG_ID: &str = "9007199254740993";

fn sample_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/14/3251/6257.mvt")
}

fn sample_bytes() -> Vec<u8> {
    std::fs::read(sample_path()).expect("the sample fixture")
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self
    }

    fn features(&self) -> Vec<Json> {
        let doc: Json = serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()));
        assert_eq!(doc["type"], "FeatureCollection");
        doc["features"].as_array().unwrap().clone()
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .current_dir(dir)
        .arg("filter")
        .args(args)
        .output()
        .expect("run mlytiles");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn sample(args: &[&str]) -> Run {
    let path = sample_path();
    let mut all = vec![path.to_str().unwrap()];
    all.extend_from_slice(args);
    run(Path::new(env!("CARGO_MANIFEST_DIR")), &all)
}

/// How many sample images satisfy `pred` on their properties by name.
fn count_images(pred: impl Fn(&mlytiles_mvt::Feature<'_, '_>) -> bool) -> usize {
    let bytes = sample_bytes();
    let tile = Tile::new(&bytes).unwrap();
    let layer = tile.layer("image").unwrap().unwrap();
    layer
        .features()
        .filter(|f| pred(f.as_ref().unwrap()))
        .count()
}

#[test]
fn pano_only_keeps_only_panoramas_and_summarises_on_stderr() {
    let r = sample(&["--layer", "image", "--pano", "only"]).ok();
    let features = r.features();
    let want = count_images(|f| f.get("is_pano").unwrap() == Some(Value::Bool(true)));
    assert!(want > 0);
    assert_eq!(features.len(), want);
    for f in &features {
        assert_eq!(f["properties"]["is_pano"], true);
        // The layer is a property, where GDAL and QGIS read it, not a foreign member.
        assert_eq!(f["properties"]["layer"], "image");
        assert!(f.get("layer").is_none(), "{f}");
    }
    assert_eq!(
        r.stderr.trim(),
        format!(
            "read 41 image features from 1 tile, kept {want}; type mismatches: \
             image.captured_at: 1 empty string"
        )
    );
    // The big id, exact, as a string.
    let all = sample(&["--layer", "image"]).ok();
    assert!(all.text().contains(&format!("\"id\":\"{BIG_ID}\"")));
    let numbers = sample(&["--layer", "image", "--ids", "number"]).ok();
    assert!(numbers.text().contains(&format!("\"id\":{BIG_ID}")));
}

#[test]
fn since_and_org_none_select_as_the_properties_say() {
    // 2021-06-12T12:00:00Z
    let t = 1_623_499_200_000i64;
    let r = sample(&["--layer", "image", "--since", "2021-06-12T12:00:00Z"]).ok();
    let want = count_images(|f| {
        f.get("captured_at")
            .unwrap()
            .and_then(|v| v.as_i64())
            .is_some_and(|c| c >= t)
    });
    let features = r.features();
    assert_eq!(features.len(), want);
    assert!(want > 0 && want < 41, "{want}");
    for f in &features {
        assert!(f["properties"]["captured_at"].as_i64().unwrap() >= t);
    }

    let r = sample(&["--org", "none"]).ok();
    let images = r
        .features()
        .into_iter()
        .filter(|f| f["properties"]["layer"] == "image")
        .collect::<Vec<_>>();
    let want = count_images(|f| f.get("organization_id").unwrap().is_none());
    assert_eq!(images.len(), want);
    assert!(
        images
            .iter()
            .all(|f| f["properties"].get("organization_id").is_none())
    );
    assert!(
        r.stderr.contains("sequence"),
        "both layers read: {}",
        r.stderr
    );
}

#[test]
fn a_wrong_flag_value_shows_the_accepted_form() {
    for (args, shown) in [
        (&["--compass", "10"][..], "FROM..TO"),
        (&["--pano", "maybe"][..], "only, exclude, all"),
        (&["--since", "2023-13-01"][..], "2023-01-01"),
        (&["--last", "30 fortnights"][..], "30months"),
        (&["--org", "acme"][..], "none"),
        (&["--bbox", "1,2,3"][..], "W,S,E,N"),
        (&["--layer", "images"][..], "traffic_sign"),
        (&["--looking-at", "1"][..], "LON,LAT"),
    ] {
        let r = sample(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(shown), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    // A filter that cannot apply to a named layer.
    let r = sample(&["--layer", "image", "--class", "regulatory--*"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("does not apply to the image layer"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_lone_file_needs_its_tile_id() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tile.mvt"), sample_bytes()).unwrap();
    let r = run(dir.path(), &["tile.mvt", "--layer", "image"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--tile Z/X/Y"), "{}", r.stderr);
    let r = run(
        dir.path(),
        &["tile.mvt", "--tile", "14/3251/6257", "--layer", "image"],
    )
    .ok();
    assert_eq!(r.features().len(), 41);
}

#[test]
fn csv_parses_and_refuses_the_sequence_layer() {
    let r = sample(&["--format", "csv", "--pano", "exclude"]).ok();
    let mut reader = csv::Reader::from_reader(r.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "layer");
    assert_eq!(&headers[1], "lon");
    assert_eq!(&headers[2], "lat");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let want = count_images(|f| f.get("is_pano").unwrap() == Some(Value::Bool(false)));
    assert_eq!(rows.len(), want);
    for row in &rows {
        assert_eq!(&row[0], "image");
        let lon: f64 = row[1].parse().unwrap();
        let lat: f64 = row[2].parse().unwrap();
        assert!(
            TileId::new(14, 3251, 6257)
                .unwrap()
                .bounds()
                .contains(lon, lat)
        );
        assert_eq!(
            &row[headers.iter().position(|h| h == "is_pano").unwrap()],
            "false"
        );
    }
    // Only the image layer's columns: no map-feature column is always empty.
    for absent in ["value", "first_seen_at", "last_seen_at_iso", "image_id"] {
        assert!(
            !headers.iter().any(|h| h == absent),
            "{absent}: {headers:?}"
        );
    }
    let r = sample(&["--format", "csv", "--layer", "sequence"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("geojson"), "{}", r.stderr);
}

/// The issue's case: a traffic-sign CSV carried seven image columns that were always empty,
/// and its dates only as epoch milliseconds.
#[test]
fn traffic_sign_csv_has_no_image_columns_and_iso_dates() {
    let store = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cache/mly_map_feature_traffic_sign.mbtiles");
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &[store.to_str().unwrap(), "--format", "csv"]).ok();
    let mut reader = csv::Reader::from_reader(r.stdout.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        headers,
        [
            "layer",
            "lon",
            "lat",
            "id",
            "value",
            "first_seen_at",
            "first_seen_at_iso",
            "last_seen_at",
            "last_seen_at_iso"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(&row[0], "traffic_sign");
        // The text says the same instant as the milliseconds.
        let ms: i64 = row[5].parse().unwrap();
        let text = mlytiles_store::chrono::DateTime::parse_from_rfc3339(&row[6]).unwrap();
        assert_eq!(text.timestamp_millis(), ms, "{row:?}");
        assert!(row[6].ends_with('Z'), "UTC: {row:?}");
    }
}

#[test]
fn split_layers_write_one_collection_per_layer_read() {
    let store =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache/mly1_public.mbtiles");
    let store = store.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let whole = run(dir.path(), &[store]).ok().features();
    run(dir.path(), &[store, "-o", "out.geojson", "--split-layers"]).ok();
    // The store's deepest zoom holds image and sequence only: no file for the other layers.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["out.image.geojson", "out.sequence.geojson"]);
    for (layer, types) in [
        ("image", &["Point"][..]),
        ("sequence", &["LineString", "MultiLineString"]),
    ] {
        let text =
            std::fs::read_to_string(dir.path().join(format!("out.{layer}.geojson"))).unwrap();
        let doc: Json = serde_json::from_str(&text).unwrap();
        let features = doc["features"].as_array().unwrap();
        let want = whole
            .iter()
            .filter(|f| f["properties"]["layer"] == layer)
            .count();
        assert!(want > 0);
        assert_eq!(features.len(), want, "{layer}");
        for f in features {
            assert_eq!(f["properties"]["layer"], layer);
            assert!(
                types.contains(&f["geometry"]["type"].as_str().unwrap()),
                "{f}"
            );
        }
    }
    // Without -o there is no file name to split.
    let r = run(dir.path(), &[store, "--split-layers"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--output"), "{}", r.stderr);
    for format in ["mvt", "gpkg"] {
        let r = run(
            dir.path(),
            &[store, "--format", format, "-o", "x", "--split-layers"],
        );
        assert_eq!(r.code, 1, "{format}");
        assert!(
            r.stderr.contains("--split-layers is for geojson"),
            "{}",
            r.stderr
        );
    }
    let r = run(dir.path(), &[store, "--format", "gpkg"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("give -o FILE.gpkg"), "{}", r.stderr);
}

#[test]
fn mvt_output_is_the_libraries_filtered_tile_byte_for_byte() {
    // The CLI and the server share one filtered-MVT path: mlytiles_filter::filter_mvt.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flat.mvt");
    let r = sample(&[
        "--pano",
        "exclude",
        "--tile",
        "14/3251/6257",
        "--format",
        "mvt",
        "-o",
        out.to_str().unwrap(),
    ])
    .ok();
    assert!(r.stderr.contains("kept"), "{}", r.stderr);
    let flat = mlytiles_filter::Filter {
        image_type: mlytiles_filter::ImageType::Flat,
        ..mlytiles_filter::Filter::default()
    };
    let tile = TileId::new(14, 3251, 6257).unwrap();
    let want = mlytiles_filter::filter_mvt(&sample_bytes(), Some(tile), &flat, Utc::now()).unwrap();
    assert!(!want.bytes.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), want.bytes);
}

#[test]
fn mvt_output_holds_the_kept_features() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pano.mvt");
    let r = sample(&[
        "--pano",
        "only",
        "--format",
        "mvt",
        "-o",
        out.to_str().unwrap(),
    ])
    .ok();
    assert!(r.stdout.is_empty());
    let bytes = std::fs::read(&out).unwrap();
    let tile = Tile::new(&bytes).unwrap();
    let images = tile.layer("image").unwrap().unwrap();
    let want = count_images(|f| f.get("is_pano").unwrap() == Some(Value::Bool(true)));
    assert_eq!(images.features().count(), want);
    for f in images.features() {
        assert_eq!(f.unwrap().get("is_pano").unwrap(), Some(Value::Bool(true)));
    }
}

/// The sample at its own place and at its east neighbour.
fn fill(store: &dyn TileStore) {
    let bytes = sample_bytes();
    for t in ["14/3251/6257", "14/3252/6257"] {
        let id: TileId = t.parse().unwrap();
        store
            .put(id, &TileRecord::data(bytes.clone(), Utc::now()))
            .unwrap();
    }
}

#[test]
fn folder_and_mbtiles_stores_with_bbox_and_tile_lists() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("tiles");
    fill(&FolderStore::open(&folder).unwrap());
    let mbtiles = dir.path().join("tiles.mbtiles");
    fill(&MbTiles::open(&mbtiles).unwrap());

    let first = TileId::new(14, 3251, 6257).unwrap().bounds();
    let inner = format!(
        "{},{},{},{}",
        first.west() + 1e-4,
        first.south() + 1e-4,
        first.east() - 1e-4,
        first.north() - 1e-4
    );
    for store in [&folder, &mbtiles] {
        let store = store.to_str().unwrap();
        let r = run(
            dir.path(),
            &[store, "--layer", "image", "--format", "ndjson"],
        )
        .ok();
        assert_eq!(r.text().lines().count(), 82, "{store}");
        assert!(
            r.stderr
                .starts_with("read 82 image features from 2 tiles, kept 82"),
            "{}",
            r.stderr
        );

        let r = run(dir.path(), &[store, "--layer", "image", "--bbox", &inner]).ok();
        assert!(r.stderr.contains("from 1 tile,"), "{}", r.stderr);
        for f in r.features() {
            let c = &f["geometry"]["coordinates"];
            assert!(first.contains(c[0].as_f64().unwrap(), c[1].as_f64().unwrap()));
        }

        let r = run(
            dir.path(),
            &[
                store,
                "--tiles",
                "14/3252/6257",
                "--layer",
                "image",
                "--pano",
                "only",
            ],
        )
        .ok();
        assert!(r.stderr.contains("from 1 tile,"), "{}", r.stderr);
        let want = count_images(|f| f.get("is_pano").unwrap() == Some(Value::Bool(true)));
        assert_eq!(r.features().len(), want);

        // --near and --within read only the tiles their area reaches.
        let (cx, cy) = (
            (first.west() + first.east()) / 2.0,
            (first.south() + first.north()) / 2.0,
        );
        let near = format!("{cx},{cy}");
        let r = run(
            dir.path(),
            &[
                store, "--layer", "image", "--near", &near, "--radius", "100m",
            ],
        )
        .ok();
        assert!(r.stderr.contains("from 1 tile,"), "{}", r.stderr);
        let area = dir.path().join("inner.geojson");
        std::fs::write(
            &area,
            format!(
                r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#,
                w = first.west() + 1e-4,
                s = first.south() + 1e-4,
                e = first.east() - 1e-4,
                n = first.north() - 1e-4
            ),
        )
        .unwrap();
        let r = run(
            dir.path(),
            &[
                store,
                "--layer",
                "image",
                "--within",
                area.to_str().unwrap(),
            ],
        )
        .ok();
        assert!(r.stderr.contains("from 1 tile,"), "{}", r.stderr);

        // Sequences of both tiles, merged by id: one feature per id.
        let r = run(dir.path(), &[store, "--layer", "sequence"]).ok();
        assert_eq!(r.features().len(), 5, "{store}");

        let r = run(dir.path(), &[store, "--format", "mvt"]);
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains("one tile file"), "{}", r.stderr);
    }
}

#[test]
fn spatial_flags_select_by_place() {
    // --near/--radius: every kept image within the radius (haversine, 6371 km sphere).
    let (lon0, lat0) = (-108.5647f64, 39.0656f64);
    let r = sample(&[
        "--layer",
        "image",
        "--near",
        "-108.5647,39.0656",
        "--radius",
        "300m",
    ])
    .ok();
    let near = r.features();
    assert!(!near.is_empty() && near.len() < 41, "{}", near.len());
    for f in &near {
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        let (p1, p2) = (lat0.to_radians(), lat.to_radians());
        let a = ((p2 - p1) / 2.0).sin().powi(2)
            + p1.cos() * p2.cos() * ((lon - lon0).to_radians() / 2.0).sin().powi(2);
        let metres = 2.0 * 6_371_008.8 * a.sqrt().asin();
        assert!(metres <= 300.5, "{metres}");
    }

    // --within: points inside the polygon; both layers read.
    let dir = tempfile::tempdir().unwrap();
    let poly = dir.path().join("area.geojson");
    std::fs::write(
        &poly,
        r#"{"type":"Polygon","coordinates":[[[-108.57,39.06],[-108.56,39.06],[-108.56,39.07],[-108.57,39.07],[-108.57,39.06]]]}"#,
    )
    .unwrap();
    let r = sample(&["--within", poly.to_str().unwrap()]).ok();
    for f in r
        .features()
        .iter()
        .filter(|f| f["properties"]["layer"] == "image")
    {
        let c = &f["geometry"]["coordinates"];
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!((-108.57..=-108.56).contains(&lon) && (39.06..=39.07).contains(&lat));
    }

    // --looking-at applies to images only, so only the image layer is read.
    let r = sample(&["--looking-at", "-108.56,39.07"]).ok();
    assert!(
        r.features()
            .iter()
            .all(|f| f["properties"]["layer"] == "image")
    );
    assert!(
        r.stderr.starts_with("read 41 image features"),
        "{}",
        r.stderr
    );

    // --near needs --radius.
    let r = sample(&["--near", "1,2"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--radius"), "{}", r.stderr);
}

/// Output files are renamed into place only at the end: a run that fails half-way leaves no
/// partial file, and an older file of that name stays as it was.
#[test]
fn a_failed_run_leaves_no_partial_output_file() {
    let dir = tempfile::tempdir().unwrap();
    // A store whose second tile is broken: the first tile's features are exported, then the
    // run fails on the second.
    let tiles = dir.path().join("tiles/14/3251");
    std::fs::create_dir_all(&tiles).unwrap();
    std::fs::write(tiles.join("6257.mvt"), sample_bytes()).unwrap();
    let mut broken = sample_bytes();
    broken.truncate(broken.len() / 2);
    std::fs::write(tiles.join("6258.mvt"), broken).unwrap();

    let failed = run(
        dir.path(),
        &["tiles", "--layer", "image", "-o", "out.geojson"],
    );
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.starts_with("error: "), "{}", failed.stderr);
    assert!(
        !dir.path().join("out.geojson").exists(),
        "a partial file was left"
    );

    std::fs::write(dir.path().join("out.geojson"), "older").unwrap();
    let failed = run(
        dir.path(),
        &["tiles", "--layer", "image", "-o", "out.geojson"],
    );
    assert_eq!(failed.code, 1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.geojson")).unwrap(),
        "older"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".mlytiles-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // And a run that succeeds writes the file.
    std::fs::remove_file(tiles.join("6258.mvt")).unwrap();
    run(
        dir.path(),
        &["tiles", "--layer", "image", "-o", "out.geojson"],
    )
    .ok();
    let doc: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.geojson")).unwrap())
            .unwrap();
    assert!(!doc["features"].as_array().unwrap().is_empty());
}

/// Without INPUT, `filter` reads the cache `fetch` fills (MLYTILES_CACHE here), choosing the
/// store by --layer or --class, or the bundled sample while that cache holds no store, and
/// says what to do when the cache lacks the store.
#[test]
fn without_input_the_cache_store_is_read() {
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache");
    let dir = tempfile::tempdir().unwrap();
    let with_cache = |cache: &Path, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
            .current_dir(dir.path())
            .arg("filter")
            .args(args)
            .env("MLYTILES_CACHE", cache)
            .output()
            .expect("run mlytiles");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    };
    let from_cache = with_cache(&cache, &["--layer", "image", "--pano", "only"]).ok();
    let from_store = run(
        dir.path(),
        &[
            cache.join("mly1_public.mbtiles").to_str().unwrap(),
            "--layer",
            "image",
            "--pano",
            "only",
        ],
    )
    .ok();
    assert!(!from_cache.features().is_empty());
    assert_eq!(from_cache.stdout, from_store.stdout);
    let signs = with_cache(&cache, &["--class", "regulatory--*"]).ok();
    assert!(!signs.features().is_empty());
    assert!(
        signs
            .features()
            .iter()
            .all(|f| f["properties"]["layer"] == "traffic_sign"),
        "--class reads the traffic-sign store"
    );
    // A default cache that holds no store yet: the bundled sample, as `render` draws it, and
    // said so on stderr.
    let empty = tempfile::tempdir().unwrap();
    let sample = with_cache(empty.path(), &["--layer", "image", "--pano", "only"]).ok();
    assert_eq!(
        sample.stdout, from_store.stdout,
        "the sample is fixtures/cache"
    );
    assert!(
        sample.stderr.contains(&format!(
            "the cache {} is empty: showing the bundled sample area",
            empty.path().display()
        )),
        "{}",
        sample.stderr
    );
    // A cache with stores, but not the one asked for.
    let signs_only = tempfile::tempdir().unwrap();
    std::fs::copy(
        cache.join("mly_map_feature_traffic_sign.mbtiles"),
        signs_only
            .path()
            .join("mly_map_feature_traffic_sign.mbtiles"),
    )
    .unwrap();
    let missing = with_cache(signs_only.path(), &["--pano", "only"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim_end(),
        format!(
            "error: the cache {} has no mly1_public store: fetch it with `mlytiles fetch \
             --tileset mly1_public --bbox W,S,E,N`, or give tile files or stores as INPUT",
            signs_only.path().display()
        )
    );
    // --cache names a folder to read as it is: one with no store is an error.
    let given = run(
        dir.path(),
        &["--cache", empty.path().to_str().unwrap(), "--pano", "only"],
    );
    assert_eq!(given.code, 1);
    assert!(
        given.stderr.contains("holds no tile store"),
        "{}",
        given.stderr
    );
    let both = run(dir.path(), &["x.mvt", "--cache", "y"]);
    assert_eq!(both.code, 2, "INPUT and --cache exclude each other");
}
