//! [`BBox`]: a validated lon/lat bounding box.

use std::fmt;
use std::str::FromStr;

use crate::tile::finite;
use crate::{Error, Result};

/// A bounding box in degrees: `west`, `south`, `east`, `north`.
///
/// Longitudes are in `-180..=180`, latitudes in `-90..=90` with
/// `south <= north`. `west > east` means the box crosses the antimeridian
/// (it spans from `west` eastwards over 180 to `east`). Edges are
/// inclusive. Formats and parses as `W,S,E,N`.
///
/// # Examples
///
/// ```
/// use mlytiles_tile::BBox;
///
/// let b: BBox = "179, -1, -179, 1".parse()?;
/// assert!(b.crosses_antimeridian());
/// assert!(b.contains(180.0, 0.0) && b.contains(-179.5, 0.5));
/// assert!(!b.contains(0.0, 0.0));
/// assert_eq!(b.to_string(), "179,-1,-179,1");
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    west: f64,
    south: f64,
    east: f64,
    north: f64,
}

impl BBox {
    /// Creates a bounding box from degrees.
    ///
    /// # Errors
    ///
    /// [`Error::NotFinite`] for NaN or infinite values, [`Error::OutOfRange`]
    /// for a longitude outside `-180..=180` or a latitude outside
    /// `-90..=90`, [`Error::SouthAboveNorth`] if `south > north`.
    pub fn new(west: f64, south: f64, east: f64, north: f64) -> Result<BBox> {
        for (name, value, limit) in [
            ("west", west, 180.0),
            ("south", south, 90.0),
            ("east", east, 180.0),
            ("north", north, 90.0),
        ] {
            finite(name, value)?;
            if !(-limit..=limit).contains(&value) {
                return Err(Error::OutOfRange {
                    name,
                    value,
                    min: -limit,
                    max: limit,
                });
            }
        }
        if south > north {
            return Err(Error::SouthAboveNorth { south, north });
        }
        Ok(BBox::new_unchecked(west, south, east, north))
    }

    /// Builds a box known to be valid.
    pub(crate) const fn new_unchecked(west: f64, south: f64, east: f64, north: f64) -> BBox {
        BBox {
            west,
            south,
            east,
            north,
        }
    }

    /// West edge (longitude, degrees).
    pub const fn west(&self) -> f64 {
        self.west
    }

    /// South edge (latitude, degrees).
    pub const fn south(&self) -> f64 {
        self.south
    }

    /// East edge (longitude, degrees).
    pub const fn east(&self) -> f64 {
        self.east
    }

    /// North edge (latitude, degrees).
    pub const fn north(&self) -> f64 {
        self.north
    }

    /// Whether the box crosses the antimeridian, i.e. `west > east`.
    pub fn crosses_antimeridian(&self) -> bool {
        self.west > self.east
    }

    /// Whether the point is inside the box or on its edge. Longitude is
    /// compared as given (not wrapped); NaN is never contained.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let lon_in = if self.crosses_antimeridian() {
            lon >= self.west || lon <= self.east
        } else {
            (self.west..=self.east).contains(&lon)
        };
        lon_in && (self.south..=self.north).contains(&lat)
    }
}

impl fmt::Display for BBox {
    /// `W,S,E,N` using the shortest decimal that parses back to the same values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{}",
            self.west, self.south, self.east, self.north
        )
    }
}

impl FromStr for BBox {
    type Err = Error;

    /// Parses `W,S,E,N` (spaces around numbers allowed), validating like
    /// [`BBox::new`].
    fn from_str(s: &str) -> Result<BBox> {
        let err = |reason: String| Error::ParseBBox {
            input: s.to_owned(),
            reason,
        };
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [w, so, e, n] = parts[..] else {
            return Err(err(format!(
                "expected 4 comma-separated numbers W,S,E,N, found {}",
                parts.len()
            )));
        };
        let mut v = [0.0; 4];
        for ((name, part), slot) in ["west", "south", "east", "north"]
            .into_iter()
            .zip([w, so, e, n])
            .zip(&mut v)
        {
            *slot = part
                .parse()
                .map_err(|_| err(format!("{name} {part:?} is not a number")))?;
        }
        BBox::new(v[0], v[1], v[2], v[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages() {
        let msg = |w, s, e, n| BBox::new(w, s, e, n).unwrap_err().to_string();
        assert_eq!(
            msg(f64::NAN, 0.0, 1.0, 1.0),
            "west NaN is not a finite number"
        );
        assert_eq!(
            msg(0.0, 0.0, 1.0, f64::INFINITY),
            "north inf is not a finite number"
        );
        assert_eq!(msg(0.0, 0.0, 200.0, 1.0), "east 200 is outside -180..=180");
        assert_eq!(msg(0.0, -95.5, 1.0, 1.0), "south -95.5 is outside -90..=90");
        assert_eq!(msg(0.0, 10.0, 1.0, 5.0), "south 10 is greater than north 5");
    }

    #[test]
    fn parse() {
        let b: BBox = " 5.87,47.27 , 15.04,  55.06 ".parse().unwrap();
        assert_eq!(b, BBox::new(5.87, 47.27, 15.04, 55.06).unwrap());
        assert_eq!(b.to_string().parse::<BBox>().unwrap(), b);
        assert!(!b.crosses_antimeridian());
        let msg = |s: &str| s.parse::<BBox>().unwrap_err().to_string();
        assert_eq!(
            msg("1,2,3"),
            "cannot parse bbox \"1,2,3\": expected 4 comma-separated numbers W,S,E,N, found 3"
        );
        assert_eq!(
            msg("1,x,3,4"),
            "cannot parse bbox \"1,x,3,4\": south \"x\" is not a number"
        );
        assert_eq!(msg("1,2,3,nan"), "north NaN is not a finite number");
        assert_eq!(msg("1,5,3,4"), "south 5 is greater than north 4");
    }

    #[test]
    fn contains() {
        let b = BBox::new(-10.0, -5.0, 10.0, 5.0).unwrap();
        assert!(b.contains(-10.0, -5.0) && b.contains(10.0, 5.0) && b.contains(0.0, 0.0));
        assert!(!b.contains(10.1, 0.0) && !b.contains(0.0, -5.1));
        assert!(!b.contains(f64::NAN, 0.0) && !b.contains(0.0, f64::NAN));
        let point = BBox::new(3.0, 4.0, 3.0, 4.0).unwrap();
        assert!(point.contains(3.0, 4.0) && !point.crosses_antimeridian());
    }
}
