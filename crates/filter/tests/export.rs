//! The exports: GeoJSON, GeoJSON lines, CSV and MVT, on built tiles and on the real tiles.

mod common;

use common::real_tiles;
use mlytiles_filter::chrono::{TimeZone, Utc};
use mlytiles_filter::export::{
    Counts, CsvExporter, ExportError, ExportOptions, Exporter, GeoJsonExporter, IdFormat,
    SplitByLayer, csv_header, lon_lat_geometry, select,
};
use mlytiles_filter::{Filter, ImageType, LayerKind, MvtOptions, TypeReport, filter_mvt_with};
use mlytiles_mvt::geo_types::{Geometry, LineString, MultiLineString, Point};
use mlytiles_mvt::{Tile, TileBuilder, Value};
use mlytiles_tile::{TileId, TileTransform};
use serde_json::Value as Json;

const BIG: u64 = 9_007_199_254_740_993; // 2^53 + 1: a float64 rounds it to 2^53

fn tile_id(s: &str) -> TileId {
    s.parse().unwrap()
}

/// An image layer: (id, is_pano, captured_at) at distinct points.
fn image_tile(images: &[(u64, bool, i64)]) -> Vec<u8> {
    let mut b = TileBuilder::new();
    let layer = b.layer("image");
    for (i, &(id, pano, t)) in images.iter().enumerate() {
        let p = Geometry::Point(Point::new(100 + i as i32 * 10, 200));
        layer
            .add_feature(
                Some(i as u64),
                &p,
                [
                    ("id", Value::UInt(id)),
                    ("is_pano", Value::Bool(pano)),
                    ("captured_at", Value::Int(t)),
                    ("sequence_id", Value::String("seq,\"quoted\"")),
                ],
            )
            .unwrap();
    }
    b.to_bytes()
}

/// Exports every layer of each (tile id, bytes) through `exporter`; returns the counts.
fn export_tiles(
    tiles: &[(TileId, Vec<u8>)],
    filter: &Filter,
    exporter: &mut dyn Exporter,
) -> Result<Counts, ExportError> {
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut report = TypeReport::new();
    let mut total = Counts::default();
    exporter.begin()?;
    for (id, bytes) in tiles {
        let tile = Tile::new(bytes).unwrap();
        for layer in tile.layers() {
            let layer = layer.unwrap();
            let transform = TileTransform::new(*id, layer.extent()).unwrap();
            total += select(
                &layer,
                Some(*id),
                filter,
                now,
                &mut report,
                |kind, record, f| {
                    exporter.feature(kind, &record, &lon_lat_geometry(f, &transform).unwrap())
                },
            )?;
        }
    }
    exporter.finish()?;
    Ok(total)
}

fn geojson(tiles: &[(TileId, Vec<u8>)], filter: &Filter, options: ExportOptions) -> (Counts, Json) {
    let mut e = GeoJsonExporter::collection(Vec::new(), options);
    let counts = export_tiles(tiles, filter, &mut e).unwrap();
    let text = String::from_utf8(e.into_inner()).unwrap();
    (counts, serde_json::from_str(&text).expect("valid JSON"))
}

#[test]
fn geojson_collection_parses_and_keeps_ids_exact() {
    let t = tile_id("14/3251/6257");
    let bytes = image_tile(&[(BIG, true, 1), (u64::MAX, false, 2), (7, true, 3)]);
    let pano = Filter {
        image_type: ImageType::Pano,
        ..Filter::default()
    };
    let (counts, doc) = geojson(&[(t, bytes.clone())], &pano, ExportOptions::default());
    assert_eq!((counts.read, counts.kept), (3, 2));
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert_eq!(features[0]["properties"]["id"], "9007199254740993");
    // The layer is a property (GDAL and QGIS read properties only), not a foreign member.
    assert_eq!(features[0]["properties"]["layer"], "image");
    assert!(features[0].get("layer").is_none(), "{}", features[0]);
    assert_eq!(features[0]["properties"]["sequence_id"], "seq,\"quoted\"");
    assert_eq!(features[0]["geometry"]["type"], "Point");
    // lon/lat of the tile: inside its bounds.
    let b = t.bounds();
    let c = &features[0]["geometry"]["coordinates"];
    let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    assert!(b.contains(lon, lat), "{lon},{lat} outside {b:?}");

    // Numbers, still digit for digit.
    let numbers = ExportOptions {
        ids: IdFormat::Number,
        ..ExportOptions::default()
    };
    let mut e = GeoJsonExporter::collection(Vec::new(), numbers);
    export_tiles(&[(t, bytes)], &Filter::default(), &mut e).unwrap();
    let text = String::from_utf8(e.into_inner()).unwrap();
    assert!(text.contains("\"id\":9007199254740993"), "{text}");
    assert!(text.contains("\"id\":18446744073709551615"), "{text}");
    let doc: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["features"][1]["properties"]["id"].as_u64(),
        Some(u64::MAX)
    );
}

