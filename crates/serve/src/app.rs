//! The server's state and its endpoints.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mlytiles_filter::chrono::Utc;
use mlytiles_store::{Cache, FolderStore, MbTiles, PmTiles, TileStatus, TileStore};
use mlytiles_tile::TileId;
use tokio::sync::Semaphore;

use crate::datacache::DecodedStore;
use crate::error::{Error, Result};
use crate::flight::Flights;
use crate::memcache::{Entry, Key, Kind, MemCache};
use crate::route::{
    QueryFilter, Reject, TilePath, check_zoom, parse_filter, parse_tile_path, quote,
};
use crate::stats::Stats;
use crate::{Config, mvt, page, png, tilejson};

/// One tileset of the cache: its store and what its metadata says.
#[derive(Debug)]
pub(crate) struct Tileset {
    pub(crate) name: String,
    pub(crate) store: Arc<dyn TileStore>,
    /// The same store with decompressed tiles kept in memory (renders and filters read it).
    pub(crate) decoded: Arc<dyn TileStore>,
    pub(crate) minzoom: u8,
    pub(crate) maxzoom: u8,
    /// W, S, E, N.
    pub(crate) bounds: Option<[f64; 4]>,
    /// The layer names of its `vector_layers` (empty when unknown).
    pub(crate) layers: Vec<String>,
    /// Its `vector_layers` as the metadata gives them (an empty array when unknown).
    pub(crate) vector_layers: serde_json::Value,
    pub(crate) description: Option<String>,
}

/// Fetch-through: the fetcher and, per (tileset, tile), the fetch in flight.
#[derive(Debug)]
pub(crate) struct FetchThrough {
    fetcher: mlytiles_fetch::Fetcher,
    flights: Flights<(String, TileId), std::result::Result<(), Reject>>,
}

/// How many unreadable stored tiles the server remembers having logged.
pub(crate) const UNREADABLE_LOGGED: usize = 10_000;

/// Everything the endpoints share.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) config: Config,
    pub(crate) tilesets: BTreeMap<String, Tileset>,
    pub(crate) memcache: MemCache,
    pub(crate) renders: Semaphore,
    pub(crate) render_flights: Flights<Key, std::result::Result<Arc<Entry>, Reject>>,
    /// Vector-tile answers being built (read, filtered, re-encoded), by key: concurrent
    /// requests for one tile and filter share one run.
    pub(crate) mvt_flights: Flights<Key, std::result::Result<Arc<Entry>, Reject>>,
    pub(crate) stats: Arc<Stats>,
    /// The stores PNG tiles read (`None` without a coverage store).
    pub(crate) sources: Option<mlytiles_render::Sources>,
    /// The z14 parents of overzoomed PNG tiles, read, inflated and indexed once for all their
    /// children (as large as the data cache). Only stored tiles enter it, so a parent that
    /// fetch-through stores later is read then.
    pub(crate) parents: Arc<mlytiles_render::ParentCache>,
    /// Stored tiles found unreadable while drawing (drawn as missing), each logged once; at
    /// most [`UNREADABLE_LOGGED`] remembered.
    pub(crate) unreadable: std::sync::Mutex<std::collections::HashSet<TileId>>,
    fetch: Option<FetchThrough>,
    /// The map library's files for the preview page (`None`: the page loads them from a CDN).
    pub(crate) assets: Option<crate::assets::Assets>,
    local_addr: OnceLock<SocketAddr>,
    page: OnceLock<Bytes>,
    started: Instant,
}

