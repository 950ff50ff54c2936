//! Edge cases on tiles built with the writer: huge ids, missing keys, odd values.

use mlytiles_filter::chrono::{DateTime, TimeZone, Utc};
use mlytiles_filter::{
    Area, CompiledFilter, Error, Filter, Found, ImageLayer, ImageType, Key, LayerKind, LookingAt,
    MapFeatureLayer, Record, RecordReader, SequenceLayer, TypeReport,
};
use mlytiles_mvt::geo_types::{Geometry, LineString, Point};
use mlytiles_mvt::{Tile, TileBuilder, Value, ValueType};
use mlytiles_tile::{TileId, TileTransform};

const BIG: u64 = (1 << 53) + 1;
const T2023: i64 = 1_690_000_000_000; // 2023-07-22

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

fn pt(x: i32, y: i32) -> Geometry<i32> {
    Geometry::Point(Point::new(x, y))
}

/// image: 0 big id, org 7, compass 361.39, pano; 1 no org, captured 0, compass 180;
/// 2 org "" and captured "", compass Int(5); 3 negative id, no compass.
fn image_tile() -> Vec<u8> {
    let mut b = TileBuilder::new();
    let l = b.layer("image");
    l.add_feature(
        Some(0),
        &pt(10, 10),
        [
            ("id", Value::UInt(BIG)),
            ("captured_at", Value::Int(T2023)),
            ("compass_angle", Value::Double(361.39)),
            ("organization_id", Value::UInt(7)),
            ("creator_id", Value::UInt(u64::MAX)),
            ("sequence_id", Value::String("seqA")),
            ("is_pano", Value::Bool(true)),
        ],
    )
    .unwrap();
    l.add_feature(
        Some(1),
        &pt(20, 20),
        [
            ("id", Value::Int(2)),
            ("captured_at", Value::Int(0)),
            ("compass_angle", Value::Double(180.0)),
            ("sequence_id", Value::String("seqB")),
            ("is_pano", Value::Bool(false)),
        ],
    )
    .unwrap();
    l.add_feature(
        Some(2),
        &pt(30, 30),
        [
            ("id", Value::SInt(3)),
            ("captured_at", Value::String("")),
            ("compass_angle", Value::Int(5)),
            ("organization_id", Value::String("")),
            ("sequence_id", Value::String("")),
            ("is_pano", Value::Bool(false)),
        ],
    )
    .unwrap();
    l.add_feature(
        Some(3),
        &pt(40, 40),
        [
            ("id", Value::Int(-4)),
            ("captured_at", Value::UInt(T2023 as u64 + 1)),
            ("organization_id", Value::Int(8)),
        ],
    )
    .unwrap();
    b.to_bytes()
}

fn select(bytes: &[u8], name: &str, filter: &Filter, tile: Option<TileId>) -> Vec<usize> {
    let tile_data = Tile::new(bytes).unwrap();
    let layer = tile_data.layer(name).unwrap().unwrap();
    let c = CompiledFilter::for_layer(filter, &layer, tile, now()).unwrap();
    layer
        .features()
        .map(|f| f.unwrap())
        .filter(|f| c.matches(f))
        .map(|f| f.index())
        .collect()
}

#[test]
fn image_records_keep_exact_ids_and_normalise_compass() {
    let bytes = image_tile();
    let tile = Tile::new(&bytes).unwrap();
    let layer = tile.layer("image").unwrap().unwrap();
    let reader = ImageLayer::new(&layer).unwrap();
    let mut report = TypeReport::new();
    let r: Vec<_> = layer
        .features()
        .map(|f| reader.read_reporting(&f.unwrap(), &mut report))
        .collect();
    assert_eq!(r[0].id, Some(BIG));
    assert_eq!(r[0].creator_id, Some(u64::MAX));
    assert!((r[0].compass_angle.unwrap() - 1.39).abs() < 1e-9);
    assert_eq!(r[0].organization_id, Some(7));
    assert_eq!(r[0].sequence_id, Some("seqA"));
    assert_eq!(r[1].organization_id, None);
    assert_eq!(r[1].captured_at, 0);
    assert_eq!(r[2].captured_at, 0);
    assert_eq!(r[2].compass_angle, Some(5.0));
    assert_eq!(r[2].organization_id, None);
    assert_eq!(r[2].sequence_id, None);
    assert_eq!(r[3].id, None);
    assert_eq!(r[3].captured_at, T2023 + 1);
    assert_eq!(r[3].compass_angle, None);
    assert_eq!(r[3].is_pano, None);

    let c = |key, found| report.count(LayerKind::Image, key, found);
    assert_eq!(c(Key::CapturedAt, Found::EmptyString), 1);
    assert_eq!(c(Key::OrganizationId, Found::EmptyString), 1);
    assert_eq!(c(Key::SequenceId, Found::EmptyString), 1);
    assert_eq!(c(Key::Id, Found::Type(ValueType::Int)), 1);
    assert_eq!(report.total(), 4);

    // The generic reader gives the same records.
    let any = RecordReader::new(&layer).unwrap();
    assert_eq!(any.kind(), LayerKind::Image);
    let f = layer.features().next().unwrap().unwrap();
    assert_eq!(any.read(&f), Record::Image(r[0]));
}

