//! The server's memory stays within its caches plus a fixed overhead, whatever tiles are
//! asked for (issue 13, item 3). The server runs in this test's process, alone in this test
//! binary, so the process's resident size is the server's.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::{client, get, get_json, sample_cache, start};
use mlytiles_serve::Config;

const MEMORY_CACHE: usize = 4 << 20;
const DATA_CACHE: usize = 4 << 20;
/// What the process may grow by beyond the two caches: allocator arenas of the worker and
/// blocking threads, their stacks, buffers in flight.
const FIXED_OVERHEAD: u64 = 32 << 20;

/// The process's resident set size in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in kB");
    kb * 1024
}

/// GETs every path, `parallel` at a time, and checks each answer is a 200.
async fn drive(http: &reqwest::Client, base: &str, paths: Vec<String>, parallel: usize) {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(paths));
    let mut workers = Vec::new();
    for _ in 0..parallel {
        let (queue, http, base) = (queue.clone(), http.clone(), base.to_owned());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(path) = queue.lock().unwrap().pop() else {
                    break;
                };
                let url = format!("{base}{path}");
                let r = get(&http, &url, &[]).await;
                assert_eq!(r.status(), 200, "{url}");
                r.bytes().await.unwrap();
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
}

/// `n` distinct empty z17 `@2x` tiles (far from the sample's data), from `first` on.
fn empty_tiles(first: u32, n: u32) -> Vec<String> {
    (first..first + n)
        .map(|i| format!("/mapillary/17/{}/{}@2x.png", 1000 + i % 100, 2000 + i / 100))
        .collect()
}

/// `n` density tiles over the sample with distinct filters.
fn density_tiles(first: u32, n: u32) -> Vec<String> {
    (first..first + n)
        .map(|i| {
            let day = 1 + i % 28;
            let month = 1 + (i / 28) % 12;
            let year = 2016 + (i / 336) % 8;
            format!(
                "/density/16/{}/{}.png?since={year}-{month:02}-{day:02}",
                13004 + i % 4,
                25028 + (i / 4) % 4
            )
        })
        .collect()
}

#[test]
fn a_thousand_distinct_tiles_keep_the_server_within_its_caches() {
    let server = start(Config {
        cache_dir: sample_cache(),
        addr: "127.0.0.1:0".parse().unwrap(),
        memory_cache_bytes: MEMORY_CACHE,
        data_cache_bytes: DATA_CACHE,
        render_threads: 2,
        summary_interval: Duration::from_secs(3600),
        ..Config::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = server.url("");
    runtime.block_on(async {
        let http = client();
        // Warm up: threads started, their arenas made, the data cache filled.
        drive(&http, &base, empty_tiles(0, 50), 4).await;
        drive(&http, &base, density_tiles(0, 50), 4).await;
        let before = rss();
        drive(&http, &base, empty_tiles(100, 800), 4).await;
        drive(&http, &base, density_tiles(100, 200), 4).await;
        let after = rss();
        let health = get_json(&http, &server.url("/health"), &[]).await;
        let counted = health["memory_cache"]["bytes"].as_u64().unwrap();
        eprintln!(
            "RSS {} MiB before, {} MiB after 1,000 distinct tiles; memory cache {} tiles, {} KiB counted",
            before >> 20,
            after >> 20,
            health["memory_cache"]["tiles"],
            counted >> 10
        );
        assert!(counted <= MEMORY_CACHE as u64);
        // The data budget holds decoded tiles and, as much again, overzoomed tiles' parents.
        let bound = (MEMORY_CACHE + 2 * DATA_CACHE) as u64 + FIXED_OVERHEAD;
        assert!(
            after.saturating_sub(before) <= bound,
            "RSS grew by {} MiB, more than the caches ({} MiB) and {} MiB",
            (after - before) >> 20,
            (MEMORY_CACHE + 2 * DATA_CACHE) >> 20,
            FIXED_OVERHEAD >> 20
        );
    });
}
