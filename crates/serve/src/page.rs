//! The preview page: one HTML file with its script inline, no library, no request beyond
//! this server (it works offline).

use crate::app::App;

const TEMPLATE: &str = include_str!("preview.html");

/// The page, with the styles, the zoom limit and the sample area's bounds filled in.
pub(crate) fn render(app: &App) -> String {
    let bounds = app
        .tilesets
        .get(&app.config.coverage_tileset)
        .and_then(|t| t.bounds);
    let config = serde_json::json!({
        "styles": crate::tilejson::styles(),
        "maxZoom": app.config.max_png_zoom,
        "bounds": bounds,
    });
    // `</` could end the script element early; JSON allows `<\/` for it.
    let json = config.to_string().replace("</", "<\\/");
    TEMPLATE.replace("/*CONFIG*/", &json)
}
