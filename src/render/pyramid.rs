//! `render --pyramid`: the command's side of [`mlytiles_render::write_pyramid`] (its settings
//! record, progress bar, summary and messages).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use mlytiles_render::{
    PyramidOptions, PyramidProgress, PyramidSettings, RenderOptions, write_pyramid,
};
use mlytiles_tile::BBox;

use super::Args;
use super::source::Source;
use super::stats::print_stats;

/// The settings a pyramid folder records of this run.
pub(super) fn pyramid_settings(args: &Args, source: &Source) -> PyramidSettings {
    PyramidSettings {
        source: source.name.clone(),
        style: args.style.to_string(),
        filters: crate::filter_args::flags_given(&std::env::args().collect::<Vec<_>>(), &["bbox"])
            .join(" "),
        size: args.size,
        scale: args.scale,
        markers: args.markers,
        background: args
            .background
            .map(|[r, g, b, a]| format!("#{r:02x}{g:02x}{b:02x}{a:02x}")),
    }
}

pub(super) fn pyramid(
    args: &Args,
    source: &Source,
    bbox: BBox,
    z0: u8,
    z1: u8,
    options: &RenderOptions,
    start: Instant,
) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("tiles"));
    let (i, n) = args.shard.unwrap_or((0, 1));
    let pyramid = PyramidOptions {
        bbox,
        zooms: (z0, z1),
        out: out.clone(),
        shard: (i, n),
        force: args.force,
        render: options.clone(),
        settings: pyramid_settings(args, source),
        max_tiles: args.max_tiles,
        only_data: args.only_data,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tiles, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = write_pyramid(&source.sources, &pyramid, &|p: PyramidProgress| {
        bar.set_length(p.total);
        bar.inc(1);
    });
    bar.finish_and_clear();
    let report = result.map_err(pyramid_error)?;
    let (tiles, skipped, redone) = (report.tiles, report.skipped, report.redone);
    let part = if n > 1 {
        format!(", part {i}/{n}")
    } else {
        String::new()
    };
    if mlytiles_render::is_archive(&out) {
        out!(
            "Pyramid z{z0}-{z1}{part}: {tiles} tiles rendered, {} written and {} fully transparent \
             left out, into {} ({} bytes) in {:.2} s",
            tiles - report.transparent,
            report.transparent,
            out.display(),
            report.archive_bytes,
            start.elapsed().as_secs_f64()
        );
        return print_stats(&report.stats);
    }
    out!(
        "Pyramid z{z0}-{z1}{part}: {tiles} tiles ({} rendered{}, {skipped} already there) into {} in {:.2} s",
        tiles - skipped,
        if redone > 0 {
            format!(", {redone} of them incomplete files drawn again")
        } else {
            String::new()
        },
        out.display(),
        start.elapsed().as_secs_f64()
    );
    print_stats(&report.stats)?;
    Ok(())
}

/// The pyramid writer's errors in the command's words (its flags).
pub(super) fn pyramid_error(e: mlytiles_render::Error) -> anyhow::Error {
    use mlytiles_render::{Error, PYRAMID_SETTINGS, SettingsProblem};
    const REDO: &str = "render into another folder, or give --force to render every tile again";
    match e {
        Error::TileFailed { tile, source } => {
            anyhow::Error::new(*source).context(format!("tile {tile}"))
        }
        Error::PyramidSettings { folder, problem } => match problem {
            SettingsProblem::Differ(d) => anyhow!(
                "{} holds a pyramid made with other settings ({}): {REDO}",
                folder.display(),
                d.join("; ")
            ),
            SettingsProblem::Unrecorded => anyhow!(
                "{} holds PNG tiles but no {PYRAMID_SETTINGS} saying how they were made: {REDO}",
                folder.display()
            ),
            SettingsProblem::Unreadable(e) => anyhow!(
                "{}: not a settings record of mlytiles (remove it, or choose another --out): {e}",
                folder.join(PYRAMID_SETTINGS).display()
            ),
            other => anyhow!("{} {other}", folder.display()),
        },
        e => e.into(),
    }
}
