//! Tile paths and query strings, checked before anything is read.
//!
//! Paths are parsed from the raw request target, before any percent-decoding: a tile path is
//! made of ASCII letters, digits and a few punctuation characters, so anything else (encoded
//! slashes, dot segments, backslashes, empty segments) is refused as path-like rather than
//! decoded and then interpreted.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mlytiles_filter::{Filter, FilterParams};
use mlytiles_tile::TileId;

/// A refused request: the status and a one-line reason for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    pub(crate) status: StatusCode,
    pub(crate) reason: String,
}

impl Reject {
    pub(crate) fn bad(reason: impl Into<String>) -> Reject {
        Reject {
            status: StatusCode::BAD_REQUEST,
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(reason: impl Into<String>) -> Reject {
        Reject {
            status: StatusCode::NOT_FOUND,
            reason: reason.into(),
        }
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Reject {
        Reject {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.reason)
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        // One line, whatever the reason held (values are quoted with `{:?}`, but be sure).
        let mut line: String = self
            .reason
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        line.push('\n');
        (
            self.status,
            [
                ("content-type", "text/plain; charset=utf-8"),
                ("cache-control", "no-store"),
            ],
            line,
        )
            .into_response()
    }
}

/// What a tile path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TilePath {
    /// `/{style}/{z}/{x}/{y}.png` or `@2x.png`.
    Png {
        style: String,
        tile: TileId,
        scale: u8,
    },
    /// `/mvt/{tileset}/{z}/{x}/{y}.mvt`.
    Mvt { tileset: String, tile: TileId },
    /// `/mvt/{tileset}/{z}/{x}/{y}.geojson`: the same features as GeoJSON, ids as strings.
    GeoJson { tileset: String, tile: TileId },
    /// `/{style}/tiles.json`: one style's TileJSON.
    StyleJson { style: String },
    /// `/mvt/{tileset}/tiles.json`: one tileset's TileJSON.
    TilesetJson { tileset: String },
}

/// Longest path looked at; tile paths are far shorter.
const MAX_PATH: usize = 512;

/// Quotes a piece of the request for an error message, cut short.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{:?}...", cut)
    } else {
        format!("{s:?}")
    }
}

/// Refuses anything path-like in a raw (not yet percent-decoded) request path.
pub(crate) fn check_not_path_like(path: &str) -> Result<(), Reject> {
    if path.len() > MAX_PATH {
        return Err(Reject::bad(format!(
            "path longer than {MAX_PATH} bytes refused"
        )));
    }
    if !path.starts_with('/') {
        return Err(Reject::bad(
            "path-like request refused: not an absolute tile path",
        ));
    }
    if path.contains('%') {
        return Err(Reject::bad(format!(
            "path-like request refused: percent-encoded characters in {}",
            quote(path)
        )));
    }
    if path.contains('\\') {
        return Err(Reject::bad(format!(
            "path-like request refused: backslash in {}",
            quote(path)
        )));
    }
    let inner = &path[1..];
    if !inner.is_empty() {
        for segment in inner.split('/') {
            if segment.is_empty() {
                return Err(Reject::bad(format!(
                    "path-like request refused: empty segment in {}",
                    quote(path)
                )));
            }
            if segment == "." || segment == ".." {
                return Err(Reject::bad(format!(
                    "path-like request refused: dot segment in {}",
                    quote(path)
                )));
            }
            if let Some(c) = segment
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "_-.:@".contains(*c)))
            {
                return Err(Reject::bad(format!(
                    "character {c:?} is not allowed in a tile path ({})",
                    quote(path)
                )));
            }
        }
    }
    Ok(())
}

/// Parses a tile path. `None` when it is no tile path at all (another endpoint or a 404).
pub(crate) fn parse_tile_path(path: &str) -> Result<Option<TilePath>, Reject> {
    check_not_path_like(path)?;
    let segments: Vec<&str> = path[1..].split('/').collect();
    match segments.as_slice() {
        ["mvt", tileset, "tiles.json"] => Ok(Some(TilePath::TilesetJson {
            tileset: (*tileset).to_owned(),
        })),
        [style, "tiles.json"] => Ok(Some(TilePath::StyleJson {
            style: (*style).to_owned(),
        })),
        ["mvt", tileset, z, x, last] => {
            let (y, geojson) = split_ending(
                last,
                &[(".mvt", false), (".geojson", true)],
                "vector tiles end in .mvt (or .geojson)",
            )?;
            let (tileset, tile) = ((*tileset).to_owned(), tile_id(z, x, y)?);
            Ok(Some(if geojson {
                TilePath::GeoJson { tileset, tile }
            } else {
                TilePath::Mvt { tileset, tile }
            }))
        }
        [style, z, x, last] => {
            let (y, scale) = split_ending(
                last,
                &[("@2x.png", 2), (".png", 1)],
                "raster tiles end in .png or @2x.png",
            )?;
            Ok(Some(TilePath::Png {
                style: (*style).to_owned(),
                tile: tile_id(z, x, y)?,
                scale,
            }))
        }
        _ => Ok(None),
    }
}

