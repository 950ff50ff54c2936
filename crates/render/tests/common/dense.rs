//! A dense synthetic coverage tile (a million points if asked), for the overzoom tests and
//! the `time_overzoom` example.
#![allow(dead_code)]

use std::io::Write;

use mlytiles_mvt::{TileBuilder, Value, geo_types};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn coord(&mut self) -> i32 {
        // The extent and a buffer of 64 units around it.
        (self.next() % 4224) as i32 - 64
    }
}

/// A dense coverage tile: `points` images and `lines` sequences (short random walks, one
/// crossing the whole tile), with the properties the styles and filters read; gzipped.
pub fn dense_tile(points: usize, lines: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut b = TileBuilder::new();
    let day = 86_400_000i64;
    for i in 0..lines {
        let mut at = (rng.coord(), rng.coord());
        let mut line = vec![at];
        let steps = if i == 0 { 1 } else { 2 + rng.next() % 20 };
        for _ in 0..steps {
            if i == 0 {
                at = (4150, 4100);
            } else {
                at.0 += (rng.next() % 200) as i32 - 100;
                at.1 += (rng.next() % 200) as i32 - 100;
            }
            line.push(at);
        }
        line.dedup();
        if line.len() < 2 {
            continue;
        }
        let g: geo_types::Geometry<i32> = geo_types::LineString::from(line).into();
        let captured = 1_500_000_000_000 + (rng.next() % 3000) as i64 * day;
        b.layer("sequence")
            .add_feature(
                None,
                &g,
                [
                    ("captured_at", Value::Int(captured)),
                    ("is_pano", Value::Bool(rng.next().is_multiple_of(4))),
                    ("organization_id", Value::Int((rng.next() % 5) as i64)),
                ],
            )
            .unwrap();
    }
    for _ in 0..points {
        let g: geo_types::Geometry<i32> = geo_types::Point::new(rng.coord(), rng.coord()).into();
        let captured = 1_500_000_000_000 + (rng.next() % 3000) as i64 * day;
        b.layer("image")
            .add_feature(
                Some(rng.next() >> 12),
                &g,
                [
                    ("captured_at", Value::Int(captured)),
                    ("is_pano", Value::Bool(rng.next().is_multiple_of(4))),
                    ("organization_id", Value::Int((rng.next() % 5) as i64)),
                ],
            )
            .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&b.to_bytes()).unwrap();
    gz.finish().unwrap()
}
