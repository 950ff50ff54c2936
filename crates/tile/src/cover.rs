//! [`TileCover`]: the tiles covering a bounding box, as a lazy exact-size iterator.

use std::iter::FusedIterator;

use crate::mercator::{lat_to_fy, lon_to_fx};
use crate::tile::TileId;
use crate::{BBox, Error, MAX_ZOOM, Result};

/// The tiles at one zoom that cover a [`BBox`], generated lazily.
///
/// Order is row-major: rows from north to south (`y` ascending), and within
/// a row, columns from the box's west edge to its east edge. For a box
/// crossing the antimeridian that means columns `west..2^z` first, then
/// `0..=east`. Creating the cover, [`len`](ExactSizeIterator::len),
/// [`remaining`](Self::remaining), [`nth`](Iterator::nth) and each step are
/// O(1), so counting a country at zoom 14 costs nothing.
///
/// A tile is included when the box overlaps it; a box edge lying exactly on a
/// tile edge does not pull in the neighbouring tile, except that a
/// zero-width or zero-height box still covers the tile containing it (as
/// [`TileId::from_lon_lat`]). Latitudes beyond the Mercator limit are clamped.
///
/// The count can reach 2^60 at zoom 30; `len()` saturates at `usize::MAX`
/// on targets where `usize` is smaller than 64 bits; [`remaining`](Self::remaining)
/// never does.
///
/// # Examples
///
/// ```
/// use mlytiles_tile::{BBox, TileCover};
///
/// let bbox = BBox::new(-10.0, -10.0, 10.0, 10.0)?;
/// let cover = TileCover::new(bbox, 3)?;
/// assert_eq!(cover.len(), 4);
/// let tiles: Vec<String> = cover.map(|t| t.to_string()).collect();
/// assert_eq!(tiles, ["3/3/3", "3/4/3", "3/3/4", "3/4/4"]);
/// assert_eq!(TileCover::tile_count(bbox, 14)?, 912 * 916);
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileCover {
    z: u8,
    /// First column of the first (western) run of columns.
    x_start: u32,
    /// Number of columns in the first run.
    x_len: u32,
    /// First column of the second run (always 0; used only when `width > x_len`).
    x_wrap_start: u32,
    /// Total columns per row (both runs).
    width: u32,
    /// First row.
    y_start: u32,
    /// Number of rows.
    rows: u32,
    /// Index of the next tile from the front.
    front: u64,
    /// One past the index of the next tile from the back.
    back: u64,
}

/// Inclusive tile range `(first, last)` of a coordinate interval given as fractions.
fn range(lo: f64, hi: f64, n: u32) -> (u32, u32) {
    let last = f64::from(n - 1);
    let first = lo.floor().clamp(0.0, last);
    let end = (hi.ceil() - 1.0).clamp(first, last);
    (first as u32, end as u32)
}

impl TileCover {
    /// The cover of `bbox` at zoom `z`. O(1): no tiles are listed.
    ///
    /// # Errors
    ///
    /// [`Error::ZoomTooHigh`] if `z > 30`.
    pub fn new(bbox: BBox, z: u8) -> Result<TileCover> {
        if z > MAX_ZOOM {
            return Err(Error::ZoomTooHigh { zoom: z.into() });
        }
        let side = 1u32 << z;
        let n = f64::from(side);
        let fx = |lon| lon_to_fx(lon, n);
        let (x_start, x_len, width) = if bbox.crosses_antimeridian() {
            let (west_first, _) = range(fx(bbox.west()), n, side);
            let (_, east_last) = range(0.0, fx(bbox.east()), side);
            if east_last + 1 >= west_first {
                (0, side, side) // the two pieces meet: every column
            } else {
                let x_len = side - west_first;
                (west_first, x_len, x_len + east_last + 1)
            }
        } else {
            let (first, last) = range(fx(bbox.west()), fx(bbox.east()), side);
            (first, last - first + 1, last - first + 1)
        };
        let (y_start, y_end) = range(lat_to_fy(bbox.north(), n), lat_to_fy(bbox.south(), n), side);
        let rows = y_end - y_start + 1;
        Ok(TileCover {
            z,
            x_start,
            x_len,
            x_wrap_start: 0,
            width,
            y_start,
            rows,
            front: 0,
            back: u64::from(width) * u64::from(rows),
        })
    }

    /// Number of tiles covering `bbox` at zoom `z`, in O(1) without listing
    /// them. Same as `TileCover::new(bbox, z)?.remaining()`.
    ///
    /// # Errors
    ///
    /// [`Error::ZoomTooHigh`] if `z > 30`.
    pub fn tile_count(bbox: BBox, z: u8) -> Result<u64> {
        Ok(TileCover::new(bbox, z)?.remaining())
    }

    /// The zoom of the tiles.
    pub const fn zoom(&self) -> u8 {
        self.z
    }

