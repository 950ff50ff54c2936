//! Golden images: every style at z5, z10, z14 and z16 from the bundled sample pyramid, map
//! features as markers, and a mosaic. `BLESS=1 cargo test -p mlytiles-render --test golden`
//! rewrites them after an intended change.

mod common;

use mlytiles_render::{
    MosaicOptions, PngOptions, RenderOptions, RenderStats, Sources, Style, encode_png,
    render_mosaic, render_tile,
};
use mlytiles_store::chrono::{TimeZone, Utc};
use mlytiles_tile::{BBox, TileId};

/// A fixed "now" so the age style does not drift with the calendar.
fn now() -> mlytiles_store::chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0)
        .single()
        .expect("date")
}

const TILES: [&str; 4] = ["5/6/12", "10/203/391", "14/3251/6257", "16/13007/25031"];

const STYLES: [&str; 7] = [
    "mapillary",
    "classic",
    "age",
    "pano",
    "density",
    "organization:114839757315870",
    "creator:676899510254324",
];

/// Renders `tile` of `sources` at 256 px with the fixed "now" and `options`, compares the PNG
/// with the golden `name`, and returns what was drawn.
fn golden_tile(sources: &Sources, name: &str, tile: &str, options: RenderOptions) -> RenderStats {
    let options = RenderOptions {
        size: 256,
        now: Some(now()),
        ..options
    };
    let id: TileId = tile.parse().expect("tile id");
    let r = render_tile(sources, id, &options).expect("render");
    let png = encode_png(&r.pixmap, &PngOptions::default()).expect("encode");
    common::check_golden(name, &png);
    r.stats
}

#[test]
fn every_style_at_four_zooms() {
    let sources = common::sample();
    for style in STYLES {
        for tile in TILES {
            let z = tile.split('/').next().unwrap_or(tile);
            let name = format!("{}_z{z}", style.split(':').next().unwrap_or(style));
            let options = RenderOptions {
                style: style.parse().expect("style"),
                ..RenderOptions::default()
            };
            let stats = golden_tile(&sources, &name, tile, options);
            assert!(stats.features_drawn() > 0, "{style} {tile}: nothing drawn");
        }
    }
}

/// A second z14 tile for the `pano` style, with panoramas along other streets than
/// 14/3251/6257's, so the pano colours are pinned on more than one tile.
#[test]
fn pano_where_there_are_panoramas() {
    let options = RenderOptions {
        style: Style::Pano,
        ..RenderOptions::default()
    };
    let stats = golden_tile(
        &common::sample(),
        "pano_panoramas_z14",
        "14/3251/6258",
        options,
    );
    assert!(stats.points > 0, "nothing drawn");
}

#[test]
fn markers_at_z14() {
    let options = RenderOptions {
        markers: true,
        background: Some([255, 255, 255, 255]),
        ..RenderOptions::default()
    };
    let stats = golden_tile(&common::sample(), "markers_z14", "14/3251/6257", options);
    assert!(stats.markers > 0, "no markers drawn");
}

#[test]
fn mosaic_of_the_sample_area() {
    let sources = common::sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mosaic.png");
    let options = MosaicOptions {
        bbox: BBox::new(-108.58, 39.03, -108.51, 39.09).expect("bbox"),
        zoom: 13,
        render: RenderOptions {
            size: 256,
            style: Style::Age,
            now: Some(now()),
            ..RenderOptions::default()
        },
        legend: true,
        ..MosaicOptions::default()
    };
    let report = render_mosaic(&sources, &options, &out).expect("mosaic");
    assert!(report.stats.features_drawn() > 0);
    common::check_golden("mosaic_age_z13", &std::fs::read(&out).expect("read"));
}
