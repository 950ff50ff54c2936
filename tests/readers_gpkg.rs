//! The exports as other programs read them: `mlytiles filter --format gpkg` through GDAL's
//! `ogrinfo` and SQLite, and the GeoJSON exports (one file per layer with `--split-layers`)
//! through `ogrinfo`. All runs read the bundled sample (`fixtures/cache`,
//! `fixtures/sample`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

/// 2^53 + 1, an image id of the sample tile that a float64 would round.
const BIG_ID: u64 = 9_007_199_254_740_993;

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs `mlytiles filter ARGS` in `dir`; returns stdout and stderr, failing on a non-zero exit.
fn filter(dir: &Path, args: &[&str]) -> (Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .current_dir(dir)
        .arg("filter")
        .args(args)
        .output()
        .expect("run mlytiles");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "mlytiles filter {args:?}: {stderr}");
    (out.stdout, stderr)
}

/// The features of a GeoJSON export, counted by their `layer` property.
fn geojson_counts(stdout: &[u8]) -> BTreeMap<String, u64> {
    let doc: Json = serde_json::from_slice(stdout).unwrap();
    let mut counts = BTreeMap::new();
    for f in doc["features"].as_array().unwrap() {
        let layer = f["properties"]["layer"].as_str().unwrap().to_owned();
        *counts.entry(layer).or_default() += 1;
    }
    counts
}

/// The kept count of each layer in the summary line, `... kept N (sequence 177, image 23475)`.
fn summary_kept(stderr: &str) -> BTreeMap<String, u64> {
    let kept = stderr.split(", kept ").nth(1).expect("a kept count");
    let inner = kept
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .expect("counts per layer")
        .0;
    inner
        .split(", ")
        .map(|pair| {
            let (layer, n) = pair.rsplit_once(' ').unwrap();
            (layer.to_owned(), n.parse().unwrap())
        })
        .collect()
}

/// One layer as `ogrinfo -so -al` describes it.
#[derive(Debug, Default)]
struct OgrLayer {
    geometry: String,
    count: u64,
    fields: Vec<String>,
}