    /// Whether `tile` is one of the cover's tiles (all of them, yielded or not), in O(1).
    ///
    /// ```
    /// use mlytiles_tile::{BBox, TileCover, TileId};
    ///
    /// let cover = TileCover::new(BBox::new(170.0, -10.0, -170.0, 10.0)?, 4)?;
    /// assert!(cover.covers(TileId::new(4, 15, 7)?)); // west of the antimeridian
    /// assert!(cover.covers(TileId::new(4, 0, 8)?)); // and east of it
    /// assert!(!cover.covers(TileId::new(4, 8, 7)?));
    /// assert!(!cover.covers(TileId::new(5, 0, 16)?)); // another zoom
    /// # Ok::<(), mlytiles_tile::Error>(())
    /// ```
    pub fn covers(&self, tile: TileId) -> bool {
        let in_rows = tile.y() >= self.y_start && tile.y() - self.y_start < self.rows;
        let in_first = tile.x() >= self.x_start && tile.x() - self.x_start < self.x_len;
        let in_wrap = self.width > self.x_len
            && tile.x() >= self.x_wrap_start
            && tile.x() - self.x_wrap_start < self.width - self.x_len;
        tile.z() == self.z && in_rows && (in_first || in_wrap)
    }

    /// Number of tiles not yet yielded, as `u64` (never saturates).
    pub const fn remaining(&self) -> u64 {
        self.back - self.front
    }

    /// The tile at position `i` of the full sequence (`i < width * rows`).
    fn tile_at(&self, i: u64) -> TileId {
        let width = u64::from(self.width);
        // Both fit in u32: col < width <= 2^30 and row < rows <= 2^30.
        let (row, col) = ((i / width) as u32, (i % width) as u32);
        let x = if col < self.x_len {
            self.x_start + col
        } else {
            self.x_wrap_start + (col - self.x_len)
        };
        TileId::new_unchecked(self.z, x, self.y_start + row)
    }
}

impl Iterator for TileCover {
    type Item = TileId;

    fn next(&mut self) -> Option<TileId> {
        (self.front < self.back).then(|| {
            self.front += 1;
            self.tile_at(self.front - 1)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining()).unwrap_or(usize::MAX);
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<TileId> {
        self.front = self
            .front
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX))
            .min(self.back);
        self.next()
    }

    fn count(self) -> usize {
        self.len()
    }

    fn last(mut self) -> Option<TileId> {
        self.next_back()
    }
}

impl DoubleEndedIterator for TileCover {
    fn next_back(&mut self) -> Option<TileId> {
        (self.front < self.back).then(|| {
            self.back -= 1;
            self.tile_at(self.back)
        })
    }
}

impl ExactSizeIterator for TileCover {}

impl FusedIterator for TileCover {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn cover(w: f64, s: f64, e: f64, n: f64, z: u8) -> TileCover {
        TileCover::new(BBox::new(w, s, e, n).unwrap(), z).unwrap()
    }

    #[test]
    fn whole_world() {
        for z in 0..=MAX_ZOOM {
            let c = cover(-180.0, -90.0, 180.0, 90.0, z);
            assert_eq!(c.remaining(), 1u64 << (2 * u32::from(z)));
        }
        let tiles: Vec<_> = cover(-180.0, -90.0, 180.0, 90.0, 1).collect();
        let names: Vec<String> = tiles.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["1/0/0", "1/1/0", "1/0/1", "1/1/1"]);
    }

    #[test]
    fn edges_do_not_pull_in_neighbours() {
        // Exactly one z1 quadrant.
        let c = cover(0.0, 0.0, 180.0, 90.0, 1);
        assert_eq!(c.collect::<Vec<_>>(), [TileId::new(1, 1, 0).unwrap()]);
        // A point on a corner is the tile south-east of it.
        let c = cover(0.0, 0.0, 0.0, 0.0, 1);
        assert_eq!(c.collect::<Vec<_>>(), [TileId::new(1, 1, 1).unwrap()]);
    }

    #[test]
    fn antimeridian_pieces_meeting_cover_all_columns() {
        let c = cover(-179.0, 0.0, -179.5, 1.0, 3);
        assert_eq!(c.len(), 8);
        let xs: HashSet<u32> = c.map(|t| t.x()).collect();
        assert_eq!(xs.len(), 8);
        assert_eq!(cover(10.0, 0.0, -10.0, 0.0, 0).len(), 1);
    }

    #[test]
    fn double_ended_and_nth() {
        let c = cover(179.0, -30.0, -170.0, 30.0, 5);
        let forward: Vec<_> = c.clone().collect();
        let mut backward: Vec<_> = c.clone().rev().collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(c.clone().count(), forward.len());
        assert_eq!(c.clone().last(), forward.last().copied());
        for i in 0..forward.len() + 2 {
            assert_eq!(c.clone().nth(i), forward.get(i).copied());
        }
        let mut c2 = c.clone();
        assert_eq!(c2.nth(usize::MAX), None);
        assert_eq!(c2.next(), None);
        assert_eq!(c2.len(), 0);
        // Mixed ends meet in the middle without overlap.
        let mut c3 = c;
        let (mut seen, mut flip) = (Vec::new(), false);
        while let Some(t) = if flip { c3.next_back() } else { c3.next() } {
            seen.push(t);
            flip = !flip;
        }
        assert_eq!(seen.len(), forward.len());
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), forward.len());
    }

    #[test]
    fn zoom_too_high() {
        let b = BBox::new(0.0, 0.0, 1.0, 1.0).unwrap();
        let e = TileCover::new(b, 31).unwrap_err();
        assert_eq!(e.to_string(), "zoom 31 is above the maximum 30");
        assert!(TileCover::tile_count(b, 200).is_err());
    }
}
