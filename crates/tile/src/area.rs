//! The tiles of an area: a box (bounded, so a typo cannot list a continent at zoom 20), a
//! polygon area (with the `polygon` feature), and lists of tile ids written one a line.

use crate::{BBox, Error, Result, TileCover, TileId};

/// The tiles of `bbox` at zoom `z` that `keep` accepts, in [`TileCover`] order.
///
/// # Errors
///
/// [`Error::TooManyTiles`] (before listing anything) when the box holds more than `limit`
/// tiles at `z`; [`Error::ZoomTooHigh`] for a zoom above 30.
///
/// ```
/// use mlytiles_tile::{BBox, cover_box};
///
/// let bbox = BBox::new(-10.0, -10.0, 10.0, 10.0)?;
/// let all = cover_box(bbox, 3, 100, |_| true)?;
/// assert_eq!(all.len(), 4);
/// let west = cover_box(bbox, 3, 100, |t| t.x() == 3)?;
/// assert_eq!(west.len(), 2);
/// assert!(cover_box(bbox, 10, 100, |_| true).is_err());
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
pub fn cover_box(
    bbox: BBox,
    z: u8,
    limit: u64,
    keep: impl Fn(TileId) -> bool,
) -> Result<Vec<TileId>> {
    let count = TileCover::tile_count(bbox, z)?;
    if count > limit {
        return Err(Error::TooManyTiles {
            count,
            zoom: z,
            limit,
        });
    }
    Ok(TileCover::new(bbox, z)?.filter(|t| keep(*t)).collect())
}

/// The tiles at zoom `z` that touch a polygon area (lon/lat; holes are outside): those of the
/// area's bounding box for which [`tile_touches`] holds.
///
/// # Errors
///
/// As [`cover_box`]; [`Error::EmptyArea`] for an area without a bounding box.
///
/// ```
/// use geo::{MultiPolygon, Polygon, LineString};
/// use mlytiles_tile::cover_polygons;
///
/// // A triangle over the south-west half of a box of 2 x 2 tiles at zoom 2.
/// let triangle = Polygon::new(
///     LineString::from(vec![(-80.0, -60.0), (-10.0, -60.0), (-80.0, -10.0), (-80.0, -60.0)]),
///     vec![],
/// );
/// let tiles = cover_polygons(&MultiPolygon::new(vec![triangle]), 2, 100)?;
/// let names: Vec<String> = tiles.iter().map(|t| t.to_string()).collect();
/// assert_eq!(names, ["2/1/2"]);
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
#[cfg(feature = "polygon")]
pub fn cover_polygons(area: &geo::MultiPolygon<f64>, z: u8, limit: u64) -> Result<Vec<TileId>> {
    use geo::BoundingRect;
    let r = area.bounding_rect().ok_or(Error::EmptyArea)?;
    let bounds = BBox::new(r.min().x, r.min().y, r.max().x, r.max().y)?;
    let vertices: Vec<(f64, f64)> = area
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter().map(|c| (c.x, c.y)))
        .collect();
    cover_box(bounds, z, limit, |tile| touches(area, &vertices, tile))
}

/// Whether a tile touches a polygon area: its outline crosses the area, its centre is inside,
/// or one of the area's outer vertices lies in it (an area smaller than the tile).
///
/// ```
/// use geo::{MultiPolygon, Polygon, LineString};
/// use mlytiles_tile::{TileId, tile_touches};
///
/// // A small square well inside tile 10/511/511, touching none of its edges.
/// let square = Polygon::new(
///     LineString::from(vec![(-0.2, 0.1), (-0.1, 0.1), (-0.1, 0.2), (-0.2, 0.2), (-0.2, 0.1)]),
///     vec![],
/// );
/// let area = MultiPolygon::new(vec![square]);
/// assert!(tile_touches(&area, TileId::new(10, 511, 511)?));
/// assert!(!tile_touches(&area, TileId::new(10, 500, 511)?));
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
#[cfg(feature = "polygon")]
pub fn tile_touches(area: &geo::MultiPolygon<f64>, tile: TileId) -> bool {
    let vertices: Vec<(f64, f64)> = area
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter().map(|c| (c.x, c.y)))
        .collect();
    touches(area, &vertices, tile)
}

/// [`tile_touches`] with the area's outer vertices listed once for all tiles.
#[cfg(feature = "polygon")]
fn touches(area: &geo::MultiPolygon<f64>, vertices: &[(f64, f64)], tile: TileId) -> bool {
    use geo::{Coord, Intersects, LineString, MultiLineString};
    let b = tile.bounds();
    let (w, s, e, n) = (b.west(), b.south(), b.east(), b.north());
    if area.intersects(&Coord {
        x: (w + e) / 2.0,
        y: (s + n) / 2.0,
    }) {
        return true;
    }
    let outline = MultiLineString::new(vec![LineString::from(vec![
        (w, s),
        (e, s),
        (e, n),
        (w, n),
        (w, s),
    ])]);
    area.intersects(&outline) || vertices.iter().any(|&(x, y)| b.contains(x, y))
}

/// Tile ids written one a line as `z/x/y` (also `z,x,y` or `z x y`); `#` starts a comment,
/// blank lines are skipped.
///
/// # Errors
///
/// [`Error::TileListLine`] naming the first line (1-based) that is not a tile id, and
/// [`Error::EmptyTileList`] when no line holds one.
///
/// ```
/// use mlytiles_tile::{TileId, parse_tile_list};
///
/// let tiles = parse_tile_list("# the area\n14/8185/5447\n14,8186,5447  # east\n\n14 8185 5448\n")?;
/// assert_eq!(tiles[1], TileId::new(14, 8186, 5447)?);
/// assert_eq!(tiles.len(), 3);
/// assert!(parse_tile_list("14/8185\n").is_err());
/// assert!(parse_tile_list("# nothing\n").is_err());
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
pub fn parse_tile_list(text: &str) -> Result<Vec<TileId>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        // The other separators become `/` for the `z/x/y` parser.
        let z_x_y = line
            .split(|c: char| c == '/' || c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        let tile: TileId = z_x_y.parse().map_err(|e| Error::TileListLine {
            line: i + 1,
            text: line.to_string(),
            source: Box::new(e),
        })?;
        out.push(tile);
    }
    if out.is_empty() {
        return Err(Error::EmptyTileList);
    }
    Ok(out)
}
