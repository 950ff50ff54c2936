//! [`TileId`]: a validated `z/x/y` tile.

use std::fmt;
use std::str::FromStr;

use crate::mercator::{TileTransform, fy_to_lat, lat_to_fy, lon_to_fx, wrap_lon};
use crate::{BBox, Error, MAX_ZOOM, Result};

/// A Web Mercator (XYZ) tile: zoom `z` in `0..=30`, column `x` and row `y`
/// in `0..2^z`, with `x` growing east and `y` growing south (row 0 is the
/// northernmost).
///
/// Fields are private so every value is valid. Ordering is by `z`, then `x`,
/// then `y`. Formats and parses as `z/x/y`.
///
/// # Examples
///
/// ```
/// use mlytiles_tile::TileId;
///
/// let t = TileId::new(14, 3251, 6257)?;
/// assert_eq!((t.z(), t.x(), t.y()), (14, 3251, 6257));
/// assert_eq!(t.to_string().parse::<TileId>()?, t);
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

/// Number of tiles per side at zoom `z` (`z <= 30`).
const fn side(z: u8) -> u32 {
    1 << z
}

impl TileId {
    /// The single tile `0/0/0` covering the whole world.
    pub const ROOT: TileId = TileId { z: 0, x: 0, y: 0 };

    /// Creates a tile id, checking `z <= 30` and `x, y < 2^z`.
    ///
    /// # Errors
    ///
    /// [`Error::ZoomTooHigh`] or [`Error::TileOutOfRange`], e.g.
    /// `x 9 is outside 0..8 at zoom 3`.
    pub fn new(z: u8, x: u32, y: u32) -> Result<TileId> {
        check(z.into(), x.into(), y.into())
    }

    /// Builds a tile known to be valid.
    pub(crate) const fn new_unchecked(z: u8, x: u32, y: u32) -> TileId {
        TileId { z, x, y }
    }

    /// The zoom level, `0..=30`.
    pub const fn z(&self) -> u8 {
        self.z
    }

    /// The column, `0..2^z`, counted eastwards from longitude -180.
    pub const fn x(&self) -> u32 {
        self.x
    }

    /// The row, `0..2^z`, counted southwards from latitude
    /// [`MAX_LATITUDE`](crate::MAX_LATITUDE) (XYZ / Google convention).
    pub const fn y(&self) -> u32 {
        self.y
    }

    /// The row in the TMS convention (row 0 in the south), `2^z - 1 - y`,
    /// as stored in MBTiles `tile_row`.
    pub const fn tms_y(&self) -> u32 {
        side(self.z) - 1 - self.y
    }

    /// The same tile with `y` replaced by [`tms_y`](Self::tms_y). Flipping
    /// twice gives the original tile, so this also converts a TMS tile to XYZ.
    pub const fn flip_y(&self) -> TileId {
        TileId {
            y: self.tms_y(),
            ..*self
        }
    }

    /// The tile containing the point `lon`, `lat` (degrees) at zoom `z`.
    ///
    /// Latitude is clamped to ±[`MAX_LATITUDE`](crate::MAX_LATITUDE).
    /// Longitude outside `-180..=180` is wrapped (`190` is `-170`). Points on
    /// a tile edge belong to the tile east / south of it, except that
    /// longitude 180 is in the last column and the southern limit in the
    /// last row.
    ///
    /// # Errors
    ///
    /// [`Error::ZoomTooHigh`] if `z > 30`; [`Error::NotFinite`] if `lon` or
    /// `lat` is NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use mlytiles_tile::TileId;
    ///
    /// assert_eq!(TileId::from_lon_lat(0.0, 0.0, 1)?, TileId::new(1, 1, 1)?);
    /// assert_eq!(TileId::from_lon_lat(180.0, -90.0, 2)?, TileId::new(2, 3, 3)?);
    /// # Ok::<(), mlytiles_tile::Error>(())
    /// ```
    pub fn from_lon_lat(lon: f64, lat: f64, z: u8) -> Result<TileId> {
        check_zoom(z.into())?;
        finite("longitude", lon)?;
        finite("latitude", lat)?;
        let n = f64::from(side(z));
        let last = n - 1.0;
        let x = lon_to_fx(wrap_lon(lon), n).floor().clamp(0.0, last);
        let y = lat_to_fy(lat, n).floor().clamp(0.0, last);
        Ok(TileId::new_unchecked(z, x as u32, y as u32))
    }