/// Splits a path's last segment into what comes before the first of `endings` it ends with
/// and that ending's value; a 404 saying `expected` when it ends with none of them.
fn split_ending<'a, T: Copy>(
    last: &'a str,
    endings: &[(&str, T)],
    expected: &str,
) -> Result<(&'a str, T), Reject> {
    endings
        .iter()
        .find_map(|(ending, value)| last.strip_suffix(ending).map(|rest| (rest, *value)))
        .ok_or_else(|| Reject::not_found(format!("{expected}: {}", quote(last))))
}

/// A decimal number of at most `max_digits` digits, nothing else (no sign, no spaces).
fn number(what: &str, s: &str, max_digits: usize) -> Result<u32, Reject> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::bad(format!("{what} {} is not a number", quote(s))));
    }
    s.parse()
        .map_err(|_| Reject::bad(format!("{what} {} is too large", quote(s))))
}

fn tile_id(z: &str, x: &str, y: &str) -> Result<TileId, Reject> {
    let z = number("zoom", z, 2)?;
    let x = number("x", x, 10)?;
    let y = number("y", y, 10)?;
    if z > u32::from(mlytiles_tile::MAX_ZOOM) {
        return Err(Reject::bad(format!(
            "zoom {z} is out of range (0 to {})",
            mlytiles_tile::MAX_ZOOM
        )));
    }
    let n = 1u64 << z;
    if u64::from(x) >= n || u64::from(y) >= n {
        return Err(Reject::bad(format!(
            "tile {z}/{x}/{y} is outside zoom {z} (x and y must be below {n})"
        )));
    }
    TileId::new(z as u8, x, y).map_err(|e| Reject::bad(format!("tile {z}/{x}/{y}: {e}")))
}

/// Checks that `tile`'s zoom is within `min..=max`.
pub(crate) fn check_zoom(tile: TileId, min: u8, max: u8, of: &str) -> Result<(), Reject> {
    if tile.z() < min || tile.z() > max {
        return Err(Reject::bad(format!(
            "zoom {} is out of range for {of} ({min} to {max})",
            tile.z()
        )));
    }
    Ok(())
}

/// A filter from query parameters, with a normalised text form for cache keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryFilter {
    /// `None` when no filter parameter was given.
    pub(crate) filter: Option<Filter>,
    /// The filter's canonical form (empty for none): equal filters give equal keys.
    pub(crate) key: String,
    /// The parameters as given, re-encoded in a canonical order, for URLs (`?a=b&c=d` or "").
    pub(crate) query: String,
}

/// Longest query string looked at.
const MAX_QUERY: usize = 4096;

/// The filter parameters whose values add up when repeated (as the CLI's repeatable flags);
/// any other one given twice is refused rather than one of its values silently winning.
const REPEATABLE: [&str; 3] = ["creator", "sequence", "class"];

