//! Writer then reader: a tile built with `TileBuilder` from fuzzer-chosen layers and features
//! reads back with the same layers, ids, properties (floats compared by bits) and geometry.
//!
//! Features the writer refuses (degenerate geometry, a repeated key) are left out; whatever it
//! accepts, the reader must read back. Geometry comes two ways: as `geo_types` values, which
//! the writer normalises (duplicate vertices dropped, rings rewound), and as raw command
//! streams, which the writer checks with `validate_commands` and must then write unchanged.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mlytiles_mvt::geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use mlytiles_mvt::{GeomType, GeometryEncoder, LayerBuilder, Tile, TileBuilder, Value, model};
use prost::Message;

#[derive(Debug, Arbitrary)]
struct Input {
    layers: Vec<LayerSpec>,
}

#[derive(Debug, Arbitrary)]
struct LayerSpec {
    name: String,
    extent: Extent,
    version: Version,
    features: Vec<FeatureSpec>,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Extent {
    Default,
    Valid(u32),
    /// Anything, including 0 and values above `i32::MAX`, which the reader refuses.
    Any(u32),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Version {
    V1,
    V2,
    /// Anything, including the versions the reader refuses.
    Any(u32),
}

#[derive(Debug, Arbitrary)]
struct FeatureSpec {
    id: Option<u64>,
    geometry: GeometrySpec,
    properties: Vec<(String, ValueSpec)>,
}

type Xy = (i32, i32);

#[derive(Debug, Arbitrary)]
enum GeometrySpec {
    Point(Xy),
    MultiPoint(Vec<Xy>),
    Line(Vec<Xy>),
    MultiLine(Vec<Vec<Xy>>),
    /// Exterior ring first, then holes.
    Polygon(Vec<Vec<Xy>>),
    MultiPolygon(Vec<Vec<Vec<Xy>>>),
    /// Small steps from a start point, so rings and lines near degenerate cases come often.
    SmallSteps {
        kind: SmallKind,
        start: Xy,
        steps: Vec<(i8, i8)>,
    },
    /// A raw command stream for `add_feature_commands`.
    Commands {
        geom_type: u8,
        ints: Vec<u32>,
    },
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum SmallKind {
    Line,
    Ring,
    MultiPoint,
}

#[derive(Debug, Clone, Arbitrary)]
enum ValueSpec {
    String(String),
    Float(f32),
    Double(f64),
    Int(i64),
    UInt(u64),
    SInt(i64),
    Bool(bool),
}

impl ValueSpec {
    fn as_value(&self) -> Value<'_> {
        match self {
            ValueSpec::String(s) => Value::String(s),
            ValueSpec::Float(f) => Value::Float(*f),
            ValueSpec::Double(d) => Value::Double(*d),
            ValueSpec::Int(i) => Value::Int(*i),
            ValueSpec::UInt(u) => Value::UInt(*u),
            ValueSpec::SInt(s) => Value::SInt(*s),
            ValueSpec::Bool(b) => Value::Bool(*b),
        }
    }
}

/// A value with floats as their bits, so NaN equals itself and 0.0 differs from -0.0.
#[derive(Debug, PartialEq, Eq)]
enum Bits<'a> {
    String(&'a str),
    Float(u32),
    Double(u64),
    Int(i64),
    UInt(u64),
    SInt(i64),
    Bool(bool),
}

fn bits<'a>(v: &Value<'a>) -> Bits<'a> {
    match *v {
        Value::String(s) => Bits::String(s),
        Value::Float(f) => Bits::Float(f.to_bits()),
        Value::Double(d) => Bits::Double(d.to_bits()),
        Value::Int(i) => Bits::Int(i),
        Value::UInt(u) => Bits::UInt(u),
        Value::SInt(s) => Bits::SInt(s),
        Value::Bool(b) => Bits::Bool(b),
    }
}

fn coord((x, y): Xy) -> Coord<i32> {
    Coord { x, y }
}

fn line(points: &[Xy]) -> LineString<i32> {
    LineString(points.iter().copied().map(coord).collect())
}

