//! Real tiles with bytes changed, cut and repeated: the reader's fast paths (runs of fields in
//! the layer scan, strings checked a run at a time, points and tag pairs read from one 8-byte
//! load that may run on past their field) must never panic on them; every feature that still
//! reads must give the same geometry through the sink and the command iterator, and a tile that
//! reads without error must read as the crate's prost model reads it.

mod common;

use common::{fixtures, walk};
use mlytiles_mvt::{Command, GeometrySink, Tile};
use prost::Message;

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
    let mut compared = 0;
    for round in 0..1_000 {
        let tile = &tiles[round % 2];
        let bytes = mutate(tile, &mut next);
        let Ok(reader) = Tile::new(&bytes) else {
            continue;
        };
        // Every feature that reads, in any tile: the sink and the command iterator agree. The
        // sink checks more (what each geometry type allows), so where it decodes the iterator
        // does too, and where it stops, what it was given is where the iterator begins.
        for layer in reader.layers().flatten() {
            for feature in layer.features().flatten() {
                let mut sink = Record::default();
                let sunk = feature.decode_geometry(&mut sink);
                let commands: Result<Vec<Command>, _> = feature.geometry().collect();
                match (sunk, commands) {
                    (Ok(()), Ok(commands)) => assert_eq!(sink.0, commands, "round {round}"),
                    (Err(_), Ok(commands)) => {
                        assert!(commands.starts_with(&sink.0), "round {round}: not a prefix")
                    }
                    (Err(_), Err(_)) => {}
                    (Ok(()), Err(e)) => {
                        panic!("round {round}: the sink decodes, the iterator: {e}")
                    }
                }
            }
        }
        if !walk(&bytes).errors.is_empty() {
            continue;
        }
        clean += 1;
        // A tile that reads without error reads as the crate's prost model (field by field,
        // no fast path) reads it: layer names, keys, values, feature ids and tags; and each
        // layer is found by name as the first of that name.
        let Ok(model) = mlytiles_mvt::model::Tile::decode(&bytes[..]) else {
            continue;
        };
        compared += 1;
        let layers: Vec<_> = reader.layers().map(Result::unwrap).collect();
        assert_eq!(layers.len(), model.layers.len(), "round {round}");
        for (layer, m) in layers.iter().zip(&model.layers) {
            assert_eq!(layer.name(), m.name, "round {round}");
            assert_eq!(layer.keys().unwrap(), &m.keys[..], "round {round}: keys");
            let values: Vec<String> = layer
                .values()
                .unwrap()
                .iter()
                .map(|v| format!("{v:?}"))
                .collect();
            let want: Vec<String> = m
                .values
                .iter()
                .map(|v| format!("{:?}", v.to_value().expect("one field")))
                .collect();
            assert_eq!(values, want, "round {round}: values of {}", m.name);
            let features: Vec<_> = layer.features().map(Result::unwrap).collect();
            assert_eq!(
                features.len(),
                m.features.len(),
                "round {round}: {}",
                m.name
            );
            for (f, mf) in features.iter().zip(&m.features) {
                assert_eq!(f.id(), mf.id, "round {round}: id");
                let tags: Vec<u32> = f.tags().flat_map(|(k, v)| [k, v]).collect();
                assert_eq!(tags, mf.tags, "round {round}: tags");
            }
            let first = layers
                .iter()
                .find(|l| l.name() == layer.name())
                .expect("itself");
            let found = reader.layer(layer.name()).unwrap().expect("found by name");
            assert!(
                std::ptr::eq(found.bytes(), first.bytes()),
                "round {round}: {}",
                m.name
            );
        }
    }
    // Some changes leave the tile readable (a changed coordinate, a changed string).
    assert!(clean > 50, "only {clean} changed tiles read cleanly");
    assert!(
        compared > 50,
        "only {compared} clean tiles decoded by the model"
    );
    eprintln!("{clean} of 1000 changed tiles read cleanly, {compared} compared with the model");
}
