//! Object detections from Mapillary's Graph API: each detection's `geometry` is a base64 string
//! holding a small vector tile (layer `mpy-or`, extent 4096) whose polygons outline the object in
//! the image.
//!
//! The tile's coordinates are the image's: x to the right and y down from the top-left corner,
//! 0..extent across the whole image. So the normalised image position is simply `x / extent`,
//! `y / extent`, and in pixels `x / extent * width`, `y / extent * height`.
//!
//! A decoder that flips y by default (Python's mapbox-vector-tile, whose `y_coord_down` is off
//! unless asked for) returns `extent - y` instead: its shapes come out mirrored top to bottom.
//! Its y and ours relate by `y_ours = 1 - y_flipped` in normalised coordinates.

use std::io::{self, Write};

use base64::Engine as _;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use mlytiles_mvt::{
    DEFAULT_MAX_DECOMPRESSED, GeomType, GeometrySink, Layer, RingType, Tile, decompress,
};

/// The layer name Mapillary uses for detection outlines.
pub const DETECTION_LAYER: &str = "mpy-or";

/// One detection's outline: polygons in normalised image coordinates (0..1 from the image's
/// top-left corner, y down).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The outline, one polygon per part of the object.
    pub polygons: MultiPolygon<f64>,
}

/// Why a detection could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectionError {
    /// The string is not base64.
    #[error("the detection geometry is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The decoded bytes are not a vector tile, or a polygon in it is broken.
    #[error("the detection geometry is not a valid vector tile: {0}")]
    Tile(#[from] mlytiles_mvt::Error),
    /// The tile has no `mpy-or` layer.
    #[error("the detection tile has no \"mpy-or\" layer (layers: {0})")]
    NoLayer(String),
}

impl Detection {
    /// Decodes a detection from its base64 string (standard alphabet, padding optional;
    /// gzip-compressed tiles are accepted too). Polygons of every feature of the `mpy-or` layer
    /// are kept; features of other geometry types are skipped.
    ///
    /// # Errors
    ///
    /// [`DetectionError`] when the string is not base64, the bytes not a tile, or the layer is
    /// missing.
    pub fn from_base64(text: &str) -> Result<Detection, DetectionError> {
        let bytes = tile_bytes(text)?;
        let tile = Tile::new(&bytes)?;
        let layer = detection_layer(&tile)?;
        let extent = f64::from(layer.extent());
        let mut polygons = Vec::new();
        for feature in layer.features() {
            let feature = feature?;
            if feature.geom_type() != GeomType::Polygon {
                continue;
            }
            let geometry = feature.to_geometry_with(|x, y| Coord {
                x: f64::from(x) / extent,
                y: f64::from(y) / extent,
            })?;
            match geometry {
                Geometry::Polygon(p) => polygons.push(p),
                Geometry::MultiPolygon(mp) => polygons.extend(mp.0),
                _ => {}
            }
        }
        Ok(Detection {
            polygons: MultiPolygon(polygons),
        })
    }

    /// The outline in pixels of an image `width` x `height` (origin at the top-left corner).
    pub fn to_pixels(&self, width: u32, height: u32) -> MultiPolygon<f64> {
        let (w, h) = (f64::from(width), f64::from(height));
        let scale = |ring: &LineString<f64>| {
            LineString(
                ring.0
                    .iter()
                    .map(|c| Coord {
                        x: c.x * w,
                        y: c.y * h,
                    })
                    .collect(),
            )
        };
        MultiPolygon(
            self.polygons
                .0
                .iter()
                .map(|p| {
                    Polygon::new(
                        scale(p.exterior()),
                        p.interiors().iter().map(scale).collect(),
                    )
                })
                .collect(),
        )
    }
}

