//! Pyramids as PMTiles archives, end to end through the binary: a single run and a run in
//! shards (each its own process) merged by `mlytiles pmtiles merge` hold the same tiles, byte
//! for byte; parts that overlap or were made with other settings are refused; fully
//! transparent tiles are left out and counted; a vector archive is read as `--store`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mlytiles_store::{PmTiles, TileId, TileStore};

/// The bundled sample: a town in Colorado.
const BBOX: &str = "-108.58,39.03,-108.51,39.09";
/// The same town and the empty country around it: most tiles are transparent.
const WIDE: &str = "-108.75,38.95,-108.35,39.2";

fn mlytiles(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env_remove("XDG_CACHE_HOME")
        .env_remove("MLYTILES_CACHE")
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

fn repo_cache() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cache")
        .display()
        .to_string()
}

/// `render --pyramid` of `bbox` at z10-14 into `out`, with `extra` flags.
fn pyramid(dir: &Path, bbox: &str, out: &str, extra: &[&str]) -> Output {
    pyramid_at(dir, bbox, "10-14", out, extra)
}

/// `render --pyramid` of the sample over `bbox` at `zooms`, 256 px, into `out`.
fn pyramid_at(dir: &Path, bbox: &str, zooms: &str, out: &str, extra: &[&str]) -> Output {
    let cache = repo_cache();
    let args = [
        &[
            "render",
            "--cache",
            &cache,
            "--pyramid",
            "--bbox",
            bbox,
            "--zooms",
            zooms,
            "--size",
            "256",
            "--out",
            out,
        ][..],
        extra,
    ]
    .concat();
    mlytiles(dir, &args)
}

/// Every tile of an archive with its bytes, in tile order, read through the store.
fn tiles(path: &Path) -> Vec<(TileId, Vec<u8>)> {
    let archive = PmTiles::open(path).expect("open archive");
    let mut out = Vec::new();
    for z in 0..=16 {
        for (tile, _) in archive.list(z, None).expect("list") {
            let data = archive.get(tile).expect("get").expect("listed tile").data;
            out.push((tile, data));
        }
    }
    out
}

#[test]
fn shards_in_separate_processes_merge_into_the_single_run_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let single = ok(&pyramid(d, BBOX, "single.pmtiles", &[]));
    assert!(single.contains("into single.pmtiles"), "{single}");
    // Three shards, run at the same time as a job array would.
    let children: Vec<_> = (0..3)
        .map(|i| {
            let cache = repo_cache();
            let shard = format!("{i}/3");
            let out = format!("part-{i}.pmtiles");
            Command::new(env!("CARGO_BIN_EXE_mlytiles"))
                .args(["render", "--cache", &cache, "--pyramid", "--bbox", BBOX])
                .args([
                    "--zooms", "10-14", "--size", "256", "--out", &out, "--shard", &shard,
                ])
                .current_dir(d)
                .env("HOME", d.join("home"))
                .output()
                .expect("spawn shard")
        })
        .collect();
    for (i, child) in children.iter().enumerate() {
        let said = ok(child);
        assert!(said.contains(&format!("part {i}/3")), "{said}");
    }
    let parts: Vec<String> = (0..3).rev().map(|i| format!("part-{i}.pmtiles")).collect();
    let mut merge = vec!["pmtiles", "merge"];
    merge.extend(parts.iter().map(String::as_str));
    merge.extend(["-o", "merged.pmtiles"]);
    let said = ok(&mlytiles(d, &merge));
    assert!(said.starts_with("Merged 3 parts: "), "{said}");

    let want = tiles(&d.join("single.pmtiles"));
    let got = tiles(&d.join("merged.pmtiles"));
    assert!(want.len() >= 1 + 1 + 2 + 4 + 16, "{} tiles", want.len());
    assert_eq!(got.len(), want.len());
    for ((t1, b1), (t2, b2)) in want.iter().zip(&got) {
        assert_eq!(t1, t2);
        assert!(
            b1 == b2,
            "tile {t1} differs between the single run and the merge"
        );
    }
    // Each part holds a disjoint piece of the whole.
    let mut pieces: Vec<_> = parts.iter().flat_map(|p| tiles(&d.join(p))).collect();
    pieces.sort_by_key(|(t, _)| *t);
    let mut sorted = want.clone();
    sorted.sort_by_key(|(t, _)| *t);
    assert_eq!(pieces, sorted);
    // The metadata carries the run's settings, not a part's.
    let merged = PmTiles::open(d.join("merged.pmtiles")).expect("open");
    let single = PmTiles::open(d.join("single.pmtiles")).expect("open");
    assert_eq!(merged.metadata().unwrap(), single.metadata().unwrap());
    assert_eq!(merged.metadata_value("mlytiles:part").unwrap(), None);
    assert!(merged.header().clustered);

    // The same part twice overlaps; a part of another style differs in settings.
    let twice = mlytiles(
        d,
        &[
            "pmtiles",
            "merge",
            "part-0.pmtiles",
            "part-0.pmtiles",
            "-o",
            "x.pmtiles",
        ],
    );
    assert_eq!(twice.status.code(), Some(1));
    let err = String::from_utf8_lossy(&twice.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("part-0.pmtiles: cannot be merged with part-0.pmtiles: their tiles overlap"),
        "{err}"
    );
    ok(&pyramid(
        d,
        BBOX,
        "age-1.pmtiles",
        &["--style", "age", "--shard", "1/3"],
    ));
    let other = mlytiles(
        d,
        &[
            "pmtiles",
            "merge",
            "part-0.pmtiles",
            "age-1.pmtiles",
            "-o",
            "y.pmtiles",
        ],
    );
    assert_eq!(other.status.code(), Some(1));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains("made with different settings") && err.contains("mlytiles:settings"),
        "{err}"
    );
    assert!(!d.join("x.pmtiles").exists() && !d.join("y.pmtiles").exists());
}

