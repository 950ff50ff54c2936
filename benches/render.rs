//! Rendering speed.
//!
//! - `tile/densest`: the densest real Mapillary tile (`fixtures/mapillary/
//!   josm_mly1_public_14_3251_6257.mvt`, 31,261 images, 331 sequences) to a 512 px PNG:
//!   decode + draw + encode in a rayon pool of one thread (`render_bytes` then `encode_png`),
//!   and the parts (`draw` alone, `encode` alone), plus the pano and density styles; and
//!   decode + draw + encode in a pool of two threads (`threads2`: the layers drawn in parts
//!   on both); and what `render --tile` does in process (`store/threads2/render_tile_png`:
//!   the tile and its two stored neighbours read from a z/x/y folder, drawn on two threads,
//!   encoded straight from the coverage).
//! - `mosaic64/threads/{1,2}`: a mosaic of 64 z14 tiles (8 x 8, the three real josm tiles
//!   repeated, in a z/x/y folder store) at 512 px a tile (4096 x 4096 px) written to a PNG,
//!   in a rayon pool of 1 and of 2 threads.
//!
//! Run: `cargo bench --bench render` (add `-- tile` or `-- mosaic64` for one group).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mlytiles_render::{
    EdgePoints, MosaicOptions, PngOptions, RenderOptions, Sources, Style, encode_png, render_bytes,
    render_mosaic, render_tile_png,
};
use mlytiles_store::{FolderStore, TileRecord, TileStore, chrono::Utc};
use mlytiles_tile::{BBox, TileId};

fn mapillary_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/mapillary");
    assert!(
        dir.is_dir(),
        "{} is missing: it is part of the repository (see fixtures/README.md)",
        dir.display()
    );
    dir
}

fn densest() -> Vec<u8> {
    std::fs::read(mapillary_dir().join("josm_mly1_public_14_3251_6257.mvt")).expect("read tile")
}

/// A z/x/y folder store under `dir` holding `tiles`, as render sources.
fn folder_sources(
    dir: &std::path::Path,
    tiles: impl IntoIterator<Item = (TileId, Vec<u8>)>,
) -> Sources {
    let store = FolderStore::open(dir.join("store")).expect("store");
    for (t, bytes) in tiles {
        store
            .put(t, &TileRecord::data(bytes, Utc::now()))
            .expect("put");
    }
    Sources {
        coverage: Arc::new(store),
        points: None,
        signs: None,
    }
}

fn tile(c: &mut Criterion) {
    let bytes = densest();
    let id = TileId::new(14, 3251, 6257).expect("tile id");
    let options = RenderOptions::default();
    let png = PngOptions::default();
    let pool = |n: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("pool")
    };
    let (one, two) = (pool(1), pool(2));
    let mut g = c.benchmark_group("tile");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("densest/decode_draw_encode", |b| {
        b.iter(|| {
            one.install(|| {
                let r = render_bytes(black_box(&bytes), id, &options).expect("render");
                encode_png(&r.pixmap, &png).expect("encode")
            })
        })
    });
    g.bench_function("densest/threads2/decode_draw_encode", |b| {
        b.iter(|| {
            two.install(|| {
                let r = render_bytes(black_box(&bytes), id, &options).expect("render");
                encode_png(&r.pixmap, &png).expect("encode")
            })
        })
    });
    g.bench_function("densest/decode_draw", |b| {
        b.iter(|| one.install(|| render_bytes(black_box(&bytes), id, &options).expect("render")))
    });
    let rendered = render_bytes(&bytes, id, &options).expect("render");
    g.bench_function("densest/encode", |b| {
        b.iter(|| encode_png(black_box(&rendered.pixmap), &png).expect("encode"))
    });
    // What `render --tile` does: the tile and the two stored beside it read from a z/x/y
    // folder, drawn on two threads, and encoded with no RGBA image in between.
    let dir = tempfile::tempdir().expect("tempdir");
    let stored = [
        ("josm_mly1_public_14_3251_6257.mvt", (3251, 6257)),
        ("josm_mly1_public_14_3251_6258.mvt", (3251, 6258)),
        ("josm_mly1_public_14_3252_6258.mvt", (3252, 6258)),
    ]
    .map(|(name, (x, y))| {
        let bytes = std::fs::read(mapillary_dir().join(name)).expect("read tile");
        (TileId::new(14, x, y).expect("tile id"), bytes)
    });
    let sources = folder_sources(dir.path(), stored);
    // The tile and both neighbours read, and the tile's dots drawn: a store laid out wrong
    // would time a fast transparent render.
    let once = two
        .install(|| {
            render_tile_png(
                &sources,
                id,
                &options,
                EdgePoints::FromNeighbours,
                None,
                &png,
            )
        })
        .expect("render");
    assert!(!once.transparent);
    // The tile's own counts (the neighbours' reads are not counted), and the neighbours'
    // dots over the edges, which drawing the tile alone leaves out.
    assert_eq!((once.stats.tiles_read, once.stats.points), (1, 31_261));
    let alone = two
        .install(|| render_tile_png(&sources, id, &options, EdgePoints::Cut, None, &png))
        .expect("render");
    assert_ne!(once.png, alone.png, "the neighbours drew nothing");
    g.bench_function("densest/store/threads2/render_tile_png", |b| {
        b.iter(|| {
            two.install(|| {
                let edges = EdgePoints::FromNeighbours;
                render_tile_png(&sources, black_box(id), &options, edges, None, &png)
                    .expect("render")
            })
        })
    });
    for style in [Style::Pano, Style::Density] {
        let options = RenderOptions {
            style,
            ..RenderOptions::default()
        };
        g.bench_function(format!("densest/{style}/decode_draw_encode"), |b| {
            b.iter(|| {
                one.install(|| {
                    let r = render_bytes(black_box(&bytes), id, &options).expect("render");
                    encode_png(&r.pixmap, &png).expect("encode")
                })
            })
        });
    }
    g.finish();
}

fn mosaic(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let real: Vec<Vec<u8>> = [
        "josm_mly1_public_14_3251_6257.mvt",
        "josm_mly1_public_14_3251_6258.mvt",
        "josm_mly1_public_14_3252_6258.mvt",
    ]
    .iter()
    .map(|n| std::fs::read(mapillary_dir().join(n)).expect("read tile"))
    .collect();
    let (x0, y0) = (3248u32, 6254u32);
    let tiles = (0..8).flat_map(|dy| {
        let real = &real;
        (0..8).map(move |dx| {
            let t = TileId::new(14, x0 + dx, y0 + dy).expect("tile id");
            (t, real[((dx + dy) % 3) as usize].clone())
        })
    });
    let sources = folder_sources(dir.path(), tiles);
    // The box of the 8 x 8 tiles, shrunk by a hair so no neighbour is drawn.
    let nw = TileId::new(14, x0, y0).expect("tile").bounds();
    let se = TileId::new(14, x0 + 7, y0 + 7).expect("tile").bounds();
    let e = 1e-9;
    let bbox =
        BBox::new(nw.west() + e, se.south() + e, se.east() - e, nw.north() - e).expect("bbox");
    let options = MosaicOptions {
        bbox,
        zoom: 14,
        ..MosaicOptions::default()
    };
    let out = dir.path().join("mosaic.png");
    let mut g = c.benchmark_group("mosaic64");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        g.bench_function(format!("threads/{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    let r = render_mosaic(&sources, &options, &out).expect("mosaic");
                    assert_eq!((r.width, r.height, r.tiles), (4096, 4096, 64));
                    r
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, tile, mosaic);
criterion_main!(benches);
