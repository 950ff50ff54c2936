//! The daily request budget, kept in the cache folder and shared by every run and tileset.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};

/// The budget file's name inside a cache folder.
pub const BUDGET_FILE: &str = "mlytiles-budget.sqlite";

/// A counter of requests per UTC day in `mlytiles-budget.sqlite`.
///
/// Every request is counted before it is sent, in one SQLite write statement: processes and
/// threads sharing the folder never spend more than the limit together, and a process killed
/// after counting loses at most the requests it had counted.
#[derive(Debug)]
pub struct Budget {
    path: PathBuf,
    limit: u64,
    conn: Mutex<Connection>,
}

impl Budget {
    /// Opens (creating it) the budget file of the cache folder `dir`, with `limit` requests
    /// per UTC day.
    ///
    /// # Errors
    ///
    /// [`Error::Budget`] if the file cannot be opened or created.
    pub fn open(dir: &Path, limit: u64) -> Result<Budget> {
        let path = dir.join(BUDGET_FILE);
        let err = |source| Error::Budget {
            path: path.clone(),
            source,
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(Error::Config(format!("{}: {e}", dir.display())));
        }
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        // A killed process loses nothing with WAL at any level; OFF only risks the last
        // counts on a power cut, and spares every thousandth request a checkpoint's fsyncs
        // while the other workers wait for the counter.
        conn.pragma_update(None, "synchronous", "OFF")
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS budget (day TEXT PRIMARY KEY, used INTEGER NOT NULL)",
        )
        .map_err(err)?;
        Ok(Budget {
            path,
            limit,
            conn: Mutex::new(conn),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Requests allowed per UTC day.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Budget {
            path: self.path.clone(),
            source,
        }
    }

    /// Counts one request for today.
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExhausted`] if today's requests already reached the limit (nothing is
    /// counted then); [`Error::Budget`] if the file fails.
    pub fn take(&self) -> Result<()> {
        let day = day_key(Utc::now());
        let limit = i64::try_from(self.limit).unwrap_or(i64::MAX);
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        // One statement is one atomic write transaction: the count only moves below the limit.
        let take = |conn: &Connection| -> rusqlite::Result<usize> {
            conn.prepare_cached("UPDATE budget SET used = used + 1 WHERE day=?1 AND used < ?2")?
                .execute(params![day, limit])
        };
        let mut taken = take(&conn).map_err(|e| self.err(e))?;
        if taken == 0 {
            // The first request of the day creates the row (another process may race us: the
            // insert is ignored then, and the update decides).
            conn.prepare_cached("INSERT OR IGNORE INTO budget (day, used) VALUES (?1, 0)")
                .and_then(|mut st| st.execute(params![day]))
                .map_err(|e| self.err(e))?;
            taken = take(&conn).map_err(|e| self.err(e))?;
        }
        if taken == 0 {
            return Err(Error::BudgetExhausted {
                limit: self.limit,
                resets_at: next_reset(Utc::now()),
            });
        }
        Ok(())
    }

    /// Requests counted today (UTC).
    ///
    /// # Errors
    ///
    /// [`Error::Budget`] if the file fails.
    pub fn used_today(&self) -> Result<u64> {
        let day = day_key(Utc::now());
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let used: Option<i64> = conn
            .query_row("SELECT used FROM budget WHERE day=?1", [&day], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(used.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// Requests left today.
    ///
    /// # Errors
    ///
    /// [`Error::Budget`] if the file fails.
    pub fn remaining(&self) -> Result<u64> {
        Ok(self.limit.saturating_sub(self.used_today()?))
    }
}

/// `YYYY-MM-DD` of a UTC time.
fn day_key(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The next 00:00 UTC after `now`.
pub fn next_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now
        .date_naive()
        .checked_add_days(Days::new(1))
        .unwrap_or(now.date_naive());
    tomorrow.and_time(NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_resets_at_the_next_utc_midnight() {
        let t = DateTime::parse_from_rfc3339("2026-12-02T23:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(next_reset(t).to_rfc3339(), "2026-12-03T00:00:00+00:00");
    }

    #[test]
    fn two_handles_on_one_folder_share_the_count_and_never_pass_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let a = Budget::open(dir.path(), 5).unwrap();
        let b = Budget::open(dir.path(), 5).unwrap();
        let mut ok = 0;
        for i in 0..8 {
            let r = if i % 2 == 0 { a.take() } else { b.take() };
            match r {
                Ok(()) => ok += 1,
                Err(Error::BudgetExhausted { limit: 5, .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 5);
        assert_eq!(a.used_today().unwrap(), 5);
        assert_eq!(b.remaining().unwrap(), 0);
    }
}
