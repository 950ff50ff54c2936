//! `mlytiles serve` as a process: the address it logs, one debug line per request, the
//! periodic summary, a graceful stop on SIGTERM, and no token in anything it logs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(90);

fn sample_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache")
}

/// The server process and its stderr lines, read by a thread as they come.
struct Serve {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Serve {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlytiles"));
        cmd.arg("serve")
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Serve {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a log line with `needle`, returning it.
    fn wait_for(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no log line with {needle:?}; the log:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn addr(&mut self) -> SocketAddr {
        let line = self.wait_for("listening on http://");
        let at = line.find("http://").unwrap() + "http://".len();
        line[at..].trim_end_matches('/').parse().unwrap()
    }

    /// Sends SIGTERM to this process (by its id) and waits for it to end.
    fn terminate(&mut self) -> std::process::ExitStatus {
        // The shell's own `kill`, so no procps package is needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The rest of the log.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: SocketAddr, target: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, answer[head_end + 4..].to_vec())
}

#[cfg(unix)]
#[test]
fn serve_logs_requests_and_summaries_and_stops_on_sigterm() {
    let cache = sample_cache();
    let mut serve = Serve::start(
        &[
            "--cache",
            cache.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
            "--summary-every",
            "1",
            "-v",
        ],
        &[],
    );
    let addr = serve.addr();
    let (status, body) = get(addr, "/mapillary/14/3251/6257.png");
    assert_eq!(status, 200);
    assert!(body.starts_with(b"\x89PNG"));
    let (status, body) = get(addr, "/mvt/nope/14/3251/6257.mvt");
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("unknown tileset"));

    // One debug line per request, with the status.
    let line = serve.wait_for("/mapillary/14/3251/6257.png");
    assert!(
        line.contains("DEBUG") && line.contains("GET") && line.contains(" 200 "),
        "{line}"
    );
    let line = serve.wait_for("/mvt/nope/14/3251/6257.mvt");
    assert!(line.contains(" 404 "), "{line}");
    // The summary line, at info level, counting both.
    let line = serve.wait_for("summary: 2 requests");
    assert!(
        line.contains("INFO") && line.contains("1 client errors"),
        "{line}"
    );
    assert!(!line.contains(" 0 bytes out"), "{line}");

    let status = serve.terminate();
    assert!(status.success(), "{status:?}");
    serve.wait_for("SIGTERM");
    serve.wait_for("shut down");
}

#[cfg(unix)]
#[test]
fn the_token_never_appears_in_the_log() {
    const TOKEN: &str = "MLY|4242|TOPSECRETTOKENVALUE";
    let upstream = mlytiles_testserver::TestServer::start_background();
    // Upstream refuses the token: the error is logged, without the token.
    upstream.set_missing(mlytiles_testserver::Reply::TokenJson(401));
    let cache = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(
        &[
            "--cache",
            cache.path().to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
            "--fetch",
            "--summary-every",
            "1",
            "-v",
        ],
        &[
            ("MAPILLARY_ACCESS_TOKEN", TOKEN),
            ("MLYTILES_ENDPOINT", &upstream.url()),
            ("RUST_LOG", "debug"),
        ],
    );
    let addr = serve.addr();
    let (status, body) = get(addr, "/mvt/mly1_public/14/3251/6257.mvt");
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(!body.contains("TOPSECRET"), "{body}");
    let (status, _) = get(addr, "/mapillary/14/3251/6257.png");
    assert_eq!(status, 502);
    assert!(upstream.total_requests() >= 1, "upstream was asked");
    serve.wait_for("summary:");
    assert!(serve.terminate().success());
    let log = serve.seen.join("\n");
    assert!(
        !log.contains("TOPSECRET"),
        "the token leaked into the log:\n{log}"
    );
    // The upstream request did carry it.
    assert!(upstream.requests()[0].query.contains("TOPSECRET"));
}

#[test]
fn setup_errors_say_what_is_wrong() {
    let missing = tempfile::tempdir().unwrap().path().join("nope");
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(["serve", "--addr", "127.0.0.1:0", "--cache"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!("error: {}: no such cache folder", missing.display())
    );
    assert!(!missing.exists(), "nothing is created without --fetch");

    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(["serve", "--addr", "127.0.0.1:0", "--fetch", "--cache"])
        .arg(sample_cache())
        .env_remove("MAPILLARY_ACCESS_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a Mapillary access token"), "{err}");
}

#[test]
fn preview_options_are_checked_and_explained() {
    let serve = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mlytiles"))
            .args(["serve", "--addr", "127.0.0.1:0", "--cache"])
            .arg(sample_cache())
            .args(args)
            .output()
            .unwrap()
    };
    let out = serve(&["--basemap", "tiles.example.org/{z}/{x}.png"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--basemap must be an http(s) tile URL with {z}, {x} and {y}, or none"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let out = serve(&["--assets", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read maplibre-gl.js"), "{err}");
    assert!(err.contains("npm ci --prefix crates/serve/web"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--assets <DIR>",
        "npm ci --prefix",
        "--basemap <URL|none>",
        "[default: https://tile.openstreetmap.org/{z}/{x}/{y}.png]",
        "/catalog.json",
    ] {
        assert!(help.contains(needle), "--help explains {needle}:\n{help}");
    }
}

#[test]
fn a_base_map_is_credited_to_its_own_host_unless_told() {
    let cache = sample_cache();
    let cache = cache.to_str().unwrap();
    let credit = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--addr", "127.0.0.1:0", "--cache", cache];
        args.extend_from_slice(extra);
        let mut serve = Serve::start(&args, &[]);
        let (status, body) = get(serve.addr(), "/");
        assert_eq!(status, 200);
        let page = String::from_utf8(body).unwrap();
        let json = page
            .split(r#"<script id="config" type="application/json">"#)
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("the page's config");
        let config: serde_json::Value = serde_json::from_str(json).unwrap();
        config["basemap"]["attribution"].clone()
    };
    assert_eq!(credit(&[]), "© OpenStreetMap contributors");
    assert_eq!(
        credit(&[
            "--basemap",
            "https://tiles.example.org/base/{z}/{x}/{y}.png?key=1"
        ]),
        "base map: tiles.example.org"
    );
    assert_eq!(
        credit(&[
            "--basemap",
            "https://tiles.example.org/{z}/{x}/{y}.png",
            "--basemap-attribution",
            "© Example"
        ]),
        "© Example"
    );
}

#[test]
fn addr_takes_a_host_name() {
    // A port free a moment ago (the server binds it again under the name `localhost`).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cache = sample_cache();
    let mut serve = Serve::start(
        &[
            "--addr",
            &format!("localhost:{port}"),
            "--cache",
            cache.to_str().unwrap(),
        ],
        &[],
    );
    let addr = serve.addr();
    assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], port)));
    let (status, body) = get(addr, "/health");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}

