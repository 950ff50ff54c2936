//! The MBTiles backend: one SQLite file with the standard `metadata` and `tiles` tables and our
//! status table `mlytiles_tiles`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use mlytiles_tile::{BBox, TileId};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::error::{Error, Location, Result};
use crate::record::{
    Failure, StatusCounts, StoredTile, TileBody, TileInfo, TileRecord, TileStatus, clip_reason,
    from_ms,
};
use crate::{Ranges, TileStore};

/// How long a write waits for another connection's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

// MBTiles 1.3: `metadata (name text, value text)`, `tiles (zoom_level integer, tile_column
// integer, tile_row integer, tile_data blob)`, unique indexes as the spec recommends.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS metadata (name text, value text);
CREATE UNIQUE INDEX IF NOT EXISTS name ON metadata (name);
CREATE TABLE IF NOT EXISTS tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row);
";

// Our status and timing, keyed like `tiles` (TMS rows). Times are Unix milliseconds.
const STATUS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mlytiles_tiles (
    zoom_level integer NOT NULL,
    tile_column integer NOT NULL,
    tile_row integer NOT NULL,
    status text NOT NULL,
    fetched_at integer,
    etag text,
    last_modified text,
    failure_reason text,
    failed_at integer,
    PRIMARY KEY (zoom_level, tile_column, tile_row)
);
";

/// An MBTiles file (spec 1.3) holding one tileset, readable by GDAL, QGIS and other MBTiles
/// readers.
///
/// - Tiles go in the standard `tiles` table with `tile_row` in TMS order
///   ([`TileId::tms_y`]). Plain tile bytes are gzip-compressed before they are stored, as
///   tippecanoe and Mapbox do; bytes that already are gzip data are stored as given. Reading
///   accepts both ([`StoredTile::uncompressed`]).
/// - Status, fetch time, `ETag`, `Last-Modified` and the last failure go in an extra table
///   `mlytiles_tiles`, written in the same transaction as the tile.
/// - The file runs in WAL mode with `synchronous=NORMAL` and a 30 s busy timeout: readers on
///   other connections or processes work while one writes, and a process killed at any moment
///   leaves a consistent file that loses at most the write in flight.
///
/// A file written by another tool (only `metadata` and `tiles`) can be opened: tiles without a
/// status row read as [`TileStatus::Data`] with unknown fetch time. [`MbTiles::open`] adds our
/// table to it; [`MbTiles::open_read_only`] changes nothing. If `tiles` is a view (the
/// deduplicated `map`/`images` layout), the file can be read but not written.
///
/// The connection is shared behind a mutex: threads sharing one `MbTiles` take turns; open
/// more `MbTiles` on the same file for parallel readers.
#[derive(Debug)]
pub struct MbTiles {
    path: PathBuf,
    conn: Mutex<Connection>,
    read_only: bool,
    /// `tiles` is a view: readable, not writable.
    tiles_is_view: bool,
    /// `mlytiles_tiles` exists.
    has_status: bool,
}

