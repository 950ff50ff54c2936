//! The date grammar: absolute dates and datetimes, ranges of them, and relative windows
//! (`last 30 months`, `2y`), resolved to UTC milliseconds.

use std::str::FromStr;

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use super::parse_error;
use crate::error::{Error, Result};

const DATE_FORMS: &str = "a date or datetime (UTC) `2023-01-01`, `2023-06`, `2023`, \
    `2023-01-01T12:00:00Z`, a range `A..B` (either side may be empty, both ends inclusive), \
    or a window `last 30 months` / `30months` / `2y` (units s, min, h, d, w, mo, y)";

/// A unit of a relative time window: the units of [`mlytiles_tile::Span`], the one grammar
/// of spans every option shares (`s`, `min`, `h`, `d`, `w`, `mo`, `y`).
pub type TimeUnit = mlytiles_tile::SpanUnit;

/// One end of a [`DateRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeBound {
    /// A fixed instant, UTC milliseconds since the epoch.
    At(i64),
    /// `count` units before "now" (given when the filter is compiled).
    Ago {
        /// How many units.
        count: u32,
        /// Which unit.
        unit: TimeUnit,
    },
}

impl TimeBound {
    /// The instant in UTC ms, relative bounds counted back from `now`.
    ///
    /// # Errors
    ///
    /// [`Error::DateOutOfRange`] if counting back leaves chrono's range.
    pub fn resolve(self, now: DateTime<Utc>) -> Result<i64> {
        let (count, unit) = match self {
            TimeBound::At(ms) => return Ok(ms),
            TimeBound::Ago { count, unit } => (count, unit),
        };
        let n = i64::from(count);
        let t = match unit {
            TimeUnit::Seconds => now.checked_sub_signed(TimeDelta::seconds(n)),
            TimeUnit::Minutes => now.checked_sub_signed(TimeDelta::minutes(n)),
            TimeUnit::Hours => now.checked_sub_signed(TimeDelta::hours(n)),
            TimeUnit::Days => now.checked_sub_signed(TimeDelta::days(n)),
            TimeUnit::Weeks => now.checked_sub_signed(TimeDelta::weeks(n)),
            TimeUnit::Months => now.checked_sub_months(Months::new(count)),
            TimeUnit::Years => count
                .checked_mul(12)
                .and_then(|m| now.checked_sub_months(Months::new(m))),
        };
        t.map(|t| t.timestamp_millis())
            .ok_or_else(|| Error::DateOutOfRange(format!("{count} {unit:?} before {now}")))
    }
}

/// A time range, both ends inclusive, UTC. An open end is unbounded.
///
/// Parses from `2023-01-01..2023-12-31` (whole days: the end day is included), `2023-06`
/// (a whole month), `2023-01-01T12:00:00Z..`, `..2020`, `last 30 months`, `30months`, `2y`
/// (from that long ago up to now).
///
/// ```
/// use mlytiles_filter::DateRange;
/// let r: DateRange = "2023-01-01..2023-01-31".parse().unwrap();
/// let now = mlytiles_filter::chrono::Utc::now();
/// let (start, end) = r.resolve(now).unwrap();
/// assert_eq!(start, 1_672_531_200_000); // 2023-01-01T00:00:00Z
/// assert_eq!(end, 1_675_209_599_999); // 2023-01-31T23:59:59.999Z
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DateRange {
    /// The first instant in range; `None` is unbounded.
    pub start: Option<TimeBound>,
    /// The last instant in range; `None` is unbounded (for relative windows: up to now and
    /// beyond).
    pub end: Option<TimeBound>,
}

impl DateRange {
    /// The range in UTC ms `(start, end)`, inclusive, with relative bounds resolved
    /// against `now`; open ends give `i64::MIN` / `i64::MAX`.
    ///
    /// # Errors
    ///
    /// [`Error::DateOutOfRange`] if a relative bound leaves chrono's range.
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<(i64, i64)> {
        let start = self.start.map(|b| b.resolve(now)).transpose()?;
        let end = self.end.map(|b| b.resolve(now)).transpose()?;
        Ok((start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX)))
    }
}

impl FromStr for DateRange {
    type Err = Error;

