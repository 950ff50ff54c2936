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

use base64::Engine as _;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use mlytiles_mvt::{DEFAULT_MAX_DECOMPRESSED, GeomType, Tile, decompress};

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
        let text = text.trim();
        let bytes =
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim_end_matches('='))?;
        let bytes = decompress(&bytes, DEFAULT_MAX_DECOMPRESSED)?;
        let tile = Tile::new(&bytes)?;
        let Some(layer) = tile.layer(DETECTION_LAYER)? else {
            let names: Vec<String> = tile
                .layers()
                .filter_map(|l| l.ok().map(|l| l.name().to_owned()))
                .collect();
            return Err(DetectionError::NoLayer(names.join(", ")));
        };
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
