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
/// so only the claims of a process that died run out. (Where `/proc` shows processes, the
/// claims of a process that is gone are taken over at once.)
pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// How often a run renews its claims.
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(10);

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
        if changed == 1 {
            return Ok(true);
        }
        // Held by another owner: take it over if that process is gone (killed mid-run).
        let holder: Option<String> = conn
            .prepare_cached("SELECT owner FROM claims WHERE tileset=?1 AND z=?2 AND x=?3 AND y=?4")
            .and_then(|mut st| {
                st.query_row(params![tileset, tile.z(), tile.x(), tile.y()], |r| r.get(0))
            })
            .ok();
        let Some(holder) = holder.filter(|h| process_is_gone(h)) else {
            return Ok(false);
        };
        let taken = conn
            .prepare_cached(
                "UPDATE claims SET owner=?5, expires=?6
                 WHERE tileset=?1 AND z=?2 AND x=?3 AND y=?4 AND owner=?7",
            )
            .and_then(|mut st| {
                st.execute(params![
                    tileset,
                    tile.z(),
                    tile.x(),
                    tile.y(),
                    self.owner,
                    expires,
                    holder
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(taken == 1)
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

/// Whether the process of an owner (`PID-RANDOM`) is known to be gone: on systems with
/// `/proc`, a process of another PID without its `/proc` entry. Elsewhere, never (its claims
/// run out after the lease).
fn process_is_gone(owner: &str) -> bool {
    let Some(pid) = owner.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    pid != std::process::id()
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{pid}")).exists()
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

    #[cfg(unix)]
    #[test]
    fn the_claims_of_a_process_that_is_gone_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        crate::Budget::open(dir.path(), 10).unwrap();
        let a = Claims::open(dir.path()).unwrap();
        let t = TileId::new(14, 1, 2).unwrap();
        // A claim, never running out, of a process that has exited.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        a.lock()
            .execute(
                "INSERT INTO claims VALUES ('s', 14, 1, 2, ?1, ?2)",
                params![format!("{pid}-0"), i64::MAX],
            )
            .unwrap();
        // Where /proc shows processes it is taken over; elsewhere it holds.
        let gone = Path::new("/proc/self").exists();
        assert_eq!(a.claim("s", t).unwrap(), gone);
    }
}
