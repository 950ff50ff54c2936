//! `mlytiles inspect`: what a tile holds, layer by layer, read completely.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use mlytiles_mvt::{Error, GeomType, GeometrySink, Tile};
use serde::{Serialize, Serializer};

use crate::input::{Input, STDOUT};

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

/// Everything the walk of one tile found.
#[derive(Debug, Default)]
pub struct Survey<'a> {
    /// The layers that could be read, in tile order.
    pub layers: Vec<LayerReport<'a>>,
    /// Layers that could not be read (fatal) or were skipped (a repeated name).
    pub skipped: Vec<Skipped>,
    /// A malformed tile message, which ends the walk.
    pub tile_error: Option<Error>,
    /// The first fatal error anywhere.
    pub fatal: Option<Error>,
}

/// One readable layer.
#[derive(Debug, Serialize)]
pub struct LayerReport<'a> {
    /// Position among the tile's layers.
    pub index: usize,
    /// The layer's name.
    pub name: &'a str,
    /// Spec version, 1 or 2.
    pub version: u32,
    /// Tile extent of the layer.
    pub extent: u32,
    /// Feature messages in the layer.
    pub features: usize,
    /// Readable features by geometry type.
    pub geometry_types: GeomCounts,
    /// Keys seen in features, each with the names of the value types seen with it.
    pub keys: BTreeMap<&'a str, BTreeSet<&'static str>>,
    /// Features with a recoverable error.
    pub errors: usize,
    /// The first of those errors.
    #[serde(serialize_with = "display")]
    pub first_error: Option<Error>,
    /// A fatal error that ended the walk of this layer.
    #[serde(serialize_with = "display")]
    pub fatal_error: Option<Error>,
}

/// Feature counts by geometry type, keyed in JSON by the type names of `GeomType::name`.
#[derive(Debug, Default, Serialize)]
pub struct GeomCounts {
    /// `POINT` features.
    #[serde(rename = "Point")]
    pub point: usize,
    /// `LINESTRING` features.
    #[serde(rename = "LineString")]
    pub line_string: usize,
    /// `POLYGON` features.
    #[serde(rename = "Polygon")]
    pub polygon: usize,
    /// `UNKNOWN` features.
    #[serde(rename = "Unknown")]
    pub unknown: usize,
}

impl GeomCounts {
    fn add(&mut self, t: GeomType) {
        match t {
            GeomType::Point => self.point += 1,
            GeomType::LineString => self.line_string += 1,
            GeomType::Polygon => self.polygon += 1,
            GeomType::Unknown => self.unknown += 1,
        }
    }

    /// `(type name, count)` of the types that occur, in the order of the spec's enum.
    fn nonzero(&self) -> impl Iterator<Item = (&'static str, usize)> {
        [
            (GeomType::Point, self.point),
            (GeomType::LineString, self.line_string),
            (GeomType::Polygon, self.polygon),
            (GeomType::Unknown, self.unknown),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| (t.name(), n))
    }
}

/// A layer that could not be read or was skipped.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// Position among the tile's layers.
    pub index: Option<usize>,
    /// The layer's name, if readable.
    pub name: Option<String>,
    /// Why.
    pub error: String,
    /// Whether the error is fatal (else the layer was skipped as a repeated name).
    pub fatal: bool,
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

fn display<S: Serializer, E: std::fmt::Display>(e: &Option<E>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.collect_str(e),
        None => s.serialize_none(),
    }
}

/// A geometry sink that keeps nothing: decoding into it only checks the geometry.
pub struct Discard;

impl GeometrySink for Discard {
    fn move_to(&mut self, _: i32, _: i32) {}
    fn line_to(&mut self, _: i32, _: i32) {}
    fn close_path(&mut self) {}
}

/// Walks the whole tile: every layer, feature, property and vertex.
pub fn survey<'a>(tile: &Tile<'a>) -> Survey<'a> {
    let mut s = Survey::default();
    for layer in tile.layers() {
        let layer = match layer {
            Ok(layer) => layer,
            Err(e) => {
                if e.is_fatal() && s.fatal.is_none() {
                    s.fatal = Some(e.clone());
                }
                match e.layer_index() {
                    Some(index) => s.skipped.push(Skipped {
                        index: Some(index),
                        name: e.layer_name().map(str::to_owned),
                        error: e.to_string(),
                        fatal: e.is_fatal(),
                    }),
                    None => s.tile_error = Some(e),
                }
                continue;
            }
        };
        let mut r = LayerReport {
            index: layer.index(),
            name: layer.name(),
            version: layer.version(),
            extent: layer.extent(),
            features: layer.feature_count(),
            geometry_types: GeomCounts::default(),
            keys: BTreeMap::new(),
            errors: 0,
            first_error: None,
            fatal_error: None,
        };
        // The tables are parsed on first use; features without tags never use them, so ask
        // here to read the layer completely.
        if let Err(e) = layer.values() {
            r.fatal_error = Some(e);
        }
        if r.fatal_error.is_none() {
            for feature in layer.features() {
                let problem = match feature {
                    Err(e) => Some(e),
                    Ok(f) => {
                        r.geometry_types.add(f.geom_type());
                        let mut problem = None;
                        for p in f.properties() {
                            match p {
                                Ok((k, v)) => {
                                    r.keys.entry(k).or_default().insert(v.value_type().name());
                                }
                                Err(e) => {
                                    problem = Some(e);
                                    break;
                                }
                            }
                        }
                        problem.or_else(|| f.decode_geometry(&mut Discard).err())
                    }
                };
                match problem {
                    None => {}
                    Some(e) if e.is_fatal() => {
                        // spec taxonomy: the layer cannot be trusted past a fatal error.
                        r.fatal_error = Some(e);
                        break;
                    }
                    Some(e) => {
                        r.errors += 1;
                        r.first_error.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(e) = &r.fatal_error
            && s.fatal.is_none()
        {
            s.fatal = Some(e.clone());
        }
        s.layers.push(r);
    }
    s
}

fn write_text<W: Write>(w: &mut W, r: &Report<'_, '_>) -> io::Result<()> {
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

fn write_skipped<W: Write>(w: &mut W, s: &Skipped) -> io::Result<()> {
    writeln!(w)?;
    let index = s.index.map_or_else(|| "?".to_owned(), |i| i.to_string());
    match &s.name {
        Some(name) => writeln!(w, "layer {index}: {name}")?,
        None => writeln!(w, "layer {index}: (no readable name)")?,
    }
    let label = if s.fatal { "fatal:" } else { "skipped:" };
    writeln!(w, "  {label:<11}{}", s.error)
}

fn write_layer<W: Write>(w: &mut W, l: &LayerReport<'_>) -> io::Result<()> {
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
