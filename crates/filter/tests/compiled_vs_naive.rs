//! Property test: on random layers whose values have every type the real tiles carry (and
//! some they do not), a compiled filter selects exactly what the naive filter selects, and the
//! typed records read what properties read by name give.

mod common;

use common::naive_matches;
use mlytiles_filter::chrono::{DateTime, TimeZone, Utc};
use mlytiles_filter::{
    Area, CompiledFilter, Filter, ImageLayer, ImageType, LayerKind, LookingAt, MapFeatureLayer,
    normalize_angle,
};
use mlytiles_mvt::geo_types::{Geometry, Point};
use mlytiles_mvt::{Tile, TileBuilder, Value};
use mlytiles_tile::{TileId, TileTransform};
use proptest::prelude::*;

const T1: i64 = 1_577_836_800_000; // 2020-01-01
const T2: i64 = 1_690_000_000_000; // 2023-07-22
const BIG: u64 = (1 << 53) + 1;

fn pool(key: &str) -> Vec<Value<'static>> {
    match key {
        "id" => vec![
            Value::UInt(BIG),
            Value::Int(-1),
            Value::String(""),
            Value::UInt(5),
        ],
        "captured_at" | "first_seen_at" | "last_seen_at" => vec![
            Value::Int(0),
            Value::Int(T1),
            Value::Int(T2),
            Value::String(""),
            Value::Double(1.0),
            Value::UInt(T2 as u64 + 5),
            Value::SInt(T1 + 1),
        ],
        "compass_angle" => vec![
            Value::Double(361.39),
            Value::Double(355.0),
            Value::Int(5),
            Value::Double(180.0),
            Value::String(""),
            Value::Bool(true),
            Value::Float(90.0),
            Value::Double(-10.0),
        ],
        "organization_id" | "creator_id" => vec![
            Value::UInt(5),
            Value::UInt(7),
            Value::Int(5),
            Value::String(""),
            Value::Int(-3),
            Value::UInt(u64::MAX),
        ],
        "sequence_id" => vec![
            Value::String("a"),
            Value::String("b"),
            Value::String(""),
            Value::Int(5),
        ],
        "is_pano" => vec![
            Value::Bool(true),
            Value::Bool(false),
            Value::String(""),
            Value::Int(1),
        ],
        "value" => vec![
            Value::String("regulatory--stop--g1"),
            Value::String("regulatory--yield--g2"),
            Value::String("warning--curve-left--g1"),
            Value::String(""),
            Value::Int(3),
        ],
        _ => unreachable!(),
    }
}

const IMAGE_KEYS: [&str; 7] = [
    "id",
    "captured_at",
    "compass_angle",
    "organization_id",
    "creator_id",
    "sequence_id",
    "is_pano",
];
const SIGN_KEYS: [&str; 4] = ["id", "value", "first_seen_at", "last_seen_at"];

/// A feature: a position and, per key, a pool index or absent.
type Row = ((i32, i32), Vec<Option<usize>>);

fn rows(keys: usize) -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(
        (
            (0..4096i32, 0..4096i32),
            prop::collection::vec(prop::option::weighted(0.8, 0..8usize), keys),
        ),
        1..40,
    )
}