fn polygon(rings: &[Vec<Xy>]) -> Polygon<i32> {
    match rings.split_first() {
        Some((exterior, holes)) => {
            Polygon::new(line(exterior), holes.iter().map(|r| line(r)).collect())
        }
        None => Polygon::new(LineString(Vec::new()), Vec::new()),
    }
}

/// How a feature's geometry reaches the writer.
enum Written {
    Geo(Geometry<i32>),
    Commands(GeomType, Vec<u32>),
}

fn written(spec: &GeometrySpec) -> Written {
    Written::Geo(match spec {
        GeometrySpec::Point(p) => Geometry::Point(Point(coord(*p))),
        GeometrySpec::MultiPoint(ps) => {
            Geometry::MultiPoint(MultiPoint(ps.iter().map(|&p| Point(coord(p))).collect()))
        }
        GeometrySpec::Line(ps) => Geometry::LineString(line(ps)),
        GeometrySpec::MultiLine(ls) => {
            Geometry::MultiLineString(MultiLineString(ls.iter().map(|l| line(l)).collect()))
        }
        GeometrySpec::Polygon(rings) => Geometry::Polygon(polygon(rings)),
        GeometrySpec::MultiPolygon(ps) => {
            Geometry::MultiPolygon(MultiPolygon(ps.iter().map(|p| polygon(p)).collect()))
        }
        GeometrySpec::SmallSteps { kind, start, steps } => {
            let mut p = *start;
            let mut points = vec![p];
            for &(dx, dy) in steps {
                p = (p.0.wrapping_add(dx.into()), p.1.wrapping_add(dy.into()));
                points.push(p);
            }
            match kind {
                SmallKind::Line => Geometry::LineString(line(&points)),
                SmallKind::Ring => Geometry::Polygon(Polygon::new(line(&points), Vec::new())),
                SmallKind::MultiPoint => Geometry::MultiPoint(MultiPoint(
                    points.into_iter().map(|p| Point(coord(p))).collect(),
                )),
            }
        }
        GeometrySpec::Commands { geom_type, ints } => {
            let t = GeomType::from_u64(u64::from(geom_type % 4)).expect("0..=3");
            return Written::Commands(t, ints.clone());
        }
    })
}

/// What a feature must read back as.
struct Expected<'s> {
    id: Option<u64>,
    geom_type: GeomType,
    commands: Vec<u32>,
    properties: Vec<(&'s str, Value<'s>)>,
}

fuzz_target!(|input: Input| {
    let mut tile = TileBuilder::new();
    // Per layer written: its spec's extent and version, and the features it holds.
    let mut expected_layers = Vec::new();
    let mut encoder = GeometryEncoder::new();
    for spec in &input.layers {
        let extent = match spec.extent {
            Extent::Default => None,
            Extent::Valid(e) => Some(1 + e % (i32::MAX as u32)),
            Extent::Any(e) => Some(e),
        };
        let version = match spec.version {
            Version::V1 => 1,
            Version::V2 => 2,
            Version::Any(v) => v,
        };
        let mut layer = LayerBuilder::new(spec.name.clone()).version(version);
        if let Some(e) = extent {
            layer.set_extent(e);
        }
        let mut features = Vec::new();
        for f in &spec.features {
            let properties: Vec<(&str, Value<'_>)> = f
                .properties
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_value()))
                .collect();
            let (result, geom_type, commands) = match written(&f.geometry) {
                Written::Geo(g) => {
                    let result = layer.add_feature(f.id, &g, properties.iter().copied());
                    // The commands the writer wrote are what a fresh encoder makes of `g`.
                    let encoded = encoder.encode_geometry(&g);
                    match (&result, encoded) {
                        (Ok(()), Ok(t)) => (result, t, encoder.commands().to_vec()),
                        (Ok(()), Err(e)) => panic!("add_feature took {g:?}, the encoder: {e}"),
                        (Err(_), _) => (result, GeomType::Unknown, Vec::new()),
                    }
                }
                Written::Commands(t, ints) => {
                    let result =
                        layer.add_feature_commands(f.id, t, &ints, properties.iter().copied());
                    (result, t, ints)
                }
            };
            if result.is_ok() {
                features.push(Expected {
                    id: f.id,
                    geom_type,
                    commands,
                    properties,
                });
            }
        }
        if tile.add_layer(layer).is_err() {
            continue; // a name used before: the writer refuses it, as spec 4.1 asks
        }
        if !features.is_empty() {
            expected_layers.push((
                spec.name.as_str(),
                extent.unwrap_or(4096),
                version,
                features,
            ));
        }
    }

    let bytes = tile.to_bytes();
    assert_eq!(bytes.len(), tile.encoded_len());
    // The writer promises prost's bytes: decoding and re-encoding with prost changes nothing.
    let model = model::Tile::decode(bytes.as_slice()).expect("prost decodes the writer's bytes");
    assert_eq!(model.encode_to_vec(), bytes, "prost writes different bytes");

    let read = Tile::new(&bytes).expect("the writer's bytes are not gzip");
    let mut layers = read.layers();
    for (name, extent, version, features) in &expected_layers {
        let layer = layers.next().expect("a written layer is missing");
        let layer_ok = (1..=2).contains(version) && (1..=i32::MAX as u32).contains(extent);
        let layer = match layer {
            Ok(layer) => {
                assert!(
                    layer_ok,
                    "the reader took version {version}, extent {extent}"
                );
                layer
            }
            Err(e) => {
                assert!(!layer_ok, "layer {name:?}: {e}");
                continue;
            }
        };
        assert_eq!(layer.name(), *name);
        assert_eq!((layer.extent(), layer.version()), (*extent, *version));
        assert_eq!(layer.feature_count(), features.len());
        for (got, want) in layer.features().zip(features) {
            check_feature(got, want, *version);
        }
    }
    assert!(layers.next().is_none(), "the reader found an extra layer");
});

