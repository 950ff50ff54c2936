//! Issue 13, item 7: a stored tile that cannot be read (garbage bytes, a gzip bomb) is drawn
//! as missing, counted and named, and the render goes on; `strict` makes it an error naming
//! the tile and the store.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use mlytiles_render::{
    EdgePoints, Error, MosaicOptions, RenderOptions, Sources, UnreadableTiles, render_mosaic,
    render_tile, render_tile_with,
};
use mlytiles_store::{
    MbTiles, StatusCounts, StoredTile, TileInfo, TileRecord, TileStatus, TileStore,
};
use mlytiles_tile::{BBox, TileId};

/// Bytes that are not a vector tile: a layer field whose length runs past the end.
const GARBAGE: &[u8] = &[0x1a, 0x7f, 0x0a, 0x03, b'a', b'b'];

/// A gzip bomb: 72 gzip members of 1 MiB of zeros each (about 70 KB), 72 MiB once inflated,
/// past the reader's 64 MiB cap.
fn gzip_bomb() -> Vec<u8> {
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = member.finish().unwrap();
    member.repeat(72)
}

/// A copy of the sample's coverage store with two z14 data tiles, both with stored data
/// tiles beside them, replaced: one by garbage, one by a gzip bomb.
struct Damaged {
    _dir: tempfile::TempDir,
    path: PathBuf,
    garbage: TileId,
    bomb: TileId,
    good: Vec<TileId>,
}

fn damaged_store() -> Damaged {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mly1_public.mbtiles");
    std::fs::copy(
        common::repo().join("fixtures/cache/mly1_public.mbtiles"),
        &path,
    )
    .unwrap();
    let store = MbTiles::open(&path).unwrap();
    let data: Vec<TileId> = store
        .list(14, None)
        .unwrap()
        .into_iter()
        .filter(|(_, s)| *s == TileStatus::Data)
        .map(|(t, _)| t)
        .collect();
    let has_data_beside = |t: &TileId| {
        data.iter()
            .filter(|o| *o != t && o.x().abs_diff(t.x()) <= 1 && o.y().abs_diff(t.y()) <= 1)
            .count()
            >= 2
    };
    let picked: Vec<TileId> = data
        .iter()
        .copied()
        .filter(has_data_beside)
        .take(2)
        .collect();
    assert_eq!(
        picked.len(),
        2,
        "the sample has z14 data tiles side by side"
    );
    let (garbage, bomb) = (picked[0], picked[1]);
    store
        .put(garbage, &TileRecord::data(GARBAGE.to_vec(), Utc::now()))
        .unwrap();
    store
        .put(bomb, &TileRecord::data(gzip_bomb(), Utc::now()))
        .unwrap();
    let good = data
        .into_iter()
        .filter(|t| *t != garbage && *t != bomb)
        .collect();
    Damaged {
        _dir: dir,
        path,
        garbage,
        bomb,
        good,
    }
}

fn named(list: &UnreadableTiles) -> Vec<TileId> {
    let mut v: Vec<TileId> = list.iter().collect();
    v.sort();
    v
}

/// The box around the store's z14 data tiles.
fn area(tiles: &[TileId]) -> BBox {
    let boxes: Vec<BBox> = tiles.iter().map(|t| t.bounds()).collect();
    let w = boxes.iter().map(|b| b.west()).fold(f64::MAX, f64::min);
    let s = boxes.iter().map(|b| b.south()).fold(f64::MAX, f64::min);
    let e = boxes.iter().map(|b| b.east()).fold(f64::MIN, f64::max);
    let n = boxes.iter().map(|b| b.north()).fold(f64::MIN, f64::max);
    // Shrunk a little so the edges fall inside the outer tiles.
    BBox::new(w + 1e-6, s + 1e-6, e - 1e-6, n - 1e-6).unwrap()
}

