//! Detections: a base64 vector tile (layer `mpy-or`) decoded into outlines in image coordinates.

use base64::Engine as _;
use geo_types::{Geometry, LineString, Polygon, coord};
use mlytiles_filter::detection::{Detection, DetectionError};
use mlytiles_mvt::{LayerBuilder, TileBuilder};

/// A detection as the Graph API would give it: `polygons` in tile units (0..4096, y down).
fn detection_base64(polygons: &[Polygon<i32>]) -> String {
    let mut layer = LayerBuilder::new("mpy-or");
    for p in polygons {
        layer
            .add_feature(None, &Geometry::Polygon(p.clone()), [])
            .unwrap();
    }
    let mut tile = TileBuilder::new();
    tile.add_layer(layer).unwrap();
    base64::engine::general_purpose::STANDARD.encode(tile.to_bytes())
}

fn square(x0: i32, y0: i32, x1: i32, y1: i32) -> LineString<i32> {
    LineString(vec![
        coord! {x: x0, y: y0},
        coord! {x: x1, y: y0},
        coord! {x: x1, y: y1},
        coord! {x: x0, y: y1},
        coord! {x: x0, y: y0},
    ])
}

#[test]
fn outline_comes_back_in_normalised_image_coordinates_with_the_origin_top_left() {
    // An object in the top-left quarter of the image: x 1024..2048, y 512..1536 of 4096.
    let text = detection_base64(&[Polygon::new(square(1024, 512, 2048, 1536), vec![])]);
    let d = Detection::from_base64(&text).unwrap();
    assert_eq!(d.polygons.0.len(), 1);
    let ring = &d.polygons.0[0].exterior().0;
    let xs: Vec<f64> = ring.iter().map(|c| c.x).collect();
    let ys: Vec<f64> = ring.iter().map(|c| c.y).collect();
    assert_eq!(xs.iter().cloned().fold(f64::MAX, f64::min), 0.25);
    assert_eq!(xs.iter().cloned().fold(f64::MIN, f64::max), 0.5);
    // y grows downwards, as in the image: the top edge is at 1/8 of the height.
    assert_eq!(ys.iter().cloned().fold(f64::MAX, f64::min), 0.125);
    assert_eq!(ys.iter().cloned().fold(f64::MIN, f64::max), 0.375);

    // In pixels of a 4000 x 3000 image.
    let px = d.to_pixels(4000, 3000);
    let ring = &px.0[0].exterior().0;
    assert!(
        ring.iter().any(|c| c.x == 1000.0 && c.y == 375.0),
        "{ring:?}"
    );
    assert!(
        ring.iter().any(|c| c.x == 2000.0 && c.y == 1125.0),
        "{ring:?}"
    );

    // A decoder that flips y (Python's mapbox-vector-tile by default) would put the top edge at
    // 1 - 0.375 = 0.625: the README's rule y = 1 - y_flipped brings it back.
    let flipped_top = 1.0 - ys.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(1.0 - flipped_top, 0.375);
}

#[test]
fn several_polygons_and_holes_survive() {
    let with_hole = Polygon::new(square(0, 0, 2048, 2048), vec![square(512, 512, 1024, 1024)]);
    let other = Polygon::new(square(3000, 3000, 4000, 4000), vec![]);
    let d = Detection::from_base64(&detection_base64(&[with_hole, other])).unwrap();
    assert_eq!(d.polygons.0.len(), 2);
    assert_eq!(d.polygons.0[0].interiors().len(), 1);
}

#[test]
fn padding_and_whitespace_are_tolerated_and_bad_input_is_explained() {
    let text = detection_base64(&[Polygon::new(square(0, 0, 10, 10), vec![])]);
    let unpadded = format!("  {}\n", text.trim_end_matches('='));
    assert!(Detection::from_base64(&unpadded).is_ok());

    let err = Detection::from_base64("not base64!").unwrap_err();
    assert!(matches!(err, DetectionError::Base64(_)), "{err}");
    assert!(err.to_string().contains("not valid base64"), "{err}");

    let mut layer = LayerBuilder::new("other");
    layer
        .add_feature(
            None,
            &Geometry::Polygon(Polygon::new(square(0, 0, 9, 9), vec![])),
            [],
        )
        .unwrap();
    let mut tile = TileBuilder::new();
    tile.add_layer(layer).unwrap();
    let text = base64::engine::general_purpose::STANDARD.encode(tile.to_bytes());
    let err = Detection::from_base64(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the detection tile has no \"mpy-or\" layer (layers: other)"
    );

    let junk = base64::engine::general_purpose::STANDARD.encode([0xff, 0xff, 0xff]);
    assert!(matches!(
        Detection::from_base64(&junk),
        Err(DetectionError::Tile(_))
    ));
}

mod streamed {
    //! `DetectionTile` streams what `Detection` builds: the same document, byte for byte.

    use base64::Engine as _;
    use geo_types::{Geometry, Point, Polygon};
    use mlytiles_filter::detection::{Detection, DetectionError, DetectionTile};
    use mlytiles_mvt::{LayerBuilder, TileBuilder};
    use serde_json::{Value as Json, json};

