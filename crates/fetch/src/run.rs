//! Bulk runs: a plan's tiles fetched by a pool of workers, with progress and a summary.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mlytiles_store::{TileBody, TileStats, TileStatus, TileStore};
use mlytiles_tile::TileId;

use crate::claims::RENEW_EVERY;
use crate::classify::FailureKind;
use crate::error::{Error, Result};
use crate::fetcher::{Fetcher, Outcome, PendingWrite, Validators};
use crate::tileset::Tileset;

/// A snapshot of a run, given to the progress callback after every tile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Tiles to fetch in this run.
    pub total: u64,
    /// Tiles finished (any outcome).
    pub done: u64,
    /// Tiles stored with data.
    pub data: u64,
    /// Tiles stored as empty.
    pub empty: u64,
    /// Tiles re-checked and unchanged (304).
    pub not_modified: u64,
    /// Tiles recorded as failed.
    pub failed: u64,
    /// Tiles of the area answered from the cache (not requested), as the caller reported in
    /// [`RunOptions::from_cache`].
    pub from_cache: u64,
    /// Tiles of this run that another run sharing the cache folder had in flight, and stored
    /// while this one waited (not requested again; counted in `done`).
    pub by_other_runs: u64,
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Requests left in today's budget (as counted by this run; other processes sharing the
    /// cache spend from it too).
    pub budget_left: u64,
    /// Time since the run started.
    pub elapsed: Duration,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How to run.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Called after every tile with a snapshot. Default: none.
    pub progress: Option<ProgressFn>,
    /// Tiles of the area already in the cache, shown in progress and the summary. Default 0.
    pub from_cache: u64,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("progress", &self.progress.is_some())
            .field("from_cache", &self.from_cache)
            .finish()
    }
}

/// Why a run stopped before its last tile.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Today's request budget is used up.
    Budget {
        /// The daily budget.
        limit: u64,
        /// When it resets (next 00:00 UTC).
        resets_at: DateTime<Utc>,
    },
    /// The server kept answering "request limit reached".
    DailyLimit(String),
    /// The server rejected the token.
    InvalidToken(String),
    /// [`Fetcher::stop`] was called (Ctrl-C).
    Interrupted,
    /// Another error (a store error), as its message.
    Error(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Budget { limit, resets_at } => write!(
                f,
                "the daily request budget of {limit} is used up; it resets at {} UTC",
                resets_at.format("%Y-%m-%d %H:%M")
            ),
            StopReason::DailyLimit(a) => write!(
                f,
                "the daily limit is reached: the server kept answering {a}"
            ),
            StopReason::InvalidToken(a) => write!(
                f,
                "the access token is invalid or expired (the server answered {a})"
            ),
            StopReason::Interrupted => f.write_str("interrupted"),
            StopReason::Error(e) => f.write_str(e),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Counts at the end.
    pub progress: Progress,
    /// Tiles of the run not finished (stopped early).
    pub remaining: u64,
    /// Per failure kind: how many tiles, and one sample reason.
    pub failures: BTreeMap<FailureKind, (u64, String)>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<StopReason>,
}

/// Most writes per store transaction.
const WRITE_BATCH: usize = 256;

struct Shared {
    progress: Progress,
    failures: BTreeMap<FailureKind, (u64, String)>,
    stopped: Option<StopReason>,
}

