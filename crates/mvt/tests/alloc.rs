//! What the reader allocates, counted by a global allocator that wraps `System`.
//!
//! 1. Streaming (`properties`, `tags`, `geometry_ints`, `geometry`, `decode_geometry` into a sink
//!    that keeps nothing) allocates a constant number of times per layer, however many features
//!    the layer has: the key and value tables once per layer, and the list of layer names seen
//!    once per tile.
//! 2. Hostile inputs (huge command counts, a gigantic multi-part line, tables of many tiny
//!    entries, length prefixes past the end) never make the reader hold more than a stated
//!    multiple of the input size, even when every feature is turned into a `geo_types` value.
//!
//! The counters are thread-local and only count while [`measure`] runs on the thread, so tests
//! running in parallel threads (and the test harness itself) do not pollute each other's numbers.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs;
use std::hint::black_box;
use std::mem::size_of;

use mlytiles_mvt::{GeometrySink, Tile, Value};

use common::fixtures;

// ---------------------------------------------------------------------------------------------
// The counting allocator.

/// What the allocator saw on one thread while a measurement ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stats {
    /// Calls that asked for memory: `alloc`, `alloc_zeroed` and `realloc`.
    allocations: u64,
    /// Bytes those calls asked for.
    bytes: u64,
    /// Bytes allocated minus bytes freed since the measurement started (frees of older blocks
    /// can make it negative).
    live: i64,
    /// The highest `live` reached.
    peak: i64,
}

thread_local! {
    /// Whether this thread is being measured. Const-initialised `Cell`s of `Copy` types need no
    /// lazy setup and no destructor, so the allocator can touch them without allocating.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static STATS: Cell<Stats> = const {
        Cell::new(Stats { allocations: 0, bytes: 0, live: 0, peak: 0 })
    };
}

/// Records an allocation of `new` bytes that replaces a block of `old` bytes (0 for a fresh one).
/// A `realloc` may hold both blocks at once while it copies, so the peak counts both.
fn record_alloc(new: usize, old: usize) {
    // `try_with` so a thread being torn down never makes the allocator panic.
    let active = ACTIVE.try_with(Cell::get).unwrap_or(false);
    if !active {
        return;
    }
    let _ = STATS.try_with(|s| {
        let mut st = s.get();
        st.allocations += 1;
        st.bytes += new as u64;
        st.live += new as i64;
        st.peak = st.peak.max(st.live);
        st.live -= old as i64;
        s.set(st);
    });
}

fn record_free(size: usize) {
    let active = ACTIVE.try_with(Cell::get).unwrap_or(false);
    if !active {
        return;
    }
    let _ = STATS.try_with(|s| {
        let mut st = s.get();
        st.live -= size as i64;
        s.set(st);
    });
}

struct Counting;

// SAFETY: every method hands its arguments unchanged to `System` and returns what `System`
// returns, so the `GlobalAlloc` contract is met exactly as `System` meets it. The bookkeeping
// only reads and writes thread-local `Cell`s, which never allocates or unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller meets `alloc`'s contract (a non-zero size), which `System` shares.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            record_alloc(layout.size(), 0);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            record_alloc(layout.size(), 0);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block this allocator (that is, `System`) gave out, with
        // the layout it was given out with.
        unsafe { System.dealloc(ptr, layout) };
        record_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a block `System` gave out with `layout`, and a valid
        // non-zero `new_size`; all are forwarded as they are.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            record_alloc(new_size, layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` with this thread's counters on, from zero, and returns what they saw.
fn measure<R>(f: impl FnOnce() -> R) -> (R, Stats) {
    STATS.with(|s| s.set(Stats::default()));
    ACTIVE.with(|a| a.set(true));
    let r = f();
    ACTIVE.with(|a| a.set(false));
    (r, STATS.with(Cell::get))
}

// ---------------------------------------------------------------------------------------------
// Walks.

/// A sink that keeps nothing but a checksum.
#[derive(Default)]
struct Checksum(u64);

impl GeometrySink for Checksum {
    fn move_to(&mut self, x: i32, y: i32) {
        self.0 = self.0.wrapping_mul(31).wrapping_add((x ^ y) as u64);
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.0 = self.0.wrapping_mul(37).wrapping_add((x ^ y) as u64);
    }
    fn close_path(&mut self) {
        self.0 = self.0.wrapping_add(7);
    }
}

/// What a walk found. Errors are counted, not kept, so keeping them costs nothing.
#[derive(Debug, Default, Clone, Copy)]
struct Summary {
    layers: usize,
    features: usize,
    properties: usize,
    commands: usize,
    errors: usize,
    checksum: u64,
}

