//! Renders the densest real tile N times (decode + draw + encode at 512 px), for profiling:
//! `perf stat -e task-clock cargo run --release -p mlytiles-render --example time_densest -- 200`
//! gives the CPU time per render independent of other load on the machine. The render uses
//! rayon's global pool (all cores); `RAYON_NUM_THREADS=1` draws on one thread.

use mlytiles_render::{PngOptions, RenderOptions, encode_png, render_bytes};
use mlytiles_tile::TileId;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(100), |s| s.parse())?;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/mapillary/josm_mly1_public_14_3251_6257.mvt"
    );
    let bytes = std::fs::read(path)?;
    let tile = TileId::new(14, 3251, 6257)?;
    let options = RenderOptions::default();
    let start = std::time::Instant::now();
    let mut total = 0;
    for _ in 0..n {
        let r = render_bytes(&bytes, tile, &options)?;
        total += encode_png(&r.pixmap, &PngOptions::default())?.len();
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
    println!(
        "{n} renders, {ms:.2} ms each (wall), {} bytes of PNG each",
        total / n
    );
    Ok(())
}
