//! `mlytiles inspect`: what a tile holds, layer by layer, read completely.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use mlytiles_mvt::{Error, Tile};
use serde::Serialize;

use crate::input::{Input, STDOUT};

mod survey;
mod text;

use self::survey::display;
pub use self::survey::{Discard, LayerReport, Skipped, survey};
use self::text::write_text;

/// Show a tile's layers, feature counts by geometry type, keys with their value types, and errors.
///
/// For each layer: name, version, extent, the number of features by geometry type, every
/// property key seen with the value types seen for it (`captured_at: int, string` when both
/// occur), and how many features have a recoverable error, with the first one. Also the size
/// of the input and whether it was gzipped.
///
/// Every layer, feature, property and vertex is read, so every error in the tile is found. A
/// fatal error (the layer or tile cannot be trusted) is shown in the report, then printed on
/// stderr, and the exit code is 1.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlytiles inspect fixtures/sample/14/3251/6257.mvt
  mlytiles inspect --json tile.mvt.gz | jq '.layers[].features'
  curl -s \"$TILE_URL\" | mlytiles inspect -")]
pub struct Args {
    /// The tile: an .mvt/.pbf file, gzipped or not, or `-` for standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Print one JSON document instead of text: {file, bytes, gzipped, tile_bytes, tile,
    /// layers: [{index, name, version, extent, features, geometry_types, keys, errors,
    /// first_error, fatal_error}], skipped_layers, tile_error, fatal_error}.
    #[arg(long)]
    json: bool,
}

/// Runs the command, writing the report to standard output.
///
/// # Errors
///
/// The input cannot be read, writing fails, or the tile has a fatal error (after the report).
pub fn run(args: &Args) -> Result<()> {
    let input = Input::read(&args.file)?;
    let tile = Tile::new(&input.bytes).with_context(|| input.name.clone())?;
    let survey = survey(&tile);
    let report = Report {
        file: &input.name,
        bytes: input.read_len,
        gzipped: input.gzipped,
        tile_bytes: input.bytes.len(),
        tile: input.path_tile.map(|t| t.to_string()),
        layers: &survey.layers,
        skipped_layers: &survey.skipped,
        tile_error: survey.tile_error.as_ref(),
        fatal_error: survey.fatal.as_ref(),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        write_text(&mut out, &report)
    };
    written.and_then(|()| out.flush()).context(STDOUT)?;
    match survey.fatal {
        Some(e) => Err(anyhow!(e).context(input.name)),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct Report<'r, 'a> {
    file: &'r str,
    bytes: usize,
    gzipped: bool,
    tile_bytes: usize,
    tile: Option<String>,
    layers: &'r [LayerReport<'a>],
    skipped_layers: &'r [Skipped],
    #[serde(serialize_with = "display")]
    tile_error: Option<&'r Error>,
    #[serde(serialize_with = "display")]
    fatal_error: Option<&'r Error>,
}
