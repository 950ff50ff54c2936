//! Filtered vector tiles (`filter_mvt`): kept features are copied integer for integer.

mod common;

use common::real_tiles;
use mlytiles_filter::chrono::{TimeZone, Utc};
use mlytiles_filter::{
    CompiledFilter, Filter, ImageType, LayerKind, MvtOptions, filter_mvt, filter_mvt_with,
};
use mlytiles_mvt::geo_types::{Geometry, LineString, Point, Polygon};
use mlytiles_mvt::{Feature, GeomType, Layer, Tile, TileBuilder, Value};
use mlytiles_tile::TileId;

/// Everything a feature holds: protobuf id, geometry type, every geometry integer, and every
/// tag resolved through its layer's tables, in order.
type Exact<'a> = (Option<u64>, GeomType, Vec<u32>, Vec<(&'a str, Value<'a>)>);

fn exact<'a>(layer: &Layer<'a>, f: &Feature<'_, 'a>) -> Exact<'a> {
    let keys = layer.keys().unwrap();
    let values = layer.values().unwrap();
    let tags = f
        .tags()
        .map(|(k, v)| (keys[k as usize], values[v as usize]))
        .collect();
    let ints = f.geometry_ints().collect::<Result<Vec<u32>, _>>().unwrap();
    (f.id(), f.geom_type(), ints, tags)
}

/// Checks that `out` holds, layer by layer, exactly the features of `source` that `filter`
/// keeps (every geometry integer and tag equal), with tables holding only what they use.
/// Returns the number of features kept.
fn assert_exact_copy(source: &[u8], out: &[u8], tile: Option<TileId>, filter: &Filter) -> usize {
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let source = Tile::new(source).unwrap();
    let kept = Tile::new(out).unwrap();
    let mut total = 0;
    for layer in source.layers() {
        let layer = layer.unwrap();
        let Some(kind) = LayerKind::from_name(layer.name()) else {
            continue;
        };
        if filter.check_layer(kind).is_err() {
            continue;
        }
        let compiled = CompiledFilter::for_layer(filter, &layer, tile, now).unwrap();
        let expected: Vec<Exact<'_>> = layer
            .features()
            .map(Result::unwrap)
            .filter(|f| compiled.matches(f))
            .map(|f| exact(&layer, &f))
            .collect();
        let Some(copy) = kept.layer(layer.name()).unwrap() else {
            assert!(
                expected.is_empty(),
                "{}: kept features missing",
                layer.name()
            );
            continue;
        };
        let got: Vec<Exact<'_>> = copy
            .features()
            .map(Result::unwrap)
            .map(|f| exact(&copy, &f))
            .collect();
        assert_eq!(got, expected, "{}", layer.name());
        assert_eq!(copy.extent(), layer.extent(), "{}", layer.name());
        assert_eq!(copy.version(), layer.version(), "{}", layer.name());
        // Only the table entries the kept features use.
        let mut used_keys: Vec<&str> = got.iter().flat_map(|e| e.3.iter().map(|t| t.0)).collect();
        used_keys.sort_unstable();
        used_keys.dedup();
        assert_eq!(copy.key_count(), used_keys.len(), "{}", layer.name());
        total += got.len();
    }
    total
}

