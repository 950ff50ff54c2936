//! Request counters for the periodic summary line, and the per-request log line.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Latency buckets: bucket i holds requests that took under 2^i microseconds (the last one
/// everything slower).
const BUCKETS: usize = 32;

/// The request counters: atomics while counting (in [`Stats`]), plain numbers in a
/// [`Snapshot`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counters<T> {
    pub(crate) requests: T,
    pub(crate) ok: T,
    pub(crate) not_modified: T,
    pub(crate) client_errors: T,
    pub(crate) server_errors: T,
    pub(crate) memory_hits: T,
    pub(crate) renders: T,
    pub(crate) filtered_mvt: T,
    pub(crate) upstream_fetches: T,
    pub(crate) bytes_out: T,
    latency: [T; BUCKETS],
}

/// The counters at one moment.
pub(crate) type Snapshot = Counters<u64>;

impl Counters<AtomicU64> {
    fn load(&self) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Relaxed);
        Counters {
            requests: load(&self.requests),
            ok: load(&self.ok),
            not_modified: load(&self.not_modified),
            client_errors: load(&self.client_errors),
            server_errors: load(&self.server_errors),
            memory_hits: load(&self.memory_hits),
            renders: load(&self.renders),
            filtered_mvt: load(&self.filtered_mvt),
            upstream_fetches: load(&self.upstream_fetches),
            bytes_out: load(&self.bytes_out),
            latency: self.latency.each_ref().map(load),
        }
    }
}

/// Counters since the start; the summary logs the difference since the last summary.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) counters: Counters<AtomicU64>,
    /// The counters at the last summary, and when it was.
    last: Mutex<Option<(Snapshot, Instant)>>,
}

impl Stats {
    pub(crate) fn record(&self, status: u16, bytes: u64, took: Duration) {
        let c = &self.counters;
        c.requests.fetch_add(1, Relaxed);
        match status {
            304 => &c.not_modified,
            200..=299 => &c.ok,
            400..=499 => &c.client_errors,
            500..=599 => &c.server_errors,
            _ => &c.ok,
        }
        .fetch_add(1, Relaxed);
        c.bytes_out.fetch_add(bytes, Relaxed);
        let micros = took.as_micros().max(1) as u64;
        let bucket = (64 - micros.leading_zeros() as usize).min(BUCKETS - 1);
        c.latency[bucket].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.counters.load()
    }

    /// Marks the start of the first summary's period.
    pub(crate) fn start_period(&self) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *last = Some((self.snapshot(), Instant::now()));
    }

    /// Logs the summary of what happened since the last call (or
    /// [`start_period`](Self::start_period)), at info level.
    pub(crate) fn log_summary(&self, cache_usage: (usize, usize)) {
        let now = self.snapshot();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let (before, since) = last.unwrap_or_else(|| (Snapshot::default(), Instant::now()));
        let interval = since.elapsed();
        *last = Some((now, Instant::now()));
        let d = |f: fn(&Snapshot) -> u64| f(&now).saturating_sub(f(&before));
        let mut hist = [0u64; BUCKETS];
        for (i, h) in hist.iter_mut().enumerate() {
            *h = now.latency[i].saturating_sub(before.latency[i]);
        }
        tracing::info!(
            "summary: {} requests in {:.1?} ({} ok, {} not modified, {} client errors, {} server errors), \
             {} memory-cache hits, {} renders, {} filtered vector tiles, {} upstream fetches, \
             {} bytes out, latency p50 < {} p99 < {}, memory cache {} tiles / {} bytes",
            d(|s| s.requests),
            interval,
            d(|s| s.ok),
            d(|s| s.not_modified),
            d(|s| s.client_errors),
            d(|s| s.server_errors),
            d(|s| s.memory_hits),
            d(|s| s.renders),
            d(|s| s.filtered_mvt),
            d(|s| s.upstream_fetches),
            d(|s| s.bytes_out),
            percentile(&hist, 0.50),
            percentile(&hist, 0.99),
            cache_usage.0,
            cache_usage.1,
        );
    }
}

/// The upper bound of the bucket holding the `q` quantile, as text ("-" with no requests).
fn percentile(hist: &[u64; BUCKETS], q: f64) -> String {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return "-".into();
    }
    let want = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= want {
            let micros = 1u64 << i;
            return format!("{:?}", Duration::from_micros(micros));
        }
    }
    "-".into()
}

/// The middleware: times each request, counts it, and logs one debug line.
pub(crate) async fn log_request(
    State(stats): State<Arc<Stats>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The query holds filter parameters only (the server never sees a token); cut long ones.
    let target: String = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .chars()
        .take(200)
        .collect();
    let response = next.run(request).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    // Bodies here are whole buffers: their exact size is known before they are sent.
    let bytes = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .unwrap_or(0);
    stats.record(status, bytes, took);
    tracing::debug!("{method} {target:?} {status} {bytes} bytes {took:.1?}");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_buckets() {
        let stats = Stats::default();
        for _ in 0..98 {
            stats.record(200, 10, Duration::from_micros(100));
        }
        stats.record(404, 10, Duration::from_millis(30));
        stats.record(500, 10, Duration::from_millis(30));
        stats.record(304, 0, Duration::from_micros(100));
        let s = stats.snapshot();
        assert_eq!(
            (
                s.requests,
                s.ok,
                s.not_modified,
                s.client_errors,
                s.server_errors,
                s.bytes_out
            ),
            (101, 98, 1, 1, 1, 1000)
        );
        assert_eq!(percentile(&s.latency, 0.5), "128µs");
        assert_eq!(percentile(&s.latency, 0.99), "32.768ms");
        assert_eq!(percentile(&[0; BUCKETS], 0.5), "-");
    }
}
