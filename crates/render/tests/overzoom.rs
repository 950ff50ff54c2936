//! Issue 13, item 11: an overzoomed tile (z15-22) reads its z14 parent through a
//! `ParentCache` (read, inflated and indexed once) and draws only the features that reach it.
//! What it draws is what reading the whole parent draws, pixel for pixel.

use chrono::Utc;
use mlytiles_filter::{Filter, ImageType};
use mlytiles_render::{
    EdgePoints, MosaicOptions, ParentCache, RenderOptions, Sources, Style, render_mosaic,
    render_tile, render_tile_cached,
};
use mlytiles_store::{MbTiles, TileRecord, TileStore};

mod common;
use common::dense::dense_tile;
use mlytiles_tile::{BBox, TileId};

const PARENT: (u32, u32) = (8000, 5000);

/// A store with the dense parent and a dense tile on each side of it.
fn store(dir: &std::path::Path, points: usize) -> Sources {
    let path = dir.join("mly1_public.mbtiles");
    let store = MbTiles::open(&path).unwrap();
    for (i, (dx, dy)) in [(0i32, 0i32), (1, 0), (0, 1), (-1, 0), (0, -1), (1, 1)]
        .into_iter()
        .enumerate()
    {
        let t = TileId::new(
            14,
            PARENT.0.wrapping_add_signed(dx),
            PARENT.1.wrapping_add_signed(dy),
        )
        .unwrap();
        let bytes = dense_tile(points / (1 + 3 * i.min(1)), 300, 7 + i as u64);
        store.put(t, &TileRecord::data(bytes, Utc::now())).unwrap();
    }
    drop(store);
    Sources::from_store_path(&path).unwrap()
}

fn children(z: u8) -> Vec<TileId> {
    let n = 1u32 << (z - 14);
    let (x0, y0) = (PARENT.0 * n, PARENT.1 * n);
    if n <= 4 {
        (0..n)
            .flat_map(|y| (0..n).map(move |x| TileId::new(z, x0 + x, y0 + y).unwrap()))
            .collect()
    } else {
        // The corners (neighbours' dots reach them), an edge and an inner child.
        [
            (0, 0),
            (n - 1, 0),
            (n - 1, n - 1),
            (0, n - 1),
            (n / 2, 0),
            (n / 3, n / 2),
        ]
        .into_iter()
        .map(|(x, y)| TileId::new(z, x0 + x, y0 + y).unwrap())
        .collect()
    }
}

#[test]
fn cached_children_draw_what_the_whole_parent_draws() {
    let dir = tempfile::tempdir().unwrap();
    let sources = store(dir.path(), 20_000);
    let pano = Filter {
        image_type: ImageType::Pano,
        ..Filter::default()
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let variants: Vec<RenderOptions> = vec![
        RenderOptions::default(),
        RenderOptions {
            style: Style::Age,
            now: Some(now),
            size: 256,
            scale: 2,
            ..Default::default()
        },
        RenderOptions {
            style: Style::Density,
            ..Default::default()
        },
        RenderOptions {
            style: Style::Pano,
            filter: Some(pano),
            now: Some(now),
            ..Default::default()
        },
    ];
    let cache = ParentCache::default();
    let mut compared = 0;
    for options in &variants {
        for z in [15, 16, 19, 22] {
            for child in children(z) {
                for edges in [EdgePoints::FromNeighbours, EdgePoints::Cut] {
                    let whole = mlytiles_render::render_tile_with(&sources, child, options, edges)
                        .expect("render");
                    let part = render_tile_cached(&sources, child, options, edges, &cache)
                        .expect("render through the cache");
                    assert_eq!(
                        part.pixmap.data(),
                        whole.pixmap.data(),
                        "{child} {:?} {edges:?}",
                        options.style
                    );
                    let (a, b) = (part.stats, whole.stats);
                    assert_eq!(
                        (a.lines, a.points, a.tiles_read, a.features_skipped),
                        (b.lines, b.points, b.tiles_read, b.features_skipped),
                        "{child} {:?}",
                        options.style
                    );
                    compared += 1;
                    if z == 16 && options.style == Style::Mapillary {
                        assert!(b.features_drawn() > 0, "{child} draws something");
                    }
                }
            }
        }
    }
    assert!(compared > 100);
}

#[test]
fn an_overzoomed_mosaic_is_the_whole_parent_s_drawing() {
    let dir = tempfile::tempdir().unwrap();
    let sources = store(dir.path(), 5_000);
    let parent = TileId::new(14, PARENT.0, PARENT.1).unwrap();
    let b = parent.bounds();
    let inner = BBox::new(
        b.west() + (b.east() - b.west()) * 0.3,
        b.south() + (b.north() - b.south()) * 0.3,
        b.east() - (b.east() - b.west()) * 0.45,
        b.north() - (b.north() - b.south()) * 0.45,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = MosaicOptions {
        bbox: inner,
        zoom: 17,
        render: RenderOptions {
            size: 256,
            ..Default::default()
        },
        ..Default::default()
    };
    let report = render_mosaic(&sources, &options, &out.path().join("z17.png")).expect("mosaic");
    // Every tile of the mosaic read the parent (from the cache after the first).
    assert_eq!(report.stats.tiles_read, report.tiles);
    // Each tile's points, counted by a lone render reading the whole parent.
    let mut points = 0;
    let z = 17u8;
    let (x0, y0) = mlytiles_tile::lon_lat_to_tile_fraction(inner.west(), inner.north(), z);
    let (x1, y1) = mlytiles_tile::lon_lat_to_tile_fraction(inner.east(), inner.south(), z);
    for y in y0.floor() as u32..=y1.floor() as u32 {
        for x in x0.floor() as u32..=x1.floor() as u32 {
            let t = TileId::new(z, x, y).unwrap();
            points += render_tile(&sources, t, &options.render)
                .unwrap()
                .stats
                .points;
        }
    }
    assert_eq!(report.stats.points, points);
}

#[test]
fn the_parent_cache_is_bounded_and_forgets_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let sources = store(dir.path(), 2_000);
    let options = RenderOptions::default();
    let child = |dx: u32| TileId::new(16, PARENT.0 * 4 + dx, PARENT.1 * 4 + 1).unwrap();
    // Room for no parent: nothing is kept, and children still draw.
    let tiny = ParentCache::new(1024);
    let r = render_tile_cached(&sources, child(0), &options, EdgePoints::Cut, &tiny).unwrap();
    assert!(r.stats.features_drawn() > 0);
    assert_eq!(tiny.usage(), (0, 0));
    // Room for one: the parent and its neighbour (read for edge dots) take turns.
    let cache = ParentCache::default();
    render_tile_cached(
        &sources,
        child(3),
        &options,
        EdgePoints::FromNeighbours,
        &cache,
    )
    .unwrap();
    let (tiles, bytes) = cache.usage();
    assert_eq!(tiles, 2, "the parent and the neighbour beside child 3");
    let one = ParentCache::new(bytes * 2 / 3);
    render_tile_cached(
        &sources,
        child(3),
        &options,
        EdgePoints::FromNeighbours,
        &one,
    )
    .unwrap();
    assert_eq!(one.usage().0, 1);
    assert!(one.usage().1 <= bytes * 2 / 3);
    cache.forget(TileId::new(14, PARENT.0, PARENT.1).unwrap());
    assert_eq!(cache.usage().0, 1);
    cache.clear();
    assert_eq!(cache.usage(), (0, 0));
}
