//! The map library's files under `/assets/` (`Config::assets_dir`): only the pinned version's
//! folder is accepted, and only regular files inside it are served, with their media types.

mod common;

use std::path::{Path, PathBuf};

use common::{client, get, raw_get, sample_cache, start};
use mlytiles_serve::{Config, Error, MAPLIBRE_FILES, Server};

fn config(assets: &Path) -> Config {
    Config {
        cache_dir: sample_cache(),
        addr: "127.0.0.1:0".parse().unwrap(),
        assets_dir: Some(assets.to_path_buf()),
        basemap: None,
        ..Config::default()
    }
}

/// Where `npm ci --prefix crates/serve/web` puts MapLibre GL JS's files.
fn npm_dist() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/node_modules/maplibre-gl/dist");
    assert!(
        dir.join("maplibre-gl.js").is_file(),
        "MapLibre GL JS is not installed in {}: run npm ci --prefix crates/serve/web",
        dir.display()
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_without_the_pinned_files_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Server::bind(config(dir.path())).await.unwrap_err();
    assert!(matches!(missing, Error::Assets { .. }), "{missing}");
    let text = missing.to_string();
    assert!(text.contains("cannot read maplibre-gl.js"), "{text}");
    assert!(text.contains("npm ci --prefix crates/serve/web"), "{text}");

    for (name, _) in MAPLIBRE_FILES {
        std::fs::write(dir.path().join(name), "not the library").unwrap();
    }
    let text = Server::bind(config(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("maplibre-gl.js is not maplibre-gl 5.24.1's"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(maplibre),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
async fn only_regular_files_inside_the_folder_are_served() {
    let dist = npm_dist();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, _) in MAPLIBRE_FILES {
        std::fs::copy(dist.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/notes.txt"), "inside").unwrap();
    std::fs::write(dir.path().join(".hidden"), "hidden").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("escape.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();

    let server = start(config(dir.path()));
    let http = client();
    let r = get(&http, &server.url("/assets/maplibre-gl.js"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let body = r.bytes().await.unwrap();
    assert_eq!(
        &body[..],
        std::fs::read(dist.join("maplibre-gl.js")).unwrap()
    );
    let r = get(&http, &server.url("/assets/maplibre-gl.css"), &[]).await;
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    let r = get(&http, &server.url("/assets/sub/notes.txt"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "inside");

    // Symlinks out of the folder, folders, hidden and missing files: refused, nothing read.
    for (path, status, reason) in [
        ("/assets/escape.txt", 403, "leads outside the assets folder"),
        (
            "/assets/out/secret.txt",
            403,
            "leads outside the assets folder",
        ),
        ("/assets/sub", 404, "no such asset"),
        ("/assets/.hidden", 404, "no such asset"),
        ("/assets/missing.js", 404, "no such asset"),
        ("/assets/../Cargo.toml", 400, "dot segment"),
        ("/assets/%2e%2e/Cargo.toml", 400, "percent-encoded"),
        ("/assets/sub//notes.txt", 400, "empty segment"),
        ("/assets/sub\\notes.txt", 400, "backslash"),
    ] {
        let (code, body) = raw_get(server.addr, path);
        assert_eq!(code, status, "{path}: {body}");
        assert!(body.contains(reason), "{path}: {body}");
        assert!(!body.contains("outside\n") && !body.contains("hidden\n"));
    }

    // The page loads the library from here, pinned by the same hashes.
    let page = get(&http, &server.url("/"), &[])
        .await
        .text()
        .await
        .unwrap();
    for (name, hash) in MAPLIBRE_FILES {
        assert!(
            page.contains(&format!("\"assets/{name}\" integrity=\"{hash}\"")),
            "{name}"
        );
    }
    assert!(!page.contains("unpkg"));
    assert!(page.contains(r#""basemap":null"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_assets_folder_assets_are_not_found_and_say_why() {
    let server = common::start_sample();
    let (code, body) = raw_get(server.addr, "/assets/maplibre-gl.js");
    assert_eq!(code, 404);
    assert!(body.contains("without --assets"), "{body}");
}

/// The pinned hashes are those of the files npm installed (checked here with the test's own
/// hashing, not the server's).
#[test]
#[cfg_attr(
    not(maplibre),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
fn the_pinned_hashes_are_those_of_the_npm_files() {
    use base64::Engine;
    let dist = npm_dist();
    let lock: serde_json::Value = serde_json::from_slice(
        &std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/package-lock.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        lock["packages"]["node_modules/maplibre-gl"]["version"],
        mlytiles_serve::MAPLIBRE_VERSION
    );
    for (name, hash) in MAPLIBRE_FILES {
        let bytes = std::fs::read(dist.join(name)).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA384, &bytes);
        let expected = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        );
        assert_eq!(hash, expected, "{name}");
    }
}
