//! Classifying an HTTP answer before anything is stored.

use std::io::Read;
use std::time::Duration;

use crate::config::Token;

/// Why a tile failed, as grouped in summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureKind {
    /// HTTP 5xx.
    ServerError,
    /// A connect, read or whole-request timeout.
    Timeout,
    /// The connection failed or was reset.
    Connection,
    /// The body ended before its `Content-Length`, or could not be read.
    Truncated,
    /// An HTML page where a tile should be.
    Html,
    /// JSON where a tile should be (other than the limit and token errors).
    Json,
    /// gzip data that does not decompress.
    Gzip,
    /// A body that is not a vector tile.
    NotATile,
    /// A body larger than [`FetchConfig::max_body`](crate::FetchConfig::max_body), or gzip
    /// data that decompresses beyond it. Not retried: another attempt gets the same bytes.
    TooLarge,
    /// Another HTTP status (a 4xx, or 403/404 when they are not taken as empty).
    HttpStatus,
    /// A redirect that is not followed: to another origin (scheme, host or port), or one
    /// hop too many.
    Redirect,
}

impl FailureKind {
    /// A short name, e.g. `server-error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureKind::ServerError => "server-error",
            FailureKind::Timeout => "timeout",
            FailureKind::Connection => "connection",
            FailureKind::Truncated => "truncated",
            FailureKind::Html => "html",
            FailureKind::Json => "json",
            FailureKind::Gzip => "gzip",
            FailureKind::NotATile => "not-a-tile",
            FailureKind::TooLarge => "too-large",
            FailureKind::HttpStatus => "http-status",
            FailureKind::Redirect => "redirect",
        }
    }

    /// Whether another attempt may succeed.
    pub const fn is_transient(self) -> bool {
        !matches!(
            self,
            FailureKind::HttpStatus | FailureKind::TooLarge | FailureKind::Redirect
        )
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one HTTP exchange amounts to.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A valid tile body, as received (maybe gzip).
    Data(Vec<u8>),
    /// No tile here.
    Empty,
    /// 403 or 404 taken as "no tile here" ([`FetchConfig::missing_is_empty`]), with the status:
    /// empty for a tile never fetched, a failure next to stored data.
    ///
    /// [`FetchConfig::missing_is_empty`]: crate::FetchConfig::missing_is_empty
    Missing(String),
    /// 304 to a conditional request.
    NotModified,
    /// Failed: retried if the kind is transient.
    Failed(FailureKind, String),
    /// 429 or the JSON limit body.
    RateLimited {
        retry_after: Option<Duration>,
        answer: String,
    },
    /// 401 or code 190.
    InvalidToken(String),
    /// A redirect (301, 302, 303, 307, 308) to this `Location`.
    Redirect(String),
}

/// At most this many bytes of a body are quoted in a failure reason.
const SAMPLE_LEN: usize = 120;

/// At most this many bytes of a body are read (and scrubbed of the token) for a sample:
/// enough that a token cut by the end of the window is past the quoted part.
const SCRUB_WINDOW: usize = 4096;