/// Fetches `tiles` of `tileset` into `store` with [`FetchConfig::concurrency`]
/// workers. Stops cleanly at the first stopping error (budget, daily limit, invalid token,
/// stop request, store error): tiles finished so far stay stored, and the summary says why
/// and how many remain.
///
/// [`FetchConfig::concurrency`]: crate::FetchConfig::concurrency
///
/// Store writes are batched on a writer thread (one transaction per batch); every result
/// is written before `run` returns.
///
/// # Errors
///
/// Before the first request: a zoom the tileset does not serve, or a store or budget error.
pub async fn run(
    fetcher: &Fetcher,
    tileset: &Tileset,
    store: Arc<dyn TileStore>,
    tiles: Vec<TileId>,
    options: RunOptions,
) -> Result<Summary> {
    let started = Instant::now();
    let total = tiles.len() as u64;
    let budget_left = fetcher.budget().remaining()?;
    let requests_before = fetcher.requests_sent();
    let bytes_before = fetcher.counters().bytes.load(Ordering::Relaxed);
    let tiles = Arc::new(tiles);
    let next = Arc::new(AtomicUsize::new(0));
    let halt = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(Shared {
        progress: Progress {
            total,
            from_cache: options.from_cache,
            budget_left,
            ..Progress::default()
        },
        failures: BTreeMap::new(),
        stopped: None,
    }));
    let zooms: BTreeSet<u8> = tiles.iter().map(TileId::z).collect();
    for &z in &zooms {
        tileset.check_zoom(z)?;
    }
    // For the metadata at the end: whether this run's tiles are all the store will hold.
    let data_before = store.count_by_status()?.data;
    // Validators of the stored tiles, for conditional requests, and which hold data (one
    // listing per zoom).
    let mut validators: HashMap<TileId, Validators> = HashMap::new();
    for z in zooms {
        for (tile, info) in store.list_info(z, None)? {
            let v = Validators::of(Some(&info));
            if v.is_useful() {
                validators.insert(tile, v);
            }
        }
    }
    let validators = Arc::new(validators);
    // One writer thread batches the store writes (one transaction per batch), off the
    // workers' async threads.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(TileId, PendingWrite)>(1024);
    let writer = {
        let (store, halt, shared) = (Arc::clone(&store), Arc::clone(&halt), Arc::clone(&shared));
        let (fetcher, name) = (fetcher.clone(), tileset.name().to_string());
        tokio::task::spawn_blocking(move || {
            // What the stored data tiles hold, for the metadata (bounded memory).
            let mut seen = TileStats::new();
            while let Some(first) = rx.blocking_recv() {
                let mut batch = vec![first];
                while batch.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(w) => batch.push(w),
                        Err(_) => break,
                    }
                }
                let tiles: Vec<TileId> = batch.iter().map(|(t, _)| *t).collect();
                let written = batch
                    .into_iter()
                    .map(|(t, w)| w.into_record(&*store, t).map(|r| (t, r)))
                    .collect::<Result<Vec<_>>>()
                    .and_then(|records| {
                        store.put_many(&records)?;
                        Ok(records)
                    });
                // Stored (or lost): other runs may take these tiles now. Best effort: a
                // claim left behind runs out after its lease.
                let _ = fetcher.claims().release(&name, &tiles);
                match written {
                    Ok(records) => {
                        for (tile, record) in &records {
                            if let TileBody::Data(bytes) = &record.body {
                                // Bodies were checked before they were stored; one that does
                                // not decode is counted as unreadable by `seen`.
                                let _ = seen.add_tile(*tile, bytes);
                            }
                        }
                    }
                    Err(e) => {
                        halt.store(true, Ordering::Relaxed);
                        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                        s.stopped.get_or_insert(StopReason::Error(e.to_string()));
                        // Keep receiving so that workers never wait on a full channel.
                        while rx.blocking_recv().is_some() {}
                        return seen;
                    }
                }
            }
            seen
        })
    };
    // Claims on the tiles in flight are renewed while the run lasts.
    let renewer = {
        let fetcher = fetcher.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let f = fetcher.clone();
                let _ = tokio::task::spawn_blocking(move || f.claims().renew()).await;
            }
        })
    };
    // Tiles another run had claimed, tried again once the list is done.
    let deferred: Arc<Mutex<VecDeque<TileId>>> = Arc::default();
    let run_started = Utc::now();
    let workers = fetcher.config().concurrency.min(tiles.len()).max(1);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (fetcher, tileset) = (fetcher.clone(), tileset.clone());
        let (tiles, next, halt, shared, validators, tx) = (
            Arc::clone(&tiles),
            Arc::clone(&next),
            Arc::clone(&halt),
            Arc::clone(&shared),
            Arc::clone(&validators),
            tx.clone(),
        );
        let (store, deferred) = (Arc::clone(&store), Arc::clone(&deferred));
        let progress_fn = options.progress.clone();
        set.spawn(async move {
            while !halt.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (tile, waited) = match tiles.get(i) {
                    Some(&tile) => (tile, false),
                    None => match lock(&deferred).pop_front() {
                        Some(tile) => (tile, true),
                        None => break,
                    },
                };
                let result = match claim(&fetcher, &store, tileset.name(), tile, run_started).await
                {
                    Err(e) => Err(e),
                    Ok(Claim::Held) => {
                        lock(&deferred).push_back(tile);
                        if !waited {
                            continue;
                        }
                        match fetcher.sleep(CLAIM_POLL).await {
                            Ok(()) => continue,
                            Err(e) => Err(e),
                        }
                    }
                    Ok(Claim::DoneElsewhere) => Ok(None),
                    Ok(Claim::Mine) => {
                        let v = validators.get(&tile).cloned().unwrap_or_default();
                        match fetcher.fetch_pending(&tileset, tile, v).await {
                            Ok((outcome, write)) => {
                                if tx.send((tile, write)).await.is_err() {
                                    break;
                                }
                                Ok(Some(outcome))
                            }
                            Err(e) => {
                                let _ = fetcher.claims().release(tileset.name(), &[tile]);
                                Err(e)
                            }
                        }
                    }
                };
                let snapshot = {
                    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                    let p = &mut s.progress;
                    match &result {
                        Ok(Some(Outcome::Data { .. })) => p.data += 1,
                        Ok(Some(Outcome::Empty)) => p.empty += 1,
                        Ok(Some(Outcome::NotModified)) => p.not_modified += 1,
                        Ok(Some(Outcome::Failed { .. })) => p.failed += 1,
                        Ok(None) => p.by_other_runs += 1,
                        Err(_) => {}
                    }
                    if result.is_ok() {
                        p.done += 1;
                    }
                    p.requests = fetcher.requests_sent() - requests_before;
                    p.bytes = fetcher.counters().bytes.load(Ordering::Relaxed) - bytes_before;
                    p.budget_left = budget_left.saturating_sub(p.requests);
                    p.elapsed = started.elapsed();
                    match result {
                        Ok(Some(Outcome::Failed { kind, reason })) => {
                            let e = s.failures.entry(kind).or_insert((0, reason));
                            e.0 += 1;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            halt.store(true, Ordering::Relaxed);
                            // The first reason wins; an interruption after it is its echo.
                            if s.stopped.is_none() {
                                s.stopped = Some(stop_reason(e));
                            }
                        }
                    }
                    s.progress.clone()
                };
                if let Some(f) = &progress_fn {
                    f(&snapshot);
                }
            }
        });
    }
    drop(tx);
    while let Some(r) = set.join_next().await {
        if let Err(e) = r {
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            s.stopped
                .get_or_insert(StopReason::Error(format!("a fetch worker failed: {e}")));
        }
    }
    renewer.abort();
    // Requests leased from the budget and not sent go back to it for other runs.
    if let Err(e) = fetcher.budget().release() {
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        s.stopped.get_or_insert(StopReason::Error(e.to_string()));
    }
    // Every result is written before the run returns, and then the metadata.
    let seen = match writer.await {
        Ok(seen) => Some(seen),
        Err(e) => {
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            s.stopped
                .get_or_insert(StopReason::Error(format!("the store writer failed: {e}")));
            None
        }
    };
    if let Some(seen) = seen {
        let changed = {
            let s = lock(&shared);
            s.progress.data + s.progress.empty > 0
        };
        let (store, name) = (Arc::clone(&store), tileset.name().to_string());
        let updated = tokio::task::spawn_blocking(move || {
            crate::metadata::update_metadata(&*store, &name, seen, data_before, changed)
        })
        .await;
        let error = match updated {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("writing the store's metadata: {e}")),
            Err(e) => Some(format!("writing the store's metadata failed: {e}")),
        };
        if let Some(e) = error {
            lock(&shared).stopped.get_or_insert(StopReason::Error(e));
        }
    }
    let s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let mut progress = s.progress.clone();
    progress.elapsed = started.elapsed();
    Ok(Summary {
        remaining: total - progress.done,
        progress,
        failures: s.failures.clone(),
        stopped: s.stopped.clone(),
    })
}