impl MbTiles {
    /// Opens `path` for reading and writing, creating the file and the tables that are missing.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the file cannot be opened or is not an SQLite database.
    pub fn open(path: impl AsRef<Path>) -> Result<MbTiles> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let sql = |source| Error::Sqlite {
            at: Location::new(&path, None),
            source,
        };
        let mut conn = Connection::open_with_flags(&path, flags).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // `journal_mode` answers with the mode in force; it stays WAL for the file once set.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Unsupported {
                at: Location::new(&path, None),
                what: format!("journal mode {mode:?} (WAL could not be enabled)"),
            });
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let tiles_is_view = {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql)?;
            let kind = object_type(&tx, "tiles").map_err(sql)?;
            if kind.is_none() {
                tx.execute_batch(SCHEMA).map_err(sql)?;
            } else if object_type(&tx, "metadata").map_err(sql)?.is_none() {
                tx.execute_batch(
                    "CREATE TABLE metadata (name text, value text);
                     CREATE UNIQUE INDEX IF NOT EXISTS name ON metadata (name);",
                )
                .map_err(sql)?;
            }
            tx.execute_batch(STATUS_SCHEMA).map_err(sql)?;
            tx.commit().map_err(sql)?;
            kind.as_deref() == Some("view")
        };
        Ok(MbTiles {
            path,
            conn: Mutex::new(conn),
            read_only: false,
            tiles_is_view,
            has_status: true,
        })
    }

    /// Opens an existing file read-only, changing nothing in it (not even the journal mode).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the file does not exist, is not an SQLite database or has no
    /// `tiles` table.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<MbTiles> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let sql = |source| Error::Sqlite {
            at: Location::new(&path, None),
            source,
        };
        let conn = Connection::open_with_flags(&path, flags).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let kind = object_type(&conn, "tiles").map_err(sql)?;
        let Some(kind) = kind else {
            return Err(Error::Corrupt {
                at: Location::new(&path, None),
                detail: "no `tiles` table: not an MBTiles file".into(),
            });
        };
        let has_status = object_type(&conn, "mlytiles_tiles").map_err(sql)?.is_some();
        Ok(MbTiles {
            path,
            conn: Mutex::new(conn),
            read_only: true,
            tiles_is_view: kind == "view",
            has_status,
        })
    }

    /// Runs `PRAGMA integrity_check` and returns its answer, `"ok"` for a sound file.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the check cannot run.
    pub fn integrity_check(&self) -> Result<String> {
        let conn = self.lock();
        let rows: Vec<String> = conn
            .prepare("PRAGMA integrity_check")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(|e| self.sql(None, e))?;
        Ok(rows.join("\n"))
    }

    /// Rows of the `tiles` table that name no tile: a zoom, column or row that is not an
    /// integer, a zoom above [`MAX_ZOOM`](mlytiles_tile::MAX_ZOOM), or a column or row outside
    /// the zoom's grid. Returns how many there are and the first `limit` of them, each as
    /// `zoom_level Z, tile_column X, tile_row Y` (values quoted as SQL would).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] if the query fails.
    pub fn rows_outside_schema(&self, limit: usize) -> Result<(u64, Vec<String>)> {
        let max = mlytiles_tile::MAX_ZOOM;
        let outside = format!(
            "typeof(zoom_level) != 'integer' OR typeof(tile_column) != 'integer' \
             OR typeof(tile_row) != 'integer' OR zoom_level < 0 OR zoom_level > {max} \
             OR tile_column < 0 OR tile_row < 0 \
             OR tile_column >= (1 << zoom_level) OR tile_row >= (1 << zoom_level)"
        );
        let conn = self.lock();
        let count: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM tiles WHERE {outside}"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(None, e))?;
        let count = count.max(0) as u64;
        let rows = conn
            .prepare(&format!(
                "SELECT quote(zoom_level), quote(tile_column), quote(tile_row) FROM tiles \
                 WHERE {outside} LIMIT ?1"
            ))
            .and_then(|mut s| {
                s.query_map([limit as i64], |r| {
                    Ok(format!(
                        "zoom_level {}, tile_column {}, tile_row {}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| self.sql(None, e))?;
        Ok((count, rows))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic in another thread cannot leave the connection half-used: every use is one
        // statement or one transaction, rolled back on drop.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sql(&self, tile: Option<TileId>, source: rusqlite::Error) -> Error {
        Error::Sqlite {
            at: Location::new(&self.path, tile),
            source,
        }
    }

    /// The tile of a row whose first two columns are `tile_column` and `tile_row` (TMS) at zoom `z`.
    fn tile_of_row(&self, z: u8, row: &rusqlite::Row<'_>) -> Result<TileId> {
        let sql = |e| self.sql(None, e);
        let x: i64 = row.get(0).map_err(sql)?;
        let tms: i64 = row.get(1).map_err(sql)?;
        u32::try_from(x)
            .ok()
            .zip(u32::try_from(tms).ok())
            .and_then(|(x, tms)| TileId::new(z, x, tms).ok())
            .map(|t| t.flip_y())
            .ok_or_else(|| self.corrupt(None, format!("invalid tile {z}/{x}/{tms} (TMS row)")))
    }

    fn corrupt(&self, tile: Option<TileId>, detail: String) -> Error {
        Error::Corrupt {
            at: Location::new(&self.path, tile),
            detail,
        }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
            });
        }
        if self.tiles_is_view {
            return Err(Error::Unsupported {
                at: Location::new(&self.path, None),
                what: "writing to an MBTiles file whose `tiles` is a view".into(),
            });
        }
        Ok(())
    }

    /// Reads the tile (bytes if `with_data`) and its status row in one snapshot.
    fn read(&self, tile: TileId, with_data: bool) -> Result<Option<StoredTile>> {
        let mut conn = self.lock();
        let sql = |e| self.sql(Some(tile), e);
        let tx = conn.transaction().map_err(sql)?;
        let key = params![tile.z(), tile.x(), tile.tms_y()];
        // `Some(bytes)` for a `tiles` row (NULL tile_data read as no bytes).
        let (has_bytes, bytes) = if with_data {
            let data: Option<Option<Vec<u8>>> = tx
                .query_row(
                    "SELECT tile_data FROM tiles WHERE zoom_level=?1 AND tile_column=?2 AND tile_row=?3",
                    key,
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?;
            let bytes = data.map(Option::unwrap_or_default);
            (
                bytes.as_ref().map(|b| !b.is_empty()),
                bytes.unwrap_or_default(),
            )
        } else {
            let has_bytes: Option<bool> = tx
                .query_row(
                    "SELECT coalesce(length(tile_data) > 0, 0) FROM tiles
                     WHERE zoom_level=?1 AND tile_column=?2 AND tile_row=?3",
                    key,
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?;
            (has_bytes, Vec::new())
        };
        let row = if self.has_status {
            tx.query_row(
                "SELECT status, fetched_at, etag, last_modified, failure_reason, failed_at
                 FROM mlytiles_tiles WHERE zoom_level=?1 AND tile_column=?2 AND tile_row=?3",
                key,
                |r| StatusRow::from_row(r, 0),
            )
            .optional()
            .map_err(sql)?
        } else {
            None
        };
        drop(tx);
        Ok(self
            .tile_info(tile, has_bytes, row)?
            .map(|info| StoredTile {
                tile,
                data: if info.status == TileStatus::Data {
                    bytes
                } else {
                    Vec::new()
                },
                info,
            }))
    }

    /// What the store says of a tile, from whether its `tiles` row has bytes (`None`: no
    /// row) and its status row; `None` when it holds nothing for the tile. Shared by
    /// [`read`](Self::read) and `list_info`, so one tile reads the same either way.
    fn tile_info(
        &self,
        tile: TileId,
        has_bytes: Option<bool>,
        row: Option<StatusRow>,
    ) -> Result<Option<TileInfo>> {
        let row_status = match &row {
            Some(r) => Some(TileStatus::parse(&r.status).ok_or_else(|| {
                self.corrupt(Some(tile), format!("unknown status {:?}", r.status))
            })?),
            None => None,
        };
        let failure = row.as_ref().and_then(|r| {
            Some(Failure {
                reason: r.failure_reason.clone()?,
                at: from_ms(r.failed_at?)?,
            })
        });
        // The `tiles` row is authoritative for data (another tool may have written it); a
        // zero-length or NULL tile_data is an empty tile.
        let status = match (has_bytes, row_status) {
            (Some(true), _) => TileStatus::Data,
            (Some(false), _) => TileStatus::Empty,
            (None, Some(TileStatus::Data) | None) => return Ok(None),
            (None, Some(s)) => s,
        };
        // Times and validators count only when the status row agrees with the tile.
        let row = row.filter(|_| row_status == Some(status));
        let mut info = TileInfo {
            status,
            fetched_at: row.as_ref().and_then(|r| r.fetched_at).and_then(from_ms),
            etag: row.as_ref().and_then(|r| r.etag.clone()),
            last_modified: row.and_then(|r| r.last_modified),
            failure,
        };
        if status == TileStatus::Failed {
            info.fetched_at = None;
            if info.failure.is_none() {
                return Err(self.corrupt(Some(tile), "failed tile without a failure reason".into()));
            }
        }
        Ok(Some(info))
    }

    /// The body as it will be stored: plain bytes gzip-compressed, zero bytes as empty;
    /// `None` when the record's body is stored as it is.
    fn prepare_body(&self, tile: TileId, body: &TileBody) -> Result<Option<TileBody>> {
        Ok(match body {
            TileBody::Data(bytes) if bytes.is_empty() => Some(TileBody::Empty),
            TileBody::Data(bytes) if !mlytiles_mvt::is_gzip(bytes) => {
                Some(TileBody::Data(gzip(bytes).map_err(|source| Error::Io {
                    at: Location::new(&self.path, Some(tile)),
                    source,
                })?))
            }
            _ => None,
        })
    }

    /// Writes one record inside the caller's write transaction, with cached statements.
    fn put_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        tile: TileId,
        record: &TileRecord,
        body: &TileBody,
    ) -> Result<()> {
        let at = record.fetched_at.timestamp_millis();
        let key = (tile.z(), tile.x(), tile.tms_y());
        let sql = |e| self.sql(Some(tile), e);
        let exec = |q: &str, p: &[&dyn rusqlite::ToSql]| -> Result<()> {
            tx.prepare_cached(q)
                .and_then(|mut st| st.execute(p))
                .map(drop)
                .map_err(sql)
        };
        let delete_tile =
            "DELETE FROM tiles WHERE zoom_level=?1 AND tile_column=?2 AND tile_row=?3";
        let upsert_status = "INSERT OR REPLACE INTO mlytiles_tiles
            (zoom_level, tile_column, tile_row, status, fetched_at, etag, last_modified,
             failure_reason, failed_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL)";
        match body {
            TileBody::Data(bytes) => {
                // DELETE + INSERT rather than INSERT OR REPLACE: files from other tools may
                // lack the unique index.
                exec(delete_tile, params![key.0, key.1, key.2])?;
                exec(
                    "INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![key.0, key.1, key.2, bytes],
                )?;
                exec(
                    upsert_status,
                    params![
                        key.0,
                        key.1,
                        key.2,
                        "data",
                        at,
                        record.etag,
                        record.last_modified
                    ],
                )?;
            }
            TileBody::Empty => {
                exec(delete_tile, params![key.0, key.1, key.2])?;
                exec(
                    upsert_status,
                    params![
                        key.0,
                        key.1,
                        key.2,
                        "empty",
                        at,
                        record.etag,
                        record.last_modified
                    ],
                )?;
            }
            TileBody::Failed { reason } => {
                let reason = clip_reason(reason);
                let has_tile = tx
                    .prepare_cached(
                        "SELECT 1 FROM tiles WHERE zoom_level=?1 AND tile_column=?2 AND tile_row=?3",
                    )
                    .and_then(|mut st| {
                        st.query_row(params![key.0, key.1, key.2], |_| Ok(()))
                            .optional()
                    })
                    .map_err(sql)?
                    .is_some();
                let status: Option<String> = tx
                    .prepare_cached(
                        "SELECT status FROM mlytiles_tiles
                         WHERE zoom_level=?1 AND tile_column=?2 AND tile_row=?3",
                    )
                    .and_then(|mut st| {
                        st.query_row(params![key.0, key.1, key.2], |r| r.get(0))
                            .optional()
                    })
                    .map_err(sql)?;
                let keeps_result = has_tile || status.as_deref() == Some("empty");
                if keeps_result {
                    // A failure never replaces a result: keep it, note the failure beside it.
                    if status.is_none() || (has_tile && status.as_deref() != Some("data")) {
                        exec(
                            "INSERT OR REPLACE INTO mlytiles_tiles
                             (zoom_level, tile_column, tile_row, status) VALUES (?1, ?2, ?3, 'data')",
                            params![key.0, key.1, key.2],
                        )?;
                    }
                    exec(
                        "UPDATE mlytiles_tiles SET failure_reason=?4, failed_at=?5
                         WHERE zoom_level=?1 AND tile_column=?2 AND tile_row=?3",
                        params![key.0, key.1, key.2, reason, at],
                    )?;
                } else {
                    exec(
                        "INSERT OR REPLACE INTO mlytiles_tiles
                         (zoom_level, tile_column, tile_row, status, failure_reason, failed_at)
                         VALUES (?1, ?2, ?3, 'failed', ?4, ?5)",
                        params![key.0, key.1, key.2, reason, at],
                    )?;
                }
            }
        }
        Ok(())
    }
}

struct StatusRow {
    status: String,
    fetched_at: Option<i64>,
    etag: Option<String>,
    last_modified: Option<String>,
    failure_reason: Option<String>,
    failed_at: Option<i64>,
}

impl StatusRow {
    /// The six status columns, `status, fetched_at, etag, last_modified, failure_reason,
    /// failed_at`, starting at column `first`.
    fn from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<StatusRow> {
        Ok(StatusRow {
            status: r.get(first)?,
            fetched_at: r.get(first + 1)?,
            etag: r.get(first + 2)?,
            last_modified: r.get(first + 3)?,
            failure_reason: r.get(first + 4)?,
            failed_at: r.get(first + 5)?,
        })
    }
}

/// `table`, `view` or `None` for a schema object.
fn object_type(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT type FROM sqlite_master WHERE name=?1 AND type IN ('table','view')",
        [name],
        |r| r.get(0),
    )
    .optional()
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 64),
        flate2::Compression::default(),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

impl TileStore for MbTiles {
    fn path(&self) -> &Path {
        &self.path
    }

    fn get(&self, tile: TileId) -> Result<Option<StoredTile>> {
        self.read(tile, true)
    }

    fn info(&self, tile: TileId) -> Result<Option<TileInfo>> {
        Ok(self.read(tile, false)?.map(|t| t.info))
    }

    fn put(&self, tile: TileId, record: &TileRecord) -> Result<()> {
        self.check_writable()?;
        let body = self.prepare_body(tile, &record.body)?;
        let mut conn = self.lock();
        let sql = |e| self.sql(Some(tile), e);
        // IMMEDIATE: take the write lock up front so a busy writer is waited for (a deferred
        // transaction upgrading to a writer would fail at once instead).
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        self.put_in(&tx, tile, record, body.as_ref().unwrap_or(&record.body))?;
        tx.commit().map_err(sql)
    }

    fn put_many(&self, records: &[(TileId, TileRecord)]) -> Result<()> {
        self.check_writable()?;
        let bodies = records
            .iter()
            .map(|(tile, r)| self.prepare_body(*tile, &r.body))
            .collect::<Result<Vec<_>>>()?;
        let mut conn = self.lock();
        let sql = |e| self.sql(None, e);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        for ((tile, record), body) in records.iter().zip(&bodies) {
            self.put_in(&tx, *tile, record, body.as_ref().unwrap_or(&record.body))?;
        }
        tx.commit().map_err(sql)
    }

    fn list(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileStatus)>> {
        let Some(r) = Ranges::new(z, bbox) else {
            return Ok(Vec::new());
        };
        let (row0, row1) = r.tms_rows(z);
        let range = r.sql("");
        let mut conn = self.lock();
        let sql = |e| self.sql(None, e);
        let tx = conn.transaction().map_err(sql)?;
        let mut out: BTreeMap<TileId, TileStatus> = BTreeMap::new();
        let mut queries = vec![format!(
            "SELECT tile_column, tile_row, length(tile_data) > 0 FROM tiles WHERE {range}"
        )];
        if self.has_status {
            queries.push(format!(
                "SELECT tile_column, tile_row, status FROM mlytiles_tiles
                 WHERE {range} AND status != 'data'"
            ));
        }
        for (i, q) in queries.iter().enumerate() {
            let mut stmt = tx.prepare(q).map_err(sql)?;
            let mut rows = stmt
                .query(params![z, r.x0, r.x1, row0, row1])
                .map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let tile = self.tile_of_row(z, row)?;
                let status = if i == 0 {
                    let has_bytes: Option<bool> = row.get(2).map_err(sql)?;
                    if has_bytes == Some(true) {
                        TileStatus::Data
                    } else {
                        TileStatus::Empty
                    }
                } else {
                    let s: String = row.get(2).map_err(sql)?;
                    TileStatus::parse(&s)
                        .ok_or_else(|| self.corrupt(Some(tile), format!("unknown status {s:?}")))?
                };
                // A row in `tiles` wins over a status row.
                out.entry(tile).or_insert(status);
            }
        }
        Ok(out.into_iter().collect())
    }

    fn list_info(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileInfo)>> {
        let Some(r) = Ranges::new(z, bbox) else {
            return Ok(Vec::new());
        };
        let (row0, row1) = r.tms_rows(z);
        let range = |t: &str| r.sql(&format!("{t}."));
        let status_cols =
            "m.status, m.fetched_at, m.etag, m.last_modified, m.failure_reason, m.failed_at";
        let mut queries = Vec::new();
        if self.has_status {
            queries.push(format!(
                "SELECT t.tile_column, t.tile_row, coalesce(length(t.tile_data) > 0, 0), {status_cols}
                 FROM tiles t LEFT JOIN mlytiles_tiles m ON m.zoom_level=t.zoom_level
                   AND m.tile_column=t.tile_column AND m.tile_row=t.tile_row
                 WHERE {}",
                range("t")
            ));
            queries.push(format!(
                "SELECT m.tile_column, m.tile_row, NULL, {status_cols}
                 FROM mlytiles_tiles m WHERE {} AND m.status != 'data' AND NOT EXISTS
                   (SELECT 1 FROM tiles t WHERE t.zoom_level=m.zoom_level
                    AND t.tile_column=m.tile_column AND t.tile_row=m.tile_row)",
                range("m")
            ));
        } else {
            queries.push(format!(
                "SELECT t.tile_column, t.tile_row, coalesce(length(t.tile_data) > 0, 0),
                        NULL, NULL, NULL, NULL, NULL, NULL
                 FROM tiles t WHERE {}",
                range("t")
            ));
        }
        let mut conn = self.lock();
        let sql = |e| self.sql(None, e);
        let tx = conn.transaction().map_err(sql)?;
        let mut out = Vec::new();
        for q in &queries {
            let mut stmt = tx.prepare(q).map_err(sql)?;
            let mut rows = stmt
                .query(params![z, r.x0, r.x1, row0, row1])
                .map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let tile = self.tile_of_row(z, row)?;
                let has_bytes: Option<bool> = row.get(2).map_err(sql)?;
                let has_status_row =
                    row.get_ref(3).map_err(sql)? != rusqlite::types::ValueRef::Null;
                let status_row = if has_status_row {
                    Some(StatusRow::from_row(row, 3).map_err(sql)?)
                } else {
                    None
                };
                let Some(info) = self.tile_info(tile, has_bytes, status_row)? else {
                    continue;
                };
                out.push((tile, info));
            }
        }
        out.sort_by_key(|(t, _)| *t);
        Ok(out)
    }

    fn count_by_status(&self) -> Result<StatusCounts> {
        let mut conn = self.lock();
        let sql = |e| self.sql(None, e);
        let tx = conn.transaction().map_err(sql)?;
        let count = |q: &str| -> Result<u64> {
            let n: i64 = tx.query_row(q, [], |r| r.get(0)).map_err(sql)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let mut counts = StatusCounts {
            data: count("SELECT count(*) FROM tiles WHERE length(tile_data) > 0")?,
            empty: count(
                "SELECT count(*) FROM tiles WHERE NOT length(tile_data) > 0 OR tile_data IS NULL",
            )?,
            failed: 0,
        };
        if self.has_status {
            let not_in_tiles = "NOT EXISTS (SELECT 1 FROM tiles t WHERE t.zoom_level=m.zoom_level
                AND t.tile_column=m.tile_column AND t.tile_row=m.tile_row)";
            counts.empty += count(&format!(
                "SELECT count(*) FROM mlytiles_tiles m WHERE status='empty' AND {not_in_tiles}"
            ))?;
            counts.failed = count(&format!(
                "SELECT count(*) FROM mlytiles_tiles m WHERE status='failed' AND {not_in_tiles}"
            ))?;
        }
        Ok(counts)
    }

    fn metadata(&self) -> Result<Vec<(String, String)>> {
        let conn = self.lock();
        let sql = |e| self.sql(None, e);
        if object_type(&conn, "metadata").map_err(sql)?.is_none() {
            return Ok(Vec::new());
        }
        let mut stmt = conn
            .prepare("SELECT name, value FROM metadata ORDER BY name")
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }

    fn set_metadata(&self, entries: &[(&str, &str)]) -> Result<()> {
        self.check_writable()?;
        let mut conn = self.lock();
        let sql = |e| self.sql(None, e);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        for (name, value) in entries {
            tx.execute("DELETE FROM metadata WHERE name=?1", [name])
                .map_err(sql)?;
            tx.execute(
                "INSERT INTO metadata (name, value) VALUES (?1, ?2)",
                [name, value],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }
}
