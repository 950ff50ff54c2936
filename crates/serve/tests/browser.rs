//! The preview page in a real browser: Debian's chromium, headless, driven over the DevTools
//! protocol. When chromium is missing and CI is unset, the test is reported as ignored with the
//! reason (build.rs sets `--cfg chromium` otherwise); under CI it always runs and fails without
//! chromium (`.ci/run` installs chromium when it is missing).

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Generous: a loaded 2-core CI machine starts chromium slowly.
const TIMEOUT: Duration = Duration::from_secs(90);

/// `MLYTILES_CHROMIUM`, else the installed chromium (build.rs looks in the same places).
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MLYTILES_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The browser process; killed (this one, by its handle) when dropped.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch(binary: &PathBuf) -> (Browser, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--window-size=1024,768",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining stderr so chromium never blocks on a full pipe.
        let mut sent = false;
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(at) = line.find("ws://") {
                let _ = tx.send(Ok(line[at..].trim().to_owned()));
                sent = true;
            } else if !sent {
                seen.push(line);
            }
        }
        if !sent {
            let _ = tx.send(Err(seen.join("\n")));
        }
    });
    let browser = Browser {
        child,
        _profile: profile,
    };
    let url = rx
        .recv_timeout(TIMEOUT)
        .expect("chromium printed its DevTools address in time")
        .unwrap_or_else(|log| panic!("chromium ended without a DevTools address:\n{log}"));
    (browser, url)
}

/// A DevTools connection to one page (a flattened session on the browser's socket).
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: Option<String>,
    /// Every event received so far.
    events: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let (ws, _) = tungstenite::connect(url).expect("the DevTools socket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(TIMEOUT)).unwrap();
        }
        Cdp {
            ws,
            next: 0,
            session: None,
            events: Vec::new(),
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let text = match self.ws.read().unwrap_or_else(|e| panic!("{method}: {e}")) {
                Message::Text(t) => t.to_string(),
                Message::Close(_) => panic!("{method}: the browser closed the socket"),
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits until the page has asked for tiles and every one has arrived or failed.
    fn wait_for_tiles(&mut self, what: &str) -> Value {
        let start = Instant::now();
        loop {
            let p = self.eval(
                "window.mlyPreview ? {pending: mlyPreview.pending, loaded: mlyPreview.loaded, \
                 failed: mlyPreview.failed, query: mlyPreview.query, \
                 requested: mlyPreview.requested.length} : null",
            );
            if p["pending"] == json!(0) && p["loaded"].as_u64().unwrap_or(0) > 0 {
                return p;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "{what}: tiles never finished: {p}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// JavaScript errors: exceptions, console errors, and error log entries.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled" if e["params"]["type"] == "error" => {
                    Some(e["params"]["args"].to_string())
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"].to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// The URLs of the tile requests the page made.
    fn tile_requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str())
            .filter(|u| u.contains(".png"))
            .map(str::to_owned)
            .collect()
    }

    fn screenshot(&mut self) -> (u32, u32, Vec<u8>) {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        common::decode_png(&bytes)
    }
}

/// Pixels of Mapillary's green (drawn over the page's pale background) in a region.
fn green_pixels(image: &(u32, u32, Vec<u8>), x: (f64, f64), y: (f64, f64)) -> usize {
    let (w, h, rgba) = image;
    let (x0, x1) = ((x.0 * *w as f64) as u32, (x.1 * *w as f64) as u32);
    let (y0, y1) = ((y.0 * *h as f64) as u32, (y.1 * *h as f64) as u32);
    let mut n = 0;
    for py in y0..y1 {
        for px in x0..x1 {
            let i = ((py * w + px) * 4) as usize;
            let (r, g, b) = (
                i32::from(rgba[i]),
                i32::from(rgba[i + 1]),
                i32::from(rgba[i + 2]),
            );
            if g - r > 40 && g - b > 25 {
                n += 1;
            }
        }
    }
    n
}

#[test]
#[cfg_attr(
    not(chromium),
    ignore = "needs Chromium: apt-get install chromium (or set MLYTILES_CHROMIUM)"
)]
fn the_preview_page_shows_coverage_and_follows_the_filters() {
    let binary = chromium().unwrap_or_else(|| {
        panic!(
            "chromium is missing (/usr/bin/chromium, /usr/bin/chromium-browser or \
             MLYTILES_CHROMIUM){}: apt-get install chromium (.ci/run does)",
            if under_ci() { " and CI is set" } else { "" }
        )
    });
    let server = common::start_sample();
    let (_browser, ws_url) = launch(&binary);
    let mut cdp = Cdp::connect(&ws_url);

    let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }));
    let session = cdp.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    cdp.session = Some(session["sessionId"].as_str().unwrap().to_owned());
    for domain in ["Runtime", "Log", "Network", "Page"] {
        cdp.call(&format!("{domain}.enable"), json!({}));
    }
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1024, "height": 768, "deviceScaleFactor": 1, "mobile": false }),
    );
    cdp.call("Page.navigate", json!({ "url": server.url("/") }));

    let first = cdp.wait_for_tiles("the first view");
    assert_eq!(first["failed"], json!(0), "{first}");
    let shot = cdp.screenshot();
    // The view starts over the sample area, in the middle of the map.
    let middle = green_pixels(&shot, (0.35, 0.65), (0.35, 0.65));
    assert!(
        middle > 1000,
        "coverage in the middle of the map: {middle} green pixels"
    );
    // The map's left and right edges are outside the sample: no coverage there.
    let left = green_pixels(&shot, (0.0, 0.12), (0.3, 0.8));
    let right = green_pixels(&shot, (0.88, 1.0), (0.3, 0.8));
    assert_eq!((left, right), (0, 0), "no coverage outside the sample area");

    let before: Vec<String> = cdp.tile_requests();
    assert!(!before.is_empty());
    assert!(before.iter().all(|u| !u.contains('?')), "{before:?}");

    // Panoramas only: the page asks for the same tiles with the filter, and draws less.
    cdp.eval(
        "(() => { const s = document.getElementById('pano'); s.value = 'only'; \
         s.dispatchEvent(new Event('change')); return true; })()",
    );
    let after = cdp.wait_for_tiles("the filtered view");
    assert_eq!(after["query"], json!("?pano=only"), "{after}");
    assert_eq!(after["failed"], json!(0), "{after}");
    let filtered: Vec<String> = cdp
        .tile_requests()
        .into_iter()
        .filter(|u| u.ends_with("?pano=only"))
        .collect();
    assert_eq!(
        filtered.len(),
        before.len(),
        "every tile asked for again with the filter"
    );
    for url in &before {
        assert!(
            filtered.contains(&format!("{url}?pano=only")),
            "{url} asked for with ?pano=only"
        );
    }
    let shot = cdp.screenshot();
    let pano_only = green_pixels(&shot, (0.35, 0.65), (0.35, 0.65));
    assert!(
        pano_only < middle,
        "fewer coverage pixels with panoramas only: {pano_only} of {middle}"
    );

    eprintln!(
        "{} tiles; green pixels in the middle: {middle} unfiltered, {pano_only} panoramas only",
        before.len()
    );
    let errors = cdp.errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");

    // A malformed filter: the tiles fail and the page shows the server's one-line reason.
    cdp.eval(
        "(() => { const o = document.getElementById('org'); o.value = 'acme'; \
         o.dispatchEvent(new Event('change')); return true; })()",
    );
    let start = Instant::now();
    loop {
        let status = cdp.eval("document.getElementById('status').textContent");
        if status.as_str().is_some_and(|s| s.starts_with("org: ")) {
            break;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "the page never explained the failure: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
