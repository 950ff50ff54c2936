//! Where features must lie: bbox, radius and polygon areas (with the GeoJSON polygon
//! parser), and "looking at" a point.

use std::str::FromStr;

use geo::{
    Bearing, BoundingRect, Coord, Distance, Haversine, Intersects, LineString, MultiLineString,
    MultiPolygon, Point, Polygon,
};
use mlytiles_tile::BBox;

use super::parse_error;
use crate::error::{Error, Result};

/// Mean Earth radius used for distances, metres (as geo's `Haversine`).
const EARTH_RADIUS: f64 = 6_371_008.8;

/// Where features must lie.
#[derive(Debug, Clone, PartialEq)]
pub enum Area {
    /// A bounding box (may cross the antimeridian).
    BBox(BBox),
    /// Polygons in lon/lat (GeoJSON Polygon or MultiPolygon); holes are outside.
    Polygon(MultiPolygon<f64>),
    /// Within `metres` of a point (great-circle distance).
    Radius {
        /// Centre longitude.
        lon: f64,
        /// Centre latitude.
        lat: f64,
        /// Radius in metres.
        metres: f64,
    },
}

const RADIUS_FORMS: &str = "`LON,LAT,RADIUS` with the radius in metres, optionally suffixed `m` or `km`, such as `13.40,52.52,500m`";

impl Area {
    /// A bbox from `W,S,E,N`.
    ///
    /// # Errors
    ///
    /// [`Error::Tile`] as `BBox`'s parser.
    pub fn parse_bbox(s: &str) -> Result<Area> {
        Ok(Area::BBox(s.parse()?))
    }

    /// A radius from `LON,LAT,RADIUS` (`500`, `500m`, `2km`).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] saying which part is wrong.
    pub fn parse_radius(input: &str) -> Result<Area> {
        let err = |r: String| parse_error("radius", input, r, RADIUS_FORMS);
        let parts: Vec<&str> = input.split(',').map(str::trim).collect();
        let [lon, lat, r] = parts[..] else {
            return Err(err(format!(
                "expected 3 comma-separated parts, found {}",
                parts.len()
            )));
        };
        let (lon, lat) = parse_lon_lat(lon, lat).map_err(err)?;
        let (num, scale) = if let Some(n) = r.strip_suffix("km") {
            (n, 1000.0)
        } else {
            (r.strip_suffix('m').unwrap_or(r), 1.0)
        };
        let metres = num
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|m| m.is_finite() && *m >= 0.0)
            .ok_or_else(|| err(format!("{r:?} is not a non-negative distance")))?
            * scale;
        Ok(Area::Radius { lon, lat, metres })
    }

    /// Polygons from GeoJSON: a Polygon, a MultiPolygon, a Feature of one, or a
    /// FeatureCollection of them (their union).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] saying what is wrong (not JSON, another geometry type, a bad ring).
    pub fn from_geojson(json: &str) -> Result<Area> {
        let err = |r: String| {
            parse_error(
                "GeoJSON area",
                &json.chars().take(80).collect::<String>(),
                r,
                "a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection of them, in lon/lat",
            )
        };
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| err(format!("not JSON: {e}")))?;
        let mut polys = Vec::new();
        collect_polygons(&v, &mut polys).map_err(err)?;
        if polys.is_empty() {
            return Err(err("it holds no polygon".into()));
        }
        Ok(Area::Polygon(MultiPolygon(polys)))
    }

    /// A box holding the whole area, for choosing which tiles to read; `None` for an empty
    /// polygon.
    ///
    /// A radius reaching a pole spans every longitude; one crossing the antimeridian gives a
    /// box that does too (west > east).
    pub fn bounds(&self) -> Option<BBox> {
        match self {
            Area::BBox(b) => Some(*b),
            Area::Polygon(mp) => {
                let r = mp.bounding_rect()?;
                BBox::new(r.min().x, r.min().y, r.max().x, r.max().y).ok()
            }
            Area::Radius { lon, lat, metres } => {
                // On the sphere Haversine measures on: the angle the radius spans, and the
                // widest longitude offset a circle of that angle reaches at latitude `lat`.
                let angle = metres / EARTH_RADIUS;
                let margin = 1e-9;
                let dlat = angle.to_degrees() + margin;
                let (south, north) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
                let ratio = angle.sin() / lat.to_radians().cos();
                if angle >= std::f64::consts::FRAC_PI_2
                    || ratio.is_nan()
                    || ratio >= 1.0
                    || north >= 90.0
                    || south <= -90.0
                {
                    return BBox::new(-180.0, south, 180.0, north).ok();
                }
                let dlon = ratio.asin().to_degrees() + margin;
                let wrap = |x: f64| {
                    if x < -180.0 {
                        x + 360.0
                    } else if x > 180.0 {
                        x - 360.0
                    } else {
                        x
                    }
                };
                BBox::new(wrap(lon - dlon), south, wrap(lon + dlon), north).ok()
            }
        }
    }

    /// Whether the point lies in the area (borders included).
    pub fn contains_point(&self, lon: f64, lat: f64) -> bool {
        match self {
            Area::BBox(b) => b.contains(lon, lat),
            Area::Polygon(mp) => mp.intersects(&Coord { x: lon, y: lat }),
            Area::Radius {
                lon: clon,
                lat: clat,
                metres,
            } => Haversine.distance(Point::new(*clon, *clat), Point::new(lon, lat)) <= *metres,
        }
    }

    /// Whether any part of the lines touches the area.
    pub fn intersects_lines(&self, lines: &MultiLineString<f64>) -> bool {
        match self {
            Area::BBox(b) => bbox_polygons(b).intersects(lines),
            Area::Polygon(mp) => mp.intersects(lines),
            Area::Radius { lon, lat, metres } => lines.0.iter().any(|l| {
                l.0.iter().any(|c| self.contains_point(c.x, c.y))
                    || l.lines()
                        .any(|s| segment_distance_m(*lon, *lat, s.start, s.end) <= *metres)
            }),
        }
    }
}

