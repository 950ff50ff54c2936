//! Assembling `geo_types` values from decoded geometry: parts, rings classified by their
//! signed area (spec 4.3.4.4), polygons with their holes.

use geo_types::{
    Coord, CoordNum, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon,
};

use crate::error::{Error, ErrorKind, Result};
use crate::feature::Feature;
use crate::geom_type::{GeomType, GeometrySink, RingType};
use crate::ring::{RingClassifier, ring_area2};

impl<'l, 'a> Feature<'l, 'a> {
    /// The geometry as a `geo_types` value in tile coordinates (x right, y down), converted to
    /// `T` (`i32`, `i64`, `f32`, `f64`...). Allocates the result.
    ///
    /// Points give a `Point` or `MultiPoint`, lines a `LineString` or `MultiLineString`,
    /// polygons a `Polygon` or `MultiPolygon` with closed rings. Polygon rings are classified by
    /// their signed area, computed exactly in integers: in version 2 layers a positive area
    /// (clockwise on screen) starts a new polygon and a negative one is a hole of the polygon
    /// before it (spec 4.3.4.4); in version 1 layers the first ring's sign counts as exterior.
    /// Rings of zero area enclose nothing and are dropped.
    ///
    /// # Errors
    ///
    /// Those of [`Feature::decode_geometry`]; [`ErrorKind::UnknownGeometry`] for UNKNOWN
    /// geometries; [`ErrorKind::InteriorRingFirst`] for a hole before any exterior ring;
    /// [`ErrorKind::CoordinateOutOfRange`] when a coordinate does not fit `T`.
    pub fn to_geometry<T: CoordNum>(&self) -> Result<Geometry<T>> {
        self.build_geometry(|(x, y)| match (T::from(x), T::from(y)) {
            (Some(x), Some(y)) => Ok(Coord { x, y }),
            _ => Err(ErrorKind::CoordinateOutOfRange { x, y }),
        })
    }

    /// The geometry as a `geo_types` value whose coordinates `transform` makes from tile
    /// coordinates, for example lon/lat with `mlytiles_tile::TileTransform`. Rings are
    /// classified in tile coordinates, before the transform, exactly as by
    /// [`Feature::to_geometry`]. Allocates the result only.
    ///
    /// # Errors
    ///
    /// As [`Feature::to_geometry`], less the coordinate range check.
    pub fn to_geometry_with<T: CoordNum>(
        &self,
        mut transform: impl FnMut(i32, i32) -> Coord<T>,
    ) -> Result<Geometry<T>> {
        self.build_geometry(|(x, y)| Ok(transform(x, y)))
    }

    fn build_geometry<T: CoordNum>(
        &self,
        mut make: impl FnMut((i32, i32)) -> std::result::Result<Coord<T>, ErrorKind>,
    ) -> Result<Geometry<T>> {
        let mut parts = Parts::default();
        self.decode_geometry(&mut parts)?;
        let fail = |kind| self.locate(Error::new(kind));
        let mut coord = |p: (i32, i32)| -> Result<Coord<T>> { make(p).map_err(fail) };
        let mut ring = |part: &[(i32, i32)], close: bool| -> Result<LineString<T>> {
            let mut coords = Vec::with_capacity(part.len() + usize::from(close));
            for &p in part {
                coords.push(coord(p)?);
            }
            if close {
                coords.push(coord(part[0])?);
            }
            Ok(LineString(coords))
        };
        match self.geom_type() {
            GeomType::Unknown => Err(fail(ErrorKind::UnknownGeometry)),
            GeomType::Point => {
                let points = parts
                    .points
                    .iter()
                    .map(|&p| coord(p).map(Point))
                    .collect::<Result<Vec<_>>>()?;
                Ok(match <[Point<T>; 1]>::try_from(points) {
                    Ok([p]) => Geometry::Point(p),
                    Err(points) => Geometry::MultiPoint(MultiPoint(points)),
                })
            }
            GeomType::LineString => {
                let lines = parts
                    .iter()
                    .map(|(part, closed)| ring(part, closed))
                    .collect::<Result<Vec<_>>>()?;
                Ok(match <[LineString<T>; 1]>::try_from(lines) {
                    Ok([l]) => Geometry::LineString(l),
                    Err(lines) => Geometry::MultiLineString(MultiLineString(lines)),
                })
            }
            GeomType::Polygon => {
                let mut polygons: Vec<(LineString<T>, Vec<LineString<T>>)> = Vec::new();
                let mut classes = RingClassifier::new(self.layer.version());
                for (i, (part, _)) in parts.iter().enumerate() {
                    let ring_type = classes.classify(ring_area2(part));
                    if ring_type == RingType::ZeroArea {
                        continue; // encloses nothing
                    }
                    let r = ring(part, true)?;
                    if ring_type == RingType::Outer {
                        polygons.push((r, Vec::new()));
                    } else {
                        match polygons.last_mut() {
                            Some((_, holes)) => holes.push(r),
                            None => return Err(fail(ErrorKind::InteriorRingFirst(i))),
                        }
                    }
                }
                let mut polygons: Vec<Polygon<T>> = polygons
                    .into_iter()
                    .map(|(exterior, holes)| Polygon::new(exterior, holes))
                    .collect();
                Ok(if polygons.len() == 1 {
                    Geometry::Polygon(polygons.remove(0))
                } else {
                    Geometry::MultiPolygon(MultiPolygon(polygons))
                })
            }
        }
    }
}

/// Collects decoded geometry into flat vectors for [`Feature::to_geometry`].
#[derive(Default)]
struct Parts {
    points: Vec<(i32, i32)>,
    /// (start index in `points`, closed by ClosePath)
    starts: Vec<(usize, bool)>,
}

impl Parts {
    fn iter(&self) -> impl Iterator<Item = (&[(i32, i32)], bool)> {
        self.starts.iter().enumerate().map(|(i, &(start, closed))| {
            let end = self.starts.get(i + 1).map_or(self.points.len(), |s| s.0);
            (&self.points[start..end], closed)
        })
    }
}

impl GeometrySink for Parts {
    fn move_to(&mut self, x: i32, y: i32) {
        self.starts.push((self.points.len(), false));
        self.points.push((x, y));
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.points.push((x, y));
    }
    fn close_path(&mut self) {
        if let Some(last) = self.starts.last_mut() {
            last.1 = true;
        }
    }
}
