//! `render --tile`: one tile.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mlytiles_render::{PngOptions, RenderOptions, draw_legend, encode_png, render_tile};
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
    if mlytiles_render::MosaicFormat::for_path(&out) != mlytiles_render::MosaicFormat::Png {
        bail!(
            "{}: --tile writes a PNG; for a GeoTIFF of the tile's area give its box instead: {}",
            out.display(),
            inner_box(tile)
        );
    }
    let mut rendered = render_tile(&source.sources, tile, options)?;
    if args.legend {
        draw_legend(&mut rendered.pixmap, options.style, options.markers)?;
    }
    let png = encode_png(&rendered.pixmap, &PngOptions::default())?;
    mlytiles_store::write_atomic(&out, &png)
        .with_context(|| format!("writing {}", out.display()))?;
    out!(
        "Rendered tile {tile} (style {}) from {} in {:.1} ms:",
        options.style,
        source.name,
        start.elapsed().as_secs_f64() * 1000.0
    );
    print_stats(&rendered.stats)?;
    out!(
        "Wrote {} ({} x {} px, {}).",
        out.display(),
        rendered.pixmap.width(),
        rendered.pixmap.height(),
        human_bytes(png.len() as u64)
    );
    Ok(())
}
