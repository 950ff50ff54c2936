//! `mlytiles render` end to end: the no-argument sample render, tiles, pyramids with shards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `mlytiles render ARGS` in `dir`, with a home folder of its own (`dir/home`, empty unless a
/// test fills it): the default cache is `dir/home/.cache/mlytiles`.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .arg("render")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env_remove("XDG_CACHE_HOME")
        .env_remove("MLYTILES_CACHE")
        .output()
        .expect("run mlytiles")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The lines of stderr starting with `error:`.
fn error_lines(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_owned)
        .collect()
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
    let out = run(dir.path(), &[]);
    let stdout = ok(&out);
    let home_cache = dir.path().join("home/.cache/mlytiles");
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "the cache {} is empty: showing the bundled sample area near Grand Junction, CO; \
             fetch your area with `mlytiles fetch --bbox W,S,E,N`",
            home_cache.display()
        ),
        "one line says the sample stands in for the empty cache"
    );
    assert!(
        stdout.contains("from the bundled sample area near Grand Junction, CO (mly1_public)"),
        "{stdout}"
    );
    let png = dir.path().join("coverage.png");
    assert_eq!(png_size(&png), (4096, 4096));
    let pgw = std::fs::read_to_string(dir.path().join("coverage.pgw")).expect("world file");
    assert_eq!(pgw.lines().count(), 6);
    for line in pgw.lines() {
        let v: f64 = line.trim().parse().expect("a world-file number");
        assert!(v.is_finite(), "{pgw}");
    }
    // The coordinate system beside it, for GIS tools (tests/readers_geo.rs has GDAL read it).
    let prj = std::fs::read_to_string(dir.path().join("coverage.prj")).expect(".prj");
    assert!(
        prj.starts_with("PROJCS[\"WGS_1984_Web_Mercator_Auxiliary_Sphere\""),
        "{prj}"
    );
    let aux = std::fs::read_to_string(dir.path().join("coverage.png.aux.xml")).expect("aux");
    assert!(aux.contains("AUTHORITY[\"EPSG\",\"3857\"]]</SRS>"), "{aux}");
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

/// The pool's threads (one, two, as many as the machine has) change nothing in what a tile
/// or a mosaic looks like: the second thread keeping warm between steps takes work, not
/// pixels.
#[test]
fn threads_change_no_pixel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = repo_cache();
    let jobs: [&[&str]; 2] = [
        &["--tile", "14/3251/6257", "--size", "512"],
        // The mosaic of everything the cache holds.
        &[],
    ];
    for (j, job) in jobs.iter().enumerate() {
        let mut images = Vec::new();
        for threads in [None, Some("1"), Some("2")] {
            let out = format!("{j}-{}.png", threads.unwrap_or("all"));
            let mut args = vec!["--cache", cache.as_str(), "--out", out.as_str()];
            args.extend_from_slice(job);
            if let Some(n) = threads {
                args.extend(["--threads", n]);
            }
            ok(&run(dir.path(), &args));
            images.push(std::fs::read(dir.path().join(&out)).expect("the PNG written"));
        }
        assert!(
            images.iter().all(|i| i == &images[0]),
            "{job:?}: the threads changed the PNG"
        );
    }
}

