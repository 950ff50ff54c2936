//! The MBTiles backend: behaviour, on-disk layout and files written by other tools.

mod common;

use common::*;
use mlytiles_store::{Error, MbTiles, TileRecord, TileStatus, TileStore};
use rusqlite::{Connection, params};

#[test]
fn contract_holds() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = MbTiles::open(dir.path().join("t.mbtiles"))?;
    contract(&store)?;
    assert_eq!(store.integrity_check()?, "ok");
    // Reopening sees everything.
    drop(store);
    let store = MbTiles::open(dir.path().join("t.mbtiles"))?;
    assert_eq!(store.list(14, None)?.len(), 5);
    Ok(())
}

#[test]
fn tiles_table_uses_tms_rows_gzip_and_standard_metadata() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.mbtiles");
    let store = MbTiles::open(&path)?;
    let id = tile(14, 8800, 5373);
    let bytes = sample_tile(3, 4);
    store.put(id, &TileRecord::data(bytes.clone(), t(0)))?;
    store.put(tile(14, 1, 2), &TileRecord::empty(t(0)))?;
    store.set_metadata(&[("name", "mly1_public"), ("format", "pbf")])?;

    let conn = Connection::open(&path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    let rows: Vec<(u8, u32, u32, Vec<u8>)> = conn
        .prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 1, "an empty tile has no row in `tiles`");
    let (z, x, row, data) = &rows[0];
    assert_eq!((*z, *x, *row), (14, 8800, (1 << 14) - 1 - 5373));
    assert!(mlytiles_mvt::is_gzip(data), "tiles are stored gzipped");
    assert_eq!(&*mlytiles_mvt::decompress(data, 1 << 20)?, &bytes[..]);
    let format: String =
        conn.query_row("SELECT value FROM metadata WHERE name='format'", [], |r| {
            r.get(0)
        })?;
    assert_eq!(format, "pbf");
    let unique: i64 = conn.query_row(
        "SELECT \"unique\" FROM pragma_index_list('tiles') WHERE name='tile_index'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(unique, 1);
    let status: String = conn.query_row(
        "SELECT status FROM mlytiles_tiles WHERE zoom_level=14 AND tile_column=1 AND tile_row=?1",
        [(1 << 14) - 1 - 2],
        |r| r.get(0),
    )?;
    assert_eq!(status, "empty");
    Ok(())
}

/// Creates an MBTiles file as tippecanoe or mb-util would: only `metadata` and `tiles`, gzipped
/// tile data (one plain), TMS rows.
fn foreign_file(path: &std::path::Path) -> anyhow::Result<Vec<(mlytiles_store::TileId, Vec<u8>)>> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "CREATE TABLE metadata (name text, value text);
         CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
         CREATE UNIQUE INDEX tile_index on tiles (zoom_level, tile_column, tile_row);
         INSERT INTO metadata VALUES ('name', 'other'), ('format', 'pbf'), ('minzoom', '0'), ('maxzoom', '14');",
    )?;
    let tiles = vec![
        (tile(0, 0, 0), sample_tile(10, 2)),
        (tile(14, 8800, 5373), sample_tile(11, 7)),
        (tile(14, 8801, 5373), sample_tile(12, 1)),
    ];
    for (i, (id, bytes)) in tiles.iter().enumerate() {
        let stored = if i == 2 { bytes.clone() } else { gzip(bytes) };
        conn.execute(
            "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
            params![id.z(), id.x(), id.tms_y(), stored],
        )?;
    }
    Ok(tiles)
}

#[test]
fn reads_a_file_written_by_another_tool() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("other.mbtiles");
    let tiles = foreign_file(&path)?;

    // Read-only first: nothing is changed in the file.
    let ro = MbTiles::open_read_only(&path)?;
    for (id, bytes) in &tiles {
        let got = ro.get(*id)?.expect("present");
        assert_eq!(got.info.status, TileStatus::Data);
        assert_eq!(got.info.fetched_at, None);
        assert_eq!(&*got.uncompressed()?, &bytes[..]);
        decode_all(&got.uncompressed()?)?;
    }
    assert_eq!(ro.get(tile(14, 8800, 5374))?, None);
    assert_eq!(ro.list(14, None)?.len(), 2);
    assert_eq!(ro.count_by_status()?.data, 3);
    assert_eq!(ro.metadata_value("name")?.as_deref(), Some("other"));
    assert!(matches!(
        ro.put(tiles[0].0, &TileRecord::empty(t(0))),
        Err(Error::ReadOnly { .. })
    ));
    drop(ro);
    let conn = Connection::open(&path)?;
    let ours: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name='mlytiles_tiles'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(ours, 0);
    drop(conn);

    // Read-write adds our table and keeps the tiles; a failure keeps foreign data.
    let rw = MbTiles::open(&path)?;
    rw.put(tiles[1].0, &TileRecord::failed("HTTP 500", t(1)))?;
    let got = rw.get(tiles[1].0)?.unwrap();
    assert_eq!(got.info.status, TileStatus::Data);
    assert_eq!(&*got.uncompressed()?, &tiles[1].1[..]);
    assert_eq!(got.info.failure.unwrap().reason, "HTTP 500");
    rw.put(tile(14, 5, 5), &TileRecord::data(sample_tile(4, 2), t(2)))?;
    assert_eq!(rw.list(14, None)?.len(), 3);
    assert_eq!(rw.integrity_check()?, "ok");
    Ok(())
}

