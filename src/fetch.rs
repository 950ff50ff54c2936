//! `mlytiles fetch`: plan and run downloads into the cache, with a daily budget, progress and
//! a summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mlytiles_fetch::{
    FetchConfig, Fetcher, Plan, PlanOptions, Progress, RunOptions, StopReason, Summary, Tileset,
    Token, plan,
};
use mlytiles_filter::Area;
use mlytiles_store::chrono::{self, Utc};
use mlytiles_store::{Cache, TileStore};
use mlytiles_tile::{BBox, TileId};

use crate::units::human_bytes;

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
    if args.plan || the_plan.to_request.is_empty() {
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

/// Why fetching the overview index stopped: at a limit or on Ctrl-C, the message and exit
/// code of a run that stopped there; any other error goes back to `main`.
fn report_stop(e: mlytiles_fetch::Error, remaining: u64) -> anyhow::Result<std::process::ExitCode> {
    let code = match e {
        mlytiles_fetch::Error::BudgetExhausted { .. }
        | mlytiles_fetch::Error::DailyLimit { .. } => EXIT_LIMIT,
        mlytiles_fetch::Error::Stopped => EXIT_INTERRUPTED,
        e => return Err(e.into()),
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    if code == EXIT_LIMIT {
        let _ = writeln!(
            err,
            "{remaining} tiles remain; run the same command again after the reset"
        );
    }
    Ok(code.into())
}

fn config(args: &Args, tileset: &Tileset) -> anyhow::Result<FetchConfig> {
    let mut config = FetchConfig {
        concurrency: args.concurrency,
        daily_budget: args.budget,
        missing_is_empty: !args.strict_missing,
        ..FetchConfig::from_env()
    };
    if let Some(e) = &args.endpoint {
        config.endpoint = e.trim_end_matches('/').to_string();
    }
    if let Some(f) = &args.token_file {
        config.token = Some(Token::from_file(f)?);
    } else if config.token.is_none() {
        // Surface a malformed variable instead of silently sending no token.
        config.token = Token::from_env()?;
    }
    if let Some(r) = &args.rate {
        config.rate = Some(parse_rate(r)?);
    }
    config.validate()?;
    if tileset.is_mapillary()
        && config.token.is_none()
        && config.endpoint == mlytiles_fetch::DEFAULT_ENDPOINT
        && !args.plan
    {
        bail!(
            "no access token: set MAPILLARY_ACCESS_TOKEN or give --token-file FILE \
             (a client token from https://www.mapillary.com/dashboard/developers)"
        );
    }
    Ok(config)
}

/// `20`, `20/s`, `600/min`, `3600/h` to requests per second.
fn parse_rate(s: &str) -> anyhow::Result<f64> {
    let (n, per) = match s.split_once('/') {
        Some((n, unit)) => (
            n,
            match unit.trim() {
                "s" | "sec" => 1.0,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                other => bail!("--rate {s:?}: unknown unit {other:?} (use /s, /min or /h)"),
            },
        ),
        None => (s, 1.0),
    };
    let n: f64 = n
        .trim()
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .with_context(|| {
            format!("--rate {s:?}: expected a positive number such as 20 or 600/min")
        })?;
    Ok(n / per)
}

/// `90s`, `30m`, `12h`, `7d`, `2w`.
fn parse_age(s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok().with_context(|| {
        format!("--refresh-older-than {s:?}: expected a number and a unit such as 7d")
    })?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        other => bail!("--refresh-older-than {s:?}: unknown unit {other:?} (s, m, h, d or w)"),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// Covers beyond this many tiles are refused (they would take hundreds of days of budget).
const MAX_TILES: u64 = 10_000_000;

/// The tiles of the area given by --bbox, --within or --tiles.
fn area_tiles(args: &Args) -> anyhow::Result<Vec<TileId>> {
    // clap's `area` group makes these exclusive, and one of them required.
    if let Some(bbox) = args.bbox {
        return Ok(mlytiles_tile::cover_box(
            bbox,
            args.zoom,
            MAX_TILES,
            |_| true,
        )?);
    }
    if let Some(path) = &args.within {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--within {}", path.display()))?;
        let area = Area::from_geojson(&text).with_context(|| path.display().to_string())?;
        let bounds = area
            .bounds()
            .with_context(|| format!("{}: the area is empty", path.display()))?;
        return Ok(match &area {
            Area::Polygon(mp) => mlytiles_tile::cover_polygons(mp, args.zoom, MAX_TILES)?,
            // GeoJSON gives polygons; any other area would be covered by its box.
            _ => mlytiles_tile::cover_box(bounds, args.zoom, MAX_TILES, |_| true)?,
        });
    }
    let path = args.tiles.as_deref().unwrap_or(Path::new("-"));
    read_tile_list(path)
}

/// The tiles listed in a file (see [`mlytiles_tile::parse_tile_list`]).
fn read_tile_list(path: &Path) -> anyhow::Result<Vec<TileId>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--tiles {}", path.display()))?;
    mlytiles_tile::parse_tile_list(&text).map_err(|e| match e {
        mlytiles_tile::Error::TileListLine { line, text, source } => anyhow::Error::new(*source)
            .context(format!(
                "{}:{line}: {text:?} is not a tile: expected z/x/y such as 14/8185/5447",
                path.display()
            )),
        mlytiles_tile::Error::EmptyTileList => anyhow!("{}: no tiles listed", path.display()),
        e => e.into(),
    })
}

fn print_plan(
    tileset: &Tileset,
    plan: &Plan,
    daily: u64,
    left_today: u64,
    index_note: &str,
    took: Duration,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let fresh = fetched_between(plan.oldest, plan.newest);
    writeln!(
        out,
        "plan for {}: {} tiles; cached {} ({} data, {} empty{fresh}); failed before {}; \
         missing {}",
        tileset.name(),
        plan.total,
        plan.cached_data + plan.cached_empty,
        plan.cached_data,
        plan.cached_empty,
        plan.failed,
        plan.missing,
    )?;
    let mut parts = vec![format!("to request {}", plan.requests())];
    if plan.stale > 0 {
        parts.push(format!("{} of them re-checks of old tiles", plan.stale));
    }
    if plan.skipped_empty > 0 {
        parts.push(format!(
            "skip-empty saves {} requests (z13 cells without images)",
            plan.skipped_empty
        ));
    }
    let days = plan.days(daily, left_today);
    let budget = if days == 0 {
        format!("fits in today's budget ({left_today} of {daily} left)")
    } else {
        format!(
            "takes {days} days of budget ({left_today} of {daily} left today, then {daily} a day)"
        )
    };
    parts.push(budget);
    writeln!(
        out,
        "{}{index_note} (planned in {:.2} s)",
        parts.join("; "),
        took.as_secs_f64()
    )?;
    Ok(())
}

async fn fetch(
    args: &Args,
    fetcher: &Fetcher,
    tileset: &Tileset,
    store: Arc<dyn TileStore>,
    plan: &Plan,
) -> anyhow::Result<Summary> {
    let stopper = fetcher.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping: the requests in flight are dropped, stored tiles stay");
            stopper.stop();
        }
    });
    let total = plan.requests();
    let progress: Option<mlytiles_fetch::ProgressFn> = if args.quiet {
        None
    } else if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(Arc::new(move |p: &Progress| {
            bar.set_position(p.done);
            bar.set_message(format!(
                "data {} empty {} failed {} cached {} {} budget left {}",
                p.data,
                p.empty + p.not_modified,
                p.failed,
                p.from_cache,
                human_bytes(p.bytes),
                p.budget_left
            ));
            if p.done == p.total {
                bar.finish_and_clear();
            }
        }))
    } else {
        let last = Mutex::new(Instant::now());
        Some(Arc::new(move |p: &Progress| {
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(5) || p.done == p.total {
                *last = Instant::now();
                eprintln!(
                    "{}/{} tiles: {} data, {} empty, {} failed; {} requests, {}, {:.1} tiles/s; \
                     budget left {}",
                    p.done,
                    p.total,
                    p.data,
                    p.empty + p.not_modified,
                    p.failed,
                    p.requests,
                    human_bytes(p.bytes),
                    p.done as f64 / p.elapsed.as_secs_f64().max(1e-3),
                    p.budget_left
                );
            }
        }))
    };
    let options = RunOptions {
        progress,
        from_cache: plan.cached(),
    };
    let summary =
        mlytiles_fetch::run(fetcher, tileset, store, plan.to_request.clone(), options).await?;
    ctrl_c.abort();
    Ok(summary)
}