#[test]
fn filters_on_edge_values() {
    let bytes = image_tile();
    let f = |filter: Filter| select(&bytes, "image", &filter, None);
    // captured_at 0 and "" are unknown: excluded by any date range, even an open one.
    assert_eq!(
        f(Filter {
            captured: Some("..2100".parse().unwrap()),
            ..Default::default()
        }),
        [0, 3]
    );
    assert_eq!(
        f(Filter {
            captured: Some("last 2y".parse().unwrap()),
            ..Default::default()
        }),
        [0, 3]
    );
    assert_eq!(
        f(Filter {
            captured: Some("last 1 month".parse().unwrap()),
            ..Default::default()
        }),
        [] as [usize; 0]
    );
    // Organization none: absent or unreadable.
    assert_eq!(
        f(Filter {
            organizations: Some("none".parse().unwrap()),
            ..Default::default()
        }),
        [1, 2]
    );
    assert_eq!(
        f(Filter {
            organizations: Some("7".parse().unwrap()),
            ..Default::default()
        }),
        [0]
    );
    assert_eq!(
        f(Filter {
            organizations: Some("8,none".parse().unwrap()),
            ..Default::default()
        }),
        [1, 2, 3]
    );
    // Compass: 361.39 is 1.39; Int(5) counts; no angle never matches.
    assert_eq!(
        f(Filter {
            compass: Some("350..10".parse().unwrap()),
            ..Default::default()
        }),
        [0, 2]
    );
    assert_eq!(
        f(Filter {
            compass: Some("170..190".parse().unwrap()),
            ..Default::default()
        }),
        [1]
    );
    // Pano / flat: unknown is neither.
    assert_eq!(
        f(Filter {
            image_type: ImageType::Pano,
            ..Default::default()
        }),
        [0]
    );
    assert_eq!(
        f(Filter {
            image_type: ImageType::Flat,
            ..Default::default()
        }),
        [1, 2]
    );
    assert_eq!(f(Filter::default()), [0, 1, 2, 3]);
    // Exact u64 creators.
    assert_eq!(
        f(Filter {
            creators: vec![u64::MAX],
            ..Default::default()
        }),
        [0]
    );
    assert_eq!(
        f(Filter {
            creators: vec![u64::MAX - 1],
            ..Default::default()
        }),
        [] as [usize; 0]
    );
    assert_eq!(
        f(Filter {
            sequences: vec!["seqB".into(), "".into()],
            ..Default::default()
        }),
        [1]
    );
    // AND of predicates.
    assert_eq!(
        f(Filter {
            compass: Some("350..10".parse().unwrap()),
            organizations: Some("none".parse().unwrap()),
            ..Default::default()
        }),
        [2]
    );
}