fn build(name: &str, keys: &[&str], rows: &[Row]) -> Vec<u8> {
    let mut b = TileBuilder::new();
    let layer = b.layer(name);
    for ((x, y), picks) in rows {
        let props: Vec<(&str, Value<'static>)> = keys
            .iter()
            .zip(picks)
            .filter_map(|(k, p)| p.map(|i| (*k, pool(k)[i % pool(k).len()])))
            .collect();
        layer
            .add_feature(None, &Geometry::Point(Point::new(*x, *y)), props)
            .unwrap();
    }
    b.to_bytes()
}

fn tile_id() -> TileId {
    TileId::new(14, 8738, 5555).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

fn image_filter() -> impl Strategy<Value = Filter> {
    let b = tile_id().bounds();
    let (cx, cy) = ((b.west() + b.east()) / 2.0, (b.south() + b.north()) / 2.0);
    let areas = vec![
        None,
        Some(Area::parse_bbox(&format!("{},{},{cx},{cy}", b.west(), b.south())).unwrap()),
        Some(Area::parse_radius(&format!("{cx},{cy},800")).unwrap()),
    ];
    (
        prop::sample::select(vec![
            "",
            "2023",
            "..2100",
            "last 2y",
            "2020..2022-06",
            "2020-01-01",
        ]),
        prop::sample::select(vec![ImageType::All, ImageType::Pano, ImageType::Flat]),
        prop::sample::select(vec!["", "none", "5", "7,none", "18446744073709551615"]),
        prop::sample::select(vec![vec![], vec![5u64], vec![9, 7]]),
        prop::sample::select(vec![vec![], vec!["a"], vec!["b", ""]]),
        prop::sample::select(vec!["", "350..10", "170..190", "0..359.9", "80..100"]),
        prop::sample::select(areas),
        prop::sample::select(vec![None, Some(45.0), Some(90.0)]),
    )
        .prop_map(move |(cap, ty, org, cre, seq, comp, area, look)| Filter {
            captured: (!cap.is_empty()).then(|| cap.parse().unwrap()),
            image_type: ty,
            organizations: (!org.is_empty()).then(|| org.parse().unwrap()),
            creators: cre,
            sequences: seq.into_iter().map(String::from).collect(),
            compass: (!comp.is_empty()).then(|| comp.parse().unwrap()),
            area,
            looking_at: look.map(|tolerance| LookingAt {
                lon: cx,
                lat: cy,
                tolerance,
            }),
            ..Filter::default()
        })
}

fn sign_filter() -> impl Strategy<Value = Filter> {
    (
        prop::sample::select(vec![
            vec![],
            vec!["regulatory--*"],
            vec!["*--g1", "warning--*"],
        ]),
        prop::sample::select(vec![
            "",
            "2023",
            "..2020-01-01",
            "2020-01-01T00:00:00.001Z..",
            "last 1y",
        ]),
    )
        .prop_map(|(classes, seen)| Filter {
            classes: classes.into_iter().map(|c| c.parse().unwrap()).collect(),
            seen: (!seen.is_empty()).then(|| seen.parse().unwrap()),
            ..Filter::default()
        })
}

fn check(bytes: &[u8], name: &str, kind: LayerKind, filter: &Filter) -> Result<(), TestCaseError> {
    let tile = Tile::new(bytes).unwrap();
    let layer = tile.layer(name).unwrap().unwrap();
    let compiled = CompiledFilter::for_layer(filter, &layer, Some(tile_id()), now()).unwrap();
    let tr = TileTransform::new(tile_id(), layer.extent()).unwrap();
    for f in layer.features() {
        let f = f.unwrap();
        let naive = naive_matches(filter, kind, &f, Some(&tr), now());
        prop_assert_eq!(compiled.matches(&f), naive, "feature {}", f.index());
    }
    Ok(())
}

proptest! {
    #[test]
    fn images(rows in rows(IMAGE_KEYS.len()), filter in image_filter()) {
        let bytes = build("image", &IMAGE_KEYS, &rows);
        check(&bytes, "image", LayerKind::Image, &filter)?;
        // Records agree with properties read by name.
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layer("image").unwrap().unwrap();
        let reader = ImageLayer::new(&layer).unwrap();
        for f in layer.features() {
            let f = f.unwrap();
            let r = reader.read(&f);
            let get = |k| f.get(k).unwrap();
            prop_assert_eq!(r.id, get("id").and_then(|v| v.as_u64()));
            prop_assert_eq!(r.captured_at, get("captured_at").and_then(|v| v.as_i64()).unwrap_or(0));
            prop_assert_eq!(r.organization_id, get("organization_id").and_then(|v| v.as_u64()));
            prop_assert_eq!(r.creator_id, get("creator_id").and_then(|v| v.as_u64()));
            prop_assert_eq!(r.is_pano, get("is_pano").and_then(|v| v.as_bool()));
            prop_assert_eq!(r.sequence_id, get("sequence_id").and_then(|v| v.as_str()).filter(|s| !s.is_empty()));
            prop_assert_eq!(r.compass_angle, get("compass_angle").and_then(|v| v.as_f64()).map(normalize_angle));
        }
    }

    #[test]
    fn traffic_signs(rows in rows(SIGN_KEYS.len()), filter in sign_filter()) {
        let bytes = build("traffic_sign", &SIGN_KEYS, &rows);
        check(&bytes, "traffic_sign", LayerKind::TrafficSign, &filter)?;
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layer("traffic_sign").unwrap().unwrap();
        let reader = MapFeatureLayer::new(&layer).unwrap();
        for f in layer.features() {
            let f = f.unwrap();
            let r = reader.read(&f);
            let get = |k| f.get(k).unwrap();
            prop_assert_eq!(r.id, get("id").and_then(|v| v.as_u64()));
            prop_assert_eq!(r.class, get("value").and_then(|v| v.as_str()).filter(|s| !s.is_empty()));
            prop_assert_eq!(r.first_seen_at, get("first_seen_at").and_then(|v| v.as_i64()).unwrap_or(0));
            prop_assert_eq!(r.last_seen_at, get("last_seen_at").and_then(|v| v.as_i64()).unwrap_or(0));
        }
    }
}

proptest! {
    /// `Area::bounds` of a radius holds every point the radius holds: points on the circle in
    /// any direction, near the poles and across the antimeridian too.
    #[test]
    fn radius_bounds_hold_the_circle(
        lon in -180.0f64..180.0,
        lat in -89.9f64..89.9,
        metres in 0.0f64..3_000_000.0,
        bearing in 0.0f64..360.0,
        fraction in 0.0f64..0.999,
    ) {
        use geo::{Destination, Haversine, Point};
        let area = mlytiles_filter::Area::Radius { lon, lat, metres };
        let bounds = area.bounds().expect("a radius has bounds");
        let p = Haversine.destination(Point::new(lon, lat), bearing, metres * fraction);
        prop_assume!(area.contains_point(p.x(), p.y()));
        prop_assert!(
            bounds.contains(p.x(), p.y()),
            "{:?} outside {:?}", (p.x(), p.y()), bounds
        );
    }
}
