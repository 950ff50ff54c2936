//! Round trips between the writer and the reader: whatever the writer writes, the reader reads
//! back equal. Property-based over random layers, and exhaustive over every real tile (each one
//! copied feature by feature through the writer).

mod common;

use std::fs;

use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use mlytiles_mvt::{
    DEFAULT_MAX_DECOMPRESSED, GeometryEncoder, LayerBuilder, Tile, TileBuilder, Value, decompress,
    model, ring_area2,
};
use proptest::prelude::*;

use common::fixtures;

/// A value compared by bits, so NaN equals itself and 0.0 differs from -0.0.
fn value_key(v: &Value) -> (u8, u64, Option<String>) {
    match *v {
        Value::String(s) => (0, 0, Some(s.to_owned())),
        Value::Float(f) => (1, u64::from(f.to_bits()), None),
        Value::Double(d) => (2, d.to_bits(), None),
        Value::Int(i) => (3, i as u64, None),
        Value::UInt(u) => (4, u, None),
        Value::SInt(s) => (5, s as u64, None),
        Value::Bool(b) => (6, u64::from(b), None),
    }
}

/// Any value, owned as the crate's prost model holds it.
fn any_value() -> impl Strategy<Value = model::Value> {
    prop_oneof![
        "[a-z0-9 éß-]{0,12}".prop_map(|s| model::Value {
            string_value: Some(s),
            ..Default::default()
        }),
        any::<f32>().prop_map(|v| Value::Float(v).into()),
        any::<f64>().prop_map(|v| Value::Double(v).into()),
        any::<i64>().prop_map(|v| Value::Int(v).into()),
        any::<u64>().prop_map(|v| Value::UInt(v).into()),
        any::<i64>().prop_map(|v| Value::SInt(v).into()),
        any::<bool>().prop_map(|v| Value::Bool(v).into()),
    ]
}

/// The borrowed value of a generated one (each has exactly one field set).
fn borrowed(v: &model::Value) -> Value<'_> {
    v.to_value().expect("one field set")
}

/// Points reached by non-zero steps, so no two consecutive points are equal.
fn walk_from(start: (i32, i32), steps: Vec<(i32, i32)>) -> Vec<Coord<i32>> {
    let mut p = start;
    let mut out = vec![Coord { x: p.0, y: p.1 }];
    for (dx, dy) in steps {
        p = (p.0.wrapping_add(dx), p.1.wrapping_add(dy));
        out.push(Coord { x: p.0, y: p.1 });
    }
    out
}

fn step() -> impl Strategy<Value = (i32, i32)> {
    (-300i32..300, -300i32..300).prop_filter("moves", |s| *s != (0, 0))
}

fn line() -> impl Strategy<Value = LineString<i32>> {
    (
        (-100i32..4200, -100i32..4200),
        prop::collection::vec(step(), 1..8),
    )
        .prop_map(|(s, steps)| LineString(walk_from(s, steps)))
}

/// A rectangle with corners (x, y) and (x + w, y + h), in either winding.
fn rect(x: i32, y: i32, w: i32, h: i32, reversed: bool) -> LineString<i32> {
    let mut c = vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h)];
    if reversed {
        c.reverse();
    }
    c.push(c[0]);
    LineString(c.into_iter().map(|(x, y)| Coord { x, y }).collect())
}

/// A rectangle with up to two rectangular holes, rings in random winding.
fn polygon() -> impl Strategy<Value = Polygon<i32>> {
    (
        0i32..3000,
        0i32..3000,
        40i32..1000,
        40i32..1000,
        any::<[bool; 3]>(),
        0usize..3,
    )
        .prop_map(|(x, y, w, h, rev, holes)| {
            let holes = (0..holes)
                .map(|i| {
                    let i = i as i32;
                    rect(
                        x + 5 + i * (w / 2),
                        y + 5,
                        w / 2 - 10,
                        h - 10,
                        rev[1 + i as usize],
                    )
                })
                .collect();
            Polygon::new(rect(x, y, w, h, rev[0]), holes)
        })
}

fn geometry() -> impl Strategy<Value = Geometry<i32>> {
    let point = (-50i32..5000, -50i32..5000).prop_map(|(x, y)| Point::new(x, y));
    prop_oneof![
        point.clone().prop_map(Geometry::Point),
        prop::collection::vec(point, 2..6).prop_map(|p| Geometry::MultiPoint(MultiPoint(p))),
        line().prop_map(Geometry::LineString),
        prop::collection::vec(line(), 2..4)
            .prop_map(|l| Geometry::MultiLineString(MultiLineString(l))),
        polygon().prop_map(Geometry::Polygon),
        prop::collection::vec(polygon(), 2..4)
            .prop_map(|p| Geometry::MultiPolygon(MultiPolygon(p))),
    ]
}

#[derive(Debug, Clone)]
struct FeatureSpec {
    id: Option<u64>,
    geometry: Geometry<i32>,
    properties: Vec<(String, model::Value)>,
}

fn feature() -> impl Strategy<Value = FeatureSpec> {
    (
        any::<Option<u64>>(),
        geometry(),
        prop::collection::btree_map("[a-z_]{1,8}", any_value(), 0..6),
    )
        .prop_map(|(id, geometry, props)| FeatureSpec {
            id,
            geometry,
            properties: props.into_iter().collect(),
        })
}