    /// The tile's bounds in degrees; latitudes are within
    /// ±[`MAX_LATITUDE`](crate::MAX_LATITUDE).
    ///
    /// # Examples
    ///
    /// ```
    /// use mlytiles_tile::TileId;
    ///
    /// let b = TileId::new(1, 0, 0)?.bounds();
    /// assert_eq!((b.west(), b.east(), b.south()), (-180.0, 0.0, 0.0));
    /// # Ok::<(), mlytiles_tile::Error>(())
    /// ```
    pub fn bounds(&self) -> BBox {
        let n = f64::from(side(self.z));
        let (x, y) = (f64::from(self.x), f64::from(self.y));
        BBox::new_unchecked(
            x / n * 360.0 - 180.0,
            fy_to_lat(y + 1.0, n),
            (x + 1.0) / n * 360.0 - 180.0,
            fy_to_lat(y, n),
        )
    }

    /// Converts a point in tile-local coordinates to lon/lat degrees.
    ///
    /// `x_local` grows east and `y_local` grows south, the tile spanning
    /// `0..extent` on both axes (as in Mapbox Vector Tiles). Points outside
    /// the tile (buffers) are fine; their longitude is not wrapped, so it can
    /// be slightly outside `-180..=180` for edge tiles. An `extent` of 0 gives
    /// non-finite results. For many points of one tile, build a
    /// [`TileTransform`] once instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use mlytiles_tile::TileId;
    ///
    /// let (lon, lat) = TileId::new(1, 1, 1)?.to_lon_lat(0.0, 0.0, 4096);
    /// assert_eq!((lon, lat), (0.0, 0.0));
    /// # Ok::<(), mlytiles_tile::Error>(())
    /// ```
    pub fn to_lon_lat(&self, x_local: f64, y_local: f64, extent: u32) -> (f64, f64) {
        TileTransform::new_unchecked(*self, extent).to_lon_lat(x_local, y_local)
    }

    /// The tile one zoom level up containing this one, or `None` at zoom 0.
    pub const fn parent(&self) -> Option<TileId> {
        if self.z == 0 {
            None
        } else {
            Some(TileId::new_unchecked(self.z - 1, self.x >> 1, self.y >> 1))
        }
    }

    /// The ancestor (or the tile itself) at zoom `z`, or `None` if
    /// `z > self.z()`.
    pub const fn ancestor_at(&self, z: u8) -> Option<TileId> {
        if z > self.z {
            return None;
        }
        let shift = self.z - z;
        Some(TileId::new_unchecked(z, self.x >> shift, self.y >> shift))
    }

    /// The four tiles one zoom level down, in quadkey order (north-west,
    /// north-east, south-west, south-east), or `None` at zoom 30.
    pub const fn children(&self) -> Option<[TileId; 4]> {
        if self.z >= MAX_ZOOM {
            return None;
        }
        let (z, x, y) = (self.z + 1, self.x << 1, self.y << 1);
        Some([
            TileId::new_unchecked(z, x, y),
            TileId::new_unchecked(z, x + 1, y),
            TileId::new_unchecked(z, x, y + 1),
            TileId::new_unchecked(z, x + 1, y + 1),
        ])
    }

    /// Whether `other` is this tile or lies inside it (at the same or a deeper zoom).
    pub const fn contains_tile(&self, other: &TileId) -> bool {
        match other.ancestor_at(self.z) {
            Some(a) => a.x == self.x && a.y == self.y,
            None => false,
        }
    }

    /// Whether this tile lies strictly inside `ancestor` (deeper zoom).
    pub const fn is_descendant_of(&self, ancestor: &TileId) -> bool {
        self.z > ancestor.z && ancestor.contains_tile(self)
    }

