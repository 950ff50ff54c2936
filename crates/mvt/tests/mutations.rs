//! Real tiles with bytes changed, cut and repeated: the reader's fast paths (runs of fields in
//! the layer scan, strings checked a run at a time, points and tag pairs read from one 8-byte
//! load that may run on past their field) must never panic on them, and a tile that still reads
//! without error must read the same through the iterators that take no shortcut.

mod common;

use common::{fixtures, walk};
use mlytiles_mvt::{Command, GeometrySink, Tile};

/// Commands seen through the sink, to compare with the `Commands` iterator.
#[derive(Default, PartialEq, Debug)]
struct Record(Vec<Command>);

impl GeometrySink for Record {
    fn move_to(&mut self, x: i32, y: i32) {
        self.0.push(Command::MoveTo(x, y));
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.0.push(Command::LineTo(x, y));
    }
    fn close_path(&mut self) {
        self.0.push(Command::ClosePath);
    }
}

fn mutate(bytes: &[u8], next: &mut impl FnMut(usize) -> usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + next(4) {
        let at = next(out.len());
        match next(5) {
            0 => out[at] ^= 1 << next(8),
            1 => out[at] = [0x00, 0x7f, 0x80, 0xff, 0x12, 0x22][next(6)],
            2 => out.truncate(at),
            3 => {
                let end = (at + next(64)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => {
                let end = (at + next(16)).min(out.len());
                out.drain(at..end);
            }
        }
        if out.is_empty() {
            break;
        }
    }
    out
}

#[test]
fn changed_real_tiles_never_panic_and_read_alike_by_both_paths() {
    let read = |path: &str| {
        let raw = std::fs::read(fixtures().join(path)).expect("the fixture");
        mlytiles_mvt::decompress(&raw, 1 << 26)
            .unwrap()
            .into_owned()
    };
    // A Mapillary tile, and a basemap one (many layers, long tables, multilingual strings).
    let tiles = [
        read("mapillary/surfaceai_mly1_public_14_8738_5555.mvt"),
        read("basemap/suburb.mvt.gz"),
    ];
    let mut seed = 0x5851_f42d_4c95_7f2du64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    let mut clean = 0;
    for round in 0..1_000 {
        let tile = &tiles[round % 2];
        let bytes = mutate(tile, &mut next);
        let w = walk(&bytes);
        if !w.errors.is_empty() {
            continue;
        }
        clean += 1;
        // Read without errors: the sink and the command iterator agree on every feature.
        for layer in Tile::new(&bytes).unwrap().layers() {
            for feature in layer.unwrap().features() {
                let feature = feature.unwrap();
                let mut sink = Record::default();
                feature.decode_geometry(&mut sink).unwrap();
                let commands: Vec<Command> = feature.geometry().map(Result::unwrap).collect();
                assert_eq!(sink.0, commands);
            }
        }
    }
    // Some changes leave the tile readable (a changed coordinate, a changed string).
    assert!(clean > 50, "only {clean} changed tiles read cleanly");
    eprintln!("{clean} of 1000 changed tiles read cleanly");
}