/// A short, printable sample of a body for failure reasons, scrubbed of the token (in every
/// encoding) before it is cut to [`SAMPLE_LEN`] bytes.
pub(crate) fn sample(body: &[u8], token: Option<&Token>) -> String {
    let window = &body[..body.len().min(SCRUB_WINDOW)];
    let text: String = String::from_utf8_lossy(window)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut s = match token {
        Some(t) => t.scrub(&text),
        None => text,
    };
    if s.len() > SAMPLE_LEN || body.len() > SCRUB_WINDOW {
        let mut end = SAMPLE_LEN.min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// Classifies the body of a 200 answer. `max` caps decompression.
pub(crate) fn classify_ok_body(body: Vec<u8>, max: usize, token: Option<&Token>) -> Answer {
    if body.is_empty() {
        return Answer::Empty;
    }
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') | Some(b'[') => return classify_json(&body, "HTTP 200", token),
        Some(b'<') => {
            return Answer::Failed(
                FailureKind::Html,
                format!("HTML page instead of a tile: {:?}", sample(&body, token)),
            );
        }
        _ => {}
    }
    let plain = match mlytiles_mvt::decompress(&body, max) {
        Ok(p) => p,
        Err(_) if inflates_beyond(&body, max) => {
            // A gzip bomb: another attempt gets the same bytes.
            return Answer::Failed(
                FailureKind::TooLarge,
                format!("gzip body decompresses to more than {max} bytes"),
            );
        }
        Err(e) => {
            return Answer::Failed(FailureKind::Gzip, format!("undecodable gzip body: {e}"));
        }
    };
    if plain.is_empty() {
        return Answer::Empty;
    }
    match validate_tile(&plain) {
        Ok(0) => Answer::Empty,
        Ok(_) => Answer::Data(body),
        Err(e) => Answer::Failed(
            FailureKind::NotATile,
            format!(
                "body is not a vector tile ({e}): {:?}",
                sample(&plain, token)
            ),
        ),
    }
}

/// Reads every layer of an uncompressed tile: the number of layers read, or the first fatal
/// error. The rule by which a fetched body counts as a tile (and `mlytiles cache verify`
/// checks stored ones).
///
/// # Errors
///
/// The first fatal decoding error ([`mlytiles_mvt::Error::is_fatal`]).
pub fn validate_tile(bytes: &[u8]) -> Result<usize, mlytiles_mvt::Error> {
    let tile = mlytiles_mvt::Tile::new(bytes)?;
    let mut n = 0;
    for layer in tile.layers() {
        match layer {
            Ok(_) => n += 1,
            Err(e) if e.is_fatal() => return Err(e),
            Err(_) => {}
        }
    }
    Ok(n)
}

/// A JSON body: the limit error, the token error, or some other JSON.
pub(crate) fn classify_json(body: &[u8], status: &str, token: Option<&Token>) -> Answer {
    let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let err = value.as_ref().and_then(|v| v.get("error"));
    let code = err.and_then(|e| e.get("code")).and_then(|c| c.as_i64());
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(|m| m.as_str())
        .unwrap_or("");
    if code == Some(190) {
        return Answer::InvalidToken(format!("{status} with error code 190"));
    }
    if message.contains("request limit") || matches!(code, Some(4) | Some(17) | Some(613)) {
        return Answer::RateLimited {
            retry_after: None,
            answer: format!("{status} \"{}\"", sample(message.as_bytes(), token)),
        };
    }
    Answer::Failed(
        FailureKind::Json,
        format!(
            "JSON instead of a tile ({status}): {:?}",
            sample(body, token)
        ),
    )
}

/// Whether gzip data decompresses to more than `max` bytes (read in bounded memory).
fn inflates_beyond(body: &[u8], max: usize) -> bool {
    let mut inflated = flate2::read::MultiGzDecoder::new(body).take(max as u64 + 1);
    matches!(std::io::copy(&mut inflated, &mut std::io::sink()), Ok(n) if n > max as u64)
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_body_is_a_rate_limit_not_a_tile() {
        let body = br#"{"error":{"message":"Application request limit reached","type":"OAuthException","code":4,"is_transient":true}}"#;
        assert!(matches!(
            classify_ok_body(body.to_vec(), 1 << 20, None),
            Answer::RateLimited { .. }
        ));
    }

    #[test]
    fn code_190_is_an_invalid_token() {
        let body = br#"{"error":{"message":"Invalid OAuth access token","code":190}}"#;
        assert!(matches!(
            classify_ok_body(body.to_vec(), 1 << 20, None),
            Answer::InvalidToken(_)
        ));
    }

    #[test]
    fn html_json_and_garbage_are_failures_with_a_sample() {
        let html = b"<!DOCTYPE html><html>oops</html>".to_vec();
        match classify_ok_body(html, 1 << 20, None) {
            Answer::Failed(FailureKind::Html, r) => assert!(r.contains("oops"), "{r}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_ok_body(b"{\"a\":1}".to_vec(), 1 << 20, None),
            Answer::Failed(FailureKind::Json, _)
        ));
        assert!(matches!(
            classify_ok_body(vec![0x1f, 0x8b, 8, 0, 1, 2, 3], 1 << 20, None),
            Answer::Failed(FailureKind::Gzip, _)
        ));
        assert!(matches!(
            classify_ok_body(vec![0x1a, 0x7f, 1, 2], 1 << 20, None),
            Answer::Failed(FailureKind::NotATile, _)
        ));
        assert!(matches!(
            classify_ok_body(Vec::new(), 1, None),
            Answer::Empty
        ));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
