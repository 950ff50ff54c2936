//! The pieces of GeoJSON writing shared by every writer of the project (the exports here, the
//! CLI's `decode`): JSON strings and numbers, and geometry objects with any coordinate type,
//! each position written by the caller (lon/lat, pixels, tile-local integers...).

use std::io::{self, Write};

use geo_types::{Coord, CoordNum, Geometry, LineString, Polygon};

/// Writes `s` as a JSON string.
///
/// # Errors
///
/// Those of `w`.
pub fn string<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *w, s).map_err(io::Error::from)
}

/// Writes a finite number as JSON in Rust's shortest round-trip form (`439`, `0.1`), or
/// `null` when it is NaN or infinite (JSON has no such numbers).
///
/// # Errors
///
/// Those of `w`.
pub fn float<W: Write>(w: &mut W, x: f64) -> io::Result<()> {
    if x.is_finite() {
        write!(w, "{x}")
    } else {
        w.write_all(b"null")
    }
}

/// Writes a position `[x, y]` of floats.
///
/// # Errors
///
/// Those of `w`.
pub fn position<W: Write>(w: &mut W, c: Coord<f64>) -> io::Result<()> {
    w.write_all(b"[")?;
    float(w, c.x)?;
    w.write_all(b",")?;
    float(w, c.y)?;
    w.write_all(b"]")
}

/// Writes a geometry object, each position through `position`. Every geo-types variant has a
/// GeoJSON form: `Line` is written as a LineString, `Rect` and `Triangle` as Polygons, a
/// `GeometryCollection` with its geometries.
///
/// # Errors
///
/// Those of `w` and of `position`.
pub fn geometry<W: Write, T: CoordNum>(
    w: &mut W,
    g: &Geometry<T>,
    position: &mut impl FnMut(&mut W, Coord<T>) -> io::Result<()>,
) -> io::Result<()> {
    let kind = match g {
        Geometry::Point(_) => "Point",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(gc) => {
            w.write_all(br#"{"type":"GeometryCollection","geometries":"#)?;
            list(w, &gc.0, |w, g| geometry(w, g, position))?;
            return w.write_all(b"}");
        }
    };
    write!(w, r#"{{"type":"{kind}","coordinates":"#)?;
    match g {
        Geometry::Point(p) => position(w, p.0)?,
        Geometry::MultiPoint(mp) => list(w, &mp.0, |w, p| position(w, p.0))?,
        Geometry::Line(l) => list(w, &[l.start, l.end], |w, c| position(w, *c))?,
        Geometry::LineString(l) => line(w, l, position)?,
        Geometry::MultiLineString(ml) => list(w, &ml.0, |w, l| line(w, l, position))?,
        Geometry::Polygon(p) => polygon(w, p, position)?,
        Geometry::MultiPolygon(mp) => list(w, &mp.0, |w, p| polygon(w, p, position))?,
        Geometry::Rect(r) => polygon(w, &r.to_polygon(), position)?,
        Geometry::Triangle(t) => polygon(w, &t.to_polygon(), position)?,
        Geometry::GeometryCollection(_) => unreachable!("written above"),
    }
    w.write_all(b"}")
}

fn list<W: Write, T>(
    w: &mut W,
    items: &[T],
    mut each: impl FnMut(&mut W, &T) -> io::Result<()>,
) -> io::Result<()> {
    w.write_all(b"[")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        each(w, item)?;
    }
    w.write_all(b"]")
}

fn line<W: Write, T: CoordNum>(
    w: &mut W,
    l: &LineString<T>,
    position: &mut impl FnMut(&mut W, Coord<T>) -> io::Result<()>,
) -> io::Result<()> {
    list(w, &l.0, |w, c| position(w, *c))
}

fn polygon<W: Write, T: CoordNum>(
    w: &mut W,
    p: &Polygon<T>,
    position: &mut impl FnMut(&mut W, Coord<T>) -> io::Result<()>,
) -> io::Result<()> {
    w.write_all(b"[")?;
    line(w, p.exterior(), position)?;
    for ring in p.interiors() {
        w.write_all(b",")?;
        line(w, ring, position)?;
    }
    w.write_all(b"]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{MultiPoint, Point, Rect, coord, line_string};

    fn text(g: &Geometry<f64>) -> String {
        let mut out = Vec::new();
        geometry(&mut out, g, &mut position).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn geometries_numbers_and_strings() {
        assert_eq!(
            text(&Point::new(1.5, -2.0).into()),
            r#"{"type":"Point","coordinates":[1.5,-2]}"#
        );
        assert_eq!(
            text(&MultiPoint(vec![Point::new(0.0, 0.0), Point::new(f64::NAN, 1.0)]).into()),
            r#"{"type":"MultiPoint","coordinates":[[0,0],[null,1]]}"#
        );
        assert_eq!(
            text(&line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0)].into()),
            r#"{"type":"LineString","coordinates":[[0,0],[1,1]]}"#
        );
        assert_eq!(
            text(&Rect::new(coord! {x: 0.0, y: 0.0}, coord! {x: 1.0, y: 1.0}).into()),
            r#"{"type":"Polygon","coordinates":[[[1,0],[1,1],[0,1],[0,0],[1,0]]]}"#
        );
        let mut out = Vec::new();
        string(&mut out, "a \"b\"\n\u{1}").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#""a \"b\"\n\u0001""#);
    }
}
