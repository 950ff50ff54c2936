//! Behaviour of single tiles and mosaics on the bundled sample pyramid.

mod common;

use std::path::{Path, PathBuf};

use mlytiles_filter::{Filter, ImageType};
use mlytiles_render::{
    EdgePoints, Error, MosaicOptions, MosaicReport, PngOptions, RenderOptions, Sources, Style,
    encode_png, render_bytes, render_mosaic, render_tile, render_tile_png,
};
use mlytiles_tile::{BBox, TileId};

fn tile(s: &str) -> TileId {
    s.parse().expect("tile id")
}

#[test]
fn sources_and_options_can_be_shared_across_threads() {
    fn check<T: Send + Sync>() {}
    check::<Sources>();
    check::<RenderOptions>();
}

/// Straight RGB pixels (alpha > 0) of a pixmap, demultiplied.
fn colours(p: &mlytiles_render::tiny_skia::Pixmap) -> Vec<[u8; 4]> {
    p.pixels()
        .iter()
        .filter(|c| c.alpha() > 0)
        .map(|c| {
            let d = c.demultiply();
            [d.red(), d.green(), d.blue(), d.alpha()]
        })
        .collect()
}

fn near(a: [u8; 4], rgb: [u8; 3]) -> bool {
    (0..3).all(|i| a[i].abs_diff(rgb[i]) <= 6)
}

/// `render_tile_png` (palette indices from the coverage, no RGBA image) writes the PNG that
/// encoding `render_tile`'s image writes, byte for byte, for every style (density takes the
/// RGBA way), a background, and with the palette off; with the same counts, and transparent
/// exactly where the image is (a tile the store lacks included).
#[test]
fn a_png_straight_from_the_coverage_is_the_png_of_the_image() {
    let sources = common::sample();
    let styles = [
        "mapillary",
        "age",
        "pano",
        "density",
        "organization:114839757315870",
    ];
    for style in styles {
        for (background, palette) in [(None, true), (Some([20, 30, 40, 255]), true), (None, false)]
        {
            // The last one the sample does not hold: drawn transparent (or the background).
            for t in [
                "14/3251/6257",
                "10/203/391",
                "16/13007/25031",
                "14/3000/6000",
            ] {
                let options = RenderOptions {
                    style: style.parse().expect("style"),
                    background,
                    ..RenderOptions::default()
                };
                let png = PngOptions {
                    palette,
                    ..PngOptions::default()
                };
                let r = render_tile(&sources, tile(t), &options).expect("render");
                let want = encode_png(&r.pixmap, &png).expect("encode");
                let got = render_tile_png(
                    &sources,
                    tile(t),
                    &options,
                    EdgePoints::FromNeighbours,
                    None,
                    &png,
                )
                .expect("render to PNG");
                let case = format!("{style} {t} {background:?} palette {palette}");
                assert!(got.png == want, "{case}: the PNGs differ");
                assert_eq!(got.side, r.pixmap.width(), "{case}");
                assert_eq!(got.stats, r.stats, "{case}");
                let clear = r.pixmap.pixels().iter().all(|p| p.alpha() == 0);
                assert_eq!(got.transparent, clear, "{case}");
                if t == "14/3000/6000" {
                    assert_eq!(got.transparent, background.is_none(), "{case}");
                }
            }
        }
    }
}

#[test]
fn pano_only_draws_no_flat_image_dots() {
    let sources = common::sample();
    let id = tile("14/3251/6258");
    let flat = [0x05, 0xcb, 0x63];
    let pano = [0xff, 0x3e, 0xb5];
    let all = render_tile(
        &sources,
        id,
        &RenderOptions {
            style: Style::Pano,
            ..Default::default()
        },
    )
    .expect("render");
    let c = colours(&all.pixmap);
    assert!(c.iter().any(|&p| near(p, flat)), "the tile has flat images");
    let only = RenderOptions {
        style: Style::Pano,
        filter: Some(Filter {
            image_type: ImageType::Pano,
            ..Filter::default()
        }),
        ..Default::default()
    };
    let r = render_tile(&sources, id, &only).expect("render");
    let c = colours(&r.pixmap);
    assert!(r.stats.features_filtered > 0);
    assert!(
        !c.iter().any(|&p| near(p, flat) && p[3] > 128),
        "flat-image green drawn"
    );
    assert!(r.stats.points > 0, "the tile has panoramas");
    assert!(c.iter().any(|&p| near(p, pano)), "panoramas drawn in pink");
    assert!(r.stats.points < all.stats.points);
}

