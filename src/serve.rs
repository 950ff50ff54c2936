//! `mlytiles serve`: the tile server of `mlytiles-serve` on the command line, with its logging
//! and a graceful stop on SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use mlytiles_serve::mlytiles_fetch::{FetchConfig, Token};
use mlytiles_serve::{Config, Server};

/// Serve coverage PNG tiles and filtered vector tiles from the cache, with a preview page.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Endpoints:
  /                                   the preview page (MapLibre GL JS; see --assets, --basemap)
  /{style}/{z}/{x}/{y}.png, @2x.png   coverage tiles; styles: mapillary, classic, age, pano,
                                      density, organization:ID, creator:ID
  /mvt/{tileset}/{z}/{x}/{y}.mvt      the stored vector tile, filtered when filters are given
  /mvt/{tileset}/{z}/{x}/{y}.geojson  the same features as GeoJSON (ids as strings)
  /tiles.json                         TileJSON 3.0.0 of the mapillary coverage style
  /{style}/tiles.json, /mvt/{tileset}/tiles.json   TileJSON of one style or tileset
  /catalog.json                       every style's and tileset's TileJSON (an array)
  /assets/...                         the map library's files (with --assets)
  /health                             status as JSON
Filters are query parameters named as the filter flags: ?since=2023-01-01&pano=only&org=none

Examples:
  mlytiles serve --cache fixtures/cache
  npm ci --prefix crates/serve/web && mlytiles serve --basemap none \
      --assets crates/serve/web/node_modules      # fully offline preview
  mlytiles serve --addr 0.0.0.0:8080 --public-url https://tiles.example.org/mly
  MAPILLARY_ACCESS_TOKEN=... mlytiles serve --fetch --daily-budget 5000")]
pub struct Args {
    /// The cache folder: one store per tileset [default: MLYTILES_CACHE, else the user cache
    /// folder's `mlytiles`, as for `mlytiles fetch`; while that holds no store, and without
    /// --fetch, the bundled sample area is served].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// The address to listen on: IP:PORT or HOST:PORT, such as localhost:8080 (port 0 picks a
    /// free one; the log says which).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080", value_parser = parse_addr)]
    addr: SocketAddr,

    /// Fetch tiles missing from the cache from Mapillary, within the daily budget. The token
    /// comes from MAPILLARY_ACCESS_TOKEN or --token-file.
    #[arg(long)]
    fetch: bool,

    /// A file whose first line is the Mapillary access token (for --fetch).
    #[arg(long, value_name = "FILE", requires = "fetch")]
    token_file: Option<PathBuf>,

    /// Requests to Mapillary allowed per UTC day (for --fetch; shared with `mlytiles fetch`).
    #[arg(long, value_name = "N", default_value_t = 50_000, requires = "fetch")]
    daily_budget: u64,

    /// The tileset PNG tiles draw coverage from.
    #[arg(long, value_name = "TILESET", default_value = "mly1_public")]
    coverage: String,

    /// The highest zoom of PNG tiles (above 14 the z14 data is drawn larger).
    #[arg(long, value_name = "Z", default_value_t = 17, value_parser = clap::value_parser!(u8).range(0..=22))]
    max_zoom: u8,

    /// Memory for answered tiles, in MiB (and half as much again for decompressed data tiles,
    /// and that again for the z14 parents of overzoomed tiles).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    memory_cache: usize,

    /// Cache-Control max-age of tiles, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    max_age: u64,

    /// The URL clients reach the server at, for tiles.json (set it behind a reverse proxy).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,

    /// The most connections open at once (0: from the open-file limit, which the server
    /// raises to its hard limit at start; the log says both). When full, the connection
    /// quiet the longest is closed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_connections: usize,

    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,

    /// Seconds a connection may stall (nothing sent or read) while none of its requests is
    /// being answered, before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,

    /// Seconds between the summary lines of the log.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    summary_every: u64,

    /// The node_modules folder holding the preview page's libraries, MapLibre GL JS and
    /// pmtiles (`npm ci --prefix crates/serve/web` fills crates/serve/web/node_modules); their
    /// dist/ folders are served read-only under /assets/. The files must be the pinned
    /// versions' (checked at start). Without it the page loads those versions from unpkg.com,
    /// checked by their integrity hashes.
    #[arg(long, value_name = "DIR")]
    assets: Option<PathBuf>,

