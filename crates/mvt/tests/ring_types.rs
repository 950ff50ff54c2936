//! The reader reports each polygon ring's type (spec 4.3.4.4) to a sink that asks for it, right
//! after the ring's ClosePath, and to no other sink.

mod common;

use mlytiles_mvt::geo_types::Geometry;
use mlytiles_mvt::{GeometrySink, RingType, Tile, model};
use prost::Message;

/// What a sink is handed, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Move,
    Line,
    Close,
    End(RingType),
}

/// Records events and asks for ring types.
#[derive(Default)]
struct Rings(Vec<Event>);

impl GeometrySink for Rings {
    const WANTS_RING_TYPES: bool = true;
    fn move_to(&mut self, _: i32, _: i32) {
        self.0.push(Event::Move);
    }
    fn line_to(&mut self, _: i32, _: i32) {
        self.0.push(Event::Line);
    }
    fn close_path(&mut self) {
        self.0.push(Event::Close);
    }
    fn ring_end(&mut self, ring_type: RingType) {
        self.0.push(Event::End(ring_type));
    }
}

impl Rings {
    fn types(&self) -> Vec<RingType> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Event::End(t) => Some(*t),
                _ => None,
            })
            .collect()
    }
}

/// Records ring ends but leaves `WANTS_RING_TYPES` at its default.
#[derive(Default)]
struct NotAsking(usize);

impl GeometrySink for NotAsking {
    fn move_to(&mut self, _: i32, _: i32) {}
    fn line_to(&mut self, _: i32, _: i32) {}
    fn close_path(&mut self) {}
    fn ring_end(&mut self, _: RingType) {
        self.0 += 1;
    }
}

/// spec 4.3.2: zigzag.
fn zigzag(d: i32) -> u32 {
    ((d << 1) ^ (d >> 31)) as u32
}

/// The command integers of rings given without their closing vertex: MoveTo(1),
/// LineTo(n-1), ClosePath each, written as given (no winding fixed, zero areas kept).
fn rings(rings: &[&[(i32, i32)]]) -> Vec<u32> {
    let (mut cx, mut cy) = (0, 0);
    let mut ints = Vec::new();
    for ring in rings {
        for (i, &(x, y)) in ring.iter().enumerate() {
            match i {
                0 => ints.push(9),
                1 => ints.push(((ring.len() as u32 - 1) << 3) | 2),
                _ => {}
            }
            ints.extend([zigzag(x - cx), zigzag(y - cy)]);
            (cx, cy) = (x, y);
        }
        ints.push(15);
    }
    ints
}