#[test]
fn transparent_tiles_are_left_out_and_counted_and_the_rest_match_a_folder_pyramid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let said = ok(&pyramid(d, WIDE, "wide.pmtiles", &[]));
    // "N tiles rendered, W written and T fully transparent left out"
    let numbers: Vec<u64> = said
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let (rendered, written, clear) = (numbers[2], numbers[3], numbers[4]);
    assert!(
        said.contains(&format!("{clear} fully transparent left out")),
        "{said}"
    );
    assert!(clear > 0 && written > 0, "{said}");
    assert_eq!(rendered, written + clear, "{said}");
    let held = tiles(&d.join("wide.pmtiles"));
    assert_eq!(held.len() as u64, written);
    // What the archive holds is what a folder pyramid holds, less the transparent tiles.
    ok(&pyramid(d, WIDE, "folder", &[]));
    let mut pngs = 0;
    for (tile, data) in &held {
        let file: PathBuf = d.join(format!("folder/{}/{}/{}.png", tile.z(), tile.x(), tile.y()));
        assert_eq!(&std::fs::read(&file).expect("folder tile"), data, "{tile}");
        pngs += 1;
    }
    assert_eq!(pngs, held.len());
}

#[test]
fn a_vector_archive_renders_as_store_like_the_mbtiles_it_was_copied_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mbtiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache/mly1_public.mbtiles");
    let source = mlytiles_store::MbTiles::open_read_only(&mbtiles).expect("sample");
    let mut all = Vec::new();
    for z in 0..=14 {
        for (tile, _) in mlytiles_store::data_tiles(&source, Some(z), None)
            .expect("list")
            .iter()
            .map(|t| (*t, ()))
        {
            all.push(tile);
        }
    }
    all.sort_by_key(|t| mlytiles_store::pmtiles_tile_id(*t));
    let archive = d.join("sample.pmtiles");
    let mut w =
        mlytiles_store::ArchiveWriter::create(&archive, mlytiles_store::ArchiveFormat::MvtGzip)
            .expect("create");
    for tile in &all {
        let stored = source.get(*tile).expect("get").expect("tile");
        let raw = stored.uncompressed().expect("inflate");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &raw).expect("gzip");
        w.add(*tile, &gz.finish().expect("gzip")).expect("add");
    }
    let bounds = source
        .metadata_value("bounds")
        .unwrap()
        .expect("bounds")
        .parse()
        .expect("bbox");
    w.finish(&Default::default(), bounds).expect("finish");
    let tile = ["--tile", "14/3251/6257", "--size", "256"];
    let from = |store: &str, out: &str| {
        ok(&mlytiles(
            d,
            &[&["render", "--store", store, "--out", out][..], &tile].concat(),
        ));
        std::fs::read(d.join(out)).expect("png")
    };
    let a = from(archive.to_str().unwrap(), "a.png");
    let b = from(mbtiles.to_str().unwrap(), "b.png");
    assert!(
        a == b,
        "the archive renders otherwise than the MBTiles it holds"
    );
}

/// `is_pano` of each image and sequence feature of a (plain) tile.
fn panos(bytes: &[u8]) -> Vec<(String, bool)> {
    let tile = mlytiles_mvt::Tile::new(bytes).expect("tile");
    let mut out = Vec::new();
    for layer in tile.layers() {
        let layer = layer.expect("layer");
        if layer.name() != "image" && layer.name() != "sequence" {
            continue;
        }
        for f in layer.features() {
            let f = f.expect("feature");
            let pano = f
                .get("is_pano")
                .expect("tag")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            out.push((layer.name().to_string(), pano));
        }
    }
    out
}

