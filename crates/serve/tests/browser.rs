//! The preview page in a real browser: Debian's chromium, headless (WebGL through SwiftShader),
//! driven over the DevTools protocol, with MapLibre GL JS served from the npm-installed files
//! (`--assets`) and no base map. When chromium or those files are missing and CI is unset, the
//! test is reported as ignored with the reason (build.rs sets `--cfg chromium` and
//! `--cfg maplibre` otherwise); under CI it always runs and fails without them (`.ci/run`
//! installs chromium and runs `npm ci --prefix crates/serve/web`).

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
            // MapLibre draws with WebGL: headless chromium has it through SwiftShader.
            "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader",
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

    /// Waits until the map has drawn everything it asked for, after idle event number `after`
    /// (the page counts them); returns the page's state then.
    fn wait_for_map(&mut self, what: &str, after: u64) -> Value {
        let start = Instant::now();
        loop {
            let p = self.eval(
                "(() => { const s = window.mlyPreview; if (!s || !s.map) return null; \
                 return { idle: s.idle, query: s.query, tileErrors: s.tileErrors, \
                 done: s.map.loaded() && s.map.areTilesLoaded(), zoom: s.map.getZoom(), \
                 tiles: s.map.getSource('coverage')?.tiles?.[0] ?? null, \
                 images: s.map.getSource('images')?.tiles?.[0] ?? null }; })()",
            );
            if p["done"] == json!(true) && p["idle"].as_u64().unwrap_or(0) > after {
                return p;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "{what}: the map never finished drawing: {p}; errors: {:#?}",
                self.errors()
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

    /// A screenshot, also written to `$MLYTILES_SHOTS/{name}.png` when that is set.
    fn screenshot(&mut self, name: &str) -> (u32, u32, Vec<u8>) {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        if let Some(dir) = std::env::var_os("MLYTILES_SHOTS").filter(|d| !d.is_empty()) {
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), &bytes).unwrap();
        }
        common::decode_png(&bytes)
    }

    /// A left click at page pixel (x, y).
    fn click(&mut self, x: f64, y: f64) {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
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

/// Where `npm ci --prefix crates/serve/web` puts the page's libraries (MapLibre GL JS and
/// pmtiles), the folder `--assets` names.
fn node_modules() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/node_modules");
    for file in ["maplibre-gl/dist/maplibre-gl.js", "pmtiles/dist/pmtiles.js"] {
        assert!(
            dir.join(file).is_file(),
            "{file} is not installed in {}: run npm ci --prefix crates/serve/web",
            dir.display()
        );
    }
    dir
}

/// The chromium binary, or a panic saying how to install it.
fn chromium_or_panic() -> PathBuf {
    chromium().unwrap_or_else(|| {
        panic!(
            "chromium is missing (/usr/bin/chromium, /usr/bin/chromium-browser or \
             MLYTILES_CHROMIUM){}: apt-get install chromium (.ci/run does)",
            if under_ci() { " and CI is set" } else { "" }
        )
    })
}

/// A server over the sample with the libraries from `--assets` and no base map.
fn serve_sample() -> common::Running {
    common::start(mlytiles_serve::Config {
        cache_dir: common::sample_cache(),
        addr: "127.0.0.1:0".parse().unwrap(),
        assets_dir: Some(node_modules()),
        basemap: None,
        ..mlytiles_serve::Config::default()
    })
}

/// Chromium with one 1024x768 page attached (runtime, log, network and page events on),
/// showing `url`.
fn open_page(url: &str) -> (Browser, Cdp) {
    let (browser, ws_url) = launch(&chromium_or_panic());
    let mut cdp = Cdp::connect(&ws_url);
    let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }));
    let session = cdp.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    cdp.session = Some(session["sessionId"].as_str().unwrap().to_owned());
    for domain in ["Runtime", "Log", "Network", "Page", "DOM"] {
        cdp.call(&format!("{domain}.enable"), json!({}));
    }
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1024, "height": 768, "deviceScaleFactor": 1, "mobile": false }),
    );
    cdp.call("Page.navigate", json!({ "url": url }));
    (browser, cdp)
}