/// Reads everything through the streaming API: every layer, its tables, every feature's tags,
/// properties, raw geometry integers, commands, and `decode_geometry`; with `convert`, also
/// `to_geometry::<f64>()` for every feature (which allocates its result, dropped at once).
fn walk(bytes: &[u8], convert: bool) -> Summary {
    let mut s = Summary::default();
    let mut sink = Checksum::default();
    let Ok(tile) = Tile::new(bytes) else {
        s.errors += 1;
        return s;
    };
    for layer in tile.layers() {
        let Ok(layer) = layer else {
            s.errors += 1;
            continue;
        };
        s.layers += 1;
        match (layer.keys(), layer.values()) {
            (Ok(k), Ok(v)) => s.checksum += (k.len() + v.len()) as u64,
            _ => s.errors += 1,
        }
        for feature in layer.features() {
            let Ok(feature) = feature else {
                s.errors += 1;
                continue;
            };
            s.features += 1;
            for (k, v) in feature.tags() {
                s.checksum = s.checksum.wrapping_add(u64::from(k ^ v));
            }
            for p in feature.properties() {
                match p {
                    Ok((k, v)) => {
                        s.properties += 1;
                        s.checksum = s.checksum.wrapping_add(k.len() as u64);
                        black_box(v);
                    }
                    Err(_) => s.errors += 1,
                }
            }
            for int in feature.geometry_ints() {
                match int {
                    Ok(i) => s.checksum = s.checksum.wrapping_add(u64::from(i)),
                    Err(_) => s.errors += 1,
                }
            }
            for command in feature.geometry() {
                match command {
                    Ok(c) => {
                        s.commands += 1;
                        black_box(c);
                    }
                    Err(_) => s.errors += 1,
                }
            }
            if feature.decode_geometry(&mut sink).is_err() {
                s.errors += 1;
            }
            if convert {
                match feature.to_geometry::<f64>() {
                    Ok(g) => drop(black_box(g)),
                    Err(_) => s.errors += 1,
                }
            }
        }
    }
    s.checksum = s.checksum.wrapping_add(sink.0);
    s
}

/// The largest geometry field of any feature, in bytes.
fn largest_geometry(bytes: &[u8]) -> usize {
    let Ok(tile) = Tile::new(bytes) else {
        return 0;
    };
    let mut largest = 0;
    for layer in tile.layers().flatten() {
        for feature in layer.features().flatten() {
            largest = largest.max(feature.geometry_bytes().len());
        }
    }
    largest
}

// ---------------------------------------------------------------------------------------------
// The bound.

/// A fixed allowance for what does not grow with the input: the list of layer names seen
/// (one small vector), error values and their messages (each dropped before the next is made),
/// minimum vector capacities, and `to_geometry`'s handful of vectors for a tiny geometry.
const FIXED: i64 = 64 * 1024;

/// The most live bytes a full walk (`walk(_, true)`) may hold above where it started, for an
/// input of `input` bytes whose largest feature geometry is `geometry` bytes.
///
/// * Tables, `8 * input`. They are reserved with the counts the layer scan found, so exactly
///   one entry per key or value present in the bytes. A key is a `&str` (16 bytes) and takes at
///   least 2 input bytes (field key, length 0); a value is a `Value` (24 bytes) and takes at
///   least 4 (field key, length, value key, a one-byte body). So at most 8 bytes per input byte.
/// * `to_geometry::<f64>`, `40 * geometry`: it runs for one feature at a time and its result
///   is dropped before the next. The worst case per input byte is a multipoint: each point
///   takes at least 2 bytes (two one-byte deltas) and, while being converted, costs 8 bytes of
///   flat vertex plus 16 of part start, both in vectors grown by doubling (so up to twice that),
///   plus 16 bytes of `Point<f64>` in a vector also grown by doubling: 80 bytes per point,
///   40 per input byte. Lines (at least 6 bytes for a two-point part) and polygon rings (at
///   least 9 bytes for three points) cost less per byte.
/// * [`FIXED`].
///
/// What the bound excludes is the failure it is there to catch: memory reserved from a count
/// read out of the bytes (a MoveTo count of 2^29 - 1 would ask for gigabytes) rather than from
/// what the bytes hold.
fn budget(input: usize, geometry: usize) -> i64 {
    8 * input as i64 + 40 * geometry as i64 + FIXED
}

