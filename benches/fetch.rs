//! Fetch benches against the local test server (no internet).
//!
//! - `fetch/2000 tiles, concurrency 16, 20 ms`: mlytiles-fetch's bulk run into an MBTiles
//!   store (classification, validation, budget, store writes) beside a bare reqwest loop
//!   (16 workers, GET and read the body, nothing else), both as a share of the ideal rate
//!   concurrency / latency = 800 tiles/s. Own timing loop (each round takes seconds);
//!   `FETCH_BENCH_ROUNDS` rounds each, alternating, median reported.
//! - `plan/100k tiles`: a plan over 100,000 z14 tiles against a store holding them (criterion).
//! - `store/put`: MBTiles writes of sample tiles one by one and in batches (criterion,
//!   throughput in tiles/s).
//!
//! `cargo bench --bench fetch`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput};
use mlytiles_fetch::{FetchConfig, Fetcher, PlanOptions, RunOptions, Tileset, Token, plan, run};
use mlytiles_store::chrono::Utc;
use mlytiles_store::{MbTiles, TileRecord, TileStatus, TileStore};
use mlytiles_testserver::TestServer;
use mlytiles_tile::TileId;

const TILES: u32 = 2000;
const CONCURRENCY: usize = 16;
const LATENCY: Duration = Duration::from_millis(20);

/// The sample's z14 tiles, uncompressed.
fn sample_tiles() -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache/mly1_public.mbtiles");
    let store = MbTiles::open_read_only(path).expect("the bundled sample cache");
    store
        .list(14, None)
        .unwrap()
        .into_iter()
        .filter(|(_, s)| *s == TileStatus::Data)
        .map(|(t, _)| {
            store
                .get(t)
                .unwrap()
                .unwrap()
                .uncompressed()
                .unwrap()
                .into_owned()
        })
        .collect()
}

fn bench_tiles() -> Vec<TileId> {
    (0..TILES)
        .map(|i| TileId::new(14, 1000 + i % 100, 1000 + i / 100).unwrap())
        .collect()
}

async fn ours(server: &TestServer, tiles: &[TileId]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let config = FetchConfig {
        endpoint: server.url(),
        token: Some(Token::new("MLY|bench|token").unwrap()),
        concurrency: CONCURRENCY,
        daily_budget: 1_000_000,
        ..FetchConfig::default()
    };
    let fetcher = Fetcher::new(config, dir.path()).unwrap();
    let store: Arc<dyn TileStore> =
        Arc::new(MbTiles::open(dir.path().join("mly1_public.mbtiles")).unwrap());
    let tileset = Tileset::by_name("mly1_public").unwrap();
    let started = Instant::now();
    let summary = run(
        &fetcher,
        &tileset,
        Arc::clone(&store),
        tiles.to_vec(),
        RunOptions::default(),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(summary.progress.data, u64::from(TILES), "{summary:?}");
    assert_eq!(store.count_by_status().unwrap().data, u64::from(TILES));
    took
}

async fn bare_reqwest(server: &TestServer, tiles: &[TileId]) -> Duration {
    let client = reqwest::Client::new();
    let urls: Arc<Vec<String>> = Arc::new(
        tiles
            .iter()
            .map(|t| {
                format!(
                    "{}/maps/vtp/mly1_public/2/{}/{}/{}?access_token=x",
                    server.url(),
                    t.z(),
                    t.x(),
                    t.y()
                )
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, urls, next) = (client.clone(), Arc::clone(&urls), Arc::clone(&next));
        set.spawn(async move {
            let mut bytes = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(url) = urls.get(i) else { break };
                let body = client.get(url).send().await.unwrap().bytes().await.unwrap();
                bytes += body.len();
            }
            bytes
        });
    }
    let mut total = 0;
    while let Some(r) = set.join_next().await {
        total += r.unwrap();
    }
    black_box(total);
    started.elapsed()
}

fn fetch_rates() {
    let rounds: usize = std::env::var("FETCH_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start());
    let bodies = sample_tiles();
    let tiles = bench_tiles();
    for (i, t) in tiles.iter().enumerate() {
        server.insert((t.z(), t.x(), t.y()), bodies[i % bodies.len()].clone());
    }
    server.set_latency(LATENCY);
    let ideal = CONCURRENCY as f64 / LATENCY.as_secs_f64();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(rt.block_on(ours(&server, &tiles)));
        b.push(rt.block_on(bare_reqwest(&server, &tiles)));
    }
    let report = |name: &str, times: &mut Vec<Duration>| {
        times.sort();
        let median = times[times.len() / 2];
        let rate = f64::from(TILES) / median.as_secs_f64();
        println!(
            "fetch/{TILES} tiles, concurrency {CONCURRENCY}, {} ms/{name}: median {:.3} s, \
             {rate:.0} tiles/s = {:.1}% of ideal {ideal:.0}/s (rounds: {:?})",
            LATENCY.as_millis(),
            median.as_secs_f64(),
            100.0 * rate / ideal,
            times
                .iter()
                .map(|t| format!("{:.3}", t.as_secs_f64()))
                .collect::<Vec<_>>()
        );
    };
    report("mlytiles-fetch", &mut a);
    report("bare reqwest", &mut b);
}

fn plan_bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = MbTiles::open(dir.path().join("plan.mbtiles")).unwrap();
    let now = Utc::now();
    let tiles: Vec<TileId> = (0..100_000u32)
        .map(|i| TileId::new(14, 8000 + i % 400, 5000 + i / 400).unwrap())
        .collect();
    for chunk in tiles.chunks(5000) {
        let records: Vec<(TileId, TileRecord)> = chunk
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let r = match i % 3 {
                    0 => TileRecord::data(vec![0x1a, 0x00], now).with_etag("\"e\""),
                    1 => TileRecord::empty(now),
                    _ => TileRecord::failed("HTTP 503", now),
                };
                (*t, r)
            })
            .collect();
        store.put_many(&records).unwrap();
    }
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    g.bench_function("100k tiles", |b| {
        b.iter(|| {
            let p = plan(&store, black_box(&tiles), &PlanOptions::default()).unwrap();
            assert_eq!(p.total, 100_000);
            p.requests()
        })
    });
    g.finish();
}