#[test]
fn a_mosaic_draws_unreadable_tiles_as_missing_and_names_them() {
    let d = damaged_store();
    let sources = Sources::from_store_path(&d.path).unwrap();
    let mut all = d.good.clone();
    all.extend([d.garbage, d.bomb]);
    let out = tempfile::tempdir().unwrap();
    let png = out.path().join("mosaic.png");
    let options = MosaicOptions {
        bbox: area(&all),
        zoom: 14,
        render: RenderOptions {
            size: 256,
            ..Default::default()
        },
        ..Default::default()
    };
    let report = render_mosaic(&sources, &options, &png).expect("the mosaic completes");
    assert!(png.is_file());
    let s = report.stats;
    assert_eq!(s.tiles_unreadable, 2, "{s:?}");
    let mut want = vec![d.garbage, d.bomb];
    want.sort();
    assert_eq!(named(&s.unreadable), want);
    assert_eq!(s.unreadable.to_string().matches("14/").count(), 2);
    assert_eq!(
        s.tiles_read,
        d.good.len() as u64,
        "every good tile was read"
    );
    assert!(s.features_drawn() > 0);

    // The same mosaic, strict: an error naming a bad tile and the store, and no image.
    let strict_png = out.path().join("strict.png");
    let strict = MosaicOptions {
        render: RenderOptions {
            strict: true,
            ..options.render.clone()
        },
        ..options.clone()
    };
    let err = render_mosaic(&sources, &strict, &strict_png).expect_err("strict");
    match &err {
        Error::Unreadable { tile, store, .. } => {
            assert!(want.contains(tile), "{err}");
            assert_eq!(store, &d.path);
        }
        other => panic!("expected Error::Unreadable, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains(&d.path.display().to_string()), "{text}");
    assert!(
        text.contains(&format!("tile {}", d.garbage)) || text.contains(&format!("tile {}", d.bomb)),
        "{text}"
    );
    assert!(!strict_png.exists());
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("strict"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn lone_tiles_around_an_unreadable_tile_render_and_strict_names_it() {
    let d = damaged_store();
    let sources = Sources::from_store_path(&d.path).unwrap();
    for bad in [d.garbage, d.bomb] {
        // The tile itself: transparent, counted, named.
        let r = render_tile_with(&sources, bad, &RenderOptions::default(), EdgePoints::Cut)
            .expect("an unreadable tile renders as missing");
        assert_eq!(r.stats.tiles_unreadable, 1);
        assert_eq!(r.stats.tiles_read, 0);
        assert_eq!(named(&r.stats.unreadable), vec![bad]);
        assert!(r.pixmap.pixels().iter().all(|p| p.alpha() == 0));
        // Its eight neighbours read it for the dots crossing their edges: they render, and
        // name it.
        for dx in -1i64..=1 {
            for dy in -1i64..=1 {
                if (dx, dy) == (0, 0) {
                    continue;
                }
                let n = TileId::new(
                    14,
                    (i64::from(bad.x()) + dx) as u32,
                    (i64::from(bad.y()) + dy) as u32,
                )
                .unwrap();
                let r = render_tile(&sources, n, &RenderOptions::default())
                    .unwrap_or_else(|e| panic!("neighbour {n} of {bad}: {e}"));
                assert!(r.stats.unreadable.iter().any(|t| t == bad), "{n}");
                let strict = RenderOptions {
                    strict: true,
                    ..Default::default()
                };
                assert!(matches!(
                    render_tile(&sources, n, &strict),
                    Err(Error::Unreadable { tile, .. }) if tile == bad || [d.garbage, d.bomb].contains(&tile)
                ));
            }
        }
        // Overzoomed children read it as their parent.
        let child = TileId::new(17, bad.x() * 8 + 3, bad.y() * 8 + 5).unwrap();
        let r = render_tile(&sources, child, &RenderOptions::default()).expect("child");
        assert_eq!(r.stats.tiles_unreadable, 1);
        assert!(r.stats.unreadable.iter().any(|t| t == bad));
    }
    // A good tile far from both: nothing unreadable.
    let far = d
        .good
        .iter()
        .find(|t| {
            [d.garbage, d.bomb]
                .iter()
                .all(|b| b.x().abs_diff(t.x()) > 1 || b.y().abs_diff(t.y()) > 1)
        })
        .copied();
    if let Some(far) = far {
        let r = render_tile(&sources, far, &RenderOptions::default()).unwrap();
        assert!(r.stats.unreadable.is_empty());
        assert_eq!(r.stats.tiles_unreadable, 0);
    }
}

/// A store that inflates tiles in `get`, as the server's decoded-tile cache does: a gzip
/// bomb fails there, as a store error, rather than in the renderer.
struct Inflating(MbTiles);

impl TileStore for Inflating {
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn get(&self, tile: TileId) -> mlytiles_store::Result<Option<StoredTile>> {
        let Some(mut t) = self.0.get(tile)? else {
            return Ok(None);
        };
        if t.info.status == TileStatus::Data {
            t.data = t.uncompressed()?.into_owned();
        }
        Ok(Some(t))
    }
    fn put(&self, tile: TileId, record: &TileRecord) -> mlytiles_store::Result<()> {
        self.0.put(tile, record)
    }
    fn info(&self, tile: TileId) -> mlytiles_store::Result<Option<TileInfo>> {
        self.0.info(tile)
    }
    fn list(&self, z: u8, bbox: Option<BBox>) -> mlytiles_store::Result<Vec<(TileId, TileStatus)>> {
        self.0.list(z, bbox)
    }
    fn count_by_status(&self) -> mlytiles_store::Result<StatusCounts> {
        self.0.count_by_status()
    }
    fn metadata(&self) -> mlytiles_store::Result<Vec<(String, String)>> {
        self.0.metadata()
    }
    fn set_metadata(&self, entries: &[(&str, &str)]) -> mlytiles_store::Result<()> {
        self.0.set_metadata(entries)
    }
}

#[test]
fn a_store_that_fails_on_a_bomb_gives_a_missing_tile_too() {
    let d = damaged_store();
    let sources = Sources {
        coverage: Arc::new(Inflating(MbTiles::open_read_only(&d.path).unwrap())),
        points: None,
        signs: None,
    };
    let r = render_tile(&sources, d.bomb, &RenderOptions::default()).expect("renders");
    assert_eq!(r.stats.tiles_unreadable, 1);
    assert!(r.stats.unreadable.iter().any(|t| t == d.bomb));
    let strict = RenderOptions {
        strict: true,
        ..Default::default()
    };
    let err = render_tile(&sources, d.bomb, &strict).expect_err("strict");
    assert!(
        matches!(&err, Error::Unreadable { tile, .. } if *tile == d.bomb || *tile == d.garbage),
        "{err}"
    );
}

#[test]
fn the_unreadable_list_is_bounded_and_distinct() {
    let mut list = UnreadableTiles::default();
    for i in 0..20u32 {
        list.push(TileId::new(14, i, 0).unwrap());
        list.push(TileId::new(14, i.min(3), 0).unwrap());
    }
    assert_eq!(list.len(), UnreadableTiles::CAPACITY);
    assert!(list.more() > 0);
    assert!(list.to_string().ends_with("more"), "{list}");
}
