//! One tile at a time: the request, its classification, retries, the shared pause after a
//! rate limit, the budget, and the write to the store.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use mlytiles_store::{TileBody, TileInfo, TileRecord, TileStatus, TileStore};
use mlytiles_tile::TileId;
use reqwest::StatusCode;
use reqwest::header::{
    ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use tokio::time::Instant;

use crate::budget::Budget;
use crate::claims::Claims;
use crate::classify::{
    Answer, FailureKind, classify_json, classify_ok_body, parse_retry_after, sample,
};
use crate::config::FetchConfig;
use crate::error::{Error, Result};
use crate::tileset::Tileset;

/// What fetching one tile ended in. Every outcome is recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A valid tile, stored. `body` is as received (maybe gzip-compressed).
    Data {
        /// The tile bytes.
        body: Vec<u8>,
    },
    /// The tile is empty (200 without body or layers, 204, or 403/404 when
    /// [`FetchConfig::missing_is_empty`]); stored as empty.
    Empty,
    /// 304 to a conditional request: the stored tile is kept and its time updated.
    NotModified,
    /// Every attempt failed; recorded as failed (a stored result is kept).
    Failed {
        /// The kind of the last failure.
        kind: FailureKind,
        /// The last failure, with a short sample of the body.
        reason: String,
    },
}

/// What the store holds of a tile before a request: its validators, for a conditional
/// request, and whether it has data (which a refresh answered 403 or 404 must keep).
#[derive(Debug, Clone, Default)]
pub(crate) struct Validators {
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) has_data: bool,
}

impl Validators {
    /// From what the store knows of the tile (nothing for a failed tile).
    pub(crate) fn of(info: Option<&TileInfo>) -> Validators {
        match info {
            Some(i) if i.status != TileStatus::Failed => Validators {
                etag: i.etag.clone(),
                last_modified: i.last_modified.clone(),
                has_data: i.status == TileStatus::Data,
            },
            _ => Validators::default(),
        }
    }

    /// Whether there is anything to keep for the tile.
    pub(crate) fn is_useful(&self) -> bool {
        self.has_data || self.etag.is_some() || self.last_modified.is_some()
    }
}

