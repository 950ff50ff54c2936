use std::path::Path;

use super::*;
use crate::{ArchiveFormat, ArchiveWriter, merge_archives};

fn tile(z: u8, x: u32, y: u32) -> TileId {
    TileId::new(z, x, y).unwrap()
}

fn world() -> BBox {
    BBox::new(-180.0, -85.0, 180.0, 85.0).unwrap()
}

fn meta(pairs: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect()
}

/// The tiles of zooms `z0..=z1` in tile id order, each with bytes naming it, except that
/// every tile with x even at the deepest zoom holds the same bytes (runs and duplicates).
fn pyramid(z0: u8, z1: u8) -> Vec<(TileId, Vec<u8>)> {
    let mut out = Vec::new();
    for z in z0..=z1 {
        for x in 0..1u32 << z {
            for y in 0..1u32 << z {
                let t = tile(z, x, y);
                let data = if z == z1 && x % 2 == 0 {
                    b"same".to_vec()
                } else {
                    t.to_string().into_bytes()
                };
                out.push((t, data));
            }
        }
    }
    out.sort_by_key(|(t, _)| pmtiles_tile_id(*t));
    out
}

fn write(path: &Path, tiles: &[(TileId, Vec<u8>)], metadata: &[(&str, &str)]) {
    let mut w = ArchiveWriter::create(path, ArchiveFormat::Png).unwrap();
    for (t, data) in tiles {
        w.add(*t, data).unwrap();
    }
    w.finish(&meta(metadata), world()).unwrap();
}

#[test]
fn tile_ids_match_the_pmtiles_crate_and_round_trip() {
    for z in 0..=6u8 {
        for x in 0..1u32 << z {
            for y in 0..1u32 << z {
                let ours = pmtiles_tile_id(tile(z, x, y));
                let theirs = pmtiles::TileId::from(pmtiles::TileCoord::new(z, x, y).unwrap());
                assert_eq!(ours, theirs.value(), "{z}/{x}/{y}");
                assert_eq!(tile_of_pmtiles_id(ours), Some(tile(z, x, y)));
            }
        }
    }
    let deep = tile(18, 140_000, 90_000);
    assert_eq!(tile_of_pmtiles_id(pmtiles_tile_id(deep)), Some(deep));
}

#[test]
fn an_archive_reads_back_every_tile_listing_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pmtiles");
    let tiles = pyramid(0, 4);
    write(
        &path,
        &tiles,
        &[("name", "test"), ("attribution", "© here")],
    );
    let archive = PmTiles::open(&path).unwrap();
    for (t, data) in &tiles {
        let got = archive.get(*t).unwrap().unwrap();
        assert_eq!(&got.data, data, "{t}");
        assert_eq!(got.info.status, TileStatus::Data);
    }
    assert_eq!(archive.get(tile(5, 0, 0)).unwrap(), None);
    assert_eq!(archive.count_by_status().unwrap().data, tiles.len() as u64);
    let listed = archive.list(3, None).unwrap();
    assert_eq!(listed.len(), 64);
    assert!(
        listed.windows(2).all(|w| w[0].0 < w[1].0),
        "sorted by TileId"
    );
    let west: BBox = "-180,0,-90,85".parse().unwrap();
    let cover: Vec<_> = mlytiles_tile::TileCover::new(west, 3).unwrap().collect();
    let mut in_west: Vec<_> = archive
        .list(3, Some(west))
        .unwrap()
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    in_west.sort();
    let mut cover_sorted = cover.clone();
    cover_sorted.sort();
    assert_eq!(in_west, cover_sorted);
    let md = archive.metadata().unwrap();
    let value = |k: &str| md.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(value("name"), Some("test"));
    assert_eq!(value("attribution"), Some("© here"));
    assert_eq!(value("format"), Some("png"));
    assert_eq!(value("maxzoom"), Some("4"));
    // The x-even tiles of z4 are one content, stored once; consecutive ones share runs.
    let h = archive.header();
    assert_eq!(h.addressed_tiles, tiles.len() as u64);
    assert_eq!(h.tile_contents, tiles.len() as u64 - 128 + 1);
    assert!(h.clustered);
}