#[test]
fn inapplicable_predicates_and_missing_tile_are_errors() {
    let bytes = image_tile();
    let tile = Tile::new(&bytes).unwrap();
    let layer = tile.layer("image").unwrap().unwrap();
    let classes = Filter {
        classes: vec!["regulatory--*".parse().unwrap()],
        ..Default::default()
    };
    match CompiledFilter::for_layer(&classes, &layer, None, now()) {
        Err(Error::NotApplicable {
            predicate: "classes",
            layer: LayerKind::Image,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let area = Filter {
        area: Some(Area::parse_radius("0,0,10").unwrap()),
        ..Default::default()
    };
    let e = CompiledFilter::for_layer(&area, &layer, None, now()).unwrap_err();
    assert!(matches!(e, Error::NeedsTileId { predicate: "area" }), "{e}");
    assert!(e.to_string().contains("needs the tile id"));

    let mut b = TileBuilder::new();
    b.layer("sequence")
        .add_feature(
            None,
            &Geometry::LineString(LineString::from(vec![(0, 0), (5, 5)])),
            [("id", Value::String("seqA"))],
        )
        .unwrap();
    b.layer("roads").add_feature(None, &pt(1, 1), []).unwrap();
    let bytes = b.to_bytes();
    let tile = Tile::new(&bytes).unwrap();
    let seq = tile.layer("sequence").unwrap().unwrap();
    let compass = Filter {
        compass: Some("0..1".parse().unwrap()),
        ..Default::default()
    };
    let e = CompiledFilter::for_layer(&compass, &seq, None, now()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the compass filter does not apply to the sequence layer (it applies to: image)"
    );
    let roads = tile.layer("roads").unwrap().unwrap();
    assert!(matches!(
        CompiledFilter::for_layer(&Filter::default(), &roads, None, now()),
        Err(Error::UnknownLayer(_))
    ));
    assert!(matches!(
        ImageLayer::new(&seq),
        Err(Error::WrongLayer {
            expected: "image",
            ..
        })
    ));
    let r = SequenceLayer::new(&seq)
        .unwrap()
        .read(&seq.features().next().unwrap().unwrap());
    assert_eq!(r.id, Some("seqA"));
    // Sequence ids are the `id` key on the sequence layer.
    let seqs = Filter {
        sequences: vec!["seqA".into()],
        ..Default::default()
    };
    assert_eq!(select(&bytes, "sequence", &seqs, None), [0]);
}

#[test]
fn map_features_classes_and_seen_overlap() {
    let day = 86_400_000;
    let a = 1_700_000_000_000_i64;
    // (class, first, last)
    let rows: [(&str, i64, i64); 7] = [
        ("regulatory--stop--g1", a - 10 * day, a - 5 * day), // before
        ("regulatory--no-stopping--g1", a - 5 * day, a + day), // overlaps start
        ("warning--curve-left--g1", a + day, a + 2 * day),   // inside
        ("information--parking--g1", a - 10 * day, a + 10 * day), // contains
        ("regulatory--stop--g10", a + 5 * day, a + 9 * day), // after
        ("regulatory--yield--g1", 0, a + day),               // first unknown
        ("regulatory", a, a),                                // exactly at the start
    ];
    let mut b = TileBuilder::new();
    let l = b.layer("traffic_sign");
    for (i, (class, first, last)) in rows.iter().enumerate() {
        l.add_feature(
            Some(i as u64),
            &pt(1, 1),
            [
                ("id", Value::UInt(u64::MAX - i as u64)),
                ("value", Value::String(class)),
                ("first_seen_at", Value::Int(*first)),
                ("last_seen_at", Value::Int(*last)),
            ],
        )
        .unwrap();
    }
    let bytes = b.to_bytes();
    let tile = Tile::new(&bytes).unwrap();
    let layer = tile.layer("traffic_sign").unwrap().unwrap();
    let reader = MapFeatureLayer::new(&layer).unwrap();
    assert_eq!(reader.kind(), LayerKind::TrafficSign);
    let first = reader.read(&layer.features().next().unwrap().unwrap());
    assert_eq!(first.id, Some(u64::MAX));
    assert_eq!(first.class, Some("regulatory--stop--g1"));

    let range = mlytiles_filter::DateRange {
        start: Some(mlytiles_filter::TimeBound::At(a)),
        end: Some(mlytiles_filter::TimeBound::At(a + 3 * day)),
    };
    let f = |filter: Filter| select(&bytes, "traffic_sign", &filter, None);
    assert_eq!(
        f(Filter {
            seen: Some(range),
            ..Default::default()
        }),
        [1, 2, 3, 6]
    );
    let cls = |p: &[&str]| Filter {
        classes: p.iter().map(|s| s.parse().unwrap()).collect(),
        ..Default::default()
    };
    assert_eq!(f(cls(&["regulatory--*"])), [0, 1, 4, 5]);
    assert_eq!(f(cls(&["regulatory--stop--g1"])), [0]);
    assert_eq!(f(cls(&["regulatory--stop--*", "warning--*"])), [0, 2, 4]);
    assert_eq!(f(cls(&["*"])), [0, 1, 2, 3, 4, 5, 6]);
    let both = Filter {
        seen: Some(range),
        ..cls(&["regulatory--*"])
    };
    assert_eq!(f(both), [1]);
    let pano = Filter {
        image_type: ImageType::Pano,
        ..Default::default()
    };
    let e = CompiledFilter::for_layer(&pano, &layer, None, now()).unwrap_err();
    assert!(
        e.to_string()
            .contains("image_type filter does not apply to the traffic_sign layer")
    );
}

#[test]
fn spatial_filters_on_a_built_tile() {
    let id = TileId::new(14, 8800, 5370).unwrap();
    let tr = TileTransform::new(id, 4096).unwrap();
    let lonlat = |x: f64, y: f64| tr.to_lon_lat(x, y);
    let (tlon, tlat) = lonlat(2048.0, 2048.0); // the target, in the middle
    let mut b = TileBuilder::new();
    let l = b.layer("image");
    // West of the target looking east (90), looking west (270), a pano looking west, far away.
    for (x, y, compass, pano) in [
        (1848, 2048, 90.0, false),
        (1848, 2048, 270.0, false),
        (1848, 2048, 270.0, true),
        (100, 100, 315.0, false),
    ] {
        l.add_feature(
            None,
            &pt(x, y),
            [
                ("compass_angle", Value::Double(compass)),
                ("is_pano", Value::Bool(pano)),
            ],
        )
        .unwrap();
    }
    let seq = b.layer("sequence");
    // A line passing through the middle, and one in a corner.
    seq.add_feature(
        None,
        &Geometry::LineString(LineString::from(vec![(0, 2048), (4096, 2048)])),
        [],
    )
    .unwrap();
    seq.add_feature(
        None,
        &Geometry::LineString(LineString::from(vec![(0, 0), (50, 50)])),
        [],
    )
    .unwrap();
    let bytes = b.to_bytes();

    let looking = Filter {
        looking_at: Some(LookingAt {
            lon: tlon,
            lat: tlat,
            tolerance: 10.0,
        }),
        ..Default::default()
    };
    assert_eq!(select(&bytes, "image", &looking, Some(id)), [0, 2]);
    let near = Filter {
        area: Some(Area::parse_radius(&format!("{tlon},{tlat},300")).unwrap()),
        ..Default::default()
    };
    assert_eq!(select(&bytes, "image", &near, Some(id)), [0, 1, 2]);
    assert_eq!(select(&bytes, "sequence", &near, Some(id)), [0]);
    let (w, n) = lonlat(0.0, 0.0);
    let (e, s) = lonlat(1000.0, 1000.0);
    let corner = Filter {
        area: Some(Area::parse_bbox(&format!("{w},{s},{e},{n}")).unwrap()),
        ..Default::default()
    };
    assert_eq!(select(&bytes, "image", &corner, Some(id)), [3]);
    assert_eq!(select(&bytes, "sequence", &corner, Some(id)), [1]);
    let both = Filter {
        area: near.area.clone(),
        ..looking.clone()
    };
    assert_eq!(select(&bytes, "image", &both, Some(id)), [0, 2]);
    let e = CompiledFilter::for_layer(
        &looking,
        &Tile::new(&bytes)
            .unwrap()
            .layer("sequence")
            .unwrap()
            .unwrap(),
        Some(id),
        now(),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::NotApplicable {
            predicate: "looking_at",
            ..
        }
    ));
}

#[test]
fn overview_records_and_filters() {
    let mut b = TileBuilder::new();
    let l = b.layer("overview");
    l.add_feature(
        Some(7),
        &pt(5, 5),
        [
            ("captured_at", Value::Int(T2023)),
            ("creator_id", Value::UInt(11)),
            ("id", Value::UInt(BIG)),
            ("sequence_id", Value::String("s1")),
            ("is_pano", Value::Bool(true)),
        ],
    )
    .unwrap();
    l.add_feature(Some(8), &pt(6, 6), [("id", Value::String("x"))])
        .unwrap();
    let bytes = b.to_bytes();
    let tile = Tile::new(&bytes).unwrap();
    let layer = tile.layer("overview").unwrap().unwrap();
    let reader = RecordReader::new(&layer).unwrap();
    let mut report = TypeReport::new();
    let records: Vec<_> = layer
        .features()
        .map(|f| reader.read_reporting(&f.unwrap(), &mut report))
        .collect();
    let Record::Overview(first) = records[0] else {
        panic!("{records:?}")
    };
    assert_eq!(first.id, Some(BIG));
    assert_eq!(first.creator_id, Some(11));
    assert_eq!(first.sequence_id, Some("s1"));
    assert_eq!((first.captured_at, first.is_pano), (T2023, Some(true)));
    assert_eq!(
        report.count(LayerKind::Overview, Key::Id, Found::Type(ValueType::String)),
        1
    );

    let f = |filter: Filter| select(&bytes, "overview", &filter, None);
    assert_eq!(
        f(Filter {
            creators: vec![11],
            ..Default::default()
        }),
        [0]
    );
    assert_eq!(
        f(Filter {
            sequences: vec!["s1".into()],
            ..Default::default()
        }),
        [0]
    );
    assert_eq!(
        f(Filter {
            image_type: ImageType::Pano,
            ..Default::default()
        }),
        [0]
    );
    // overview points carry no organization_id: the predicate does not apply.
    let orgs = Filter {
        organizations: Some("none".parse().unwrap()),
        ..Default::default()
    };
    let e = CompiledFilter::for_layer(&orgs, &layer, None, now()).unwrap_err();
    assert!(matches!(
        e,
        Error::NotApplicable {
            predicate: "organizations",
            layer: LayerKind::Overview,
            ..
        }
    ));
}