#[test]
fn reads_a_file_whose_tiles_table_is_a_view() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("dedup.mbtiles");
    let conn = Connection::open(&path)?;
    conn.execute_batch(
        "CREATE TABLE metadata (name text, value text);
         CREATE TABLE map (zoom_level integer, tile_column integer, tile_row integer, tile_id text);
         CREATE TABLE images (tile_id text, tile_data blob);
         CREATE VIEW tiles AS SELECT map.zoom_level, map.tile_column, map.tile_row, images.tile_data
           FROM map JOIN images ON map.tile_id = images.tile_id;",
    )?;
    let bytes = sample_tile(5, 3);
    conn.execute("INSERT INTO images VALUES ('a', ?1)", [gzip(&bytes)])?;
    conn.execute("INSERT INTO map VALUES (1, 0, 0, 'a'), (1, 1, 0, 'a')", [])?;
    drop(conn);
    let store = MbTiles::open(&path)?;
    assert_eq!(
        &*store.get(tile(1, 0, 1))?.unwrap().uncompressed()?,
        &bytes[..]
    );
    assert_eq!(store.list(1, None)?.len(), 2);
    let err = store
        .put(tile(1, 0, 0), &TileRecord::empty(t(0)))
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    Ok(())
}

#[test]
fn bad_files_give_errors_naming_the_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("junk.mbtiles");
    std::fs::write(
        &path,
        b"this is not a database at all, just some bytes ........",
    )?;
    let err = MbTiles::open(&path).unwrap_err();
    assert!(err.to_string().contains("junk.mbtiles"), "{err}");
    let err = MbTiles::open_read_only(dir.path().join("missing.mbtiles")).unwrap_err();
    assert!(err.to_string().contains("missing.mbtiles"), "{err}");

    // Corrupt gzip and an unknown status are reported, not panicked on.
    let path = dir.path().join("odd.mbtiles");
    let store = MbTiles::open(&path)?;
    drop(store);
    let conn = Connection::open(&path)?;
    conn.execute(
        "INSERT INTO tiles VALUES (2, 1, 1, x'1f8b0800deadbeef')",
        [],
    )?;
    conn.execute(
        "INSERT INTO mlytiles_tiles (zoom_level, tile_column, tile_row, status) VALUES (2, 3, 3, 'weird')",
        [],
    )?;
    conn.execute("INSERT INTO tiles VALUES (2, 99, 1, x'00')", [])?;
    drop(conn);
    let store = MbTiles::open(&path)?;
    let got = store.get(tile(2, 1, 2))?.unwrap();
    let err = got.uncompressed().unwrap_err();
    assert!(err.to_string().contains("2/1/2"), "{err}");
    let err = store.get(tile(2, 3, 0)).unwrap_err();
    assert!(
        err.to_string().contains("2/3/0") && err.to_string().contains("weird"),
        "{err}"
    );
    assert!(store.list(2, None).is_err());
    Ok(())
}

#[test]
fn a_second_connection_sees_committed_writes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.mbtiles");
    let w = MbTiles::open(&path)?;
    let r = MbTiles::open_read_only(&path)?;
    let id = tile(10, 1, 1);
    w.put(id, &TileRecord::data(sample_tile(1, 1), t(0)))?;
    assert_eq!(r.info(id)?.unwrap().status, TileStatus::Data);
    Ok(())
}

#[test]
fn list_info_agrees_with_info_for_every_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = MbTiles::open(dir.path().join("t.mbtiles")).unwrap();
    let now = chrono::Utc::now();
    let t = |x, y| mlytiles_store::TileId::new(5, x, y).unwrap();
    store
        .put(
            t(1, 1),
            &TileRecord::data(vec![0x1a, 0x00], now).with_etag("\"e\""),
        )
        .unwrap();
    store.put(t(2, 1), &TileRecord::empty(now)).unwrap();
    store
        .put(t(3, 1), &TileRecord::failed("HTTP 503", now))
        .unwrap();
    store
        .put(t(1, 1), &TileRecord::failed("timeout", now))
        .unwrap();
    store
        .put_many(&[
            (t(4, 1), TileRecord::data(vec![0x1a, 0x00], now)),
            (t(5, 1), TileRecord::empty(now)),
        ])
        .unwrap();
    let listed = store.list_info(5, None).unwrap();
    assert_eq!(listed.len(), 5);
    for (tile, info) in &listed {
        assert_eq!(Some(info), store.info(*tile).unwrap().as_ref(), "{tile}");
    }
    assert_eq!(listed[0].1.etag.as_deref(), Some("\"e\""));
    assert_eq!(listed[0].1.failure.as_ref().unwrap().reason, "timeout");
}

#[test]
fn a_tiles_row_without_bytes_is_empty_to_get_info_and_list_info_alike() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.mbtiles");
    drop(MbTiles::open(&path)?);
    // Another tool's rows: zero-length and NULL tile_data, no status rows (TMS row 30 = y 1).
    let conn = Connection::open(&path)?;
    conn.execute("INSERT INTO tiles VALUES (5, 1, 30, x'')", [])?;
    conn.execute("INSERT INTO tiles VALUES (5, 2, 30, NULL)", [])?;
    drop(conn);
    let store = MbTiles::open_read_only(&path)?;
    let listed = store.list_info(5, None)?;
    assert_eq!(listed.len(), 2);
    for (id, info) in &listed {
        assert_eq!(info.status, TileStatus::Empty, "{id}");
        assert_eq!(store.info(*id)?.as_ref(), Some(info), "{id}");
        let got = store.get(*id)?.expect("present");
        assert_eq!(&got.info, info, "{id}");
        assert!(got.data.is_empty(), "{id}");
    }
    Ok(())
}
