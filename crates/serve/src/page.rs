//! The preview page: one HTML file on MapLibre GL JS, which it loads from this server's
//! `assets/` (with an assets folder) or from a CDN, pinned by integrity hashes either way.

use crate::app::App;
use crate::assets::{MAPLIBRE_FILES, cdn_base};

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

/// The `<link>` and `<script>` of the library, from `/assets/` or the CDN.
fn library_tags(local: bool) -> String {
    let base = if local {
        // Relative to the page, so that a path prefix added by a proxy is kept.
        "assets/".to_owned()
    } else {
        cdn_base()
    };
    let [(js, js_hash), (css, css_hash)] = MAPLIBRE_FILES;
    format!(
        "<link rel=\"stylesheet\" href=\"{base}{css}\" integrity=\"{css_hash}\" crossorigin=\"anonymous\">\n\
         <script src=\"{base}{js}\" integrity=\"{js_hash}\" crossorigin=\"anonymous\"></script>"
    )
}
