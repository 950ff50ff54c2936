//! The time of a z19 mosaic over one z14 tile of a million points, and of one z19 tile with
//! and without the parent cache: what overzooming costs. A measurement, not a test:
//!
//! ```sh
//! cargo run --release -p mlytiles-render --example time_overzoom
//! ```

use std::io::Write;
use std::time::Instant;

use chrono::Utc;
use mlytiles_mvt::{TileBuilder, Value, geo_types};
use mlytiles_render::{
    EdgePoints, MosaicOptions, ParentCache, RenderOptions, Sources, render_mosaic, render_tile,
    render_tile_cached,
};
use mlytiles_store::{MbTiles, TileRecord, TileStore};
use mlytiles_tile::TileId;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn coord(&mut self) -> i32 {
        // The extent and a buffer of 64 units around it.
        (self.next() % 4224) as i32 - 64
    }
}

/// A dense coverage tile: `points` images and `lines` sequences (short random walks, one
/// crossing the whole tile), with the properties the styles and filters read; gzipped.
fn dense_tile(points: usize, lines: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut b = TileBuilder::new();
    let day = 86_400_000i64;
    for i in 0..lines {
        let mut at = (rng.coord(), rng.coord());
        let mut line = vec![at];
        let steps = if i == 0 { 1 } else { 2 + rng.next() % 20 };
        for _ in 0..steps {
            if i == 0 {
                at = (4150, 4100);
            } else {
                at.0 += (rng.next() % 200) as i32 - 100;
                at.1 += (rng.next() % 200) as i32 - 100;
            }
            line.push(at);
        }
        line.dedup();
        if line.len() < 2 {
            continue;
        }
        let g: geo_types::Geometry<i32> = geo_types::LineString::from(line).into();
        let captured = 1_500_000_000_000 + (rng.next() % 3000) as i64 * day;
        b.layer("sequence")
            .add_feature(
                None,
                &g,
                [
                    ("captured_at", Value::Int(captured)),
                    ("is_pano", Value::Bool(rng.next().is_multiple_of(4))),
                    ("organization_id", Value::Int((rng.next() % 5) as i64)),
                ],
            )
            .unwrap();
    }
    for _ in 0..points {
        let g: geo_types::Geometry<i32> = geo_types::Point::new(rng.coord(), rng.coord()).into();
        let captured = 1_500_000_000_000 + (rng.next() % 3000) as i64 * day;
        b.layer("image")
            .add_feature(
                Some(rng.next() >> 12),
                &g,
                [
                    ("captured_at", Value::Int(captured)),
                    ("is_pano", Value::Bool(rng.next().is_multiple_of(4))),
                    ("organization_id", Value::Int((rng.next() % 5) as i64)),
                ],
            )
            .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&b.to_bytes()).unwrap();
    gz.finish().unwrap()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mly1_public.mbtiles");
    let parent = TileId::new(14, 8000, 5000).unwrap();
    let bytes = dense_tile(1_000_000, 3_000, 11);
    let size = bytes.len();
    let store = MbTiles::open(&path).unwrap();
    store
        .put(parent, &TileRecord::data(bytes, Utc::now()))
        .unwrap();
    drop(store);
    let sources = Sources::from_store_path(&path).unwrap();
    // One z19 PNG tile (as a server draws it), reading the whole parent, then through a
    // warm cache.
    let child = TileId::new(19, 8000 * 32 + 13, 5000 * 32 + 17).unwrap();
    let options = RenderOptions::default();
    let start = Instant::now();
    render_tile(&sources, child, &options).unwrap();
    let whole = start.elapsed().as_secs_f64();
    let cache = ParentCache::default();
    render_tile_cached(
        &sources,
        child,
        &options,
        EdgePoints::FromNeighbours,
        &cache,
    )
    .unwrap();
    let start = Instant::now();
    let near = TileId::new(19, child.x() + 1, child.y()).unwrap();
    render_tile_cached(&sources, near, &options, EdgePoints::FromNeighbours, &cache).unwrap();
    println!(
        "one z19 tile: {:.3} s reading the whole parent, {:.4} s through a warm cache",
        whole,
        start.elapsed().as_secs_f64()
    );
    for (zoom, side) in [(17u8, 256u32), (19, 256)] {
        let options = MosaicOptions {
            bbox: parent.bounds(),
            zoom,
            render: RenderOptions {
                size: side,
                ..Default::default()
            },
            max_side: 1 << 16,
            ..Default::default()
        };
        let start = Instant::now();
        let report = render_mosaic(&sources, &options, &dir.path().join("m.png")).unwrap();
        println!(
            "z{zoom} mosaic of {} tiles ({} x {} px) over a {:.1} MB tile of 1,000,000 points: {:.2} s ({} points drawn)",
            report.tiles,
            report.width,
            report.height,
            size as f64 / 1e6,
            start.elapsed().as_secs_f64(),
            report.stats.points
        );
    }
}
