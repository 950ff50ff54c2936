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