    fn from_str(input: &str) -> Result<DateRange> {
        let err = |reason: String| parse_error("date range", input, reason, DATE_FORMS);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty".into()));
        }
        if let Some(rest) = s.strip_prefix("last ") {
            let (count, unit) = parse_span(rest.trim()).map_err(err)?;
            return Ok(DateRange {
                start: Some(TimeBound::Ago { count, unit }),
                end: None,
            });
        }
        if let Some((a, b)) = s.split_once("..") {
            let (a, b) = (a.trim(), b.trim());
            if a.is_empty() && b.is_empty() {
                return Err(err("both ends are empty".into()));
            }
            let start = (!a.is_empty())
                .then(|| parse_bound(a).map(|(lo, _)| lo))
                .transpose()
                .map_err(err)?;
            let end = (!b.is_empty())
                .then(|| parse_bound(b).map(|(_, hi)| hi))
                .transpose()
                .map_err(err)?;
            if let (Some(TimeBound::At(lo)), Some(TimeBound::At(hi))) = (start, end)
                && lo > hi
            {
                return Err(err(format!("the start {a} is after the end {b}")));
            }
            return Ok(DateRange { start, end });
        }
        let (lo, hi) = parse_bound(s).map_err(err)?;
        Ok(match lo {
            // A bare span is a window up to now.
            TimeBound::Ago { .. } => DateRange {
                start: Some(lo),
                end: None,
            },
            TimeBound::At(_) => DateRange {
                start: Some(lo),
                end: Some(hi),
            },
        })
    }
}

/// A bound: a period (date, month, year, datetime) as its first and last ms, or a span ago.
fn parse_bound(s: &str) -> std::result::Result<(TimeBound, TimeBound), String> {
    if let Some((first, last)) = parse_period(s)? {
        return Ok((TimeBound::At(first), TimeBound::At(last)));
    }
    let (count, unit) = parse_span(s)?;
    let b = TimeBound::Ago { count, unit };
    Ok((b, b))
}

/// `Ok(None)` if `s` does not look like a date at all (no leading 4-digit year).
fn parse_period(s: &str) -> std::result::Result<Option<(i64, i64)>, String> {
    let looks_like_date = s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if !looks_like_date {
        return Ok(None);
    }
    let day_ms = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
    };
    let bad = || format!("{s:?} is not a valid date or datetime");
    if s.contains('T') || s.contains(' ') {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            let ms = t.with_timezone(&Utc).timestamp_millis();
            return Ok(Some((ms, ms)));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
                let ms = t.and_utc().timestamp_millis();
                return Ok(Some((ms, ms)));
            }
        }
        return Err(bad());
    }
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str| p.parse::<u32>().map_err(|_| bad());
    let year = s[..4].parse::<i32>().map_err(|_| bad())?;
    let (first, next) = match parts[..] {
        [y] if y.len() == 4 => (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year + 1, 1, 1),
        ),
        [y, m] if y.len() == 4 && m.len() == 2 => {
            let m = num(m)?;
            let first = NaiveDate::from_ymd_opt(year, m, 1);
            (
                first,
                first.and_then(|d| d.checked_add_months(Months::new(1))),
            )
        }
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            let first = NaiveDate::from_ymd_opt(year, num(m)?, num(d)?);
            (first, first.and_then(|d| d.succ_opt()))
        }
        _ => return Err(bad()),
    };
    match (first.and_then(day_ms), next.and_then(day_ms)) {
        (Some(a), Some(b)) => Ok(Some((a, b - 1))),
        _ => Err(bad()),
    }
}

