//! The daily request budget, kept in the cache folder and shared by every run and tileset.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::{Error, Result};

/// The budget file's name inside a cache folder.
pub const BUDGET_FILE: &str = "mlytiles-budget.sqlite";

/// A counter of requests per UTC day in `mlytiles-budget.sqlite`.
///
/// Every request is counted before it is sent, in an SQLite write transaction: processes and
/// threads sharing the folder never spend more than the limit together, and a process killed
/// after counting loses at most the requests it had counted.
///
/// With a lease ([`with_lease`](Self::with_lease)), up to that many requests are counted in
/// one write and handed out in memory: workers released together by a server's answers no
/// longer queue for the file one by one. Unused leased requests go back to the file on
/// [`release`](Self::release) and on drop (a killed process loses them for the day: the
/// budget errs on the safe side, never beyond the limit).
#[derive(Debug)]
pub struct Budget {
    path: PathBuf,
    limit: u64,
    conn: Mutex<Connection>,
    lease_size: u64,
    /// Requests counted in the file and not sent yet, and the day they were counted for.
    lease: Mutex<(u64, String)>,
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
            lease_size: 1,
            lease: Mutex::new((0, String::new())),
        })
    }

    /// Counts up to `n` requests per write to the file (at least 1; default 1).
    pub fn with_lease(mut self, n: u64) -> Budget {
        self.lease_size = n.max(1);
        self
    }

    /// Gives the leased requests not sent back to today's count.
    ///
    /// # Errors
    ///
    /// [`Error::Budget`] if the file fails.
    pub fn release(&self) -> Result<()> {
        let (n, day) = {
            let mut lease = self.lease.lock().unwrap_or_else(|e| e.into_inner());
            let n = lease.0;
            lease.0 = 0;
            (n, lease.1.clone())
        };
        // Leased yesterday: yesterday's count no longer matters.
        if n == 0 || day != day_key(Utc::now()) {
            return Ok(());
        }
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.prepare_cached("UPDATE budget SET used = max(used - ?2, 0) WHERE day=?1")
            .and_then(|mut st| st.execute(params![day, i64::try_from(n).unwrap_or(i64::MAX)]))
            .map_err(|e| self.err(e))?;
        Ok(())
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
        let mut lease = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        if lease.0 > 0 && lease.1 == day {
            lease.0 -= 1;
            return Ok(());
        }
        let n = self.count(&day, self.lease_size)?;
        *lease = (n - 1, day);
        Ok(())
    }

    /// Counts up to `want` requests for `day` in the file, at least one.
    fn count(&self, day: &str, want: u64) -> Result<u64> {
        let limit = i64::try_from(self.limit).unwrap_or(i64::MAX);
        let want = i64::try_from(want).unwrap_or(1).max(1);
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        // IMMEDIATE: the read and the update are one write transaction, so processes sharing
        // the file never count beyond the limit together.
        let counted = (|| -> rusqlite::Result<i64> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("INSERT OR IGNORE INTO budget (day, used) VALUES (?1, 0)")?
                .execute(params![day])?;
            let used: i64 = tx
                .prepare_cached("SELECT used FROM budget WHERE day=?1")?
                .query_row(params![day], |r| r.get(0))?;
            let n = want.min(limit.saturating_sub(used)).max(0);
            if n > 0 {
                tx.prepare_cached("UPDATE budget SET used = used + ?2 WHERE day=?1")?
                    .execute(params![day, n])?;
            }
            tx.commit()?;
            Ok(n)
        })();
        let n = counted.map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::BudgetExhausted {
                limit: self.limit,
                resets_at: next_reset(Utc::now()),
            });
        }
        Ok(u64::try_from(n).unwrap_or(1))
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

impl Drop for Budget {
    fn drop(&mut self) {
        // Best effort: a failure leaves the leased requests counted (never beyond the limit).
        let _ = self.release();
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

    #[test]
    fn leased_requests_not_sent_go_back_and_the_limit_holds() {
        let dir = tempfile::tempdir().unwrap();
        let a = Budget::open(dir.path(), 10).unwrap().with_lease(4);
        let b = Budget::open(dir.path(), 10).unwrap().with_lease(4);
        a.take().unwrap();
        assert_eq!(
            a.used_today().unwrap(),
            4,
            "a lease of 4 is counted at once"
        );
        for _ in 0..6 {
            b.take().unwrap();
        }
        // 4 (a) + 8 (b's two leases) would pass 10: b's second lease is cut to 2.
        assert_eq!(b.used_today().unwrap(), 10);
        assert!(matches!(b.take(), Err(Error::BudgetExhausted { .. })));
        // a used 1 of its 4: giving back 3 lets b go on, up to the limit exactly.
        a.release().unwrap();
        assert_eq!(b.remaining().unwrap(), 3);
        for _ in 0..3 {
            b.take().unwrap();
        }
        assert!(b.take().is_err());
        drop(b);
        assert_eq!(a.used_today().unwrap(), 10);
    }
}
