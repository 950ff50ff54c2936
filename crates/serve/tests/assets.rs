//! The page's libraries under `/assets/` (`Config::assets_dir`, npm's `node_modules`): only a
//! folder with the pinned versions' files is accepted, and only regular files inside the
//! packages' `dist/` folders are served, with their media types.

mod common;

use std::path::{Path, PathBuf};

use common::{client, get, raw_get, sample_cache, start};
use mlytiles_serve::{Config, Error, MAPLIBRE_FILES, PACKAGES, Server};

fn config(assets: &Path) -> Config {
    Config {
        cache_dir: sample_cache(),
        addr: "127.0.0.1:0".parse().unwrap(),
        assets_dir: Some(assets.to_path_buf()),
        basemap: None,
        ..Config::default()
    }
}

/// Where `npm ci --prefix crates/serve/web` puts the libraries.
fn node_modules() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/node_modules");
    for (package, _, files) in PACKAGES {
        for (name, _) in files {
            let file = dir.join(package).join("dist").join(name);
            assert!(
                file.is_file(),
                "{} is not installed: run npm ci --prefix crates/serve/web",
                file.display()
            );
        }
    }
    dir
}

/// Copies the pinned files of the npm-installed packages into `dir`, as `node_modules` holds
/// them.
fn copy_pinned(dir: &Path) {
    let modules = node_modules();
    for (package, _, files) in PACKAGES {
        let dist = Path::new(package).join("dist");
        std::fs::create_dir_all(dir.join(&dist)).unwrap();
        for (name, _) in files {
            std::fs::copy(modules.join(&dist).join(name), dir.join(&dist).join(name)).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_without_the_pinned_files_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Server::bind(config(dir.path())).await.unwrap_err();
    assert!(matches!(missing, Error::Assets { .. }), "{missing}");
    let text = missing.to_string();
    assert!(
        text.contains("cannot read maplibre-gl.js in maplibre-gl/dist/"),
        "{text}"
    );
    assert!(text.contains("npm ci --prefix crates/serve/web"), "{text}");

    let dist = dir.path().join("maplibre-gl/dist");
    std::fs::create_dir_all(&dist).unwrap();
    for (name, _) in MAPLIBRE_FILES {
        std::fs::write(dist.join(name), "not the library").unwrap();
    }
    let text = Server::bind(config(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("maplibre-gl.js in maplibre-gl/dist/ is not maplibre-gl 5.24.1's"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(maplibre),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
async fn a_folder_without_pmtiles_is_refused_and_a_wrong_version_named() {
    let dir = tempfile::tempdir().unwrap();
    copy_pinned(dir.path());
    let pmtiles_js = dir.path().join("pmtiles/dist/pmtiles.js");
    std::fs::write(&pmtiles_js, "var pmtiles = {};").unwrap();
    let text = Server::bind(config(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("pmtiles.js in pmtiles/dist/ is not pmtiles 4.5.0's"),
        "{text}"
    );
    std::fs::remove_file(&pmtiles_js).unwrap();
    let text = Server::bind(config(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("cannot read pmtiles.js in pmtiles/dist/"),
        "{text}"
    );
}

/// `--assets` named MapLibre's `dist/` folder before pmtiles was added: that folder inside
/// npm's `node_modules` still works, and serves both packages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(maplibre),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
async fn maplibres_dist_folder_is_taken_as_its_node_modules() {
    let modules = node_modules();
    let server = start(config(&modules.join("maplibre-gl/dist")));
    let http = client();
    for (relative, expected) in [
        ("maplibre-gl/dist/maplibre-gl.css", 200),
        ("pmtiles/dist/pmtiles.js", 200),
        ("maplibre-gl/package.json", 404),
        ("maplibre-gl.js", 404),
    ] {
        let r = get(&http, &server.url(&format!("/assets/{relative}")), &[]).await;
        assert_eq!(r.status(), expected, "{relative}");
        if expected == 200 {
            let body = r.bytes().await.unwrap();
            assert_eq!(&body[..], std::fs::read(modules.join(relative)).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(maplibre),
    ignore = "needs MapLibre GL JS's files: npm ci --prefix crates/serve/web"
)]
async fn only_regular_files_inside_the_folder_are_served() {
    let modules = node_modules();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_pinned(dir.path());
    let dist = dir.path().join("maplibre-gl/dist");
    std::fs::create_dir(dist.join("sub")).unwrap();
    std::fs::write(dist.join("sub/notes.txt"), "inside").unwrap();
    std::fs::write(dist.join(".hidden"), "hidden").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dist.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dist.join("out")).unwrap();
    // A link from one package's dist/ into another part of node_modules.
    std::fs::create_dir(dir.path().join("fflate")).unwrap();
    std::fs::write(dir.path().join("fflate/index.js"), "other package").unwrap();
    std::os::unix::fs::symlink(dir.path().join("fflate"), dist.join("fflate")).unwrap();

    let server = start(config(dir.path()));
    let http = client();
    let r = get(
        &http,
        &server.url("/assets/maplibre-gl/dist/maplibre-gl.js"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let body = r.bytes().await.unwrap();
    assert_eq!(
        &body[..],
        std::fs::read(modules.join("maplibre-gl/dist/maplibre-gl.js")).unwrap()
    );
    let r = get(
        &http,
        &server.url("/assets/maplibre-gl/dist/maplibre-gl.css"),
        &[],
    )
    .await;
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    let r = get(&http, &server.url("/assets/pmtiles/dist/pmtiles.js"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let r = get(
        &http,
        &server.url("/assets/maplibre-gl/dist/sub/notes.txt"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "inside");

    // Symlinks out of the folder, folders, hidden and missing files: refused, nothing read.
    let d = "/assets/maplibre-gl/dist";
    for (path, status, reason) in [
        (
            &format!("{d}/escape.txt") as &str,
            403,
            "leads outside the assets folder",
        ),
        (
            &format!("{d}/out/secret.txt"),
            403,
            "leads outside the assets folder",
        ),
        (
            &format!("{d}/fflate/index.js"),
            403,
            "leads outside the assets folder",
        ),
        ("/assets/fflate/index.js", 404, "no such asset"),
        ("/assets/maplibre-gl.js", 404, "no such asset"),
        (&format!("{d}/sub"), 404, "no such asset"),
        (&format!("{d}/.hidden"), 404, "no such asset"),
        (&format!("{d}/missing.js"), 404, "no such asset"),
        ("/assets/../Cargo.toml", 400, "dot segment"),
        ("/assets/%2e%2e/Cargo.toml", 400, "percent-encoded"),
        (&format!("{d}/sub//notes.txt"), 400, "empty segment"),
        (&format!("{d}/sub\\notes.txt"), 400, "backslash"),
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
    for (package, _, files) in PACKAGES {
        for (name, hash) in files {
            assert!(
                page.contains(&format!(
                    "\"assets/{package}/dist/{name}\" integrity=\"{hash}\""
                )),
                "{package}/dist/{name}"
            );
        }
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
    let modules = node_modules();
    let lock: serde_json::Value = serde_json::from_slice(
        &std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/package-lock.json"))
            .unwrap(),
    )
    .unwrap();
    for (package, version, files) in PACKAGES {
        assert_eq!(
            lock["packages"][format!("node_modules/{package}")]["version"],
            version,
            "{package}"
        );
        for (name, hash) in files {
            let bytes = std::fs::read(modules.join(package).join("dist").join(name)).unwrap();
            let digest = ring::digest::digest(&ring::digest::SHA384, &bytes);
            let expected = format!(
                "sha384-{}",
                base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
            );
            assert_eq!(*hash, expected, "{package}/dist/{name}");
        }
    }
}