#[test]
fn a_missing_tile_is_transparent_and_counted() {
    let sources = common::sample();
    let r = render_tile(&sources, tile("14/100/100"), &RenderOptions::default()).expect("render");
    assert_eq!(r.stats.tiles_missing, 1);
    assert_eq!(r.stats.features_drawn(), 0);
    assert!(r.pixmap.pixels().iter().all(|p| p.alpha() == 0));
    let bg = RenderOptions {
        background: Some([10, 20, 30, 255]),
        ..Default::default()
    };
    let r = render_tile(&sources, tile("14/100/100"), &bg).expect("render");
    assert!(
        r.pixmap
            .pixels()
            .iter()
            .all(|p| (p.red(), p.green(), p.blue(), p.alpha()) == (10, 20, 30, 255))
    );
}

#[test]
fn overzoom_reads_the_z14_parent_and_scale_doubles_the_pixels() {
    let sources = common::sample();
    let r =
        render_tile(&sources, tile("17/26014/50062"), &RenderOptions::default()).expect("render");
    assert_eq!(r.stats.tiles_read, 1);
    let r2 = render_tile(
        &sources,
        tile("16/13007/25031"),
        &RenderOptions {
            scale: 2,
            ..Default::default()
        },
    )
    .expect("render");
    assert_eq!((r2.pixmap.width(), r2.pixmap.height()), (1024, 1024));
    assert!(r2.stats.features_drawn() > 0);
    assert!(matches!(
        render_tile(&sources, tile("23/0/0"), &RenderOptions::default()),
        Err(Error::InvalidOption(_))
    ));
    assert!(matches!(
        render_tile(
            &sources,
            tile("3/0/0"),
            &RenderOptions {
                size: 300,
                ..Default::default()
            }
        ),
        Err(Error::InvalidOption(_))
    ));
}

/// An overzoomed tile counts only the parent's lines that reach into it: each child counts at
/// most the parent's lines, together at least as many, and some child fewer.
#[test]
fn overzoomed_tiles_count_only_the_lines_they_draw() {
    let sources = common::sample();
    let options = RenderOptions {
        size: 256,
        ..Default::default()
    };
    let parent = tile("14/3251/6257");
    let whole = render_tile(&sources, parent, &options).expect("render");
    assert!(whole.stats.lines > 1, "{:?}", whole.stats);
    let children: Vec<u64> = parent
        .children()
        .expect("children")
        .iter()
        .map(|&c| {
            render_tile(&sources, c, &options)
                .expect("render")
                .stats
                .lines
        })
        .collect();
    assert!(
        children.iter().all(|&n| n <= whole.stats.lines),
        "{children:?}"
    );
    assert!(
        children.iter().sum::<u64>() >= whole.stats.lines,
        "{children:?}"
    );
    assert!(
        children.iter().any(|&n| n < whole.stats.lines),
        "{children:?}"
    );
}

