//! Tests of the writer as a whole, and the helpers the tests of its parts share.

pub(super) use super::*;
pub(super) use crate::command::{CLOSE_PATH, MOVE_TO, unpack};
pub(super) use crate::geom_type::GeometrySink;
pub(super) use crate::model;
pub(super) use crate::pbf::zigzag32;
pub(super) use crate::value::Value;
pub(super) use geo_types::{
    Coord, Geometry, Line, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
    Rect, Triangle, coord, line_string, point, polygon,
};
pub(super) use prost::Message;

/// One part of a decoded geometry: its vertices and whether a ClosePath ended it.
pub(super) type Part = (Vec<(i32, i32)>, bool);

/// A tiny test-only decoder: each MoveTo point starts a part, LineTo extends it,
/// ClosePath marks it closed.
pub(super) fn decode(commands: &[u32]) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let (mut x, mut y) = (0i32, 0i32);
    let mut i = 0;
    while i < commands.len() {
        let (id, count) = unpack(commands[i]);
        i += 1;
        if id == CLOSE_PATH {
            parts.last_mut().unwrap().1 = true;
            continue;
        }
        for _ in 0..count {
            x = x.wrapping_add(zigzag32(commands[i]));
            y = y.wrapping_add(zigzag32(commands[i + 1]));
            i += 2;
            if id == MOVE_TO {
                parts.push((vec![(x, y)], false));
            } else {
                parts.last_mut().unwrap().0.push((x, y));
            }
        }
    }
    parts
}

pub(super) fn decode_tile(bytes: &[u8]) -> model::Tile {
    model::Tile::decode(bytes).expect("the writer's bytes decode with prost")
}

/// Writes one feature in a fresh tile and returns it as prost decodes it.
pub(super) fn write_one(geometry: impl Into<Geometry<i32>>) -> model::Feature {
    let mut tile = TileBuilder::new();
    tile.layer("l")
        .add_feature(None, &geometry.into(), [])
        .unwrap();
    let mut decoded = decode_tile(&tile.to_bytes());
    decoded.layers.remove(0).features.remove(0)
}

pub(super) fn geometry_of(geometry: impl Into<Geometry<i32>>) -> Vec<u32> {
    write_one(geometry).geometry
}

pub(super) fn encode_err(geometry: impl Into<Geometry<i32>>) -> WriteError {
    GeometryEncoder::new()
        .encode_geometry(&geometry.into())
        .unwrap_err()
}

pub(super) fn spec_multipolygon() -> MultiPolygon<i32> {
    MultiPolygon(vec![
        polygon![(x: 0, y: 0), (x: 10, y: 0), (x: 10, y: 10), (x: 0, y: 10), (x: 0, y: 0)],
        polygon!(
            exterior: [(x: 11, y: 11), (x: 20, y: 11), (x: 20, y: 20), (x: 11, y: 20), (x: 11, y: 11)],
            interiors: [[(x: 13, y: 13), (x: 13, y: 17), (x: 17, y: 17), (x: 17, y: 13), (x: 13, y: 13)]],
        ),
    ])
}

pub(super) const SPEC_MULTIPOLYGON: [u32; 33] = [
    9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15, 9, 4, 13, 26, 0,
    8, 8, 0, 0, 7, 15,
];

// spec 4.3.5: the worked examples.

