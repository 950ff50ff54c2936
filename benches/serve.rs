//! A bounded load test of the tile server on loopback, with its own timing loop: 64
//! connections for a few seconds per scenario, over the bundled sample pyramid.
//!
//! `cargo bench --bench serve` (about 15 s; `MLYTILES_BENCH_SECS=N` sets the seconds per
//! scenario). Scenarios: cached PNG tiles (the memory LRU answers), uncached z14 PNG renders
//! (memory cache off, every request a distinct key so nothing is shared), and filtered vector
//! tiles (re-encoded per request). Any error or non-200 answer fails the run.
//!
//! The server and the load generator share the machine (2 cores here): the figures are what
//! a client on the same host sees, a lower bound of the server alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mlytiles_serve::{Config, Server};

const CONNECTIONS: usize = 64;

/// The 16 z14 tiles of the sample.
fn sample_tiles() -> Vec<(u32, u32)> {
    (3250..=3253)
        .flat_map(|x| (6256..=6259).map(move |y| (x, y)))
        .collect()
}

struct Report {
    name: &'static str,
    requests: u64,
    seconds: f64,
    latencies_us: Vec<u32>,
    bytes: u64,
    extra: String,
}

impl Report {
    fn percentile(&self, q: f64) -> f64 {
        let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }

    fn print(&self) {
        println!(
            "{:<28} {:>9.0} req/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  {:>7.0} KB/s  {}",
            self.name,
            self.requests as f64 / self.seconds,
            self.percentile(0.50),
            self.percentile(0.90),
            self.percentile(0.99),
            self.percentile(1.0),
            self.bytes as f64 / self.seconds / 1000.0,
            self.extra,
        );
    }
}

/// Starts a server on its own 2-thread runtime; returns its address and the runtime.
fn start(memory_cache_bytes: usize) -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(Server::bind(Config {
            cache_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cache").into(),
            addr: "127.0.0.1:0".parse().unwrap(),
            memory_cache_bytes,
            ..Config::default()
        }))
        .unwrap();
    let addr = server.local_addr();
    runtime.spawn(server.run());
    (addr, runtime)
}

/// Runs `CONNECTIONS` clients for `seconds`, each asking for `url(n)` with a global counter.
fn load(
    client_rt: &tokio::runtime::Runtime,
    name: &'static str,
    seconds: f64,
    url: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> Report {
    let client = reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(CONNECTIONS)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut latencies: Vec<u32> = client_rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let (client, counter, bytes, url) =
                (client.clone(), counter.clone(), bytes.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let u = url(n);
                    let t = Instant::now();
                    let r = client
                        .get(&u)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{u}: {e}"));
                    let status = r.status();
                    let body = r.bytes().await.unwrap_or_else(|e| panic!("{u}: {e}"));
                    lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    // 204: a filtered vector tile where nothing matched (a valid answer).
                    assert!(
                        status == 200 || (status == 204 && u.contains(".mvt?")),
                        "{u}: {status} {}",
                        String::from_utf8_lossy(&body)
                    );
                    bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Report {
        name,
        requests: latencies.len() as u64,
        seconds: secs,
        latencies_us: latencies,
        bytes: bytes.load(Ordering::Relaxed),
        extra: String::new(),
    }
}

/// The server's `counter` from `/health`.
fn health_counter(
    client_rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    counter: &str,
) -> u64 {
    client_rt.block_on(async {
        let body = reqwest::get(format!("http://{addr}/health"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
        health[counter]
            .as_u64()
            .unwrap_or_else(|| panic!("/health has no counter {counter}: {health}"))
    })
}

/// A half-second warm-up, then the measured run of [`load`]; also returns how much the
/// server's `/health` `counter` grew during the measured run.
fn scenario(
    client_rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    name: &'static str,
    seconds: f64,
    counter: &str,
    url: impl Fn(u64) -> String + Send + Sync + 'static,
) -> (Report, u64) {
    let url: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(url);
    load(client_rt, "warm-up", 0.5, url.clone());
    let before = health_counter(client_rt, addr, counter);
    let report = load(client_rt, name, seconds, url);
    let after = health_counter(client_rt, addr, counter);
    (report, after - before)
}

fn main() {
    let seconds: f64 = std::env::var("MLYTILES_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tiles = Arc::new(sample_tiles());
    println!(
        "serve load test: {CONNECTIONS} connections on loopback, {seconds} s per scenario, sample pyramid"
    );

    // Cached PNGs: warm the LRU with the 16 tiles, then ask for them over and over.
    let (addr, server_rt) = start(64 << 20);
    let t = tiles.clone();
    let (mut r, renders) = scenario(
        &client_rt,
        addr,
        "cached PNG (z14)",
        seconds,
        "renders",
        move |n| {
            let (x, y) = t[(n % t.len() as u64) as usize];
            format!("http://{addr}/mapillary/14/{x}/{y}.png")
        },
    );
    r.extra = format!("renders during the run: {renders}");
    r.print();
    drop(server_rt);

    // Uncached z14 renders: no memory cache, and a distinct filter per request (a capture
    // date bound that keeps every image) so that no two requests share a render.
    let (addr, server_rt) = start(0);
    let t = tiles.clone();
    let (mut r, renders) = scenario(
        &client_rt,
        addr,
        "uncached PNG render (z14)",
        seconds,
        "renders",
        move |n| {
            let (x, y) = t[(n % t.len() as u64) as usize];
            let s = n % 86_400;
            format!(
                "http://{addr}/mapillary/14/{x}/{y}.png?since=2000-01-{:02}T{:02}:{:02}:{:02}Z",
                1 + (n / 86_400) % 28,
                s / 3600,
                (s / 60) % 60,
                s % 60
            )
        },
    );
    r.extra = format!(
        "{renders} renders = {:.0} renders/s",
        renders as f64 / r.seconds
    );
    r.print();

    // Filtered vector tiles, re-encoded per request (same server: no memory cache).
    let t = tiles.clone();
    let (mut r, filtered) = scenario(
        &client_rt,
        addr,
        "filtered MVT (z14, uncached)",
        seconds,
        "filtered_mvt",
        move |n| {
            let (x, y) = t[(n % t.len() as u64) as usize];
            format!("http://{addr}/mvt/mly1_public/14/{x}/{y}.mvt?pano=exclude")
        },
    );
    r.extra = format!("{filtered} tiles filtered");
    r.print();
    drop(server_rt);
}
