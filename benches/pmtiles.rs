//! PMTiles archives: what a pyramid tile costs to draw, and how fast the archive takes it.
//!
//! - `pyramid_tile/{z10,z14,z16}`: one tile of a coverage pyramid over the bundled sample
//!   (`fixtures/cache`) drawn at 512 px and encoded to PNG as a pyramid does it
//!   (`render_tile_png`), in a rayon pool of one thread: the z10 tile and the 16 z14 tiles
//!   of the sample (each z14 tile reads its neighbours for the points on its edges), and 16
//!   z16 tiles with a warm `ParentCache` (as a pyramid draws them: the z14 parent read once
//!   for all its children). Throughput in tiles.
//! - `archive_write/{distinct,cycled,duplicate}`: [`ArchiveWriter`] taking 4,000 real PNG
//!   tiles (the non-transparent z14-16 tiles of the sample pyramid, cycled) at consecutive
//!   z16 tile ids, finished (directories, metadata, fsync, rename): `distinct` makes every
//!   copy unique (its index appended after the PNG's IEND chunk, which decoders ignore), as
//!   the tiles of a real pyramid are; `cycled` writes the copies as they are, so the writer
//!   stores each content once and addresses the rest; `duplicate` is one tile 4,000 times
//!   (one run in the directory). Throughput in tiles and bytes given to the writer.
//!
//! - `pyramid_run/{1,4,16}_z14_tiles`: a whole `render --pyramid --only-data` run, z0-16 at
//!   512 px, into an archive, over one, four and sixteen z14 tiles of the sample: how the cost
//!   grows with the area of data. Throughput in tiles listed, on rayon's pool (the thread
//!   count is printed; tiles/s over threads is the rate a core).
//!
//! The average PNG size of each pool is printed once. Run: `cargo bench --bench pmtiles`
//! (add `-- pyramid_tile` or `-- archive_write` for one group).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlytiles_render::{
    EdgePoints, ParentCache, PngOptions, PyramidOptions, PyramidSettings, RenderOptions,
    RenderedPng, Sources, pyramid_tiles_with_data, render_tile_png, write_pyramid,
};
use mlytiles_store::{
    ArchiveFormat, ArchiveWriter, BBox, Cache, TileId, pmtiles_tile_id, tile_of_pmtiles_id,
};

/// The bytes of the `i`th tile of an archive.
type TileBytes<'a> = dyn Fn(u64) -> Vec<u8> + 'a;

/// Tiles an archive of the write benches holds.
const ARCHIVE_TILES: u64 = 4_000;

fn sample() -> Sources {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache");
    let cache = Cache::open(&dir).expect("open the sample cache");
    Sources::from_cache(&cache, "mly1_public").expect("the sample's mly1_public")
}

/// The sample's 16 z14 tiles (x 3250-3253, y 6256-6259).
fn z14_tiles() -> Vec<TileId> {
    let mut tiles = Vec::new();
    for x in 3250..3254 {
        for y in 6256..6260 {
            tiles.push(TileId::new(14, x, y).expect("tile id"));
        }
    }
    tiles
}

/// The 4 x 4 z16 tiles under a z14 tile.
fn z16_under(parent: TileId) -> Vec<TileId> {
    let mut tiles = Vec::new();
    for dx in 0..4 {
        for dy in 0..4 {
            let (x, y) = (parent.x() * 4 + dx, parent.y() * 4 + dy);
            tiles.push(TileId::new(16, x, y).expect("tile id"));
        }
    }
    tiles
}

/// Draws and encodes `tile` as `render --pyramid` does; `None` when fully transparent (an
/// archive leaves those out).
fn draw(sources: &Sources, tile: TileId, parents: &ParentCache) -> Option<Vec<u8>> {
    let r = png_tile(sources, tile, Some(parents));
    (!r.transparent).then_some(r.png)
}