/// A detection's tile, decoded from base64 and checked, written out as GeoJSON without
/// building the outline in memory.
///
/// [`Detection::from_base64`] builds every vertex as a `geo_types` coordinate; a detection
/// of millions of vertices then takes far more memory than its text. This type keeps the
/// tile's bytes (about three quarters of the text), one byte per ring (its winding), and
/// streams the outline from the bytes: [`write_geojson`](Self::write_geojson) writes what
/// [`Detection`] would give, in the same order, with memory bounded by the input's size.
#[derive(Debug, Clone)]
pub struct DetectionTile {
    bytes: Vec<u8>,
    /// Per ring of the `mpy-or` polygons, in order: 1 an exterior ring, -1 a hole, 0 a ring
    /// enclosing nothing (skipped, as by [`Detection`]).
    rings: Vec<i8>,
}

impl DetectionTile {
    /// Decodes and checks a detection (as [`Detection::from_base64`] does; the same errors).
    ///
    /// # Errors
    ///
    /// As [`Detection::from_base64`].
    pub fn from_base64(text: &str) -> Result<DetectionTile, DetectionError> {
        let bytes = tile_bytes(text)?;
        let mut rings = Vec::new();
        {
            let tile = Tile::new(&bytes)?;
            let layer = detection_layer(&tile)?;
            for feature in layer.features() {
                let feature = feature?;
                if feature.geom_type() != GeomType::Polygon {
                    continue;
                }
                // The reader classifies each ring as `Feature::to_geometry` does.
                let mut types = RingTypes::default();
                feature.decode_geometry(&mut types)?;
                let mut open = false;
                for ring_type in types.0 {
                    let class = match ring_type {
                        RingType::Outer => 1,
                        RingType::Inner => -1,
                        _ => 0,
                    };
                    if class == -1 && !open {
                        // A hole before any exterior: the reader's own error, located.
                        return Err(feature
                            .to_geometry::<i32>()
                            .expect_err("the reader refuses an interior ring first")
                            .into());
                    }
                    open |= class == 1;
                    rings.push(class);
                }
            }
        }
        Ok(DetectionTile { bytes, rings })
    }

    /// Writes the detection as one GeoJSON Feature and a newline, as `mlytiles detection`
    /// prints it: a MultiPolygon in normalised image coordinates (0..1 from the top-left
    /// corner, y down), or in pixels of a `width` x `height` image, with a
    /// `coordinate_space` property saying which.
    ///
    /// # Errors
    ///
    /// The writer's errors.
    pub fn write_geojson<W: Write>(&self, pixels: Option<(u32, u32)>, out: W) -> io::Result<()> {
        let mut w = JsonOut { out, error: None };
        w.raw(b"{\"geometry\":{\"coordinates\":[");
        let tile = Tile::new(&self.bytes).map_err(io::Error::other)?;
        let layer = tile
            .layer(DETECTION_LAYER)
            .map_err(io::Error::other)?
            .ok_or_else(|| io::Error::other("the detection layer went missing"))?;
        let extent = f64::from(layer.extent());
        let (sx, sy) = match pixels {
            Some((width, height)) => (f64::from(width), f64::from(height)),
            None => (1.0, 1.0),
        };
        let mut sink = RingWriter {
            w: &mut w,
            rings: self.rings.iter(),
            extent,
            scale: pixels.map(|_| (sx, sy)),
            polygons: 0,
            in_ring: None,
            first: (0, 0),
        };
        for feature in layer.features() {
            let feature = feature.map_err(io::Error::other)?;
            if feature.geom_type() != GeomType::Polygon {
                continue;
            }
            feature
                .decode_geometry(&mut sink)
                .map_err(io::Error::other)?;
            sink.end_ring();
        }
        let polygons = sink.polygons;
        if polygons > 0 {
            w.raw(b"]");
        }
        w.raw(b"],\"type\":\"MultiPolygon\"},\"properties\":{\"coordinate_space\":");
        match pixels {
            Some((width, height)) => w.raw(format!("{{\"pixels\":[{width},{height}]}}").as_bytes()),
            None => w.raw(b"\"normalized\""),
        }
        w.raw(b",\"origin\":\"top-left, y down\"},\"type\":\"Feature\"}\n");
        match w.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The base64 text's tile bytes, gunzipped when gzip.
fn tile_bytes(text: &str) -> Result<Vec<u8>, DetectionError> {
    let text = text.trim();
    let bytes =
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim_end_matches('='))?;
    Ok(match decompress(&bytes, DEFAULT_MAX_DECOMPRESSED)? {
        std::borrow::Cow::Owned(v) => v,
        std::borrow::Cow::Borrowed(_) => bytes,
    })
}

/// The tile's `mpy-or` layer, or an error naming the layers it has.
fn detection_layer<'t>(tile: &Tile<'t>) -> Result<Layer<'t>, DetectionError> {
    match tile.layer(DETECTION_LAYER)? {
        Some(layer) => Ok(layer),
        None => {
            let names: Vec<String> = tile
                .layers()
                .filter_map(|l| l.ok().map(|l| l.name().to_owned()))
                .collect();
            Err(DetectionError::NoLayer(names.join(", ")))
        }
    }
}

