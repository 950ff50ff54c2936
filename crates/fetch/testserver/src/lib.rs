//! A tile server on `127.0.0.1` for mlytiles' HTTP tests, scripted to misbehave.
//!
//! It speaks just enough HTTP/1.1 over raw TCP (keep-alive, `Content-Length`) to misbehave
//! the way real servers do: added latency, 429 with `Retry-After`, 5xx bursts, connection
//! resets, truncated bodies, the JSON "Application request limit reached" body, HTML pages,
//! gzip with and without `Content-Encoding`, stalls, 401 and error code 190, 204, 403/404,
//! `ETag`/`Last-Modified` with 304 answers to conditional requests, redirects, and error
//! bodies that quote the request back in the encodings real servers use ([`EchoForm`]).
//!
//! Tiles are served from a map filled by [`TestServer::insert`] or from a tile store
//! ([`TestServer::start_with_store`]) at any path ending in `/{z}/{x}/{y}` (an extension
//! such as `.pbf` is ignored), so both `…/maps/vtp/mly1_public/2/14/1/2?access_token=…`
//! and `/14/1/2.pbf` work. Every request is counted per tile and logged
//! ([`TestServer::requests`]).
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use mlytiles_testserver::{Reply, TestServer};
//!
//! let server = TestServer::start().await;
//! server.insert((14, 1, 2), vec![0x1a, 0x00]);
//! // The first request for the tile gets a 503, the next ones the tile.
//! server.script((14, 1, 2), [Reply::Status(503)]);
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(server.count((14, 1, 2)), 0);
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mlytiles_store::{TileId, TileStatus, TileStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A tile address `(z, x, y)` (XYZ rows).
pub type Key = (u8, u32, u32);

/// The `Last-Modified` value sent with every tile.
pub const LAST_MODIFIED: &str = "Wed, 01 Jan 2025 00:00:00 GMT";

/// The JSON body Mapillary sends (with status 200) when the app's daily limit is reached.
pub const LIMIT_BODY: &str = r#"{"error":{"message":"Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"test"}}"#;

/// The JSON body of an invalid token (error code 190).
pub const TOKEN_BODY: &str = r#"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"test"}}"#;

/// How to answer one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// The tile (200, with `ETag` and `Last-Modified`, or 304 to a matching conditional
    /// request), or the server's reply for missing tiles ([`TestServer::set_missing`]).
    Tile,
    /// Waits, then answers as [`Reply::Tile`].
    Delay(Duration),
    /// That status with an empty body (e.g. 204, 401, 403, 404, 500, 503).
    Status(u16),
    /// 429, with this `Retry-After` value if any (e.g. `"1"`).
    TooManyRequests(Option<String>),
    /// 200 with [`LIMIT_BODY`].
    LimitJson,
    /// This status with [`TOKEN_BODY`] (error code 190).
    TokenJson(u16),
    /// 200 with an HTML error page.
    Html,
    /// The tile gzip-compressed, with `Content-Encoding: gzip`.
    GzipWithHeader,
    /// The tile gzip-compressed, without `Content-Encoding`.
    GzipWithoutHeader,
    /// Closes the connection without answering (with a TCP reset).
    Reset,
    /// Sends the headers with the tile's `Content-Length`, half the body, then closes.
    Truncate,
    /// Waits this long without answering, then closes the connection.
    Stall(Duration),
    /// Quotes the request back (`GET <target>`), the way error pages and proxies do, with
    /// the target in one of the [`EchoForm`]s: after `pad` bytes of `x`, and cut to `cut`
    /// bytes if given (a server that cuts its quote short).
    Echo {
        /// The status.
        status: u16,
        /// How the request target is written.
        form: EchoForm,
        /// Bytes of padding before the quote.
        pad: usize,
        /// The body's length at most.
        cut: Option<usize>,
    },
    /// A redirect (301, 302, 303, 307 or 308) to `location`.
    Redirect {
        /// The status.
        status: u16,
        /// The `Location` header.
        location: String,
    },
    /// Any status, content type and body.
    Body {
        /// The status.
        status: u16,
        /// The `Content-Type`.
        content_type: String,
        /// The body.
        body: Vec<u8>,
    },
}

/// How [`Reply::Echo`] writes the request target. All but [`EchoForm::AsReceived`] start from
/// the percent-decoded target and encode every character other than ASCII letters, digits
/// and `/?=&` (or, for [`EchoForm::Mixed`], every character, in turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EchoForm {
    /// The target as the request line held it (percent-encoded by the client).
    AsReceived,
    /// Percent-decoded.
    Raw,
    /// `%xx`, lowercase hex.
    PercentLower,
    /// `%XX` encoded twice (`%257C`).
    PercentTwice,
    /// HTML decimal references, `&#124;`.
    HtmlDecimal,
    /// HTML hex references, `&#x7c;`.
    HtmlHex,
    /// Named HTML references where they exist (`&verbar;`, `&lowbar;`, `&period;`).
    HtmlNamed,
    /// A JSON error whose message holds the target with `\u007c` escapes.
    Json,
    /// Every character in another form, in turn: raw, `%XX`, `&#NN;`, `&#xHH;`, `\u00XX`.
    Mixed,
}

