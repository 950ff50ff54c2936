//! Decoding speed: mlytiles beside vtzero (C++, with the `vtzero` feature), mvt-reader 2.5,
//! fast-mvt 0.7 and geozero 0.15 on the same bytes, in the same run.
//!
//! Corpora, each in every group (throughput is in bytes of uncompressed tile; gzipped tiles are
//! decompressed before timing):
//!
//! - `mapillary`: the five real Mapillary tiles in `fixtures/mapillary`;
//! - `real-world`: the 209 mvt-fixtures real-world tiles;
//! - `basemap`: the five OpenMapTiles-like tiles in `fixtures/basemap` (large, many layers,
//!   thousands of values, multilingual names, polygons with holes);
//! - `custom`: your own tiles, when `MLYTILES_BENCH_CORPUS` names a folder (searched
//!   recursively for `.mvt`, `.pbf` and `.gz` files, gzipped or not) or an MBTiles file.
//!
//! Groups:
//!
//! - `full/<corpus>`: every layer, every feature, every property value resolved, every vertex
//!   visited, by each decoder's own API for that;
//! - `scan/<corpus>`: layer names and feature counts only;
//! - `geometry/<corpus>`: every vertex of every feature, no properties.
//!
//! Before timing, every decoder's checksum must equal mlytiles' on each corpus. On the
//! project's corpora a mismatch stops the bench; on a custom corpus the decoder that refuses or
//! disagrees is left out of that corpus with a note, and tiles mlytiles refuses are skipped.
//!
//! Run: `cargo bench --bench decode` (add `-- full` for one group); with vtzero:
//! `VTZERO_INCLUDE=/path/to/vtzero/include cargo bench --bench decode --features vtzero`
//! (see benches/vtzero-sys). Criterion writes its report with plots to
//! `target/criterion/report/index.html`.

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geozero::{ColumnValue, FeatureProcessor, GeomProcessor, PropertyProcessor};
use mlytiles_mvt::{GeometrySink, Tile, Value, geo_types};
use mlytiles_vtzero_sys::Vtzero;

/// Names a folder of tiles or an MBTiles file to bench as a fourth corpus.
const CORPUS_VAR: &str = "MLYTILES_BENCH_CORPUS";

fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    assert!(
        dir.is_dir(),
        "{} is missing: it is part of the repository (see fixtures/README.md)",
        dir.display()
    );
    dir
}

/// The files under `dir`, recursively, whose extension is one of `extensions`, sorted.
fn tile_paths(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", d.display()))
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
            {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
}

/// A tile's bytes, gunzipped when gzipped.
fn unzip(raw: &[u8], source: &dyn std::fmt::Display) -> Vec<u8> {
    mlytiles_mvt::decompress(raw, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .into_owned()
}

fn read_tiles(dir: &Path) -> Vec<Vec<u8>> {
    tile_paths(dir, &["mvt", "gz"])
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            unzip(&raw, &p.display())
        })
        .collect()
}

/// Every tile of an MBTiles file, in z/x/y order.
fn read_mbtiles(path: &Path) -> Vec<Vec<u8>> {
    let open =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
    let db = open.unwrap_or_else(|e| panic!("{CORPUS_VAR}={}: {e}", path.display()));
    let mut query = db
        .prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles ORDER BY 1, 2, 3")
        .unwrap_or_else(|e| panic!("{CORPUS_VAR}={}: not an MBTiles file: {e}", path.display()));
    let rows = query
        .query_map([], |row| {
            let id: (u8, u32, u32) = (row.get(0)?, row.get(1)?, row.get(2)?);
            Ok((id, row.get::<_, Vec<u8>>(3)?))
        })
        .unwrap_or_else(|e| panic!("{CORPUS_VAR}={}: {e}", path.display()));
    rows.map(|row| {
        let ((z, x, y), raw) =
            row.unwrap_or_else(|e| panic!("{CORPUS_VAR}={}: {e}", path.display()));
        unzip(
            &raw,
            &format_args!("{} tile {z}/{x}/{y} (TMS row)", path.display()),
        )
    })
    .collect()
}

/// The corpus `MLYTILES_BENCH_CORPUS` names, if set, without the tiles mlytiles refuses (they
/// are counted in a note) and without empty ones.
fn custom_corpus() -> Option<Vec<Vec<u8>>> {
    let path = PathBuf::from(std::env::var_os(CORPUS_VAR)?);
    let tiles = if path.is_dir() {
        tile_paths(&path, &["mvt", "pbf", "gz"])
            .iter()
            .map(|p| {
                let raw = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                unzip(&raw, &p.display())
            })
            .collect()
    } else if path.is_file() {
        read_mbtiles(&path)
    } else {
        panic!(
            "{CORPUS_VAR}={}: neither a folder of tiles nor an MBTiles file",
            path.display()
        );
    };
    let found = tiles.len();
    let tiles: Vec<Vec<u8>> = tiles
        .into_iter()
        .filter(|t| !t.is_empty() && quietly(|| mlytiles_full(t)).is_some())
        .collect();
    if tiles.len() < found {
        eprintln!(
            "note: {CORPUS_VAR}: {} of {found} tiles left out (empty, or refused by mlytiles)",
            found - tiles.len()
        );
    }
    assert!(
        !tiles.is_empty(),
        "{CORPUS_VAR}={}: no tiles to decode (a folder is searched for .mvt, .pbf and .gz files)",
        path.display()
    );
    Some(tiles)
}

