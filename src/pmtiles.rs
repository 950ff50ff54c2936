//! `mlytiles pmtiles merge|info|export`: join the PMTiles archives of a sharded pyramid run,
//! say what an archive holds, and export a filtered vector tileset as an archive.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mlytiles_store::{PmTiles, TileStore};

/// Work with PMTiles archives (as `render --pyramid --out X.pmtiles` writes them).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Exit codes: 0 success, 1 error (an unreadable archive, parts that overlap or were made with
different settings), 2 usage error.

Examples:
  mlytiles render --pyramid --bbox ... --zooms 0-14 --shard 0/3 --out part-0.pmtiles
  mlytiles pmtiles merge part-*.pmtiles -o coverage.pmtiles
  mlytiles pmtiles info coverage.pmtiles
  mlytiles pmtiles export --zooms 0-14 --pano only --since 2023-01-01 -o panoramas.pmtiles")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Join the archives written by the shards of one run (`--shard I/N`) into one, copying
    /// each tile's bytes (nothing is decoded). Parts that overlap or were made with
    /// different settings are refused.
    Merge {
        /// The parts, in any order.
        #[arg(required = true, value_name = "PART")]
        parts: Vec<PathBuf>,
        /// The archive written (replaced whole at the end, never left half written).
        #[arg(short, long, value_name = "PATH")]
        out: PathBuf,
    },
    /// The archive's header, tile count per zoom and metadata.
    Info {
        /// The archive.
        archive: PathBuf,
    },
    /// A filtered vector tileset as an archive of MVT tiles with `vector_layers` metadata:
    /// the store's tiles at the zooms (inside --bbox or --within), each keeping the
    /// features that pass every filter flag; tiles left with none are left out.
    Export(Box<Export>),
}

#[derive(Debug, clap::Args)]
struct Export {
    /// The store read: an MBTiles file, a z/x/y folder or a PMTiles archive. Default: the
    /// cache's mly1_public (or the bundled sample when the cache is empty).
    store: Option<PathBuf>,
    /// The cache folder (when no STORE is given).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// The zooms exported, A-B or one zoom.
    #[arg(long, value_name = "A-B", value_parser = parse_zooms)]
    zooms: (u8, u8),
    /// The archive written.
    #[arg(short, long, value_name = "PATH")]
    out: PathBuf,
    #[command(flatten)]
    filter: crate::filter_args::FilterArgs,
}

fn parse_zooms(s: &str) -> Result<(u8, u8), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let z = |t: &str| {
        t.trim()
            .parse::<u8>()
            .ok()
            .filter(|z| *z <= mlytiles_tile::MAX_ZOOM)
            .ok_or_else(|| format!("{t:?} is not a zoom 0-{}", mlytiles_tile::MAX_ZOOM))
    };
    let (a, b) = (z(a)?, z(b)?);
    if a > b {
        return Err(format!("zooms {a}-{b}: the first is deeper than the last"));
    }
    Ok((a, b))
}

pub fn run(args: &Args) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match &args.command {
        Command::Merge { parts, out } => {
            if parts.iter().any(|p| p == out) {
                bail!(
                    "{}: the merged archive cannot be one of its parts",
                    out.display()
                );
            }
            let start = Instant::now();
            let summary = mlytiles_store::merge_archives(parts, out)?;
            writeln!(
                stdout,
                "Merged {} parts: {} tiles into {} ({} bytes) in {:.2} s",
                parts.len(),
                summary.tiles,
                out.display(),
                summary.bytes,
                start.elapsed().as_secs_f64()
            )?;
        }
        Command::Info { archive } => {
            let name = archive.display().to_string();
            let a = PmTiles::open(archive).with_context(|| name.clone())?;
            let h = a.header();
            writeln!(
                stdout,
                "{name}: PMTiles v3, {} tiles, {} tiles addressed, {} distinct contents, \
                 zooms {}-{}, {}",
                h.format_name(),
                h.addressed_tiles,
                h.tile_contents,
                h.min_zoom,
                h.max_zoom,
                if h.clustered {
                    "clustered"
                } else {
                    "not clustered"
                }
            )?;
            for z in h.min_zoom..=h.max_zoom.min(mlytiles_tile::MAX_ZOOM) {
                let n = a.list(z, None).with_context(|| name.clone())?.len();
                writeln!(stdout, "  z{z}: {n} tiles")?;
            }
            for (k, v) in a.metadata()? {
                writeln!(stdout, "  {k}: {v}")?;
            }
        }
        Command::Export(e) => export(e, &mut stdout)?,
    }
    Ok(())
}