#[test]
fn export_writes_a_filtered_vector_archive_with_vector_layers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cache = repo_cache();
    let said = ok(&mlytiles(
        d,
        &[
            "pmtiles",
            "export",
            "--cache",
            &cache,
            "--zooms",
            "12-14",
            "--pano",
            "only",
            "-o",
            "pano.pmtiles",
        ],
    ));
    assert!(said.starts_with("Exported z12-14: "), "{said}");
    let archive = PmTiles::open(d.join("pano.pmtiles")).expect("open");
    assert_eq!(archive.header().tile_type, 1, "MVT");
    assert_eq!(archive.header().tile_compression, 2, "gzip");
    let source =
        mlytiles_store::MbTiles::open_read_only(Path::new(&cache).join("mly1_public.mbtiles"))
            .expect("sample");
    let mut written = 0;
    for z in 12..=14 {
        for tile in mlytiles_store::data_tiles(&source, Some(z), None).expect("list") {
            let raw = source
                .get(tile)
                .unwrap()
                .unwrap()
                .uncompressed()
                .unwrap()
                .into_owned();
            let want: Vec<_> = panos(&raw).into_iter().filter(|(_, p)| *p).collect();
            match archive.get(tile).expect("get") {
                Some(t) => {
                    let got = panos(&t.uncompressed().expect("gzip"));
                    assert_eq!(got, want, "tile {tile}: the panoramas, and only them");
                    written += 1;
                }
                None => assert!(want.is_empty(), "tile {tile} with panoramas left out"),
            }
        }
    }
    assert!(written > 0);
    assert!(
        said.contains(&format!(", {written} written and ")),
        "{said}"
    );
    let layers: serde_json::Value = serde_json::from_str(
        &archive
            .metadata_value("vector_layers")
            .unwrap()
            .expect("vector_layers"),
    )
    .expect("json");
    let ids: Vec<&str> = layers
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"image") && ids.contains(&"sequence"),
        "{ids:?}"
    );
    assert_eq!(layers[0]["fields"]["is_pano"], "Boolean");
    assert!(
        archive
            .metadata_value("description")
            .unwrap()
            .unwrap()
            .contains("--pano only")
    );
    // `filter` reads the archive as a store: its z14 images are the sample's panoramas.
    let features = |args: &[&str]| -> Vec<String> {
        let mut lines: Vec<String> = ok(&mlytiles(d, args)).lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let from_archive = features(&[
        "filter",
        "pano.pmtiles",
        "--layer",
        "image",
        "--format",
        "ndjson",
    ]);
    let from_sample = features(&[
        "filter",
        &format!("{cache}/mly1_public.mbtiles"),
        "--layer",
        "image",
        "--pano",
        "only",
        "--zoom",
        "14",
        "--format",
        "ndjson",
    ]);
    assert!(!from_archive.is_empty());
    assert_eq!(from_archive, from_sample);
}

/// `--only-data` lists the tiles the store can fill, not every tile of the box: the whole
/// world's box at z0-16 costs what the town costs, and each tile is the one the run over the
/// town's box draws, byte for byte.
#[test]
fn only_data_follows_the_store_not_the_box() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    const WORLD: &str = "-180,-85,180,85";
    let world = ok(&pyramid_at(
        d,
        WORLD,
        "10-16",
        "world.pmtiles",
        &["--only-data"],
    ));
    // Without it the box's every tile is listed, far past the guard; the guard is --max-tiles.
    let refused = |extra: &[&str]| {
        let out = pyramid_at(d, WORLD, "10-16", "no.pmtiles", extra);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(refused(&[]).contains("more than the limit of 50000000"));
    assert!(refused(&["--only-data", "--max-tiles", "10"]).contains("more than the limit of 10"));
    ok(&pyramid_at(d, WIDE, "10-16", "town.pmtiles", &[]));
    let rendered: u64 = world
        .split(" tiles rendered")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a tile count in {world:?}"));
    // The town's pyramid at z10-16 is a few hundred tiles; the world's box at z16 alone is
    // four billion.
    assert!(rendered < 2_000, "{world}");
    let only = tiles(&d.join("world.pmtiles"));
    let town: std::collections::HashMap<TileId, Vec<u8>> =
        tiles(&d.join("town.pmtiles")).into_iter().collect();
    assert!(!only.is_empty());
    for (tile, data) in &only {
        assert_eq!(
            town.get(tile),
            Some(data),
            "{tile}: as the town's run drew it"
        );
    }
    // Left out: only tiles without data of their own, reached by a neighbour's dots.
    assert!(
        only.len() * 100 >= town.len() * 90,
        "{} of {} tiles",
        only.len(),
        town.len()
    );
}
