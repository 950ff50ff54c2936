//! What a store holds per tile: records written, tiles read back, statuses.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use mlytiles_tile::TileId;

use crate::error::{Error, Result};

/// The longest failure reason kept, in bytes; longer reasons are cut at a character boundary.
pub const MAX_REASON_LEN: usize = 1024;

/// The outcome of fetching a tile, as [`TileStore::list`](crate::TileStore::list) and
/// [`TileStore::count_by_status`](crate::TileStore::count_by_status) report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileStatus {
    /// The store holds the tile's bytes.
    Data,
    /// The tile is known to be empty (the server answered with no body or no features).
    Empty,
    /// Every attempt so far failed; the store holds no result for the tile.
    Failed,
}

impl TileStatus {
    /// `"data"`, `"empty"` or `"failed"`, as written in the stores.
    pub const fn as_str(self) -> &'static str {
        match self {
            TileStatus::Data => "data",
            TileStatus::Empty => "empty",
            TileStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<TileStatus> {
        match s {
            "data" => Some(TileStatus::Data),
            "empty" => Some(TileStatus::Empty),
            "failed" => Some(TileStatus::Failed),
            _ => None,
        }
    }
}

impl std::fmt::Display for TileStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The last failed attempt to fetch a tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why it failed, e.g. `HTTP 503`.
    pub reason: String,
    /// When it failed.
    pub at: DateTime<Utc>,
}

/// Everything a store knows about one tile, except its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileInfo {
    /// Data, empty or failed.
    pub status: TileStatus,
    /// When the data or the empty answer was fetched; `None` for a failed tile and for tiles
    /// written by another tool.
    pub fetched_at: Option<DateTime<Utc>>,
    /// The `ETag` the server sent with the data, for conditional requests.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent with the data, for conditional requests.
    pub last_modified: Option<String>,
    /// The last failed attempt since the last success. Always `Some` when `status` is
    /// [`TileStatus::Failed`]; may be `Some` next to data or an empty answer, because a failure
    /// never replaces a result.
    pub failure: Option<Failure>,
}

/// A tile read back from a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTile {
    /// The tile.
    pub tile: TileId,
    /// The bytes exactly as stored: gzip-compressed or not, empty unless `info.status` is
    /// [`TileStatus::Data`].
    pub data: Vec<u8>,
    /// Status and timing.
    pub info: TileInfo,
}

impl StoredTile {
    /// The tile bytes without gzip compression: borrowed if they are stored plain, decompressed
    /// (up to [`mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED`] bytes) otherwise. Empty for an empty or
    /// failed tile.
    ///
    /// # Errors
    ///
    /// [`Error::Decompress`] if the stored gzip data is corrupt or too large.
    pub fn uncompressed(&self) -> Result<Cow<'_, [u8]>> {
        uncompressed(self.tile, &self.data)
    }
}

/// The stored bytes of `tile` without gzip compression: borrowed if they are plain,
/// decompressed (up to [`mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED`] bytes) otherwise. What
/// [`StoredTile::uncompressed`] gives, for bytes held otherwise (a [`crate::TileBytes`]).
///
/// # Errors
///
/// [`Error::Decompress`] if the gzip data is corrupt or too large.
pub fn uncompressed(tile: TileId, data: &[u8]) -> Result<Cow<'_, [u8]>> {
    mlytiles_mvt::decompress(data, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
        .map_err(|source| Error::Decompress { tile, source })
}

/// What happened when a tile was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileBody {
    /// The tile bytes, plain or gzip-compressed. Zero bytes are stored as [`TileBody::Empty`].
    Data(Vec<u8>),
    /// The tile exists but is empty.
    Empty,
    /// The fetch failed; a failure never replaces stored data or an empty answer.
    Failed {
        /// Why, e.g. `HTTP 503` (cut to [`MAX_REASON_LEN`] bytes).
        reason: String,
    },
}

/// One write to a store: the body and when it was fetched, with the validators a server sent.
///
/// # Examples
///
/// ```
/// use mlytiles_store::{TileBody, TileRecord};
///
/// let now = chrono::Utc::now();
/// let record = TileRecord::data(vec![0x1a, 0x00], now).with_etag("\"abc\"");
/// assert_eq!(record.body, TileBody::Data(vec![0x1a, 0x00]));
/// assert_eq!(TileRecord::failed("HTTP 503", now).body, TileBody::Failed { reason: "HTTP 503".into() });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileRecord {
    /// Data, empty or failed.
    pub body: TileBody,
    /// When the answer (or the failure) came.
    pub fetched_at: DateTime<Utc>,
    /// The `ETag` response header, if any.
    pub etag: Option<String>,
    /// The `Last-Modified` response header, if any.
    pub last_modified: Option<String>,
}

impl TileRecord {
    /// A record of tile bytes.
    pub fn data(bytes: Vec<u8>, fetched_at: DateTime<Utc>) -> TileRecord {
        TileRecord::new(TileBody::Data(bytes), fetched_at)
    }

    /// A record of an empty tile.
    pub fn empty(fetched_at: DateTime<Utc>) -> TileRecord {
        TileRecord::new(TileBody::Empty, fetched_at)
    }

    /// A record of a failed fetch.
    pub fn failed(reason: impl Into<String>, at: DateTime<Utc>) -> TileRecord {
        TileRecord::new(
            TileBody::Failed {
                reason: reason.into(),
            },
            at,
        )
    }

    /// A record without validators.
    pub fn new(body: TileBody, fetched_at: DateTime<Utc>) -> TileRecord {
        TileRecord {
            body,
            fetched_at,
            etag: None,
            last_modified: None,
        }
    }

    /// Sets the `ETag`.
    pub fn with_etag(mut self, etag: impl Into<String>) -> TileRecord {
        self.etag = Some(etag.into());
        self
    }

    /// Sets the `Last-Modified` value.
    pub fn with_last_modified(mut self, last_modified: impl Into<String>) -> TileRecord {
        self.last_modified = Some(last_modified.into());
        self
    }
}

/// Number of tiles per status in a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Tiles with data.
    pub data: u64,
    /// Tiles known to be empty.
    pub empty: u64,
    /// Tiles whose fetches all failed.
    pub failed: u64,
}

impl StatusCounts {
    /// All tiles the store knows.
    pub fn total(&self) -> u64 {
        self.data + self.empty + self.failed
    }

    pub(crate) fn add(&mut self, status: TileStatus) {
        match status {
            TileStatus::Data => self.data += 1,
            TileStatus::Empty => self.empty += 1,
            TileStatus::Failed => self.failed += 1,
        }
    }
}

/// Cuts a failure reason to [`MAX_REASON_LEN`] bytes at a character boundary.
pub(crate) fn clip_reason(reason: &str) -> &str {
    if reason.len() <= MAX_REASON_LEN {
        return reason;
    }
    let mut end = MAX_REASON_LEN;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Milliseconds since the Unix epoch to a time, `None` if out of chrono's range.
pub(crate) fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}
