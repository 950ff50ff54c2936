//! `mlytiles render` end to end: the no-argument sample render, tiles, pyramids with shards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .arg("render")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run mlytiles")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("read png");
    let dec = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("png");
    (dec.info().width, dec.info().height)
}

/// The decoded image data of a PNG (whatever its colour type).
fn png_pixels(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("read png");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    buf
}

fn repo_cache() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cache")
        .display()
        .to_string()
}

#[test]
fn no_arguments_render_the_sample_area() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stdout = ok(&run(dir.path(), &[]));
    let png = dir.path().join("coverage.png");
    assert_eq!(png_size(&png), (4096, 4096));
    let pgw = std::fs::read_to_string(dir.path().join("coverage.pgw")).expect("world file");
    assert_eq!(pgw.lines().count(), 6);
    for line in pgw.lines() {
        let v: f64 = line.trim().parse().expect("a world-file number");
        assert!(v.is_finite(), "{pgw}");
    }
    assert!(stdout.contains("Rendered 64 tiles at z15"), "{stdout}");
    assert!(stdout.contains("image points"), "{stdout}");
    assert!(stdout.contains("coverage.png (4096 x 4096 px"), "{stdout}");
}

#[test]
fn one_tile_with_style_filter_and_legend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = repo_cache();
    let one_tile = ["--cache", cache.as_str(), "--tile", "14/3251/6257"];
    let stdout = ok(&run(
        dir.path(),
        &[
            &one_tile[..],
            &[
                "--style", "pano", "--pano", "only", "--legend", "--size", "256", "--scale", "2",
                "--out", "t.png",
            ],
        ]
        .concat(),
    ));
    assert_eq!(png_size(&dir.path().join("t.png")), (512, 512));
    assert!(
        stdout.contains("Rendered tile 14/3251/6257 (style pano)"),
        "{stdout}"
    );
    assert!(stdout.contains("filtered out"), "{stdout}");
    let plain = [
        "--style", "pano", "--pano", "only", "--size", "256", "--scale", "2", "--out", "u.png",
    ];
    ok(&run(dir.path(), &[&one_tile[..], &plain].concat()));
    assert_ne!(
        png_pixels(&dir.path().join("t.png")),
        png_pixels(&dir.path().join("u.png")),
        "--legend drew nothing"
    );
    let bad = run(dir.path(), &[&one_tile[..], &["--style", "neon"]].concat());
    assert_eq!(bad.status.code(), Some(2), "a bad style is a usage error");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neon"));
}

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).expect("prefix").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn pyramid_resumes_and_shards_split_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = repo_cache();
    let bbox = "-108.58,39.03,-108.51,39.09";
    let args = |out: &str, shard: Option<&str>| {
        let mut v = vec![
            "--cache".to_string(),
            cache.clone(),
            "--pyramid".into(),
            "--bbox".into(),
            bbox.into(),
            "--zooms".into(),
            "12-14".into(),
            "--size".into(),
            "256".into(),
            "--out".into(),
            out.into(),
        ];
        if let Some(s) = shard {
            v.push("--shard".into());
            v.push(s.into());
        }
        v
    };
    let call = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        ok(&run(dir.path(), &refs))
    };
    let first = call(args("all", None));
    let all = files(&dir.path().join("all"));
    assert!(all.len() >= 1 + 4 + 16, "{} tiles", all.len());
    assert!(
        all.iter()
            .all(|p| p.extension().is_some_and(|e| e == "png"))
    );
    assert!(all.contains(&PathBuf::from("14/3251/6257.png")), "{all:?}");
    assert!(first.contains("0 already there"), "{first}");
    // A second run skips every tile.
    let again = call(args("all", None));
    assert!(
        again.contains(&format!("(0 rendered, {} already there)", all.len())),
        "{again}"
    );
    // Two shards write disjoint parts whose union is the whole pyramid.
    call(args("a", Some("0/2")));
    call(args("b", Some("1/2")));
    let a = files(&dir.path().join("a"));
    let b = files(&dir.path().join("b"));
    assert!(!a.is_empty() && !b.is_empty());
    assert!(a.iter().all(|p| !b.contains(p)), "shards overlap");
    let mut union = [a, b].concat();
    union.sort();
    assert_eq!(union, all);
    let bad = run(
        dir.path(),
        &[
            "--cache",
            &cache,
            "--pyramid",
            "--zooms",
            "1-2",
            "--shard",
            "2/2",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    // Pyramid tiles carry no legend: asking for one is a usage error, not silently ignored.
    let legend = run(
        dir.path(),
        &["--cache", &cache, "--pyramid", "--zooms", "1-2", "--legend"],
    );
    assert_eq!(legend.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&legend.stderr).contains("--legend"));
}
