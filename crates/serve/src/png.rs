//! Coverage PNG tiles, drawn by `mlytiles-render` off the async threads.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use mlytiles_filter::Filter;
use mlytiles_render::{
    EdgePoints, ParentCache, PngOptions, RenderOptions, Sources, Style, UnreadableTiles,
    encode_png, render_tile_png,
};
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
    let parents = Arc::clone(&app.parents);
    let _permit = app
        .renders
        .acquire()
        .await
        .map_err(|_| Reject::internal("the server is shutting down"))?;
    let (png, unreadable) =
        tokio::task::spawn_blocking(move || draw(sources.as_ref(), &parents, tile, &options))
            .await
            .map_err(|e| Reject::internal(format!("rendering {tile}: {e}")))??;
    log_unreadable(app, &unreadable);
    app.stats.counters.renders.fetch_add(1, Ordering::Relaxed);
    Ok(Arc::new(Entry::new(png, None)))
}

/// Logs each stored tile a render could not read (and drew as missing) the first time it is
/// met: a damaged tile is named once, not on every request for it or its neighbours.
fn log_unreadable(app: &App, tiles: &UnreadableTiles) {
    if tiles.is_empty() {
        return;
    }
    let mut seen = app.unreadable.lock().unwrap_or_else(|e| e.into_inner());
    for t in tiles.iter() {
        if seen.len() < crate::app::UNREADABLE_LOGGED && seen.insert(t) {
            tracing::warn!(
                "stored tile {t} cannot be read: drawn as missing (`mlytiles cache verify` says why)"
            );
        }
    }
}

/// The PNG of `tile`, and the stored tiles it could not read.
fn draw(
    sources: Option<&Sources>,
    parents: &ParentCache,
    tile: TileId,
    options: &RenderOptions,
) -> Result<(Vec<u8>, UnreadableTiles), Reject> {
    let failed = |e: mlytiles_render::Error| {
        tracing::error!("rendering {tile}: {e}");
        Reject::internal(format!(
            "rendering {tile} failed: {}",
            one_line(&e.to_string())
        ))
    };
    let png_options = PngOptions {
        text: vec![("Copyright".into(), crate::ATTRIBUTION.into())],
        ..PngOptions::default()
    };
    let (png, unreadable) = match sources {
        Some(s) => {
            let r = render_tile_png(
                s,
                tile,
                options,
                EdgePoints::FromNeighbours,
                Some(parents),
                &png_options,
            )
            .map_err(failed)?;
            (r.png, r.stats.unreadable)
        }
        None => {
            let side = options.pixels().map_err(failed)?;
            let empty = mlytiles_render::tiny_skia::Pixmap::new(side, side)
                .ok_or_else(|| Reject::internal("empty tile size"))?;
            let png = encode_png(&empty, &png_options).map_err(failed)?;
            (png, UnreadableTiles::default())
        }
    };
    Ok((png, unreadable))
}
