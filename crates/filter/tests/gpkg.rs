//! The GeoPackage export, read back with SQLite: tables, ids, times, geometry blobs, R-tree.
#![cfg(feature = "gpkg")]

use mlytiles_filter::export::{ExportError, ExportOptions, Exporter, GpkgExporter};
use mlytiles_filter::{Image, LayerKind, MapFeature, Record, Sequence};
use mlytiles_mvt::geo_types::{Geometry, LineString, MultiPoint, Point, Polygon};
use rusqlite::Connection;

const BIG: u64 = 9_007_199_254_740_993; // 2^53 + 1: a float64 rounds it

fn temp_path(name: &str) -> (tempdir::Dir, std::path::PathBuf) {
    let dir = tempdir::Dir::new(name);
    let path = dir.0.join("out.gpkg");
    (dir, path)
}

/// A folder under the system's temporary folder, removed on drop.
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "mlytiles-filter-gpkg-{name}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn image(id: u64, t: i64) -> Record<'static> {
    Record::Image(Image {
        id: Some(id),
        captured_at: t,
        compass_angle: Some(90.5),
        creator_id: Some(i64::MAX as u64),
        organization_id: None,
        sequence_id: Some("seq"),
        is_pano: Some(true),
    })
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn gpkg_tables_keep_ids_exact_and_index_every_row() {
    let (_dir, path) = temp_path("tables");
    let mut g = GpkgExporter::create(&path, ExportOptions::default()).unwrap();
    g.begin().unwrap();
    let p = |x, y| Geometry::Point(Point::new(x, y));
    g.feature(
        LayerKind::Image,
        &image(BIG, 1_623_493_323_123),
        &p(13.4, 52.5),
    )
    .unwrap();
    g.feature(LayerKind::Image, &image(7, 0), &p(13.5, 52.6))
        .unwrap();
    // A MultiPoint gives one row per point, as in CSV.
    let sign = Record::MapFeature(MapFeature {
        id: Some(3),
        class: Some("regulatory--stop--g1"),
        first_seen_at: 1_600_000_000_000,
        last_seen_at: 1_700_000_000_000,
    });
    let two = Geometry::MultiPoint(MultiPoint(vec![Point::new(1.0, 2.0), Point::new(3.0, 4.0)]));
    g.feature(LayerKind::TrafficSign, &sign, &two).unwrap();
    // Two parts of sequence S that meet, and T: one LineString each.
    let seq = |id| {
        Record::Sequence(Sequence {
            id: Some(id),
            image_id: Some(BIG),
            captured_at: 1_600_000_000_000,
            ..Sequence::default()
        })
    };
    let line = |c: &[(f64, f64)]| Geometry::LineString(LineString::from(c.to_vec()));
    g.feature(
        LayerKind::Sequence,
        &seq("S"),
        &line(&[(0.0, 0.0), (1.0, 1.0)]),
    )
    .unwrap();
    g.feature(
        LayerKind::Sequence,
        &seq("S"),
        &line(&[(1.0, 1.0), (2.0, 1.0)]),
    )
    .unwrap();
    g.feature(
        LayerKind::Sequence,
        &seq("T"),
        &line(&[(5.0, 5.0), (6.0, 6.0)]),
    )
    .unwrap();
    g.finish().unwrap();
    assert_eq!(g.written(), 2 + 2 + 2);
    drop(g);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(count(&conn, "PRAGMA application_id"), 0x4750_4B47);
    assert_eq!(count(&conn, "PRAGMA user_version"), 10300);
    let srs: String = conn
        .query_row(
            "SELECT definition FROM gpkg_spatial_ref_sys WHERE srs_id = 4326",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(srs.starts_with("GEOGCS[\"WGS 84\""), "{srs}");

    // Ids exact, above 2^53 and at i64::MAX; times as ms and ISO text.
    let (id, creator, t, iso): (i64, i64, i64, String) = conn
        .query_row(
            "SELECT id, creator_id, captured_at, captured_at_iso FROM image ORDER BY fid LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(id as u64, BIG);
    assert_eq!(creator, i64::MAX);
    assert_eq!(
        (t, iso.as_str()),
        (1_623_493_323_123, "2021-06-12T10:22:03.123Z")
    );
    // An unknown time is NULL in both columns.
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM image WHERE captured_at IS NULL AND captured_at_iso IS NULL"
        ),
        1
    );
    let image_id: i64 = conn
        .query_row("SELECT image_id FROM sequence WHERE id = 'S'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(image_id as u64, BIG);

    // Declared geometry types, and R-tree rows = features for each table.
    let types: Vec<(String, String)> = conn
        .prepare("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expect = [
        ("image", "POINT"),
        ("sequence", "LINESTRING"),
        ("traffic_sign", "POINT"),
    ];
    let types: Vec<(&str, &str)> = types
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(types, expect);
    for (table, rows) in [("image", 2), ("sequence", 2), ("traffic_sign", 2)] {
        assert_eq!(count(&conn, &format!("SELECT count(*) FROM {table}")), rows);
        assert_eq!(
            count(&conn, &format!("SELECT count(*) FROM rtree_{table}_geom")),
            rows
        );
        assert_eq!(
            count(
                &conn,
                &format!(
                    "SELECT count(*) FROM {table} JOIN rtree_{table}_geom ON fid = \
                     rtree_{table}_geom.id"
                )
            ),
            rows
        );
        assert_eq!(
            count(
                &conn,
                &format!(
                    "SELECT count(*) FROM gpkg_extensions WHERE table_name = '{table}' \
                     AND extension_name = 'gpkg_rtree_index'"
                )
            ),
            1
        );
    }
    // The merged S runs from (0,0) to (2,1): its index box says so.
    let (minx, maxx, maxy): (f64, f64, f64) = conn
        .query_row(
            "SELECT minx, maxx, maxy FROM rtree_sequence_geom JOIN sequence ON fid = \
             rtree_sequence_geom.id WHERE sequence.id = 'S'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((minx, maxx, maxy), (0.0, 2.0, 1.0));
    // The contents' extent covers the image table's points.
    let (min_x, max_y): (f64, f64) = conn
        .query_row(
            "SELECT min_x, max_y FROM gpkg_contents WHERE table_name = 'image'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((min_x, max_y), (13.4, 52.6));

    // A blob: 'GP', version 0, flags little-endian with an xy envelope, srs 4326, 4 doubles
    // of envelope, then WKB of a point (byte order 1, type 1) and its x and y.
    let blob: Vec<u8> = conn
        .query_row("SELECT geom FROM image ORDER BY fid LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(&blob[..4], b"GP\x00\x03");
    assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 4326);
    let wkb = &blob[8 + 32..];
    assert_eq!(wkb[0], 1);
    assert_eq!(u32::from_le_bytes(wkb[1..5].try_into().unwrap()), 1);
    assert_eq!(f64::from_le_bytes(wkb[5..13].try_into().unwrap()), 13.4);
    assert_eq!(f64::from_le_bytes(wkb[13..21].try_into().unwrap()), 52.5);
}

#[test]
fn gpkg_sequences_that_do_not_join_make_a_multilinestring_table() {
    let (_dir, path) = temp_path("multi");
    let mut g = GpkgExporter::create(&path, ExportOptions::default()).unwrap();
    g.begin().unwrap();
    let seq = |id| {
        Record::Sequence(Sequence {
            id: Some(id),
            ..Sequence::default()
        })
    };
    let line = |c: &[(f64, f64)]| Geometry::LineString(LineString::from(c.to_vec()));
    g.feature(
        LayerKind::Sequence,
        &seq("A"),
        &line(&[(0.0, 0.0), (1.0, 1.0)]),
    )
    .unwrap();
    g.feature(
        LayerKind::Sequence,
        &seq("A"),
        &line(&[(5.0, 5.0), (6.0, 6.0)]),
    )
    .unwrap();
    g.feature(
        LayerKind::Sequence,
        &seq("B"),
        &line(&[(0.0, 0.0), (1.0, 1.0)]),
    )
    .unwrap();
    g.finish().unwrap();
    drop(g);
    let conn = Connection::open(&path).unwrap();
    let ty: String = conn
        .query_row(
            "SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = 'sequence'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ty, "MULTILINESTRING");
    // Every blob, B's single line too, is a MultiLineString (WKB type 5).
    let types: Vec<u32> = conn
        .prepare("SELECT geom FROM sequence")
        .unwrap()
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| {
            let b = b.unwrap();
            u32::from_le_bytes(b[8 + 32 + 1..8 + 32 + 5].try_into().unwrap())
        })
        .collect();
    assert_eq!(types, [5, 5]);
}

#[test]
fn gpkg_refuses_what_it_cannot_hold_exactly() {
    let (_dir, path) = temp_path("refuse");
    // An existing, non-empty file is never added to.
    std::fs::write(&path, b"not a database").unwrap();
    let err = GpkgExporter::create(&path, ExportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("exists and is not empty"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not a database");
    std::fs::remove_file(&path).unwrap();

    let mut g = GpkgExporter::create(&path, ExportOptions::default()).unwrap();
    g.begin().unwrap();
    let p = Geometry::Point(Point::new(0.0, 0.0));
    let err = g
        .feature(LayerKind::Image, &image(u64::MAX, 1), &p)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ExportError::IdTooLarge {
                layer: LayerKind::Image,
                column: "id",
                id: u64::MAX
            }
        ),
        "{err}"
    );
    let square = Geometry::Polygon(Polygon::new(
        LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
        vec![],
    ));
    let err = g
        .feature(LayerKind::Image, &image(1, 1), &square)
        .unwrap_err();
    assert!(err.to_string().contains("cannot hold a Polygon"), "{err}");
}
