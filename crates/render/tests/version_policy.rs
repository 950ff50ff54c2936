//! Issue 13, item 12: tiles whose layers declare version 3 (as major basemap providers serve
//! today) render as their version 2 twins do; the strict reader refuses them.

use chrono::Utc;
use mlytiles_mvt::{ErrorKind, Tile, TileBuilder, VersionPolicy, geo_types};
use mlytiles_render::{RenderOptions, Sources, render_bytes, render_tile};
use mlytiles_store::{MbTiles, TileRecord, TileStore};
use mlytiles_tile::TileId;

/// A coverage tile: two sequence lines and a few image points, every layer of `version`.
fn coverage(version: u32) -> Vec<u8> {
    let mut b = TileBuilder::new();
    for line in [
        vec![(100, 100), (2000, 1500), (4000, 3900)],
        vec![(300, 3800), (3800, 300)],
    ] {
        let g: geo_types::Geometry<i32> = geo_types::LineString::from(line).into();
        b.layer("sequence")
            .set_version(version)
            .add_feature(None, &g, [])
            .unwrap();
    }
    for (x, y) in [(500, 500), (2048, 2048), (3500, 1000)] {
        let g: geo_types::Geometry<i32> = geo_types::Point::new(x, y).into();
        b.layer("image")
            .set_version(version)
            .add_feature(None, &g, [])
            .unwrap();
    }
    b.to_bytes()
}

#[test]
fn version_3_layers_render_like_version_2_and_strict_refuses_them() {
    let tile = TileId::new(14, 8000, 5000).unwrap();
    let v3 = coverage(3);
    let v2 = coverage(2);
    let options = RenderOptions::default();
    let a = render_bytes(&v3, tile, &options).expect("a version 3 tile renders");
    let b = render_bytes(&v2, tile, &options).expect("render");
    assert_eq!((a.stats.lines, a.stats.points), (2, 3));
    assert_eq!(a.stats, b.stats);
    assert_eq!(
        a.pixmap.data(),
        b.pixmap.data(),
        "drawn by the version 2 rules"
    );

    // Through a store, as `render` and `serve` read it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mly1_public.mbtiles");
    MbTiles::open(&path)
        .unwrap()
        .put(tile, &TileRecord::data(v3.clone(), Utc::now()))
        .unwrap();
    let sources = Sources::from_store_path(&path).unwrap();
    let c = render_tile(&sources, tile, &options).expect("render from the store");
    assert_eq!(c.stats.tiles_unreadable, 0);
    assert_eq!(c.stats.lines, 2);
    assert_eq!(c.pixmap.data(), a.pixmap.data());

    // The strict reader refuses the layers with the spec's message.
    let strict = Tile::with_policy(&v3, VersionPolicy::Strict).unwrap();
    let err = strict.layer("sequence").expect_err("strict");
    assert_eq!(err.kind(), &ErrorKind::UnsupportedVersion(3));
    assert!(
        err.to_string()
            .contains("layer version 3 is not supported: only versions 1 and 2 exist (spec 4.1)"),
        "{err}"
    );
}