/// The ring as the writer stores it: exterior rings with positive area, holes negative, a
/// reversed ring keeping its first vertex.
fn wound(ring: &LineString<i32>, exterior: bool) -> LineString<i32> {
    let open: Vec<(i32, i32)> = ring.0[..ring.0.len() - 1]
        .iter()
        .map(|c| (c.x, c.y))
        .collect();
    let positive = ring_area2(&open) > 0;
    let mut coords = ring.0.clone();
    if positive != exterior {
        coords[1..open.len()].reverse();
    }
    LineString(coords)
}

/// What the reader gives back for a written geometry.
fn expected(g: &Geometry<i32>) -> Geometry<i32> {
    let polygon = |p: &Polygon<i32>| {
        Polygon::new(
            wound(p.exterior(), true),
            p.interiors().iter().map(|r| wound(r, false)).collect(),
        )
    };
    match g {
        Geometry::Polygon(p) => Geometry::Polygon(polygon(p)),
        Geometry::MultiPolygon(mp) => {
            Geometry::MultiPolygon(MultiPolygon(mp.0.iter().map(polygon).collect()))
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn what_the_writer_writes_the_reader_reads_back(
        features in prop::collection::vec(feature(), 1..12),
        extent in prop_oneof![Just(4096u32), Just(512), Just(1 << 20)],
        name in "[a-z]{1,10}",
    ) {
        let mut layer = LayerBuilder::new(name.clone()).extent(extent);
        for f in &features {
            layer
                .add_feature(f.id, &f.geometry, f.properties.iter().map(|(k, v)| (k.as_str(), borrowed(v))))
                .unwrap();
        }
        let mut tile = TileBuilder::new();
        tile.add_layer(layer).unwrap();
        let bytes = tile.to_bytes();

        let read = Tile::new(&bytes).unwrap();
        let layer = read.layer(&name).unwrap().expect("the layer");
        prop_assert_eq!((layer.version(), layer.extent()), (2, extent));
        prop_assert_eq!(layer.feature_count(), features.len());
        for (got, want) in layer.features().zip(&features) {
            let got = got.unwrap();
            prop_assert_eq!(got.id(), want.id);
            let props: Vec<_> = got
                .properties()
                .map(|p| p.map(|(k, v)| (k.to_owned(), value_key(&v))))
                .collect::<Result<_, _>>()
                .unwrap();
            let want_props: Vec<_> = want
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), value_key(&borrowed(v))))
                .collect();
            prop_assert_eq!(props, want_props);
            prop_assert_eq!(got.to_geometry::<i32>().unwrap(), expected(&want.geometry));
        }
    }
}

/// Every real tile, copied feature by feature through the writer (geometry through the
/// streaming encoder, properties as read), reads back with the same features.
#[test]
fn real_tiles_survive_a_copy_through_the_writer() {
    let root = fixtures();
    let mut dirs = vec![root.join("mvt-fixtures/real-world"), root.join("mapillary")];
    let mut copied = 0;
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if !path.extension().is_some_and(|e| e == "mvt" || e == "gz") {
                continue;
            }
            let raw = fs::read(&path).unwrap();
            let bytes = decompress(&raw, DEFAULT_MAX_DECOMPRESSED).unwrap();
            let original = Tile::new(&bytes).unwrap();
            let mut builder = TileBuilder::new();
            let mut encoder = GeometryEncoder::new();
            for layer in original.layers() {
                let layer = layer.unwrap();
                let out = builder.layer(layer.name());
                out.set_extent(layer.extent()).set_version(layer.version());
                for f in layer.features() {
                    let f = f.unwrap();
                    encoder.clear();
                    f.decode_geometry(&mut encoder).unwrap();
                    let props: Vec<_> = f.properties().map(|p| p.unwrap()).collect();
                    out.add_feature_encoded(f.id(), f.geom_type(), &encoder, props)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                }
            }
            let copy = builder.to_bytes();
            let copy = Tile::new(&copy).unwrap();
            for (a, b) in original.layers().zip(copy.layers()) {
                let (a, b) = (a.unwrap(), b.unwrap());
                assert_eq!(
                    (a.name(), a.extent(), a.feature_count()),
                    (b.name(), b.extent(), b.feature_count())
                );
                for (fa, fb) in a.features().zip(b.features()) {
                    let (fa, fb) = (fa.unwrap(), fb.unwrap());
                    assert_eq!((fa.id(), fa.geom_type()), (fb.id(), fb.geom_type()));
                    let pa: Vec<_> = fa
                        .properties()
                        .map(|p| p.unwrap())
                        .map(|(k, v)| (k, value_key(&v)))
                        .collect();
                    let pb: Vec<_> = fb
                        .properties()
                        .map(|p| p.unwrap())
                        .map(|(k, v)| (k, value_key(&v)))
                        .collect();
                    assert_eq!(pa, pb);
                    let ga: Vec<_> = fa.geometry().map(|c| c.unwrap()).collect();
                    let gb: Vec<_> = fb.geometry().map(|c| c.unwrap()).collect();
                    assert_eq!(ga, gb, "{}: feature {}", path.display(), fa.index());
                }
            }
            copied += 1;
        }
    }
    assert!(copied >= 210, "copied {copied} tiles");
}