/// Runs `ogrinfo -so -al FILE`: its layers by name. Fails on a warning or error from GDAL.
fn ogrinfo(file: &Path) -> BTreeMap<String, OgrLayer> {
    let out = Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(file)
        .output()
        .expect("ogrinfo (gdal-bin) runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "ogrinfo {}: {stderr}", file.display());
    assert!(
        !stderr.contains("Warning") && !stderr.contains("ERROR"),
        "ogrinfo {}: {stderr}",
        file.display()
    );
    let mut layers = BTreeMap::new();
    let mut current: Option<(String, OgrLayer)> = None;
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            layers.extend(current.take());
            current = Some((name.to_owned(), OgrLayer::default()));
        } else if let Some((_, layer)) = &mut current {
            if let Some(g) = line.strip_prefix("Geometry: ") {
                layer.geometry = g.to_owned();
            } else if let Some(n) = line.strip_prefix("Feature Count: ") {
                layer.count = n.parse().unwrap();
            } else if let Some((field, _)) = line.split_once(": ")
                && !line.starts_with(' ')
                && !field.contains(' ')
            {
                layer.fields.push(field.to_owned());
            }
        }
    }
    layers.extend(current);
    layers
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn ogrinfo_lists_each_gpkg_layer_with_the_counts_the_run_printed() {
    let dir = tempfile::tempdir().unwrap();
    let public = fixture("fixtures/cache/mly1_public.mbtiles");
    let signs = fixture("fixtures/cache/mly_map_feature_traffic_sign.mbtiles");
    let (_, stderr) = filter(
        dir.path(),
        &[&public, &signs, "--format", "gpkg", "-o", "out.gpkg"],
    );
    let printed = summary_kept(&stderr);
    let (geojson, _) = filter(dir.path(), &[&public, &signs]);
    let exported = geojson_counts(&geojson);

    let layers = ogrinfo(&dir.path().join("out.gpkg"));
    let names: Vec<&str> = layers.keys().map(String::as_str).collect();
    assert_eq!(names, ["image", "sequence", "traffic_sign"]);
    assert_eq!(layers["image"].geometry, "Point");
    assert_eq!(layers["traffic_sign"].geometry, "Point");
    assert!(
        ["Line String", "Multi Line String"].contains(&layers["sequence"].geometry.as_str()),
        "{:?}",
        layers["sequence"]
    );
    // Points: one row per kept feature, as the summary says and the GeoJSON holds.
    for layer in ["image", "traffic_sign"] {
        assert!(printed[layer] > 0, "{layer}");
        assert_eq!(layers[layer].count, printed[layer], "{layer}");
        assert_eq!(layers[layer].count, exported[layer], "{layer}");
    }
    // Sequences: one row per merged sequence, as in the GeoJSON (the summary counts the parts
    // the tiles hold, at least as many).
    assert_eq!(layers["sequence"].count, exported["sequence"]);
    assert!(printed["sequence"] >= exported["sequence"]);
    for field in [
        "id",
        "captured_at",
        "captured_at_iso",
        "compass_angle",
        "is_pano",
    ] {
        assert!(
            layers["image"].fields.iter().any(|f| f == field),
            "{field}: {:?}",
            layers["image"]
        );
    }
    for field in ["value", "first_seen_at_iso", "last_seen_at_iso"] {
        assert!(
            layers["traffic_sign"].fields.iter().any(|f| f == field),
            "{field}"
        );
    }
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn ogrinfo_reads_one_geometry_type_per_split_file_and_the_layer_property() {
    let dir = tempfile::tempdir().unwrap();
    let public = fixture("fixtures/cache/mly1_public.mbtiles");
    filter(
        dir.path(),
        &[&public, "-o", "out.geojson", "--split-layers"],
    );
    filter(dir.path(), &[&public, "-o", "all.geojson"]);
    let all = ogrinfo(&dir.path().join("all.geojson"));
    assert_eq!(all.len(), 1);
    let all = all.into_values().next().unwrap();
    // The whole export: GDAL sees the layer name as a field, but points and lines mixed.
    assert!(all.fields.iter().any(|f| f == "layer"), "{all:?}");
    assert_eq!(all.geometry, "Unknown (any)");
    let mut total = 0;
    for (file, geometry) in [
        ("out.image.geojson", "Point"),
        ("out.sequence.geojson", "Line String"),
    ] {
        let layers = ogrinfo(&dir.path().join(file));
        assert_eq!(layers.len(), 1, "{file}");
        let layer = layers.into_values().next().unwrap();
        assert_eq!(layer.geometry, geometry, "{file}");
        assert!(
            layer.fields.iter().any(|f| f == "layer"),
            "{file}: {layer:?}"
        );
        assert!(layer.count > 0);
        total += layer.count;
    }
    assert_eq!(total, all.count);
}

/// The GeoPackage read back with SQLite: ids exact (above 2^53), an R-tree row for every
/// feature, the GeoPackage pragmas; a second run replaces the file (never appends to it).
#[test]
fn gpkg_read_back_keeps_ids_exact_and_indexes_every_feature() {
    let dir = tempfile::tempdir().unwrap();
    let tile = fixture("fixtures/sample/14/3251/6257.mvt");
    let (geojson, _) = filter(dir.path(), &[&tile, "--layer", "image"]);
    let doc: Json = serde_json::from_slice(&geojson).unwrap();
    let mut want: Vec<u64> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap().parse().unwrap())
        .collect();
    want.sort_unstable();
    assert!(want.contains(&BIG_ID));

    for _ in 0..2 {
        filter(dir.path(), &[&tile, "--format", "gpkg", "-o", "out.gpkg"]);
        let conn = rusqlite::Connection::open(dir.path().join("out.gpkg")).unwrap();
        let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("PRAGMA application_id"), 0x4750_4B47);
        assert_eq!(one("PRAGMA user_version"), 10300);
        let mut got: Vec<u64> = conn
            .prepare("SELECT id FROM image")
            .unwrap()
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|id| u64::try_from(id.unwrap()).unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, want);
        for table in ["image", "sequence"] {
            let rows = one(&format!("SELECT count(*) FROM {table}"));
            assert!(rows > 0, "{table}");
            assert_eq!(
                one(&format!("SELECT count(*) FROM rtree_{table}_geom")),
                rows
            );
        }
        // Every point lies in its index box.
        assert_eq!(
            one(
                "SELECT count(*) FROM image JOIN rtree_image_geom r ON r.id = fid \
                 WHERE r.minx <= r.maxx AND r.miny <= r.maxy"
            ),
            want.len() as i64
        );
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["out.gpkg"], "no temporary or journal file is left");
    // Made as any new file is, readable by others under the usual umask (not the owner-only
    // mode of temporary files), so QGIS run by another user opens it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("out.gpkg")), mode(&plain));
    }
}

/// A GeoPackage run that fails half-way (the second tile of a folder is cut short) leaves the
/// older file as it was and no temporary file beside it.
#[test]
fn a_failed_gpkg_run_leaves_the_older_file() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read(fixture("fixtures/sample/14/3251/6257.mvt")).unwrap();
    let tiles = dir.path().join("tiles/14/3251");
    std::fs::create_dir_all(&tiles).unwrap();
    std::fs::write(tiles.join("6257.mvt"), &sample).unwrap();
    std::fs::write(tiles.join("6258.mvt"), &sample[..sample.len() / 2]).unwrap();
    std::fs::write(dir.path().join("out.gpkg"), "older").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .current_dir(dir.path())
        .args(["filter", "tiles", "--format", "gpkg", "-o", "out.gpkg"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("14/3251/6258"),
        "the error names the tile: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.gpkg")).unwrap(),
        "older"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["out.gpkg", "tiles"]);
}