/// A bbox as one polygon, or two when it crosses the antimeridian.
fn bbox_polygons(b: &BBox) -> MultiPolygon<f64> {
    let rect = |w: f64, e: f64| {
        Polygon::new(
            LineString::from(vec![
                (w, b.south()),
                (e, b.south()),
                (e, b.north()),
                (w, b.north()),
                (w, b.south()),
            ]),
            vec![],
        )
    };
    if b.crosses_antimeridian() {
        MultiPolygon(vec![rect(b.west(), 180.0), rect(-180.0, b.east())])
    } else {
        MultiPolygon(vec![rect(b.west(), b.east())])
    }
}

/// Distance in metres from a point to a segment, in a local equirectangular projection around
/// the point (good to well under 1% for the few kilometres a radius filter spans).
fn segment_distance_m(lon: f64, lat: f64, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let k = EARTH_RADIUS * std::f64::consts::PI / 180.0;
    let kx = k * lat.to_radians().cos();
    let proj = |c: Coord<f64>| (wrap_lon(c.x - lon) * kx, (c.y - lat) * k);
    let ((ax, ay), (bx, by)) = (proj(a), proj(b));
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (px, py) = (ax + t * dx, ay + t * dy);
    (px * px + py * py).sqrt()
}

fn wrap_lon(d: f64) -> f64 {
    (d + 180.0).rem_euclid(360.0) - 180.0
}

fn parse_lon_lat(lon: &str, lat: &str) -> std::result::Result<(f64, f64), String> {
    let lon_v = lon
        .parse::<f64>()
        .ok()
        .filter(|v| (-180.0..=180.0).contains(v))
        .ok_or_else(|| format!("longitude {lon:?} is not a number in -180..180"))?;
    let lat_v = lat
        .parse::<f64>()
        .ok()
        .filter(|v| (-90.0..=90.0).contains(v))
        .ok_or_else(|| format!("latitude {lat:?} is not a number in -90..90"))?;
    Ok((lon_v, lat_v))
}

