//! `mlytiles fetch`: plan and run downloads into the cache, with a daily budget, progress and
//! a summary.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use mlytiles_fetch::{Fetcher, PlanOptions, StopReason, Tileset, plan};
use mlytiles_store::Cache;
use mlytiles_store::chrono::{self, Utc};
use mlytiles_tile::{BBox, TileId};

use self::area::area_tiles;
use self::options::{config, parse_age};
use self::progress::fetch;
use self::report::{print_plan, print_summary, report_stop};

mod area;
mod options;
mod progress;
mod report;

pub(crate) use self::report::fetched_between;

/// Exit code of a run stopped by the daily budget or the server's daily limit: run the same
/// command again after the reset to go on.
pub const EXIT_LIMIT: u8 = 3;
/// Exit code of a run interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Download tiles from tiles.mapillary.com (or another MVT server) into the cache: a plan
/// first, a daily request budget, resumable, every answer checked before it is stored.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The token comes from MAPILLARY_ACCESS_TOKEN or --token-file and is sent only as the
access_token query parameter; it is never printed or written.

A re-run requests only what is missing or failed; --retry-failed requests only the tiles
whose last fetch failed. Tiles fetched earlier are requested again only with
--refresh-older-than (as conditional requests: unchanged tiles cost a request but no body).

Exit codes: 0 done (some tiles may have failed: the summary and `mlytiles cache failed` list
them), 1 failure (every tile requested failed, invalid token, I/O), 2 usage error, 3 stopped
at the daily budget or the server's daily limit (run again after the reset), 130 interrupted.

Examples:
  mlytiles fetch --bbox 13.37,52.50,13.42,52.53 --plan
  mlytiles fetch --tileset mly_map_feature_traffic_sign --within area.geojson
  mlytiles fetch --tiles list.txt --cache ./cache --budget 10000 --rate 20
  mlytiles fetch --url 'https://example.com/tiles/{z}/{x}/{y}.pbf' --bbox 5,45,6,46 --zoom 10")]