fn put_bench(c: &mut Criterion) {
    let bodies = sample_tiles();
    // As the fetcher stores them: gzip at the fast level.
    let gz: Vec<Vec<u8>> = bodies
        .iter()
        .map(|b| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, b).unwrap();
            e.finish().unwrap()
        })
        .collect();
    const N: usize = 2000;
    let now = Utc::now();
    let records: Vec<(TileId, TileRecord)> = (0..N)
        .map(|i| {
            let t = TileId::new(14, i as u32, 7).unwrap();
            (t, TileRecord::data(gz[i % gz.len()].clone(), now))
        })
        .collect();
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    // Small tiles (the sample's z13 size): the per-tile cost without the bytes.
    let small: Vec<(TileId, TileRecord)> = records
        .iter()
        .map(|(t, _)| {
            (
                *t,
                TileRecord::data(gz[0][..4096.min(gz[0].len())].to_vec(), now),
            )
        })
        .collect();
    put_case(&mut g, "put one by one (gzip tiles)", &records, false);
    put_case(&mut g, "put one by one (4 KiB)", &small, false);
    put_case(&mut g, "put_many (4 KiB)", &small, true);
    put_case(&mut g, "put_many (gzip tiles)", &records, true);
    g.finish();
}

/// Times storing `records` into a fresh MBTiles file, one `put` each or in one `put_many`;
/// closing the store (which checkpoints the WAL into the file) is timed too.
fn put_case(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    records: &[(TileId, TileRecord)],
    many: bool,
) {
    g.bench_function(name, |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = MbTiles::open(dir.path().join("put.mbtiles")).unwrap();
                (dir, store)
            },
            |(dir, store)| {
                if many {
                    store.put_many(records).unwrap();
                } else {
                    for (t, r) in records {
                        store.put(*t, r).unwrap();
                    }
                }
                drop(store);
                dir
            },
            BatchSize::PerIteration,
        )
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if filter.is_empty() || filter.iter().any(|f| "fetch".contains(f.as_str())) {
        fetch_rates();
    }
    plan_bench(&mut c);
    put_bench(&mut c);
    c.final_summary();
}