fn collect_polygons(
    v: &serde_json::Value,
    out: &mut Vec<Polygon<f64>>,
) -> std::result::Result<(), String> {
    let ty = v.get("type").and_then(|t| t.as_str()).unwrap_or("");
    match ty {
        "FeatureCollection" => {
            let features = v
                .get("features")
                .and_then(|f| f.as_array())
                .ok_or("a FeatureCollection without a `features` array")?;
            for f in features {
                collect_polygons(f, out)?;
            }
            Ok(())
        }
        "Feature" => collect_polygons(
            v.get("geometry").ok_or("a Feature without a `geometry`")?,
            out,
        ),
        "Polygon" => {
            out.push(json_polygon(coords(v)?)?);
            Ok(())
        }
        "MultiPolygon" => {
            let polys = coords(v)?
                .as_array()
                .ok_or("MultiPolygon coordinates are not an array")?;
            for p in polys {
                out.push(json_polygon(p)?);
            }
            Ok(())
        }
        "" => Err("no `type` member".into()),
        other => Err(format!("a {other} is not an area")),
    }
}

fn coords(v: &serde_json::Value) -> std::result::Result<&serde_json::Value, String> {
    v.get("coordinates")
        .ok_or_else(|| "a geometry without `coordinates`".into())
}

fn json_polygon(v: &serde_json::Value) -> std::result::Result<Polygon<f64>, String> {
    let rings = v
        .as_array()
        .ok_or("polygon coordinates are not an array of rings")?;
    let mut rings = rings.iter().map(|r| {
        let pts = r.as_array().ok_or("a ring is not an array of positions")?;
        let coords = pts
            .iter()
            .map(|p| match p.as_array().map(|a| a.as_slice()) {
                Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => Ok(Coord { x, y }),
                    _ => Err("a position is not numbers"),
                },
                _ => Err("a position has fewer than 2 numbers"),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if coords.len() < 4 {
            return Err("a ring has fewer than 4 positions");
        }
        Ok(LineString(coords))
    });
    let exterior = rings.next().ok_or("a polygon without rings")??;
    let holes = rings.collect::<std::result::Result<Vec<_>, &str>>()?;
    Ok(Polygon::new(exterior, holes))
}

/// Images looking at a point: the bearing from the image to the point lies within
/// `tolerance` degrees of the image's compass angle. Panoramas always match; images with an
/// unknown compass angle never do (unless they are panoramas).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookingAt {
    /// Target longitude.
    pub lon: f64,
    /// Target latitude.
    pub lat: f64,
    /// Allowed difference between bearing and compass angle, degrees. Default 30 when
    /// parsed without one.
    pub tolerance: f64,
}

impl LookingAt {
    /// The default tolerance, degrees.
    pub const DEFAULT_TOLERANCE: f64 = 30.0;

    /// Whether an image at `(lon, lat)` with this compass angle and pano flag looks at the
    /// target.
    pub fn sees(&self, lon: f64, lat: f64, compass: Option<f64>, is_pano: Option<bool>) -> bool {
        if is_pano == Some(true) {
            return true;
        }
        let Some(compass) = compass else {
            return false;
        };
        let bearing = Haversine.bearing(Point::new(lon, lat), Point::new(self.lon, self.lat));
        let d = (bearing - compass).rem_euclid(360.0);
        d.min(360.0 - d) <= self.tolerance
    }
}

impl FromStr for LookingAt {
    type Err = Error;