#[command(group = clap::ArgGroup::new("area").required(true).args(["bbox", "within", "tiles"]))]
pub struct Args {
    /// Mapillary tileset: mly1_public, mly1_computed_public, mly_map_feature_point,
    /// mly_map_feature_traffic_sign.
    #[arg(long, default_value = "mly1_public")]
    tileset: String,
    /// Fetch another MVT server's tiles from this URL template with {z}, {x} and {y}
    /// (the Mapillary token is not sent to it).
    #[arg(long, value_name = "TEMPLATE")]
    url: Option<String>,
    /// Store name for --url [default: custom-HASH, from the template without its query].
    #[arg(long, requires = "url")]
    name: Option<String>,
    /// The area as a box: west,south,east,north in degrees.
    #[arg(long, value_name = "W,S,E,N", allow_hyphen_values = true)]
    bbox: Option<BBox>,
    /// The area as a GeoJSON Polygon or MultiPolygon (a Feature or FeatureCollection of them).
    #[arg(long, value_name = "FILE")]
    within: Option<PathBuf>,
    /// The tiles to fetch, one z/x/y per line (# starts a comment).
    #[arg(long, value_name = "FILE", conflicts_with = "zoom")]
    tiles: Option<PathBuf>,
    /// Zoom of the tiles covering --bbox or --within.
    #[arg(long, default_value_t = 14)]
    zoom: u8,
    /// The cache folder [default: MLYTILES_CACHE, else the user cache folder's `mlytiles`].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Print the plan (tiles, cached, to request, days of budget) and fetch nothing.
    #[arg(long)]
    plan: bool,
    /// Requests allowed per UTC day, shared by every run using the cache folder.
    #[arg(long, default_value_t = 50_000)]
    budget: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Pace limit, e.g. 20 or 20/s or 600/min [default: none].
    #[arg(long, value_name = "N/s")]
    rate: Option<String>,
    /// Request only the tiles whose last fetch failed.
    #[arg(long)]
    retry_failed: bool,
    /// Re-check tiles fetched longer ago than this (30m, 12h, 7d, 2w) with conditional
    /// requests.
    #[arg(long, value_name = "AGE")]
    refresh_older_than: Option<String>,
    /// Do not use the z5 overview tiles to skip z14 tiles without images (on by default for
    /// z14 of mly1_public and mly1_computed_public).
    #[arg(long)]
    no_skip_empty: bool,
    /// Base URL of the Mapillary tilesets, for a mirror or proxy [default: MLYTILES_ENDPOINT,
    /// else `https://tiles.mapillary.com`].
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Read the access token from this file instead of MAPILLARY_ACCESS_TOKEN.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Treat 403 and 404 answers as failures instead of empty tiles.
    #[arg(long)]
    strict_missing: bool,
    /// No progress output (the plan and the final summary are still printed).
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the command; the exit code for a run that stopped at a limit or on Ctrl-C (errors go
/// back to `main`, which prints them and exits with 1).
pub fn run(args: &Args) -> anyhow::Result<std::process::ExitCode> {
    let tileset = match &args.url {
        Some(template) => {
            let t = Tileset::custom(template)?;
            match &args.name {
                Some(name) => t.with_name(name)?,
                None => t,
            }
        }
        None => Tileset::by_name(&args.tileset).with_context(|| {
            format!(
                "unknown tileset {:?}: use one of {}, or --url TEMPLATE",
                args.tileset,
                Tileset::MAPILLARY_NAMES.join(", ")
            )
        })?,
    };
    let tiles = area_tiles(args)?;
    for z in tiles
        .iter()
        .map(TileId::z)
        .collect::<std::collections::BTreeSet<_>>()
    {
        tileset.check_zoom(z)?;
    }
    let cache_dir = crate::cache_home::resolve(args.cache.as_deref())?;
    let cache = Cache::open(&cache_dir)?;
    let store = cache.store(tileset.name())?;
    let config = config(args, &tileset)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let fetcher = Fetcher::new(config, &cache_dir)?;
    let options = PlanOptions {
        only_failed: args.retry_failed,
        refresh_before: match &args.refresh_older_than {
            Some(age) => Some(Utc::now() - chrono::Duration::from_std(parse_age(age)?)?),
            None => None,
        },
    };
    let started = Instant::now();
    let mut the_plan = plan(&*store, &tiles, &options)?;
    let mut index_note = String::new();
    if !args.no_skip_empty && the_plan.overview_skip_applies(&tileset, &tiles) {
        if args.plan {
            let missing = the_plan.skip_empty_cached(&*store)?;
            if missing > 0 {
                index_note = format!(
                    "; skip-empty: {missing} z5 overview tile(s) are not cached yet, the run \
                     fetches them first and skips more"
                );
            }
        } else {
            // The run fetches the missing z5 tiles (a request each) before the z14 tiles.
            let skipped =
                runtime.block_on(the_plan.skip_empty_fetching(&fetcher, &tileset, &*store));
            if let Err(e) = skipped {
                return report_stop(e, the_plan.requests());
            }
        }
    }
    let left_today = fetcher.budget().remaining()?;
    print_plan(
        &tileset,
        &the_plan,
        args.budget,
        left_today,
        &index_note,
        started.elapsed(),
    )?;
    if args.plan {
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if the_plan.to_request.is_empty() {
        // Nothing to fetch: a store filled before its statistics were recorded gets them now.
        if mlytiles_fetch::ensure_metadata(&*store, tileset.name())? {
            eprintln!("{}: recorded the store's layer statistics", tileset.name());
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let summary = runtime.block_on(fetch(args, &fetcher, &tileset, store, &the_plan))?;
    print_summary(&tileset, &summary)?;
    let p = &summary.progress;
    Ok(match &summary.stopped {
        // Nothing came of the run: a cron job must see it.
        None if p.failed > 0 && p.failed == p.done => bail!(
            "every tile requested failed ({} of {}); `mlytiles cache failed{}` lists the reasons",
            p.failed,
            p.done,
            match &args.cache {
                Some(d) => format!(" --cache {}", d.display()),
                None => String::new(),
            }
        ),
        None => std::process::ExitCode::SUCCESS,
        Some(StopReason::Budget { .. } | StopReason::DailyLimit(_)) => EXIT_LIMIT.into(),
        Some(StopReason::Interrupted) => EXIT_INTERRUPTED.into(),
        Some(other) => bail!("{other}"),
    })
}
