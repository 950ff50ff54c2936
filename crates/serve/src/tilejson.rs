//! TileJSON 3.0.0 documents: the default coverage style's (`/tiles.json`), each style's and
//! tileset's, and the catalog of them all (`/catalog.json`).

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use crate::ATTRIBUTION;
use crate::app::{App, Tileset};
use crate::route::{QueryFilter, Reject, parse_filter};

/// The URL clients reach the server at, without a trailing `/`: the configured public URL,
/// else `http://` and the request's `Host` (when it looks like a host), else the bound address.
pub(crate) fn base_url(app: &App, headers: &HeaderMap) -> String {
    if let Some(url) = &app.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => format!("http://{}", app.local_addr()),
    }
}

/// The PNG styles offered: the plain ones (the highlighting styles need an id, so they are
/// documented rather than listed).
pub(crate) fn styles() -> &'static [&'static str] {
    mlytiles_render::Style::NAMES
}

/// The PNG style `/tiles.json` describes.
pub(crate) const DEFAULT_STYLE: &str = "mapillary";

/// The whole Web Mercator world, TileJSON's default bounds.
const WORLD: [f64; 4] = [-180.0, -85.051_128_779_806_6, 180.0, 85.051_128_779_806_6];

fn center(bounds: Option<[f64; 4]>, zoom: u8) -> Value {
    match bounds {
        Some([w, s, e, n]) => json!([(w + e) / 2.0, (s + n) / 2.0, zoom]),
        None => json!([0.0, 0.0, 0]),
    }
}

/// The TileJSON of one PNG style.
pub(crate) fn style_json(app: &App, base: &str, style: &str, filter: &QueryFilter) -> Value {
    let coverage = app.tilesets.get(&app.config.coverage_tileset);
    let bounds = coverage.and_then(|t| t.bounds);
    let doc = json!({
        "tilejson": "3.0.0",
        "name": format!("Mapillary coverage ({style})"),
        "description": format!(
            "Coverage of {} drawn in the {style} style by mlytiles{}",
            app.config.coverage_tileset,
            if filter.query.is_empty() { String::new() } else { format!(", filtered by {}", &filter.query[1..]) }
        ),
        "version": "1.0.0",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [format!("{base}/{style}/{{z}}/{{x}}/{{y}}.png{}", filter.query)],
        "minzoom": 0,
        "maxzoom": app.config.max_png_zoom,
        "center": center(bounds, 14.min(app.config.max_png_zoom)),
        "bounds": bounds.unwrap_or(WORLD),
    });
    doc
}

/// The TileJSON of one tileset's vector tiles.
pub(crate) fn tileset_json(base: &str, t: &Tileset, filter: &QueryFilter) -> Value {
    let doc = json!({
        "tilejson": "3.0.0",
        "name": t.name,
        "description": t.description.clone().unwrap_or_else(|| format!("{} vector tiles", t.name)),
        "version": "1.0.0",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [format!("{base}/mvt/{}/{{z}}/{{x}}/{{y}}.mvt{}", t.name, filter.query)],
        "minzoom": t.minzoom,
        "maxzoom": t.maxzoom,
        "center": center(t.bounds, t.maxzoom),
        "bounds": t.bounds.unwrap_or(WORLD),
        "vector_layers": t.vector_layers,
    });
    doc
}

/// The default coverage style's TileJSON, with the filter carried into its tile URL.
pub(crate) fn default_json(
    app: &App,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Value, Reject> {
    let filter = parse_filter(query)?;
    let base = base_url(app, headers);
    Ok(style_json(app, &base, DEFAULT_STYLE, &filter))
}

/// Every style and every tileset (those the filter can judge), as an array.
pub(crate) fn catalog(
    app: &App,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Value, Reject> {
    let filter = parse_filter(query)?;
    let base = base_url(app, headers);
    let mut docs: Vec<Value> = styles()
        .iter()
        .map(|s| style_json(app, &base, s, &filter))
        .collect();
    for t in app.tilesets.values() {
        let judged = filter
            .filter
            .as_ref()
            .is_none_or(|f| crate::mvt::check_tileset(f, &t.name, &t.layers).is_ok());
        if judged {
            docs.push(tileset_json(&base, t, &filter));
        }
    }
    Ok(Value::Array(docs))
}