impl App {
    /// Opens the stores (read-only without fetch-through) and the fetcher.
    pub(crate) fn open(config: Config) -> Result<App> {
        let dir = config.cache_dir.clone();
        let assets = config
            .assets_dir
            .as_deref()
            .map(crate::assets::Assets::open)
            .transpose()?;
        let mut stores: BTreeMap<String, Arc<dyn TileStore>> = BTreeMap::new();
        let fetch = match &config.fetch {
            None => {
                if !dir.is_dir() {
                    return Err(Error::NoCache { dir });
                }
                for (name, store) in open_read_only(&dir)? {
                    stores.insert(name, store);
                }
                None
            }
            Some(fetch_config) => {
                // Read-write stores, including the Mapillary tilesets not fetched yet.
                let cache = Cache::open(&dir)?;
                let mut names = cache.tilesets()?;
                for t in mlytiles_fetch::Tileset::mapillary() {
                    if !names.iter().any(|n| n == t.name()) {
                        names.push(t.name().to_owned());
                    }
                }
                for name in names {
                    stores.insert(name.clone(), cache.store(&name)?);
                }
                let fetcher = mlytiles_fetch::Fetcher::new(fetch_config.clone(), &dir)?;
                Some(FetchThrough {
                    fetcher,
                    flights: Flights::default(),
                })
            }
        };
        let mut tilesets = BTreeMap::new();
        for (name, store) in stores {
            tilesets.insert(
                name.clone(),
                describe(name, store, config.data_cache_bytes)?,
            );
        }
        if !tilesets.contains_key(&config.coverage_tileset) {
            tracing::warn!(
                "the cache {} holds no {} store: PNG tiles will show no coverage",
                dir.display(),
                config.coverage_tileset
            );
        }
        let threads = match config.render_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let sources = png::sources(&tilesets, &config.coverage_tileset);
        Ok(App {
            sources,
            memcache: MemCache::new(config.memory_cache_bytes),
            renders: Semaphore::new(threads),
            render_flights: Flights::default(),
            unreadable: Default::default(),
            parents: Arc::new(mlytiles_render::ParentCache::new(config.data_cache_bytes)),
            mvt_flights: Flights::default(),
            stats: Arc::default(),
            fetch,
            assets,
            tilesets,
            config,
            local_addr: OnceLock::new(),
            page: OnceLock::new(),
            started: Instant::now(),
        })
    }

    pub(crate) fn set_local_addr(&self, addr: SocketAddr) {
        let _ = self.local_addr.set(addr);
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr.get().copied().unwrap_or(self.config.addr)
    }

    pub(crate) fn tileset_names(&self) -> Vec<String> {
        self.tilesets.keys().cloned().collect()
    }

    pub(crate) fn log_summary(&self) {
        self.stats.log_summary(self.memcache.usage());
    }

    /// The stored tile, fetched first (once, however many ask at the same time) when it is
    /// missing and fetch-through is on; decompressed (through the in-memory cache of data
    /// tiles) when `decoded`, as stored otherwise.
    pub(crate) async fn stored(
        &self,
        tileset: &Tileset,
        tile: TileId,
        decoded: bool,
    ) -> std::result::Result<Option<mlytiles_store::StoredTile>, Reject> {
        let source = if decoded {
            &tileset.decoded
        } else {
            &tileset.store
        };
        let found = read_store(source, tile).await?;
        let missing = found
            .as_ref()
            .is_none_or(|t| t.info.status == TileStatus::Failed);
        let Some(fetch) = &self.fetch else {
            return Ok(found);
        };
        let Some(spec) = mlytiles_fetch::Tileset::by_name(&tileset.name) else {
            return Ok(found);
        };
        if !missing || spec.check_zoom(tile.z()).is_err() {
            return Ok(found);
        }
        let store = Arc::clone(&tileset.store);
        fetch
            .flights
            .run((tileset.name.clone(), tile), || async {
                // Another flight may have stored it between our read and this one.
                if let Some(t) = read_store(&store, tile).await?
                    && t.info.status != TileStatus::Failed
                {
                    return Ok(());
                }
                self.stats
                    .counters
                    .upstream_fetches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match fetch.fetcher.fetch_tile(&spec, tile, store.as_ref()).await {
                    Ok(mlytiles_fetch::Outcome::Failed { kind, reason }) => {
                        // Retries are spent: say so, rather than answering an empty tile
                        // that clients would keep. The reason quotes upstream: it goes to the
                        // log only, under an id the answer gives.
                        Err(fetch_failed(
                            fetch,
                            spec.name(),
                            tile,
                            kind.as_str(),
                            &format!("{kind}: {reason}"),
                        ))
                    }
                    Ok(outcome) => {
                        tracing::debug!(
                            "fetched {} {tile}: {}",
                            spec.name(),
                            outcome_name(&outcome)
                        );
                        Ok(())
                    }
                    Err(e) => Err(fetch_failed(
                        fetch,
                        spec.name(),
                        tile,
                        error_kind(&e),
                        &e.to_string(),
                    )),
                }
            })
            .await?;
        read_store(source, tile).await
    }
}