    /// The preview page's base map: a raster tile URL with {z}, {x} and {y}, or `none` (offline).
    #[arg(long, value_name = "URL|none", default_value = mlytiles_serve::OSM_TILES)]
    basemap: String,

    /// The base map's attribution [default: "© OpenStreetMap contributors" for OpenStreetMap's
    /// tiles, else "base map: HOST"; give the credit your tile provider asks for].
    #[arg(long, value_name = "TEXT")]
    basemap_attribution: Option<String>,

    /// Log every request (debug level). RUST_LOG overrides the levels.
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    init_logging(args.verbose);
    // With --fetch the server fills the cache, so it starts from it even when it is empty;
    // without, an empty default cache shows the bundled sample (see `ReadCache::open`).
    let (cache_dir, _sample) = if args.fetch {
        (crate::cache_home::resolve(args.cache.as_deref())?, None)
    } else {
        let cache = crate::cache_home::ReadCache::open(args.cache.as_deref())?;
        (cache.dir.clone(), Some(cache))
    };
    let fetch = if args.fetch {
        let token = match &args.token_file {
            Some(file) => Some(Token::from_file(file)?),
            None => Token::from_env()?,
        };
        anyhow::ensure!(
            token.is_some(),
            "--fetch needs a Mapillary access token: set MAPILLARY_ACCESS_TOKEN or pass --token-file FILE"
        );
        Some(FetchConfig {
            token,
            daily_budget: args.daily_budget,
            ..FetchConfig::from_env()
        })
    } else {
        None
    };
    if let Some(url) = &args.public_url {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--public-url must start with http:// or https://, not {url:?}"
        );
    }
    let basemap = (args.basemap != "none").then(|| args.basemap.clone());
    if let Some(url) = &basemap {
        anyhow::ensure!(
            (url.starts_with("http://") || url.starts_with("https://"))
                && ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p)),
            "--basemap must be an http(s) tile URL with {{z}}, {{x}} and {{y}}, or none; not {url:?}"
        );
    }
    let config = Config {
        cache_dir,
        addr: args.addr,
        coverage_tileset: args.coverage.clone(),
        max_png_zoom: args.max_zoom,
        memory_cache_bytes: args.memory_cache.saturating_mul(1 << 20),
        data_cache_bytes: (args.memory_cache / 2).saturating_mul(1 << 20),
        max_age: Duration::from_secs(args.max_age),
        summary_interval: Duration::from_secs(args.summary_every),
        render_threads: 0,
        public_url: args.public_url.clone(),
        fetch,
        max_connections: args.max_connections,
        header_read_timeout: Duration::from_secs(args.header_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        assets_dir: args.assets.clone(),
        basemap,
        basemap_attribution: args
            .basemap_attribution
            .clone()
            .unwrap_or_else(|| basemap_credit(&args.basemap)),
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = Server::bind(config).await?;
        server.run_until(shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

/// `IP:PORT`, or `HOST:PORT` resolved to its first address (an IPv4 one when there is one,
/// as `localhost` is most often reached by 127.0.0.1).
fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?}: expected HOST:PORT or IP:PORT, such as localhost:8080"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!(
            "{s:?}: expected HOST:PORT or IP:PORT with a port of 0-65535, such as localhost:8080"
        ));
    }
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("{host:?}: cannot resolve the host name ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("{host:?}: the host name has no address"))
}

/// Logs to stderr: info by default (the summary lines), debug for the server with -v.
fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose {
        "info,mlytiles_serve=debug"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: finishing the requests in progress"),
        () = terminate => tracing::info!("SIGTERM: finishing the requests in progress"),
    }
}

/// The base map's credit when none is given: OpenStreetMap's for its tiles, else the tile
/// host's name (never OpenStreetMap's credit on someone else's tiles).
fn basemap_credit(url: &str) -> String {
    if url == mlytiles_serve::OSM_TILES {
        return mlytiles_serve::OSM_ATTRIBUTION.into();
    }
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    format!("base map: {host}")
}
