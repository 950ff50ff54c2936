#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod app;
mod assets;
mod datacache;
mod error;
mod flight;
mod listen;
mod memcache;
mod mvt;
mod page;
mod png;
mod route;
mod stats;
mod tilejson;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use assets::{
    MAPLIBRE_FILES, MAPLIBRE_VERSION, PACKAGES, PMTILES_FILES, PMTILES_VERSION, PinnedFiles,
    integrity,
};
pub use axum;
pub use error::{Error, Result};
pub use mlytiles_fetch;

/// The attribution every tile and page carries.
pub const ATTRIBUTION: &str = "Mapillary, CC BY-SA";

/// The preview page's default base map: OpenStreetMap's standard raster tiles.
pub const OSM_TILES: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

/// The attribution OpenStreetMap's tiles require.
pub const OSM_ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// How the server is set up. A plain struct: set the fields you need, keep the defaults of the
/// rest.
///
/// # Examples
///
/// ```
/// let config = mlytiles_serve::Config {
///     cache_dir: "fixtures/cache".into(),
///     addr: "127.0.0.1:0".parse().unwrap(),
///     ..Default::default()
/// };
/// assert_eq!(config.coverage_tileset, "mly1_public");
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// The cache folder: one store per tileset (`{tileset}.mbtiles` or a `{tileset}/` z/x/y
    /// folder). Without fetch-through it is opened read-only and must exist. Default `cache`.
    pub cache_dir: PathBuf,
    /// The address to listen on (port 0 picks a free port; see [`Server::local_addr`]).
    /// Default `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// The tileset the PNG tiles draw coverage from. Default `mly1_public`.
    pub coverage_tileset: String,
    /// The highest zoom of PNG tiles; above the data's deepest zoom (14) tiles are drawn from
    /// it, overzoomed. Default 17.
    pub max_png_zoom: u8,
    /// Bytes of answered tiles kept in memory (an LRU). Default 64 MiB.
    pub memory_cache_bytes: usize,
    /// Bytes of decompressed data tiles kept in memory for rendering (an LRU; a PNG tile
    /// reads its data tile and the eight around it), and as many again for the indexed z14
    /// parents of overzoomed tiles (z15 and deeper). Default 32 MiB.
    pub data_cache_bytes: usize,
    /// `Cache-Control: max-age` of tiles. Default one hour.
    pub max_age: Duration,
    /// How often the summary line is logged at info level. Default 60 s.
    pub summary_interval: Duration,
    /// How many tiles render at once; 0 means one per CPU. Default 0.
    pub render_threads: usize,
    /// The URL clients reach the server at (such as `https://tiles.example.org/mly`), used in
    /// `tiles.json`; behind a reverse proxy set it to the public URL. Default `None`: `http://`
    /// and the request's `Host` header.
    pub public_url: Option<String>,
    /// Fetch-through: tiles missing from the cache are fetched with this configuration (its
    /// token and daily budget) and stored in the cache. Default `None`: the cache only.
    pub fetch: Option<mlytiles_fetch::FetchConfig>,
    /// The most connections open at once; more wait in the kernel's backlog until one
    /// closes. 0 (the default) means the soft limit of open files less an eighth of it (at
    /// least 128) kept for the rest of the server, at most 8192.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, counted from when its connection
    /// opened or its last answer was sent; so also how long an idle keep-alive connection is
    /// kept. Default 10 s.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long while none of its
    /// requests is being answered (a client that stopped reading) is closed. Default 60 s.
    pub idle_timeout: Duration,
    /// Whether [`Server::bind`] raises the process's soft limit of open files to its hard
    /// limit (a systemd service starts with a soft limit of 1,024). Default `true`.
    pub raise_file_limit: bool,
    /// The `node_modules` folder that `npm ci --prefix crates/serve/web` fills
    /// (`crates/serve/web/node_modules`), holding MapLibre GL JS at [`MAPLIBRE_VERSION`] and
    /// `pmtiles` at [`PMTILES_VERSION`]; their `dist/` folders (only those) are served
    /// read-only under `/assets/{package}/dist/` for the preview page, and [`Server::bind`]
    /// checks the files of [`PACKAGES`]. MapLibre's own `dist/` folder in it, what this
    /// named before, is still accepted. Default `None`: the page loads the libraries from
    /// unpkg.com, at those versions, with the same integrity hashes.
    pub assets_dir: Option<PathBuf>,
    /// The preview page's base map: a raster tile URL with `{z}`, `{x}`, `{y}`, drawn under the
    /// coverage. Default [`OSM_TILES`]; `None` for no base map (offline).
    pub basemap: Option<String>,
    /// The base map's attribution. Default [`OSM_ATTRIBUTION`].
    pub basemap_attribution: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cache_dir: PathBuf::from("cache"),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            coverage_tileset: "mly1_public".into(),
            max_png_zoom: 17,
            memory_cache_bytes: 64 << 20,
            data_cache_bytes: 32 << 20,
            max_age: Duration::from_secs(3600),
            summary_interval: Duration::from_secs(60),
            render_threads: 0,
            public_url: None,
            fetch: None,
            max_connections: 0,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            raise_file_limit: true,
            assets_dir: None,
            basemap: Some(OSM_TILES.into()),
            basemap_attribution: OSM_ATTRIBUTION.into(),
        }
    }
}