/// The files under `root`, but for the settings record of a pyramid folder.
fn files(root: &Path) -> Vec<PathBuf> {
    assert!(
        root.join("mlytiles-pyramid.json").is_file(),
        "{} has no settings record",
        root.display()
    );
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p != root.join("mlytiles-pyramid.json") {
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

#[test]
fn a_render_with_nothing_to_draw_fails_and_says_how_to_fill_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Berlin, while the default cache is empty: the sample does not hold it.
    let out = run(
        dir.path(),
        &["--bbox", "13.37,52.50,13.42,52.53", "--out", "berlin.png"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let home_cache = dir.path().join("home/.cache/mlytiles");
    assert_eq!(
        errors[0],
        format!(
            "error: nothing to draw: the bundled sample area near Grand Junction, CO \
             (mly1_public) holds no tile of 13.37,52.5,13.42,52.53 (z14); the sample covers \
             only a small area near Grand Junction, CO; fetch your area with `mlytiles fetch \
             --tileset mly1_public --bbox W,S,E,N` (it goes into {})",
            home_cache.display()
        )
    );
    assert!(
        !dir.path().join("berlin.png").exists(),
        "nothing is written"
    );
    for beside in ["berlin.pgw", "berlin.prj", "berlin.png.aux.xml"] {
        assert!(!dir.path().join(beside).exists(), "nothing is written");
    }

    // A store that holds other zooms of the area: the message names them.
    let store = format!("{}/mly1_public.mbtiles", repo_cache());
    let out = run(
        dir.path(),
        &[
            "--store",
            &store,
            "--bbox",
            "-108.57,39.04,-108.52,39.08",
            "--zoom",
            "14",
            "--out",
            "x.png",
        ],
    );
    assert!(out.status.success(), "the sample holds z14 there");
    let cut = dir.path().join("z13-less.mbtiles");
    std::fs::copy(&store, &cut).expect("copy");
    assert!(delete_zoom(&cut, 13) > 0);
    let out = run(
        dir.path(),
        &[
            "--store",
            &cut.display().to_string(),
            "--bbox",
            "-108.57,39.04,-108.52,39.08",
            "--zoom",
            "13",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "error: nothing to draw: {} holds no z13 tile of -108.57,39.04,-108.52,39.08 (it \
             holds",
            cut.display()
        )) && errors[0].contains(" at z14"),
        "{}",
        errors[0]
    );

    // One tile that is not there.
    let out = run(dir.path(), &["--store", &store, "--tile", "12/1/1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_lines(&out),
        [format!(
            "error: nothing to draw: {store} does not hold tile 12/1/1; render a store that \
             holds the area (`mlytiles cache info` lists what a cache holds)"
        )]
    );
}

/// Deletes an MBTiles store's tiles of zoom `z` with SQL (the store's API never deletes);
/// returns how many rows went.
fn delete_zoom(db: &Path, z: u8) -> usize {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.execute("DELETE FROM tiles WHERE zoom_level = ?1", [z])
        .expect("delete")
}

#[test]
fn options_without_effect_in_the_mode_chosen_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("{}/mly1_public.mbtiles", repo_cache());
    let cases: &[(&[&str], &str)] = &[
        (&["--zooms", "0-3", "--bbox", "1,2,3,4"], "--pyramid"),
        (&["--tile", "14/3251/6257", "--bbox", "1,2,3,4"], "--bbox"),
        (
            &["--store", &store, "--tileset", "mly1_computed_public"],
            "--tileset",
        ),
        (&["--store", &store, "--markers"], "--markers"),
        (&["--pyramid", "--zooms", "1-2", "--zoom", "3"], "--zoom"),
        (&["--force"], "--pyramid"),
        (&["--pyramid", "--zooms", "1-2", "--legend"], "--legend"),
    ];
    for (args, named) in cases {
        let out = run(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(named), "{args:?}: {}", stderr(&out));
    }
    assert!(
        !dir.path().join("coverage.png").exists(),
        "no usage error draws anything"
    );
}

/// A pyramid of z12-13 of the sample into `out` with `extra` arguments.
fn pyramid_args(out: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--cache",
        &repo_cache(),
        "--pyramid",
        "--bbox",
        "-108.58,39.03,-108.51,39.09",
        "--zooms",
        "12-13",
        "--size",
        "256",
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_owned(dir: &Path, args: &[String]) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(dir, &refs)
}

fn read_all(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files(root)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(root.join(&p)).expect("read");
            (p, bytes)
        })
        .collect()
}

