//! `mlytiles detection`: an object detection's outline, as Mapillary's Graph API gives it (a
//! base64 vector tile), printed as GeoJSON in image coordinates.

use std::io::{self, BufWriter, Read, Write};

use anyhow::{Context, Result};
use mlytiles_filter::detection::DetectionTile;

use crate::input::STDOUT;

/// Print an object detection's outline as GeoJSON, in image coordinates.
///
/// Mapillary's Graph API gives each detection's `geometry` as base64 text holding a small
/// vector tile (layer `mpy-or`, extent 4096) drawn over the image. The output is one GeoJSON
/// Feature whose MultiPolygon is in normalised image coordinates (0..1 from the top-left
/// corner, y down), or in pixels when --width and --height give the image's size.
///
/// Python's mapbox-vector-tile flips y unless asked not to (`y_coord_down=True`); its
/// normalised y is 1 minus the one printed here.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlytiles detection \"$(jq -r .geometry detection.json)\"
  mlytiles detection - --width 4032 --height 3024 < detection.txt")]
pub struct Args {
    /// The base64 text of the detection's `geometry`, or `-` to read it from standard input.
    #[arg(value_name = "BASE64")]
    geometry: String,

    /// The image's width in pixels, for pixel coordinates (needs --height).
    #[arg(long, requires = "height", value_name = "PIXELS")]
    width: Option<u32>,

    /// The image's height in pixels, for pixel coordinates (needs --width).
    #[arg(long, requires = "width", value_name = "PIXELS")]
    height: Option<u32>,
}

/// Runs `mlytiles detection`. The outline is streamed from the tile's bytes to standard
/// output (memory bounded by the input's size, whatever the number of vertices).
pub fn run(args: &Args) -> Result<()> {
    let detection = if args.geometry == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .context("reading the detection from standard input")?;
        DetectionTile::from_base64(&text)?
    } else {
        DetectionTile::from_base64(&args.geometry)?
    };
    let pixels = args.width.zip(args.height);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    detection
        .write_geojson(pixels, &mut out)
        .and_then(|()| out.flush())
        .context(STDOUT)?;
    Ok(())
}
