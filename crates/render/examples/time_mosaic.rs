//! The bench's 64-tile mosaic (8 x 8 real josm z14 tiles, 4096 x 4096 px) with 1 and 2 threads,
//! N times each, printing wall times: `cargo run --release -p mlytiles-render --example
//! time_mosaic -- 5`.

use std::sync::Arc;

use mlytiles_render::{MosaicOptions, Sources, render_mosaic};
use mlytiles_store::{FolderStore, TileRecord, TileStore, chrono::Utc};
use mlytiles_tile::{BBox, TileId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(5), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let store = FolderStore::open(dir.path().join("store"))?;
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/mapillary/"
    );
    let real: Vec<Vec<u8>> = ["6257", "6258"]
        .iter()
        .map(|y| std::fs::read(format!("{root}josm_mly1_public_14_3251_{y}.mvt")))
        .chain([std::fs::read(format!(
            "{root}josm_mly1_public_14_3252_6258.mvt"
        ))])
        .collect::<Result<_, _>>()?;
    let (x0, y0) = (3248u32, 6254u32);
    for dy in 0..8 {
        for dx in 0..8 {
            let t = TileId::new(14, x0 + dx, y0 + dy)?;
            store.put(
                t,
                &TileRecord::data(real[((dx + dy) % 3) as usize].clone(), Utc::now()),
            )?;
        }
    }
    let sources = Sources {
        coverage: Arc::new(store),
        points: None,
        signs: None,
    };
    let nw = TileId::new(14, x0, y0)?.bounds();
    let se = TileId::new(14, x0 + 7, y0 + 7)?.bounds();
    let e = 1e-9;
    let bbox = BBox::new(nw.west() + e, se.south() + e, se.east() - e, nw.north() - e)?;
    let options = MosaicOptions {
        bbox,
        zoom: 14,
        ..MosaicOptions::default()
    };
    let out = dir.path().join("m.png");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let mut times = Vec::new();
        for _ in 0..n {
            let start = std::time::Instant::now();
            pool.install(|| render_mosaic(&sources, &options, &out))?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{threads} thread(s): median {:.0} ms, best {:.0} ms",
            times[n / 2],
            times[0]
        );
    }
    Ok(())
}