#[test]
fn spec_point() {
    let f = write_one(point!(x: 25, y: 17));
    assert_eq!(f.geometry, [9, 50, 34]);
    assert_eq!(f.r#type(), model::GeomType::Point);
}

#[test]
fn spec_multipoint() {
    let f = write_one(MultiPoint::from(vec![(5, 7), (3, 2)]));
    assert_eq!(f.geometry, [17, 10, 14, 3, 9]);
    assert_eq!(f.r#type(), model::GeomType::Point);
}

#[test]
fn spec_linestring() {
    let f = write_one(line_string![(x: 2, y: 2), (x: 2, y: 10), (x: 10, y: 10)]);
    assert_eq!(f.geometry, [9, 4, 4, 18, 0, 16, 16, 0]);
    assert_eq!(f.r#type(), model::GeomType::Linestring);
}

#[test]
fn spec_multilinestring() {
    let mls = MultiLineString(vec![
        line_string![(x: 2, y: 2), (x: 2, y: 10), (x: 10, y: 10)],
        line_string![(x: 1, y: 1), (x: 3, y: 5)],
    ]);
    assert_eq!(
        geometry_of(mls),
        [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]
    );
}

#[test]
fn spec_polygon() {
    let f = write_one(polygon![(x: 3, y: 6), (x: 8, y: 12), (x: 20, y: 34), (x: 3, y: 6)]);
    assert_eq!(f.geometry, [9, 6, 12, 18, 10, 12, 24, 44, 15]);
    assert_eq!(f.r#type(), model::GeomType::Polygon);
}

#[test]
fn spec_multipolygon_example() {
    assert_eq!(geometry_of(spec_multipolygon()), SPEC_MULTIPOLYGON);
}

#[test]
fn spec_examples_through_the_sink() {
    let mut enc = GeometryEncoder::new();
    enc.move_to(5, 7);
    enc.move_to(3, 2);
    assert_eq!(enc.commands(), [17, 10, 14, 3, 9]);

    enc.clear();
    for (x, y) in [(2, 2), (2, 10), (10, 10)] {
        if (x, y) == (2, 2) {
            enc.move_to(x, y);
        } else {
            enc.line_to(x, y);
        }
    }
    enc.move_to(1, 1);
    enc.line_to(3, 5);
    assert_eq!(
        enc.commands(),
        [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]
    );

    // A closed ring as geo-types has it: the LineTo back to the start is taken back.
    enc.clear();
    enc.move_to(3, 6);
    enc.line_to(8, 12);
    enc.line_to(20, 34);
    enc.line_to(3, 6);
    enc.close_path();
    assert_eq!(enc.commands(), [9, 6, 12, 18, 10, 12, 24, 44, 15]);

    // The multipolygon, fed ring by ring with and without closing vertices.
    enc.clear();
    for (i, ring) in [
        &[(0, 0), (10, 0), (10, 10), (0, 10)][..],
        &[(11, 11), (20, 11), (20, 20), (11, 20), (11, 11)][..],
        &[(13, 13), (13, 17), (17, 17), (17, 13)][..],
    ]
    .into_iter()
    .enumerate()
    {
        enc.move_to(ring[0].0, ring[0].1);
        for &(x, y) in &ring[1..] {
            enc.line_to(x, y);
            if i == 2 {
                enc.line_to(x, y); // duplicates are dropped
            }
        }
        enc.close_path();
    }
    assert_eq!(enc.commands(), SPEC_MULTIPOLYGON);

    let mut tile = TileBuilder::new();
    tile.layer("l")
        .add_feature_encoded(Some(1), GeomType::Polygon, &enc, [])
        .unwrap();
    let decoded = decode_tile(&tile.to_bytes());
    assert_eq!(decoded.layers[0].features[0].geometry, SPEC_MULTIPOLYGON);
}

#[test]
fn bytes_equal_prosts_encoding_of_the_same_model() {
    let mut tile = TileBuilder::new();
    let layer = tile.layer("mixed");
    layer
        .add_feature(
            Some(300),
            &point!(x: -3, y: 4100).into(),
            [
                ("name", Value::String("héllo")),
                ("n", Value::Int(-1)),
                ("big", Value::UInt(u64::MAX)),
                ("s", Value::SInt(-300)),
                ("f", Value::Float(1.5)),
                ("d", Value::Double(-2.25)),
                ("ok", Value::Bool(false)),
            ],
        )
        .unwrap();
    layer
        .add_feature(None, &spec_multipolygon().into(), [("n", Value::Int(-1))])
        .unwrap();
    layer
        .add_feature_commands(Some(0), GeomType::Unknown, &[15], [])
        .unwrap();
    tile.layer("second")
        .add_feature(
            Some(7),
            &line_string![(x: 2, y: 2), (x: 2, y: 10)].into(),
            [],
        )
        .unwrap();

    let value = |v: Value<'_>| model::Value::from(v);
    let expected = model::Tile {
        layers: vec![
            model::Layer {
                version: 2,
                name: "mixed".to_owned(),
                features: vec![
                    model::Feature {
                        id: Some(300),
                        tags: vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
                        r#type: Some(model::GeomType::Point as i32),
                        geometry: vec![9, 5, 8200],
                    },
                    model::Feature {
                        id: None,
                        tags: vec![1, 1],
                        r#type: Some(model::GeomType::Polygon as i32),
                        geometry: SPEC_MULTIPOLYGON.to_vec(),
                    },
                    model::Feature {
                        id: Some(0),
                        tags: vec![],
                        r#type: Some(model::GeomType::Unknown as i32),
                        geometry: vec![15],
                    },
                ],
                keys: ["name", "n", "big", "s", "f", "d", "ok"]
                    .map(str::to_owned)
                    .to_vec(),
                values: vec![
                    value(Value::String("héllo")),
                    value(Value::Int(-1)),
                    value(Value::UInt(u64::MAX)),
                    value(Value::SInt(-300)),
                    value(Value::Float(1.5)),
                    value(Value::Double(-2.25)),
                    value(Value::Bool(false)),
                ],
                extent: Some(4096),
            },
            model::Layer {
                version: 2,
                name: "second".to_owned(),
                features: vec![model::Feature {
                    id: Some(7),
                    tags: vec![],
                    r#type: Some(model::GeomType::Linestring as i32),
                    geometry: vec![9, 4, 4, 10, 0, 16],
                }],
                keys: vec![],
                values: vec![],
                extent: Some(4096),
            },
        ],
    };
    let bytes = tile.to_bytes();
    assert_eq!(bytes, expected.encode_to_vec());
    assert_eq!(bytes.len(), tile.encoded_len());
    assert_eq!(decode_tile(&bytes), expected);
    assert_eq!(tile.to_model(), expected);
    assert_eq!(tile.clone().into_bytes(), bytes);
    let mut appended = vec![0xff];
    tile.encode_into(&mut appended);
    assert_eq!(appended[1..], bytes[..]);
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn coordinate() -> impl Strategy<Value = i32> {
        prop_oneof![4 => -40i32..40, 1 => any::<i32>()]
    }

    fn coords(max: usize) -> impl Strategy<Value = Vec<Coord<i32>>> {
        prop::collection::vec(
            (coordinate(), coordinate()).prop_map(|(x, y)| coord! {x: x, y: y}),
            0..max,
        )
    }

    fn polygon_strategy() -> impl Strategy<Value = Polygon<i32>> {
        (coords(8), prop::collection::vec(coords(6), 0..3)).prop_map(|(ext, ints)| {
            Polygon::new(LineString(ext), ints.into_iter().map(LineString).collect())
        })
    }

    fn geometry() -> impl Strategy<Value = Geometry<i32>> {
        prop_oneof![
            (coordinate(), coordinate()).prop_map(|(x, y)| Point::new(x, y).into()),
            coords(6).prop_map(|c| MultiPoint(c.into_iter().map(Point).collect()).into()),
            coords(8).prop_map(|c| LineString(c).into()),
            prop::collection::vec(coords(6), 0..4)
                .prop_map(|ls| MultiLineString(ls.into_iter().map(LineString).collect()).into()),
            polygon_strategy().prop_map(Geometry::from),
            prop::collection::vec(polygon_strategy(), 0..3).prop_map(|p| MultiPolygon(p).into()),
        ]
    }

    fn distinct(c: &[Coord<i32>]) -> Vec<(i32, i32)> {
        let mut v: Vec<(i32, i32)> = c.iter().map(|c| (c.x, c.y)).collect();
        v.dedup();
        v
    }

    /// The documented normalisation, written plainly: `None` if an error is expected.
    fn expected_ring(c: &[Coord<i32>], exterior: bool) -> Option<Part> {
        let mut v = distinct(c);
        if v.len() > 1 && v.first() == v.last() {
            v.pop();
        }
        if v.len() < 3 {
            return None;
        }
        let mut area: i128 = 0;
        for i in 0..v.len() {
            let (a, b) = (v[i], v[(i + 1) % v.len()]);
            area += i128::from(a.0) * i128::from(b.1) - i128::from(b.0) * i128::from(a.1);
        }
        if area == 0 {
            return None;
        }
        if exterior != (area > 0) {
            v[1..].reverse();
        }
        Some((v, true))
    }

    fn expected_polygon(p: &Polygon<i32>, out: &mut Vec<Part>) -> Option<()> {
        out.push(expected_ring(&p.exterior().0, true)?);
        for r in p.interiors() {
            out.push(expected_ring(&r.0, false)?);
        }
        Some(())
    }

    fn expected_line(c: &[Coord<i32>], out: &mut Vec<Part>) -> Option<()> {
        let v = distinct(c);
        if v.len() < 2 {
            return None;
        }
        out.push((v, false));
        Some(())
    }

    fn expected(g: &Geometry<i32>) -> Option<(GeomType, Vec<Part>)> {
        let mut out = Vec::new();
        let t = match g {
            Geometry::Point(p) => {
                out.push((vec![(p.x(), p.y())], false));
                GeomType::Point
            }
            Geometry::MultiPoint(mp) => {
                if mp.0.is_empty() {
                    return None;
                }
                out.extend(mp.0.iter().map(|p| (vec![(p.x(), p.y())], false)));
                GeomType::Point
            }
            Geometry::LineString(ls) => {
                expected_line(&ls.0, &mut out)?;
                GeomType::LineString
            }
            Geometry::MultiLineString(mls) => {
                if mls.0.is_empty() {
                    return None;
                }
                for ls in &mls.0 {
                    expected_line(&ls.0, &mut out)?;
                }
                GeomType::LineString
            }
            Geometry::Polygon(p) => {
                expected_polygon(p, &mut out)?;
                GeomType::Polygon
            }
            Geometry::MultiPolygon(mp) => {
                if mp.0.is_empty() {
                    return None;
                }
                for p in &mp.0 {
                    expected_polygon(p, &mut out)?;
                }
                GeomType::Polygon
            }
            _ => unreachable!("not generated"),
        };
        Some((t, out))
    }

    fn value() -> impl Strategy<Value = Value<'static>> {
        prop_oneof![
            prop::sample::select(vec!["", "a", "b", "héllo"]).prop_map(Value::String),
            prop::sample::select(vec![0.0f32, -0.0, 1.5, f32::NAN]).prop_map(Value::Float),
            prop::sample::select(vec![0.0f64, -0.0, 1.5, f64::NAN]).prop_map(Value::Double),
            (-3i64..3).prop_map(Value::Int),
            (0u64..3).prop_map(Value::UInt),
            (-3i64..3).prop_map(Value::SInt),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    /// Values compared by variant and bits (NaN equals itself).
    fn same(a: Value<'_>, b: Value<'_>) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn geometry_round_trips(g in geometry(), id in proptest::option::of(any::<u64>())) {
            let mut tile = TileBuilder::new();
            let result = tile.layer("l").add_feature(id, &g, []);
            match expected(&g) {
                None => {
                    prop_assert!(result.is_err(), "{g:?} should fail");
                    prop_assert!(tile.to_bytes().is_empty());
                }
                Some((t, parts)) => {
                    prop_assert_eq!(&result, &Ok(()), "{:?}", g);
                    let decoded = decode_tile(&tile.to_bytes());
                    let f = &decoded.layers[0].features[0];
                    prop_assert_eq!(f.id, id);
                    prop_assert_eq!(
                        crate::geom_type::GeomType::from(f.r#type()),
                        t
                    );
                    prop_assert_eq!(validate_commands(t, &f.geometry), Ok(()));
                    prop_assert_eq!(decode(&f.geometry), parts);

                    // Feeding the decoded geometry back through the sink gives the same
                    // stream.
                    let mut enc = GeometryEncoder::new();
                    for (vertices, closed) in decode(&f.geometry) {
                        enc.move_to(vertices[0].0, vertices[0].1);
                        for &(x, y) in &vertices[1..] {
                            enc.line_to(x, y);
                        }
                        if closed {
                            enc.line_to(vertices[0].0, vertices[0].1);
                            enc.close_path();
                        }
                    }
                    prop_assert_eq!(enc.commands(), &f.geometry[..]);
                }
            }
        }

        #[test]
        fn properties_round_trip(
            features in prop::collection::vec(
                prop::collection::vec(
                    (prop::sample::select(vec!["a", "b", "c", "d", "é"]), value()),
                    0..6,
                ),
                1..5,
            )
        ) {
            let mut layer = LayerBuilder::new("l");
            let point: Geometry<i32> = Point::new(1, 2).into();
            let mut written = Vec::new();
            for props in &features {
                let mut seen = BTreeMap::new();
                let repeated = props.iter().any(|(k, _)| seen.insert(*k, ()).is_some());
                let result = layer.add_feature(None, &point, props.iter().copied());
                if repeated {
                    let is_duplicate = matches!(result, Err(WriteError::DuplicateKey { .. }));
                    prop_assert!(is_duplicate);
                } else {
                    prop_assert_eq!(result, Ok(()));
                    written.push(props.clone());
                }
            }
            let mut tile = TileBuilder::new();
            tile.add_layer(layer).unwrap();
            let bytes = tile.to_bytes();
            prop_assert_eq!(bytes.len(), tile.encoded_len());
            let decoded = decode_tile(&bytes);
            if written.is_empty() {
                prop_assert!(decoded.layers.is_empty());
                return Ok(());
            }
            prop_assert_eq!(&decoded.encode_to_vec(), &bytes);
            let l = &decoded.layers[0];
            prop_assert_eq!(l.features.len(), written.len());
            // The tables hold each key and value once, and only used ones.
            let mut keys = l.keys.clone();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), l.keys.len());
            let values: Vec<Value<'_>> =
                l.values.iter().map(|v| v.to_value().unwrap()).collect();
            for (i, a) in values.iter().enumerate() {
                for b in &values[i + 1..] {
                    prop_assert!(!same(*a, *b), "{a:?} twice");
                }
            }
            let used: std::collections::BTreeSet<u32> = l
                .features
                .iter()
                .flat_map(|f| f.tags.chunks(2).map(|t| t[1]))
                .collect();
            prop_assert_eq!(used.len(), values.len());
            for (f, props) in l.features.iter().zip(&written) {
                prop_assert_eq!(f.tags.len(), props.len() * 2);
                for (tag, (k, v)) in f.tags.chunks(2).zip(props) {
                    prop_assert_eq!(&l.keys[tag[0] as usize], k);
                    prop_assert!(same(values[tag[1] as usize], *v));
                }
            }
        }
    }
}