#[test]
fn bad_bytes_are_an_error_naming_the_tile() {
    let err = render_bytes(
        &[0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        tile("14/1/2"),
        &RenderOptions::default(),
    )
    .expect_err("garbage");
    assert!(err.to_string().contains("14/1/2"), "{err}");
}

/// The mosaic of four z15 tiles equals the four tiles rendered alone and stitched, up to
/// anti-aliasing noise: lines are clipped per tile, dots cross the edges in both.
#[test]
fn a_mosaic_is_seamless() {
    let sources = common::sample();
    let parent = tile("14/3251/6257");
    let bounds = parent.bounds();
    let e = 1e-9;
    let bbox = BBox::new(
        bounds.west() + e,
        bounds.south() + e,
        bounds.east() - e,
        bounds.north() - e,
    )
    .expect("bbox");
    for style in [Style::Mapillary, Style::Density] {
        let render = RenderOptions {
            size: 256,
            style,
            ..Default::default()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("m.png");
        let report = render_mosaic(
            &sources,
            &MosaicOptions {
                bbox,
                zoom: 15,
                render: render.clone(),
                ..Default::default()
            },
            &out,
        )
        .expect("mosaic");
        assert_eq!((report.width, report.height, report.tiles), (512, 512, 4));
        let (_, _, mosaic) = common::decode(&std::fs::read(&out).expect("read"));
        let mut stitched = vec![0u8; 512 * 512 * 4];
        for child in parent.children().expect("children") {
            let r = render_tile(&sources, child, &render).expect("tile");
            let png = encode_png(&r.pixmap, &PngOptions::default()).expect("png");
            let (_, _, px) = common::decode(&png);
            let (ox, oy) = (
                (child.x() - 2 * parent.x()) as usize * 256,
                (child.y() - 2 * parent.y()) as usize * 256,
            );
            for y in 0..256 {
                let dst = ((oy + y) * 512 + ox) * 4;
                stitched[dst..dst + 256 * 4].copy_from_slice(&px[y * 256 * 4..(y + 1) * 256 * 4]);
            }
        }
        let drawn = mosaic.chunks_exact(4).filter(|p| p[3] > 0).count();
        assert!(drawn > 1000, "{style}: the mosaic has {drawn} drawn pixels");
        let (n, max) = common::differing(&mosaic, &stitched, 3);
        assert!(
            n <= 20,
            "{style}: {n} pixels differ by more than 3 (largest {max})"
        );
    }
}

/// A mosaic of `bbox` at `zoom` from the sample pyramid with default options.
fn sample_mosaic(bbox: BBox, zoom: u8, out: &Path) -> mlytiles_render::Result<MosaicReport> {
    let options = MosaicOptions {
        bbox,
        zoom,
        ..Default::default()
    };
    render_mosaic(&common::sample(), &options, out)
}

#[test]
fn a_mosaic_carries_its_georeference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("area.png");
    let bbox = BBox::new(-108.57, 39.04, -108.52, 39.08).expect("bbox");
    let report = sample_mosaic(bbox, 14, &out).expect("mosaic");
    let world_file = report.world_file.expect("a PNG's world file");
    assert_eq!(world_file, dir.path().join("area.pgw"));
    let pgw = std::fs::read_to_string(&world_file).expect("world file");
    let v: Vec<f64> = pgw.lines().map(|l| l.parse().expect("number")).collect();
    assert_eq!(v.len(), 6);
    // 512 px z14 tiles: 2 * pi * 6378137 / (2^14 * 512) metres a pixel.
    let res = 40_075_016.685_578_49 / (16384.0 * 512.0);
    assert!(
        (v[0] - res).abs() < 1e-6 && (v[3] + res).abs() < 1e-6,
        "{v:?}"
    );
    // The top-left pixel centre is within a pixel of the box's north-west corner.
    let x = 6_378_137.0 * (-108.57f64).to_radians();
    assert!((v[4] - x).abs() < res, "{} vs {x}", v[4]);
    let lat = 39.08f64.to_radians();
    let y = 6_378_137.0 * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln();
    assert!((v[5] - y).abs() < res, "{} vs {y}", v[5]);
    assert_eq!((v[1], v[2]), (0.0, 0.0), "no rotation");
    let bytes = std::fs::read(&out).expect("png");
    let dec = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .expect("png");
    let text: Vec<(String, String)> = dec
        .info()
        .uncompressed_latin1_text
        .iter()
        .map(|t| (t.keyword.clone(), t.text.clone()))
        .collect();
    assert!(
        text.iter().any(|(_, t)| t == "Mapillary, CC BY-SA"),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|(k, t)| k == mlytiles_render::BBOX_KEYWORD && t == "-108.57,39.04,-108.52,39.08"),
        "{text:?}"
    );
}

#[test]
fn a_too_large_mosaic_fails_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("big.png");
    let bbox = BBox::new(-120.0, 30.0, -100.0, 45.0).expect("bbox");
    let err = sample_mosaic(bbox, 16, &out).expect_err("too large");
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains(" x "), "{err}");
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "a file was written"
    );
}

