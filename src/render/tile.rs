//! `render --tile`: one tile.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mlytiles_render::{
    EdgePoints, MosaicFormat, PngOptions, RenderOptions, draw_legend, encode_png, render_tile,
    render_tile_png, tile_georef, write_geotiff_image,
};
use mlytiles_tile::TileId;

use crate::units::human_bytes;

use super::Args;
use super::source::{Source, inner_box};
use super::stats::print_stats;

pub(super) fn one_tile(
    args: &Args,
    source: &Source,
    tile: TileId,
    options: &RenderOptions,
    start: Instant,
    pool: &mut Option<super::WarmPool>,
) -> Result<()> {
    let data = mlytiles_render::data_tile(tile);
    let held = source
        .sources
        .coverage
        .has(data)
        .with_context(|| source.name.clone())?;
    if !held {
        bail!(
            "nothing to draw: {} does not hold tile {data}{}; {}",
            source.name,
            if data == tile {
                String::new()
            } else {
                format!(" (which {tile} is drawn from)")
            },
            source.fill_hint.replace("--bbox W,S,E,N", &inner_box(data))
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("coverage.png"));
    let opened = start.elapsed();
    let tiff = MosaicFormat::for_path(&out) == MosaicFormat::GeoTiff;
    let (side, stats, timings, bytes, written) = if tiff || args.legend {
        let mut rendered = render_tile(&source.sources, tile, options)?;
        if args.legend {
            draw_legend(&mut rendered.pixmap, options.style, options.markers)?;
        }
        let pixmap = &rendered.pixmap;
        let encode_start = Instant::now();
        let (bytes, written) = if tiff {
            let georef = tile_georef(tile, pixmap.width());
            let what = format!("Mapillary coverage, tile {tile}, style {}", options.style);
            let n = write_geotiff_image(pixmap, georef, &what, &out)?;
            rendered.timings.encode = encode_start.elapsed();
            (n, Duration::ZERO)
        } else {
            let png = encode_png(pixmap, &PngOptions::default())?;
            rendered.timings.encode = encode_start.elapsed();
            let write_start = Instant::now();
            write_png(&out, &png)?;
            (png.len() as u64, write_start.elapsed())
        };
        (
            pixmap.width(),
            rendered.stats,
            rendered.timings,
            bytes,
            written,
        )
    } else {
        // No RGBA image in between: the palette indices come from the coverage.
        let r = render_tile_png(
            &source.sources,
            tile,
            options,
            EdgePoints::FromNeighbours,
            None,
            &PngOptions::default(),
        )?;
        // Only writing is left: the pool's other thread can end meanwhile.
        if let Some(pool) = pool.take() {
            pool.let_go();
        }
        let write_start = Instant::now();
        write_png(&out, &r.png)?;
        (
            r.side,
            r.stats,
            r.timings,
            r.png.len() as u64,
            write_start.elapsed(),
        )
    };
    let t = &timings;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    out!(
        "Rendered tile {tile} (style {}) from {} in {:.1} ms (start and open {:.1}, read {:.1}, \
         decode and draw {:.1}, composite {:.1}, {} {:.1}, write {:.1}):",
        options.style,
        source.name,
        ms(start.elapsed()),
        ms(opened),
        ms(t.read),
        ms(t.draw),
        ms(t.composite),
        if tiff { "encode and write" } else { "encode" },
        ms(t.encode),
        ms(written)
    );
    print_stats(&stats)?;
    out!(
        "Wrote {} ({side} x {side} px, {}{}).",
        out.display(),
        human_bytes(bytes),
        if tiff {
            ", GeoTIFF, RGBA, EPSG:3857"
        } else {
            ""
        }
    );
    if tiff {
        let georef = tile_georef(tile, side);
        let (w, n) = (georef.left, georef.top);
        let (e, s) = (
            w + f64::from(side) * georef.pixel,
            n - f64::from(side) * georef.pixel,
        );
        out!("Web Mercator bounds (EPSG:3857, metres): {w:.3},{s:.3},{e:.3},{n:.3}");
    }
    Ok(())
}

/// Writes a single image in place of `out` (by rename, unsynced: one image is quick to make
/// again).
fn write_png(out: &std::path::Path, png: &[u8]) -> Result<()> {
    mlytiles_store::write_replacing(out, png).with_context(|| format!("writing {}", out.display()))
}