/// Parses the query string's filter parameters (names as the CLI flags, `_` for `-`).
pub(crate) fn parse_filter(query: Option<&str>) -> Result<QueryFilter, Reject> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(QueryFilter::default());
    };
    if query.len() > MAX_QUERY {
        return Err(Reject::bad(format!(
            "query string longer than {MAX_QUERY} bytes refused"
        )));
    }
    let pairs: Vec<(String, String)> = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| Reject::bad("malformed query string"))?,
    )
    .map_err(|e| Reject::bad(format!("malformed query string: {}", e.body_text())))?
    .0;
    let mut params = FilterParams::default();
    let mut given: Vec<(String, String)> = Vec::new();
    for (name, value) in &pairs {
        if name.is_empty() && value.is_empty() {
            continue;
        }
        params
            .set(name, value)
            .map_err(|e| Reject::bad(one_line(&e.to_string())))?;
        let canonical = name.trim().replace('_', "-");
        if !REPEATABLE.contains(&canonical.as_str()) && given.iter().any(|(n, _)| *n == canonical) {
            return Err(Reject::bad(format!(
                "{canonical}: given more than once (only {} may repeat)",
                REPEATABLE.join(", ")
            )));
        }
        given.push((canonical, value.clone()));
    }
    if params.is_empty() {
        return Ok(QueryFilter::default());
    }
    let filter = params
        .to_filter()
        .map_err(|e| Reject::bad(one_line(&e.to_string())))?;
    given.sort();
    let query = format!(
        "?{}",
        given
            .iter()
            .map(|(n, v)| format!("{n}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    );
    // A window such as `last=30months` moves with the clock: answers cached under it are
    // keyed by the day too, so they are drawn again the next day.
    let mut key = format!("{filter:?}");
    if params.last.is_some() {
        key.push_str(
            &mlytiles_filter::chrono::Utc::now()
                .format(" @%Y-%m-%d")
                .to_string(),
        );
    }
    Ok(QueryFilter {
        key,
        filter: Some(filter),
        query,
    })
}

/// Percent-encodes everything but unreserved characters and `,` `:` (harmless in a query).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Error messages as one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(path: &str) -> TilePath {
        parse_tile_path(path).unwrap().unwrap()
    }

    #[test]
    fn tile_paths_parse() {
        assert_eq!(
            png("/mapillary/14/3251/6257.png"),
            TilePath::Png {
                style: "mapillary".into(),
                tile: TileId::new(14, 3251, 6257).unwrap(),
                scale: 1
            }
        );
        assert_eq!(
            png("/organization:42/0/0/0@2x.png"),
            TilePath::Png {
                style: "organization:42".into(),
                tile: TileId::ROOT,
                scale: 2
            }
        );
        assert_eq!(
            png("/mvt/mly1_public/14/3251/6257.mvt"),
            TilePath::Mvt {
                tileset: "mly1_public".into(),
                tile: TileId::new(14, 3251, 6257).unwrap()
            }
        );
        assert_eq!(
            png("/mvt/mly1_public/14/3251/6257.geojson"),
            TilePath::GeoJson {
                tileset: "mly1_public".into(),
                tile: TileId::new(14, 3251, 6257).unwrap()
            }
        );
        assert_eq!(
            png("/age/tiles.json"),
            TilePath::StyleJson {
                style: "age".into()
            }
        );
        assert_eq!(
            png("/mvt/mly1_public/tiles.json"),
            TilePath::TilesetJson {
                tileset: "mly1_public".into()
            }
        );
        assert_eq!(parse_tile_path("/").unwrap(), None);
        assert_eq!(parse_tile_path("/health").unwrap(), None);
    }

    #[test]
    fn bad_paths_are_refused_with_a_reason() {
        let cases = [
            ("/mapillary/15/0/40000.png", "outside zoom 15"),
            ("/mapillary/14/16384/0.png", "outside zoom 14"),
            ("/mapillary/31/0/0.png", "zoom 31 is out of range"),
            ("/mapillary/-1/0/0.png", "not a number"),
            ("/mapillary/1/0/0x1.png", "not a number"),
            ("/mapillary/1/0/0.jpg", ".png"),
            ("/mvt/../etc/0/0.mvt", "dot segment"),
            ("/mvt/%2e%2e/0/0/0.mvt", "percent-encoded"),
            ("/mapillary/1%2F0/0/0.png", "percent-encoded"),
            ("/mapillary//0/0.png", "empty segment"),
            ("/mapillary\\..\\0/0/0.png", "backslash"),
            ("/mapillary/1/0/0.png\u{1}", "not allowed"),
        ];
        for (path, expected) in cases {
            let e = parse_tile_path(path).unwrap_err();
            assert!(e.status.is_client_error(), "{path}: {e}");
            assert!(e.reason.contains(expected), "{path}: {e}");
        }
    }

    #[test]
    fn filters_normalise_to_one_key() {
        let a = parse_filter(Some("pano=only&since=2023-01-01")).unwrap();
        let b = parse_filter(Some("since=2023-01-01&pano=only")).unwrap();
        assert!(a.filter.is_some());
        assert_eq!(a.key, b.key);
        assert_eq!(a.query, "?pano=only&since=2023-01-01");
        let c = parse_filter(Some("looking_at=-108.55%2C39.07")).unwrap();
        assert!(c.filter.unwrap().looking_at.is_some());
        assert_eq!(c.query, "?looking-at=-108.55,39.07");
        assert!(parse_filter(Some("")).unwrap().filter.is_none());
    }

    #[test]
    fn bad_filters_are_refused_naming_the_parameter() {
        let e = parse_filter(Some("pano=sometimes")).unwrap_err();
        assert!(e.reason.starts_with("pano: "), "{e}");
        let e = parse_filter(Some("token=abc")).unwrap_err();
        assert!(e.reason.contains("unknown filter parameter"), "{e}");
        let e = parse_filter(Some("since=2020-01-01&last=2y")).unwrap_err();
        assert!(e.reason.contains("since and last"), "{e}");
    }

    #[test]
    fn a_repeated_single_valued_parameter_is_refused_naming_it() {
        for query in [
            "pano=only&pano=exclude",
            "pano=only&since=2020-01-01&pano=only",
            "looking_at=1,2&looking-at=1,2",
        ] {
            let e = parse_filter(Some(query)).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{query}");
            let name = query.split('=').next().unwrap().replace('_', "-");
            assert!(
                e.reason
                    .starts_with(&format!("{name}: given more than once")),
                "{query}: {e}"
            );
        }
        // Parameters that add up may repeat.
        let f = parse_filter(Some("creator=1&creator=2")).unwrap();
        assert_eq!(f.filter.unwrap().creators.len(), 2);
    }
}
