//! Inputs found by the fuzz targets (`fuzz/`), each pinned by a test named after the bug.

use mlytiles_mvt::{GeomType, GeometrySink, LayerBuilder, Tile, TileBuilder, validate_commands};

/// spec 4.3.3: `(id & 0x7) | (count << 3)`.
fn command(id: u32, count: u32) -> u32 {
    (id & 7) | (count << 3)
}

/// A one-layer tile holding one feature written from raw command integers, if the writer
/// takes them.
fn tile_with_commands(geom_type: GeomType, commands: &[u32]) -> Option<Vec<u8>> {
    let mut layer = LayerBuilder::new("l");
    layer
        .add_feature_commands(Some(1), geom_type, commands, [])
        .ok()?;
    let mut tile = TileBuilder::new();
    tile.add_layer(layer).expect("one layer");
    Some(tile.to_bytes())
}

/// Found while writing `roundtrip`'s checks for raw command streams (the target steps around
/// it so that fuzzing can go on): `validate_commands` allows an empty stream for UNKNOWN, and
/// the writer then leaves the `geometry` field out (an empty packed field, as prost writes
/// it), so the reader refuses the feature it wrote with `MissingGeometry` (spec 4.2: a feature
/// MUST contain a geometry field). Either the writer refuses the feature or writes one the
/// reader takes back.
#[test]
fn unknown_feature_without_commands_is_written_without_a_geometry_field() {
    let Some(bytes) = tile_with_commands(GeomType::Unknown, &[]) else {
        return; // refused by the writer: fixed that way
    };
    let tile = Tile::new(&bytes).unwrap();
    let layer = tile.layers().next().unwrap().unwrap();
    let feature = layer.features().next().unwrap();
    assert!(
        feature.is_ok(),
        "the reader refuses what the writer wrote: {}",
        feature.unwrap_err()
    );
}

/// Found while writing `roundtrip`'s checks for raw command streams: for UNKNOWN geometry,
/// `validate_commands` (and so the writer) takes a stream that starts with LineTo or
/// ClosePath, and `geometry()` reads it, but `decode_geometry` refuses it ("LineTo is not
/// allowed at the start of a Unknown"), although its docs say UNKNOWN geometries get "only the
/// checks of `Commands`". The writer and `geometry()` should agree with `decode_geometry`, or
/// its docs with its code.
#[test]
fn unknown_geometry_starting_with_line_to_is_refused_by_decode_geometry_only() {
    for commands in [
        vec![command(2, 1), 2, 2],
        vec![command(7, 1)],
        vec![command(7, 1), command(1, 1), 2, 2],
    ] {
        assert_eq!(validate_commands(GeomType::Unknown, &commands), Ok(()));
        let bytes = tile_with_commands(GeomType::Unknown, &commands).expect("the writer takes it");
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layers().next().unwrap().unwrap();
        let feature = layer.features().next().unwrap().unwrap();
        assert!(
            feature.geometry().all(|c| c.is_ok()),
            "{commands:?}: geometry() refuses it"
        );
        let result = feature.decode_geometry(&mut Ignore);
        assert!(result.is_ok(), "{commands:?}: {}", result.unwrap_err());
    }
}

/// A sink that drops what it is given.
struct Ignore;

impl GeometrySink for Ignore {
    fn move_to(&mut self, _: i32, _: i32) {}
    fn line_to(&mut self, _: i32, _: i32) {}
    fn close_path(&mut self) {}
}
