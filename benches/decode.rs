//! Decoding speed: mlytiles beside mvt-reader 2.5, fast-mvt 0.7 and geozero 0.15 on the same
//! bytes, in the same run.
//!
//! Two corpora from the project's `fixtures/`: the real Mapillary tiles, and the
//! mvt-fixtures real-world tiles (gzipped ones decompressed before timing). Throughput is in
//! bytes of uncompressed tile. Groups:
//!
//! - `full/<corpus>`: every layer, every feature, every property value resolved, every vertex
//!   visited, by each decoder's own API for that;
//! - `scan/<corpus>`: layer names and feature counts only;
//! - `geometry/<corpus>`: every vertex of every feature, no properties.
//!
//! Run: `cargo bench --bench decode` (add `-- full` for one group).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geozero::{ColumnValue, FeatureProcessor, GeomProcessor, PropertyProcessor};
use mlytiles_mvt::{GeometrySink, Tile, Value, geo_types};

fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    assert!(
        dir.is_dir(),
        "{} is missing: it is part of the repository (see fixtures/README.md)",
        dir.display()
    );
    dir
}

fn read_tiles(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "mvt" || e == "gz") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).expect("read tile");
            mlytiles_mvt::decompress(&raw, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
                .expect("decompress")
                .into_owned()
        })
        .collect()
}

fn corpora() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let root = fixtures();
    vec![
        ("mapillary", read_tiles(&root.join("mapillary"))),
        (
            "real-world",
            read_tiles(&root.join("mvt-fixtures/real-world")),
        ),
    ]
}

/// Folds every vertex into a number so none of the work can be optimised away. A ClosePath
/// counts the ring's first point again, as the peers' closed `geo_types` rings do, so all
/// decoders must arrive at the same sum.
#[derive(Default)]
struct Sum(i64, i64);

impl GeometrySink for Sum {
    #[inline]
    fn move_to(&mut self, x: i32, y: i32) {
        self.1 = i64::from(x) ^ i64::from(y);
        self.0 = self.0.wrapping_add(self.1);
    }
    #[inline]
    fn line_to(&mut self, x: i32, y: i32) {
        self.0 = self.0.wrapping_add(i64::from(x) ^ i64::from(y));
    }
    #[inline]
    fn close_path(&mut self) {
        self.0 = self.0.wrapping_add(self.1);
    }
}

/// Visits every coordinate of a `geo_types` geometry, as the peers return them.
fn fold_coords<T: geo_types::CoordNum>(g: &geo_types::Geometry<T>, f: &mut impl FnMut(T, T)) {
    use geo_types::Geometry as G;
    let ring = |l: &geo_types::LineString<T>, f: &mut dyn FnMut(T, T)| {
        l.0.iter().for_each(|c| f(c.x, c.y))
    };
    match g {
        G::Point(p) => f(p.x(), p.y()),
        G::MultiPoint(mp) => mp.0.iter().for_each(|p| f(p.x(), p.y())),
        G::LineString(l) => ring(l, f),
        G::MultiLineString(ml) => ml.0.iter().for_each(|l| ring(l, f)),
        G::Polygon(p) => {
            ring(p.exterior(), f);
            p.interiors().iter().for_each(|r| ring(r, f));
        }
        G::MultiPolygon(mp) => mp.0.iter().for_each(|p| {
            ring(p.exterior(), f);
            p.interiors().iter().for_each(|r| ring(r, f));
        }),
        _ => {}
    }
}

/// Reads a property the way a consumer would: the key's length and the value's payload, so each
/// decoder must really produce both. Every decoder's values go through the same arithmetic.
#[inline]
fn consume(key: &str, number: u64, text: Option<&str>) -> i64 {
    (key.len() as u64 ^ number ^ text.map_or(0, |t| t.len() as u64)) as i64
}

fn mlytiles_value(v: Value<'_>) -> (u64, Option<&str>) {
    match v {
        Value::String(s) => (0, Some(s)),
        Value::Float(f) => (u64::from(f.to_bits()), None),
        Value::Double(d) => (d.to_bits(), None),
        Value::Int(i) | Value::SInt(i) => (i as u64, None),
        Value::UInt(u) => (u, None),
        Value::Bool(b) => (u64::from(b), None),
    }
}

fn mlytiles_full(bytes: &[u8]) -> i64 {
    let tile = Tile::new(bytes).unwrap();
    let mut sum = Sum::default();
    for layer in tile.layers() {
        let layer = layer.unwrap();
        for feature in layer.features() {
            let feature = feature.unwrap();
            for property in feature.properties() {
                let (key, value): (&str, Value) = property.unwrap();
                let (number, text) = mlytiles_value(value);
                sum.0 = sum.0.wrapping_add(consume(key, number, text));
            }
            feature.decode_geometry(&mut sum).unwrap();
        }
    }
    sum.0
}

fn mlytiles_geometry(bytes: &[u8]) -> i64 {
    let tile = Tile::new(bytes).unwrap();
    let mut sum = Sum::default();
    for layer in tile.layers() {
        for feature in layer.unwrap().features() {
            feature.unwrap().decode_geometry(&mut sum).unwrap();
        }
    }
    sum.0
}

fn mlytiles_scan(bytes: &[u8]) -> usize {
    let tile = Tile::new(bytes).unwrap();
    let mut n = 0;
    for layer in tile.layers() {
        let layer = layer.unwrap();
        black_box(layer.name());
        n += layer.feature_count();
    }
    n
}

