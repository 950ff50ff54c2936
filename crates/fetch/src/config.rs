//! Fetch configuration and the access token.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// The default endpoint of the Mapillary tilesets.
pub const DEFAULT_ENDPOINT: &str = "https://tiles.mapillary.com";

/// A Mapillary access token. `Debug` and `Display` show it masked; [`Token::expose`] is the
/// only way to read it, used to build the request and to mask it in quoted bodies.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token (surrounding whitespace removed).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if it is empty or holds characters a token never has (space,
    /// control characters, `&`, `#`, ...).
    pub fn new(token: &str) -> Result<Token> {
        let t = token.trim();
        if t.is_empty() {
            return Err(Error::Config("the access token is empty".into()));
        }
        if !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'|' | b'_' | b'-' | b'.' | b'~'))
        {
            return Err(Error::Config(
                "the access token holds characters a token never has".into(),
            ));
        }
        Ok(Token(t.to_string()))
    }

    /// The token from `MAPILLARY_ACCESS_TOKEN`, if set and non-empty.
    ///
    /// # Errors
    ///
    /// As [`Token::new`].
    pub fn from_env() -> Result<Option<Token>> {
        match std::env::var("MAPILLARY_ACCESS_TOKEN") {
            Ok(t) if !t.trim().is_empty() => Token::new(&t).map(Some),
            _ => Ok(None),
        }
    }

    /// The token from a file holding it (the first non-empty line).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the file cannot be read or holds no valid token.
    pub fn from_file(path: &Path) -> Result<Token> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("token file {}: {e}", path.display())))?;
        let line = text.lines().map(str::trim).find(|l| !l.is_empty());
        Token::new(line.unwrap_or(""))
            .map_err(|e| Error::Config(format!("token file {}: {e}", path.display())))
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with the token replaced by `***` in every form a server may echo it in: raw,
    /// percent-encoded (either hex case, `+` for a space, encoded twice), as HTML character
    /// references (decimal, hex, named such as `&verbar;`), as JSON `\uXXXX` or `\xHH`
    /// escapes, or any mix of these; and cut: any 8 or more of its first characters, and a
    /// shorter start running to the end of the text if it takes 8 bytes or more there.
    ///
    /// Apply it to text from upstream *before* cutting it short: a cut token may be too short
    /// to recognise.
    pub fn scrub(&self, text: &str) -> String {
        crate::scrub::scrub(&self.0, text)
    }

    /// The same as [`scrub`](Self::scrub).
    pub fn mask(&self, text: &str) -> String {
        self.scrub(text)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How to fetch: endpoint, token, concurrency, pace, timeouts, retries and the daily budget.
///
/// [`Default`] reads nothing from the environment (a library's defaults, the same for every
/// test); [`FetchConfig::from_env`] is the default with `MLYTILES_ENDPOINT` and
/// `MAPILLARY_ACCESS_TOKEN` applied, as a command-line tool wants it.
///
/// `Debug` shows the token masked.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Base URL of the Mapillary tilesets. Default [`DEFAULT_ENDPOINT`] (with
    /// [`FetchConfig::from_env`]: `MLYTILES_ENDPOINT` if set).
    pub endpoint: String,
    /// The access token, sent as the `access_token` query parameter. Default `None` (no
    /// token sent; with [`FetchConfig::from_env`]: `MAPILLARY_ACCESS_TOKEN` if set and valid).
    pub token: Option<Token>,
    /// Requests in flight at once. Default 8.
    pub concurrency: usize,
    /// Pace limit in requests per second, over all workers. Default `None` (no limit).
    pub rate: Option<f64>,
    /// Connect timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of an answer. Default 30 s.
    pub read_timeout: Duration,
    /// Longest time for one whole request. Default 120 s.
    pub request_timeout: Duration,
    /// Requests allowed per UTC day, shared by all tilesets and runs using the same cache
    /// folder. Default 50,000 (Mapillary's limit per app).
    pub daily_budget: u64,
    /// Whether 403 and 404 mean "this tile does not exist" (recorded as empty) rather than a
    /// failure. Default `true`. Either way, a 403 or 404 to a refresh of a tile stored with
    /// data keeps the data and records the answer as a failure next to it.
    pub missing_is_empty: bool,
    /// Retries after a transient failure (5xx, timeout, reset, truncated or invalid body).
    /// Default 4 (5 attempts).
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with equal jitter (half fixed, half random). Default 500 ms.
    pub backoff_base: Duration,
    /// Longest backoff delay. Default 30 s.
    pub backoff_max: Duration,
    /// Wait after a 429 without `Retry-After` (or with one that says less). Default 10 s.
    pub rate_limit_pause: Duration,
    /// How long "request limit reached" answers may go on (all workers pausing) before the
    /// fetch stops with [`Error::DailyLimit`]. Default 10 min.
    pub max_rate_limit_wait: Duration,
    /// Largest body accepted, and largest decompressed tile. Default 64 MiB.
    pub max_body: usize,
    /// The `User-Agent` header. Default `mlytiles/<version>`.
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> FetchConfig {
        FetchConfig {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            token: None,
            concurrency: 8,
            rate: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            daily_budget: 50_000,
            missing_is_empty: true,
            max_retries: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            rate_limit_pause: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(600),
            max_body: mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED,
            user_agent: concat!("mlytiles/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl FetchConfig {
    /// The [`Default`] configuration with the environment applied: the endpoint from
    /// `MLYTILES_ENDPOINT` when set and not blank, the token from `MAPILLARY_ACCESS_TOKEN` when
    /// set and valid (a malformed one is left out: [`Token::from_env`] says what is wrong with
    /// it).
    ///
    /// ```
    /// use mlytiles_fetch::{DEFAULT_ENDPOINT, FetchConfig};
    ///
    /// let config = FetchConfig::from_env();
    /// match std::env::var("MLYTILES_ENDPOINT") {
    ///     Ok(e) if !e.trim().is_empty() => assert_eq!(config.endpoint, e),
    ///     _ => assert_eq!(config.endpoint, DEFAULT_ENDPOINT),
    /// }
    /// assert_eq!(config.daily_budget, FetchConfig::default().daily_budget);
    /// ```
    pub fn from_env() -> FetchConfig {
        FetchConfig {
            endpoint: std::env::var("MLYTILES_ENDPOINT")
                .ok()
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
            token: Token::from_env().ok().flatten(),
            ..FetchConfig::default()
        }
    }

    /// Checks the values that would make fetching impossible.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a zero concurrency, a non-positive rate or an endpoint that is
    /// not an `http(s)://` URL.
    pub fn validate(&self) -> Result<()> {
        if self.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".into()));
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0)
        {
            return Err(Error::Config(format!(
                "rate must be a positive number of requests per second, not {r}"
            )));
        }
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(Error::Config(
                "the endpoint must start with http:// or https://".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_config_masks_the_token() {
        let config = FetchConfig {
            token: Some(Token::new("MLY|123|abcdefSECRET").unwrap()),
            ..FetchConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("Token(***)"));
    }

    #[test]
    fn tokens_with_odd_characters_are_rejected() {
        assert!(Token::new("a b").is_err());
        assert!(Token::new("a&b=c").is_err());
        assert!(Token::new("  ").is_err());
        assert_eq!(Token::new(" MLY|1|x \n").unwrap().expose(), "MLY|1|x");
    }
}
