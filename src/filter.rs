//! `mlytiles filter`: the features of tiles, folders or stores that match a filter, written as
//! GeoJSON, GeoJSON lines, CSV or MVT.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;
use mlytiles_filter::chrono::{DateTime, Utc};
use mlytiles_filter::export::{
    Counts, CsvExporter, ExportError, ExportOptions, Exporter, GeoJsonExporter, IdFormat,
    lon_lat_geometry, select,
};
use mlytiles_filter::{Area, Filter, LayerKind, MvtOptions, TypeReport, filter_mvt_with};
use mlytiles_mvt::Tile;
use mlytiles_store::{FolderStore, MbTiles, TileStatus, TileStore};
use mlytiles_tile::{TileId, TileTransform};

use crate::filter_args::FilterArgs;
use crate::input::{Input, STDOUT};

/// Write the features that match a filter, from tile files, tile folders or MBTiles stores.
///
/// Inputs: an .mvt/.pbf file (gzipped or not, `-` for standard input; its Z/X/Y from --tile or
/// from a path ending in Z/X/Y.mvt), a folder laid out Z/X/Y.mvt, or an .mbtiles file. With no
/// input, the cache's store of --tileset is read (the cache `mlytiles fetch` fills). Of a
/// folder or store, the tiles of one zoom are read: --zoom, by default the deepest zoom that
/// holds tiles; --bbox and --tiles restrict them further.
///
/// Every filter flag must hold (AND). Without --layer, the layers read are those every given
/// filter applies to (with --class, only point and traffic_sign). Coordinates are lon/lat.
/// Sequences clipped across tiles are merged by id into one line (a MultiLineString where
/// parts do not meet). Ids are JSON strings unless --ids number.
///
/// A one-line summary goes to stderr: features read and kept, and values of unexpected type.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlytiles filter fixtures/sample/14/3251/6257.mvt --layer image --pano only
  mlytiles filter --bbox 13.37,52.50,13.42,52.53 --pano only --format ndjson   # from the cache
  mlytiles filter cache/mly1_public.mbtiles --bbox -108.56,39.06,-108.54,39.08 --since 2023-01-01 --format ndjson
  mlytiles filter tiles/ --last 30months --org none --format csv -o images.csv
  mlytiles filter cache/mly_map_feature_traffic_sign.mbtiles --class 'regulatory--*' --seen-between 2022..2024
  mlytiles filter 14/3251/6257.mvt --compass 350..10 --format mvt -o north.mvt")]
pub struct Args {
    /// Tile files, tile folders (Z/X/Y.mvt) or .mbtiles stores; `-` reads one tile from stdin.
    /// With none, the cache's store of --tileset is read.
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,

    /// The cache folder read when no INPUT is given [default: MLYTILES_CACHE, else the user
    /// cache folder's `mlytiles`, as for `mlytiles fetch`].
    #[arg(long, value_name = "DIR", conflicts_with = "inputs")]
    cache: Option<PathBuf>,

    /// The cache's tileset read when no INPUT is given [default: mly_map_feature_point for
    /// --layer point, mly_map_feature_traffic_sign for --layer traffic_sign or --class, else
    /// mly1_public].
    #[arg(long, value_name = "NAME", conflicts_with = "inputs")]
    tileset: Option<String>,

    /// The Z/X/Y of a lone tile file (overrides a tile id in its path).
    #[arg(long, value_name = "Z/X/Y")]
    tile: Option<TileId>,

    /// Of folders and stores, only these tiles (comma-separated, or repeat the flag).
    #[arg(long, value_name = "Z/X/Y,...", value_delimiter = ',')]
    tiles: Vec<TileId>,

    /// Of folders and stores, the zoom to read (default: the deepest zoom that holds tiles).
    #[arg(long, value_name = "Z")]
    zoom: Option<u8>,

    /// Only this layer (repeat for several): overview, sequence, image, point, traffic_sign.
    #[arg(long, value_name = "NAME", value_parser = parse_layer)]
    layer: Vec<LayerKind>,

    #[command(flatten)]
    filter: FilterArgs,

    /// Output format. `geojson`: one FeatureCollection; `ndjson`: one Feature per line; `csv`:
    /// one row per point (the sequence layer is left out unless named, which is an error);
    /// `mvt`: the kept features re-encoded as a tile (one input tile only).
    #[arg(long, value_enum, default_value_t = Format::Geojson)]
    format: Format,