#[test]
fn geojson_lines_are_one_feature_each() {
    let t = tile_id("14/3251/6257");
    let bytes = image_tile(&[(1, true, 1), (2, false, 2)]);
    let mut e = GeoJsonExporter::lines(Vec::new(), ExportOptions::default());
    export_tiles(&[(t, bytes)], &Filter::default(), &mut e).unwrap();
    let text = String::from_utf8(e.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for (line, id) in lines.iter().zip(["1", "2"]) {
        let f: Json = serde_json::from_str(line).unwrap();
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["properties"]["id"], id);
    }
}

/// Two neighbouring tiles each holding a part of sequence `S`, clipped at their shared edge,
/// and a sequence `T` whose two parts in one tile do not meet.
fn split_sequence_tiles() -> Vec<(TileId, Vec<u8>)> {
    let seq = |b: &mut TileBuilder, id: &str, g: Geometry<i32>| {
        b.layer("sequence")
            .add_feature(
                None,
                &g,
                [
                    ("id", Value::String(id)),
                    ("captured_at", Value::Int(1_600_000_000_000)),
                    ("image_id", Value::UInt(BIG)),
                ],
            )
            .unwrap();
    };
    let mut west = TileBuilder::new();
    seq(
        &mut west,
        "S",
        LineString::from(vec![(3000, 2000), (3500, 2050), (4096, 2100)]).into(),
    );
    seq(
        &mut west,
        "T",
        MultiLineString(vec![
            LineString::from(vec![(10, 10), (20, 20)]),
            LineString::from(vec![(100, 100), (200, 200)]),
        ])
        .into(),
    );
    let mut east = TileBuilder::new();
    seq(
        &mut east,
        "S",
        LineString::from(vec![(0, 2100), (800, 2200), (1000, 2300)]).into(),
    );
    // The east tile arrives first: joining must not depend on the order.
    vec![
        (tile_id("14/3252/6257"), east.to_bytes()),
        (tile_id("14/3251/6257"), west.to_bytes()),
    ]
}

#[test]
fn sequence_parts_meeting_at_a_tile_edge_merge_into_one_line() {
    let (counts, doc) = geojson(
        &split_sequence_tiles(),
        &Filter::default(),
        ExportOptions::default(),
    );
    assert_eq!(counts.kept, 3);
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 2, "{doc:#}");
    let s = &features[0];
    assert_eq!(s["properties"]["id"], "S");
    assert_eq!(s["properties"]["image_id"], "9007199254740993");
    assert_eq!(s["geometry"]["type"], "LineString");
    let coords = s["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(coords.len(), 5, "3 + 3 vertices, the shared one once");
    let west = tile_id("14/3251/6257").bounds();
    let east = tile_id("14/3252/6257").bounds();
    assert!(west.contains(
        coords[0][0].as_f64().unwrap(),
        coords[0][1].as_f64().unwrap()
    ));
    assert!(east.contains(
        coords[4][0].as_f64().unwrap(),
        coords[4][1].as_f64().unwrap()
    ));
    // Longitudes grow along the line (west part first).
    let lons: Vec<f64> = coords.iter().map(|c| c[0].as_f64().unwrap()).collect();
    assert!(lons.windows(2).all(|w| w[0] < w[1]), "{lons:?}");

    let t = &features[1];
    assert_eq!(t["properties"]["id"], "T");
    assert_eq!(t["geometry"]["type"], "MultiLineString");
    assert_eq!(t["geometry"]["coordinates"].as_array().unwrap().len(), 2);

    // Without merging, each part is written as it arrives.
    let parts = ExportOptions {
        merge_sequences: false,
        ..ExportOptions::default()
    };
    let (_, doc) = geojson(&split_sequence_tiles(), &Filter::default(), parts);
    assert_eq!(doc["features"].as_array().unwrap().len(), 3);
}

