//! Archives mlytiles writes, read by an independent reader: the `pmtiles` package from PyPI
//! (pinned in tests/requirements.txt). Every tile's bytes (walking the directories, and for a
//! sample by `Reader.get` from its z/x/y), the header and the metadata must equal what
//! mlytiles wrote.

use std::path::Path;
use std::process::Command;

use mlytiles_store::{ArchiveFormat, ArchiveWriter, BBox, PmTiles, TileId, TileStore};

/// Prints a JSON line of the header and metadata, then `z x y HEX` per tile in the archive's
/// order; a tile (of every 53rd) whose `Reader.get` differs from the directory walk is marked
/// `MISMATCH`.
const SCRIPT: &str = r#"
import json, sys
from pmtiles.reader import Reader, MmapSource, all_tiles
with open(sys.argv[1], "rb") as f:
    source = MmapSource(f)
    reader = Reader(source)
    h = reader.header()
    head = {k: (v if isinstance(v, bool) else getattr(v, "value", v)) for k, v in h.items()}
    print(json.dumps({"header": head, "metadata": reader.metadata()}))
    for i, ((z, x, y), data) in enumerate(all_tiles(source)):
        # Reader.get parses the directories again each call: every 53rd tile is enough.
        mark = "" if i % 53 or reader.get(z, x, y) == data else " MISMATCH"
        print(z, x, y, data.hex() + mark)
"#;

/// What the Python reader says of `path`: (header and metadata JSON, tiles with bytes).
fn python_reads(path: &Path) -> (serde_json::Value, Vec<(TileId, Vec<u8>)>) {
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 (pmtiles) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = text.lines();
    let head: serde_json::Value =
        serde_json::from_str(lines.next().expect("header line")).expect("json");
    let tiles = lines
        .map(|line| {
            assert!(!line.ends_with("MISMATCH"), "Reader.get disagrees: {line}");
            let f: Vec<&str> = line.split(' ').collect();
            let tile = TileId::new(
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
            .expect("tile");
            let bytes = (0..f[3].len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&f[3][i..i + 2], 16).expect("hex"))
                .collect();
            (tile, bytes)
        })
        .collect();
    (head, tiles)
}

/// Every tile of the archive as mlytiles reads it, in tile id order.
fn ours(path: &Path) -> Vec<(TileId, Vec<u8>)> {
    let archive = PmTiles::open(path).expect("open");
    let mut out = Vec::new();
    for z in 0..=16 {
        for (tile, _) in archive.list(z, None).expect("list") {
            out.push((tile, archive.get(tile).expect("get").expect("tile").data));
        }
    }
    out.sort_by_key(|(t, _)| mlytiles_store::pmtiles_tile_id(*t));
    out
}

fn check(path: &Path) -> serde_json::Value {
    let (head, theirs) = python_reads(path);
    let mine = ours(path);
    assert!(!mine.is_empty());
    assert_eq!(theirs.len(), mine.len(), "tile count");
    for ((t1, b1), (t2, b2)) in mine.iter().zip(&theirs) {
        assert_eq!(t1, t2, "tile order");
        assert!(b1 == b2, "tile {t1}: the bytes differ");
    }
    let archive = PmTiles::open(path).expect("open");
    assert_eq!(
        head["metadata"],
        serde_json::Value::Object(archive.metadata_json().clone()),
        "metadata"
    );
    let h = archive.header();
    assert_eq!(head["header"]["tile_type"], u64::from(h.tile_type));
    assert_eq!(head["header"]["min_zoom"], u64::from(h.min_zoom));
    assert_eq!(head["header"]["max_zoom"], u64::from(h.max_zoom));
    assert_eq!(head["header"]["addressed_tiles_count"], h.addressed_tiles);
    assert_eq!(head["header"]["clustered"], true);
    head
}

#[test]
#[cfg_attr(
    not(has_pmtiles_py),
    ignore = "the pmtiles Python package is missing: pip install -r tests/requirements.txt (.ci/run installs it)"
)]
fn python_pmtiles_reads_a_rendered_pyramid_archive_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache");
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(["render", "--cache"])
        .arg(&cache)
        .args([
            "--pyramid",
            "--bbox",
            "-108.75,38.95,-108.35,39.2",
            "--zooms",
            "10-14",
        ])
        .args(["--size", "256", "--out", "coverage.pmtiles"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .output()
        .expect("run mlytiles");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = check(&dir.path().join("coverage.pmtiles"));
    assert_eq!(head["header"]["tile_type"], 2, "PNG");
    assert_eq!(head["metadata"]["attribution"], "Mapillary, CC BY-SA");
    assert_eq!(head["metadata"]["mlytiles:settings"]["style"], "mapillary");
    assert_eq!(head["header"]["min_lon_e7"], -1_087_500_000);
}

#[test]
#[cfg_attr(
    not(has_pmtiles_py),
    ignore = "the pmtiles Python package is missing: pip install -r tests/requirements.txt (.ci/run installs it)"
)]
fn python_pmtiles_reads_leaf_directories_runs_and_duplicates_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.pmtiles");
    // 4^8 tiles at z8 (more than a root directory holds: leaf directories), with runs of
    // identical tiles and repeated contents far apart.
    let mut tiles: Vec<TileId> = (0..256u32)
        .flat_map(|x| (0..256u32).map(move |y| TileId::new(8, x, y).expect("tile")))
        .collect();
    tiles.sort_by_key(|t| mlytiles_store::pmtiles_tile_id(*t));
    let mut w = ArchiveWriter::create(&path, ArchiveFormat::MvtGzip).expect("create");
    for (i, t) in tiles.iter().enumerate() {
        let data = match i % 7 {
            0..=2 => b"run".to_vec(),
            3 => format!("repeat {}", i % 5).into_bytes(),
            _ => t.to_string().into_bytes(),
        };
        w.add(*t, &data).expect("add");
    }
    let meta =
        serde_json::json!({"name": "big", "vector_layers": [{"id": "sequence", "fields": {}}]});
    let world = BBox::new(-180.0, -85.0, 180.0, 85.0).expect("bbox");
    w.finish(meta.as_object().expect("object"), world)
        .expect("finish");
    let archive = PmTiles::open(&path).expect("open");
    assert!(
        archive.header().leaves.1 > 0,
        "the archive has leaf directories"
    );
    let head = check(&path);
    assert_eq!(head["header"]["tile_type"], 1, "MVT");
    assert_eq!(head["header"]["tile_compression"], 2, "gzip");
    assert_eq!(head["metadata"]["vector_layers"][0]["id"], "sequence");
    assert!(archive.count_by_status().expect("count").data == tiles.len() as u64);
}
