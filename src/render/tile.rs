//! `render --tile`: one tile.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mlytiles_render::{
    MosaicFormat, PngOptions, RenderOptions, draw_legend, encode_png, render_tile, tile_georef,
    write_geotiff_image,
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
    let mut rendered = render_tile(&source.sources, tile, options)?;
    if args.legend {
        draw_legend(&mut rendered.pixmap, options.style, options.markers)?;
    }
    let pixmap = &rendered.pixmap;
    let tiff = MosaicFormat::for_path(&out) == MosaicFormat::GeoTiff;
    let georef = tile_georef(tile, pixmap.width());
    let bytes = if tiff {
        let what = format!("Mapillary coverage, tile {tile}, style {}", options.style);
        write_geotiff_image(pixmap, georef, &what, &out)?
    } else {
        let png = encode_png(pixmap, &PngOptions::default())?;
        mlytiles_store::write_atomic(&out, &png)
            .with_context(|| format!("writing {}", out.display()))?;
        png.len() as u64
    };
    out!(
        "Rendered tile {tile} (style {}) from {} in {:.1} ms:",
        options.style,
        source.name,
        start.elapsed().as_secs_f64() * 1000.0
    );
    print_stats(&rendered.stats)?;
    out!(
        "Wrote {} ({} x {} px, {}{}).",
        out.display(),
        pixmap.width(),
        pixmap.height(),
        human_bytes(bytes),
        if tiff {
            ", GeoTIFF, RGBA, EPSG:3857"
        } else {
            ""
        }
    );
    if tiff {
        let (w, n) = (georef.left, georef.top);
        let (e, s) = (
            w + f64::from(pixmap.width()) * georef.pixel,
            n - f64::from(pixmap.height()) * georef.pixel,
        );
        out!("Web Mercator bounds (EPSG:3857, metres): {w:.3},{s:.3},{e:.3},{n:.3}");
    }
    Ok(())
}