/// Measures a full walk of `bytes`, checks it against [`budget`] and returns the stats.
fn check_hostile(name: &str, bytes: &[u8]) -> (Summary, Stats) {
    let geometry = largest_geometry(bytes);
    let (summary, stats) = measure(|| walk(bytes, true));
    let limit = budget(bytes.len(), geometry);
    eprintln!(
        "{name}: {} input bytes, largest geometry {geometry} bytes: peak {} live bytes \
         ({:.1}x input), {} allocations, {} bytes allocated; budget {limit}; {summary:?}",
        bytes.len(),
        stats.peak,
        stats.peak as f64 / bytes.len() as f64,
        stats.allocations,
        stats.bytes,
    );
    assert!(
        stats.peak <= limit,
        "{name}: peak {} live bytes is over the budget of {limit} ({} input bytes, largest \
         geometry {geometry} bytes)",
        stats.peak,
        bytes.len(),
    );
    (summary, stats)
}

// ---------------------------------------------------------------------------------------------
// Hand-built tiles.

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
fn put_len(out: &mut Vec<u8>, field: u64, body: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// A varint field.
fn put_uint(out: &mut Vec<u8>, field: u64, v: u64) {
    put_varint(out, field << 3);
    put_varint(out, v);
}

fn packed(ints: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    for &i in ints {
        put_varint(&mut out, u64::from(i));
    }
    out
}

/// spec 4.3.3: `(id & 0x7) | (count << 3)`.
fn command(id: u32, count: u32) -> u32 {
    (id & 7) | (count << 3)
}

/// A feature message: type, packed tags and packed geometry.
fn feature(geom_type: u64, tags: &[u32], geometry: &[u32]) -> Vec<u8> {
    let mut f = Vec::new();
    if !tags.is_empty() {
        put_len(&mut f, 2, &packed(tags));
    }
    put_uint(&mut f, 3, geom_type);
    put_len(&mut f, 4, &packed(geometry));
    f
}

/// A version 2 layer message holding `fields` (features, keys, values, already encoded).
fn layer(name: &str, fields: &[u8]) -> Vec<u8> {
    let mut l = Vec::new();
    put_len(&mut l, 1, name.as_bytes());
    l.extend_from_slice(fields);
    put_uint(&mut l, 5, 4096);
    put_uint(&mut l, 15, 2);
    l
}

/// A tile of the given layer messages.
fn tile(layers: &[Vec<u8>]) -> Vec<u8> {
    let mut t = Vec::new();
    for l in layers {
        put_len(&mut t, 3, l);
    }
    t
}

/// The largest command count spec 4.3.3 can express: 29 bits.
const MAX_COUNT: u32 = (1 << 29) - 1;

/// Features whose command counts ask for up to 2^29 - 1 points, followed by far fewer
/// parameter integers, of every geometry type; and one well-formed point.
fn huge_counts_tile() -> Vec<u8> {
    // A long-ish tail of one-byte parameters, so the count is checked against real bytes.
    let tail: Vec<u32> = (0..2000).map(|i| 2 + (i % 50) * 2).collect();
    let with_tail = |head: &[u32]| -> Vec<u32> { head.iter().chain(&tail).copied().collect() };
    let mut fields = Vec::new();
    let features = [
        // POINT: MoveTo(2^29 - 1).
        feature(1, &[], &with_tail(&[command(1, MAX_COUNT)])),
        // LINESTRING: MoveTo(1), then LineTo(2^29 - 1).
        feature(
            2,
            &[],
            &with_tail(&[command(1, 1), 2, 2, command(2, MAX_COUNT)]),
        ),
        // LINESTRING: LineTo(2^29 - 2), one short of the maximum, in a second part.
        feature(
            2,
            &[],
            &with_tail(&[
                command(1, 1),
                2,
                2,
                command(2, 1),
                4,
                4,
                command(1, 1),
                6,
                6,
                command(2, MAX_COUNT - 1),
            ]),
        ),
        // POLYGON: MoveTo(1), LineTo(2^29 - 1).
        feature(
            3,
            &[],
            &with_tail(&[command(1, 1), 2, 2, command(2, MAX_COUNT)]),
        ),
        // UNKNOWN: MoveTo(2^29 - 1) then LineTo(2^29 - 1), only the generic checks apply.
        feature(
            0,
            &[],
            &with_tail(&[command(1, MAX_COUNT), command(2, MAX_COUNT)]),
        ),
        // A well-formed point, so the layer is not all errors.
        feature(1, &[], &[command(1, 1), 50, 34]),
    ];
    for f in &features {
        put_len(&mut fields, 2, f);
    }
    tile(&[layer("huge counts", &fields)])
}

/// One layer whose key and value tables hold `n` entries each, every one as small as the
/// encoding allows (an empty key: 2 bytes; a bool value: 4 bytes), and one feature using the
/// last pair.
fn tiny_entries_tile(n: u32) -> Vec<u8> {
    let mut fields = Vec::new();
    put_len(
        &mut fields,
        2,
        &feature(1, &[n - 1, n - 1], &[command(1, 1), 2, 2]),
    );
    for _ in 0..n {
        put_len(&mut fields, 3, b"");
    }
    for i in 0..n {
        let mut v = Vec::new();
        put_uint(&mut v, 7, u64::from(i % 2));
        put_len(&mut fields, 4, &v);
    }
    tile(&[layer("tiny entries", &fields)])
}

/// Length prefixes that claim far more bytes than follow: a tile-level layer field, a key, a
/// value and a feature geometry each announcing 2^62 bytes.
fn lying_lengths_tiles() -> Vec<(&'static str, Vec<u8>)> {
    let huge: u64 = 1 << 62;
    let claim = |field: u64, rest: &[u8]| {
        let mut out = Vec::new();
        put_varint(&mut out, field << 3 | 2);
        put_varint(&mut out, huge);
        out.extend_from_slice(rest);
        out
    };
    let point = {
        let mut f = Vec::new();
        put_len(&mut f, 2, &feature(1, &[0, 0], &[command(1, 1), 2, 2]));
        f
    };
    let with = |extra: Vec<u8>| {
        let mut fields = point.clone();
        fields.extend_from_slice(&extra);
        tile(&[layer("lying", &fields)])
    };
    let mut geometry_lies = Vec::new();
    put_uint(&mut geometry_lies, 3, 1);
    geometry_lies.extend_from_slice(&claim(4, &[9, 2, 2]));
    let mut feature_field = Vec::new();
    put_len(&mut feature_field, 2, &geometry_lies);
    vec![
        ("a layer field claiming 2^62 bytes", claim(3, &[0x0a, 0x01])),
        ("a key claiming 2^62 bytes", with(claim(3, b"key"))),
        ("a value claiming 2^62 bytes", with(claim(4, &[0x38, 0x01]))),
        (
            "a geometry claiming 2^62 bytes",
            tile(&[layer("lying", &feature_field)]),
        ),
    ]
}

fn read(path: &std::path::Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// 1. Streaming allocates per layer, not per feature.

#[test]
fn streaming_allocations_do_not_grow_with_the_feature_count() {
    let root = fixtures();
    let dir = root.join("mapillary");
    // 31,592 features in 2 layers, and 420 features in the same 2 layers.
    let big = read(&dir.join("josm_mly1_public_14_3251_6257.mvt"));
    let small = read(&dir.join("surfaceai_mly1_public_14_8738_5555.mvt"));

    let (big_walk, big_stats) = measure(|| walk(&big, false));
    let (small_walk, small_stats) = measure(|| walk(&small, false));
    for (name, w, st) in [
        ("josm 14/3251/6257", big_walk, big_stats),
        ("surfaceai 14/8738/5555", small_walk, small_stats),
    ] {
        eprintln!(
            "{name}: {} layers, {} features, {} properties, {} commands: {} allocations, \
             {} bytes allocated, peak {} live bytes",
            w.layers, w.features, w.properties, w.commands, st.allocations, st.bytes, st.peak
        );
        assert_eq!(w.errors, 0, "{name}: the walk found errors");
        // The reader allocates the key and value tables once per layer (2 allocations) and
        // the list of layer names once per tile; 4 per layer and 4 per tile leave room for a
        // reallocation or two, and nothing for anything done per feature.
        let bound = 4 * w.layers as u64 + 4;
        assert!(
            st.allocations <= bound,
            "{name}: {} allocations for {} layers (bound {bound})",
            st.allocations,
            w.layers
        );
    }
    assert!(big_walk.features > 30_000 && big_walk.properties > 100_000);
    assert!(small_walk.features < 1_000);
    assert_eq!(big_walk.layers, small_walk.layers);
    // Same layers, 75 times the features: the same number of allocations.
    assert_eq!(
        big_stats.allocations, small_stats.allocations,
        "the allocation count depends on the number of features"
    );
}

#[test]
fn streaming_allocates_only_the_tables_per_layer() {
    let root = fixtures();
    let bytes = read(&root.join("mapillary/josm_mly1_public_14_3251_6257.mvt"));
    let tile = Tile::new(&bytes).unwrap();
    let layers: Vec<_> = tile.layers().map(Result::unwrap).collect();
    // The tables, parsed here, outside the measurement.
    let table_bytes: usize = layers
        .iter()
        .map(|l| {
            std::mem::size_of_val(l.keys().unwrap()) + std::mem::size_of_val(l.values().unwrap())
        })
        .sum();
    // With the tables parsed, walking every feature again allocates nothing at all.
    let ((), stats) = measure(|| {
        let mut sink = Checksum::default();
        for layer in &layers {
            for feature in layer.features() {
                let feature = feature.unwrap();
                for p in feature.properties() {
                    black_box(p.unwrap());
                }
                for c in feature.geometry() {
                    black_box(c.unwrap());
                }
                feature.decode_geometry(&mut sink).unwrap();
            }
        }
        black_box(sink.0);
    });
    eprintln!("second walk over parsed tables ({table_bytes} table bytes): {stats:?}");
    assert_eq!(stats.allocations, 0, "{stats:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Hostile inputs stay within a few times the input size.

#[test]
fn mvt_fixtures_stay_within_the_budget() {
    let root = fixtures();
    let dir = root.join("mvt-fixtures/fixtures");
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 70, "found only {} cases", cases.len());
    for case in &cases {
        let id = case.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = read(&case.join("tile.mvt"));
        let (summary, stats) = check_hostile(&format!("mvt-fixtures {id}"), &bytes);
        // 051, 057 and 058 hold command counts of up to 2^29 - 1 in a few dozen bytes: they
        // must fail fast, holding no more than the fixed allowance.
        if ["051", "057", "058"].contains(&id.as_str()) {
            assert!(summary.errors > 0, "{id}: the huge count was not refused");
            assert!(stats.peak <= FIXED, "{id}: peak {}", stats.peak);
        }
    }
}

#[test]
fn the_bangkok_tile_with_5888_parts_stays_within_the_budget() {
    let root = fixtures();
    // Found by scanning every Bangkok tile: layer "road", feature 90 of 12/3192/1889 is a
    // LineString of 5,888 parts (5,888 MoveTo and 8,733 LineTo points), the most of any
    // feature there.
    let bytes = read(&root.join("mvt-fixtures/real-world/bangkok/12-3192-1889.mvt"));
    let tile = Tile::new(&bytes).unwrap();
    let road = tile.layer("road").unwrap().expect("a road layer");
    let feature = road.features().nth(90).unwrap().unwrap();
    let parts = feature
        .geometry()
        .filter(|c| matches!(c, Ok(mlytiles_mvt::Command::MoveTo(..))))
        .count();
    assert_eq!(parts, 5888);
    let (summary, _) = check_hostile("bangkok 12-3192-1889", &bytes);
    assert_eq!(summary.errors, 0);
}

#[test]
fn huge_command_counts_allocate_nothing_for_their_points() {
    let bytes = huge_counts_tile();
    let (summary, stats) = check_hostile("synthetic huge counts", &bytes);
    // Five features refused, one point read.
    assert_eq!(summary.features, 6);
    assert!(summary.errors >= 5, "{summary:?}");
    // A few error values with their messages, nothing that scales with a count.
    assert!(stats.peak <= FIXED, "peak {}", stats.peak);
    assert!(
        stats.bytes <= FIXED as u64,
        "{} bytes allocated",
        stats.bytes
    );
}

#[test]
fn tables_of_many_tiny_entries_reserve_exactly_what_is_there() {
    let n = 200_000;
    let bytes = tiny_entries_tile(n);
    let (summary, stats) = check_hostile("synthetic tiny table entries", &bytes);
    assert_eq!((summary.features, summary.properties), (1, 1));
    assert_eq!(summary.errors, 0);
    // One `&str` per key and one `Value` per value, reserved once from the scanned counts.
    let tables = i64::from(n) * (size_of::<&str>() + size_of::<Value>()) as i64;
    assert!(
        stats.peak <= tables + FIXED,
        "peak {} for {tables} bytes of tables",
        stats.peak
    );
    assert!(
        stats.peak <= 8 * bytes.len() as i64,
        "peak {} for {} input bytes",
        stats.peak,
        bytes.len()
    );
}

#[test]
fn lying_length_prefixes_reserve_nothing() {
    for (name, bytes) in lying_lengths_tiles() {
        let (summary, stats) = check_hostile(name, &bytes);
        assert!(summary.errors > 0, "{name}: not refused");
        assert!(stats.peak <= FIXED, "{name}: peak {}", stats.peak);
    }
}
