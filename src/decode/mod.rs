//! `mlytiles decode`: a tile's features as GeoJSON, in lon/lat when the tile id is known.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::ValueEnum;
use mlytiles_mvt::Tile;
use mlytiles_tile::TileId;

use crate::input::{Input, STDOUT};

mod features;

use self::features::{first_fatal, write_features};

/// Print a tile's features as GeoJSON (lon/lat when the tile's Z/X/Y is known).
///
/// Each feature becomes a GeoJSON Feature whose `properties` are the feature's tags, exactly as
/// the tile holds them (integers are never rounded: ids above 2^53 print digit for digit).
/// Each also carries the foreign member `"layer"` (its layer's name) and, when the tile gives
/// the feature one, the protobuf feature id as the GeoJSON `id` (in Mapillary tiles a
/// tile-local counter; the Mapillary id is the `id` property). A feature of UNKNOWN geometry
/// type gets `"geometry": null`.
///
/// Coordinates are longitude/latitude when the tile's Z/X/Y is known: from --tile, or from a
/// path ending in Z/X/Y.mvt (also .pbf, .mvt.gz, .pbf.gz). Otherwise they are tile-local
/// integers (0..extent, y growing south), a note on stderr says so, and the FeatureCollection
/// has "coordinate_space": "tile-local" (else "lon/lat", with "tile": "Z/X/Y").
///
/// Features with a recoverable error are skipped and counted in a warning on stderr (exit code
/// 0). A fatal error prints nothing on stdout and exits with 1.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlytiles decode fixtures/sample/14/3251/6257.mvt > sample.geojson
  mlytiles decode --layer image --format ndjson tile.mvt.gz --tile 14/3251/6257
  curl -s \"$TILE_URL\" | mlytiles decode - --tile 14/3251/6257 | head")]
pub struct Args {
    /// The tile: an .mvt/.pbf file, gzipped or not, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Only this layer (repeat for several). A missing layer is a warning, not an error.
    #[arg(long, value_name = "NAME")]
    layer: Vec<String>,

    /// `geojson`: one FeatureCollection (one feature per line inside it); `ndjson`: one
    /// Feature per line (GeoJSON text sequence without separators), nothing else.
    #[arg(long, value_enum, default_value_t = Format::Geojson)]
    format: Format,

    /// The tile's Z/X/Y, for lon/lat coordinates; overrides a tile id in the path.
    #[arg(long, value_name = "Z/X/Y")]
    tile: Option<TileId>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A GeoJSON FeatureCollection.
    Geojson,
    /// One GeoJSON Feature per line.
    Ndjson,
}

/// Runs the command, writing GeoJSON to standard output.
///
/// # Errors
///
/// The input cannot be read, the tile has a fatal error in a layer to be written (nothing is
/// written then), or writing fails.
pub fn run(args: &Args) -> Result<()> {
    let input = Input::read(&args.file)?;
    let tile = Tile::new(&input.bytes).with_context(|| input.name.clone())?;
    let selected = |name: &str| args.layer.is_empty() || args.layer.iter().any(|l| l == name);

    // Find fatal errors before writing anything, so a broken tile never leaves half a
    // document on stdout. The reader is fast enough that reading twice costs little.
    if let Some(e) = first_fatal(&tile, &selected) {
        return Err(anyhow!(e).context(input.name));
    }

    let tile_id = args.tile.or(input.path_tile);
    if tile_id.is_none() {
        note(&format!(
            "{}: the tile's Z/X/Y is unknown, so coordinates are tile-local (0..extent, y \
             down); give --tile Z/X/Y or a path ending in Z/X/Y.mvt for lon/lat",
            input.name
        ));
    }

    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let summary =
        write_features(&mut out, &tile, tile_id, args.format, &selected).map_err(|e| {
            if e.is::<io::Error>() {
                e.context(STDOUT)
            } else {
                e.context(input.name.clone())
            }
        })?;
    out.flush().context(STDOUT)?;
    drop(out);

    for name in &args.layer {
        if !summary.layer_names.contains(name) {
            warn(&format!(
                "{}: no layer named {name:?} (the tile has: {})",
                input.name,
                summary.layer_names.join(", ")
            ));
        }
    }
    // The reader is lenient about versions the spec does not define (see VersionPolicy):
    // say which layers were read that way.
    for layer in tile.layers().flatten() {
        if layer.has_unknown_version() && selected(layer.name()) {
            warn(&format!(
                "{}: layer {:?} declares version {}, which the spec does not define (spec 4.1); \
                 read as version 2",
                input.name,
                layer.name(),
                layer.version()
            ));
        }
    }
    for (count, what, first) in [
        (summary.skipped_layers, "layer", &summary.first_layer_error),
        (
            summary.skipped_features,
            "feature",
            &summary.first_feature_error,
        ),
    ] {
        if let Some(first) = first {
            let s = if count == 1 { "" } else { "s" };
            warn(&format!(
                "{}: {count} {what}{s} skipped; first: {first}",
                input.name
            ));
        }
    }
    Ok(())
}

fn note(message: &str) {
    // stderr may be closed too; there is nowhere left to report that.
    let _ = writeln!(io::stderr(), "note: {message}");
}

fn warn(message: &str) {
    let _ = writeln!(io::stderr(), "warning: {message}");
}