fn export(args: &Export, stdout: &mut impl Write) -> Result<()> {
    let start = Instant::now();
    let cache;
    let path = match &args.store {
        Some(p) => p.clone(),
        None => {
            cache = crate::cache_home::ReadCache::open(args.cache.as_deref())?;
            let tileset = "mly1_public";
            match mlytiles_store::find_store(&cache.dir, tileset)? {
                Some(p) => p,
                None => bail!("{} has no {tileset} store", cache.describe()),
            }
        }
    };
    let name = path.display().to_string();
    let store = mlytiles_store::open_store(&path).with_context(|| name.clone())?;
    let filter = args.filter.to_filter()?;
    let bbox = filter.area.as_ref().and_then(mlytiles_filter::Area::bounds);
    let now = mlytiles_filter::chrono::Utc::now();
    let mut writer =
        mlytiles_store::ArchiveWriter::create(&args.out, mlytiles_store::ArchiveFormat::Mvt)?;
    let mut stats = mlytiles_store::TileStats::new();
    let (mut read, mut empty) = (0u64, 0u64);
    for z in args.zooms.0..=args.zooms.1 {
        let mut tiles = mlytiles_store::data_tiles(store.as_ref(), Some(z), bbox)
            .with_context(|| name.clone())?;
        tiles.sort_by_key(|t| mlytiles_store::pmtiles_tile_id(*t));
        for tile in tiles {
            let Some(stored) = store.get(tile).with_context(|| name.clone())? else {
                continue;
            };
            read += 1;
            let raw = stored.uncompressed().with_context(|| name.clone())?;
            let kept = mlytiles_filter::filter_mvt(&raw, Some(tile), &filter, now)
                .with_context(|| format!("{name}: tile {tile}"))?;
            if kept.bytes.is_empty() {
                empty += 1;
                continue;
            }
            stats
                .add_tile(tile, &kept.bytes)
                .with_context(|| format!("tile {tile}"))?;
            writer.add(tile, &kept.bytes)?;
        }
    }
    let bounds = match bbox.or(stats.bounds()) {
        Some(b) => b,
        None => mlytiles_tile::BBox::new(-180.0, -85.051_129, 180.0, 85.051_129)?,
    };
    let flags = crate::filter_args::flags_given(&std::env::args().collect::<Vec<_>>(), &[]);
    let mut meta = serde_json::Map::new();
    meta.insert("name".into(), "Mapillary (filtered)".into());
    meta.insert("format".into(), "pbf".into());
    meta.insert("type".into(), "overlay".into());
    meta.insert("attribution".into(), "Mapillary, CC BY-SA".into());
    meta.insert(
        "description".into(),
        format!("{name} filtered by mlytiles: {}", flags.join(" ")).into(),
    );
    meta.insert("vector_layers".into(), stats.vector_layers());
    let (z0, z1) = args.zooms;
    if let Some((a, b)) = stats.zooms() {
        meta.insert("minzoom".into(), a.into());
        meta.insert("maxzoom".into(), b.into());
    }
    let summary = writer.finish(&meta, bounds)?;
    writeln!(
        stdout,
        "Exported z{z0}-{z1}: {read} tiles read, {} written and {empty} with no matching \
         feature left out, into {} ({} bytes) in {:.2} s",
        summary.tiles,
        args.out.display(),
        summary.bytes,
        start.elapsed().as_secs_f64()
    )?;
    Ok(())
}