#[test]
fn a_run_of_identical_tiles_is_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.pmtiles");
    let mut tiles: Vec<_> = (0..4u32)
        .flat_map(|x| (0..4u32).map(move |y| (tile(2, x, y), b"ocean".to_vec())))
        .collect();
    tiles.sort_by_key(|(t, _)| pmtiles_tile_id(*t));
    write(&path, &tiles, &[]);
    let archive = PmTiles::open(&path).unwrap();
    assert_eq!(archive.root.len(), 1, "{:?}", archive.root);
    assert_eq!(archive.root[0].run_length, 16);
    assert_eq!(archive.get(tile(2, 3, 3)).unwrap().unwrap().data, b"ocean");
}

#[test]
fn a_big_archive_uses_leaf_directories_and_reads_through_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pmtiles");
    // 4^8 distinct tiles: too many entries for the root alone.
    let tiles: Vec<_> = pyramid(8, 8)
        .into_iter()
        .map(|(t, _)| (t, t.to_string().into_bytes()))
        .collect();
    write(&path, &tiles, &[]);
    let archive = PmTiles::open(&path).unwrap();
    assert!(
        archive.root.iter().all(|e| e.run_length == 0),
        "root holds leaves only"
    );
    assert!(archive.header().leaves.1 > 0);
    for (t, data) in tiles.iter().step_by(97) {
        assert_eq!(&archive.get(*t).unwrap().unwrap().data, data);
    }
    assert_eq!(archive.list(8, None).unwrap().len(), tiles.len());
}

#[test]
fn writes_are_refused_and_tiles_out_of_order_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.pmtiles");
    let mut w = ArchiveWriter::create(&path, ArchiveFormat::Png).unwrap();
    w.add(tile(1, 1, 0), b"x").unwrap();
    let err = w.add(tile(1, 0, 0), b"y").unwrap_err().to_string();
    assert!(err.contains("out of tile id"), "{err}");
    assert!(
        w.add(tile(2, 0, 0), b"").is_err(),
        "empty tiles are refused"
    );
    drop(w);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "a dropped writer leaves nothing: {left:?}");

    write(&path, &[(tile(0, 0, 0), b"t".to_vec())], &[]);
    let archive = PmTiles::open(&path).unwrap();
    let now = chrono::Utc::now();
    let err = archive
        .put(tile(0, 0, 0), &TileRecord::data(vec![1], now))
        .unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err}");
    assert!(archive.set_metadata(&[("a", "b")]).is_err());
}

