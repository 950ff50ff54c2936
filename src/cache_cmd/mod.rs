//! `mlytiles cache info|verify|failed [DIR]`: what a cache folder holds, whether it is sound,
//! and which tiles failed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use mlytiles_fetch::{Budget, FetchConfig};
use mlytiles_store::{Cache, MbTiles, TileStatus, TileStore};

mod verify;

use self::verify::verify;

/// Inspect a cache folder: tiles per tileset and zoom, integrity, failed tiles.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Exit codes: 0 success, 1 error or (verify) problems found, 2 usage error.

Examples:
  mlytiles cache info
  mlytiles cache verify ./cache
  mlytiles cache failed ./cache --tileset mly1_public")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Tiles per tileset and zoom (data, empty, failed), fetch times, file sizes and today's
    /// request budget.
    Info(Target),
    /// Check every store: SQLite integrity and every stored tile decoding as a vector tile.
    Verify(Target),
    /// The tiles whose last fetch failed, with the reason: `tileset z/x/y time reason`.
    Failed(Target),
}

#[derive(Debug, clap::Args)]
struct Target {
    /// The cache folder [default: MLYTILES_CACHE, else the user cache folder's `mlytiles`].
    dir: Option<PathBuf>,
    /// The cache folder, as every other command takes it (the same as DIR).
    #[arg(long = "cache", value_name = "DIR", conflicts_with = "dir")]
    cache: Option<PathBuf>,
    /// Only this tileset.
    #[arg(long)]
    tileset: Option<String>,
}

/// Zooms looked at: Mapillary stops at 14, other servers go further.
const MAX_LISTED_ZOOM: u8 = 22;

impl Target {
    fn open(&self) -> anyhow::Result<(PathBuf, Cache, Vec<String>)> {
        let dir = crate::cache_home::resolve(self.cache.as_deref().or(self.dir.as_deref()))?;
        if !dir.is_dir() {
            bail!("{}: no such cache folder", dir.display());
        }
        let cache = Cache::open(&dir)?;
        let mut tilesets = cache.tilesets()?;
        if let Some(t) = &self.tileset {
            tilesets.retain(|n| n == t);
            if tilesets.is_empty() {
                bail!("{}: no store for tileset {t:?}", dir.display());
            }
        }
        Ok((dir, cache, tilesets))
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        Command::Info(t) => info(t),
        Command::Verify(t) => verify(t),
        Command::Failed(t) => failed(t),
    }
}

fn open_read_only(cache: &Cache, tileset: &str) -> anyhow::Result<MbTiles> {
    let path = cache.store_path(tileset)?;
    MbTiles::open_read_only(&path).with_context(|| path.display().to_string())
}

fn info(t: &Target) -> anyhow::Result<()> {
    let (dir, cache, tilesets) = t.open()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "cache {}", dir.display())?;
    if dir.join(mlytiles_fetch::BUDGET_FILE).exists() {
        let limit = FetchConfig::default().daily_budget;
        let budget = Budget::open(&dir, limit)?;
        writeln!(
            out,
            "requests today (UTC): {} ({} left of the default {limit})",
            budget.used_today()?,
            budget.remaining()?
        )?;
    }
    if tilesets.is_empty() {
        writeln!(out, "no tilesets")?;
    }
    for name in tilesets {
        let store = open_read_only(&cache, &name)?;
        let size = std::fs::metadata(store.path())
            .map(|m| m.len())
            .unwrap_or(0);
        let c = store.count_by_status()?;
        writeln!(
            out,
            "{name}: {} tiles ({} data, {} empty, {} failed), {:.1} MiB",
            c.total(),
            c.data,
            c.empty,
            c.failed,
            size as f64 / f64::from(1u32 << 20)
        )?;
        for z in 0..=MAX_LISTED_ZOOM {
            let tiles = store.list_info(z, None)?;
            if tiles.is_empty() {
                continue;
            }
            let count = |s: TileStatus| tiles.iter().filter(|(_, i)| i.status == s).count();
            let times = tiles.iter().filter_map(|(_, i)| i.fetched_at);
            let (oldest, newest) = (times.clone().min(), times.max());
            let when = crate::fetch::fetched_between(oldest, newest);
            writeln!(
                out,
                "  z{z}: {} data, {} empty, {} failed{when}",
                count(TileStatus::Data),
                count(TileStatus::Empty),
                count(TileStatus::Failed)
            )?;
        }
    }
    Ok(())
}

/// The stores of a cache folder (MBTiles files and tile folders alike), only `only`'s if given.
fn stores_of(dir: &std::path::Path, only: Option<&str>) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut stores =
        crate::cache_home::stores(dir).with_context(|| format!("listing {}", dir.display()))?;
    stores.retain(|(name, _)| only.is_none_or(|t| t == name));
    Ok(stores)
}

fn failed(t: &Target) -> anyhow::Result<()> {
    let (_, cache, tilesets) = t.open()?;
    // Reasons are scrubbed of the token when stored; those stored by an older mlytiles may
    // not be, so they are scrubbed again with the token at hand (a malformed one is ignored).
    let token = mlytiles_fetch::Token::from_env().ok().flatten();
    let mut out = std::io::stdout().lock();
    let mut n = 0u64;
    for name in tilesets {
        let store = open_read_only(&cache, &name)?;
        for z in 0..=MAX_LISTED_ZOOM {
            for (tile, info) in store.list_info(z, None)? {
                if info.status != TileStatus::Failed {
                    continue;
                }
                if let Some(f) = info.failure {
                    n += 1;
                    writeln!(
                        out,
                        "{name} {tile} {} {}",
                        f.at.format("%Y-%m-%dT%H:%M:%SZ"),
                        token
                            .as_ref()
                            .map_or(f.reason.clone(), |t| t.scrub(&f.reason))
                    )?;
                }
            }
        }
    }
    if n == 0 {
        eprintln!("no failed tiles");
    }
    Ok(())
}