    /// The Bing Maps quadkey: one digit `0..=3` per zoom level, empty at
    /// zoom 0. Costs O(z).
    ///
    /// # Examples
    ///
    /// ```
    /// use mlytiles_tile::TileId;
    ///
    /// assert_eq!(TileId::new(3, 3, 5)?.quadkey(), "213");
    /// # Ok::<(), mlytiles_tile::Error>(())
    /// ```
    pub fn quadkey(&self) -> String {
        (1..=self.z)
            .rev()
            .map(|level| {
                let bit = 1 << (level - 1);
                let digit = u8::from(self.x & bit != 0) + 2 * u8::from(self.y & bit != 0);
                char::from(b'0' + digit)
            })
            .collect()
    }

    /// Parses a Bing Maps quadkey; its length is the zoom, so `""` is the
    /// root tile. Costs O(length).
    ///
    /// # Errors
    ///
    /// [`Error::ParseQuadkey`] if a character is not `0`..=`3` or the key is
    /// longer than 30 digits.
    pub fn from_quadkey(quadkey: &str) -> Result<TileId> {
        let err = |reason: String| Error::ParseQuadkey {
            input: quadkey.to_owned(),
            reason,
        };
        if quadkey.len() > usize::from(MAX_ZOOM) {
            return Err(err(format!(
                "{} digits is more than the maximum zoom 30",
                quadkey.chars().count()
            )));
        }
        let (mut x, mut y) = (0u32, 0u32);
        for (i, c) in quadkey.chars().enumerate() {
            let d = match c {
                '0'..='3' => c as u32 - '0' as u32,
                _ => return Err(err(format!("{c:?} at position {i} is not a digit 0-3"))),
            };
            x = (x << 1) | (d & 1);
            y = (y << 1) | (d >> 1);
        }
        // All characters are ASCII digits here, so the length is the zoom (<= 30).
        Ok(TileId::new_unchecked(quadkey.len() as u8, x, y))
    }
}

fn check_zoom(z: u64) -> Result<u8> {
    match u8::try_from(z) {
        Ok(z) if z <= MAX_ZOOM => Ok(z),
        _ => Err(Error::ZoomTooHigh { zoom: z }),
    }
}

fn check(z: u64, x: u64, y: u64) -> Result<TileId> {
    let z = check_zoom(z)?;
    for (axis, value) in [('x', x), ('y', y)] {
        if value >= u64::from(side(z)) {
            return Err(Error::TileOutOfRange {
                axis,
                value,
                zoom: z,
            });
        }
    }
    // Both are below 2^z <= 2^30.
    Ok(TileId::new_unchecked(z, x as u32, y as u32))
}

pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NotFinite { name, value })
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

impl FromStr for TileId {
    type Err = Error;

