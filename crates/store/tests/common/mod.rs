//! Helpers shared by the store tests.
#![allow(dead_code)] // each test file uses a different subset

use std::io::Write;

use chrono::{DateTime, TimeZone, Utc};
use mlytiles_mvt::geo_types::{Geometry, Point};
use mlytiles_mvt::{Tile, TileBuilder, Value};
use mlytiles_store::{TileBody, TileId, TileRecord, TileStatus, TileStore};

/// A small valid tile whose content depends on `seed`: `n` image points.
pub fn sample_tile(seed: u64, n: usize) -> Vec<u8> {
    let mut b = TileBuilder::new();
    let layer = b.layer("image");
    for i in 0..n as u64 {
        let x = ((seed * 31 + i * 17) % 4096) as i32;
        let y = ((seed * 7 + i * 13) % 4096) as i32;
        layer
            .add_feature(
                Some(i + 1),
                &Geometry::Point(Point::new(x, y)),
                [
                    ("id", Value::UInt(seed * 1000 + i)),
                    ("is_pano", Value::Bool(i % 2 == 0)),
                ],
            )
            .expect("valid feature");
    }
    b.into_bytes()
}

/// Fully decodes a tile (every layer, feature and property), returning the feature count.
pub fn decode_all(bytes: &[u8]) -> anyhow::Result<usize> {
    let tile = Tile::new(bytes)?;
    let mut n = 0;
    for layer in tile.layers() {
        let layer = layer?;
        for feature in layer.features() {
            let feature = feature?;
            for p in feature.properties() {
                p?;
            }
            feature.to_geometry::<i32>()?;
            n += 1;
        }
    }
    Ok(n)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A fixed time, `n` seconds after 2025-01-01T00:00:00Z.
pub fn t(n: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_735_689_600 + n, 0).unwrap()
}

pub fn tile(z: u8, x: u32, y: u32) -> TileId {
    TileId::new(z, x, y).unwrap()
}