    /// How ids are written in JSON: `string` (safe for JavaScript) or `number` (exact digits).
    #[arg(long, value_enum, default_value_t = Ids::String)]
    ids: Ids,

    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A GeoJSON FeatureCollection.
    Geojson,
    /// One GeoJSON Feature per line.
    Ndjson,
    /// CSV, one row per point.
    Csv,
    /// A vector tile.
    Mvt,
}

/// `--ids` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ids {
    /// `"id":"9007199254740993"`.
    String,
    /// `"id":9007199254740993`.
    Number,
}

fn parse_layer(s: &str) -> std::result::Result<LayerKind, String> {
    s.parse::<LayerKind>().map_err(|e| e.to_string())
}

/// Where tiles come from.
enum Source {
    /// One tile's bytes.
    File(Input),
    /// A folder or MBTiles store, with its name.
    Store(String, Box<dyn TileStore>),
}

/// The store of the cache that a run without INPUT reads.
fn cache_store(args: &Args) -> Result<PathBuf> {
    let dir = crate::cache_home::resolve(args.cache.as_deref())?;
    let tileset = match (&args.tileset, args.layer.first()) {
        (Some(t), _) => t.clone(),
        (None, Some(LayerKind::Point)) => "mly_map_feature_point".into(),
        (None, Some(LayerKind::TrafficSign)) => "mly_map_feature_traffic_sign".into(),
        (None, None) if !args.filter.class.is_empty() => "mly_map_feature_traffic_sign".into(),
        (None, _) => "mly1_public".into(),
    };
    mlytiles_store::validate_tileset_name(&tileset)?;
    let file = dir.join(format!("{tileset}.mbtiles"));
    let folder = dir.join(&tileset);
    if file.is_file() {
        return Ok(file);
    }
    if folder.is_dir() {
        return Ok(folder);
    }
    bail!(
        "the cache {} has no {tileset} store: fetch it with `mlytiles fetch --tileset {tileset} \
         --bbox W,S,E,N`, or give tile files or stores as INPUT",
        dir.display()
    )
}

fn open(path: &Path) -> Result<Source> {
    let name = path.display().to_string();
    if path != Path::new("-") && !path.exists() {
        bail!("{name}: no such file or folder");
    }
    if path.is_dir() {
        let store = FolderStore::open(path).with_context(|| name.clone())?;
        return Ok(Source::Store(name, Box::new(store)));
    }
    if path.extension().is_some_and(|e| e == "mbtiles") {
        let store = MbTiles::open_read_only(path).with_context(|| name.clone())?;
        return Ok(Source::Store(name, Box::new(store)));
    }
    Ok(Source::File(Input::read(path)?))
}

/// The tiles of a store to read.
fn store_tiles(
    args: &Args,
    filter: &Filter,
    name: &str,
    store: &dyn TileStore,
) -> Result<Vec<TileId>> {
    if !args.tiles.is_empty() {
        return Ok(args.tiles.clone());
    }
    let zoom = match args.zoom {
        Some(z) => z,
        None => {
            let mut deepest = None;
            for z in (0..=mlytiles_tile::MAX_ZOOM).rev() {
                let listed = store.list(z, None).with_context(|| name.to_owned())?;
                if listed.iter().any(|(_, s)| *s == TileStatus::Data) {
                    deepest = Some(z);
                    break;
                }
            }
            match deepest {
                Some(z) => z,
                None => return Ok(Vec::new()),
            }
        }
    };
    Ok(store
        .list(zoom, filter.area.as_ref().and_then(Area::bounds))
        .with_context(|| name.to_owned())?
        .into_iter()
        .filter(|(_, s)| *s == TileStatus::Data)
        .map(|(t, _)| t)
        .collect())
}

/// What was read and kept, per layer.
#[derive(Default)]
struct Summary {
    tiles: u64,
    layers: BTreeMap<LayerKind, Counts>,
    report: TypeReport,
}

