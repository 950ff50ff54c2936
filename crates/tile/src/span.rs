//! Spans of time as people write them on a command line or in a query: `90s`, `30min`, `12h`,
//! `7d`, `2w`, `6mo`, `1y`. One grammar for every option that takes an age or a span.

use std::str::FromStr;
use std::time::Duration;

use crate::Error;

/// The unit of a [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanUnit {
    /// `s`, `sec`, `second(s)`.
    Seconds,
    /// `min`, `minute(s)`.
    Minutes,
    /// `h`, `hour(s)`.
    Hours,
    /// `d`, `day(s)`.
    Days,
    /// `w`, `week(s)`.
    Weeks,
    /// `mo`, `month(s)`: calendar months, no fixed length.
    Months,
    /// `y`, `year(s)`: calendar years, no fixed length.
    Years,
}

impl SpanUnit {
    /// The unit named `word` (see the variants), `None` for anything else. A bare `m` is not
    /// a unit: minutes or months would be a guess.
    pub fn from_word(word: &str) -> Option<SpanUnit> {
        Some(match word {
            "s" | "sec" | "secs" | "second" | "seconds" => SpanUnit::Seconds,
            "min" | "mins" | "minute" | "minutes" => SpanUnit::Minutes,
            "h" | "hour" | "hours" => SpanUnit::Hours,
            "d" | "day" | "days" => SpanUnit::Days,
            "w" | "week" | "weeks" => SpanUnit::Weeks,
            "mo" | "month" | "months" => SpanUnit::Months,
            "y" | "year" | "years" => SpanUnit::Years,
            _ => return None,
        })
    }

    /// Seconds in one unit; `None` for months and years.
    pub fn seconds(self) -> Option<u64> {
        Some(match self {
            SpanUnit::Seconds => 1,
            SpanUnit::Minutes => 60,
            SpanUnit::Hours => 3600,
            SpanUnit::Days => 86_400,
            SpanUnit::Weeks => 7 * 86_400,
            SpanUnit::Months | SpanUnit::Years => return None,
        })
    }
}

/// A span of time: a count and a unit, parsed from `30months`, `30 months`, `2y`, `12h`, ...
/// (surrounding space ignored, space allowed between the count and the unit).
///
/// ```
/// use std::time::Duration;
/// use mlytiles_tile::{Span, SpanUnit};
///
/// let span: Span = "30 months".parse()?;
/// assert_eq!((span.count, span.unit), (30, SpanUnit::Months));
/// assert_eq!(span.duration(), None); // months have no fixed length
/// assert_eq!("12h".parse::<Span>()?.duration(), Some(Duration::from_secs(12 * 3600)));
/// assert!("30m".parse::<Span>().is_err()); // minutes or months?
/// assert!("7".parse::<Span>().is_err());
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// How many units.
    pub count: u64,
    /// The unit.
    pub unit: SpanUnit,
}

impl Span {
    /// The span as a fixed duration (saturating at `u64::MAX` seconds); `None` for months and
    /// years.
    pub fn duration(&self) -> Option<Duration> {
        Some(Duration::from_secs(
            self.count.saturating_mul(self.unit.seconds()?),
        ))
    }
}

impl FromStr for Span {
    type Err = Error;

    fn from_str(s: &str) -> Result<Span, Error> {
        let err = |reason: String| Error::ParseSpan {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err("it does not start with a number".into()));
        }
        let count: u64 = t[..digits]
            .parse()
            .map_err(|_| err(format!("{:?} is too large", &t[..digits])))?;
        let word = t[digits..].trim();
        let unit = match (SpanUnit::from_word(word), word) {
            (Some(u), _) => u,
            (None, "m") => {
                return Err(err(
                    "`m` is ambiguous: write `min` for minutes or `mo` for months".into(),
                ));
            }
            (None, "") => return Err(err("it has no unit".into())),
            (None, other) => return Err(err(format!("unknown unit {other:?}"))),
        };
        Ok(Span { count, unit })
    }
}
