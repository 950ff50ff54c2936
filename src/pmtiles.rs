//! `mlytiles pmtiles merge|info`: join the PMTiles archives of a sharded pyramid run, and say
//! what an archive holds.

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
  mlytiles pmtiles info coverage.pmtiles")]
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
    }
    Ok(())
}