/// Images, a sequence line, a polygon on a foreign layer: enough values that a filter drops
/// some table entries.
fn mixed_tile() -> Vec<u8> {
    let mut b = TileBuilder::new();
    let images = b.layer("image");
    for i in 0..12u64 {
        let p = Geometry::Point(Point::new(i as i32 * 300, 4000 - i as i32 * 250));
        let props = [
            ("id", Value::UInt(1000 + i)),
            ("captured_at", Value::Int(1_700_000_000_000 + i as i64)),
            ("compass_angle", Value::Double(i as f64 * 30.5)),
            (
                "sequence_id",
                Value::String(if i % 2 == 0 { "a" } else { "b" }),
            ),
            ("is_pano", Value::Bool(i % 3 == 0)),
        ];
        images.add_feature(Some(i), &p, props).unwrap();
    }
    let seq = b.layer("sequence");
    for (id, pano) in [("abc", true), ("def", false), ("ghi", true)] {
        let line = Geometry::LineString(LineString::from(vec![(0, 0), (100, 50), (200, -7)]));
        seq.add_feature(
            None,
            &line,
            [("id", Value::String(id)), ("is_pano", Value::Bool(pano))],
        )
        .unwrap();
    }
    let other = b.layer("buildings");
    let square = Polygon::new(
        LineString::from(vec![(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]),
        vec![],
    );
    other
        .add_feature(None, &Geometry::Polygon(square), [("h", Value::Int(3))])
        .unwrap();
    b.to_bytes()
}

#[test]
fn kept_features_are_copied_integer_for_integer_with_only_the_tables_they_use() {
    let bytes = mixed_tile();
    let tile = TileId::new(14, 3251, 6257).unwrap();
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let pano = Filter {
        image_type: ImageType::Pano,
        ..Filter::default()
    };
    let out = filter_mvt(&bytes, Some(tile), &pano, now).unwrap();
    assert_eq!(
        assert_exact_copy(&bytes, &out.bytes, Some(tile), &pano),
        4 + 2
    );
    assert_eq!(out.counts[&LayerKind::Image].read, 12);
    assert_eq!(out.counts[&LayerKind::Image].kept, 4);
    assert_eq!(out.counts[&LayerKind::Sequence].kept, 2);
    assert_eq!(out.left_out.len(), 1);
    assert_eq!(out.left_out[0].layer, "buildings");
    assert_eq!(out.left_out[0].reason, "not a Mapillary layer");
    let source = Tile::new(&bytes).unwrap();
    let kept = Tile::new(&out.bytes).unwrap();
    let (src, dst) = (
        source.layer("image").unwrap().unwrap(),
        kept.layer("image").unwrap().unwrap(),
    );
    assert!(
        dst.value_count() < src.value_count(),
        "unused values dropped"
    );
}

#[test]
fn a_layer_the_filter_cannot_judge_is_left_out_with_the_reason() {
    let bytes = mixed_tile();
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    // A compass range applies to images, not to sequences.
    let north = Filter {
        compass: Some("350..40".parse().unwrap()),
        ..Filter::default()
    };
    let out = filter_mvt(&bytes, None, &north, now).unwrap();
    assert_exact_copy(&bytes, &out.bytes, None, &north);
    let reasons: Vec<(&str, &str)> = out
        .left_out
        .iter()
        .map(|l| (l.layer.as_str(), l.reason.as_str()))
        .collect();
    assert_eq!(reasons[0].0, "sequence");
    assert!(
        reasons[0]
            .1
            .contains("does not apply to the sequence layer"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1], ("buildings", "not a Mapillary layer"));
    // Of the angles 0, 30.5, 61, .., 335.5, only 0 and 30.5 lie within 350..40.
    assert_eq!(out.counts[&LayerKind::Image].kept, 2);

    // Only the layers asked for.
    let options = MvtOptions {
        layers: Some(&[LayerKind::Sequence]),
        report: None,
    };
    let out = filter_mvt_with(&bytes, None, &Filter::default(), now, options).unwrap();
    let kept = Tile::new(&out.bytes).unwrap();
    assert_eq!(kept.layer_count().unwrap(), 1);
    assert_eq!(out.left_out[0].layer, "image");
    assert_eq!(out.left_out[0].reason, "not selected");
}

#[test]
fn nothing_kept_is_no_bytes() {
    let bytes = mixed_tile();
    let nobody = Filter {
        creators: vec![1],
        ..Filter::default()
    };
    let out = filter_mvt(&bytes, None, &nobody, Utc::now()).unwrap();
    assert!(out.bytes.is_empty());
}

#[test]
fn a_spatial_filter_without_the_tile_id_is_an_error() {
    let bytes = mixed_tile();
    let bbox = Filter {
        area: Some(mlytiles_filter::Area::parse_bbox("13.3,52.4,13.5,52.6").unwrap()),
        ..Filter::default()
    };
    let err = filter_mvt(&bytes, None, &bbox, Utc::now()).unwrap_err();
    assert!(err.to_string().contains("needs the tile id"), "{err}");
}

#[test]
fn real_tiles_are_copied_integer_for_integer() {
    let filters = [
        Filter {
            image_type: ImageType::Flat,
            ..Filter::default()
        },
        Filter {
            captured: Some("2019..2021".parse().unwrap()),
            ..Filter::default()
        },
        Filter::default(),
    ];
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    for (name, id, bytes) in real_tiles() {
        for filter in &filters {
            let out = filter_mvt(&bytes, id, filter, now).unwrap();
            let n = assert_exact_copy(&bytes, &out.bytes, id, filter);
            let kept: u64 = out.counts.values().map(|c| c.kept).sum();
            assert_eq!(n as u64, kept, "{name}");
        }
        // With no filter every feature is kept.
        let all = filter_mvt(&bytes, id, &Filter::default(), now).unwrap();
        let read: u64 = all.counts.values().map(|c| c.read).sum();
        let kept: u64 = all.counts.values().map(|c| c.kept).sum();
        assert_eq!(read, kept, "{name}");
        assert!(kept > 0, "{name}");
    }
}