#[test]
fn merge_joins_parts_in_tile_order_and_refuses_overlap_and_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    let tiles = pyramid(0, 5);
    let thirds: Vec<_> = tiles.chunks(tiles.len().div_ceil(3)).collect();
    let mut parts = Vec::new();
    for (i, part) in thirds.iter().enumerate().rev() {
        let p = dir.path().join(format!("part-{i}.pmtiles"));
        let label = format!("{i}/3");
        write(&p, part, &[("name", "x"), (PART_KEY, &label)]);
        parts.push(p);
    }
    let whole = dir.path().join("whole.pmtiles");
    let summary = merge_archives(&parts, &whole).unwrap();
    assert_eq!(summary.tiles, tiles.len() as u64);
    let merged = PmTiles::open(&whole).unwrap();
    for (t, data) in &tiles {
        assert_eq!(&merged.get(*t).unwrap().unwrap().data, data);
    }
    assert_eq!(merged.metadata_value("name").unwrap().as_deref(), Some("x"));
    assert_eq!(merged.metadata_value(PART_KEY).unwrap(), None);
    // Identical tiles of different parts are stored once in the merged archive.
    let contents: std::collections::HashSet<_> = tiles.iter().map(|(_, d)| d).collect();
    assert_eq!(merged.header().tile_contents, contents.len() as u64);

    let overlap = dir.path().join("overlap.pmtiles");
    write(&overlap, thirds[1], &[("name", "x"), (PART_KEY, "9/9")]);
    let err = merge_archives(
        &[parts[1].clone(), overlap.clone()],
        &dir.path().join("o.pmtiles"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("overlap"), "{err}");

    let other = dir.path().join("other.pmtiles");
    write(&other, thirds[0], &[("name", "y"), (PART_KEY, "0/3")]);
    let err = merge_archives(&[parts[0].clone(), other], &dir.path().join("d.pmtiles"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("different settings"), "{err}");
    // An empty part (its shard all transparent) is merged as nothing, but its settings count.
    let empty = dir.path().join("empty.pmtiles");
    write(&empty, &[], &[("name", "x"), (PART_KEY, "3/3")]);
    let with_empty = dir.path().join("with-empty.pmtiles");
    let all = [parts.clone(), vec![empty]].concat();
    assert_eq!(
        merge_archives(&all, &with_empty).unwrap().tiles,
        tiles.len() as u64
    );
    let empty_other = dir.path().join("empty-other.pmtiles");
    write(&empty_other, &[], &[("name", "z")]);
    let err = merge_archives(
        &[parts[0].clone(), empty_other],
        &dir.path().join("e.pmtiles"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with("made with different settings (metadata name)"),
        "{err}"
    );
    assert!(!dir.path().join("o.pmtiles").exists() && !dir.path().join("d.pmtiles").exists());
}

// Damaged and hostile archives, crafted byte by byte with uncompressed directories.

fn varints(values: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    for &v in values {
        let mut v = v;
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    out
}

/// An archive: header, root directory, metadata, leaves, data, with internal compression
/// `compression` (1 none, 2 gzip) and the given sections.
fn craft(compression: u8, root: &[u8], metadata: &[u8], leaves: &[u8], data: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 127];
    h[..7].copy_from_slice(b"PMTiles");
    h[7] = 3;
    let mut at = 127u64;
    for (i, len) in [root.len(), metadata.len(), leaves.len(), data.len()]
        .iter()
        .enumerate()
    {
        let len = *len as u64;
        h[8 + 16 * i..16 + 16 * i].copy_from_slice(&at.to_le_bytes());
        h[16 + 16 * i..24 + 16 * i].copy_from_slice(&len.to_le_bytes());
        at += len;
    }
    h[97] = compression;
    h[98] = 1;
    h[99] = 2;
    [
        h,
        root.to_vec(),
        metadata.to_vec(),
        leaves.to_vec(),
        data.to_vec(),
    ]
    .concat()
}

fn open_bytes(bytes: &[u8]) -> (tempfile::TempDir, Result<PmTiles>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pmtiles");
    std::fs::write(&path, bytes).unwrap();
    let r = PmTiles::open(&path);
    (dir, r)
}

fn open_err(bytes: &[u8]) -> String {
    let (_dir, r) = open_bytes(bytes);
    r.unwrap_err().to_string()
}

#[test]
fn a_crafted_archive_reads_as_the_spec_says() {
    // One tile entry: id 0, run 1, length 3, offset 0 (+1).
    let root = varints(&[1, 0, 1, 3, 1]);
    let (_dir, r) = open_bytes(&craft(1, &root, b"{}", b"", b"abc"));
    let archive = r.unwrap();
    assert_eq!(archive.get(tile(0, 0, 0)).unwrap().unwrap().data, b"abc");
}

#[test]
fn damaged_headers_are_refused_with_what_is_wrong() {
    let root = varints(&[1, 0, 1, 3, 1]);
    let good = craft(1, &root, b"{}", b"", b"abc");
    assert!(open_err(&good[..100]).contains("not a PMTiles archive"));
    assert!(open_err(b"SQLite format 3\0").contains("not a PMTiles archive"));
    let mut v2 = good.clone();
    v2[7] = 2;
    assert!(open_err(&v2).contains("spec version 2"));
    let mut far = good.clone();
    far[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(open_err(&far).contains("beyond the end of the file"));
    let mut brotli = good.clone();
    brotli[97] = 3;
    assert!(open_err(&brotli).contains("only none and gzip"));
    let truncated = &good[..good.len() - 1];
    assert!(open_err(truncated).contains("beyond the end"));
}

#[test]
fn hostile_directories_give_errors_not_panics_or_huge_allocations() {
    // A count of a billion entries in a few bytes; two million entries in 8 MB of zeros.
    let huge = varints(&[1 << 30, 0, 1, 3, 1]);
    assert!(open_err(&craft(1, &huge, b"{}", b"", b"abc")).contains("more than the"));
    let fits = varints(&[1000, 0, 1, 3, 1]);
    assert!(open_err(&craft(1, &fits, b"{}", b"", b"abc")).contains("cannot fit"));
    let many = [varints(&[2 << 20]), vec![0u8; 8 << 20]].concat();
    assert!(open_err(&craft(1, &many, b"{}", b"", b"")).contains("more than the"));
    // A number of 11 bytes.
    let long = [&[1u8][..], &[0xff; 11]].concat();
    assert!(open_err(&craft(1, &long, b"{}", b"", b"abc")).contains("longer than 10 bytes"));
    // Directory truncated inside its numbers.
    assert!(open_err(&craft(1, &[1, 0, 1, 3, 0x81], b"{}", b"", b"abc")).contains("ends inside"));
    // A zero length, and an offset referring to no previous entry.
    assert!(open_err(&craft(1, &varints(&[1, 0, 1, 0, 1]), b"{}", b"", b"")).contains("length 0"));
    assert!(
        open_err(&craft(1, &varints(&[1, 0, 1, 3, 0]), b"{}", b"", b"abc")).contains("previous")
    );
    // Metadata that is not an object.
    assert!(
        open_err(&craft(1, &varints(&[1, 0, 1, 3, 1]), b"[1]", b"", b"abc"))
            .contains("not a JSON object")
    );

    // A gzip bomb as root: 64 MiB of zeros in some 64 KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![0u8; 64 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(open_err(&craft(2, &bomb, b"", b"", b"")).contains("inflates beyond"));

    // A tile pointing past the data section.
    let outside = varints(&[1, 0, 1, 50, 1]);
    let (_d, r) = open_bytes(&craft(1, &outside, b"{}", b"", b"abc"));
    let err = r.unwrap().get(tile(0, 0, 0)).unwrap_err().to_string();
    assert!(
        err.contains("outside its section") && err.contains("tile 0/0/0"),
        "{err}"
    );

    // A leaf directory that points at itself: bounded nesting, not endless recursion.
    let leaf = varints(&[1, 0, 0, 5, 1]);
    let root = varints(&[1, 0, 0, leaf.len() as u64, 1]);
    let (_d, r) = open_bytes(&craft(1, &root, b"{}", &leaf, b""));
    let archive = r.unwrap();
    let err = archive.get(tile(0, 0, 0)).unwrap_err().to_string();
    assert!(err.contains("nest more than"), "{err}");
    assert!(
        archive
            .list(3, None)
            .unwrap_err()
            .to_string()
            .contains("nest more than")
    );

    // One entry claiming 4 billion tiles at zoom 15: listing stops at MAX_LISTED.
    let z15 = pmtiles_tile_id(tile(15, 0, 0));
    let run = varints(&[1, z15, u64::from(u32::MAX), 3, 1]);
    let (_d, r) = open_bytes(&craft(1, &run, b"{}", b"", b"abc"));
    let err = r.unwrap().list(15, None).unwrap_err().to_string();
    assert!(err.contains("listing more than"), "{err}");
}

#[test]
fn every_byte_of_a_small_archive_damaged_still_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.pmtiles");
    write(&path, &pyramid(0, 2), &[("name", "small")]);
    let good = std::fs::read(&path).unwrap();
    // The header, the root directory and the metadata; the filler between is zeros.
    let root_end = 127 + u64::from_le_bytes(good[16..24].try_into().unwrap()) as usize;
    let meta_at = u64::from_le_bytes(good[24..32].try_into().unwrap()) as usize;
    let meta_end = meta_at + u64::from_le_bytes(good[32..40].try_into().unwrap()) as usize;
    let positions = (0..root_end).chain(meta_at..meta_end.min(good.len()));
    for at in positions {
        for value in [0x00, 0x7f, 0xff] {
            let mut bad = good.clone();
            bad[at] = value;
            std::fs::write(&path, &bad).unwrap();
            if let Ok(archive) = PmTiles::open(&path) {
                for z in 0..=3 {
                    let _ = archive.list(z, None);
                }
                let _ = archive.get(tile(2, 1, 1));
                let _ = archive.count_by_status();
            }
        }
    }
}
