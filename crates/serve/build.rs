//! Tells the browser test (`tests/browser.rs`) whether to run: sets `--cfg chromium` when a
//! chromium binary is installed, when `MLYTILES_CHROMIUM` names one, or when `CI` is set (CI
//! must run the test, which then fails if chromium is missing); and `--cfg maplibre` when
//! the page's libraries (MapLibre GL JS and pmtiles) are installed (`npm ci --prefix
//! crates/serve/web`) or `CI` is set.
//! Without a cfg the test is reported as ignored, with the reason.

use std::path::{Path, PathBuf};

/// Where the test looks for chromium: Debian's and Ubuntu's paths.
const INSTALLED: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/// Where `npm ci --prefix crates/serve/web` puts the libraries' files (relative to this crate).
const LIBRARIES: [&str; 2] = [
    "web/node_modules/maplibre-gl/dist/maplibre-gl.js",
    "web/node_modules/pmtiles/dist/pmtiles.js",
];

/// `CI` set to anything but empty, `0` or `false` (as the test reads it).
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(chromium)");
    println!("cargo::rustc-check-cfg=cfg(maplibre)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=MLYTILES_CHROMIUM");
    // Watch folders, not files: a folder's mtime changes when an entry is added or removed,
    // and a watched path that does not exist would rerun this script on every build.
    let installed = INSTALLED.map(PathBuf::from);
    if let Some(dir) = installed[0].parent().filter(|d| d.is_dir()) {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    for watched in ["web", "web/package-lock.json", "web/node_modules"] {
        if Path::new(watched).exists() {
            println!("cargo::rerun-if-changed={watched}");
        }
    }
    let named = std::env::var_os("MLYTILES_CHROMIUM").is_some_and(|v| !v.is_empty());
    if under_ci() || named || installed.iter().any(|p| p.is_file()) {
        println!("cargo::rustc-cfg=chromium");
    }
    if under_ci() || LIBRARIES.iter().all(|f| Path::new(f).is_file()) {
        println!("cargo::rustc-cfg=maplibre");
    }
}
