//! Coverage PNG tiles, drawn by `mlytiles-render` off the async threads.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use mlytiles_filter::Filter;
use mlytiles_render::{PngOptions, RenderOptions, Sources, Style, encode_png, render_tile};
use mlytiles_tile::TileId;

use crate::app::App;
use crate::memcache::Entry;
use crate::route::{Reject, one_line, quote};

/// Side of a tile in CSS pixels, as XYZ clients expect.
const TILE_SIZE: u32 = 256;

/// Parses a style name of the path (`mapillary`, `organization:42`, ...).
pub(crate) fn parse_style(s: &str) -> Result<Style, Reject> {
    s.parse().map_err(|_| {
        Reject::not_found(format!(
            "unknown style {} (styles: {}, organization:ID, creator:ID)",
            quote(s),
            Style::NAMES.join(", ")
        ))
    })
}

/// The stores PNG tiles read: the coverage tileset and the map-feature tilesets when the
/// cache has them. `None` when the cache has no coverage store (tiles are then transparent).
pub(crate) fn sources(
    tilesets: &std::collections::BTreeMap<String, crate::app::Tileset>,
    coverage: &str,
) -> Option<Sources> {
    let store = |name: &str| tilesets.get(name).map(|t| Arc::clone(&t.decoded));
    Some(Sources {
        coverage: store(coverage)?,
        points: store(mlytiles_render::POINT_TILESET),
        signs: store(mlytiles_render::SIGN_TILESET),
    })
}

/// Renders and encodes one tile, fetching its data tile first when fetch-through is on.
pub(crate) async fn render(
    app: &Arc<App>,
    style: Style,
    tile: TileId,
    scale: u8,
    filter: Option<Filter>,
) -> Result<Arc<Entry>, Reject> {
    if let Some(set) = app.tilesets.get(&app.config.coverage_tileset) {
        // Fetch-through (a no-op without it): the stored tile this render reads.
        app.stored(set, mlytiles_render::data_tile(tile), true)
            .await?;
    }
    // Map-feature markers only when the filter asks about map features.
    let markers = filter
        .as_ref()
        .is_some_and(|f| !f.classes.is_empty() || f.seen.is_some());
    let options = RenderOptions {
        size: TILE_SIZE,
        scale: u32::from(scale),
        style,
        filter,
        markers,
        background: None,
        now: None,
        strict: false,
    };
    let sources = app.sources.clone();
    let _permit = app
        .renders
        .acquire()
        .await
        .map_err(|_| Reject::internal("the server is shutting down"))?;
    let png = tokio::task::spawn_blocking(move || draw(sources.as_ref(), tile, &options))
        .await
        .map_err(|e| Reject::internal(format!("rendering {tile}: {e}")))??;
    app.stats.counters.renders.fetch_add(1, Ordering::Relaxed);
    Ok(Arc::new(Entry::new(png, None)))
}

fn draw(
    sources: Option<&Sources>,
    tile: TileId,
    options: &RenderOptions,
) -> Result<Vec<u8>, Reject> {
    let failed = |e: mlytiles_render::Error| {
        tracing::error!("rendering {tile}: {e}");
        Reject::internal(format!(
            "rendering {tile} failed: {}",
            one_line(&e.to_string())
        ))
    };
    let pixmap = match sources {
        Some(s) => render_tile(s, tile, options).map_err(failed)?.pixmap,
        None => {
            let side = options.pixels().map_err(failed)?;
            mlytiles_render::tiny_skia::Pixmap::new(side, side)
                .ok_or_else(|| Reject::internal("empty tile size"))?
        }
    };
    let png_options = PngOptions {
        text: vec![("Copyright".into(), crate::ATTRIBUTION.into())],
        ..PngOptions::default()
    };
    encode_png(&pixmap, &png_options).map_err(failed)
}