fn check_feature(
    got: mlytiles_mvt::Result<mlytiles_mvt::Feature<'_, '_>>,
    want: &Expected<'_>,
    version: u32,
) {
    let got = got.unwrap_or_else(|e| panic!("the reader refused a written feature: {e}"));
    assert_eq!(got.id(), want.id);
    assert_eq!(got.geom_type(), want.geom_type);

    let properties: Vec<(&str, Bits<'_>)> = got
        .properties()
        .map(|p| p.map(|(k, v)| (k, bits(&v))))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("properties: {e}"));
    let expected: Vec<(&str, Bits<'_>)> =
        want.properties.iter().map(|(k, v)| (*k, bits(v))).collect();
    assert_eq!(properties, expected);

    // The integers are stored as written.
    let ints: Vec<u32> = got
        .geometry_ints()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("geometry_ints: {e}"));
    assert_eq!(ints, want.commands);

    // The writer checks commands with the reader's own grammar, so the reader decodes all it
    // wrote, UNKNOWN geometry included.
    got.decode_geometry(&mut GeometryEncoder::new())
        .unwrap_or_else(|e| panic!("decode_geometry: {e}"));
    assert!(got.geometry().all(|c| c.is_ok()));
    if want.geom_type == GeomType::Unknown {
        // UNKNOWN geometry has no meaning to compare beyond its integers.
        return;
    }

    // Decoded into a fresh encoder, the geometry encodes to the same integers: whatever the
    // writer accepts is already in the form it writes.
    let mut again = GeometryEncoder::new();
    got.decode_geometry(&mut again)
        .unwrap_or_else(|e| panic!("decode_geometry: {e}"));
    assert_eq!(again.commands(), want.commands.as_slice());
    assert_eq!(again.validate(want.geom_type), Ok(()));

    // So does the geo_types value: the reader classifies rings by the winding the writer gave
    // them, so polygons and their holes come back grouped as they were written.
    let geometry = got
        .to_geometry::<i32>()
        .unwrap_or_else(|e| panic!("to_geometry (version {version}): {e}"));
    let t = again
        .encode_geometry(&geometry)
        .unwrap_or_else(|e| panic!("re-encoding {geometry:?}: {e}"));
    assert_eq!(t, want.geom_type);
    assert_eq!(again.commands(), want.commands.as_slice(), "{geometry:?}");
    let _ = got.to_geometry::<f64>().expect("f64 holds every i32");
}
