//! Web Mercator math: lon/lat ↔ fractional tile coordinates, tile-local transforms.

use std::f64::consts::PI;

use crate::{Error, MAX_LATITUDE, Result, TileId};

/// Wraps a longitude into `-180..=180` (values already inside are unchanged,
/// so 180 stays 180). Non-finite values become NaN.
pub(crate) fn wrap_lon(lon: f64) -> f64 {
    if (-180.0..=180.0).contains(&lon) {
        lon
    } else {
        (lon + 180.0).rem_euclid(360.0) - 180.0
    }
}

/// Column fraction of a longitude with `n` tiles per side.
pub(crate) fn lon_to_fx(lon: f64, n: f64) -> f64 {
    (lon + 180.0) / 360.0 * n
}

/// Mercator y in radians (`asinh(tan(lat))`) of a latitude clamped to the Mercator limit.
fn merc_y(lat: f64) -> f64 {
    lat.clamp(-MAX_LATITUDE, MAX_LATITUDE)
        .to_radians()
        .tan()
        .asinh()
}

/// Row fraction of a latitude (clamped) with `n` tiles per side.
pub(crate) fn lat_to_fy(lat: f64, n: f64) -> f64 {
    (1.0 - merc_y(lat) / PI) / 2.0 * n
}

/// Latitude of a row fraction with `n` tiles per side.
pub(crate) fn fy_to_lat(fy: f64, n: f64) -> f64 {
    (PI * (1.0 - 2.0 * fy / n)).sinh().atan().to_degrees()
}

/// Fractional tile coordinates `(x, y)` of a point at zoom `z`: the integer
/// parts are the tile column and row, the fractions the position inside the
/// tile (y down). Useful for rasterizing.
///
/// Latitude is clamped to ±[`MAX_LATITUDE`]; longitude outside `-180..=180`
/// is wrapped. `z` is not limited to 30 here. NaN (and infinite longitude)
/// inputs give NaN outputs instead of an error; use
/// [`TileId::from_lon_lat`] for a checked tile.
///
/// # Examples
///
/// ```
/// let (x, y) = mlytiles_tile::lon_lat_to_tile_fraction(-90.0, 0.0, 2);
/// assert_eq!((x, y), (1.0, 2.0));
/// ```
pub fn lon_lat_to_tile_fraction(lon: f64, lat: f64, z: u8) -> (f64, f64) {
    let n = 2f64.powi(z.into());
    (lon_to_fx(wrap_lon(lon), n), lat_to_fy(lat, n))
}

/// Precomputed constants of one tile and extent, converting between
/// tile-local coordinates and lon/lat with a few multiplications plus one
/// `atan(sinh(..))` (or `asinh(tan(..))`) per point.
///
/// Tile-local coordinates have `x` growing east and `y` growing south, the
/// tile spanning `0..extent` on both axes; values outside (buffers) are allowed.
///
/// # Examples
///
/// ```
/// use mlytiles_tile::{TileId, TileTransform};
///
/// let tile = TileId::new(14, 3251, 6257)?;
/// let tr = TileTransform::new(tile, 4096)?;
/// let (lon, lat) = tr.to_lon_lat(1024.0, 3072.0);
/// let (x, y) = tr.to_local(lon, lat);
/// assert!((x - 1024.0).abs() < 1e-6 && (y - 3072.0).abs() < 1e-6);
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileTransform {
    tile: TileId,
    extent: u32,
    /// Longitude of the west edge.
    west: f64,
    /// Degrees of longitude per extent unit.
    lon_per_unit: f64,
    /// Mercator y (radians, north positive) of the north edge.
    merc_north: f64,
    /// Mercator y change per extent unit (negative: y_local grows south).
    merc_per_unit: f64,
}

impl TileTransform {
    /// Precomputes the transform of `tile` with `extent` units per side.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroExtent`] if `extent` is 0.
    pub fn new(tile: TileId, extent: u32) -> Result<TileTransform> {
        if extent == 0 {
            return Err(Error::ZeroExtent);
        }
        Ok(TileTransform::new_unchecked(tile, extent))
    }

    /// Like `new`, but an extent of 0 yields non-finite results instead of an error.
    pub(crate) fn new_unchecked(tile: TileId, extent: u32) -> TileTransform {
        let n = 2f64.powi(tile.z().into());
        let units = n * f64::from(extent);
        TileTransform {
            tile,
            extent,
            west: f64::from(tile.x()) / n * 360.0 - 180.0,
            lon_per_unit: 360.0 / units,
            merc_north: PI * (1.0 - 2.0 * f64::from(tile.y()) / n),
            merc_per_unit: -2.0 * PI / units,
        }
    }