/// The 502 answer for a fetch that failed, and its log line. The answer names the kind of
/// failure and a short id; only the log line, under that id, holds the details (which may
/// quote upstream, scrubbed of the token): a client never sees upstream text.
fn fetch_failed(
    fetch: &FetchThrough,
    tileset: &str,
    tile: TileId,
    kind: &str,
    detail: &str,
) -> Reject {
    let id = failure_id();
    // The fetcher scrubs the token from what it quotes; scrub once more before logging.
    let detail = match &fetch.fetcher.config().token {
        Some(t) => t.scrub(detail),
        None => detail.to_string(),
    };
    tracing::warn!(
        "fetch failure {id}: fetching {tileset} {tile}: {}",
        crate::route::one_line(&detail)
    );
    Reject {
        status: StatusCode::BAD_GATEWAY,
        reason: format!(
            "fetching {tileset} {tile} failed ({kind}); the server's log explains failure {id}"
        ),
    }
}

/// A short id for a failure: 8 hex digits, different for each call.
fn failure_id() -> String {
    use std::hash::BuildHasher;
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let h = std::hash::RandomState::new().hash_one(n);
    format!("{:08x}", h & 0xffff_ffff)
}

/// The kind of a fetch error, for the answer to a client.
fn error_kind(e: &mlytiles_fetch::Error) -> &'static str {
    match e {
        mlytiles_fetch::Error::InvalidToken { .. } => "invalid-token",
        mlytiles_fetch::Error::DailyLimit { .. } => "daily-limit",
        mlytiles_fetch::Error::BudgetExhausted { .. } => "budget",
        mlytiles_fetch::Error::Stopped => "stopped",
        mlytiles_fetch::Error::Store(_) => "store",
        _ => "error",
    }
}

fn outcome_name(o: &mlytiles_fetch::Outcome) -> &'static str {
    match o {
        mlytiles_fetch::Outcome::Data { .. } => "data",
        mlytiles_fetch::Outcome::Empty => "empty",
        mlytiles_fetch::Outcome::NotModified => "not modified",
        mlytiles_fetch::Outcome::Failed { .. } => "failed",
        _ => "done",
    }
}

async fn read_store(
    store: &Arc<dyn TileStore>,
    tile: TileId,
) -> std::result::Result<Option<mlytiles_store::StoredTile>, Reject> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || store.get(tile))
        .await
        .map_err(|e| Reject::internal(format!("reading tile {tile}: {e}")))?
        .map_err(|e| {
            tracing::error!("reading tile {tile}: {e}");
            Reject::internal(format!("reading tile {tile} from the cache failed"))
        })
}

/// PMTiles' tile type of Mapbox Vector Tiles (spec v3, header byte 99).
const PMTILES_MVT: u8 = 1;