impl Summary {
    fn line(&self) -> String {
        let total = self.layers.values().fold(Counts::default(), |mut a, c| {
            a += *c;
            a
        });
        let tiles = format!(
            "{} tile{}",
            self.tiles,
            if self.tiles == 1 { "" } else { "s" }
        );
        let mut line = if self.layers.len() == 1 {
            let (kind, _) = self.layers.iter().next().expect("one layer");
            format!(
                "read {} {kind} features from {tiles}, kept {}",
                total.read, total.kept
            )
        } else {
            let per = |f: fn(&Counts) -> u64| {
                self.layers
                    .iter()
                    .map(|(k, c)| format!("{k} {}", f(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut s = format!("read {} features from {tiles}", total.read);
            if !self.layers.is_empty() {
                s += &format!(" ({})", per(|c| c.read));
            }
            s += &format!(", kept {}", total.kept);
            if !self.layers.is_empty() {
                s += &format!(" ({})", per(|c| c.kept));
            }
            s
        };
        if total.skipped > 0 {
            line += &format!(
                "; skipped {} features with a recoverable error",
                total.skipped
            );
        }
        if self.report.is_empty() {
            line += "; no type mismatches";
        } else {
            let list: Vec<String> = self
                .report
                .iter()
                .map(|m| format!("{}.{}: {} {}", m.layer, m.key, m.count, m.found))
                .collect();
            line += &format!("; type mismatches: {}", list.join(", "));
        }
        line
    }
}

/// The writer of kept features: a text exporter, or the one filtered tile.
enum Sink {
    Text(Box<dyn Exporter>),
    Mvt(Vec<u8>),
}

/// Runs the command.
///
/// # Errors
///
/// Bad flag values (showing the accepted form), unreadable inputs, a filter that does not
/// apply to a named layer, I/O errors.
pub fn run(args: &Args) -> Result<()> {
    let filter = args.filter.to_filter()?;
    let now = Utc::now();

    // The layers to read.
    let explicit = !args.layer.is_empty();
    let kinds: Vec<LayerKind> = if explicit {
        for &kind in &args.layer {
            filter.check_layer(kind)?;
            if args.format == Format::Csv && kind == LayerKind::Sequence {
                bail!(
                    "--format csv writes points, and the sequence layer holds lines: use \
                     --format geojson or ndjson for it"
                );
            }
        }
        args.layer.clone()
    } else {
        filter
            .layers()
            .into_iter()
            .filter(|k| !(args.format == Format::Csv && *k == LayerKind::Sequence))
            .collect()
    };

    let inputs = if args.inputs.is_empty() {
        vec![cache_store(args)?]
    } else {
        args.inputs.clone()
    };
    let sources: Vec<Source> = inputs.iter().map(|p| open(p)).collect::<Result<_>>()?;
    if args.format == Format::Mvt && !(sources.len() == 1 && matches!(sources[0], Source::File(_)))
    {
        bail!("--format mvt writes one tile: give exactly one tile file as input");
    }
    if args.tile.is_some()
        && sources
            .iter()
            .filter(|s| matches!(s, Source::File(_)))
            .count()
            != 1
    {
        bail!("--tile places a lone tile file: give exactly one tile file with it");
    }

    // An output file is written beside its final place and renamed there only when all went
    // well: a failed run leaves no half-written file (and an older one stays as it was). A
    // path that exists and is not a file (/dev/stdout, a pipe) is written in place: renaming
    // over it would replace the device.
    let special = args
        .output
        .as_deref()
        .filter(|p| p.exists() && !p.is_file());
    let staged = match &args.output {
        Some(path) if special.is_none() => Some(stage(path)?),
        _ => None,
    };
    let open_output = || -> Result<Box<dyn Write>> {
        Ok(match (&staged, special) {
            (Some(tmp), _) => Box::new(BufWriter::with_capacity(1 << 16, tmp.reopen()?)),
            (None, Some(path)) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                Box::new(BufWriter::with_capacity(1 << 16, file))
            }
            (None, None) => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
        })
    };
    let out = open_output()?;
    let out_name = args
        .output
        .as_ref()
        .map_or_else(|| STDOUT.to_owned(), |p| format!("writing {}", p.display()));
    let options = ExportOptions {
        ids: match args.ids {
            Ids::String => IdFormat::String,
            Ids::Number => IdFormat::Number,
        },
        ..ExportOptions::default()
    };
    let mut sink = match args.format {
        Format::Geojson => Sink::Text(Box::new(GeoJsonExporter::collection(out, options))),
        Format::Ndjson => Sink::Text(Box::new(GeoJsonExporter::lines(out, options))),
        Format::Csv => Sink::Text(Box::new(CsvExporter::new(out))),
        Format::Mvt => Sink::Mvt(Vec::new()),
    };
    if let Sink::Text(e) = &mut sink {
        e.begin().context(out_name.clone())?;
    }

    let mut summary = Summary::default();
    for source in sources {
        match source {
            Source::File(input) => {
                let tile_id = args.tile.or(input.path_tile);
                if tile_id.is_none() && args.format != Format::Mvt {
                    bail!(
                        "{}: the tile's Z/X/Y is unknown; give --tile Z/X/Y or a path ending \
                         in Z/X/Y.mvt, for lon/lat coordinates",
                        input.name
                    );
                }
                filter_tile(
                    &input.bytes,
                    tile_id,
                    &input.name,
                    &kinds,
                    &filter,
                    now,
                    (&mut sink, &out_name),
                    &mut summary,
                )?;
            }
            Source::Store(name, store) => {
                for tile in store_tiles(args, &filter, &name, store.as_ref())? {
                    let Some(stored) = store.get(tile).with_context(|| name.clone())? else {
                        continue;
                    };
                    if stored.info.status != TileStatus::Data {
                        continue;
                    }
                    let bytes = stored.uncompressed().with_context(|| name.clone())?;
                    filter_tile(
                        &bytes,
                        Some(tile),
                        &format!("{name}: {tile}"),
                        &kinds,
                        &filter,
                        now,
                        (&mut sink, &out_name),
                        &mut summary,
                    )?;
                }
            }
        }
    }

    match sink {
        Sink::Text(mut e) => e.finish().context(out_name.clone())?,
        Sink::Mvt(bytes) => {
            let mut out = open_output()?;
            out.write_all(&bytes).context(out_name.clone())?;
            out.flush().context(out_name.clone())?;
        }
    }
    if let (Some(tmp), Some(path)) = (staged, &args.output) {
        // On disk before it takes the output's name: a power cut leaves the old file or the
        // whole new one.
        tmp.as_file().sync_all().context(out_name.clone())?;
        tmp.persist(path)
            .map_err(|e| e.error)
            .with_context(|| path.display().to_string())?;
    }
    let _ = writeln!(io::stderr(), "{}", summary.line());
    Ok(())
}

/// A temporary file in the output's folder, to be renamed over the output at the end.
fn stage(path: &std::path::Path) -> Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        bail!(
            "writing {}: the folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    tempfile::Builder::new()
        .prefix(".mlytiles-")
        .tempfile_in(dir)
        // The error's own text names the temporary file; the output's name says more.
        .map_err(|e| std::io::Error::from(e.kind()))
        .with_context(|| format!("writing {}", path.display()))
}

#[allow(clippy::too_many_arguments)]
fn filter_tile(
    bytes: &[u8],
    tile_id: Option<TileId>,
    name: &str,
    kinds: &[LayerKind],
    filter: &Filter,
    now: DateTime<Utc>,
    (sink, out_name): (&mut Sink, &str),
    summary: &mut Summary,
) -> Result<()> {
    let exporter = match sink {
        Sink::Text(e) => e,
        Sink::Mvt(out) => {
            let options = MvtOptions {
                layers: Some(kinds),
                report: Some(&mut summary.report),
            };
            let filtered = filter_mvt_with(bytes, tile_id, filter, now, options)
                .map_err(|e| anyhow!(e).context(name.to_owned()))?;
            summary.tiles += 1;
            for (kind, counts) in filtered.counts {
                *summary.layers.entry(kind).or_default() += counts;
            }
            *out = filtered.bytes;
            return Ok(());
        }
    };
    let tile = Tile::new(bytes).with_context(|| name.to_owned())?;
    summary.tiles += 1;
    for layer in tile.layers() {
        let layer = layer.with_context(|| name.to_owned())?;
        let Some(kind) = LayerKind::from_name(layer.name()) else {
            continue;
        };
        if !kinds.contains(&kind) {
            continue;
        }
        let transform = tile_id
            .map(|t| TileTransform::new(t, layer.extent()))
            .transpose()
            .with_context(|| format!("{name}: layer {:?}", layer.name()))?;
        let counts = select(
            &layer,
            tile_id,
            filter,
            now,
            &mut summary.report,
            |kind, record, feature| {
                let t = transform.as_ref().expect("text formats need the tile id");
                exporter.feature(kind, &record, &lon_lat_geometry(feature, t)?)
            },
        )
        .map_err(|e| match e {
            ExportError::Io(io) => anyhow!(io).context(out_name.to_owned()),
            other => anyhow!(other).context(name.to_owned()),
        })?;
        *summary.layers.entry(kind).or_default() += counts;
    }
    Ok(())
}