/// An image of the sample whose id is above 2^53 and not a float64 (JavaScript would show
/// another number), read from the stored tiles: its id, its
/// capture time (ms), whether it is a panorama and where it is (lon, lat), away from its
/// tile's edges.
fn image_above_2_53() -> (u64, i64, bool, f64, f64) {
    use mlytiles_mvt::{Tile, Value};
    use mlytiles_store::{MbTiles, TileStatus, TileStore};
    let store =
        MbTiles::open_read_only(common::sample_cache().join("mly1_public.mbtiles")).unwrap();
    for (tile, status) in store.list(14, None).unwrap() {
        if status != TileStatus::Data {
            continue;
        }
        let bytes = store
            .get(tile)
            .unwrap()
            .unwrap()
            .uncompressed()
            .unwrap()
            .into_owned();
        let parsed = Tile::new(&bytes).unwrap();
        let Some(layer) = parsed.layer("image").unwrap() else {
            continue;
        };
        let transform = mlytiles_tile::TileTransform::new(tile, layer.extent()).unwrap();
        for f in layer.features() {
            let f = f.unwrap();
            // Ids are written as int64 when they fit (as Mapillary's tiles do), else uint64.
            let id = match f.get("id").unwrap() {
                Some(Value::UInt(id)) => id,
                Some(Value::Int(id) | Value::SInt(id)) => u64::try_from(id).unwrap_or(0),
                _ => continue,
            };
            // Only ids a float64 cannot hold (odd ones, from 2^53 to 2^54) show a rounding.
            if id <= 1 << 53 || (id as f64) as u64 == id {
                continue;
            }
            let ms = match f.get("captured_at").unwrap() {
                Some(Value::Int(v) | Value::SInt(v)) => v,
                Some(Value::UInt(v)) => i64::try_from(v).unwrap(),
                _ => continue,
            };
            let pano = f.get("is_pano").unwrap() == Some(Value::Bool(true));
            let mlytiles_mvt::geo_types::Geometry::Point(p) = f.to_geometry::<f64>().unwrap()
            else {
                continue;
            };
            let extent = f64::from(layer.extent());
            if p.x() < extent * 0.01
                || p.x() > extent * 0.99
                || p.y() < extent * 0.01
                || p.y() > extent * 0.99
            {
                continue;
            }
            let (lon, lat) = transform.to_lon_lat(p.x(), p.y());
            return (id, ms, pano, lon, lat);
        }
    }
    panic!("the sample holds no image with an id above 2^53");
}

/// Sets a filter control of the page and tells the page it changed.
fn set_control(cdp: &mut Cdp, id: &str, value: &str) {
    cdp.eval(&format!(
        "(() => {{ const c = document.getElementById({id:?}); c.value = {value:?}; \
         c.dispatchEvent(new Event('change')); return true; }})()"
    ));
}

#[test]
#[cfg_attr(
    not(chromium),
    ignore = "needs Chromium: apt-get install chromium (or set MLYTILES_CHROMIUM)"
)]
#[cfg_attr(
    all(chromium, not(maplibre)),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
