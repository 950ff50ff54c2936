//! Writing GeoJSON (RFC 7946) features straight to a writer, without building JSON values.
//!
//! Integers are written exactly as the tile holds them (a `u64` id above 2^53 is not rounded);
//! floats are written in their shortest exact form, NaN and infinities as `null`; strings are
//! escaped by serde_json.

use std::io::{self, Write};

use mlytiles_mvt::Value;
use mlytiles_mvt::geo_types::{Coord, Geometry};
use mlytiles_tile::TileTransform;

/// How tile coordinates are written.
#[derive(Debug, Clone, Copy)]
pub enum Coords {
    /// As the tile stores them: integers, `0..extent`, `y` growing south.
    Local,
    /// As longitude and latitude (degrees, WGS 84 / Web Mercator), through the layer's
    /// transform.
    LonLat(TileTransform),
}

pub use mlytiles_filter::geojson::{float, string};

/// Writes a property value: integers exactly, floats as numbers (`null` when not finite),
/// booleans and strings as themselves.
pub fn value<W: Write>(w: &mut W, v: Value<'_>) -> io::Result<()> {
    match v {
        Value::String(s) => string(w, s),
        // f32 through serde_json keeps its own shortest form: 0.1f32 prints as 0.1.
        Value::Float(x) => serde_json::to_writer(&mut *w, &x).map_err(io::Error::from),
        Value::Double(x) => float(w, x),
        Value::Int(i) | Value::SInt(i) => write!(w, "{i}"),
        Value::UInt(u) => write!(w, "{u}"),
        Value::Bool(b) => write!(w, "{b}"),
    }
}

/// Writes one Feature object on one line (no newline): `type`, `id` (the protobuf feature id,
/// when present), the foreign member `layer`, `properties` and `geometry` (`null` when `None`).
/// The layer is also the first property, where GDAL and QGIS read it (as `filter`'s exports
/// write it), unless the feature has a tag of its own named `layer`, which is written as it is.
pub fn feature<W: Write>(
    w: &mut W,
    id: Option<u64>,
    layer: &str,
    properties: &[(&str, Value<'_>)],
    geometry: Option<&Geometry<i32>>,
    coords: Coords,
) -> io::Result<()> {
    w.write_all(br#"{"type":"Feature","#)?;
    if let Some(id) = id {
        write!(w, r#""id":{id},"#)?;
    }
    w.write_all(br#""layer":"#)?;
    string(w, layer)?;
    w.write_all(br#","properties":{"#)?;
    let mut first = true;
    if !properties.iter().any(|(key, _)| *key == "layer") {
        w.write_all(br#""layer":"#)?;
        string(w, layer)?;
        first = false;
    }
    for (key, v) in properties {
        if !std::mem::take(&mut first) {
            w.write_all(b",")?;
        }
        string(w, key)?;
        w.write_all(b":")?;
        value(w, *v)?;
    }
    w.write_all(br#"},"geometry":"#)?;
    match geometry {
        Some(g) => self::geometry(w, g, coords)?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b"}")
}

/// Writes a geometry object (see [`mlytiles_filter::geojson::geometry`]), its tile
/// coordinates as they are or in lon/lat.
pub fn geometry<W: Write>(w: &mut W, g: &Geometry<i32>, coords: Coords) -> io::Result<()> {
    mlytiles_filter::geojson::geometry(w, g, &mut |w, c| coord(w, c, coords))
}

fn coord<W: Write>(w: &mut W, c: Coord<i32>, coords: Coords) -> io::Result<()> {
    match coords {
        Coords::Local => write!(w, "[{},{}]", c.x, c.y),
        Coords::LonLat(tr) => {
            let (lon, lat) = tr.to_lon_lat(f64::from(c.x), f64::from(c.y));
            w.write_all(b"[")?;
            float(w, lon)?;
            w.write_all(b",")?;
            float(w, lat)?;
            w.write_all(b"]")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlytiles_mvt::geo_types::{LineString, MultiPoint, Point, Rect, coord};
    use mlytiles_tile::TileId;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_print_exactly() {
        let v = |v| text(|w| value(w, v));
        assert_eq!(v(Value::UInt(9_007_199_254_740_993)), "9007199254740993");
        assert_eq!(v(Value::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(v(Value::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(v(Value::SInt(-3)), "-3");
        assert_eq!(v(Value::Float(0.1)), "0.1");
        assert_eq!(v(Value::Double(361.39)), "361.39");
        assert_eq!(v(Value::Double(f64::NAN)), "null");
        assert_eq!(v(Value::Float(f32::NEG_INFINITY)), "null");
        assert_eq!(v(Value::Bool(true)), "true");
        assert_eq!(v(Value::String("a\"b\n")), r#""a\"b\n""#);
    }

    #[test]
    fn features_and_geometries() {
        let line: Geometry<i32> = LineString::from(vec![(0, 0), (10, 5)]).into();
        let f = text(|w| {
            feature(
                w,
                Some(7),
                "sequence",
                &[("id", Value::String("x")), ("is_pano", Value::Bool(false))],
                Some(&line),
                Coords::Local,
            )
        });
        assert_eq!(
            f,
            r#"{"type":"Feature","id":7,"layer":"sequence","properties":{"layer":"sequence","id":"x","is_pano":false},"geometry":{"type":"LineString","coordinates":[[0,0],[10,5]]}}"#
        );
        let f = text(|w| feature(w, None, "l", &[], None, Coords::Local));
        assert_eq!(
            f,
            r#"{"type":"Feature","layer":"l","properties":{"layer":"l"},"geometry":null}"#
        );
        // A tag of the feature's own named `layer` is kept as it is, and written once.
        let f = text(|w| {
            feature(
                w,
                None,
                "roads",
                &[("layer", Value::SInt(-1))],
                None,
                Coords::Local,
            )
        });
        assert_eq!(
            f,
            r#"{"type":"Feature","layer":"roads","properties":{"layer":-1},"geometry":null}"#
        );
        let rect: Geometry<i32> = Rect::new(coord! {x: 0, y: 0}, coord! {x: 1, y: 1}).into();
        let g = text(|w| geometry(w, &rect, Coords::Local));
        assert!(
            g.starts_with(r#"{"type":"Polygon","coordinates":[[["#),
            "{g}"
        );
        let mp: Geometry<i32> = MultiPoint(vec![Point::new(1, 2)]).into();
        assert_eq!(
            text(|w| geometry(w, &mp, Coords::Local)),
            r#"{"type":"MultiPoint","coordinates":[[1,2]]}"#
        );
    }

    #[test]
    fn lon_lat_coordinates() {
        let tr = TileTransform::new(TileId::new(1, 1, 1).unwrap(), 4096).unwrap();
        let p: Geometry<i32> = Point::new(0, 0).into();
        assert_eq!(
            text(|w| geometry(w, &p, Coords::LonLat(tr))),
            r#"{"type":"Point","coordinates":[0,0]}"#
        );
    }
}