fn mvt_reader_full(bytes: &[u8]) -> i64 {
    // mvt-reader takes ownership of a Vec: the copy is part of using it.
    let reader = mvt_reader::Reader::new(bytes.to_vec()).unwrap();
    let mut sum = 0i64;
    for layer in reader.get_layer_metadata().unwrap() {
        for feature in reader.get_features(layer.layer_index).unwrap() {
            for (key, value) in feature.properties.iter().flatten() {
                use mvt_reader::feature::Value as V;
                let (number, text) = match value {
                    V::String(s) => (0, Some(s.as_str())),
                    V::Float(f) => (u64::from(f.to_bits()), None),
                    V::Double(d) => (d.to_bits(), None),
                    V::Int(i) | V::SInt(i) => (*i as u64, None),
                    V::UInt(u) => (*u, None),
                    V::Bool(b) => (u64::from(*b), None),
                    V::Null => (0, None),
                };
                sum = sum.wrapping_add(consume(key, number, text));
            }
            fold_coords(&feature.geometry, &mut |x: f32, y: f32| {
                sum = sum.wrapping_add(i64::from(x as i32) ^ i64::from(y as i32));
            });
        }
    }
    sum
}

fn fast_mvt_full(bytes: &[u8]) -> i64 {
    let reader = fast_mvt::MvtReaderRef::new(bytes).unwrap();
    let mut sum = 0i64;
    for layer in reader.layers() {
        for feature in layer.features() {
            for property in feature.properties() {
                use fast_mvt::MvtValueRef as V;
                let (key, value) = property.unwrap();
                let (number, text) = match value {
                    V::String(s) => (0, Some(s)),
                    V::Float(f) => (u64::from(f.to_bits()), None),
                    V::Double(d) => (d.to_bits(), None),
                    V::Int(i) | V::SInt(i) => (i as u64, None),
                    V::UInt(u) => (u, None),
                    V::Bool(b) => (u64::from(b), None),
                    V::Null => (0, None),
                };
                sum = sum.wrapping_add(consume(key, number, text));
            }
            fold_coords(&feature.geometry().unwrap(), &mut |x: i32, y: i32| {
                sum = sum.wrapping_add(i64::from(x) ^ i64::from(y));
            });
        }
    }
    sum
}

/// geozero's reader visits features through processor callbacks.
#[derive(Default)]
struct GeozeroSum(i64);

impl GeomProcessor for GeozeroSum {
    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> geozero::error::Result<()> {
        self.0 = self
            .0
            .wrapping_add(i64::from(x as i32) ^ i64::from(y as i32));
        Ok(())
    }
}

impl PropertyProcessor for GeozeroSum {
    fn property(
        &mut self,
        _i: usize,
        name: &str,
        value: &ColumnValue,
    ) -> geozero::error::Result<bool> {
        use ColumnValue as V;
        let (number, text) = match *value {
            V::String(s) => (0, Some(s)),
            V::Float(f) => (u64::from(f.to_bits()), None),
            V::Double(d) => (d.to_bits(), None),
            V::Long(i) => (i as u64, None),
            V::ULong(u) => (u, None),
            V::Bool(b) => (u64::from(b), None),
            _ => (0, None),
        };
        self.0 = self.0.wrapping_add(consume(name, number, text));
        Ok(false)
    }
}

impl FeatureProcessor for GeozeroSum {}

fn geozero_full(bytes: &[u8]) -> i64 {
    use geozero::mvt::Message;
    let tile = geozero::mvt::Tile::decode(bytes).unwrap();
    let mut sum = GeozeroSum::default();
    for layer in &tile.layers {
        geozero::mvt::process(layer, &mut sum).unwrap();
    }
    sum.0
}

fn bench(c: &mut Criterion) {
    for (name, tiles) in corpora() {
        let total: usize = tiles.iter().map(Vec::len).sum();
        let run = |f: fn(&[u8]) -> i64| {
            let tiles = &tiles;
            move || {
                tiles
                    .iter()
                    .map(|t| f(black_box(t)))
                    .fold(0i64, i64::wrapping_add)
            }
        };

        // All decoders must have seen the same vertices.
        let expected = run(mlytiles_full)();
        assert_eq!(
            run(mvt_reader_full)(),
            expected,
            "{name}: mvt-reader vertex sum"
        );
        assert_eq!(
            run(fast_mvt_full)(),
            expected,
            "{name}: fast-mvt vertex sum"
        );
        assert_eq!(run(geozero_full)(), expected, "{name}: geozero vertex sum");

        let mut group = c.benchmark_group(format!("full/{name}"));
        group.throughput(Throughput::Bytes(total as u64));
        group.bench_function("mlytiles", |b| b.iter(run(mlytiles_full)));
        group.bench_function("fast-mvt", |b| b.iter(run(fast_mvt_full)));
        group.bench_function("geozero", |b| b.iter(run(geozero_full)));
        group.bench_function("mvt-reader", |b| b.iter(run(mvt_reader_full)));
        group.finish();

        let mut group = c.benchmark_group(format!("scan/{name}"));
        group.throughput(Throughput::Bytes(total as u64));
        group.bench_function("mlytiles", |b| {
            b.iter(|| {
                tiles
                    .iter()
                    .map(|t| mlytiles_scan(black_box(t)))
                    .sum::<usize>()
            })
        });
        group.finish();

        let mut group = c.benchmark_group(format!("geometry/{name}"));
        group.throughput(Throughput::Bytes(total as u64));
        group.bench_function("mlytiles", |b| b.iter(run(mlytiles_geometry)));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