    /// Parses `z/x/y` (decimal, no spaces), validating like [`TileId::new`].
    fn from_str(s: &str) -> Result<TileId> {
        let err = |reason: String| Error::ParseTileId {
            input: s.to_owned(),
            reason,
        };
        let parts: Vec<&str> = s.split('/').collect();
        let [z, x, y] = parts[..] else {
            return Err(err(format!(
                "expected 3 parts z/x/y, found {}",
                parts.len()
            )));
        };
        let mut nums = [0u64; 3];
        for ((name, part), num) in ["z", "x", "y"].into_iter().zip([z, x, y]).zip(&mut nums) {
            // u64 parsing accepts a leading '+'; only plain digits are allowed.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("{name} is not a number")));
            }
            *num = part
                .parse()
                .map_err(|_| err(format!("{name} is too large")))?;
        }
        check(nums[0], nums[1], nums[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_validates() {
        assert!(TileId::new(30, (1 << 30) - 1, 0).is_ok());
        assert_eq!(
            TileId::new(31, 0, 0).unwrap_err().to_string(),
            "zoom 31 is above the maximum 30"
        );
        assert_eq!(
            TileId::new(3, 9, 0).unwrap_err().to_string(),
            "x 9 is outside 0..8 at zoom 3"
        );
        assert_eq!(
            TileId::new(0, 0, 1).unwrap_err().to_string(),
            "y 1 is outside 0..1 at zoom 0"
        );
    }

    #[test]
    fn parse_errors() {
        let msg = |s: &str| s.parse::<TileId>().unwrap_err().to_string();
        assert_eq!(
            msg("14/abc/1"),
            "cannot parse tile id \"14/abc/1\": x is not a number"
        );
        assert_eq!(
            msg("14/1"),
            "cannot parse tile id \"14/1\": expected 3 parts z/x/y, found 2"
        );
        assert_eq!(
            msg("1/+1/1"),
            "cannot parse tile id \"1/+1/1\": x is not a number"
        );
        assert_eq!(
            msg("1/1/"),
            "cannot parse tile id \"1/1/\": y is not a number"
        );
        assert_eq!(
            msg("1/99999999999999999999999/1"),
            "cannot parse tile id \"1/99999999999999999999999/1\": x is too large"
        );
        assert_eq!(msg("300/0/0"), "zoom 300 is above the maximum 30");
        assert_eq!(msg("2/1/4"), "y 4 is outside 0..4 at zoom 2");
    }

    #[test]
    fn family() {
        let t = TileId::new(3, 3, 5).unwrap();
        assert_eq!(t.parent(), Some(TileId::new(2, 1, 2).unwrap()));
        assert_eq!(TileId::ROOT.parent(), None);
        assert_eq!(t.ancestor_at(0), Some(TileId::ROOT));
        assert_eq!(t.ancestor_at(3), Some(t));
        assert_eq!(t.ancestor_at(4), None);
        for c in t.children().unwrap() {
            assert_eq!(c.parent(), Some(t));
            assert!(c.is_descendant_of(&t) && t.contains_tile(&c));
            assert!(!t.is_descendant_of(&c) && !c.contains_tile(&t));
            assert!(c.quadkey().starts_with(&t.quadkey()));
        }
        assert!(t.contains_tile(&t) && !t.is_descendant_of(&t));
        assert!(!t.contains_tile(&TileId::new(4, 0, 0).unwrap()));
        assert_eq!(TileId::new(30, 5, 5).unwrap().children(), None);
    }

    #[test]
    fn tms() {
        let t = TileId::new(3, 3, 5).unwrap();
        assert_eq!(t.tms_y(), 2);
        assert_eq!(t.flip_y().flip_y(), t);
        assert_eq!(TileId::ROOT.tms_y(), 0);
    }

    #[test]
    fn quadkey_errors() {
        let msg = |s: &str| TileId::from_quadkey(s).unwrap_err().to_string();
        assert_eq!(
            msg("124"),
            "cannot parse quadkey \"124\": '4' at position 2 is not a digit 0-3"
        );
        assert_eq!(
            msg(&"0".repeat(31)),
            format!(
                "cannot parse quadkey \"{}\": 31 digits is more than the maximum zoom 30",
                "0".repeat(31)
            )
        );
        assert_eq!(TileId::from_quadkey("").unwrap(), TileId::ROOT);
        assert!(TileId::from_quadkey("é").is_err());
    }

    #[test]
    fn from_lon_lat_edges() {
        let t = |lon, lat, z| TileId::from_lon_lat(lon, lat, z).unwrap().to_string();
        assert_eq!(t(180.0, 0.0, 3), "3/7/4");
        assert_eq!(t(-180.0, 0.0, 3), "3/0/4");
        assert_eq!(t(190.0, 0.0, 3), "3/0/4");
        assert_eq!(t(-190.0, 0.0, 3), "3/7/4");
        assert_eq!(t(0.0, 90.0, 3), "3/4/0");
        assert_eq!(t(0.0, -1e300, 3), "3/4/7");
        assert_eq!(t(1.0, 1.0, 0), "0/0/0");
        assert_eq!(t(-0.0, -0.0, 30), "30/536870912/536870912");
        let msg = |lon, lat, z| TileId::from_lon_lat(lon, lat, z).unwrap_err().to_string();
        assert_eq!(
            msg(f64::NAN, 0.0, 1),
            "longitude NaN is not a finite number"
        );
        assert_eq!(
            msg(f64::INFINITY, 0.0, 1),
            "longitude inf is not a finite number"
        );
        assert_eq!(msg(0.0, f64::NAN, 1), "latitude NaN is not a finite number");
        assert_eq!(msg(0.0, 0.0, 31), "zoom 31 is above the maximum 30");
    }
}
