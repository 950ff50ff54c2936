//! The tiles `fetch` is asked for: a box, a polygon area or a list.

use std::path::Path;

use anyhow::{Context, anyhow};
use mlytiles_filter::Area;
use mlytiles_tile::TileId;

use super::Args;

/// Covers beyond this many tiles are refused (they would take hundreds of days of budget).
pub(super) const MAX_TILES: u64 = 10_000_000;

/// The tiles of the area given by --bbox, --within or --tiles.
pub(super) fn area_tiles(args: &Args) -> anyhow::Result<Vec<TileId>> {
    // clap's `area` group makes these exclusive, and one of them required.
    if let Some(bbox) = args.bbox {
        return Ok(mlytiles_tile::cover_box(
            bbox,
            args.zoom,
            MAX_TILES,
            |_| true,
        )?);
    }
    if let Some(path) = &args.within {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--within {}", path.display()))?;
        let area = Area::from_geojson(&text).with_context(|| path.display().to_string())?;
        let bounds = area
            .bounds()
            .with_context(|| format!("{}: the area is empty", path.display()))?;
        return Ok(match &area {
            Area::Polygon(mp) => mlytiles_tile::cover_polygons(mp, args.zoom, MAX_TILES)?,
            // GeoJSON gives polygons; any other area would be covered by its box.
            _ => mlytiles_tile::cover_box(bounds, args.zoom, MAX_TILES, |_| true)?,
        });
    }
    let path = args.tiles.as_deref().unwrap_or(Path::new("-"));
    read_tile_list(path)
}

/// The tiles listed in a file (see [`mlytiles_tile::parse_tile_list`]).
pub(super) fn read_tile_list(path: &Path) -> anyhow::Result<Vec<TileId>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--tiles {}", path.display()))?;
    mlytiles_tile::parse_tile_list(&text).map_err(|e| match e {
        mlytiles_tile::Error::TileListLine { line, text, source } => anyhow::Error::new(*source)
            .context(format!(
                "{}:{line}: {text:?} is not a tile: expected z/x/y such as 14/8185/5447",
                path.display()
            )),
        mlytiles_tile::Error::EmptyTileList => anyhow!("{}: no tiles listed", path.display()),
        e => e.into(),
    })
}