/// Coordinates far outside the tile, scaled up by a tiny extent (a layer's extent is the
/// tile's to choose), reach the rasterizer's float-to-pixel conversions at their limits: the
/// render ends without an error or a panic (this runs in debug builds too, where an integer
/// overflow panics).
#[test]
fn coordinates_at_the_limits_never_panic() {
    use mlytiles_mvt::{TileBuilder, Value, geo_types};
    // As far as a feature's first point can go and its deltas still fit in 32 bits.
    let far = [-(1 << 30), -(1 << 29), -1, 0, 1, 1 << 29, (1 << 30) - 1];
    for extent in [1, 2, 4096] {
        let mut b = TileBuilder::new();
        b.layer("image").set_extent(extent);
        b.layer("sequence").set_extent(extent);
        for &x in &far {
            for &y in &far {
                let p: geo_types::Geometry<i32> = geo_types::Point::new(x, y).into();
                b.layer("image")
                    .add_feature(None, &p, [("is_pano", Value::Bool(false))])
                    .expect("point");
                let line: geo_types::Geometry<i32> =
                    geo_types::LineString::from(vec![(x / 2, y / 2), (7, 5), (x / 3, y / -3)])
                        .into();
                b.layer("sequence")
                    .add_feature(None, &line, [("is_pano", Value::Bool(false))])
                    .expect("line");
            }
        }
        let bytes = b.to_bytes();
        for style in [Style::Mapillary, Style::Density, Style::Age] {
            for id in ["14/3251/6257", "16/13007/25031"] {
                let options = RenderOptions {
                    style,
                    ..Default::default()
                };
                let r = render_bytes(&bytes, tile(id), &options);
                assert!(r.is_ok(), "extent {extent}, {style}, {id}: {:?}", r.err());
            }
        }
    }
}

/// Every tile of the mvt-fixtures suite (valid and invalid) and every real Mapillary tile renders
/// or fails with an error, never a panic, at a zoom that draws lines and one that draws points.
#[test]
fn untrusted_tiles_never_panic() {
    let root = common::repo().join("fixtures");
    let read_dir =
        |dir: PathBuf| std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths = Vec::new();
    for entry in read_dir(root.join("mvt-fixtures/fixtures")) {
        paths.push(entry.expect("entry").path().join("tile.mvt"));
    }
    for entry in read_dir(root.join("mapillary")) {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "mvt") {
            paths.push(p);
        }
    }
    paths.sort();
    let mut rendered = 0;
    for path in &paths {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for id in ["10/203/391", "14/3251/6257", "18/52020/100120"] {
            let options = RenderOptions {
                size: 256,
                style: Style::Age,
                ..Default::default()
            };
            if render_bytes(&bytes, tile(id), &options).is_ok() {
                rendered += 1;
            }
        }
    }
    assert!(paths.len() > 70, "{} tiles", paths.len());
    assert!(rendered > 100, "{rendered} renders succeeded");
}

/// A z14 tile whose neighbour has images near the shared edge: rendered alone, the dots on that
/// edge are cut; read with its neighbours, they are whole (more drawn pixels along the edge).
#[test]
fn edge_dots_come_from_the_neighbours() {
    use mlytiles_render::{EdgePoints, render_tile_with};
    let sources = common::sample();
    let options = RenderOptions {
        size: 256,
        ..Default::default()
    };
    let mut gained = 0;
    for t in [
        "14/3251/6257",
        "14/3252/6257",
        "14/3251/6258",
        "14/3252/6258",
    ] {
        let with = render_tile_with(&sources, tile(t), &options, EdgePoints::FromNeighbours)
            .expect("render");
        let cut = render_tile_with(&sources, tile(t), &options, EdgePoints::Cut).expect("render");
        assert_eq!(with.stats, cut.stats, "neighbours' points are not counted");
        let drawn = |p: &mlytiles_render::tiny_skia::Pixmap| {
            p.pixels().iter().map(|c| u64::from(c.alpha())).sum::<u64>()
        };
        let (a, b) = (drawn(&with.pixmap), drawn(&cut.pixmap));
        assert!(a >= b, "{t}: reading neighbours removed coverage");
        gained += a - b;
    }
    assert!(gained > 0, "no dot crossed an edge in the sample area");
}
