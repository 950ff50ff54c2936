//! The preview page: one HTML file on MapLibre GL JS (and protomaps' `pmtiles` for a local
//! archive), which it loads from this server's `assets/` (with an assets folder) or from a
//! CDN, pinned by integrity hashes either way.

use crate::app::App;
use crate::assets::{PACKAGES, cdn_base};

const TEMPLATE: &str = include_str!("preview.html");

/// The page, with the library's tags, the styles, the zoom limit, the base map and the
/// coverage's bounds filled in.
pub(crate) fn render(app: &App) -> String {
    let coverage = app.tilesets.get(&app.config.coverage_tileset);
    let vector = coverage.map(
        |t| serde_json::json!({ "tileset": t.name, "minzoom": t.maxzoom, "maxzoom": t.maxzoom }),
    );
    let basemap = app.config.basemap.as_ref().map(|tiles| {
        serde_json::json!({ "tiles": tiles, "attribution": app.config.basemap_attribution })
    });
    let config = serde_json::json!({
        "styles": crate::tilejson::styles(),
        "maxZoom": app.config.max_png_zoom,
        "bounds": coverage.and_then(|t| t.bounds),
        "attribution": crate::ATTRIBUTION,
        "basemap": basemap,
        "vector": vector,
    });
    // `</` could end the script element early; JSON allows `<\/` for it.
    let json = config.to_string().replace("</", "<\\/");
    TEMPLATE
        .replace("<!--LIBRARY-->", &library_tags(app.assets.is_some()))
        .replace("/*CONFIG*/", &json)
}

/// The `<link>` and `<script>` elements of the libraries, from `/assets/` or the CDN.
fn library_tags(local: bool) -> String {
    let mut tags = Vec::new();
    for (package, version, files) in PACKAGES {
        let base = if local {
            // Relative to the page, so that a path prefix added by a proxy is kept.
            format!("assets/{package}/dist/")
        } else {
            cdn_base(package, version)
        };
        for (name, hash) in files {
            tags.push(if name.ends_with(".css") {
                format!(
                    "<link rel=\"stylesheet\" href=\"{base}{name}\" integrity=\"{hash}\" crossorigin=\"anonymous\">"
                )
            } else {
                format!(
                    "<script src=\"{base}{name}\" integrity=\"{hash}\" crossorigin=\"anonymous\"></script>"
                )
            });
        }
    }
    tags.join("\n")
}