fn the_preview_page_draws_coverage_follows_the_filters_and_names_a_clicked_image() {
    let modules = node_modules();
    let server = serve_sample();
    let (_browser, mut cdp) = open_page(&server.url("/"));

    let first = cdp.wait_for_map("the first view", 0);
    assert_eq!(first["tileErrors"], json!(0), "{first}");

    // The libraries came from this server, pinned: their integrity attributes are the hashes
    // of the files npm installed (computed here, not by the server).
    let pinned = cdp.eval(
        "Array.from(document.querySelectorAll('[integrity]')).map(e => [e.src || e.href, e.integrity])",
    );
    let pinned = pinned.as_array().unwrap();
    let files: Vec<&str> = pinned
        .iter()
        .map(|pair| pair[0].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files,
        ["maplibre-gl.js", "maplibre-gl.css", "pmtiles.js"],
        "{pinned:?}"
    );
    for pair in pinned {
        let url = pair[0].as_str().unwrap();
        let relative = url
            .strip_prefix(&server.url("/assets/"))
            .unwrap_or_else(|| panic!("{url} is not under /assets/"));
        let bytes = std::fs::read(modules.join(relative)).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA384, &bytes);
        let expected = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        );
        assert_eq!(pair[1].as_str().unwrap(), expected, "{relative}");
    }

    let shot = cdp.screenshot("preview-basemap-none");
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
    // The scale bar and the zoom/coordinate readout are shown.
    let scale = cdp.eval("document.querySelector('.maplibregl-ctrl-scale').textContent");
    assert!(scale.as_str().unwrap().ends_with('m'), "{scale}");
    let readout = cdp.eval("document.getElementById('readout').textContent");
    assert!(readout.as_str().unwrap().starts_with("z 1"), "{readout}");

    let before: Vec<String> = cdp.tile_requests();
    assert!(!before.is_empty());
    assert!(before.iter().all(|u| !u.contains('?')), "{before:?}");

    // Panoramas only: the source's tile URLs carry the filter, the page asks for tiles with
    // it, and draws less.
    let idle = first["idle"].as_u64().unwrap();
    set_control(&mut cdp, "pano", "only");
    let after = cdp.wait_for_map("the filtered view", idle);
    assert_eq!(after["query"], json!("?pano=only"), "{after}");
    assert_eq!(after["tileErrors"], json!(0), "{after}");
    assert_eq!(
        after["tiles"],
        json!(server.url("/mapillary/{z}/{x}/{y}.png?pano=only"))
    );
    assert_eq!(
        after["images"],
        json!(server.url("/mvt/mly1_public/{z}/{x}/{y}.mvt?pano=only"))
    );
    let filtered: Vec<String> = cdp
        .tile_requests()
        .into_iter()
        .filter(|u| u.ends_with("?pano=only"))
        .collect();
    let png_before: Vec<&String> = before.iter().filter(|u| u.ends_with(".png")).collect();
    for url in &png_before {
        assert!(
            filtered.contains(&format!("{url}?pano=only")),
            "{url} asked for again with ?pano=only: {filtered:?}"
        );
    }
    let shot = cdp.screenshot("preview-pano-only");
    let pano_only = green_pixels(&shot, (0.35, 0.65), (0.35, 0.65));
    assert!(
        pano_only < middle,
        "fewer coverage pixels with panoramas only: {pano_only} of {middle}"
    );
    eprintln!(
        "{} tiles; green pixels in the middle: {middle} unfiltered, {pano_only} panoramas only",
        png_before.len()
    );

    // A click on an image dot whose id is above 2^53: the popup names it digit for digit.
    let (id, ms, pano, lon, lat) = image_above_2_53();
    let idle = after["idle"].as_u64().unwrap();
    set_control(&mut cdp, "pano", "all");
    let idle = cdp.wait_for_map("the unfiltered view", idle)["idle"]
        .as_u64()
        .unwrap();
    cdp.eval(&format!(
        "mlyPreview.map.jumpTo({{ center: [{lon}, {lat}], zoom: 18 }}), true"
    ));
    let zoomed = cdp.wait_for_map("the view at z18", idle);
    assert_eq!(zoomed["tileErrors"], json!(0), "{zoomed}");
    // The vector tiles load in a worker (whose requests this session does not see): count
    // the image dots the map holds instead.
    let dots =
        cdp.eval("mlyPreview.map.querySourceFeatures('images', { sourceLayer: 'image' }).length");
    assert!(dots.as_u64().unwrap() > 0, "image dots loaded: {dots}");
    cdp.screenshot("preview-z18");
    let at = cdp.eval(&format!(
        "(() => {{ const p = mlyPreview.map.project([{lon}, {lat}]); return [p.x, p.y]; }})()"
    ));
    // Click only once the dot is drawn where the click lands (a loaded machine draws late).
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let start = Instant::now();
    loop {
        let hits = cdp.eval(&format!(
            "mlyPreview.map.queryRenderedFeatures([{x}, {y}], {{ layers: ['images'] }}).length"
        ));
        if hits.as_u64().is_some_and(|n| n > 0) {
            break;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "no image dot drawn at {at} after the jump to z18"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    cdp.click(x, y);
    let start = Instant::now();
    let popup = loop {
        let p = cdp.eval(
            "(() => { const b = document.querySelector('.mly-popup'); if (!b || !b.dataset.id) \
             return null; return { id: b.dataset.id, text: b.innerText, \
             link: b.querySelector('a').href }; })()",
        );
        if !p.is_null() {
            break p;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "no popup with an id after the click at {at}; popup text: {}; errors: {:#?}",
            cdp.eval(
                "(() => { const b = document.querySelector('.mly-popup'); \
                 return b ? b.innerText : 'none'; })()"
            ),
            cdp.errors()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    cdp.screenshot("preview-popup");
    assert_eq!(popup["id"], json!(id.to_string()), "{popup}");
    let time = mlytiles_filter::chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let text = popup["text"].as_str().unwrap();
    assert!(text.contains(&time), "capture time {time} in {text:?}");
    assert!(
        text.contains(if pano {
            "panorama\nyes"
        } else {
            "panorama\nno"
        }),
        "{text:?}"
    );
    assert_eq!(
        popup["link"],
        json!(format!("https://www.mapillary.com/app/?pKey={id}"))
    );

    let errors = cdp.errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");

    // A malformed filter: the tiles fail and the page shows the server's one-line reason.
    set_control(&mut cdp, "org", "acme");
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

/// A 256x256 PNG of one colour.
fn solid_png(rgba: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 256, 256);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = rgba.iter().copied().cycle().take(256 * 256 * 4).collect();
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&pixels)
        .unwrap();
    out
}

/// Pixels within 24 of `rgb` in every channel, in a region.
fn pixels_of(image: &(u32, u32, Vec<u8>), rgb: [u8; 3], x: (f64, f64), y: (f64, f64)) -> usize {
    let (w, h, rgba) = image;
    let (x0, x1) = ((x.0 * *w as f64) as u32, (x.1 * *w as f64) as u32);
    let (y0, y1) = ((y.0 * *h as f64) as u32, (y.1 * *h as f64) as u32);
    (y0..y1)
        .flat_map(|py| (x0..x1).map(move |px| ((py * w + px) * 4) as usize))
        .filter(|&i| (0..3).all(|c| rgba[i + c].abs_diff(rgb[c]) <= 24))
        .count()
}

/// The test archive's colour, which nothing else on the page uses.
const MAGENTA: [u8; 3] = [255, 0, 255];

/// The colour the page draws a vector archive's features in (`#c2185b`).
const ARCHIVE_FEATURES: [u8; 3] = [0xc2, 0x18, 0x5b];

/// Gives `path` to the page's "Open a .pmtiles file" input, as a user picking it would, and
/// waits until the page shows it (`mlyPreview.archive` names it); returns that.
fn open_archive(cdp: &mut Cdp, path: &std::path::Path) -> Value {
    choose_file(cdp, path);
    let name = path.file_name().unwrap().to_str().unwrap();
    let start = Instant::now();
    loop {
        let a = cdp.eval("mlyPreview.archive");
        if a["name"] == json!(name) {
            return a;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "the page never showed {name}; status: {}; errors: {:#?}",
            cdp.eval("document.getElementById('status').textContent"),
            cdp.errors()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Gives `path` to the page's "Open a .pmtiles file" input, as a user picking it would.
fn choose_file(cdp: &mut Cdp, path: &std::path::Path) {
    let document = cdp.call("DOM.getDocument", json!({}));
    let input = cdp.call(
        "DOM.querySelector",
        json!({ "nodeId": document["root"]["nodeId"], "selector": "#archive" }),
    );
    cdp.call(
        "DOM.setFileInputFiles",
        json!({ "nodeId": input["nodeId"], "files": [path.to_str().unwrap()] }),
    );
}

/// A PNG archive at `path` of magenta tiles covering `bbox` at `zooms`; returns its number
/// of tiles.
fn magenta_archive(
    path: &std::path::Path,
    bbox: mlytiles_store::BBox,
    zooms: std::ops::RangeInclusive<u8>,
) -> usize {
    use mlytiles_store::{ArchiveFormat, ArchiveWriter, pmtiles_tile_id};
    let magenta = solid_png([MAGENTA[0], MAGENTA[1], MAGENTA[2], 255]);
    let mut tiles: Vec<_> = zooms
        .flat_map(|z| mlytiles_tile::TileCover::new(bbox, z).unwrap())
        .collect();
    tiles.sort_by_key(|t| pmtiles_tile_id(*t));
    let mut writer = ArchiveWriter::create(path, ArchiveFormat::Png).unwrap();
    for tile in &tiles {
        writer.add(*tile, &magenta).unwrap();
    }
    let meta = json!({ "name": "magenta", "format": "png", "attribution": "magenta test" });
    writer.finish(meta.as_object().unwrap(), bbox).unwrap();
    tiles.len()
}

/// A vector archive of the sample's z14 tiles of `mly1_public` at `path`; returns its bounds.
fn sample_vector_archive(path: &std::path::Path) -> mlytiles_store::BBox {
    use mlytiles_store::{
        ArchiveFormat, ArchiveWriter, BBox, MbTiles, TileStatus, TileStore, pmtiles_tile_id,
    };
    let store =
        MbTiles::open_read_only(common::sample_cache().join("mly1_public.mbtiles")).unwrap();
    let mut tiles: Vec<_> = store
        .list(14, None)
        .unwrap()
        .into_iter()
        .filter(|(_, status)| *status == TileStatus::Data)
        .map(|(tile, _)| tile)
        .collect();
    assert!(!tiles.is_empty());
    tiles.sort_by_key(|t| pmtiles_tile_id(*t));
    let mut writer = ArchiveWriter::create(path, ArchiveFormat::Mvt).unwrap();
    let (mut w, mut s, mut e, mut n) = (180.0f64, 90.0f64, -180.0f64, -90.0f64);
    for tile in &tiles {
        let bytes = store.get(*tile).unwrap().unwrap();
        writer.add(*tile, &bytes.uncompressed().unwrap()).unwrap();
        let b = tile.bounds();
        (w, s, e, n) = (
            w.min(b.west()),
            s.min(b.south()),
            e.max(b.east()),
            n.max(b.north()),
        );
    }
    let meta = json!({
        "name": "sample", "format": "pbf",
        "vector_layers": [{ "id": "image" }, { "id": "sequence" }],
    });
    let bounds = BBox::new(w, s, e, n).unwrap();
    writer.finish(meta.as_object().unwrap(), bounds).unwrap();
    bounds
}

#[test]
#[cfg_attr(
    not(chromium),
    ignore = "needs Chromium: apt-get install chromium (or set MLYTILES_CHROMIUM)"
)]
#[cfg_attr(
    all(chromium, not(maplibre)),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
fn the_preview_page_opens_a_local_pmtiles_archive_and_draws_its_tiles() {
    // A PNG archive away from the sample, every tile magenta, z5-9 over a box in the Alps.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("magenta.pmtiles");
    let bbox = mlytiles_store::BBox::new(11.0, 47.0, 12.5, 48.0).unwrap();
    let tiles = magenta_archive(&path, bbox, 5..=9);

    let server = serve_sample();
    let (_browser, mut cdp) = open_page(&server.url("/"));
    cdp.wait_for_map("the first view", 0);
    let shot = cdp.screenshot("archive-before");
    let before = pixels_of(&shot, MAGENTA, (0.0, 1.0), (0.0, 1.0));
    assert_eq!(before, 0, "magenta before the archive is opened");
    // Idle events so far, counted just before the change (a screenshot may draw a frame).
    let idle = cdp.eval("mlyPreview.idle").as_u64().unwrap();

    let archive = open_archive(&mut cdp, &path);
    assert_eq!(archive["name"], json!("magenta.pmtiles"), "{archive}");
    assert_eq!(archive["kind"], json!("PNG"), "{archive}");
    assert_eq!(archive["layers"], json!(["archive"]), "{archive}");
    assert_eq!(
        (archive["minzoom"].as_u64(), archive["maxzoom"].as_u64()),
        (Some(5), Some(9)),
        "{archive}"
    );
    // The header holds bounds in 1e-7 degrees.
    let bounds: Vec<f64> = archive["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (found, expected) in bounds.iter().zip([11.0, 47.0, 12.5, 48.0]) {
        assert!((found - expected).abs() < 1e-6, "bounds {bounds:?}");
    }

    // The map moved to the archive's box and drew its tiles there.
    let drawn = cdp.wait_for_map("the archive's view", idle);
    assert_eq!(drawn["tileErrors"], json!(0), "{drawn}");
    let center = cdp.eval("mlyPreview.map.getCenter().toArray()");
    let (lon, lat) = (center[0].as_f64().unwrap(), center[1].as_f64().unwrap());
    assert!(bbox.contains(lon, lat), "the map's center {lon}, {lat}");
    let shot = cdp.screenshot("archive-magenta");
    let middle = pixels_of(&shot, MAGENTA, (0.35, 0.65), (0.35, 0.65));
    let (w, h) = (f64::from(shot.0), f64::from(shot.1));
    let area = (((0.65 * w) as usize) - ((0.35 * w) as usize))
        * (((0.65 * h) as usize) - ((0.35 * h) as usize));
    assert!(
        middle > area * 9 / 10,
        "the archive's magenta in the middle of the map: {middle} of {area} pixels"
    );
    let status = cdp.eval("document.getElementById('status').textContent");
    assert_eq!(status, json!("magenta.pmtiles: PNG tiles, z5-9"));
    let attribution = cdp.eval("document.querySelector('.maplibregl-ctrl-attrib').textContent");
    assert!(
        attribution.as_str().unwrap().contains("magenta test"),
        "the archive's attribution shown: {attribution}"
    );
    let errors = cdp.errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    eprintln!(
        "{tiles} tiles in the PNG archive; magenta pixels in the middle of the map: {middle} of {area}"
    );

    // A vector archive (the sample's z14 tiles) replaces it: sequences as lines and images as
    // dots, in the archive's colour, where the sample is.
    let vector = dir.path().join("sample.pmtiles");
    let bounds = sample_vector_archive(&vector);
    let idle = cdp.eval("mlyPreview.idle").as_u64().unwrap();
    let archive = open_archive(&mut cdp, &vector);
    assert_eq!(archive["kind"], json!("vector"), "{archive}");
    assert_eq!(
        archive["layers"],
        json!(["archive-sequence", "archive-image"]),
        "{archive}"
    );
    let drawn = cdp.wait_for_map("the vector archive's view", idle);
    assert_eq!(drawn["tileErrors"], json!(0), "{drawn}");
    let center = cdp.eval("mlyPreview.map.getCenter().toArray()");
    let (lon, lat) = (center[0].as_f64().unwrap(), center[1].as_f64().unwrap());
    assert!(bounds.contains(lon, lat), "the map's center {lon}, {lat}");
    let gone = cdp.eval("mlyPreview.map.getLayer('archive') === undefined");
    assert_eq!(gone, json!(true), "the PNG archive's layer is removed");
    let features = cdp.eval(
        "['image', 'sequence'].map(l => mlyPreview.map.querySourceFeatures('archive', \
         { sourceLayer: l }).length)",
    );
    let (images, sequences) = (features[0].as_u64().unwrap(), features[1].as_u64().unwrap());
    assert!(images > 0 && sequences > 0, "features loaded: {features}");
    let shot = cdp.screenshot("archive-vector");
    let magenta = pixels_of(&shot, MAGENTA, (0.0, 1.0), (0.0, 1.0));
    assert_eq!(magenta, 0, "the PNG archive is no longer drawn");
    let drawn_features = pixels_of(&shot, ARCHIVE_FEATURES, (0.0, 1.0), (0.0, 1.0));
    assert!(
        drawn_features > 500,
        "the vector archive's features drawn: {drawn_features} pixels"
    );
    let status = cdp.eval("document.getElementById('status').textContent");
    assert_eq!(status, json!("sample.pmtiles: vector tiles, z14"));
    let errors = cdp.errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");

    // A file that is not an archive: one line saying so, and the vector archive stays.
    let broken = dir.path().join("notes.pmtiles");
    std::fs::write(&broken, "these are notes, not tiles\n".repeat(20)).unwrap();
    choose_file(&mut cdp, &broken);
    let start = Instant::now();
    let status = loop {
        let status = cdp.eval("document.getElementById('status').textContent");
        if status
            .as_str()
            .is_some_and(|s| s.starts_with("notes.pmtiles"))
        {
            break status;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "the page never explained the broken file: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = status.as_str().unwrap();
    assert!(
        status.starts_with("notes.pmtiles: not a readable PMTiles archive ("),
        "{status}"
    );
    let class = cdp.eval("document.getElementById('status').className");
    assert_eq!(class, json!("error"));
    let kept = cdp.eval("mlyPreview.archive.name");
    assert_eq!(kept, json!("sample.pmtiles"));
    let errors = cdp.errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    eprintln!("a broken file: {status}");
    eprintln!(
        "vector archive: {images} image and {sequences} sequence features loaded, \
         {drawn_features} pixels drawn in its colour"
    );
}

/// One request to a static host: method, path, `Range` header, status.
type Logged = (String, String, Option<String>, u16);

/// A static file host on 127.0.0.1:0 (tower-http's `ServeDir`, which answers range requests),
/// logging the requests; stops when dropped.
struct StaticHost {
    addr: std::net::SocketAddr,
    log: std::sync::Arc<std::sync::Mutex<Vec<Logged>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn static_host(router: mlytiles_serve::axum::Router) -> StaticHost {
    use mlytiles_serve::axum;
    use std::sync::{Arc, Mutex};
    let log: Arc<Mutex<Vec<Logged>>> = Arc::default();
    let logged = Arc::clone(&log);
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let logged = Arc::clone(&logged);
            async move {
                let method = request.method().to_string();
                let path = request.uri().path().to_owned();
                let range = request
                    .headers()
                    .get(axum::http::header::RANGE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let response = next.run(request).await;
                let status = response.status().as_u16();
                logged.lock().unwrap().push((method, path, range, status));
                response
            }
        },
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx
        .recv_timeout(TIMEOUT)
        .expect("the static host started");
    StaticHost {
        addr,
        log,
        _stop: stop,
    }
}

/// The README's MapLibre page (the `pmtiles://` snippet under "Viewing an archive with no tile
/// server"), word for word but for where the libraries and the bucket are.
fn readme_page(libraries: &str, bucket: &str) -> String {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let snippet = readme
        .split("```html\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(code, _)| code))
        .find(|code| code.contains("addProtocol(\"pmtiles\""))
        .expect("the README shows a MapLibre page with a pmtiles:// source");
    let page = snippet
        .replace(
            "https://unpkg.com/maplibre-gl@5.24.1/dist/",
            &format!("{libraries}maplibre-gl/dist/"),
        )
        .replace(
            "https://unpkg.com/pmtiles@4.5.0/dist/",
            &format!("{libraries}pmtiles/dist/"),
        )
        .replace("https://bucket.example.org/", bucket);
    assert!(
        !page.contains("unpkg") && !page.contains("example.org"),
        "the snippet's libraries and bucket are at the expected places:\n{page}"
    );
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"></head><body>\n{page}</body></html>\n"
    )
}

/// Waits until the README page's map has drawn everything in view.
fn wait_for_readme_map(cdp: &mut Cdp, what: &str) {
    let start = Instant::now();
    loop {
        let done = cdp.eval(
            "typeof map !== 'undefined' && map.loaded() && map.areTilesLoaded() && \
             !map.isMoving()",
        );
        if done == json!(true) {
            return;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "{what}: the map never finished drawing; errors: {:#?}",
            cdp.errors()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[cfg_attr(
    not(chromium),
    ignore = "needs Chromium: apt-get install chromium (or set MLYTILES_CHROMIUM)"
)]
#[cfg_attr(
    all(chromium, not(maplibre)),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
fn the_readme_page_reads_archives_from_another_origin_by_range_requests() {
    use mlytiles_serve::axum::Router;
    use mlytiles_serve::axum::http::{Method, header};
    use tower_http::cors::CorsLayer;
    use tower_http::services::ServeDir;

    // The "bucket": a coverage archive over the sample area (where the README's page looks)
    // and the sample's vector tiles, on a static host that allows other origins as the
    // README's CORS rules do.
    let bucket = tempfile::tempdir().unwrap();
    let area = mlytiles_store::BBox::new(-108.75, 38.95, -108.35, 39.2).unwrap();
    magenta_archive(&bucket.path().join("coverage.pmtiles"), area, 9..=13);
    let sample = sample_vector_archive(&bucket.path().join("panoramas.pmtiles"));
    let cors = CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([header::RANGE, header::IF_MATCH])
        .expose_headers([header::ETAG]);
    let bucket_host = static_host(
        Router::new()
            .fallback_service(ServeDir::new(bucket.path()))
            .layer(cors),
    );

    // The page and the libraries on another origin.
    let site = tempfile::tempdir().unwrap();
    let page = readme_page("/lib/", &format!("http://{}/", bucket_host.addr));
    std::fs::write(site.path().join("index.html"), page).unwrap();
    let page_host = static_host(
        Router::new()
            .nest_service("/lib", ServeDir::new(node_modules()))
            .fallback_service(ServeDir::new(site.path())),
    );
    let (_browser, mut cdp) = open_page(&format!("http://{}/index.html", page_host.addr));
    wait_for_readme_map(&mut cdp, "the README's page");
    let shot = cdp.screenshot("readme-page");
    let middle = pixels_of(&shot, MAGENTA, (0.35, 0.65), (0.35, 0.65));
    let (w, h) = (f64::from(shot.0), f64::from(shot.1));
    let area_px = (((0.65 * w) as usize) - ((0.35 * w) as usize))
        * (((0.65 * h) as usize) - ((0.35 * h) as usize));
    assert!(
        middle > area_px * 9 / 10,
        "the coverage archive's magenta in the middle of the map: {middle} of {area_px} pixels"
    );
    let attribution = cdp.eval("document.querySelector('.maplibregl-ctrl-attrib').textContent");
    assert!(
        attribution.as_str().unwrap().contains("magenta test"),
        "the archive's attribution shown: {attribution}"
    );

    // Deeper, the vector archive's image dots.
    let (lon, lat) = (
        (sample.west() + sample.east()) / 2.0,
        (sample.south() + sample.north()) / 2.0,
    );
    cdp.eval(&format!(
        "map.jumpTo({{ center: [{lon}, {lat}], zoom: 14.5 }}), true"
    ));
    wait_for_readme_map(&mut cdp, "the README's page at z14.5");
    let images = cdp.eval("map.querySourceFeatures('panoramas', { sourceLayer: 'image' }).length");
    assert!(images.as_u64().unwrap() > 0, "image features: {images}");
    cdp.screenshot("readme-page-z14");

    // Every read of an archive was a range request answered with 206 Partial Content.
    let log = bucket_host.log.lock().unwrap().clone();
    let reads: Vec<&Logged> = log.iter().filter(|(m, ..)| m == "GET").collect();
    assert!(
        reads.iter().any(|(_, p, ..)| p == "/coverage.pmtiles")
            && reads.iter().any(|(_, p, ..)| p == "/panoramas.pmtiles"),
        "{log:?}"
    );
    for (_, path, range, status) in &reads {
        assert!(
            range.as_deref().is_some_and(|r| r.starts_with("bytes=")) && *status == 206,
            "{path}: a whole-file read ({range:?}, {status}); all: {log:?}"
        );
    }
    let errors = cdp.errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    eprintln!(
        "README page: {} range requests to the bucket ({} other requests), {middle} of \
         {area_px} magenta pixels in the middle, {images} image features at z14.5",
        reads.len(),
        log.len() - reads.len()
    );
}