#[test]
fn csv_rows_are_points_and_lines_are_refused() {
    let t = tile_id("14/3251/6257");
    let bytes = image_tile(&[(BIG, true, 1_600_000_000_000), (2, false, 0)]);
    let mut e = CsvExporter::new(Vec::new(), &[LayerKind::Image]);
    export_tiles(&[(t, bytes)], &Filter::default(), &mut e).unwrap();
    assert_eq!(e.written(), 2);
    let text = String::from_utf8(e.into_inner().unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "layer,lon,lat,id,captured_at,captured_at_iso,compass_angle,creator_id,\
         organization_id,sequence_id,is_pano"
    );
    assert!(
        lines[1].starts_with("image,-108.")
            && lines[1].contains(",9007199254740993,1600000000000,2020-09-13T12:26:40.000Z,")
            && lines[1].contains(",\"seq,\"\"quoted\"\"\","),
        "{}",
        lines[1]
    );
    // captured_at 0 (unknown) is an empty cell, in ms and as text.
    assert!(lines[2].contains(",2,,,"), "{}", lines[2]);

    let mut e = CsvExporter::new(Vec::new(), &[LayerKind::Sequence]);
    let err = export_tiles(&split_sequence_tiles(), &Filter::default(), &mut e).unwrap_err();
    assert!(matches!(
        err,
        ExportError::NotPoints {
            layer: LayerKind::Sequence,
            ..
        }
    ));
    assert!(err.to_string().contains("export it as GeoJSON"), "{err}");
}

/// A traffic_sign layer with one sign seen from 2021-06-12 to 2023-01-01.
fn sign_tile() -> Vec<u8> {
    let mut b = TileBuilder::new();
    b.layer("traffic_sign")
        .add_feature(
            None,
            &Geometry::Point(Point::new(2048, 2048)),
            [
                ("id", Value::UInt(BIG)),
                ("value", Value::String("regulatory--stop--g1")),
                ("first_seen_at", Value::Int(1_623_456_000_000)),
                ("last_seen_at", Value::Int(1_672_531_200_000)),
            ],
        )
        .unwrap();
    b.to_bytes()
}

