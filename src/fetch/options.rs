//! `fetch`'s options turned into a configuration: token, endpoint, rate and age.

use std::time::Duration;

use anyhow::{Context, bail};
use mlytiles_fetch::{FetchConfig, Tileset, Token};

use super::Args;

pub(super) fn config(args: &Args, tileset: &Tileset) -> anyhow::Result<FetchConfig> {
    let mut config = FetchConfig {
        concurrency: args.concurrency,
        daily_budget: args.budget,
        missing_is_empty: !args.strict_missing,
        ..FetchConfig::from_env()
    };
    if let Some(e) = &args.endpoint {
        config.endpoint = e.trim_end_matches('/').to_string();
    }
    if let Some(f) = &args.token_file {
        config.token = Some(Token::from_file(f)?);
    } else if config.token.is_none() {
        // Surface a malformed variable instead of silently sending no token.
        config.token = Token::from_env()?;
    }
    if let Some(r) = &args.rate {
        config.rate = Some(parse_rate(r)?);
    }
    config.validate()?;
    if tileset.is_mapillary()
        && config.token.is_none()
        && config.endpoint == mlytiles_fetch::DEFAULT_ENDPOINT
        && !args.plan
    {
        bail!(
            "no access token: set MAPILLARY_ACCESS_TOKEN or give --token-file FILE \
             (a client token from https://www.mapillary.com/dashboard/developers)"
        );
    }
    Ok(config)
}

/// `20`, `20/s`, `600/min`, `3600/h` to requests per second.
pub(super) fn parse_rate(s: &str) -> anyhow::Result<f64> {
    let (n, per) = match s.split_once('/') {
        Some((n, unit)) => (
            n,
            match unit.trim() {
                "s" | "sec" => 1.0,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                other => bail!("--rate {s:?}: unknown unit {other:?} (use /s, /min or /h)"),
            },
        ),
        None => (s, 1.0),
    };
    let n: f64 = n
        .trim()
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .with_context(|| {
            format!("--rate {s:?}: expected a positive number such as 20 or 600/min")
        })?;
    Ok(n / per)
}

/// `90s`, `30m`, `12h`, `7d`, `2w` ([`mlytiles_tile::Span`]'s grammar, where a bare number
/// is days and `m` minutes, as this option has always read them).
pub(super) fn parse_age(s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    if n.parse::<u64>().is_err() {
        bail!("--refresh-older-than {s:?}: expected a number and a unit such as 7d");
    }
    let word = match unit {
        "" => "d",
        "m" => "min",
        u => u,
    };
    let span = format!("{n}{word}").parse::<mlytiles_tile::Span>();
    span.ok().and_then(|span| span.duration()).with_context(|| {
        format!("--refresh-older-than {s:?}: unknown unit {unit:?} (s, m, h, d or w)")
    })
}

#[cfg(test)]
mod tests {
    use super::parse_age;
    use std::time::Duration;

    #[test]
    fn ages_read_as_before() {
        let secs = |s: &str| parse_age(s).unwrap().as_secs();
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("30m"), 1800);
        assert_eq!(secs("12h"), 12 * 3600);
        assert_eq!(secs("7d"), 7 * 86_400);
        assert_eq!(secs("7"), 7 * 86_400);
        assert_eq!(secs(" 2w "), 14 * 86_400);
        assert_eq!(secs("30min"), 1800);
        // A count beyond u64 is refused; a product beyond it saturates.
        assert_eq!(
            parse_age("99999999999999999999d").unwrap_err().to_string(),
            "--refresh-older-than \"99999999999999999999d\": expected a number and a unit such as 7d"
        );
        assert_eq!(
            parse_age("999999999999999w").unwrap(),
            Duration::from_secs(u64::MAX)
        );
        let err = |s: &str| parse_age(s).unwrap_err().to_string();
        assert_eq!(
            err("7x"),
            "--refresh-older-than \"7x\": unknown unit \"x\" (s, m, h, d or w)"
        );
        assert_eq!(
            err("2mo"),
            "--refresh-older-than \"2mo\": unknown unit \"mo\" (s, m, h, d or w)"
        );
        assert_eq!(
            err("d"),
            "--refresh-older-than \"d\": expected a number and a unit such as 7d"
        );
    }
}
