//! Claims on tiles in flight, shared by every run using one cache folder, so that runs over
//! the same area at the same time do not request the same tiles.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use mlytiles_tile::TileId;
use rusqlite::{Connection, params};

use crate::budget::BUDGET_FILE;
use crate::error::{Error, Result};

/// How long a claim holds without being renewed: a run renews its claims well within this,
/// so only the claims of a process that died run out.
pub(crate) const LEASE: Duration = Duration::from_secs(60);

/// How often a run renews its claims.
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(15);

/// The claims table in the cache folder's budget file: one row per tile in flight, with its
/// owner (one per [`Fetcher`](crate::Fetcher)) and when the claim runs out.
#[derive(Debug)]
pub(crate) struct Claims {
    path: PathBuf,
    conn: Mutex<Connection>,
    owner: String,
}

impl Claims {
    /// Opens the claims of the cache folder `dir` (whose budget file exists).
    pub(crate) fn open(dir: &Path) -> Result<Claims> {
        let path = dir.join(BUDGET_FILE);
        let err = |source| Error::Budget {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        conn.pragma_update(None, "synchronous", "OFF")
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS claims (
                tileset TEXT NOT NULL, z INTEGER NOT NULL, x INTEGER NOT NULL,
                y INTEGER NOT NULL, owner TEXT NOT NULL, expires INTEGER NOT NULL,
                PRIMARY KEY (tileset, z, x, y)) WITHOUT ROWID",
        )
        .map_err(err)?;
        let owner = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        Ok(Claims {
            path,
            conn: Mutex::new(conn),
            owner,
        })
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Budget {
            path: self.path.clone(),
            source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims the tile for this owner: `false` if another owner holds a claim that has not
    /// run out.
    pub(crate) fn claim(&self, tileset: &str, tile: TileId) -> Result<bool> {
        let now = Utc::now().timestamp_millis();
        let expires = now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX / 2);
        let conn = self.lock();
        let changed = conn
            .prepare_cached(
                "INSERT INTO claims (tileset, z, x, y, owner, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (tileset, z, x, y) DO UPDATE
                 SET owner = excluded.owner, expires = excluded.expires
                 WHERE claims.owner = excluded.owner OR claims.expires < ?7",
            )
            .and_then(|mut st| {
                st.execute(params![
                    tileset,
                    tile.z(),
                    tile.x(),
                    tile.y(),
                    self.owner,
                    expires,
                    now
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    /// Gives up this owner's claims on `tiles` (their results are stored).
    pub(crate) fn release(&self, tileset: &str, tiles: &[TileId]) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        for t in tiles {
            tx.prepare_cached(
                "DELETE FROM claims WHERE tileset=?1 AND z=?2 AND x=?3 AND y=?4 AND owner=?5",
            )
            .and_then(|mut st| st.execute(params![tileset, t.z(), t.x(), t.y(), self.owner]))
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Gives up every claim of this owner.
    pub(crate) fn release_all(&self) -> Result<()> {
        self.lock()
            .execute("DELETE FROM claims WHERE owner=?1", [&self.owner])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Extends this owner's claims by another [`LEASE`].
    pub(crate) fn renew(&self) -> Result<()> {
        let expires = Utc::now().timestamp_millis() + i64::try_from(LEASE.as_millis()).unwrap_or(0);
        self.lock()
            .execute(
                "UPDATE claims SET expires=?2 WHERE owner=?1",
                params![self.owner, expires],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        // Best effort: claims left behind run out after the lease.
        let _ = self.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_holds_against_other_owners_until_released() {
        let dir = tempfile::tempdir().unwrap();
        crate::Budget::open(dir.path(), 10).unwrap();
        let a = Claims::open(dir.path()).unwrap();
        let b = Claims::open(dir.path()).unwrap();
        let t = TileId::new(14, 1, 2).unwrap();
        assert!(a.claim("s", t).unwrap());
        assert!(a.claim("s", t).unwrap(), "the owner claims again");
        assert!(!b.claim("s", t).unwrap());
        assert!(b.claim("other", t).unwrap(), "claims are per tileset");
        a.renew().unwrap();
        a.release("s", &[t]).unwrap();
        assert!(b.claim("s", t).unwrap());
        drop(b);
        assert!(
            a.claim("s", t).unwrap(),
            "dropped owners give their claims up"
        );
    }
}