fn corpora() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let root = fixtures();
    let mut corpora = vec![
        ("mapillary", read_tiles(&root.join("mapillary"))),
        (
            "real-world",
            read_tiles(&root.join("mvt-fixtures/real-world")),
        ),
        ("basemap", read_tiles(&root.join("basemap"))),
    ];
    if let Some(tiles) = custom_corpus() {
        corpora.push(("custom", tiles));
    }
    corpora
}

/// `f()`, or None if it panicked; the panic's message is not printed.
fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(f)).ok();
    std::panic::set_hook(hook);
    result
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

/// vtzero's walks, for a corpus on which `Vtzero::load` succeeded.
fn vtzero_full(bytes: &[u8]) -> i64 {
    let vtzero = Vtzero::load().expect("checked before timing");
    vtzero.full(bytes).unwrap()
}

fn vtzero_geometry(bytes: &[u8]) -> i64 {
    let vtzero = Vtzero::load().expect("checked before timing");
    vtzero.geometry(bytes).unwrap()
}

fn vtzero_scan(bytes: &[u8]) -> usize {
    let vtzero = Vtzero::load().expect("checked before timing");
    let (features, names) = vtzero.scan(bytes).unwrap();
    black_box(names);
    features
}

type Walk = fn(&[u8]) -> i64;

/// Decoders of one walk: a name and the function, in the order they are timed.
fn full_peers(vtzero: bool) -> Vec<(&'static str, Walk)> {
    let mut peers: Vec<(&'static str, Walk)> = vec![("mlytiles", mlytiles_full)];
    if vtzero {
        peers.push(("vtzero", vtzero_full));
    }
    peers.extend([
        ("fast-mvt", fast_mvt_full as Walk),
        ("geozero", geozero_full),
        ("mvt-reader", mvt_reader_full),
    ]);
    peers
}

/// Sums `f` over the corpus.
fn fold(tiles: &[Vec<u8>], f: Walk) -> i64 {
    tiles
        .iter()
        .map(|t| f(black_box(t)))
        .fold(0i64, i64::wrapping_add)
}

/// The peers whose checksum over the corpus equals mlytiles'. On the project's own corpora
/// (`strict`) a peer that panics or differs stops the bench; on a custom one it is left out
/// with a note.
fn agreeing<'p>(
    corpus: &str,
    group: &str,
    tiles: &[Vec<u8>],
    peers: &'p [(&'static str, Walk)],
    strict: bool,
) -> Vec<&'p (&'static str, Walk)> {
    let expected = fold(tiles, peers[0].1);
    peers
        .iter()
        .filter(|(name, f)| {
            let got = if strict {
                Some(fold(tiles, *f))
            } else {
                quietly(|| fold(tiles, *f))
            };
            match got {
                Some(sum) if sum == expected => true,
                _ if strict => panic!(
                    "{group}/{corpus}: {name}'s checksum {got:?} differs from mlytiles' {expected}"
                ),
                Some(sum) => {
                    eprintln!(
                        "note: {group}/{corpus}: {name} left out: its checksum {sum} differs from mlytiles' {expected}"
                    );
                    false
                }
                None => {
                    eprintln!("note: {group}/{corpus}: {name} left out: it refused a tile");
                    false
                }
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let vtzero = match Vtzero::load() {
        Ok(_) => true,
        Err(why) => {
            eprintln!("note: vtzero left out of the decode bench: {why}");
            false
        }
    };
    let full = full_peers(vtzero);
    let mut geometry: Vec<(&'static str, Walk)> = vec![("mlytiles", mlytiles_geometry)];
    let mut scan: Vec<(&'static str, Walk)> = vec![("mlytiles", |t| mlytiles_scan(t) as i64)];
    if vtzero {
        geometry.push(("vtzero", vtzero_geometry));
        scan.push(("vtzero", |t| vtzero_scan(t) as i64));
    }

    for (corpus, tiles) in corpora() {
        let total: usize = tiles.iter().map(Vec::len).sum();
        let strict = corpus != "custom";
        for (group, peers) in [("full", &full), ("scan", &scan), ("geometry", &geometry)] {
            // All decoders must have seen the same values and vertices.
            let peers = agreeing(corpus, group, &tiles, peers, strict);
            let mut g = c.benchmark_group(format!("{group}/{corpus}"));
            g.throughput(Throughput::Bytes(total as u64));
            for &(name, f) in peers {
                g.bench_function(name, |b| b.iter(|| fold(&tiles, f)));
            }
            g.finish();
        }
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