    /// The tile.
    pub const fn tile(&self) -> TileId {
        self.tile
    }

    /// Units per tile side.
    pub const fn extent(&self) -> u32 {
        self.extent
    }

    /// Tile-local `(x, y)` to `(lon, lat)` degrees. Longitude is not
    /// wrapped, so buffer points of edge tiles may lie slightly beyond ±180;
    /// latitude of buffer points may exceed [`MAX_LATITUDE`] (never ±90).
    #[inline]
    pub fn to_lon_lat(&self, x: f64, y: f64) -> (f64, f64) {
        let lon = self.west + x * self.lon_per_unit;
        let lat = (self.merc_north + y * self.merc_per_unit)
            .sinh()
            .atan()
            .to_degrees();
        (lon, lat)
    }

    /// `(lon, lat)` degrees to tile-local `(x, y)`, the inverse of
    /// [`to_lon_lat`](Self::to_lon_lat). Latitude is clamped to
    /// ±[`MAX_LATITUDE`]; longitude is not wrapped (so geometry crossing the
    /// antimeridian stays continuous). NaN gives NaN.
    #[inline]
    pub fn to_local(&self, lon: f64, lat: f64) -> (f64, f64) {
        let x = (lon - self.west) / self.lon_per_unit;
        let y = (merc_y(lat) - self.merc_north) / self.merc_per_unit;
        (x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_latitude_is_mercator_limit() {
        assert!((PI.sinh().atan().to_degrees() - MAX_LATITUDE).abs() < 1e-12);
        assert!(lat_to_fy(MAX_LATITUDE, 1.0).abs() < 1e-12);
        assert!((lat_to_fy(-90.0, 8.0) - 8.0).abs() < 1e-12);
    }

    #[test]
    fn wrap() {
        assert_eq!(wrap_lon(180.0), 180.0);
        assert_eq!(wrap_lon(-180.0), -180.0);
        assert_eq!(wrap_lon(181.0), -179.0);
        assert_eq!(wrap_lon(-181.0), 179.0);
        assert_eq!(wrap_lon(540.0), -180.0);
        assert_eq!(wrap_lon(720.0 + 10.0), 10.0);
        assert!(wrap_lon(f64::INFINITY).is_nan());
    }

    #[test]
    fn fraction_non_finite_is_nan_not_panic() {
        let (x, y) = lon_lat_to_tile_fraction(f64::NAN, f64::NAN, 255);
        assert!(x.is_nan() && y.is_nan());
        let (x, y) = lon_lat_to_tile_fraction(f64::NEG_INFINITY, f64::INFINITY, 3);
        assert!(x.is_nan());
        assert!(y.abs() < 1e-12);
    }

    #[test]
    fn zero_extent() {
        let err = TileTransform::new(TileId::ROOT, 0).unwrap_err();
        assert_eq!(err.to_string(), "tile extent 0 must be greater than zero");
        let (lon, _) = TileId::ROOT.to_lon_lat(1.0, 1.0, 0);
        assert!(!lon.is_finite());
    }

    #[test]
    fn transform_round_trip_grid() {
        for z in [0u8, 1, 7, 14, 22, 30] {
            let n = 1u32 << z;
            let tile = TileId::new(z, n / 3, n - 1 - n / 5).unwrap();
            let tr = TileTransform::new(tile, 4096).unwrap();
            // f64 degrees carry ~1e-14 deg of error; allow 1e-12 deg, in extent units.
            let tol = 1e-12 / tr.lon_per_unit;
            for i in -2..=10 {
                for j in -2..=10 {
                    let (x, y) = (f64::from(i) * 512.0 + 0.25, f64::from(j) * 512.0 - 0.5);
                    let (lon, lat) = tr.to_lon_lat(x, y);
                    let (x2, y2) = tr.to_local(lon, lat);
                    // Outside the Mercator limit latitudes get clamped.
                    if lat.abs() < MAX_LATITUDE {
                        assert!((x2 - x).abs() < tol, "z{z} x {x} -> {x2}");
                        assert!((y2 - y).abs() < tol, "z{z} y {y} -> {y2}");
                    }
                }
            }
        }
    }
}
