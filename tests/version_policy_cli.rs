//! Issue 13, item 12: `decode` and `inspect` read layers of version 3 (served today by major
//! basemap providers) by the version 2 rules and say so, instead of refusing the whole tile.

use std::process::Command;

use mlytiles_mvt::{TileBuilder, Value, geo_types};

/// A tile whose one layer `roads` declares version 3 and holds one line.
fn version_3_tile() -> Vec<u8> {
    let mut builder = TileBuilder::new();
    let line: geo_types::Geometry<i32> =
        geo_types::LineString::from(vec![(10, 20), (300, 400), (4000, 100)]).into();
    builder
        .layer("roads")
        .set_version(3)
        .add_feature(Some(7), &line, [("class", Value::String("primary"))])
        .expect("feature");
    builder.to_bytes()
}

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run mlytiles");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

#[test]
fn decode_reads_version_3_layers_as_version_2_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("v3.mvt"), version_3_tile()).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["decode", "v3.mvt", "--tile", "14/0/0"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("GeoJSON");
    let features = doc["features"].as_array().expect("features");
    assert_eq!(features.len(), 1, "{doc}");
    assert_eq!(features[0]["properties"]["class"], "primary");
    assert_eq!(features[0]["geometry"]["type"], "LineString");
    assert!(
        stderr.contains("warning: v3.mvt: layer \"roads\" declares version 3")
            && stderr.contains("read as version 2"),
        "{stderr}"
    );
    assert!(!stderr.contains("not supported"), "{stderr}");
}

#[test]
fn inspect_shows_a_version_3_layer_and_how_it_was_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("v3.mvt"), version_3_tile()).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["inspect", "v3.mvt"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(
        stdout.contains("version:   3 (not defined by the spec; read as version 2)"),
        "{stdout}"
    );
    assert!(stdout.contains("features:  1"), "{stdout}");
}