/// How often a run looks again at a tile another run has in flight.
const CLAIM_POLL: Duration = Duration::from_millis(100);

/// Whether a worker may request a tile.
enum Claim {
    /// This run holds the claim: request it.
    Mine,
    /// Another run has it in flight.
    Held,
    /// Another run stored it since this run started (the claim is given back).
    DoneElsewhere,
}

/// Claims `tile` for this run, off the async threads (an SQLite write and a store read).
async fn claim(
    fetcher: &Fetcher,
    store: &Arc<dyn TileStore>,
    tileset: &str,
    tile: TileId,
    since: DateTime<Utc>,
) -> Result<Claim> {
    let (f, store, name) = (fetcher.clone(), Arc::clone(store), tileset.to_string());
    let work = move || -> Result<Claim> {
        if !f.claims().claim(&name, tile)? {
            return Ok(Claim::Held);
        }
        let done = store.info(tile)?.is_some_and(|i| {
            i.status != TileStatus::Failed && i.fetched_at.is_some_and(|at| at >= since)
        });
        if done {
            f.claims().release(&name, &[tile])?;
            return Ok(Claim::DoneElsewhere);
        }
        Ok(Claim::Mine)
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r,
        // The closure does not panic; if the runtime is shutting down, stop.
        Err(_) => Err(Error::Stopped),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn stop_reason(e: Error) -> StopReason {
    match e {
        Error::BudgetExhausted { limit, resets_at } => StopReason::Budget { limit, resets_at },
        Error::DailyLimit { answer } => StopReason::DailyLimit(answer),
        Error::InvalidToken { answer } => StopReason::InvalidToken(answer),
        Error::Stopped => StopReason::Interrupted,
        other => StopReason::Error(other.to_string()),
    }
}
