//! The text form of the report.

use std::io::{self, Write};

use super::Report;
use super::survey::{LayerReport, Skipped};

pub(super) fn write_text<W: Write>(w: &mut W, r: &Report<'_, '_>) -> io::Result<()> {
    writeln!(w, "file:      {}", r.file)?;
    if r.gzipped {
        writeln!(
            w,
            "size:      {} bytes, gzipped ({} bytes decompressed)",
            r.bytes, r.tile_bytes
        )?;
    } else {
        writeln!(w, "size:      {} bytes, not gzipped", r.bytes)?;
    }
    match &r.tile {
        Some(t) => writeln!(w, "tile:      {t} (from the path)")?,
        None => writeln!(w, "tile:      unknown (no Z/X/Y.mvt path)")?,
    }
    writeln!(w, "layers:    {}", r.layers.len() + r.skipped_layers.len())?;
    // Layers in tile order, readable or not.
    let mut skipped = r.skipped_layers.iter().peekable();
    for layer in r.layers {
        while let Some(s) = skipped.next_if(|s| s.index < Some(layer.index)) {
            write_skipped(w, s)?;
        }
        write_layer(w, layer)?;
    }
    for s in skipped {
        write_skipped(w, s)?;
    }
    // A broken tile message ends the walk after the layers above.
    if let Some(e) = r.tile_error {
        writeln!(w)?;
        writeln!(w, "fatal:     {e}")?;
    }
    Ok(())
}

pub(super) fn write_skipped<W: Write>(w: &mut W, s: &Skipped) -> io::Result<()> {
    writeln!(w)?;
    let index = s.index.map_or_else(|| "?".to_owned(), |i| i.to_string());
    match &s.name {
        Some(name) => writeln!(w, "layer {index}: {name}")?,
        None => writeln!(w, "layer {index}: (no readable name)")?,
    }
    let label = if s.fatal { "fatal:" } else { "skipped:" };
    writeln!(w, "  {label:<11}{}", s.error)
}

pub(super) fn write_layer<W: Write>(w: &mut W, l: &LayerReport<'_>) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "layer {}: {}", l.index, l.name)?;
    if l.version > 2 {
        writeln!(
            w,
            "  version:   {} (not defined by the spec; read as version 2)",
            l.version
        )?;
    } else {
        writeln!(w, "  version:   {}", l.version)?;
    }
    writeln!(w, "  extent:    {}", l.extent)?;
    write!(w, "  features:  {}", l.features)?;
    let types: Vec<String> = l
        .geometry_types
        .nonzero()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    if types.is_empty() {
        writeln!(w)?;
    } else {
        writeln!(w, " ({})", types.join(", "))?;
    }
    if l.keys.is_empty() {
        writeln!(w, "  keys:      none")?;
    }
    let width = l.keys.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (i, (key, types)) in l.keys.iter().enumerate() {
        let label = if i == 0 { "keys:" } else { "" };
        let types: Vec<&str> = types.iter().copied().collect();
        writeln!(w, "  {label:<10} {key:<width$}  {}", types.join(", "))?;
    }
    if l.errors > 0 {
        let s = if l.errors == 1 { "" } else { "s" };
        write!(w, "  errors:    {} feature{s} with errors", l.errors)?;
        match &l.first_error {
            Some(e) => writeln!(w, "; first: {e}")?,
            None => writeln!(w)?,
        }
    }
    if let Some(e) = &l.fatal_error {
        writeln!(w, "  fatal:     {e}")?;
    }
    Ok(())
}