fn print_summary(tileset: &Tileset, s: &Summary) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let p = &s.progress;
    writeln!(
        out,
        "{}: {} of {} tiles in {:.1} s: {} data, {} empty, {} not modified, {} failed; \
         {} from the cache; {} requests, {}; {} requests left in today's budget",
        tileset.name(),
        p.done,
        p.total,
        p.elapsed.as_secs_f64(),
        p.data,
        p.empty,
        p.not_modified,
        p.failed,
        p.from_cache,
        p.requests,
        human_bytes(p.bytes),
        p.budget_left
    )?;
    if p.by_other_runs > 0 {
        writeln!(
            out,
            "  {} tiles were fetched meanwhile by another run using this cache",
            p.by_other_runs
        )?;
    }
    for (kind, (count, sample)) in &s.failures {
        writeln!(out, "  failed ({kind}): {count} tiles, e.g. {sample}")?;
    }
    if p.failed > 0 {
        writeln!(
            out,
            "  the failed tiles are requested again by the next run (or only them with \
             --retry-failed); list them with `mlytiles cache failed`"
        )?;
    }
    if let Some(stop) = &s.stopped {
        let when = match stop {
            StopReason::Budget { resets_at, .. } => {
                let left = *resets_at - Utc::now();
                format!(
                    " (in {} h {} min); run the same command again then to resume",
                    left.num_hours(),
                    left.num_minutes() % 60
                )
            }
            StopReason::DailyLimit(_) => {
                format!(
                    "; Mapillary's limits reset daily: run the same command again later \
                     (our budget resets at {} UTC)",
                    mlytiles_fetch::next_reset(Utc::now()).format("%Y-%m-%d %H:%M")
                )
            }
            _ => String::new(),
        };
        writeln!(out, "stopped: {stop}{when}; {} tiles remain", s.remaining)?;
    }
    Ok(())
}

/// `", fetched OLDEST to NEWEST"` when both times are known, else nothing: how fresh cached tiles are.
pub(crate) fn fetched_between(
    oldest: Option<chrono::DateTime<Utc>>,
    newest: Option<chrono::DateTime<Utc>>,
) -> String {
    match (oldest, newest) {
        (Some(o), Some(n)) => format!(
            ", fetched {} to {}",
            o.format("%Y-%m-%d %H:%M"),
            n.format("%Y-%m-%d %H:%M")
        ),
        _ => String::new(),
    }
}
