//! `mlytiles filter`: the features of tiles, folders or stores that match a filter, written as
//! GeoJSON, GeoJSON lines, CSV, GeoPackage or MVT.

use std::io::{self, Write};

use anyhow::{Context, Result, anyhow, bail};
use mlytiles_filter::chrono::{DateTime, Utc};
use mlytiles_filter::export::{ExportError, ExportOptions, Exporter, IdFormat, export_tile};
use mlytiles_filter::{Filter, LayerKind, MvtOptions, filter_mvt_with};
use mlytiles_store::TileStatus;
use mlytiles_tile::TileId;

mod args;
mod layers;
mod output;
mod sink;
mod source;
mod summary;

pub use args::Args;
use args::{Format, Ids};
use output::Output;
use source::{Source, cache_store, open, store_tiles};
use summary::Summary;

/// The writer of kept features: a text exporter, or the one filtered tile.
enum Sink {
    Text(Box<dyn Exporter>),
    Mvt(Vec<u8>),
}

/// What every tile of a run is filtered with, and where its features and counts go.
struct Job<'a> {
    kinds: &'a [LayerKind],
    filter: &'a Filter,
    now: DateTime<Utc>,
    sink: Sink,
    out_name: String,
    summary: Summary,
}

impl Job<'_> {
    /// Filters one tile (`name` says which, in errors) into the sink.
    fn tile(&mut self, bytes: &[u8], tile_id: Option<TileId>, name: &str) -> Result<()> {
        let counts = match &mut self.sink {
            Sink::Mvt(out) => {
                let options = MvtOptions {
                    layers: Some(self.kinds),
                    report: Some(&mut self.summary.report),
                };
                let filtered = filter_mvt_with(bytes, tile_id, self.filter, self.now, options)
                    .map_err(|e| anyhow!(e).context(name.to_owned()))?;
                *out = filtered.bytes;
                filtered.counts
            }
            Sink::Text(exporter) => {
                let tile = tile_id.expect("text formats need the tile id");
                let report = &mut self.summary.report;
                export_tile(
                    bytes,
                    tile,
                    self.kinds,
                    self.filter,
                    self.now,
                    exporter.as_mut(),
                    report,
                )
                .map_err(|e| match e {
                    ExportError::Io(_) | ExportError::Sqlite(_) => {
                        anyhow!(e).context(self.out_name.clone())
                    }
                    other => anyhow!(other).context(name.to_owned()),
                })?
            }
        };
        self.summary.tiles += 1;
        for (kind, c) in counts {
            *self.summary.layers.entry(kind).or_default() += c;
        }
        Ok(())
    }
}

/// Runs the command.
///
/// # Errors
///
/// Bad flag values (showing the accepted form), unreadable inputs, a filter that does not
/// apply to a named layer, I/O errors.
pub fn run(args: &Args) -> Result<()> {
    let filter = args.filter.to_filter()?;
    if args.split_layers && matches!(args.format, Format::Mvt | Format::Gpkg) {
        bail!(
            "--split-layers is for geojson, ndjson and csv: --format mvt writes one tile, and a \
             GeoPackage holds one table per layer"
        );
    }

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

    // Without INPUT, the cache (or the bundled sample, kept unpacked while it is read).
    let cache = args
        .inputs
        .is_empty()
        .then(|| crate::cache_home::ReadCache::open(args.cache.as_deref()))
        .transpose()?;
    let inputs = if let Some(cache) = &cache {
        vec![cache_store(args, cache)?]
    } else {
        args.inputs.clone()
    };
    let sources: Vec<Source> = inputs.iter().map(|p| open(p)).collect::<Result<_>>()?;
    // A CSV's columns are those of the layers it holds: without --layer, of the layers the
    // inputs hold.
    let mut kinds = kinds;
    if !explicit && args.format == Format::Csv {
        layers::narrow(&mut kinds, &sources);
    }
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

    let options = ExportOptions {
        ids: match args.ids {
            Ids::String => IdFormat::String,
            Ids::Number => IdFormat::Number,
        },
        ..ExportOptions::default()
    };
    let (sink, outputs) = match args.format {
        Format::Mvt => (
            Sink::Mvt(Vec::new()),
            vec![(None, Output::new(args.output.as_deref())?)],
        ),
        _ => {
            let (exporter, outputs) = sink::exporter(args, &kinds, options)?;
            (Sink::Text(exporter), outputs)
        }
    };
    // How errors name the output: -o as given (with --split-layers, the files are named
    // after it).
    let out_name = outputs[0].1.name.clone();
    let mut job = Job {
        kinds: &kinds,
        filter: &filter,
        now: Utc::now(),
        sink,
        out_name: out_name.clone(),
        summary: Summary::default(),
    };
    if let Sink::Text(e) = &mut job.sink {
        e.begin().context(out_name.clone())?;
    }

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
                job.tile(&input.bytes, tile_id, &input.name)?;
            }
            Source::Store(name, store) => {
                let tiles = store_tiles(args, &filter, store.as_ref()).context(name.clone())?;
                for tile in tiles {
                    let Some(stored) = store.get(tile).with_context(|| name.clone())? else {
                        continue;
                    };
                    if stored.info.status != TileStatus::Data {
                        continue;
                    }
                    let bytes = stored.uncompressed().with_context(|| name.clone())?;
                    job.tile(&bytes, Some(tile), &format!("{name}: {tile}"))?;
                }
            }
        }
    }

    match job.sink {
        // Finished and dropped (a GeoPackage closed) before its files are renamed into place.
        Sink::Text(mut e) => e.finish().context(out_name)?,
        Sink::Mvt(bytes) => {
            let mut out = outputs[0].1.writer()?;
            out.write_all(&bytes).context(out_name.clone())?;
            out.flush().context(out_name)?;
        }
    }
    // A layer's own file is written when its layer was in the tiles read (even if no feature
    // was kept); the files of layers that were not are left out (their staged files removed).
    for (kind, output) in outputs {
        if kind.is_none_or(|k| job.summary.layers.contains_key(&k)) {
            output.commit()?;
        }
    }
    let _ = writeln!(io::stderr(), "{}", job.summary.line());
    Ok(())
}