impl EchoForm {
    /// Every form.
    pub const ALL: [EchoForm; 9] = [
        EchoForm::AsReceived,
        EchoForm::Raw,
        EchoForm::PercentLower,
        EchoForm::PercentTwice,
        EchoForm::HtmlDecimal,
        EchoForm::HtmlHex,
        EchoForm::HtmlNamed,
        EchoForm::Json,
        EchoForm::Mixed,
    ];

    /// `target` (as received) written in this form, and the content type that goes with it.
    pub fn write(self, target: &str) -> (String, &'static str) {
        if self == EchoForm::AsReceived {
            return (target.to_string(), "text/plain");
        }
        let plain = percent_decode(target);
        let keep = |c: char| c.is_ascii_alphanumeric() || "/?=&".contains(c);
        let mut out = String::new();
        for (i, c) in plain.chars().enumerate() {
            let n = u32::from(c);
            let piece = match self {
                EchoForm::Mixed => match i % 5 {
                    0 => c.to_string(),
                    1 => format!("%{n:02X}"),
                    2 => format!("&#{n};"),
                    3 => format!("&#x{n:x};"),
                    _ => format!("\\u{n:04x}"),
                },
                _ if keep(c) => c.to_string(),
                EchoForm::Raw => c.to_string(),
                EchoForm::PercentLower => format!("%{n:02x}"),
                EchoForm::PercentTwice => format!("%25{n:02X}"),
                EchoForm::HtmlDecimal => format!("&#{n};"),
                EchoForm::HtmlHex => format!("&#x{n:x};"),
                EchoForm::HtmlNamed => match c {
                    '|' => "&verbar;".into(),
                    '_' => "&lowbar;".into(),
                    '.' => "&period;".into(),
                    _ => c.to_string(),
                },
                EchoForm::Json => format!("\\u{n:04x}"),
                EchoForm::AsReceived => unreachable!("returned above"),
            };
            out.push_str(&piece);
        }
        match self {
            EchoForm::Json => (
                format!(r#"{{"error":{{"message":"cannot serve GET {out}","code":100}}}}"#),
                "application/json",
            ),
            EchoForm::HtmlDecimal | EchoForm::HtmlHex | EchoForm::HtmlNamed => {
                (format!("<html><body>GET {out}</body></html>"), "text/html")
            }
            _ => (format!("GET {out}"), "text/plain"),
        }
    }
}

/// `%XX` sequences decoded (invalid ones kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| char::from(*c).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One request as the server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query (after `?`), empty if none.
    pub query: String,
    /// The header lines, as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// The tile the path names, if any.
    pub tile: Option<Key>,
    /// When the request's head was read.
    pub received: std::time::Instant,
}

impl Request {
    /// A header's value (name compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    tiles: HashMap<Key, Vec<u8>>,
    per_tile: HashMap<Key, VecDeque<Reply>>,
    per_request: VecDeque<Reply>,
    counts: HashMap<Key, usize>,
    log: Vec<Request>,
    latency: Duration,
    missing: Option<Reply>,
    no_validators: bool,
}

struct Shared {
    state: Mutex<State>,
    store: Option<Arc<dyn TileStore>>,
    closed: AtomicBool,
}

