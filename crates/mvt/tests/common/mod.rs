//! Shared by the integration tests: finding the project's `fixtures/` and walking a tile
//! completely.

#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;

use mlytiles_mvt::{Error, GeometrySink, Tile, Value, VersionPolicy};

/// The project's `fixtures/` folder (mvt-fixtures and the real Mapillary tiles are in the
/// repository). A missing folder fails the test, naming the path.
pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    for sub in [
        "mvt-fixtures/fixtures",
        "mvt-fixtures/real-world",
        "mapillary",
    ] {
        let path = dir.join(sub);
        assert!(
            path.is_dir(),
            "{} is missing: it is part of the repository (see fixtures/README.md)",
            path.display()
        );
    }
    dir
}

/// Counts what it is handed, so a walk visits every vertex without allocating.
#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
pub struct Tally {
    pub moves: u64,
    pub lines: u64,
    pub closes: u64,
    pub sum: i64,
}

impl GeometrySink for Tally {
    fn move_to(&mut self, x: i32, y: i32) {
        self.moves += 1;
        self.sum = self.sum.wrapping_add(i64::from(x) ^ i64::from(y));
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.lines += 1;
        self.sum = self.sum.wrapping_add(i64::from(x) ^ i64::from(y));
    }
    fn close_path(&mut self) {
        self.closes += 1;
    }
}

/// What a complete walk of a tile found.
#[derive(Default, Debug)]
pub struct Walk {
    pub layers: usize,
    pub features_ok: usize,
    pub properties: usize,
    pub errors: Vec<Error>,
    pub tally: Tally,
}

/// Reads everything: every layer, feature, property (resolved) and vertex (checked by type),
/// as a validator does: with [`VersionPolicy::Strict`] (layer versions other than 1 and 2 are
/// refused).
pub fn walk(bytes: &[u8]) -> Walk {
    let mut w = Walk::default();
    let tile = match Tile::with_policy(bytes, VersionPolicy::Strict) {
        Ok(t) => t,
        Err(e) => {
            w.errors.push(e);
            return w;
        }
    };
    for layer in tile.layers() {
        let layer = match layer {
            Ok(l) => l,
            Err(e) => {
                w.errors.push(e);
                continue;
            }
        };
        w.layers += 1;
        // The tables are parsed on first use; a layer whose features carry no tags would never
        // use them, so ask for them here to read the layer completely.
        if let Err(e) = layer.values() {
            w.errors.push(e);
            continue;
        }
        for feature in layer.features() {
            let feature = match feature {
                Ok(f) => f,
                Err(e) => {
                    w.errors.push(e);
                    continue;
                }
            };
            let mut ok = true;
            for p in feature.properties() {
                match p {
                    Ok((_k, _v)) => w.properties += 1,
                    Err(e) => {
                        w.errors.push(e);
                        ok = false;
                    }
                }
            }
            if let Err(e) = feature.decode_geometry(&mut w.tally) {
                w.errors.push(e);
                ok = false;
            }
            if ok {
                w.features_ok += 1;
            }
        }
    }
    w
}

/// A value as mvt-fixtures' `tile.json` writes it: `{"string_value": "x"}` and so on.
pub fn value_json(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match *v {
        Value::String(s) => json!({ "string_value": s }),
        Value::Float(f) => json!({ "float_value": f }),
        Value::Double(d) => json!({ "double_value": d }),
        Value::Int(i) => json!({ "int_value": i }),
        Value::UInt(u) => json!({ "uint_value": u }),
        Value::SInt(s) => json!({ "sint_value": s }),
        Value::Bool(b) => json!({ "bool_value": b }),
    }
}
