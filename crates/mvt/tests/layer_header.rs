//! `Layer::header` / `LayerHeader::layer` and `Features::offset` / `Layer::features_from`:
//! coming back to a layer and to single features without scanning again.

use mlytiles_mvt::{Tile, TileBuilder, Value, geo_types};

fn tile() -> Vec<u8> {
    let mut b = TileBuilder::new();
    for i in 0..50 {
        let g: geo_types::Geometry<i32> = geo_types::Point::new(i * 7, i * 3).into();
        b.layer("image")
            .add_feature(Some(i as u64), &g, [("n", Value::Int(i64::from(i)))])
            .unwrap();
    }
    let g: geo_types::Geometry<i32> = geo_types::LineString::from(vec![(0, 0), (9, 9)]).into();
    b.layer("sequence").add_feature(None, &g, []).unwrap();
    b.to_bytes()
}

#[test]
fn a_header_makes_the_same_layer_from_a_copy_of_the_bytes() {
    let bytes = tile();
    let t = Tile::new(&bytes).unwrap();
    let layer = t.layer("image").unwrap().unwrap();
    let header = layer.header(&t).expect("the layer is the tile's");
    let copy = bytes.clone();
    let t2 = Tile::new(&copy).unwrap();
    let again = header.layer(&t2).expect("same bytes elsewhere");
    assert_eq!(again.name(), "image");
    assert_eq!(again.feature_count(), 50);
    assert_eq!(again.version(), layer.version());
    let ids: Vec<_> = again.features().map(|f| f.unwrap().id()).collect();
    let want: Vec<_> = layer.features().map(|f| f.unwrap().id()).collect();
    assert_eq!(ids, want);
    // A layer of another tile is not this tile's; a header does not fit shorter bytes.
    let other = tile();
    let t3 = Tile::new(&other).unwrap();
    assert!(t3.layer("image").unwrap().unwrap().header(&t).is_none());
    assert!(header.layer(&Tile::new(&bytes[..10]).unwrap()).is_none());
}

#[test]
fn features_from_an_offset_read_that_feature_on() {
    let bytes = tile();
    let t = Tile::new(&bytes).unwrap();
    let layer = t.layer("image").unwrap().unwrap();
    let mut it = layer.features();
    let mut marks = Vec::new();
    loop {
        let (offset, index) = (it.offset(), it.next_index());
        let Some(f) = it.next() else { break };
        marks.push((offset, index, f.unwrap().id()));
    }
    assert_eq!(marks.len(), 50);
    for &(offset, index, id) in &marks {
        let f = layer.features_from(offset, index).next().unwrap().unwrap();
        assert_eq!((f.id(), f.index()), (id, index));
        assert_eq!(layer.features_from(offset, index).count(), 50 - index);
    }
    // Any other offset reads what lies there: errors or features, never a panic.
    for offset in 0..bytes.len() + 10 {
        for f in layer.features_from(offset, 0).take(3) {
            let _ = f.map(|f| f.id());
        }
    }
    assert_eq!(layer.features_from(usize::MAX, 0).count(), 0);
}
