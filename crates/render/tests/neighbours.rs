//! Issue 15, item 5: a lone tile reads the stored tiles beside it only for the dots that reach
//! over its edges. A neighbour's points near the shared edge show, its far points and its
//! lines do not, and a neighbour that cannot be read leaves the tile drawn and named.

mod common;

use std::path::Path;

use mlytiles_mvt::{TileBuilder, Value, geo_types};
use mlytiles_render::{EdgePoints, RenderOptions, Sources, render_tile_with};
use mlytiles_tile::TileId;

/// Writes `bytes` as the z/x/y folder store's tile `t`.
fn put(root: &Path, t: TileId, bytes: &[u8]) {
    let dir = root.join(format!("{}/{}", t.z(), t.x()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{}.mvt", t.y())), bytes).unwrap();
}

/// A coverage tile (extent 4096) with images at `points` and one sequence along `line`.
fn coverage(points: &[(i32, i32)], line: &[(i32, i32)]) -> Vec<u8> {
    let mut b = TileBuilder::new();
    let props = [("is_pano", Value::Bool(false))];
    for &(x, y) in points {
        let g: geo_types::Geometry<i32> = geo_types::Point::new(x, y).into();
        b.layer("image").add_feature(None, &g, props).unwrap();
    }
    if !line.is_empty() {
        let g: geo_types::Geometry<i32> = geo_types::LineString::from(line.to_vec()).into();
        b.layer("sequence").add_feature(None, &g, props).unwrap();
    }
    b.to_bytes()
}

/// The alpha of each pixel, row by row.
fn alpha(r: &mlytiles_render::Rendered) -> Vec<u8> {
    r.pixmap.pixels().iter().map(|p| p.alpha()).collect()
}

#[test]
fn a_neighbours_dots_reach_over_the_edge_and_nothing_else_of_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tile = TileId::new(14, 8000, 5000).unwrap();
    let below = TileId::new(14, 8000, 5001).unwrap();
    let right = TileId::new(14, 8001, 5000).unwrap();
    // The tile: one image in its middle.
    put(root, tile, &coverage(&[(2048, 2048)], &[]));
    // Below: an image half a pixel (4 units at 512 px) past the shared edge under x = 1024,
    // one far from it, and a sequence running 2 units below the edge (lines stop at their
    // own tile's edge, so it must not show).
    put(
        root,
        below,
        &coverage(&[(1024, 4), (3000, 3000)], &[(100, 2), (3900, 2)]),
    );
    // Right: bytes that are not a vector tile.
    put(root, right, &[0x1a, 0x7f, 0x0a, 0x03, b'a', b'b']);
    let sources = Sources::from_store_path(root).unwrap();
    let options = RenderOptions::default();
    let with = render_tile_with(&sources, tile, &options, EdgePoints::FromNeighbours)
        .expect("a damaged neighbour does not fail the tile");
    let cut = render_tile_with(&sources, tile, &options, EdgePoints::Cut).unwrap();
    assert_eq!(
        with.stats.unreadable.iter().collect::<Vec<_>>(),
        vec![right],
        "the damaged neighbour is named"
    );
    assert_eq!(with.stats.points, 1, "neighbours' points are not counted");
    let (a, c) = (alpha(&with), alpha(&cut));
    let side = 512;
    let differs: Vec<(usize, usize)> = (0..side * side)
        .filter(|&i| a[i] != c[i])
        .map(|i| (i % side, i / side))
        .collect();
    assert!(!differs.is_empty(), "the dot across the edge does not show");
    // Only the bottom rows around x = 128 (1024 of 4096) change: the near dot, not the far
    // one, not the sequence.
    for &(x, y) in &differs {
        assert!(
            y >= side - 2 && x.abs_diff(128) <= 2,
            "pixel {x},{y} changed by the neighbour"
        );
    }
    // The tile's own dot is there either way.
    assert_eq!(a[256 * side + 256], 255);
}

/// A dense tile's layers are drawn in parts on the pool's threads, each on a canvas of its
/// own merged after: the pixels and counts are those of one thread drawing everything (for
/// the styles combining coverage by `max`; the density style sums floats, equal up to the
/// order of rounding).
#[test]
fn drawing_in_parts_on_two_threads_gives_the_pixels_of_one() {
    use mlytiles_render::{Style, render_bytes};
    let bytes =
        std::fs::read(common::repo().join("fixtures/mapillary/josm_mly1_public_14_3251_6257.mvt"))
            .unwrap();
    let tile = TileId::new(14, 3251, 6257).unwrap();
    let pool = |n: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let (one, two) = (pool(1), pool(2));
    for style in [Style::Mapillary, Style::Age, Style::Pano] {
        let options = RenderOptions {
            style,
            now: Some(chrono::DateTime::from_timestamp(1_760_000_000, 0).unwrap()),
            ..Default::default()
        };
        let a = one
            .install(|| render_bytes(&bytes, tile, &options))
            .unwrap();
        let b = two
            .install(|| render_bytes(&bytes, tile, &options))
            .unwrap();
        assert_eq!(a.stats, b.stats, "{style}");
        assert!(a.stats.lines > 300 && a.stats.points > 31_000, "{style}");
        assert!(a.pixmap.data() == b.pixmap.data(), "{style}: pixels differ");
    }
}