/// The stores of a cache folder, opened read-only: `{name}.mbtiles` files, `{name}.pmtiles`
/// vector archives and `{name}/` folders whose names are valid tileset names.
fn open_read_only(dir: &Path) -> Result<Vec<(String, Arc<dyn TileStore>)>> {
    let mut out: Vec<(String, Arc<dyn TileStore>)> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(Error::Io)?;
    for entry in entries {
        let entry = entry.map_err(Error::Io)?;
        let path = entry.path();
        let Some(file) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if let Some(name) = file.strip_suffix(".mbtiles") {
            if mlytiles_store::validate_tileset_name(name).is_ok() && path.is_file() {
                out.push((name.to_owned(), Arc::new(MbTiles::open_read_only(&path)?)));
            }
        } else if let Some(name) = file.strip_suffix(".pmtiles") {
            if mlytiles_store::validate_tileset_name(name).is_ok() && path.is_file() {
                let archive = PmTiles::open(&path)?;
                // Vector archives (`mlytiles pmtiles export`) are tilesets; a coverage pyramid
                // of PNGs is for map clients reading the file itself.
                if archive.header().tile_type == PMTILES_MVT {
                    out.push((name.to_owned(), Arc::new(archive)));
                } else {
                    tracing::info!(
                        "{}: a PMTiles archive of raster tiles, not a vector tileset: not served \
                         (open it with a pmtiles:// source)",
                        path.display()
                    );
                }
            }
        } else if path.is_dir()
            && mlytiles_store::validate_tileset_name(&file).is_ok()
            && !out.iter().any(|(n, _)| *n == file)
        {
            out.push((file, Arc::new(FolderStore::open(&path)?)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// Reads what the metadata says of a tileset; known Mapillary tilesets fill the gaps.
fn describe(name: String, store: Arc<dyn TileStore>, data_cache_bytes: usize) -> Result<Tileset> {
    let meta: BTreeMap<String, String> = store.metadata()?.into_iter().collect();
    let spec = mlytiles_fetch::Tileset::by_name(&name);
    let zoom = |key: &str, default: u8| {
        meta.get(key)
            .and_then(|v| v.trim().parse::<u8>().ok())
            .filter(|z| *z <= 22)
            .unwrap_or(default)
    };
    let minzoom = zoom("minzoom", spec.as_ref().map_or(0, |s| s.minzoom()));
    let maxzoom = zoom("maxzoom", spec.as_ref().map_or(14, |s| s.maxzoom())).max(minzoom);
    let bounds = meta.get("bounds").and_then(|b| {
        let v: Vec<f64> = b.split(',').filter_map(|p| p.trim().parse().ok()).collect();
        (v.len() == 4 && v.iter().all(|x| x.is_finite())).then(|| [v[0], v[1], v[2], v[3]])
    });
    let vector_layers = meta
        .get("json")
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|j| j.get("vector_layers").cloned())
        .filter(serde_json::Value::is_array);
    let mut layers: Vec<String> = vector_layers
        .as_ref()
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|l| l.get("id").and_then(|i| i.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if layers.is_empty()
        && let Some(spec) = &spec
    {
        layers = spec.layers().iter().map(|l| l.name.to_string()).collect();
    }
    let vector_layers = vector_layers.unwrap_or_else(|| {
        serde_json::Value::Array(
            layers
                .iter()
                .map(|l| serde_json::json!({ "id": l, "fields": {} }))
                .collect(),
        )
    });
    Ok(Tileset {
        name,
        decoded: Arc::new(DecodedStore::new(Arc::clone(&store), data_cache_bytes)),
        store,
        minzoom,
        maxzoom,
        bounds,
        layers,
        vector_layers,
        description: meta.get("description").cloned(),
    })
}

/// Every endpoint, with the request log around them.
pub(crate) fn router(app: Arc<App>) -> Router {
    let stats = Arc::clone(&app.stats);
    Router::new()
        .route("/", get(preview))
        .route("/health", get(health))
        .route("/tiles.json", get(tiles_json))
        .route("/catalog.json", get(catalog_json))
        .route("/assets/{*path}", get(asset))
        .fallback(tile)
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(
            stats,
            crate::stats::log_request,
        ))
}

/// Logs the summary line every interval.
pub(crate) async fn summaries(app: Arc<App>) {
    let every = app.config.summary_interval.max(Duration::from_millis(10));
    app.stats.start_period();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        app.log_summary();
    }
}

async fn preview(State(app): State<Arc<App>>) -> Response {
    let body = app
        .page
        .get_or_init(|| Bytes::from(page::render(&app)))
        .clone();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let snap = app.stats.snapshot();
    let (entries, bytes) = app.memcache.usage();
    let (parents, parent_bytes) = app.parents.usage();
    let body = serde_json::json!({
        "status": "ok",
        "uptime_s": app.started.elapsed().as_secs(),
        "tilesets": app.tileset_names(),
        "fetch_through": app.fetch.is_some(),
        "requests": snap.requests,
        "renders": snap.renders,
        "memory_hits": snap.memory_hits,
        "filtered_mvt": snap.filtered_mvt,
        "upstream_fetches": snap.upstream_fetches,
        "memory_cache": { "tiles": entries, "bytes": bytes },
        "overzoom_parents": { "tiles": parents, "bytes": parent_bytes },
    });
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

fn unknown_tileset(app: &App, tileset: &str) -> Reject {
    Reject::not_found(format!(
        "unknown tileset {} (the cache holds: {})",
        quote(tileset),
        app.tileset_names().join(", ")
    ))
}

fn json_response(doc: serde_json::Value) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        axum::Json(doc),
    )
        .into_response()
}

/// The default coverage style's TileJSON.
async fn tiles_json(State(app): State<Arc<App>>, request: Request) -> Response {
    match tilejson::default_json(&app, request.uri().query(), request.headers()) {
        Ok(v) => json_response(v),
        Err(r) => r.into_response(),
    }
}

/// Every style's and tileset's TileJSON.
async fn catalog_json(State(app): State<Arc<App>>, request: Request) -> Response {
    match tilejson::catalog(&app, request.uri().query(), request.headers()) {
        Ok(v) => json_response(v),
        Err(r) => r.into_response(),
    }
}

/// A file of the map library, from the assets folder (`--assets`).
async fn asset(State(app): State<Arc<App>>, request: Request) -> Response {
    let path = request.uri().path();
    let answer = async {
        crate::route::check_not_path_like(path)?;
        let Some(assets) = &app.assets else {
            return Err(Reject::not_found(
                "no assets folder: the server was started without --assets (the preview page \
                 loads its map library from a CDN)",
            ));
        };
        let relative = path.strip_prefix("/assets/").unwrap_or_default();
        let (bytes, media_type) = assets.file(relative).await?;
        Ok((
            [
                (header::CONTENT_TYPE, media_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response())
    };
    answer.await.unwrap_or_else(|r: Reject| r.into_response())
}

/// Tiles, and every path no route claims.
async fn tile(State(app): State<Arc<App>>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
            "only GET and HEAD are served\n",
        )
            .into_response();
    }
    let path = request.uri().path();
    let query = request.uri().query();
    let headers = request.headers();
    let result = match parse_tile_path(path) {
        Err(r) => Err(r),
        Ok(None) => Err(Reject::not_found(format!(
            "no such endpoint: {} (see / for the preview page and /catalog.json for the tile URLs)",
            quote(path)
        ))),
        Ok(Some(TilePath::Png { style, tile, scale })) => {
            png_tile(&app, &style, tile, scale, query, headers).await
        }
        Ok(Some(TilePath::Mvt { tileset, tile })) => {
            mvt_tile(&app, &tileset, tile, query, headers).await
        }
        Ok(Some(TilePath::GeoJson { tileset, tile })) => {
            geojson_tile(&app, &tileset, tile, query).await
        }
        Ok(Some(TilePath::StyleJson { style })) => png::parse_style(&style).and_then(|style| {
            let filter = parse_filter(query)?;
            let base = tilejson::base_url(&app, headers);
            let doc = tilejson::style_json(&app, &base, &style.to_string(), &filter);
            Ok(json_response(doc))
        }),
        Ok(Some(TilePath::TilesetJson { tileset })) => match app.tilesets.get(&tileset) {
            None => Err(unknown_tileset(&app, &tileset)),
            Some(t) => parse_filter(query).and_then(|filter| {
                if let Some(f) = &filter.filter {
                    mvt::check_tileset(f, &t.name, &t.layers)?;
                }
                let base = tilejson::base_url(&app, headers);
                Ok(json_response(tilejson::tileset_json(&base, t, &filter)))
            }),
        },
    };
    result.unwrap_or_else(|r| {
        if r.status.is_server_error() {
            tracing::warn!("{} {}: {}", request.method(), quote(path), r.reason);
        }
        r.into_response()
    })
}

async fn png_tile(
    app: &Arc<App>,
    style: &str,
    tile: TileId,
    scale: u8,
    query: Option<&str>,
    headers: &HeaderMap,
) -> std::result::Result<Response, Reject> {
    let style = png::parse_style(style)?;
    check_zoom(tile, 0, app.config.max_png_zoom, "PNG tiles")?;
    let filter = parse_filter(query)?;
    let key = Key {
        kind: Kind::Png {
            style: style.to_string(),
            scale,
        },
        tile,
        filter: filter.key.clone(),
    };
    let entry = match app.memcache.get(&key) {
        Some(e) => {
            app.stats
                .counters
                .memory_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            e
        }
        None => {
            let work = || async {
                let entry = png::render(app, style, tile, scale, filter.filter.clone()).await?;
                app.memcache.insert(key.clone(), Arc::clone(&entry));
                Ok(entry)
            };
            app.render_flights.run(key.clone(), work).await?
        }
    };
    Ok(respond(app, &entry, "image/png", headers))
}

/// What a request for a tile of a stored tileset asks for: the tileset (known), the tile (within
/// its zooms) and the filter (one the tileset's layers can judge).
fn tileset_request<'a>(
    app: &'a App,
    tileset: &str,
    tile: TileId,
    query: Option<&str>,
) -> std::result::Result<(&'a Tileset, QueryFilter), Reject> {
    let Some(set) = app.tilesets.get(tileset) else {
        return Err(unknown_tileset(app, tileset));
    };
    check_zoom(
        tile,
        set.minzoom,
        set.maxzoom,
        &format!("tileset {tileset}"),
    )?;
    let filter = parse_filter(query)?;
    if let Some(f) = &filter.filter {
        mvt::check_tileset(f, tileset, &set.layers)?;
    }
    Ok((set, filter))
}

async fn mvt_tile(
    app: &Arc<App>,
    tileset: &str,
    tile: TileId,
    query: Option<&str>,
    headers: &HeaderMap,
) -> std::result::Result<Response, Reject> {
    let (set, filter) = tileset_request(app, tileset, tile, query)?;
    let key = Key {
        kind: Kind::Mvt {
            tileset: tileset.to_owned(),
        },
        tile,
        filter: filter.key.clone(),
    };
    if let Some(entry) = app.memcache.get(&key) {
        app.stats
            .counters
            .memory_hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        compress_if_asked(&entry, headers).await;
        return Ok(respond(app, &entry, MVT_TYPE, headers));
    }
    let work = || async {
        // Another flight may have answered it between our look and this one.
        if let Some(entry) = app.memcache.get(&key) {
            return Ok(entry);
        }
        build_mvt_entry(app, set, tile, &filter, key.clone()).await
    };
    let entry = app.mvt_flights.run(key.clone(), work).await?;
    compress_if_asked(&entry, headers).await;
    Ok(respond(app, &entry, MVT_TYPE, headers))
}

/// The features of a stored vector tile that match the filter, as GeoJSON with the ids as
/// strings (exact above 2^53, where JavaScript numbers are not): what the preview page shows
/// when an image dot is clicked.
async fn geojson_tile(
    app: &Arc<App>,
    tileset: &str,
    tile: TileId,
    query: Option<&str>,
) -> std::result::Result<Response, Reject> {
    let (set, filter) = tileset_request(app, tileset, tile, query)?;
    let stored = app.stored(set, tile, true).await?;
    let data = match stored {
        Some(t) if t.info.status == TileStatus::Data => t.data,
        _ => Vec::new(),
    };
    let f = filter.filter.clone().unwrap_or_default();
    let body = tokio::task::spawn_blocking(move || mvt::geojson(&data, tile, &f, Utc::now()))
        .await
        .map_err(|e| Reject::internal(format!("exporting {tile}: {e}")))??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response())
}

/// Reads the stored tile and builds its answer (filtered when asked), kept in memory when
/// it holds data.
async fn build_mvt_entry(
    app: &Arc<App>,
    set: &Tileset,
    tile: TileId,
    filter: &crate::route::QueryFilter,
    key: Key,
) -> std::result::Result<Arc<Entry>, Reject> {
    let stored = app.stored(set, tile, filter.filter.is_some()).await?;
    let (status, data) = match stored {
        None => (None, Vec::new()),
        Some(t) => (Some(t.info.status), t.data),
    };
    let entry = if status != Some(TileStatus::Data) || data.is_empty() {
        // No data here: not cached in memory (a fetch may bring it).
        let note = match status {
            None => "missing from the cache",
            Some(TileStatus::Empty) => "empty",
            _ => "failed to fetch",
        };
        Arc::new(Entry::new(Vec::new(), Some(note.into())))
    } else {
        let f = filter.filter.clone();
        let built = tokio::task::spawn_blocking(move || build_mvt(data, tile, f))
            .await
            .map_err(|e| Reject::internal(format!("filtering {tile}: {e}")))??;
        if filter.filter.is_some() {
            app.stats
                .counters
                .filtered_mvt
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let entry = Arc::new(built);
        app.memcache.insert(key, Arc::clone(&entry));
        entry
    };
    Ok(entry)
}

/// Makes the entry's gzip form (off the async threads) the first time a client accepts it.
async fn compress_if_asked(entry: &Arc<Entry>, headers: &HeaderMap) {
    if entry.compressible && entry.gzip.get().is_none() && accepts_gzip(headers) {
        let e = Arc::clone(entry);
        let _ = tokio::task::spawn_blocking(move || {
            e.gzip_or_make(gzip);
        })
        .await;
    }
}

/// The `x-mlytiles-note` of a filtered vector tile none of whose features matched.
pub(crate) const FILTER_KEPT_NOTHING: &str = "the filter kept nothing";

/// The vector tile's media type.
pub(crate) const MVT_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// The answer for stored bytes: filtered or as they are (a gzip form is made on demand, or
/// kept when the stored bytes are gzip and unfiltered).
fn build_mvt(
    data: Vec<u8>,
    tile: TileId,
    filter: Option<mlytiles_filter::Filter>,
) -> std::result::Result<Entry, Reject> {
    // Plain stored bytes are used as they are (no copy); gzip ones are kept for clients that
    // accept gzip when the answer is the stored tile itself.
    let (plain, stored_gzip) = if mlytiles_mvt::is_gzip(&data) {
        let plain = mlytiles_mvt::decompress(&data, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
            .map_err(|e| {
                Reject::internal(format!("stored tile {tile} cannot be decompressed: {e}"))
            })?
            .into_owned();
        (plain, Some(data))
    } else {
        (data, None)
    };
    // Bytes that are not a vector tile (a damaged store, a file that is something else) are
    // never answered as one; the reason names no byte of them.
    match mlytiles_fetch::validate_tile(&plain) {
        Ok(0) => {
            return Err(Reject::internal(format!(
                "stored tile {tile} is not a vector tile: {} bytes and no layer",
                plain.len()
            )));
        }
        Ok(_) => {}
        Err(e) => {
            return Err(Reject::internal(format!(
                "stored tile {tile} is not a vector tile: {}",
                crate::route::one_line(&e.to_string())
            )));
        }
    }
    let (plain, stored_gzip, note) = match &filter {
        None => (plain, stored_gzip, None),
        Some(f) => {
            let filtered = mvt::filter_tile(&plain, tile, f, Utc::now())?;
            let dropped = mvt::left_out(&filtered);
            let left_out =
                (!dropped.is_empty()).then(|| format!("layers left out: {}", dropped.join("; ")));
            // A 204 says why it is empty, as the missing and empty ones do.
            let note = match (filtered.bytes.is_empty(), left_out) {
                (true, None) => Some(FILTER_KEPT_NOTHING.to_owned()),
                (true, Some(l)) => Some(format!("{FILTER_KEPT_NOTHING}; {l}")),
                (false, l) => l,
            };
            (filtered.bytes, None, note)
        }
    };
    if plain.is_empty() {
        return Ok(Entry::new(Vec::new(), note));
    }
    Ok(Entry::compressible(plain, stored_gzip, note))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Whether the client accepts gzip (`Accept-Encoding: gzip` or `*`, without `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak comparison, as RFC 9110 13.1.2 asks.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// A tile answer: 304 on a matching `If-None-Match`, 204 for no data, the bytes otherwise
/// (gzip-compressed when there is a gzip form and the client accepts it).
fn respond(app: &App, entry: &Entry, content_type: &'static str, headers: &HeaderMap) -> Response {
    let gz = entry.gzip.get().is_some() && accepts_gzip(headers);
    let etag = if gz {
        // A different representation needs its own strong validator.
        format!("{}-gz\"", entry.etag.trim_end_matches('"'))
    } else {
        entry.etag.clone()
    };
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(
            header::CACHE_CONTROL,
            format!("public, max-age={}", app.config.max_age.as_secs()),
        )
        .header("access-control-allow-origin", "*");
    if entry.compressible {
        builder = builder.header(header::VARY, "Accept-Encoding");
    }
    if let Some(note) = entry
        .note
        .as_deref()
        .and_then(|n| HeaderValue::from_str(&crate::route::one_line(n)).ok())
    {
        builder = builder.header("x-mlytiles-note", note);
    }
    let response = if none_match(headers, &etag) {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else if entry.body.is_empty() {
        builder.status(StatusCode::NO_CONTENT).body(Body::empty())
    } else if gz {
        builder
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Body::from(entry.gzip.get().cloned().unwrap_or_default()))
    } else {
        builder
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(entry.body.clone()))
    };
    response
        .unwrap_or_else(|e| Reject::internal(format!("building the answer: {e}")).into_response())
}