/// The type of each polygon ring of one feature, as the reader reports it.
#[derive(Default)]
struct RingTypes(Vec<RingType>);

impl GeometrySink for RingTypes {
    const WANTS_RING_TYPES: bool = true;
    fn move_to(&mut self, _: i32, _: i32) {}
    fn line_to(&mut self, _: i32, _: i32) {}
    fn close_path(&mut self) {}
    fn ring_end(&mut self, ring_type: RingType) {
        self.0.push(ring_type);
    }
}

/// A writer that keeps its first error (sinks cannot return one).
struct JsonOut<W: Write> {
    out: W,
    error: Option<io::Error>,
}

impl<W: Write> JsonOut<W> {
    fn raw(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    fn number(&mut self, v: f64) {
        if self.error.is_none()
            && let Err(e) = serde_json::to_writer(&mut self.out, &v)
        {
            self.error = Some(io::Error::other(e));
        }
    }
}

/// Writes the rings of the polygons as GeoJSON positions, opening a polygon at each exterior
/// ring, as classified beforehand.
struct RingWriter<'a, 'r, W: Write> {
    w: &'a mut JsonOut<W>,
    rings: std::slice::Iter<'r, i8>,
    extent: f64,
    scale: Option<(f64, f64)>,
    polygons: u64,
    /// Whether the current ring is written (`Some(true)`), skipped (`Some(false)`) or none is
    /// open.
    in_ring: Option<bool>,
    first: (i32, i32),
}

impl<W: Write> RingWriter<'_, '_, W> {
    fn position(&mut self, x: i32, y: i32, lead: bool) {
        let (mut px, mut py) = (f64::from(x) / self.extent, f64::from(y) / self.extent);
        if let Some((w, h)) = self.scale {
            px *= w;
            py *= h;
        }
        self.w.raw(if lead { b"[" } else { b",[" });
        self.w.number(px);
        self.w.raw(b",");
        self.w.number(py);
        self.w.raw(b"]");
    }

    /// Closes the open ring, repeating its first position.
    fn end_ring(&mut self) {
        if self.in_ring.take() == Some(true) {
            let (x, y) = self.first;
            self.position(x, y, false);
            self.w.raw(b"]");
        }
    }
}

impl<W: Write> GeometrySink for RingWriter<'_, '_, W> {
    fn move_to(&mut self, x: i32, y: i32) {
        self.end_ring();
        let class = self.rings.next().copied().unwrap_or(0);
        if class == 0 {
            self.in_ring = Some(false);
            return;
        }
        if class == 1 {
            if self.polygons > 0 {
                self.w.raw(b"],");
            }
            self.w.raw(b"[");
            self.polygons += 1;
        } else {
            self.w.raw(b",");
        }
        self.in_ring = Some(true);
        self.first = (x, y);
        self.w.raw(b"[");
        self.position(x, y, true);
    }
    fn line_to(&mut self, x: i32, y: i32) {
        if self.in_ring == Some(true) {
            self.position(x, y, false);
        }
    }
    fn close_path(&mut self) {}
}