#[test]
fn traffic_sign_csv_has_only_map_feature_columns_with_iso_dates() {
    let t = tile_id("14/3251/6257");
    let mut e = CsvExporter::new(Vec::new(), &[LayerKind::TrafficSign]);
    export_tiles(&[(t, sign_tile())], &Filter::default(), &mut e).unwrap();
    let text = String::from_utf8(e.into_inner().unwrap()).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "layer",
            "lon",
            "lat",
            "id",
            "value",
            "first_seen_at",
            "first_seen_at_iso",
            "last_seen_at",
            "last_seen_at_iso"
        ]
    );
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    let row = &records[0];
    assert_eq!(&row[0], "traffic_sign");
    assert_eq!(&row[3], "9007199254740993");
    assert_eq!(&row[5], "1623456000000");
    assert_eq!(&row[6], "2021-06-12T00:00:00.000Z");
    assert_eq!(&row[8], "2023-01-01T00:00:00.000Z");
    // Every cell of the row is filled: no column of another layer.
    assert!(row.iter().all(|c| !c.is_empty()), "{row:?}");

    // Image features have no columns in a traffic-sign CSV.
    let mut e = CsvExporter::new(Vec::new(), &[LayerKind::TrafficSign]);
    let images = image_tile(&[(1, true, 1)]);
    let err = export_tiles(&[(t, images)], &Filter::default(), &mut e).unwrap_err();
    assert!(
        matches!(
            err,
            ExportError::UnexpectedLayer {
                layer: LayerKind::Image,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("traffic_sign"), "{err}");
}

#[test]
fn split_by_layer_writes_each_layer_to_its_own_collection() {
    let mut tiles = split_sequence_tiles();
    tiles.push((
        tile_id("14/3251/6257"),
        image_tile(&[(1, true, 1), (2, false, 2)]),
    ));
    let (mut images, mut sequences) = (Vec::new(), Vec::new());
    let options = ExportOptions::default();
    let mut split = SplitByLayer::new(vec![
        (
            LayerKind::Image,
            Box::new(GeoJsonExporter::collection(&mut images, options)) as Box<dyn Exporter>,
        ),
        (
            LayerKind::Sequence,
            Box::new(GeoJsonExporter::collection(&mut sequences, options)),
        ),
    ]);
    export_tiles(&tiles, &Filter::default(), &mut split).unwrap();
    drop(split);
    let parse = |b: &[u8]| -> Vec<Json> {
        let doc: Json = serde_json::from_slice(b).unwrap();
        doc["features"].as_array().unwrap().clone()
    };
    let images = parse(&images);
    let sequences = parse(&sequences);
    assert_eq!(images.len(), 2);
    assert!(
        images
            .iter()
            .all(|f| f["properties"]["layer"] == "image" && f["geometry"]["type"] == "Point")
    );
    // S joined across the tile edge, T two parts: two sequences, lines only.
    assert_eq!(sequences.len(), 2);
    assert!(sequences.iter().all(|f| {
        f["properties"]["layer"] == "sequence"
            && f["geometry"]["type"]
                .as_str()
                .unwrap()
                .ends_with("LineString")
    }));
    assert_eq!(
        sequences[0]["properties"]["captured_at_iso"],
        "2020-09-13T12:26:40.000Z"
    );

    // A layer without an exporter is an error, not a silent drop.
    let mut only_images = SplitByLayer::new(vec![(
        LayerKind::Image,
        Box::new(GeoJsonExporter::lines(Vec::new(), options)) as Box<dyn Exporter>,
    )]);
    let err = export_tiles(
        &split_sequence_tiles(),
        &Filter::default(),
        &mut only_images,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ExportError::UnexpectedLayer {
                layer: LayerKind::Sequence,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn mvt_export_holds_only_the_kept_features() {
    let bytes = image_tile(&[(BIG, true, 1), (2, false, 2), (3, true, 3)]);
    let mut with_sequences = split_sequence_tiles().remove(1).1;
    with_sequences.extend_from_slice(&bytes); // a tile is a sequence of layers
    let tile = Tile::new(&with_sequences).unwrap();
    let pano = Filter {
        image_type: ImageType::Pano,
        ..Filter::default()
    };
    let now = Utc::now();
    let mut report = TypeReport::new();
    let layer = tile.layer("image").unwrap().unwrap();
    let options = MvtOptions {
        layers: Some(&[LayerKind::Image]),
        report: Some(&mut report),
    };
    let filtered = filter_mvt_with(&with_sequences, None, &pano, now, options).unwrap();
    assert_eq!(filtered.counts[&LayerKind::Image].kept, 2);
    assert_eq!(
        filtered.left_out.len(),
        1,
        "the sequence layer was not asked for"
    );
    let out = filtered.bytes;
    let back = Tile::new(&out).unwrap();
    assert_eq!(back.layer_count().unwrap(), 1, "only the image layer");
    let images = back.layer("image").unwrap().unwrap();
    assert_eq!(images.extent(), layer.extent());
    assert_eq!(images.version(), layer.version());
    let ids: Vec<u64> = images
        .features()
        .map(|f| f.unwrap().get("id").unwrap().unwrap().as_u64().unwrap())
        .collect();
    assert_eq!(ids, [BIG, 3]);
    for f in images.features() {
        let f = f.unwrap();
        assert_eq!(f.get("is_pano").unwrap(), Some(Value::Bool(true)));
        assert!(matches!(
            f.to_geometry::<i32>().unwrap(),
            Geometry::Point(_)
        ));
    }
}

#[test]
fn real_tiles_export_in_every_format() {
    let flat = Filter {
        image_type: ImageType::Flat,
        ..Filter::default()
    };
    for (name, id, bytes) in real_tiles() {
        let Some(id) = id else { continue };
        let tiles = [(id, bytes.clone())];
        let (counts, doc) = geojson(&tiles, &flat, ExportOptions::default());
        // Each sequence id once after merging; images as kept.
        let features = doc["features"].as_array().unwrap();
        let images = features
            .iter()
            .filter(|f| f["properties"]["layer"] == "image")
            .count() as u64;
        let tile = Tile::new(&bytes).unwrap();
        let image_layer = tile.layer("image").unwrap().unwrap();
        let mut report = TypeReport::new();
        let kept_images = select(
            &image_layer,
            Some(id),
            &flat,
            Utc::now(),
            &mut report,
            |_, _, _| Ok(()),
        )
        .unwrap()
        .kept;
        assert_eq!(images, kept_images, "{name}");
        assert!(counts.kept >= images, "{name}");
        let mut seen = std::collections::HashSet::new();
        for f in features
            .iter()
            .filter(|f| f["properties"]["layer"] == "sequence")
        {
            assert!(seen.insert(f["properties"]["id"].as_str().unwrap().to_owned()));
        }

        // GeoJSON lines: one parsable feature per line, as many as in the collection.
        let mut e = GeoJsonExporter::lines(Vec::new(), ExportOptions::default());
        export_tiles(&tiles, &flat, &mut e).unwrap();
        let text = String::from_utf8(e.into_inner()).unwrap();
        assert_eq!(text.lines().count(), features.len(), "{name}");
        for line in text.lines() {
            serde_json::from_str::<Json>(line).unwrap();
        }

        // CSV of the image layer: a row per kept image, each with the image columns only.
        let image_only = [(id, {
            let options = MvtOptions {
                layers: Some(&[LayerKind::Image]),
                report: None,
            };
            filter_mvt_with(&bytes, Some(id), &Filter::default(), Utc::now(), options)
                .unwrap()
                .bytes
        })];
        let mut e = CsvExporter::new(Vec::new(), &[LayerKind::Image]);
        export_tiles(&image_only, &flat, &mut e).unwrap();
        assert_eq!(e.written(), kept_images, "{name}");
        let text = String::from_utf8(e.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().count() as u64, kept_images + 1);
        for line in text.lines() {
            assert_eq!(
                line.split(',').count(),
                csv_header(&[LayerKind::Image]).len(),
                "{name}: {line}"
            );
        }

        // MVT: only kept features, properties as in the source.
        let options = MvtOptions {
            layers: Some(&[LayerKind::Image]),
            report: Some(&mut report),
        };
        let out = filter_mvt_with(&bytes, Some(id), &flat, Utc::now(), options)
            .unwrap()
            .bytes;
        let back = Tile::new(&out).unwrap();
        let layer = back.layer("image").unwrap();
        let n = layer.map_or(0, |l| l.features().count()) as u64;
        assert_eq!(n, kept_images, "{name}");
        if let Some(l) = back.layer("image").unwrap() {
            for f in l.features() {
                assert_eq!(f.unwrap().get("is_pano").unwrap(), Some(Value::Bool(false)));
            }
        }
    }
}

#[test]
fn real_neighbouring_tiles_merge_sequences() {
    let tiles: Vec<(TileId, Vec<u8>)> = real_tiles()
        .into_iter()
        .filter(|(name, _, _)| name.starts_with("josm_"))
        .map(|(_, id, b)| (id.unwrap(), b))
        .collect();
    assert_eq!(tiles.len(), 3, "the three josm_* tiles");
    let only_sequences = Filter::default();
    let mut parts = 0;
    let mut ids = std::collections::HashSet::new();
    for (_, bytes) in &tiles {
        let tile = Tile::new(bytes).unwrap();
        if let Some(l) = tile.layer("sequence").unwrap() {
            for f in l.features() {
                parts += 1;
                ids.insert(
                    f.unwrap()
                        .get("id")
                        .unwrap()
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    let (_, doc) = geojson(&tiles, &only_sequences, ExportOptions::default());
    let sequences: Vec<&Json> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["layer"] == "sequence")
        .collect();
    assert_eq!(sequences.len(), ids.len(), "one feature per sequence id");
    assert!(ids.len() < parts, "the three tiles share sequences");
}

// Not a test of the output, but of the example point geometry helper on a known vertex.
#[test]
fn lon_lat_of_the_tile_corner() {
    let mut b = TileBuilder::new();
    b.layer("image")
        .add_feature(
            None,
            &Geometry::Point(Point::new(0, 0)),
            [("id", Value::UInt(1))],
        )
        .unwrap();
    let bytes = b.to_bytes();
    let tile = Tile::new(&bytes).unwrap();
    let layer = tile.layer("image").unwrap().unwrap();
    let f = layer.features().next().unwrap().unwrap();
    let t = tile_id("14/3251/6257");
    let g = lon_lat_geometry(&f, &TileTransform::new(t, 4096).unwrap()).unwrap();
    let Geometry::Point(p) = g else { panic!() };
    let b = t.bounds();
    assert!((p.x() - b.west()).abs() < 1e-12 && (p.y() - b.north()).abs() < 1e-12);
}