/// `tile` drawn and encoded as a pyramid does it (`render_tile_png`: neighbours read,
/// overzoomed tiles through `parents`, PNG straight from the coverage).
fn png_tile(sources: &Sources, tile: TileId, parents: Option<&ParentCache>) -> RenderedPng {
    let options = RenderOptions::default();
    let edges = EdgePoints::FromNeighbours;
    render_tile_png(
        sources,
        tile,
        &options,
        edges,
        parents,
        &PngOptions::default(),
    )
    .expect("render")
}

fn average(pngs: &[Vec<u8>]) -> u64 {
    pngs.iter().map(|p| p.len() as u64).sum::<u64>() / pngs.len().max(1) as u64
}

fn pyramid_tile(c: &mut Criterion) {
    let sources = sample();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let z10 = TileId::new(10, 203, 391).expect("tile id");
    let z14 = z14_tiles();
    let z16 = z16_under(TileId::new(14, 3251, 6257).expect("tile id"));
    let parents = ParentCache::default();
    for (name, tiles) in [
        ("z10", vec![z10]),
        ("z14", z14.clone()),
        ("z16", z16.clone()),
    ] {
        let pngs: Vec<_> = tiles
            .iter()
            .filter_map(|&t| draw(&sources, t, &parents))
            .collect();
        println!(
            "pyramid_tile/{name}: {} tiles, {} with coverage, average PNG {} bytes",
            tiles.len(),
            pngs.len(),
            average(&pngs)
        );
    }
    let mut g = c.benchmark_group("pyramid_tile");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    g.bench_function("z10", |b| {
        b.iter(|| one.install(|| png_tile(&sources, black_box(z10), None)))
    });
    g.throughput(Throughput::Elements(z14.len() as u64));
    g.bench_function("z14", |b| {
        b.iter(|| {
            one.install(|| {
                for &t in &z14 {
                    black_box(png_tile(&sources, black_box(t), None));
                }
            })
        })
    });
    g.throughput(Throughput::Elements(z16.len() as u64));
    g.bench_function("z16", |b| {
        b.iter(|| {
            one.install(|| {
                for &t in &z16 {
                    black_box(png_tile(&sources, black_box(t), Some(&parents)));
                }
            })
        })
    });
    g.finish();
}

/// The non-transparent z14, z15 and z16 tiles of the sample pyramid, as PNG.
fn real_pngs() -> Vec<Vec<u8>> {
    let sources = sample();
    let parents = ParentCache::default();
    let mut pngs = Vec::new();
    for parent in z14_tiles() {
        let mut tiles = vec![parent];
        for dx in 0..2 {
            for dy in 0..2 {
                let (x, y) = (parent.x() * 2 + dx, parent.y() * 2 + dy);
                tiles.push(TileId::new(15, x, y).expect("tile id"));
            }
        }
        tiles.extend(z16_under(parent));
        pngs.extend(tiles.iter().filter_map(|&t| draw(&sources, t, &parents)));
    }
    pngs
}

/// Writes `count` tiles at consecutive z16 tile ids, the `i`th holding `tile(i)`.
fn write_archive(path: &std::path::Path, tile: impl Fn(u64) -> Vec<u8>) -> u64 {
    let first = pmtiles_tile_id(TileId::new(16, 13004, 25028).expect("tile id"));
    let mut writer = ArchiveWriter::create(path, ArchiveFormat::Png).expect("create");
    for i in 0..ARCHIVE_TILES {
        let id = tile_of_pmtiles_id(first + i).expect("a z16 tile id");
        writer.add(id, &tile(i)).expect("add");
    }
    let bounds = BBox::new(-108.6, 39.0, -108.5, 39.1).expect("bbox");
    writer
        .finish(&serde_json::Map::new(), bounds)
        .expect("finish")
        .bytes
}