/// The behaviour every backend must have, run on a fresh, empty store.
pub fn contract(store: &dyn TileStore) -> anyhow::Result<()> {
    let a = tile(14, 8800, 5373);
    let b = tile(14, 8801, 5373);
    let c = tile(14, 8802, 5374);
    let d = tile(3, 4, 2);
    let bytes = sample_tile(1, 5);

    assert_eq!(store.get(a)?, None);
    assert!(!store.has(a)?);

    // Data round trip with validators.
    store.put(
        a,
        &TileRecord::data(bytes.clone(), t(1))
            .with_etag("\"e1\"")
            .with_last_modified("Wed, 01 Jan 2025 00:00:01 GMT"),
    )?;
    let got = store.get(a)?.expect("a stored");
    assert_eq!(got.tile, a);
    assert_eq!(&*got.uncompressed()?, &bytes[..]);
    assert_eq!(got.info.status, TileStatus::Data);
    assert_eq!(got.info.fetched_at, Some(t(1)));
    assert_eq!(got.info.etag.as_deref(), Some("\"e1\""));
    assert_eq!(
        got.info.last_modified.as_deref(),
        Some("Wed, 01 Jan 2025 00:00:01 GMT")
    );
    assert_eq!(got.info.failure, None);
    assert_eq!(store.info(a)?, Some(got.info.clone()));
    assert!(store.has(a)?);
    assert_eq!(decode_all(&got.uncompressed()?)?, 5);

    // Empty, and zero bytes count as empty.
    store.put(b, &TileRecord::empty(t(2)))?;
    let got = store.get(b)?.expect("b stored");
    assert_eq!(got.info.status, TileStatus::Empty);
    assert_eq!(got.info.fetched_at, Some(t(2)));
    assert!(got.data.is_empty());
    assert!(store.has(b)?);
    store.put(d, &TileRecord::data(Vec::new(), t(2)))?;
    assert_eq!(store.info(d)?.unwrap().status, TileStatus::Empty);

    // Failed on a new tile.
    store.put(c, &TileRecord::failed("HTTP 503", t(3)))?;
    let got = store.get(c)?.expect("c stored");
    assert_eq!(got.info.status, TileStatus::Failed);
    assert_eq!(got.info.fetched_at, None);
    assert_eq!(got.info.failure.as_ref().unwrap().reason, "HTTP 503");
    assert_eq!(got.info.failure.as_ref().unwrap().at, t(3));
    assert!(!store.has(c)?);

    // A failure never overwrites data nor an empty answer.
    store.put(a, &TileRecord::failed("timeout", t(4)))?;
    let got = store.get(a)?.unwrap();
    assert_eq!(got.info.status, TileStatus::Data);
    assert_eq!(&*got.uncompressed()?, &bytes[..]);
    assert_eq!(got.info.fetched_at, Some(t(1)));
    assert_eq!(got.info.etag.as_deref(), Some("\"e1\""));
    assert_eq!(got.info.failure.as_ref().unwrap().reason, "timeout");
    store.put(b, &TileRecord::failed("HTTP 429", t(5)))?;
    let got = store.get(b)?.unwrap();
    assert_eq!(got.info.status, TileStatus::Empty);
    assert_eq!(got.info.fetched_at, Some(t(2)));
    assert_eq!(got.info.failure.as_ref().unwrap().reason, "HTTP 429");

    // A success after a failure replaces it and clears the failure.
    let bytes2 = sample_tile(2, 3);
    store.put(c, &TileRecord::data(bytes2.clone(), t(6)))?;
    let got = store.get(c)?.unwrap();
    assert_eq!(got.info.status, TileStatus::Data);
    assert_eq!(&*got.uncompressed()?, &bytes2[..]);
    assert_eq!(got.info.failure, None);
    assert_eq!(got.info.fetched_at, Some(t(6)));

    // Data replaced by an empty answer and back.
    store.put(c, &TileRecord::empty(t(7)))?;
    assert_eq!(store.get(c)?.unwrap().info.status, TileStatus::Empty);
    assert!(store.get(c)?.unwrap().data.is_empty());
    store.put(c, &TileRecord::data(bytes2.clone(), t(8)))?;
    assert_eq!(&*store.get(c)?.unwrap().uncompressed()?, &bytes2[..]);

    // Gzipped input is accepted and reads back plain.
    let e = tile(14, 8803, 5373);
    store.put(e, &TileRecord::data(gzip(&bytes), t(9)))?;
    assert_eq!(&*store.get(e)?.unwrap().uncompressed()?, &bytes[..]);

    // Long reasons are cut.
    let f = tile(14, 0, 0);
    store.put(f, &TileRecord::failed("x".repeat(5000), t(10)))?;
    assert_eq!(
        store.info(f)?.unwrap().failure.unwrap().reason.len(),
        mlytiles_store::MAX_REASON_LEN
    );

    // Listing by zoom and bbox.
    assert_eq!(
        store.list(14, None)?,
        vec![
            (f, TileStatus::Failed),
            (a, TileStatus::Data),
            (b, TileStatus::Empty),
            (c, TileStatus::Data),
            (e, TileStatus::Data),
        ]
    );
    assert_eq!(store.list(3, None)?, vec![(d, TileStatus::Empty)]);
    assert_eq!(store.list(5, None)?, vec![]);
    let bbox = a.bounds();
    assert_eq!(store.list(14, Some(bbox))?, vec![(a, TileStatus::Data)]);
    let counts = store.count_by_status()?;
    assert_eq!((counts.data, counts.empty, counts.failed), (3, 2, 1));

    // Metadata.
    let meta = mlytiles_store::TilesetMetadata {
        name: "test".into(),
        minzoom: Some(0),
        maxzoom: Some(14),
        json: Some(r#"{"vector_layers":[{"id":"image","fields":{}}]}"#.into()),
        ..Default::default()
    };
    let pairs = meta.to_pairs();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    store.set_metadata(&refs)?;
    store.set_metadata(&[("name", "renamed")])?;
    assert_eq!(store.metadata_value("name")?.as_deref(), Some("renamed"));
    assert_eq!(store.metadata_value("format")?.as_deref(), Some("pbf"));
    assert_eq!(store.metadata_value("maxzoom")?.as_deref(), Some("14"));
    assert_eq!(store.metadata_value("nope")?, None);
    let all = store.metadata()?;
    assert!(
        all.windows(2).all(|w| w[0].0 < w[1].0),
        "sorted, unique: {all:?}"
    );

    let _ = TileBody::Empty; // the enum is public
    Ok(())
}