/// The store write an outcome needs.
#[derive(Debug)]
pub(crate) enum PendingWrite {
    /// A tile body: compressed (fast level) when written; `record` holds the rest.
    Data { body: Vec<u8>, record: TileRecord },
    /// An empty answer or a failure.
    Record(TileRecord),
    /// 304: the stored tile is kept with a new time and validators.
    Touch {
        at: DateTime<Utc>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

impl PendingWrite {
    /// The record to store (reading the stored tile for a `Touch`).
    pub(crate) fn into_record(self, store: &dyn TileStore, tile: TileId) -> Result<TileRecord> {
        Ok(match self {
            PendingWrite::Data { body, mut record } => {
                record.body = TileBody::Data(stored_bytes(&body));
                record
            }
            PendingWrite::Record(r) => r,
            PendingWrite::Touch {
                at,
                etag,
                last_modified,
            } => {
                let mut record = match store.get(tile)? {
                    Some(t) if t.info.status == TileStatus::Data => TileRecord::data(t.data, at),
                    _ => TileRecord::empty(at),
                };
                record.etag = etag;
                record.last_modified = last_modified;
                record
            }
        })
    }

    /// Writes it.
    pub(crate) fn apply(self, store: &dyn TileStore, tile: TileId) -> Result<()> {
        let record = self.into_record(store, tile)?;
        Ok(store.put(tile, &record)?)
    }
}

/// Counters shared by everything a [`Fetcher`] does.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// HTTP requests sent.
    pub(crate) requests: AtomicU64,
    /// Body bytes received.
    pub(crate) bytes: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    config: FetchConfig,
    client: reqwest::Client,
    budget: Budget,
    claims: Claims,
    cache_dir: PathBuf,
    pacer: Option<DefaultDirectRateLimiter>,
    /// No request goes out before this instant (set by a rate-limit answer).
    pause_until: Mutex<Option<Instant>>,
    /// When the current run of rate-limit answers began.
    limited_since: Mutex<Option<Instant>>,
    stop: tokio::sync::watch::Sender<bool>,
    counters: Counters,
}

/// Fetches tiles into stores: bounded by the configuration's budget, pace and retries.
///
/// Cheap to clone (shared state): clones share the pause after a rate limit, the pace
/// limiter, the stop flag and the counters. The HTTP client reuses connections.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> mlytiles_fetch::Result<()> {
/// use mlytiles_fetch::{FetchConfig, Fetcher, Tileset};
/// use mlytiles_store::MbTiles;
///
/// let fetcher = Fetcher::new(FetchConfig::from_env(), "/tmp/mlytiles-cache")?;
/// let store = MbTiles::open("/tmp/mlytiles-cache/mly1_public.mbtiles")?;
/// let tileset = Tileset::by_name("mly1_public").unwrap();
/// let tile = mlytiles_tile::TileId::new(14, 8185, 5447)?;
/// let outcome = fetcher.fetch_tile(&tileset, tile, &store).await?;
/// println!("{outcome:?}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

impl Fetcher {
    /// A fetcher using `cache_dir` for its daily budget file (`mlytiles-budget.sqlite`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an unusable configuration, [`Error::Budget`] if the budget file
    /// cannot be opened, [`Error::Client`] if the HTTP client cannot be built.
    pub fn new(config: FetchConfig, cache_dir: impl AsRef<Path>) -> Result<Fetcher> {
        config.validate()?;
        let cache_dir = cache_dir.as_ref().to_path_buf();
        // A lease of one request per worker: workers answered together count together.
        let budget = Budget::open(&cache_dir, config.daily_budget)?
            .with_lease(config.concurrency.max(1) as u64);
        let claims = Claims::open(&cache_dir)?;
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.request_timeout)
            .pool_max_idle_per_host(config.concurrency.max(1))
            .tcp_nodelay(true)
            // Redirects are followed by `fetch_pending`, hop by hop: each one is counted in
            // the budget, and none leads to another origin.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Client(error_chain(&e.without_url())))?;
        let pacer = config.rate.map(|r| {
            let period = Duration::from_secs_f64((1.0 / r).max(1e-9));
            let quota = Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(NonZeroU32::MIN);
            RateLimiter::direct(quota)
        });
        let (stop, _) = tokio::sync::watch::channel(false);
        Ok(Fetcher {
            inner: Arc::new(Inner {
                config,
                client,
                budget,
                claims,
                cache_dir,
                pacer,
                pause_until: Mutex::new(None),
                limited_since: Mutex::new(None),
                stop,
                counters: Counters::default(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.inner.config
    }

    /// The cache folder holding the budget file.
    pub fn cache_dir(&self) -> &Path {
        &self.inner.cache_dir
    }

    /// The daily budget.
    pub fn budget(&self) -> &Budget {
        &self.inner.budget
    }

    /// HTTP requests this fetcher (and its clones) sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.inner.counters.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// The claims on tiles in flight, shared through the cache folder.
    pub(crate) fn claims(&self) -> &Claims {
        &self.inner.claims
    }

    /// Asks every fetch in progress to stop: no new request is sent, backoff waits end, and
    /// [`fetch_tile`](Self::fetch_tile) returns [`Error::Stopped`]. Stored tiles stay.
    pub fn stop(&self) {
        self.inner.stop.send_replace(true);
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        *self.inner.stop.borrow()
    }

    /// Sleeps for `d`, or less if the fetcher is stopped.
    pub(crate) async fn sleep(&self, d: Duration) -> Result<()> {
        let mut rx = self.inner.stop.subscribe();
        tokio::select! {
            () = tokio::time::sleep(d) => Ok(()),
            _ = rx.wait_for(|s| *s) => Err(Error::Stopped),
        }
    }

    /// Waits while a rate-limit pause is in force (set by any worker).
    async fn wait_pause(&self) -> Result<()> {
        loop {
            let until = *lock(&self.inner.pause_until);
            match until {
                Some(t) if t > Instant::now() => self.sleep(t - Instant::now()).await?,
                _ => return Ok(()),
            }
        }
    }

    /// Fetches one tile of `tileset` into `store` and records the outcome there.
    ///
    /// The request is conditional (`If-None-Match` / `If-Modified-Since`) when the store holds
    /// the tile with validators. Transient failures are retried with exponential backoff and
    /// jitter; a rate-limit answer pauses every request of this fetcher (and its clones) for
    /// `Retry-After`. Each attempt is counted in the daily budget before it is sent.
    ///
    /// Redirects are followed within the endpoint's origin only, at most 3 hops per tile,
    /// each hop counted in the budget like any request; a redirect to another scheme, host or
    /// port, or a fourth hop, records the tile as failed ([`FailureKind::Redirect`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`], [`Error::DailyLimit`], [`Error::BudgetExhausted`],
    /// [`Error::Stopped`] (nothing is recorded for the tile then), a zoom the tileset does not
    /// serve, or a store error.
    pub async fn fetch_tile(
        &self,
        tileset: &Tileset,
        tile: TileId,
        store: &dyn TileStore,
    ) -> Result<Outcome> {
        tileset.check_zoom(tile.z())?;
        let validators = Validators::of(store.info(tile)?.as_ref());
        let (outcome, write) = self.fetch_pending(tileset, tile, validators).await?;
        write.apply(store, tile)?;
        Ok(outcome)
    }

    /// Everything [`fetch_tile`](Self::fetch_tile) does except the store write, which is
    /// returned for the caller to apply (bulk runs batch them on a writer thread).
    pub(crate) async fn fetch_pending(
        &self,
        tileset: &Tileset,
        tile: TileId,
        validators: Validators,
    ) -> Result<(Outcome, PendingWrite)> {
        let mut url = tileset.url(&self.inner.config.endpoint, tile);
        let send_token = tileset.is_mapillary();
        let mut retries = 0u32;
        let mut hops = 0u32;
        loop {
            if self.is_stopped() {
                return Err(Error::Stopped);
            }
            self.wait_pause().await?;
            if let Some(p) = &self.inner.pacer {
                let mut rx = self.inner.stop.subscribe();
                tokio::select! {
                    () = p.until_ready() => {}
                    _ = rx.wait_for(|s| *s) => return Err(Error::Stopped),
                }
            }
            self.take_budget().await?;
            self.inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            let (answer, headers) = {
                let mut rx = self.inner.stop.subscribe();
                tokio::select! {
                    r = self.request(&url, send_token, &validators) => r,
                    _ = rx.wait_for(|s| *s) => return Err(Error::Stopped),
                }
            };
            if !matches!(answer, Answer::RateLimited { .. }) {
                *lock(&self.inner.limited_since) = None;
            }
            let now = Utc::now();
            // Validators are stored: one that quotes the token is dropped.
            let etag = headers
                .as_ref()
                .and_then(|h| header(h, ETAG))
                .filter(|v| !self.quotes_token(v));
            let last_modified = headers
                .as_ref()
                .and_then(|h| header(h, LAST_MODIFIED))
                .filter(|v| !self.quotes_token(v));
            let with_validators = |mut r: TileRecord| {
                r.etag = etag.clone();
                r.last_modified = last_modified.clone();
                r
            };
            match answer {
                Answer::Data(body) => {
                    let record = with_validators(TileRecord::data(Vec::new(), now));
                    let write = PendingWrite::Data {
                        body: body.clone(),
                        record,
                    };
                    return Ok((Outcome::Data { body }, write));
                }
                Answer::Empty => {
                    let record = with_validators(TileRecord::empty(now));
                    return Ok((Outcome::Empty, PendingWrite::Record(record)));
                }
                Answer::Missing(what) if validators.has_data => {
                    // A CDN or a firewall answers 403 too: not proof that the tile vanished.
                    // The stored data stays; the answer is recorded next to it.
                    let reason = format!("{what} to a refresh: the stored tile is kept");
                    let write = PendingWrite::Record(TileRecord::failed(reason.clone(), now));
                    let kind = FailureKind::HttpStatus;
                    return Ok((Outcome::Failed { kind, reason }, write));
                }
                Answer::Missing(_) => {
                    let record = with_validators(TileRecord::empty(now));
                    return Ok((Outcome::Empty, PendingWrite::Record(record)));
                }
                Answer::NotModified => {
                    let write = PendingWrite::Touch {
                        at: now,
                        etag: etag.or(validators.etag),
                        last_modified: last_modified.or(validators.last_modified),
                    };
                    return Ok((Outcome::NotModified, write));
                }
                Answer::InvalidToken(answer) => {
                    self.stop();
                    return Err(Error::InvalidToken { answer });
                }
                Answer::RateLimited {
                    retry_after,
                    answer,
                } => self.rate_limited(retry_after, answer)?,
                Answer::Redirect(location) => match redirect_target(&url, &location, hops) {
                    Ok(next) => {
                        hops += 1;
                        url = next;
                    }
                    Err(reason) => {
                        let reason = self.mask(&reason);
                        let write = PendingWrite::Record(TileRecord::failed(reason.clone(), now));
                        let kind = FailureKind::Redirect;
                        return Ok((Outcome::Failed { kind, reason }, write));
                    }
                },
                Answer::Failed(kind, reason) => {
                    let reason = self.mask(&reason);
                    if kind.is_transient() && retries < self.inner.config.max_retries {
                        retries += 1;
                        self.sleep(self.backoff(retries)).await?;
                        continue;
                    }
                    let write = PendingWrite::Record(TileRecord::failed(reason.clone(), now));
                    return Ok((Outcome::Failed { kind, reason }, write));
                }
            }
        }
    }

    /// Counts one request in the budget file, on a blocking thread: an SQLite write (and the
    /// wait for other workers' writes) must not hold up the async threads that move the
    /// bytes of the requests in flight.
    async fn take_budget(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || inner.budget.take()).await {
            Ok(r) => r,
            // The closure does not panic; if the runtime is shutting down, stop.
            Err(_) => Err(Error::Stopped),
        }
    }

    /// Pauses every worker after a rate-limit answer, or gives up when the limit persists.
    fn rate_limited(&self, retry_after: Option<Duration>, answer: String) -> Result<()> {
        let c = &self.inner.config;
        let now = Instant::now();
        let since = *lock(&self.inner.limited_since).get_or_insert(now);
        let wait = retry_after.unwrap_or(c.rate_limit_pause);
        if now.duration_since(since) + wait > c.max_rate_limit_wait {
            self.stop();
            return Err(Error::DailyLimit { answer });
        }
        let mut pause = lock(&self.inner.pause_until);
        let until = now + wait;
        if pause.is_none_or(|p| p < until) {
            *pause = Some(until);
        }
        Ok(())
    }

    /// Exponential backoff with equal jitter for retry number `n` (1-based): half the capped
    /// delay, plus a random part of the other half.
    fn backoff(&self, n: u32) -> Duration {
        let c = &self.inner.config;
        let cap = c
            .backoff_base
            .saturating_mul(1u32 << n.saturating_sub(1).min(20))
            .min(c.backoff_max);
        let ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        // Equal jitter: at least half the delay, so bursts still spread out.
        Duration::from_millis(ms / 2 + rand::random_range(0..=ms / 2))
    }

    /// `text` scrubbed of the token in every encoding ([`Token::scrub`](crate::Token::scrub)).
    fn mask(&self, text: &str) -> String {
        match &self.inner.config.token {
            Some(t) => t.scrub(text),
            None => text.to_string(),
        }
    }

    /// Whether `text` holds the token in any encoding.
    fn quotes_token(&self, text: &str) -> bool {
        self.mask(text) != text
    }

    /// One HTTP exchange, classified; the response headers when there was a response.
    async fn request(
        &self,
        url: &str,
        send_token: bool,
        validators: &Validators,
    ) -> (Answer, Option<HeaderMap>) {
        let c = &self.inner.config;
        let mut req = self.inner.client.get(url);
        if send_token && let Some(t) = &c.token {
            req = req.query(&[("access_token", t.expose())]);
        }
        if let Some(e) = &validators.etag {
            req = req.header(IF_NONE_MATCH, e);
        }
        if let Some(l) = &validators.last_modified {
            req = req.header(IF_MODIFIED_SINCE, l);
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return (self.transport_failure(e), None),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let too_large = || {
            let what = format!("body larger than {} bytes", c.max_body);
            (
                Answer::Failed(FailureKind::TooLarge, what),
                Some(headers.clone()),
            )
        };
        if resp.content_length().is_some_and(|n| n > c.max_body as u64) {
            return too_large();
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > c.max_body {
                        return too_large();
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return (self.transport_failure(e), Some(headers)),
            }
        }
        self.inner
            .counters
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let answer = classify_status(status, &headers, body, c);
        // Everything quoted from upstream was scrubbed before it was cut; scrub the whole
        // reason again in case a later change quotes something else.
        let answer = match answer {
            Answer::Failed(kind, reason) => Answer::Failed(kind, self.mask(&reason)),
            Answer::RateLimited {
                retry_after,
                answer,
            } => Answer::RateLimited {
                retry_after,
                answer: self.mask(&answer),
            },
            other => other,
        };
        (answer, Some(headers))
    }

    fn transport_failure(&self, e: reqwest::Error) -> Answer {
        // reqwest's message names the URL, which holds the token: drop it.
        let e = e.without_url();
        let chain = error_chain(&e);
        // With gzip support every body goes through a decoder, so a body cut short shows as a
        // decode error too: the cause tells them apart.
        let cut_short = chain.contains("end of file before message length")
            || chain.contains("IncompleteBody")
            || chain.contains("connection closed before message completed");
        let kind = if e.is_timeout() {
            FailureKind::Timeout
        } else if cut_short && (e.is_body() || e.is_decode()) {
            FailureKind::Truncated
        } else if e.is_decode() {
            FailureKind::Gzip
        } else if e.is_body() {
            FailureKind::Truncated
        } else {
            FailureKind::Connection
        };
        Answer::Failed(kind, self.mask(&format!("{kind}: {chain}")))
    }
}

/// Same-origin redirects followed per tile, at most.
pub(crate) const MAX_REDIRECTS: u32 = 3;

/// Where a redirect from `url` to `location` leads (with any `access_token` the server put in
/// it removed: the request adds the token itself), or why it is not followed.
fn redirect_target(url: &str, location: &str, hops: u32) -> std::result::Result<String, String> {
    let from = reqwest::Url::parse(url).map_err(|e| format!("redirect from a bad URL: {e}"))?;
    let mut to = from
        .join(location)
        .map_err(|e| format!("redirect to a bad location: {e}"))?;
    if to.origin() != from.origin() {
        return Err(format!(
            "redirect to another origin ({}) refused",
            to.origin().ascii_serialization()
        ));
    }
    if hops >= MAX_REDIRECTS {
        return Err(format!("more than {MAX_REDIRECTS} redirects"));
    }
    let pairs: Vec<(String, String)> = to
        .query_pairs()
        .filter(|(k, _)| k != "access_token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() {
        to.set_query(None);
    } else {
        to.query_pairs_mut().clear().extend_pairs(pairs);
    }
    to.set_fragment(None);
    Ok(to.into())
}

/// Classifies a response by status, then (for 200) by body.
fn classify_status(
    status: StatusCode,
    headers: &HeaderMap,
    body: Vec<u8>,
    c: &FetchConfig,
) -> Answer {
    let what = format!("HTTP {}", status.as_u16());
    let token = c.token.as_ref();
    match status.as_u16() {
        200 => classify_ok_body(body, c.max_body, token),
        204 => Answer::Empty,
        304 => Answer::NotModified,
        301 | 302 | 303 | 307 | 308 => match header(headers, LOCATION) {
            Some(location) => Answer::Redirect(location),
            None => Answer::Failed(FailureKind::HttpStatus, format!("{what} without Location")),
        },
        401 => Answer::InvalidToken(what),
        429 => Answer::RateLimited {
            retry_after: header(headers, RETRY_AFTER).and_then(|v| parse_retry_after(&v)),
            answer: what,
        },
        403 | 404 if c.missing_is_empty && !body_is_token_error(&body) => Answer::Missing(what),
        s if (500..600).contains(&s) => Answer::Failed(
            FailureKind::ServerError,
            format!("{what}: {:?}", sample(&body, token)),
        ),
        _ => match classify_json(&body, &what, token) {
            a @ (Answer::InvalidToken(_) | Answer::RateLimited { .. }) => a,
            _ => Answer::Failed(
                FailureKind::HttpStatus,
                format!("{what}: {:?}", sample(&body, token)),
            ),
        },
    }
}

/// The bytes to store: gzip-compressed at the fast level (stores keep gzip data as given;
/// their default level costs several times more CPU per tile than the fetch itself).
fn stored_bytes(body: &[u8]) -> Vec<u8> {
    if mlytiles_mvt::is_gzip(body) {
        return body.to_vec();
    }
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3 + 64),
        flate2::Compression::fast(),
    );
    match std::io::Write::write_all(&mut enc, body).and_then(|()| enc.finish()) {
        Ok(gz) => gz,
        // Writing to a Vec cannot fail; should it, the store compresses the plain bytes.
        Err(_) => body.to_vec(),
    }
}

fn body_is_token_error(body: &[u8]) -> bool {
    body.first() == Some(&b'{') && matches!(classify_json(body, "", None), Answer::InvalidToken(_))
}

fn header(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An error's message and causes.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
