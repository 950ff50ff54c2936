//! A server on 127.0.0.1 over the bundled sample pyramid, for the tests.
#![allow(dead_code)] // Each test file uses part of this.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use mlytiles_serve::{Config, Server};

/// The bundled sample cache (`fixtures/cache`, four MBTiles stores, z0-14).
pub fn sample_cache() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cache");
    assert!(
        dir.join("mly1_public.mbtiles").is_file(),
        "the sample pyramid is missing from {}",
        dir.display()
    );
    dir
}

/// A running server; stops (gracefully) when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Starts a server on 127.0.0.1:0 in a runtime of its own thread.
pub fn start(config: Config) -> Running {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = match Server::bind(config).await {
                Ok(s) => s,
                Err(e) => {
                    addr_tx.send(Err(e.to_string())).unwrap();
                    return;
                }
            };
            addr_tx.send(Ok(server.local_addr())).unwrap();
            server
                .run_until(async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server started")
        .expect("the server bound");
    Running {
        addr,
        stop: Some(stop_tx),
        handle: Some(handle),
    }
}

/// A server over the sample cache.
pub fn start_sample() -> Running {
    start(Config {
        cache_dir: sample_cache(),
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
}

/// A client that does not decompress (the tests look at the encoding themselves).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Sends a raw request line (no URL normalisation on the way) and returns the status code
/// and body.
pub fn raw_get(addr: SocketAddr, target: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// Decodes a PNG into (width, height, RGBA bytes).
pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a PNG of sane size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    buf.truncate(info.buffer_size());
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, rgba)
}

/// Pixels that are not fully transparent.
pub fn drawn_pixels(rgba: &[u8]) -> usize {
    rgba.chunks_exact(4).filter(|p| p[3] > 0).count()
}

/// GETs `url` with the given request headers; panics, naming the URL, if no answer comes.
pub async fn get(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = http.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// GETs `url` (with the given request headers), checks the answer is a 200, and parses its
/// body as JSON.
pub async fn get_json(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
) -> serde_json::Value {
    let r = get(http, url, headers).await;
    assert_eq!(r.status(), 200, "GET {url}");
    let body = r.bytes().await.unwrap();
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// Everything the server logs in this test binary (a global subscriber, set up on the first
/// call).
pub fn log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .init();
        buf
    })
}

pub struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