fn archive_write(c: &mut Criterion) {
    let pngs = real_pngs();
    assert!(!pngs.is_empty(), "the sample pyramid has coverage");
    let n = pngs.len() as u64;
    let avg = average(&pngs);
    println!("archive_write: a pool of {n} real PNG tiles, average {avg} bytes");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.pmtiles");
    let pool_bytes = |count: u64| {
        (0..count)
            .map(|i| pngs[(i % n) as usize].len() as u64)
            .sum()
    };
    let distinct = |i: u64| {
        let mut png = pngs[(i % n) as usize].clone();
        png.extend_from_slice(&i.to_be_bytes());
        png
    };
    let cycled = |i: u64| pngs[(i % n) as usize].clone();
    let one = |_: u64| pngs[0].clone();
    let mut g = c.benchmark_group("archive_write");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(10);
    let cases: [(&str, &TileBytes<'_>, u64); 3] = [
        (
            "distinct",
            &distinct,
            pool_bytes(ARCHIVE_TILES) + 8 * ARCHIVE_TILES,
        ),
        ("cycled", &cycled, pool_bytes(ARCHIVE_TILES)),
        ("duplicate", &one, pngs[0].len() as u64 * ARCHIVE_TILES),
    ];
    for (name, tile, bytes) in cases {
        let size = write_archive(&path, tile);
        println!(
            "archive_write/{name}: {ARCHIVE_TILES} tiles, {bytes} bytes given, archive {size} bytes"
        );
        g.throughput(Throughput::ElementsAndBytes {
            elements: ARCHIVE_TILES,
            bytes,
        });
        g.bench_function(name, |b| b.iter(|| write_archive(&path, tile)));
    }
    g.finish();
}

/// The box of the `side` x `side` z14 tiles at the sample's north-west corner (3250, 6256),
/// drawn in a hair so its edges pull in no neighbouring tile.
fn block_bbox(side: u32) -> BBox {
    let nw = TileId::new(14, 3250, 6256).expect("tile").bounds();
    let se = TileId::new(14, 3249 + side, 6255 + side)
        .expect("tile")
        .bounds();
    let hair = 1e-7;
    BBox::new(
        nw.west() + hair,
        se.south() + hair,
        se.east() - hair,
        nw.north() - hair,
    )
    .expect("bbox")
}

/// A whole `render --pyramid --only-data` run, z0-16, into a PMTiles archive, over one, four
/// and sixteen z14 tiles of data: how the cost grows with the area. Tiles are drawn on rayon's
/// pool (one thread a core); throughput is in tiles listed (drawn), so tiles/s divided by the
/// cores printed is the rate a core.
fn pyramid_run(c: &mut Criterion) {
    let sources = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let cores = rayon::current_num_threads();
    let mut g = c.benchmark_group("pyramid_run");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for side in [1u32, 2, 4] {
        let bbox = block_bbox(side);
        let listed = pyramid_tiles_with_data(&*sources.coverage, bbox, 0, 16, u64::MAX)
            .expect("tile list")
            .len() as u64;
        let options = PyramidOptions {
            bbox,
            zooms: (0, 16),
            out: dir.path().join(format!("run-{side}.pmtiles")),
            shard: (0, 1),
            force: true,
            render: RenderOptions::default(),
            settings: PyramidSettings {
                source: "sample".into(),
                style: "mapillary".into(),
                filters: String::new(),
                size: 512,
                scale: 1,
                markers: false,
                background: None,
            },
            max_tiles: u64::MAX,
            only_data: true,
        };
        let report = write_pyramid(&sources, &options, &|_| {}).expect("pyramid");
        println!(
            "pyramid_run/{}: {listed} tiles listed, {} written, {} transparent, on {cores} threads",
            side * side,
            report.tiles - report.transparent,
            report.transparent
        );
        g.throughput(Throughput::Elements(listed));
        g.bench_function(format!("{}_z14_tiles", side * side), |b| {
            b.iter(|| write_pyramid(&sources, black_box(&options), &|_| {}).expect("pyramid"))
        });
    }
    g.finish();
}

criterion_group!(benches, pyramid_tile, archive_write, pyramid_run);
criterion_main!(benches);