#[test]
fn a_pyramid_rerun_with_other_settings_is_refused_until_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("xyz");
    ok(&run_owned(dir.path(), &pyramid_args("xyz", &[])));
    let before = read_all(&root);

    let other = pyramid_args("xyz", &["--style", "age", "--since", "2025-01-01"]);
    let out = run_owned(dir.path(), &other);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_lines(&out),
        [
            "error: xyz holds a pyramid made with other settings (style mapillary -> age; \
             filters (none) -> --since 2025-01-01): render into another folder, or give \
             --force to render every tile again"
        ]
    );
    assert_eq!(read_all(&root), before, "the refused run changed nothing");

    let forced = [other.clone(), vec!["--force".into()]].concat();
    let stdout = ok(&run_owned(dir.path(), &forced));
    assert!(stdout.contains("0 already there"), "{stdout}");
    let after = read_all(&root);
    assert_eq!(after.len(), before.len());
    assert_ne!(after, before, "every tile drawn again in the new style");
    // The folder now records the new settings: the same run again keeps every tile.
    let stdout = ok(&run_owned(dir.path(), &other));
    assert!(
        stdout.contains(&format!("(0 rendered, {} already there)", before.len())),
        "{stdout}"
    );
    // A folder of tiles with no record is not taken over either.
    std::fs::remove_file(root.join("mlytiles-pyramid.json")).expect("rm");
    let out = run_owned(dir.path(), &other);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        error_lines(&out)[0].contains("holds PNG tiles but no mlytiles-pyramid.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cut_or_empty_png_in_a_pyramid_is_drawn_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("xyz");
    ok(&run_owned(dir.path(), &pyramid_args("xyz", &[])));
    let before = read_all(&root);
    let (cut, whole) = (&before[0], &before[1]);
    std::fs::write(root.join(&cut.0), &cut.1[..cut.1.len() / 2]).expect("cut");
    std::fs::write(root.join(&whole.0), b"").expect("empty");
    let stdout = ok(&run_owned(dir.path(), &pyramid_args("xyz", &[])));
    assert!(
        stdout.contains(&format!(
            "(2 rendered, 2 of them incomplete files drawn again, {} already there)",
            before.len() - 2
        )),
        "{stdout}"
    );
    assert_eq!(read_all(&root), before, "both files are whole again");
    let leftovers: Vec<_> = files(&root)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// One stored tile that is not a tile draws as missing and is named in the summary; the
/// render goes on. `--strict` stops at it, naming the tile and the store.
#[test]
fn an_unreadable_stored_tile_is_drawn_missing_and_named_unless_strict() {
    use mlytiles_store::{MbTiles, TileRecord, TileStore};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("damaged.mbtiles");
    std::fs::copy(format!("{}/mly1_public.mbtiles", repo_cache()), &store).expect("copy");
    let bad = mlytiles_tile::TileId::new(14, 3251, 6257).unwrap();
    MbTiles::open(&store)
        .expect("open")
        .put(
            bad,
            &TileRecord::data(vec![0x1a, 0x7f, 1, 2], mlytiles_store::chrono::Utc::now()),
        )
        .expect("put");
    let store = store.display().to_string();
    let args = [
        "--store",
        &store,
        "--bbox",
        "-108.58,39.03,-108.51,39.09",
        "--zoom",
        "14",
    ];
    let stdout = ok(&run(dir.path(), &args));
    assert!(
        stdout.contains("stored tiles that cannot be read, drawn as missing: 14/3251/6257 "),
        "{stdout}"
    );
    assert!(dir.path().join("coverage.png").is_file());

    let strict = run(
        dir.path(),
        &[&args[..], &["--strict", "--out", "s.png"]].concat(),
    );
    assert_eq!(strict.status.code(), Some(1));
    let errors = error_lines(&strict);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "error: tile 14/3251/6257 in {store} cannot be read: "
        )),
        "{}",
        errors[0]
    );
    assert!(
        !dir.path().join("s.png").exists(),
        "a failed render leaves no file"
    );
}