/// A running server; it stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TestServer {
    /// Starts an empty server on `127.0.0.1` (a free port) in the current tokio runtime.
    ///
    /// # Panics
    ///
    /// If no port can be bound (a broken test machine).
    pub async fn start() -> TestServer {
        Self::start_inner(None).await
    }

    /// Starts a server answering from `store` (data tiles served uncompressed, empty tiles
    /// as 200 with an empty body; tiles it does not hold get the missing reply).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub async fn start_with_store(store: Arc<dyn TileStore>) -> TestServer {
        Self::start_inner(Some(store)).await
    }

    /// As [`start`](Self::start), on a runtime of its own (for tests without one, e.g. tests
    /// that run the binary).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start), or if the runtime cannot be built.
    pub fn start_background() -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for the test server");
        let mut server = rt.block_on(Self::start_inner(None));
        server.runtime = Some(rt);
        server
    }

    async fn start_inner(store: Option<Arc<dyn TileStore>>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            store,
            closed: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if s.closed.load(Ordering::Relaxed) {
                    break;
                }
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(stream, Arc::clone(&s)));
            }
        });
        TestServer {
            addr,
            shared,
            task,
            runtime: None,
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Serves `bytes` for the tile.
    pub fn insert(&self, tile: Key, bytes: Vec<u8>) {
        self.state().tiles.insert(tile, bytes);
    }

    /// Replies for the next requests of one tile, in order; then [`Reply::Tile`] again.
    pub fn script(&self, tile: Key, replies: impl IntoIterator<Item = Reply>) {
        self.state()
            .per_tile
            .entry(tile)
            .or_default()
            .extend(replies);
    }

    /// Replies for the next requests of any tile, in order of arrival (before per-tile
    /// scripts); then per-tile scripts or [`Reply::Tile`].
    pub fn script_requests(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state().per_request.extend(replies);
    }

    /// Latency added before every answer (default none).
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// The reply for tiles the server does not hold (default `Reply::Status(404)`).
    pub fn set_missing(&self, reply: Reply) {
        self.state().missing = Some(reply);
    }

    /// Whether tiles carry `ETag` and `Last-Modified` and conditional requests get 304
    /// (default `true`).
    pub fn set_validators(&self, on: bool) {
        self.state().no_validators = !on;
    }

    /// How many requests named the tile (whatever the reply).
    pub fn count(&self, tile: Key) -> usize {
        self.state().counts.get(&tile).copied().unwrap_or(0)
    }

    /// The request counts of every tile requested.
    pub fn counts(&self) -> HashMap<Key, usize> {
        self.state().counts.clone()
    }

    /// How many requests arrived in all.
    pub fn total_requests(&self) -> usize {
        self.state().log.len()
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        self.state().log.clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.task.abort();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The largest request head read.
const MAX_HEAD: usize = 64 * 1024;

async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > MAX_HEAD {
                return;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let Some(request) = parse_request(&head) else {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            return;
        };
        let (reply, latency) = choose(&shared, &request);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if !answer(&mut stream, &shared, &request, reply).await {
            return;
        }
    }
}

/// Logs the request and picks its reply.
fn choose(shared: &Shared, request: &Request) -> (Reply, Duration) {
    let mut st = lock(&shared.state);
    st.log.push(request.clone());
    if let Some(tile) = request.tile {
        *st.counts.entry(tile).or_default() += 1;
    }
    let reply = st
        .per_request
        .pop_front()
        .or_else(|| {
            let tile = request.tile?;
            st.per_tile.get_mut(&tile)?.pop_front()
        })
        .unwrap_or(Reply::Tile);
    (reply, st.latency)
}

/// The tile's bytes: `Some(bytes)` (maybe empty) if the server holds it.
fn tile_bytes(shared: &Shared, tile: Option<Key>) -> Option<Vec<u8>> {
    let (z, x, y) = tile?;
    if let Some(b) = lock(&shared.state).tiles.get(&(z, x, y)) {
        return Some(b.clone());
    }
    let store = shared.store.as_ref()?;
    let id = TileId::new(z, x, y).ok()?;
    let stored = store.get(id).ok()??;
    match stored.info.status {
        TileStatus::Data => Some(stored.uncompressed().ok()?.into_owned()),
        TileStatus::Empty => Some(Vec::new()),
        TileStatus::Failed => None,
    }
}

/// Writes the answer; `false` if the connection must close.
async fn answer(stream: &mut TcpStream, shared: &Shared, req: &Request, reply: Reply) -> bool {
    let ok = |ct: &str, body: Vec<u8>| (200, ct.to_string(), body, Vec::new());
    let (status, ct, body, extra): (u16, String, Vec<u8>, Vec<(String, String)>) = match reply {
        Reply::Tile | Reply::Delay(_) => {
            if let Reply::Delay(d) = reply {
                tokio::time::sleep(d).await;
            }
            match tile_bytes(shared, req.tile) {
                Some(bytes) => {
                    let validators = !lock(&shared.state).no_validators;
                    let etag = format!("\"{:016x}\"", content_hash(&bytes));
                    if validators
                        && (req.header("if-none-match") == Some(etag.as_str())
                            || (req.header("if-none-match").is_none()
                                && req.header("if-modified-since") == Some(LAST_MODIFIED)))
                    {
                        (304, String::new(), Vec::new(), vec![("ETag".into(), etag)])
                    } else {
                        let extra = if validators {
                            vec![
                                ("ETag".into(), etag),
                                ("Last-Modified".into(), LAST_MODIFIED.into()),
                            ]
                        } else {
                            Vec::new()
                        };
                        (200, MVT.into(), bytes, extra)
                    }
                }
                None => {
                    let missing = lock(&shared.state)
                        .missing
                        .clone()
                        .unwrap_or(Reply::Status(404));
                    if matches!(missing, Reply::Tile | Reply::Delay(_)) {
                        (404, String::new(), Vec::new(), Vec::new())
                    } else {
                        return Box::pin(answer(stream, shared, req, missing)).await;
                    }
                }
            }
        }
        Reply::Status(s) => (s, String::new(), Vec::new(), Vec::new()),
        Reply::TooManyRequests(after) => (
            429,
            "application/json".into(),
            LIMIT_BODY.as_bytes().to_vec(),
            after
                .map(|a| vec![("Retry-After".to_string(), a)])
                .unwrap_or_default(),
        ),
        Reply::LimitJson => ok("application/json", LIMIT_BODY.as_bytes().to_vec()),
        Reply::TokenJson(s) => (
            s,
            "application/json".into(),
            TOKEN_BODY.as_bytes().to_vec(),
            Vec::new(),
        ),
        Reply::Html => ok(
            "text/html",
            b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
        ),
        Reply::GzipWithHeader | Reply::GzipWithoutHeader => {
            let bytes = tile_bytes(shared, req.tile).unwrap_or_default();
            let extra = if reply == Reply::GzipWithHeader {
                vec![("Content-Encoding".to_string(), "gzip".to_string())]
            } else {
                Vec::new()
            };
            (200, MVT.into(), gzip(&bytes), extra)
        }
        Reply::Reset => {
            let _ = stream.set_zero_linger();
            return false;
        }
        Reply::Truncate => {
            let bytes = tile_bytes(shared, req.tile).unwrap_or_else(|| vec![0x1a; 64]);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {MVT}\r\nContent-Length: {}\r\n\r\n",
                bytes.len().max(2)
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&bytes[..bytes.len() / 2]).await;
            let _ = stream.flush().await;
            return false;
        }
        Reply::Stall(d) => {
            tokio::time::sleep(d).await;
            return false;
        }
        Reply::Echo {
            status,
            form,
            pad,
            cut,
        } => {
            let target = if req.query.is_empty() {
                req.path.clone()
            } else {
                format!("{}?{}", req.path, req.query)
            };
            let (text, ct) = form.write(&target);
            let mut body = vec![b'x'; pad];
            body.extend_from_slice(text.as_bytes());
            if let Some(n) = cut {
                body.truncate(n);
            }
            (status, ct.to_string(), body, Vec::new())
        }
        Reply::Redirect { status, location } => (
            status,
            String::new(),
            Vec::new(),
            vec![("Location".to_string(), location)],
        ),
        Reply::Body {
            status,
            content_type,
            body,
        } => (status, content_type, body, Vec::new()),
    };
    let mut out = Vec::with_capacity(body.len() + 256);
    let _ = write!(out, "HTTP/1.1 {status} {}\r\n", reason(status));
    if !ct.is_empty() {
        let _ = write!(out, "Content-Type: {ct}\r\n");
    }
    for (n, v) in &extra {
        let _ = write!(out, "{n}: {v}\r\n");
    }
    if status != 304 && status != 204 {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    if status != 304 && status != 204 {
        out.extend_from_slice(&body);
    }
    stream.write_all(&out).await.is_ok()
}

const MVT: &str = "application/vnd.mapbox-vector-tile";

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

fn parse_request(head: &str) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let tile = tile_of(&path);
    Some(Request {
        method,
        path,
        query,
        headers,
        tile,
        received: std::time::Instant::now(),
    })
}

