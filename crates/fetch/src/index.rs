//! The z5 `overview` layer as an index of the z13 cells holding images, to skip empty z14
//! tiles.

use std::collections::{BTreeSet, HashSet};

use mlytiles_mvt::{Command, Tile};
use mlytiles_store::{TileStatus, TileStore};
use mlytiles_tile::TileId;

use crate::error::{Error, Result};
use crate::fetcher::{Fetcher, Outcome};
use crate::tileset::Tileset;

/// Zoom of the overview tiles read.
const INDEX_ZOOM: u8 = 5;
/// Zoom of the overview cells: one point per z13 cell holding any image.
const CELL_ZOOM: u8 = 13;

/// The z13 cells that hold images, read from z5 `overview` tiles.
#[derive(Debug, Clone, Default)]
pub struct OverviewIndex {
    /// z5 tiles read (data or empty).
    known: HashSet<TileId>,
    /// z13 cells with at least one overview point.
    cells: HashSet<TileId>,
    /// Requests made to build the index.
    requests: u64,
}

impl OverviewIndex {
    /// Whether `tile` (z14, or any zoom >= 13) may hold data: its z13 cell has a point, or
    /// its z5 tile could not be read (then nothing is skipped there).
    pub fn may_hold_data(&self, tile: TileId) -> bool {
        let (Some(z5), Some(cell)) = (tile.ancestor_at(INDEX_ZOOM), tile.ancestor_at(CELL_ZOOM))
        else {
            return true;
        };
        !self.known.contains(&z5) || self.cells.contains(&cell)
    }

    /// Cells with points.
    pub fn cell_count(&self) -> usize {
        self.cells.len()
    }

    /// Requests made to build the index (z5 tiles not yet in the store).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Adds the points of one uncompressed z5 overview tile.
    ///
    /// # Errors
    ///
    /// [`Error::Index`] if the tile does not decode.
    pub fn add_tile(&mut self, z5: TileId, bytes: &[u8]) -> Result<()> {
        let bad = |e: mlytiles_mvt::Error| Error::Index(format!("tile {z5}: {e}"));
        let tile = Tile::new(bytes).map_err(bad)?;
        if let Some(layer) = tile.layer("overview").map_err(bad)? {
            let extent = f64::from(layer.extent().max(1));
            let per_tile = 1u32 << (CELL_ZOOM - INDEX_ZOOM);
            for feature in layer.features() {
                let Ok(feature) = feature else { continue };
                for cmd in feature.geometry() {
                    let Ok(Command::MoveTo(x, y)) = cmd else {
                        continue;
                    };
                    let fx = (f64::from(x) / extent * f64::from(per_tile)).floor();
                    let fy = (f64::from(y) / extent * f64::from(per_tile)).floor();
                    // Points outside the tile (a buffer) belong to neighbouring tiles.
                    if !(0.0..f64::from(per_tile)).contains(&fx)
                        || !(0.0..f64::from(per_tile)).contains(&fy)
                    {
                        continue;
                    }
                    let cell = TileId::new(
                        CELL_ZOOM,
                        z5.x() * per_tile + fx as u32,
                        z5.y() * per_tile + fy as u32,
                    )
                    .map_err(Error::Tile)?;
                    self.cells.insert(cell);
                }
            }
        }
        self.known.insert(z5);
        Ok(())
    }

    /// Marks a z5 tile as read and empty (no cells).
    pub fn add_empty(&mut self, z5: TileId) {
        self.known.insert(z5);
    }
}

/// The z5 tiles above `tiles` (those at zoom 13 and deeper).
pub fn overview_tiles(tiles: &[TileId]) -> Vec<TileId> {
    let set: BTreeSet<TileId> = tiles
        .iter()
        .filter(|t| t.z() >= CELL_ZOOM)
        .filter_map(|t| t.ancestor_at(INDEX_ZOOM))
        .collect();
    set.into_iter().collect()
}

impl OverviewIndex {
    /// The index from the z5 tiles `store` already holds, without any request; also the z5
    /// tiles it lacks (their areas are not filtered).
    ///
    /// # Errors
    ///
    /// Store errors, or [`Error::Index`] for a stored z5 tile that does not decode.
    pub fn from_store(
        store: &dyn TileStore,
        tiles: &[TileId],
    ) -> Result<(OverviewIndex, Vec<TileId>)> {
        let mut index = OverviewIndex::default();
        let mut missing = Vec::new();
        for z5 in overview_tiles(tiles) {
            match store.get(z5)? {
                Some(t) if t.info.status == TileStatus::Data => {
                    index.add_tile(z5, &t.uncompressed()?)?;
                }
                Some(t) if t.info.status == TileStatus::Empty => index.add_empty(z5),
                _ => missing.push(z5),
            }
        }
        Ok((index, missing))
    }
}

/// Reads (from `store`, fetching what is missing) the z5 overview tiles above `tiles` and
/// indexes their cells. A z5 tile that cannot be had leaves its area unfiltered.
///
/// # Errors
///
/// The stopping errors of [`Fetcher::fetch_tile`] (invalid token, budget, ...), store errors,
/// or [`Error::Config`] if the tileset has no overview layer.
pub async fn build_overview_index(
    fetcher: &Fetcher,
    tileset: &Tileset,
    store: &dyn TileStore,
    tiles: &[TileId],
) -> Result<OverviewIndex> {
    if !tileset.has_overview() {
        return Err(Error::Config(format!(
            "{} has no overview layer to skip empty tiles with",
            tileset.name()
        )));
    }
    let (mut index, missing) = OverviewIndex::from_store(store, tiles)?;
    for z5 in missing {
        index.requests += 1;
        match fetcher.fetch_tile(tileset, z5, store).await? {
            Outcome::Data { body } => {
                let bytes = mlytiles_mvt::decompress(&body, fetcher.config().max_body)
                    .map_err(|e| Error::Index(format!("tile {z5}: {e}")))?;
                index.add_tile(z5, &bytes)?;
            }
            Outcome::Empty | Outcome::NotModified => index.add_empty(z5),
            Outcome::Failed { .. } => {}
        }
    }
    Ok(index)
}
