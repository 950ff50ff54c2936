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

/// `90s`, `30m`, `12h`, `7d`, `2w`.
pub(super) fn parse_age(s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok().with_context(|| {
        format!("--refresh-older-than {s:?}: expected a number and a unit such as 7d")
    })?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        other => bail!("--refresh-older-than {s:?}: unknown unit {other:?} (s, m, h, d or w)"),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}
