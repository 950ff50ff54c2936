//! The time of a z19 mosaic over one z14 tile of a million points, and of one z19 tile with
//! and without the parent cache: what overzooming costs. A measurement, not a test:
//!
//! ```sh
//! cargo run --release -p mlytiles-render --example time_overzoom
//! ```

use std::time::Instant;

use chrono::Utc;
use mlytiles_render::{
    EdgePoints, MosaicOptions, ParentCache, RenderOptions, Sources, render_mosaic, render_tile,
    render_tile_cached,
};
use mlytiles_store::{MbTiles, TileRecord, TileStore};
use mlytiles_tile::TileId;

#[path = "../tests/common/dense.rs"]
mod dense;
use dense::dense_tile;

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
