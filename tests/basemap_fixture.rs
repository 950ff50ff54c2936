//! Keeps `fixtures/basemap/` (the decode bench's OpenMapTiles-like corpus) in step with its
//! generator, `benches/basemap/generate.rs`, and checks that the tiles are what the corpus
//! promises (fixtures/README.md). The files are gzipped; they are compared uncompressed, so a
//! different deflate implementation does not make them stale. Rewrite them after a deliberate
//! change with `BLESS=1 cargo test --test basemap_fixture`.

#[path = "../benches/basemap/generate.rs"]
mod generate;

use std::io::Write;
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::GzEncoder;
use mlytiles_mvt::{GeomType, GeometrySink, Tile, Value};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/basemap")
}

fn read(file: &str) -> Vec<u8> {
    let path = dir().join(file);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    mlytiles_mvt::decompress(&raw, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_owned()
}

#[test]
fn basemap_fixtures_match_their_generator() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    for spec in &generate::SPECS {
        let bytes = generate::generate(spec);
        let path = dir().join(spec.file);
        if bless {
            std::fs::create_dir_all(dir()).unwrap();
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            gz.write_all(&bytes).unwrap();
            std::fs::write(&path, gz.finish().unwrap()).unwrap();
            eprintln!(
                "wrote {} ({} bytes uncompressed)",
                path.display(),
                bytes.len()
            );
            continue;
        }
        let on_disk = read(spec.file);
        assert!(
            on_disk == bytes,
            "{} ({} bytes uncompressed) differs from what benches/basemap/generate.rs makes \
             ({} bytes).\nIf the generator changed on purpose, rewrite the files with:\n    \
             BLESS=1 cargo test --test basemap_fixture",
            path.display(),
            on_disk.len(),
            bytes.len()
        );
    }
}

#[test]
fn basemap_folder_holds_only_the_generated_tiles_and_stays_small() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = generate::SPECS.iter().map(|s| s.file.to_string()).collect();
    expected.sort();
    assert_eq!(on_disk, expected);
    let committed: u64 = expected
        .iter()
        .map(|f| std::fs::metadata(dir().join(f)).unwrap().len())
        .sum();
    assert!(
        committed <= 5 << 20,
        "fixtures/basemap holds {committed} bytes, over 5 MiB"
    );
}

/// Counts the rings of one feature.
#[derive(Default)]
struct Rings(usize);

impl GeometrySink for Rings {
    fn move_to(&mut self, _: i32, _: i32) {}
    fn line_to(&mut self, _: i32, _: i32) {}
    fn close_path(&mut self) {
        self.0 += 1;
    }
}

#[test]
fn basemap_tiles_are_large_multilingual_and_mostly_polygons() {
    let layers = [
        "water",
        "landuse",
        "place",
        "building",
        "housenumber",
        "transportation",
        "poi",
    ];
    for spec in &generate::SPECS {
        let bytes = read(spec.file);
        let file = spec.file;
        assert!(
            (200_000..=800_000).contains(&bytes.len()),
            "{file}: {} bytes, outside 200-800 KB",
            bytes.len()
        );
        let tile = Tile::new(&bytes).unwrap();
        let mut names: Vec<&str> = Vec::new();
        let (mut polygon_bytes, mut geometry_bytes) = (0, 0);
        let (mut polygons, mut with_holes) = (0, 0);
        let mut largest_table = 0;
        for layer in tile.layers() {
            let layer = layer.unwrap();
            names.push(layer.name());
            largest_table = largest_table.max(layer.value_count());
            for feature in layer.features() {
                let feature = feature.unwrap();
                geometry_bytes += feature.geometry_bytes().len();
                if feature.geom_type() == GeomType::Polygon {
                    polygon_bytes += feature.geometry_bytes().len();
                    let mut rings = Rings::default();
                    feature.decode_geometry(&mut rings).unwrap();
                    polygons += 1;
                    with_holes += usize::from(rings.0 > 1);
                }
            }
        }
        eprintln!(
            "{file}: {} bytes, largest value table {largest_table}, {with_holes} of {polygons} polygons with holes, polygons {polygon_bytes} of {geometry_bytes} geometry bytes",
            bytes.len()
        );
        assert_eq!(names, layers, "{file}: layers");
        assert!(
            largest_table >= 1000,
            "{file}: largest value table {largest_table}"
        );
        assert!(
            polygon_bytes * 10 >= geometry_bytes * 7,
            "{file}: polygons hold {polygon_bytes} of {geometry_bytes} geometry bytes"
        );
        assert!(
            with_holes * 5 >= polygons,
            "{file}: {with_holes} of {polygons} polygons have holes"
        );

        // Names in the four scripts, whatever the tile's own.
        let poi = tile.layer("poi").unwrap().unwrap();
        let text: String = poi
            .values()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let scripts = [
            ("Latin", 'a'..='z'),
            ("Cyrillic", 'а'..='я'),
            ("CJK", '\u{3040}'..='\u{9fff}'),
            ("Arabic", '\u{0600}'..='\u{06ff}'),
        ];
        for (script, range) in scripts {
            assert!(
                text.chars().any(|c| range.contains(&c)),
                "{file}: no {script} name"
            );
        }
    }
}
