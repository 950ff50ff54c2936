//! Walks every tile given on the command line completely, many times: a profiling target.
//!
//! `cargo run --release -p mlytiles-mvt --example walk -- 50 fixtures/mapillary/*.mvt`

use mlytiles_mvt::{GeometrySink, Tile};

struct Sum(i64);

impl GeometrySink for Sum {
    fn move_to(&mut self, x: i32, y: i32) {
        self.0 = self.0.wrapping_add(i64::from(x ^ y));
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.0 = self.0.wrapping_add(i64::from(x ^ y));
    }
    fn close_path(&mut self) {}
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().ok_or("usage: walk ROUNDS FILE...")?.parse()?;
    let tiles = args
        .map(|p| std::fs::read(&p).map_err(|e| format!("{p}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sum = Sum(0);
    let mut properties = 0usize;
    for _ in 0..rounds {
        for bytes in &tiles {
            for layer in Tile::new(bytes)?.layers() {
                for feature in layer?.features() {
                    let feature = feature?;
                    for property in feature.properties() {
                        let (k, v) = property?;
                        properties += k.len() + usize::from(v.as_str().is_some());
                    }
                    feature.decode_geometry(&mut sum)?;
                }
            }
        }
    }
    println!("{} {properties}", sum.0);
    Ok(())
}