/// A tile with one layer of `version` holding one feature of `geom_type` (wire value).
fn tile(version: u32, geom_type: i32, geometry: Vec<u32>) -> Vec<u8> {
    model::Tile {
        layers: vec![model::Layer {
            version,
            name: "l".into(),
            features: vec![model::Feature {
                r#type: Some(geom_type),
                geometry,
                ..Default::default()
            }],
            extent: Some(4096),
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

const POLYGON: i32 = 3;

/// What the tile's first feature hands a sink that asks for ring types.
fn events(bytes: &[u8]) -> Rings {
    let tile = Tile::new(bytes).unwrap();
    let layer = tile.layers().next().unwrap().unwrap();
    let feature = layer.features().next().unwrap().unwrap();
    let mut sink = Rings::default();
    feature.decode_geometry(&mut sink).unwrap();
    sink
}

/// The ring types of the tile's first feature, and the feature as `to_geometry` sees it.
fn read(bytes: &[u8]) -> (Rings, Geometry<i32>) {
    let tile = Tile::new(bytes).unwrap();
    let layer = tile.layers().next().unwrap().unwrap();
    let feature = layer.features().next().unwrap().unwrap();
    let sink = events(bytes);
    let mut not_asking = NotAsking::default();
    feature.decode_geometry(&mut not_asking).unwrap();
    assert_eq!(not_asking.0, 0, "a sink that does not ask gets no ring_end");
    (sink, feature.to_geometry::<i32>().unwrap())
}

// Clockwise on screen (y down): positive area, an exterior ring.
const SQUARE: &[(i32, i32)] = &[(0, 0), (10, 0), (10, 10), (0, 10)];
// Counter-clockwise: negative area, an interior ring.
const HOLE: &[(i32, i32)] = &[(2, 2), (2, 8), (8, 8), (8, 2)];
// Collinear: zero area.
const FLAT: &[(i32, i32)] = &[(3, 3), (4, 4), (5, 5)];

#[test]
fn polygon_with_a_hole_reports_outer_then_inner_after_each_close() {
    let (sink, geometry) = read(&tile(2, POLYGON, rings(&[SQUARE, HOLE])));
    use Event::*;
    assert_eq!(
        sink.0,
        [
            Move,
            Line,
            Line,
            Line,
            Close,
            End(RingType::Outer),
            Move,
            Line,
            Line,
            Line,
            Close,
            End(RingType::Inner)
        ]
    );
    let Geometry::Polygon(p) = geometry else {
        panic!("{geometry:?}")
    };
    assert_eq!(p.interiors().len(), 1);
}

#[test]
fn spec_multipolygon_reports_two_outers_and_a_hole() {
    // spec 4.3.5.7, the multipolygon example: two polygons, the second with a hole.
    let ints = vec![
        9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15, 9, 4, 13, 26,
        0, 8, 8, 0, 0, 7, 15,
    ];
    let (sink, geometry) = read(&tile(2, POLYGON, ints));
    assert_eq!(
        sink.types(),
        [RingType::Outer, RingType::Outer, RingType::Inner]
    );
    let Geometry::MultiPolygon(mp) = geometry else {
        panic!("{geometry:?}")
    };
    let holes: Vec<usize> = mp.0.iter().map(|p| p.interiors().len()).collect();
    assert_eq!(holes, [0, 1]);
}

#[test]
fn zero_area_rings_are_neither_outer_nor_inner() {
    // spec 4.3.4.4: exterior rings have positive area, interior rings negative; a ring of zero
    // area is neither, and to_geometry drops it.
    let (sink, geometry) = read(&tile(2, POLYGON, rings(&[SQUARE, FLAT, HOLE])));
    assert_eq!(
        sink.types(),
        [RingType::Outer, RingType::ZeroArea, RingType::Inner]
    );
    let Geometry::Polygon(p) = geometry else {
        panic!("{geometry:?}")
    };
    assert_eq!(p.interiors().len(), 1);

    // A zero-area first ring does not decide anything, in version 1 either.
    let reversed: Vec<(i32, i32)> = SQUARE.iter().rev().copied().collect();
    let (sink, _) = read(&tile(1, POLYGON, rings(&[FLAT, &reversed, SQUARE])));
    assert_eq!(
        sink.types(),
        [RingType::ZeroArea, RingType::Outer, RingType::Inner]
    );
}

#[test]
fn version_1_layers_take_the_first_rings_winding_as_exterior() {
    // Version 1 did not fix the winding: a counter-clockwise first ring is exterior, and a
    // clockwise ring after it a hole, as to_geometry reads them.
    let reversed_hole: Vec<(i32, i32)> = HOLE.iter().rev().copied().collect();
    let reversed: Vec<(i32, i32)> = SQUARE.iter().rev().copied().collect();
    let (sink, geometry) = read(&tile(1, POLYGON, rings(&[&reversed, &reversed_hole])));
    assert_eq!(sink.types(), [RingType::Outer, RingType::Inner]);
    let Geometry::Polygon(p) = geometry else {
        panic!("{geometry:?}")
    };
    assert_eq!(p.interiors().len(), 1);

    // In version 2 the same rings are a hole with no exterior before it.
    let sink = events(&tile(2, POLYGON, rings(&[&reversed, &reversed_hole])));
    assert_eq!(sink.types(), [RingType::Inner, RingType::Outer]);
}

#[test]
fn closed_version_1_lines_get_no_ring_types() {
    // Version 1 lets a LineString close its parts (mvt-fixtures 061); they are not rings.
    let sink = events(&tile(1, 2, rings(&[SQUARE])));
    assert!(sink.0.contains(&Event::Close));
    assert!(sink.types().is_empty());
}

#[test]
fn real_world_ring_types_agree_with_to_geometry() {
    // Every polygon of a Mapbox Streets tile: the reader's ring types count the polygons and
    // holes that to_geometry assembles.
    let path = common::fixtures().join("mvt-fixtures/real-world/sanfrancisco/15-5238-12666.mvt");
    let bytes = std::fs::read(&path).unwrap();
    let tile = Tile::new(&bytes).unwrap();
    let mut checked = 0;
    for layer in tile.layers() {
        let layer = layer.unwrap();
        for feature in layer.features() {
            let feature = feature.unwrap();
            if feature.geom_type() != mlytiles_mvt::GeomType::Polygon {
                continue;
            }
            let mut sink = Rings::default();
            if feature.decode_geometry(&mut sink).is_err() {
                continue;
            }
            let Ok(geometry) = feature.to_geometry::<i32>() else {
                continue;
            };
            let polygons = match geometry {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(mp) => mp.0,
                other => panic!("{other:?}"),
            };
            let types = sink.types();
            let count = |t| types.iter().filter(|&&x| x == t).count();
            assert_eq!(count(RingType::Outer), polygons.len());
            let holes: usize = polygons.iter().map(|p| p.interiors().len()).sum();
            assert_eq!(count(RingType::Inner), holes);
            checked += 1;
        }
    }
    assert!(
        checked > 100,
        "only {checked} polygons in {}",
        path.display()
    );
}