/// A bound server: the listening socket and everything the endpoints need.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> mlytiles_serve::Result<()> {
/// let server = mlytiles_serve::Server::bind(mlytiles_serve::Config::default()).await?;
/// println!("listening on http://{}/", server.local_addr());
/// server.run_until(async { let _ = tokio::signal::ctrl_c().await; }).await
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Arc<app::App>,
    files: Option<u64>,
    limits: listen::Limits,
}

impl Server {
    /// Opens the cache's stores and binds the address.
    ///
    /// # Errors
    ///
    /// [`Error::NoCache`] if the cache folder does not exist (without fetch-through),
    /// [`Error::Store`] if a store cannot be opened, [`Error::Assets`] if
    /// [`Config::assets_dir`] does not hold the pinned library's files, [`Error::Fetch`] if the fetcher cannot be
    /// set up, [`Error::Bind`] if the address cannot be bound.
    pub async fn bind(config: Config) -> Result<Server> {
        let addr = config.addr;
        let files = listen::file_limit(config.raise_file_limit);
        let limits = listen::Limits {
            max_connections: match config.max_connections {
                0 => listen::default_max_connections(files),
                n => n,
            },
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
        };
        let app = tokio::task::spawn_blocking(move || app::App::open(config))
            .await
            .map_err(|e| Error::Io(std::io::Error::other(e)))??;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        app.set_local_addr(local);
        Ok(Server {
            listener,
            app: Arc::new(app),
            files,
            limits,
        })
    }

    /// The soft limit of open files in force (raised at [`bind`](Self::bind) unless
    /// [`Config::raise_file_limit`] is off); `None` where the platform has none.
    pub fn file_limit(&self) -> Option<u64> {
        self.files
    }

    /// The most connections served at once.
    pub fn max_connections(&self) -> usize {
        self.limits.max_connections
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.app.local_addr()
    }

    /// The tilesets found in the cache, sorted.
    pub fn tilesets(&self) -> Vec<String> {
        self.app.tileset_names()
    }

    /// The router of every endpoint, for embedding the server in another axum application.
    pub fn router(&self) -> axum::Router {
        app::router(Arc::clone(&self.app))
    }

    /// Serves until the process ends.
    ///
    /// # Errors
    ///
    /// None so far: accept errors (such as running out of file descriptors) are logged and
    /// retried after a pause.
    pub async fn run(self) -> Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting connections and waits for the
    /// requests in progress to finish (graceful shutdown).
    ///
    /// At most [`max_connections`](Self::max_connections) connections are served at once,
    /// clients that send no complete request headers within [`Config::header_read_timeout`]
    /// and connections idle for [`Config::idle_timeout`] are closed, and accept errors
    /// (such as running out of file descriptors) are logged and retried after a pause.
    ///
    /// # Errors
    ///
    /// None so far (the `Result` leaves room for setup errors).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let router = self.router();
        let summary = tokio::spawn(app::summaries(Arc::clone(&self.app)));
        tracing::info!("listening on http://{}/", self.app.local_addr());
        match self.files {
            Some(files) => tracing::info!(
                "open files: soft limit {files}; serving at most {} connections at once",
                self.limits.max_connections
            ),
            None => tracing::info!(
                "serving at most {} connections at once",
                self.limits.max_connections
            ),
        }
        listen::serve(self.listener, router, self.limits, shutdown).await;
        summary.abort();
        self.app.log_summary();
        tracing::info!("shut down");
        Ok(())
    }
}
