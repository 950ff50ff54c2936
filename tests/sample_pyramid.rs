//! The bundled sample area: `fixtures/cache/`, one MBTiles store per tileset, written from
//! `mlytiles_synth::generate(&SampleSpec::default())`. This test regenerates the sample and
//! checks that the committed stores hold exactly its tiles, byte for byte, and its metadata.
//!
//! After a deliberate change to the generator, rewrite the stores with
//! `BLESS=1 cargo test --test sample_pyramid`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlytiles_store::{
    BBox, MbTiles, TileId, TileRecord, TileStats, TileStatus, TileStore, TilesetMetadata, chrono,
};
use mlytiles_synth::{Sample, SampleSpec, TILESETS, generate};

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache")
}

/// The `json` metadata entry (MBTiles 1.3 `vector_layers`, and the geostats `tilestats` GDAL
/// reads for each layer's geometry type) of one tileset, from its tiles.
fn stats_json(sample: &Sample, tileset: &str) -> String {
    let mut stats = TileStats::new();
    for (tile, bytes) in sample.tileset(tileset).expect("a tileset of the sample") {
        stats
            .add_tile(*tile, bytes)
            .expect("the sample's tiles decode");
    }
    stats.metadata_json()
}

fn metadata(sample: &Sample, tileset: &str) -> Vec<(String, String)> {
    let tiles = sample.tileset(tileset).expect("a tileset of the sample");
    let (mut w, mut s, mut e, mut n) = (180.0f64, 90.0f64, -180.0f64, -90.0f64);
    for t in &sample.area {
        let b = t.bounds();
        (w, s, e, n) = (
            w.min(b.west()),
            s.min(b.south()),
            e.max(b.east()),
            n.max(b.north()),
        );
    }
    TilesetMetadata {
        name: tileset.to_string(),
        bounds: Some(BBox::new(w, s, e, n).expect("the area's bounds")),
        minzoom: tiles.keys().map(TileId::z).min(),
        maxzoom: tiles.keys().map(TileId::z).max(),
        json: Some(stats_json(sample, tileset)),
        description: Some(format!(
            "mlytiles' synthetic sample in the schema of Mapillary's {tileset} tileset \
             (mlytiles-synth, default spec, seed {})",
            sample.spec.seed
        )),
        attribution: Some(
            "synthetic sample data in Mapillary's schema; street shapes from Mapillary, CC BY-SA"
                .to_string(),
        ),
        ..TilesetMetadata::default()
    }
    .to_pairs()
}

/// Writes one store from scratch, then leaves it in rollback-journal mode and vacuumed, so
/// readers of the committed file never need to create WAL files beside it.
fn write_store(path: &Path, sample: &Sample, tileset: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = MbTiles::open(path).expect("create the store");
    let pairs = metadata(sample, tileset);
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    store.set_metadata(&pairs).expect("metadata");
    // After the last capture date the sample holds (2026-09-30), as a real fetch would be.
    let at = chrono::DateTime::from_timestamp(1_790_812_800, 0).expect("2026-10-01");
    for (tile, bytes) in sample.tileset(tileset).expect("tileset") {
        store
            .put(*tile, &TileRecord::data(bytes.clone(), at))
            .expect("put");
    }
    drop(store);
    let db = mlytiles_store::rusqlite::Connection::open(path).expect("reopen");
    db.pragma_update(None, "journal_mode", "DELETE")
        .expect("journal mode");
    db.execute_batch("VACUUM").expect("vacuum");
}

#[test]
fn the_bundled_sample_is_what_the_generator_makes() {
    let sample = generate(&SampleSpec::default()).expect("the default spec is valid");
    let dir = cache_dir();
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut total = 0u64;
    for tileset in TILESETS {
        let path = dir.join(format!("{tileset}.mbtiles"));
        if bless {
            write_store(&path, &sample, tileset);
        }
        let store = MbTiles::open_read_only(&path).unwrap_or_else(|e| {
            panic!("{e}: regenerate the sample with BLESS=1 cargo test --test sample_pyramid")
        });
        let mut stored = BTreeMap::new();
        for z in 0..=14 {
            for (tile, status) in store.list(z, None).unwrap() {
                assert_eq!(status, TileStatus::Data, "{tileset} {tile}");
                let tile_bytes = store.get(tile).unwrap().unwrap();
                stored.insert(tile, tile_bytes.uncompressed().unwrap().into_owned());
            }
        }
        let expected = sample.tileset(tileset).unwrap();
        assert_eq!(
            stored.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{tileset}: the stored tiles differ from the generated ones; if the generator \
             changed on purpose, run BLESS=1 cargo test --test sample_pyramid"
        );
        for (tile, bytes) in expected {
            assert!(
                stored[tile] == *bytes,
                "{tileset} {tile}: bytes differ (BLESS=1 to rewrite)"
            );
        }
        let mut want = metadata(&sample, tileset);
        want.sort();
        assert_eq!(store.metadata().unwrap(), want, "{tileset}: metadata");
        assert_eq!(store.integrity_check().unwrap(), "ok");
        total += std::fs::metadata(&path).unwrap().len();
    }
    // "A few MB at most."
    assert!(total < 4_000_000, "the sample stores take {total} bytes");
}

/// Regenerating the stores gives the same files, byte for byte: SQLite (bundled, so one
/// version) writes the same pages for the same writes, and the tiles are gzipped without
/// timestamps.
#[test]
fn regenerating_the_sample_gives_the_same_files() {
    let sample = generate(&SampleSpec::default()).expect("the default spec is valid");
    let tmp = tempfile::tempdir().unwrap();
    for tileset in TILESETS {
        let name = format!("{tileset}.mbtiles");
        write_store(&tmp.path().join(&name), &sample, tileset);
        let fresh = std::fs::read(tmp.path().join(&name)).unwrap();
        let committed = std::fs::read(cache_dir().join(&name)).unwrap();
        assert!(
            fresh == committed,
            "{name}: a fresh store differs from the committed one \
             (BLESS=1 cargo test --test sample_pyramid rewrites it)"
        );
    }
}
