//! The libraries of the preview page: MapLibre GL JS and protomaps' `pmtiles` at pinned
//! versions, their files served read-only from a folder (`Config::assets_dir`: the
//! `node_modules` that `npm ci --prefix crates/serve/web` fills) or loaded from a public CDN,
//! in both cases checked by the browser against the Subresource Integrity hashes below.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use base64::Engine;

use crate::error::{Error, Result};
use crate::route::{Reject, quote};

/// The MapLibre GL JS version the page loads (`crates/serve/web/package.json` pins the same).
pub const MAPLIBRE_VERSION: &str = "5.24.1";

/// The files of the npm package's `dist/` folder the page loads, each with the sha384 of its
/// exact bytes as a Subresource Integrity value.
pub const MAPLIBRE_FILES: [(&str, &str); 2] = [
    (
        "maplibre-gl.js",
        "sha384-nXMl9YiLoSG5KBPTFgvxVuIqQQcqIvo0bFrvoEaGJC6r7IibIzF1S36Zbf/sKBtL",
    ),
    (
        "maplibre-gl.css",
        "sha384-uTttxo/aOKbdE5RlD/SPzSDoDmNvGlUYPjONi2MN/b7c9HPSvW07OIuyP7uL6jxK",
    ),
];

/// The version of protomaps' `pmtiles` library (PMTiles archives in the browser) the page
/// loads to open a local archive (`crates/serve/web/package.json` pins the same).
pub const PMTILES_VERSION: &str = "4.5.0";

/// The file of that package's `dist/` folder the page loads (the browser bundle, which
/// defines the global `pmtiles`), with its Subresource Integrity value.
pub const PMTILES_FILES: [(&str, &str); 1] = [(
    "pmtiles.js",
    "sha384-pbKNZbDshUsLnZMIVsn/t+j3xEY9PGfuX5Z22l5rcy/obXz3EwaMx1F5d9sRsJMn",
)];

/// Files of a package's `dist/` folder, each with its Subresource Integrity value.
pub type PinnedFiles = &'static [(&'static str, &'static str)];

/// The npm packages the page loads: name, version and pinned `dist/` files. Under the
/// assets folder and on the CDN, a package's files are at `{name}/dist/{file}`.
pub const PACKAGES: [(&str, &str, PinnedFiles); 2] = [
    ("maplibre-gl", MAPLIBRE_VERSION, &MAPLIBRE_FILES),
    ("pmtiles", PMTILES_VERSION, &PMTILES_FILES),
];

/// Where the page loads a package's `dist/` files from without an assets folder.
pub(crate) fn cdn_base(package: &str, version: &str) -> String {
    format!("https://unpkg.com/{package}@{version}/dist/")
}

/// The Subresource Integrity value (`sha384-` and base64) of `bytes`.
///
/// # Examples
///
/// ```
/// assert_eq!(
///     mlytiles_serve::integrity(b""),
///     "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"
/// );
/// ```
pub fn integrity(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA384, bytes);
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// The largest file served from the assets folder (the library's source maps are ~6 MB).
const MAX_FILE: u64 = 32 << 20;

/// An assets folder, checked at start.
#[derive(Debug)]
pub(crate) struct Assets {
    /// The `node_modules` folder, canonical (symlinks resolved), so that a file's canonical
    /// path must start with a package's `dist/` in it.
    root: PathBuf,
}

impl Assets {
    /// Opens `dir` and checks that it holds the pinned versions' files. `dir` is the
    /// `node_modules` folder npm filled; MapLibre's own `dist/` folder inside it (what
    /// `--assets` named before `pmtiles` was added) is taken as its `node_modules`.
    pub(crate) fn open(dir: &Path) -> Result<Assets> {
        let fail = |reason: String| Error::Assets {
            dir: dir.to_path_buf(),
            reason,
        };
        let mut root =
            std::fs::canonicalize(dir).map_err(|e| fail(format!("cannot open it: {e}")))?;
        if !root.is_dir() {
            return Err(fail("not a folder".into()));
        }
        if root.ends_with("maplibre-gl/dist") && root.join(MAPLIBRE_FILES[0].0).is_file() {
            root = root
                .parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or(root);
            tracing::info!(
                "--assets {}: MapLibre's dist folder; serving the packages of {}",
                dir.display(),
                root.display()
            );
        }
        for (package, version, files) in PACKAGES {
            for (name, expected) in files {
                let bytes = std::fs::read(root.join(package).join("dist").join(name))
                    .map_err(|e| fail(format!("cannot read {name} in {package}/dist/: {e}")))?;
                let found = integrity(&bytes);
                if found != *expected {
                    return Err(fail(format!(
                        "{name} in {package}/dist/ is not {package} {version}'s ({found}, \
                         expected {expected})"
                    )));
                }
            }
        }
        Ok(Assets { root })
    }

    /// The file at `relative` (a path already checked by `check_not_path_like`): its bytes
    /// and media type. Only regular files whose real path lies inside the folder are served.
    pub(crate) async fn file(
        &self,
        relative: &str,
    ) -> std::result::Result<(Vec<u8>, &'static str), Reject> {
        let not_found = || Reject::not_found(format!("no such asset: {}", quote(relative)));
        if relative.is_empty()
            || relative
                .split('/')
                .any(|s| s.is_empty() || s.starts_with('.'))
        {
            return Err(not_found());
        }
        // Only the packages' `dist/` folders are served, not the rest of `node_modules`.
        let Some(dist) = PACKAGES
            .iter()
            .map(|(package, _, _)| Path::new(package).join("dist"))
            .find(|dist| Path::new(relative).starts_with(dist))
        else {
            return Err(not_found());
        };
        let real = tokio::fs::canonicalize(self.root.join(relative))
            .await
            .map_err(|_| not_found())?;
        if !real.starts_with(self.root.join(&dist)) {
            return Err(Reject {
                status: StatusCode::FORBIDDEN,
                reason: format!(
                    "asset {} refused: it leads outside the assets folder",
                    quote(relative)
                ),
            });
        }
        let meta = tokio::fs::metadata(&real).await.map_err(|_| not_found())?;
        if !meta.is_file() {
            return Err(not_found());
        }
        if meta.len() > MAX_FILE {
            return Err(Reject::not_found(format!(
                "asset {} refused: larger than {} MiB",
                quote(relative),
                MAX_FILE >> 20
            )));
        }
        let bytes = tokio::fs::read(&real).await.map_err(|e| {
            tracing::warn!("reading asset {}: {e}", real.display());
            Reject::internal(format!("asset {} cannot be read", quote(relative)))
        })?;
        Ok((bytes, media_type(relative)))
    }
}

/// The media type of a file of a package's `dist/` folder, from its ending.
fn media_type(name: &str) -> &'static str {
    let ending = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ending.to_ascii_lowercase().as_str() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "map" | "json" => "application/json",
        "txt" | "ts" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_follow_the_ending() {
        assert_eq!(
            media_type("maplibre-gl.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(media_type("maplibre-gl.CSS"), "text/css; charset=utf-8");
        assert_eq!(media_type("maplibre-gl.js.map"), "application/json");
        assert_eq!(media_type("LICENSE"), "application/octet-stream");
    }
}
