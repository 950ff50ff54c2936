//! The accept loop: a bound on open connections, timeouts for clients that send nothing or
//! read nothing, and accept errors that back off instead of spinning.
//!
//! `axum::serve` has none of these: a thousand connections that send half a request line and
//! stop hold a thousand file descriptors forever, and once the process's limit is reached
//! nothing else is accepted. Here each connection takes a permit before it is accepted (so the
//! server never holds more than [`Limits::max_connections`]; the rest wait in the kernel's
//! backlog), HTTP/1 requests must send their headers within [`Limits::header_read_timeout`]
//! (counted from the connection's start or the end of its last answer, so it also closes idle
//! keep-alive connections), and a connection on which no byte moves either way for
//! [`Limits::idle_timeout`] while no request is being answered (a client that stopped
//! reading its answer) is closed.
//!
//! When every permit is taken, the connection that has been quiet longest with no request
//! being answered (one stalled in its headers, or an idle keep-alive one) is closed to make
//! room, so a new client is served at once rather than after the timeouts.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tower::Service;

/// File descriptors kept out of the connection bound for everything else the server opens
/// (stores, SQLite's files, the fetcher's sockets, standard streams).
const RESERVED_FILES: u64 = 128;
/// The highest default connection bound, however high the file limit.
const MAX_DEFAULT_CONNECTIONS: u64 = 8192;
/// The open-file limit asked for at start (the soft limit is raised up to the hard one).
const WANTED_FILES: u64 = 1 << 20;

/// The bounds the accept loop keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

/// Raises the soft limit of open files to the hard one when `raise` (and the platform has
/// one), and returns the soft limit then in force (`None` where there is no such limit).
pub(crate) fn file_limit(raise: bool) -> Option<u64> {
    #[cfg(unix)]
    {
        let (before, _hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).ok()?;
        if !raise {
            return Some(before);
        }
        match rlimit::increase_nofile_limit(WANTED_FILES) {
            Ok(now) => {
                if now > before {
                    tracing::debug!("raised the open-file limit from {before} to {now}");
                }
                Some(now.max(before))
            }
            Err(e) => {
                tracing::warn!("cannot raise the open-file limit ({before}): {e}");
                Some(before)
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = raise;
        None
    }
}

/// The default connection bound under a soft limit of `files` open files: the limit less
/// what the rest of the server needs (an eighth of it, at least [`RESERVED_FILES`]), at least
/// 16, at most [`MAX_DEFAULT_CONNECTIONS`].
pub(crate) fn default_max_connections(files: Option<u64>) -> usize {
    let n = match files {
        Some(f) => f.saturating_sub(RESERVED_FILES.max(f / 8)),
        None => MAX_DEFAULT_CONNECTIONS,
    };
    n.clamp(16, MAX_DEFAULT_CONNECTIONS) as usize
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, asks every connection to close once its request in progress is answered, and
/// waits for them.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = Duration::ZERO;
    let mut last_full_warning: Option<Instant> = None;
    let mut accept_errors = AcceptErrors::default();
    let open = Arc::new(Open::default());
    loop {
        if permits.available_permits() == 0 {
            open.evict_quietest();
        }
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        if permits.available_permits() == 0
            && last_full_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            last_full_warning = Some(Instant::now());
            tracing::warn!(
                "{max} connections open, the most allowed: the quietest are closed to make \
                 room for new ones"
            );
        }
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                backoff = Duration::ZERO;
                stream
            }
            Err(e) if per_connection(&e) => continue,
            Err(e) => {
                // Out of file descriptors or memory: wait before trying again rather than
                // spin, longer each time, and say so now and then.
                backoff = (backoff * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
                accept_errors.note(&e);
                drop(permit);
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stop = stop_rx.clone();
        let (id, activity) = open.add();
        let open = Arc::clone(&open);
        tokio::spawn(async move {
            connection(stream, router, limits, stop, activity).await;
            open.remove(id);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection gives its permit back when it ends.
    let _ = permits.acquire_many(max as u32).await;
}

/// Errors of one connection that came and went before it was accepted: not the listener's.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Accept errors, logged at most every ten seconds with how many there were meanwhile.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    since: u64,
}

impl AcceptErrors {
    fn note(&mut self, e: &io::Error) {
        self.since += 1;
        if self
            .last_logged
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
        {
            tracing::error!(
                "accept error: {e} ({} since the last report; backing off)",
                self.since
            );
            self.last_logged = Some(Instant::now());
            self.since = 0;
        }
    }
}

/// The open connections, for closing the quietest when the bound is reached.
#[derive(Default)]
struct Open {
    connections: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
}

impl Open {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self) -> (u64, Arc<Activity>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        self.lock().insert(id, Arc::clone(&activity));
        (id, activity)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks the connection quiet longest with no request being answered to close; none if
    /// every connection is answering one (or already asked).
    fn evict_quietest(&self) {
        let connections = self.lock();
        let quietest = connections
            .values()
            .filter(|a| {
                a.in_flight.load(Ordering::Relaxed) == 0 && !a.evicted.load(Ordering::Relaxed)
            })
            .max_by_key(|a| a.idle_for());
        if let Some(a) = quietest {
            a.evicted.store(true, Ordering::Relaxed);
            a.evict.notify_one();
        }
    }
}

/// When a connection last moved a byte, and how many of its requests are being answered.
struct Activity {
    start: Instant,
    /// Milliseconds since `start` of the last byte read or written.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    /// Whether it was asked to close to make room.
    evicted: AtomicBool,
    evict: Notify,
}

impl Activity {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A request being answered: counted while it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(a: &Arc<Activity>) -> InFlight {
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        a.touch();
        InFlight(Arc::clone(a))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one connection until it ends, times out, or the server stops.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    activity: Arc<Activity>,
) {
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service_activity = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let guard = InFlight::new(&service_activity);
        let mut router = router.clone();
        async move {
            let response = router.call(request.map(Body::new)).await;
            drop(guard);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let check = (limits.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection closed: {e}");
                }
                return;
            }
            () = activity.evict.notified() => {
                // Asked to make room; a request that started meanwhile is let finish.
                if activity.in_flight.load(Ordering::Relaxed) == 0 {
                    tracing::debug!("connection closed to make room for a new one");
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(check) => {
                if activity.in_flight.load(Ordering::Relaxed) == 0
                    && activity.idle_for() >= limits.idle_timeout
                {
                    tracing::debug!(
                        "connection closed: nothing moved for {} s",
                        limits.idle_timeout.as_secs_f64()
                    );
                    return;
                }
            }
        }
    }
}

/// A stream that notes when it last moved a byte.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bound_leaves_room_under_the_file_limit() {
        assert_eq!(default_max_connections(Some(1024)), 1024 - 128);
        assert_eq!(default_max_connections(Some(65536)), 8192);
        assert_eq!(default_max_connections(Some(4096)), 4096 - 512);
        assert_eq!(default_max_connections(Some(20)), 16);
    }
}