/// `30months`, `30 months`, `2y`, `6w`, `10d`, `12h`.
fn parse_span(s: &str) -> std::result::Result<(u32, TimeUnit), String> {
    // The shared grammar (mlytiles_tile::Span); a window counts at most u32::MAX units.
    let span = s
        .parse::<mlytiles_tile::Span>()
        .map_err(|e| e.to_string())?;
    let count = u32::try_from(span.count).map_err(|_| format!("{s:?}: the count is too large"))?;
    Ok((count, span.unit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ms(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, mi, s)
            .unwrap()
            .timestamp_millis()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 31, 12, 0, 0).unwrap()
    }

    fn range(s: &str) -> (i64, i64) {
        s.parse::<DateRange>().unwrap().resolve(now()).unwrap()
    }

    #[test]
    fn date_ranges() {
        assert_eq!(
            range("2023-01-01"),
            (ms(2023, 1, 1, 0, 0, 0), ms(2023, 1, 2, 0, 0, 0) - 1)
        );
        assert_eq!(
            range("2023-01-01..2023-12-31"),
            (ms(2023, 1, 1, 0, 0, 0), ms(2024, 1, 1, 0, 0, 0) - 1)
        );
        assert_eq!(
            range("2024-02"),
            (ms(2024, 2, 1, 0, 0, 0), ms(2024, 3, 1, 0, 0, 0) - 1)
        );
        assert_eq!(
            range("2023"),
            (ms(2023, 1, 1, 0, 0, 0), ms(2024, 1, 1, 0, 0, 0) - 1)
        );
        assert_eq!(range("2023-01-01.."), (ms(2023, 1, 1, 0, 0, 0), i64::MAX));
        assert_eq!(
            range("..2023-01-01"),
            (i64::MIN, ms(2023, 1, 2, 0, 0, 0) - 1)
        );
        let t = ms(2023, 1, 1, 12, 0, 0);
        assert_eq!(range("2023-01-01T12:00:00Z"), (t, t));
        assert_eq!(range("2023-01-01T14:00:00+02:00"), (t, t));
        assert_eq!(range("2023-01-01T12:00:00"), (t, t));
        assert_eq!(
            range("2023-01-01T12:00:00Z..2023-01-02"),
            (t, ms(2023, 1, 3, 0, 0, 0) - 1)
        );
    }

    #[test]
    fn relative_windows() {
        let ago_30mo = ms(2022, 9, 30, 12, 0, 0);
        assert_eq!(range("last 30 months"), (ago_30mo, i64::MAX));
        assert_eq!(range("30months"), (ago_30mo, i64::MAX));
        assert_eq!(range("last 30mo"), (ago_30mo, i64::MAX));
        assert_eq!(range("2y"), (ms(2023, 3, 31, 12, 0, 0), i64::MAX));
        assert_eq!(range("last 10 days"), (ms(2025, 3, 21, 12, 0, 0), i64::MAX));
        assert_eq!(range("1w"), (ms(2025, 3, 24, 12, 0, 0), i64::MAX));
        assert_eq!(range("12h"), (ms(2025, 3, 31, 0, 0, 0), i64::MAX));
        // The shared span grammar's finer units (mlytiles_tile::Span).
        assert_eq!(range("90min"), (ms(2025, 3, 31, 10, 30, 0), i64::MAX));
        assert_eq!(range("last 30 s"), (ms(2025, 3, 31, 11, 59, 30), i64::MAX));
        assert!("30m".parse::<DateRange>().is_err(), "minutes or months?");
        // 1 month before March 31 is the end of February (chrono clamps the day).
        assert_eq!(range("1mo"), (ms(2025, 2, 28, 12, 0, 0), i64::MAX));
        // A window between two relative bounds.
        assert_eq!(
            range("2y..1y"),
            (ms(2023, 3, 31, 12, 0, 0), ms(2024, 3, 31, 12, 0, 0))
        );
    }

    #[test]
    fn date_errors_say_what_and_show_forms() {
        for bad in [
            "",
            "..",
            "2023-13-01",
            "2023-02-30",
            "2023-1-1",
            "yesterday",
            "30m",
            "30",
            "last x",
            "2024..2023",
            "2023-01-01T25:00",
            "30 fortnights",
        ] {
            let e = bad.parse::<DateRange>().unwrap_err().to_string();
            assert!(e.contains("expected a date"), "{bad:?}: {e}");
            assert!(e.contains("invalid date range"), "{bad:?}: {e}");
        }
        let e = "30m".parse::<DateRange>().unwrap_err().to_string();
        assert!(e.contains("`mo` for months"), "{e}");
        let e = "2024..2023".parse::<DateRange>().unwrap_err().to_string();
        assert!(e.contains("is after the end"), "{e}");
    }
}
