//! Golden images: every style at z5, z10, z14 and z16 from the bundled sample pyramid, map
//! features as markers, and a mosaic. `BLESS=1 cargo test -p mlytiles-render --test golden`
//! rewrites them after an intended change.

mod common;

use mlytiles_render::{
    MosaicOptions, PngOptions, RenderOptions, Style, encode_png, render_mosaic, render_tile,
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

#[test]
fn every_style_at_four_zooms() {
    let sources = common::sample();
    for style in STYLES {
        for tile in TILES {
            let id: TileId = tile.parse().expect("tile id");
            let options = RenderOptions {
                size: 256,
                style: style.parse().expect("style"),
                now: Some(now()),
                ..RenderOptions::default()
            };
            let r = render_tile(&sources, id, &options).expect("render");
            assert!(
                r.stats.features_drawn() > 0,
                "{style} {tile}: nothing drawn"
            );
            let png = encode_png(&r.pixmap, &PngOptions::default()).expect("encode");
            let name = format!("{}_z{}", style.split(':').next().unwrap_or(style), id.z());
            common::check_golden(&name, &png);
        }
    }
}

/// The `pano` goldens at z14 and z16 equal `mapillary`'s: their tiles hold no panoramas. This
/// z14 tile has some, so the pano colours are pinned too.
#[test]
fn pano_where_there_are_panoramas() {
    let sources = common::sample();
    let options = RenderOptions {
        size: 256,
        style: Style::Pano,
        now: Some(now()),
        ..RenderOptions::default()
    };
    let r = render_tile(&sources, "14/3251/6258".parse().expect("tile"), &options).expect("render");
    assert!(r.stats.points > 0, "nothing drawn");
    let png = encode_png(&r.pixmap, &PngOptions::default()).expect("encode");
    common::check_golden("pano_panoramas_z14", &png);
}

#[test]
fn markers_at_z14() {
    let sources = common::sample();
    let options = RenderOptions {
        size: 256,
        markers: true,
        background: Some([255, 255, 255, 255]),
        now: Some(now()),
        ..RenderOptions::default()
    };
    let r = render_tile(&sources, "14/3251/6257".parse().expect("tile"), &options).expect("render");
    assert!(r.stats.markers > 0, "no markers drawn");
    let png = encode_png(&r.pixmap, &PngOptions::default()).expect("encode");
    common::check_golden("markers_z14", &png);
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