    /// `LON,LAT` or `LON,LAT,TOLERANCE`.
    fn from_str(input: &str) -> Result<LookingAt> {
        const FORMS: &str = "`LON,LAT` or `LON,LAT,TOLERANCE_DEGREES`, such as `13.40,52.52,20`";
        let err = |r: String| parse_error("looking-at target", input, r, FORMS);
        let parts: Vec<&str> = input.split(',').map(str::trim).collect();
        let (lon, lat, tol) = match parts[..] {
            [lon, lat] => (lon, lat, None),
            [lon, lat, tol] => (lon, lat, Some(tol)),
            _ => return Err(err(format!("expected 2 or 3 parts, found {}", parts.len()))),
        };
        let (lon, lat) = parse_lon_lat(lon, lat).map_err(err)?;
        let tolerance = match tol {
            None => LookingAt::DEFAULT_TOLERANCE,
            Some(t) => t
                .parse::<f64>()
                .ok()
                .filter(|t| (0.0..=180.0).contains(t))
                .ok_or_else(|| err(format!("tolerance {t:?} is not a number in 0..180")))?,
        };
        Ok(LookingAt {
            lon,
            lat,
            tolerance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas() {
        let a = Area::parse_radius("13.4,52.5,1km").unwrap();
        assert!(a.contains_point(13.4, 52.5));
        // 0.01 degree of latitude is about 1112 m.
        assert!(a.contains_point(13.4, 52.508));
        assert!(!a.contains_point(13.4, 52.51));
        assert_eq!(
            Area::parse_radius("13.4,52.5,500m").unwrap(),
            Area::Radius {
                lon: 13.4,
                lat: 52.5,
                metres: 500.0
            }
        );
        assert!(Area::parse_radius("13.4,52.5").is_err());
        assert!(Area::parse_radius("200,52.5,1").is_err());
        assert!(Area::parse_radius("13,52,-1").is_err());

        let b = Area::parse_bbox("170,-10,-170,10").unwrap();
        assert!(b.contains_point(175.0, 0.0) && b.contains_point(-175.0, 0.0));
        assert!(!b.contains_point(0.0, 0.0));
        let line = MultiLineString(vec![LineString::from(vec![(160.0, 0.0), (165.0, 0.0)])]);
        assert!(!b.intersects_lines(&line));
        let line = MultiLineString(vec![LineString::from(vec![(165.0, -20.0), (175.0, 20.0)])]);
        assert!(b.intersects_lines(&line));

        let square = r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon",
            "coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}}"#;
        let p = Area::from_geojson(square).unwrap();
        assert!(p.contains_point(1.0, 1.0));
        assert!(!p.contains_point(5.0, 5.0), "holes are outside");
        assert!(!p.contains_point(11.0, 5.0));
        let fc = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[20,20],[21,20],[21,21],[20,20]]]]}}]}"#;
        assert!(Area::from_geojson(fc).unwrap().contains_point(20.8, 20.2));
        for bad in [
            "nope",
            r#"{"type":"Point","coordinates":[0,0]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}"#,
            r#"{"type":"FeatureCollection","features":[]}"#,
        ] {
            let e = Area::from_geojson(bad).unwrap_err().to_string();
            assert!(e.contains("GeoJSON Polygon"), "{e}");
        }

        // A radius reaches a line that passes near the centre between two far vertices.
        let r = Area::parse_radius("0,0,200").unwrap();
        let line = MultiLineString(vec![LineString::from(vec![(-1.0, 0.001), (1.0, 0.001)])]);
        assert!(r.intersects_lines(&line));
        let line = MultiLineString(vec![LineString::from(vec![(-1.0, 0.01), (1.0, 0.01)])]);
        assert!(!r.intersects_lines(&line));
    }

    #[test]
    fn looking_at() {
        let target: LookingAt = "0,0.001".parse().unwrap(); // due north of (0, 0)
        assert_eq!(target.tolerance, LookingAt::DEFAULT_TOLERANCE);
        assert!(target.sees(0.0, 0.0, Some(0.0), Some(false)));
        assert!(target.sees(0.0, 0.0, Some(350.0), None));
        assert!(target.sees(0.0, 0.0, Some(29.0), None));
        assert!(!target.sees(0.0, 0.0, Some(31.0), None));
        assert!(!target.sees(0.0, 0.0, Some(180.0), Some(false)));
        assert!(
            target.sees(0.0, 0.0, Some(180.0), Some(true)),
            "panoramas always match"
        );
        assert!(!target.sees(0.0, 0.0, None, Some(false)));
        assert!(target.sees(0.0, 0.0, None, Some(true)));
        let east: LookingAt = "0.001,0,5".parse().unwrap();
        assert!(east.sees(0.0, 0.0, Some(92.0), None) && !east.sees(0.0, 0.0, Some(80.0), None));
        assert!("0".parse::<LookingAt>().is_err());
        assert!("0,0,200".parse::<LookingAt>().is_err());
    }
}
