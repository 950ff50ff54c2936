//! `render` of an area into one image: a PNG with its world file and coordinate system
//! beside it, or a GeoTIFF.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use mlytiles_render::{MosaicFormat, MosaicOptions, RenderOptions, render_mosaic};
use mlytiles_tile::BBox;

use crate::units::human_bytes;

use super::Args;
use super::source::Source;
use super::stats::print_stats;

pub(super) fn mosaic(
    args: &Args,
    source: &Source,
    bbox: BBox,
    zoom: u8,
    options: RenderOptions,
    start: Instant,
) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("coverage.png"));
    let mosaic = MosaicOptions {
        bbox,
        zoom,
        render: options,
        legend: args.legend,
        format: MosaicFormat::for_path(&out),
        ..MosaicOptions::default()
    };
    let report = render_mosaic(&source.sources, &mosaic, &out)?;
    let secs = start.elapsed().as_secs_f64();
    out!(
        "Rendered {} tiles at z{zoom} (style {}) from {}, {} threads, in {secs:.2} s:",
        report.tiles,
        args.style,
        source.name,
        rayon::current_num_threads()
    );
    print_stats(&report.stats)?;
    let beside: Vec<String> = report
        .world_file
        .iter()
        .chain(&report.crs_files)
        .map(|p| p.display().to_string())
        .collect();
    out!(
        "Wrote {} ({} x {} px, {}, {}){}.",
        report.path.display(),
        report.width,
        report.height,
        human_bytes(report.bytes),
        match (report.indexed, report.world_file.is_some()) {
            (true, _) => "indexed colour",
            (false, true) => "RGBA",
            (false, false) => "GeoTIFF, RGBA, EPSG:3857",
        },
        if beside.is_empty() {
            String::new()
        } else {
            format!(
                " with {} (world file and coordinate system, EPSG:3857)",
                beside.join(", ")
            )
        }
    );
    let [w, s, e, n] = report.mercator_bounds();
    out!("Web Mercator bounds (EPSG:3857, metres): {w:.3},{s:.3},{e:.3},{n:.3}");
    out!(
        "Area {},{},{},{}; attribution: Mapillary, CC BY-SA.",
        bbox.west(),
        bbox.south(),
        bbox.east(),
        bbox.north()
    );
    Ok(())
}
