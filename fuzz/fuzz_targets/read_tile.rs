//! The reader on arbitrary bytes: `Tile::new` (after `decompress` with a small cap when the
//! bytes are gzip) and a complete walk through every accessor. Nothing may panic, and the
//! accessors must agree with each other where their docs say they do.

#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use mlytiles_mvt::{
    Command, Commands, Feature, GeomType, GeometrySink, Layer, Tile, decompress, is_gzip,
};

/// Small enough that a gzip bomb costs the fuzzer little, large enough for any seed tile.
const MAX_DECOMPRESSED: usize = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let bytes = if is_gzip(data) {
        // spec-wise gzip is not a tile; the reader says so rather than guessing.
        assert!(Tile::new(data).is_err(), "Tile::new accepted gzip bytes");
        match decompress(data, MAX_DECOMPRESSED) {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    } else {
        Cow::Borrowed(data)
    };
    read(&bytes);
});

fn read(bytes: &[u8]) {
    let tile = match Tile::new(bytes) {
        Ok(tile) => tile,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = tile.layer_count();
    for layer in tile.layers() {
        match layer {
            Ok(layer) => {
                let _ = tile.layer(layer.name());
                read_layer(&layer);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

fn read_layer(layer: &Layer<'_>) {
    let _ = (layer.name(), layer.version(), layer.extent(), layer.index());
    let tables_ok = match (layer.keys(), layer.values()) {
        (Ok(keys), Ok(values)) => {
            assert_eq!(keys.len(), layer.key_count());
            assert_eq!(values.len(), layer.value_count());
            for key in keys {
                let _ = layer.key_index(key);
            }
            for value in values {
                let _ = (value.to_string(), value.value_type(), value.as_f64());
            }
            true
        }
        (Err(e), _) | (_, Err(e)) => {
            let _ = e.to_string();
            false
        }
    };
    let mut yielded = 0;
    let mut fatal = false;
    for feature in layer.features() {
        yielded += 1;
        match feature {
            Ok(feature) => read_feature(&feature, tables_ok),
            Err(e) => {
                fatal |= e.is_fatal();
                let _ = e.to_string();
            }
        }
    }
    assert!(yielded <= layer.feature_count());
    if !fatal {
        assert_eq!(
            yielded,
            layer.feature_count(),
            "features lost without a fatal error"
        );
    }
}

fn read_feature(feature: &Feature<'_, '_>, tables_ok: bool) {
    let _ = (feature.id(), feature.geom_type(), feature.index());

    // Properties: when every one resolves, there is one per tag pair.
    let pairs = feature.tags().count();
    let mut resolved = 0;
    let mut failed = false;
    for property in feature.properties() {
        match property {
            Ok((key, value)) => {
                resolved += 1;
                let _ = (key.len(), value.to_string());
            }
            Err(e) => {
                failed = true;
                let _ = e.to_string();
            }
        }
    }
    if !failed {
        assert!(tables_ok || pairs == 0);
        assert_eq!(resolved, pairs);
        assert_eq!(resolved, feature.property_count());
    }
    if let Some(key) = feature.layer().keys().ok().and_then(|k| k.first()) {
        let _ = feature.get(key);
    }

    // Raw integers and commands.
    let ints_ok = feature.geometry_ints().all(|i| i.is_ok());
    let mut commands_ok = true;
    for command in feature.geometry() {
        if let Err(e) = command {
            commands_ok = false;
            let _ = e.to_string();
        }
    }
    if commands_ok {
        assert!(
            ints_ok,
            "the commands read integers that geometry_ints refuses"
        );
    }

    // decode_geometry checks more than the command iterator, so whatever it accepts the
    // iterator yields too, command for command.
    let mut same = SameAsCommands {
        commands: feature.geometry(),
        mismatch: None,
    };
    match feature.decode_geometry(&mut same) {
        Ok(()) => {
            if let Some(what) = same.mismatch {
                panic!("decode_geometry and geometry() disagree: {what}");
            }
            if let Some(rest) = same.commands.next() {
                panic!("geometry() has more than decode_geometry: {rest:?}");
            }
            assert!(commands_ok);
        }
        Err(e) => {
            let _ = (
                e.to_string(),
                e.severity(),
                e.layer_index(),
                e.feature_index(),
            );
        }
    }

    // geo_types in two coordinate types: every i32 fits an f64, so they succeed together.
    let as_f64 = feature.to_geometry::<f64>();
    let as_i32 = feature.to_geometry::<i32>();
    assert_eq!(as_f64.is_ok(), as_i32.is_ok(), "{as_f64:?} / {as_i32:?}");
    if as_i32.is_ok() {
        assert!(feature.geom_type() != GeomType::Unknown);
        assert!(feature.decode_geometry(&mut Ignore).is_ok());
    }
}

/// Checks each command the sink is given against the next one from `geometry()`.
struct SameAsCommands<'l, 'a> {
    commands: Commands<'l, 'a>,
    mismatch: Option<String>,
}

impl SameAsCommands<'_, '_> {
    fn expect(&mut self, want: Command) {
        if self.mismatch.is_some() {
            return;
        }
        match self.commands.next() {
            Some(Ok(got)) if got == want => {}
            other => self.mismatch = Some(format!("sink got {want:?}, iterator {other:?}")),
        }
    }
}

impl GeometrySink for SameAsCommands<'_, '_> {
    fn move_to(&mut self, x: i32, y: i32) {
        self.expect(Command::MoveTo(x, y));
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.expect(Command::LineTo(x, y));
    }
    fn close_path(&mut self) {
        self.expect(Command::ClosePath);
    }
}

struct Ignore;

impl GeometrySink for Ignore {
    fn move_to(&mut self, _: i32, _: i32) {}
    fn line_to(&mut self, _: i32, _: i32) {}
    fn close_path(&mut self) {}
}