#[test]
fn with_an_empty_default_cache_the_sample_is_served_and_said_so() {
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    let mut serve = Serve::start(
        &["--addr", "127.0.0.1:0"],
        &[
            ("HOME", home_str),
            ("MLYTILES_CACHE", ""),
            ("XDG_CACHE_HOME", ""),
        ],
    );
    let notice = serve.wait_for("showing the bundled sample area");
    assert_eq!(
        notice,
        format!(
            "the cache {}/.cache/mlytiles is empty: showing the bundled sample area near \
             Grand Junction, CO; fetch your area with `mlytiles fetch --bbox W,S,E,N`",
            home_str
        )
    );
    let addr = serve.addr();
    let (status, png) = get(addr, "/mapillary/14/3251/6257.png");
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG"), "a PNG of the sample's tile");
    assert!(
        !home.path().join(".cache/mlytiles").exists(),
        "showing the sample creates no cache"
    );
}

/// A vector archive in the cache folder (`mlytiles pmtiles export`) is a tileset like an
/// MBTiles store: its tiles are served and drawn. A coverage pyramid archive (PNG tiles) is
/// left to map clients, and the log says so.
#[test]
fn vector_archives_in_the_cache_are_served_and_png_archives_are_named_and_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let sample = sample_cache();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
            .args(args)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env_remove("MLYTILES_CACHE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let sample_dir = sample.to_str().unwrap();
    run(&[
        "pmtiles",
        "export",
        "--cache",
        sample_dir,
        "--zooms",
        "12-14",
        "-o",
        cache.join("mly1_public.pmtiles").to_str().unwrap(),
    ]);
    run(&[
        "render",
        "--cache",
        sample_dir,
        "--pyramid",
        "--zooms",
        "12-13",
        "--bbox",
        "-108.56,39.05,-108.53,39.07",
        "--out",
        cache.join("coverage.pmtiles").to_str().unwrap(),
    ]);
    let mut serve = Serve::start(
        &["--addr", "127.0.0.1:0", "--cache", cache.to_str().unwrap()],
        &[],
    );
    let addr = serve.addr();
    let (status, body) = get(addr, "/mvt/mly1_public/14/3251/6257.mvt");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, body) = get(addr, "/mapillary/14/3251/6257.png");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(
        body.starts_with(b"\x89PNG"),
        "a PNG tile drawn from the archive"
    );
    serve.wait_for("coverage.pmtiles: a PMTiles archive of raster tiles, not a vector tileset");
    let (status, _) = get(addr, "/mvt/coverage/12/812/1564.mvt");
    assert_eq!(status, 404, "a PNG archive is no tileset");
    // `cache verify` checks the vector archive's tiles and says why it leaves the other.
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(["cache", "verify", "--cache", cache.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(
            "coverage: a PMTiles archive of raster tiles, not a vector tileset: not decoded"
        ),
        "{said}"
    );
    assert!(said.contains("mly1_public: ok, "), "{said}");
}