/// The `(z, x, y)` of a path ending in `/z/x/y` (maybe with an extension).
fn tile_of(path: &str) -> Option<Key> {
    let mut parts = path.rsplit('/');
    let y = parts.next()?;
    let y = y.split('.').next()?.parse().ok()?;
    let x = parts.next()?.parse().ok()?;
    let z = parts.next()?.parse().ok()?;
    Some((z, x, y))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// A hash of a body for its ETag (stable for the server's lifetime, which is all an ETag needs).
fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_read_from_mapillary_and_template_paths() {
        assert_eq!(tile_of("/maps/vtp/mly1_public/2/14/3/5"), Some((14, 3, 5)));
        assert_eq!(tile_of("/t/7/1/2.pbf"), Some((7, 1, 2)));
        assert_eq!(tile_of("/favicon.ico"), None);
    }

    #[test]
    fn echo_forms_encode_the_target() {
        let t = "/a/1?access_token=MLY%7C1%7Cab";
        let w = |f: EchoForm| f.write(t).0;
        assert_eq!(w(EchoForm::Raw), "GET /a/1?access_token=MLY|1|ab");
        assert_eq!(
            w(EchoForm::PercentLower),
            "GET /a/1?access%5ftoken=MLY%7c1%7cab"
        );
        assert!(w(EchoForm::HtmlNamed).contains("MLY&verbar;1&verbar;ab"));
        assert!(w(EchoForm::Json).contains(r"MLY\u007c1\u007cab"));
        assert!(w(EchoForm::Mixed).starts_with("GET /%61&#47;&#x31;\\u003f"));
    }
}