    /// The document `mlytiles detection` printed before it streamed (built as a JSON tree).
    fn built(text: &str, pixels: Option<(u32, u32)>) -> String {
        let d = Detection::from_base64(text).expect("detection");
        let (polygons, space) = match pixels {
            Some((w, h)) => (d.to_pixels(w, h), json!({"pixels": [w, h]})),
            None => (d.polygons.clone(), json!("normalized")),
        };
        let rings = |p: &Polygon<f64>| -> Json {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|r| r.0.iter().map(|c| json!([c.x, c.y])).collect::<Vec<_>>())
                .collect()
        };
        let feature = json!({
            "type": "Feature",
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": polygons.0.iter().map(rings).collect::<Vec<_>>(),
            },
            "properties": {"coordinate_space": space, "origin": "top-left, y down"},
        });
        format!("{}\n", serde_json::to_string(&feature).unwrap())
    }

    fn streamed(text: &str, pixels: Option<(u32, u32)>) -> String {
        let tile = DetectionTile::from_base64(text).expect("detection");
        let mut out = Vec::new();
        tile.write_geojson(pixels, &mut out).expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    /// Raw commands: one ring per list (MoveTo, LineTo..., ClosePath), as given (winding kept).
    fn commands(rings: &[&[(i32, i32)]]) -> Vec<u32> {
        let zz = |v: i32| ((v << 1) ^ (v >> 31)) as u32;
        let mut out = Vec::new();
        let mut at = (0, 0);
        for r in rings {
            out.extend([1 | (1 << 3), zz(r[0].0 - at.0), zz(r[0].1 - at.1)]);
            at = r[0];
            out.push(2 | ((r.len() as u32 - 1) << 3));
            for &p in &r[1..] {
                out.extend([zz(p.0 - at.0), zz(p.1 - at.1)]);
                at = p;
            }
            out.push(7 | (1 << 3));
        }
        out
    }

    fn encode(layer: LayerBuilder) -> String {
        let mut tile = TileBuilder::new();
        tile.add_layer(layer).unwrap();
        base64::engine::general_purpose::STANDARD.encode(tile.to_bytes())
    }

    /// A raw `mpy-or` tile of the given version and extent whose features are
    /// `(geometry type, commands)`, unchecked (the writer refuses rings it would not write).
    fn raw(version: u32, extent: u32, features: &[(u32, Vec<u32>)]) -> String {
        fn varint(out: &mut Vec<u8>, mut v: u64) {
            while v >= 0x80 {
                out.push((v as u8) | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        }
        fn field(out: &mut Vec<u8>, num: u64, body: &[u8]) {
            varint(out, (num << 3) | 2);
            varint(out, body.len() as u64);
            out.extend_from_slice(body);
        }
        let mut layer = Vec::new();
        varint(&mut layer, 15 << 3);
        varint(&mut layer, u64::from(version));
        field(&mut layer, 1, b"mpy-or");
        for (geom_type, cmds) in features {
            let mut f = Vec::new();
            varint(&mut f, 3 << 3);
            varint(&mut f, u64::from(*geom_type));
            let mut g = Vec::new();
            for &c in cmds {
                varint(&mut g, u64::from(c));
            }
            field(&mut f, 4, &g);
            field(&mut layer, 2, &f);
        }
        varint(&mut layer, 5 << 3);
        varint(&mut layer, u64::from(extent));
        let mut tile = Vec::new();
        field(&mut tile, 3, &layer);
        base64::engine::general_purpose::STANDARD.encode(tile)
    }

    #[test]
    fn streamed_geojson_is_the_built_document_byte_for_byte() {
        let cw = [(0, 0), (2048, 0), (2048, 2048), (0, 2048)];
        let hole = [(512, 512), (512, 1024), (1024, 1024), (1024, 512)];
        let flat = [(5, 5), (9, 5), (20, 5)];
        let other = [(3000, 3000), (4001, 3000), (4001, 4095), (3000, 4095)];
        // A point and a line are skipped; a ring enclosing nothing too.
        let v2 = raw(
            2,
            4096,
            &[
                (3, commands(&[&cw, &hole])),
                (1, vec![1 | (1 << 3), 14, 14]),
                (2, vec![1 | (1 << 3), 2, 2, 2 | (1 << 3), 16, 16]),
                (3, commands(&[&other, &flat, &cw, &hole, &hole])),
            ],
        );
        // No polygon at all.
        let mut none = LayerBuilder::new("mpy-or");
        none.add_feature(None, &Geometry::Point(Point::new(7, 7)), [])
            .unwrap();
        // Version 1: the first ring's winding decides (counter-clockwise exteriors here).
        let ccw: Vec<(i32, i32)> = cw.iter().rev().copied().collect();
        let ccw_hole: Vec<(i32, i32)> = hole.iter().rev().copied().collect();
        let v1 = raw(1, 512, &[(3, commands(&[&flat, &ccw, &ccw_hole, &ccw]))]);
        for (name, text) in [("v2", v2), ("none", encode(none)), ("v1", v1)] {
            for pixels in [None, Some((4032, 3024)), Some((1, 1))] {
                let want = built(&text, pixels);
                assert_eq!(streamed(&text, pixels), want, "{name} {pixels:?}");
                if name != "none" {
                    assert!(want.contains("[[["), "{name}: {want}");
                }
            }
        }
    }

    #[test]
    fn streamed_reading_refuses_what_the_built_one_refuses() {
        let hole = [(512, 512), (512, 1024), (1024, 1024), (1024, 512)];
        let cw = [(0, 0), (2048, 0), (2048, 2048), (0, 2048)];
        let text = raw(
            2,
            4096,
            &[(3, commands(&[&cw])), (3, commands(&[&hole, &cw]))],
        );
        let built = Detection::from_base64(&text).unwrap_err();
        let streamed = DetectionTile::from_base64(&text).unwrap_err();
        assert!(matches!(streamed, DetectionError::Tile(_)), "{streamed}");
        assert_eq!(streamed.to_string(), built.to_string());
        for junk in ["not base64!", "//8=", ""] {
            let a = Detection::from_base64(junk)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let b = DetectionTile::from_base64(junk)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(a, b, "{junk:?}");
        }
    }
}
