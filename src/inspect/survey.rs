//! The survey of a tile: every layer, feature, property and vertex read, counted by kind.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use mlytiles_mvt::{Error, GeomType, GeometrySink, Tile};
use serde::{Serialize, Serializer};

/// Everything the walk of one tile found.
#[derive(Debug, Default)]
pub struct Survey<'a> {
    /// The layers that could be read, in tile order.
    pub layers: Vec<LayerReport<'a>>,
    /// Layers that could not be read (fatal) or were skipped (a repeated name).
    pub skipped: Vec<Skipped>,
    /// A malformed tile message, which ends the walk.
    pub tile_error: Option<Error>,
    /// The first fatal error anywhere.
    pub fatal: Option<Error>,
}

/// One readable layer.
#[derive(Debug, Serialize)]
pub struct LayerReport<'a> {
    /// Position among the tile's layers.
    pub index: usize,
    /// The layer's name.
    pub name: &'a str,
    /// Spec version, 1 or 2.
    pub version: u32,
    /// Tile extent of the layer.
    pub extent: u32,
    /// Feature messages in the layer.
    pub features: usize,
    /// Readable features by geometry type.
    pub geometry_types: GeomCounts,
    /// Keys seen in features, each with the names of the value types seen with it.
    pub keys: BTreeMap<&'a str, BTreeSet<&'static str>>,
    /// Features with a recoverable error.
    pub errors: usize,
    /// The first of those errors.
    #[serde(serialize_with = "display")]
    pub first_error: Option<Error>,
    /// A fatal error that ended the walk of this layer.
    #[serde(serialize_with = "display")]
    pub fatal_error: Option<Error>,
}

/// Feature counts by geometry type, keyed in JSON by the type names of `GeomType::name`.
#[derive(Debug, Default, Serialize)]
pub struct GeomCounts {
    /// `POINT` features.
    #[serde(rename = "Point")]
    pub point: usize,
    /// `LINESTRING` features.
    #[serde(rename = "LineString")]
    pub line_string: usize,
    /// `POLYGON` features.
    #[serde(rename = "Polygon")]
    pub polygon: usize,
    /// `UNKNOWN` features.
    #[serde(rename = "Unknown")]
    pub unknown: usize,
}

impl GeomCounts {
    fn add(&mut self, t: GeomType) {
        match t {
            GeomType::Point => self.point += 1,
            GeomType::LineString => self.line_string += 1,
            GeomType::Polygon => self.polygon += 1,
            GeomType::Unknown => self.unknown += 1,
        }
    }

    /// `(type name, count)` of the types that occur, in the order of the spec's enum.
    pub(super) fn nonzero(&self) -> impl Iterator<Item = (&'static str, usize)> {
        [
            (GeomType::Point, self.point),
            (GeomType::LineString, self.line_string),
            (GeomType::Polygon, self.polygon),
            (GeomType::Unknown, self.unknown),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| (t.name(), n))
    }
}

/// A layer that could not be read or was skipped.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// Position among the tile's layers.
    pub index: Option<usize>,
    /// The layer's name, if readable.
    pub name: Option<String>,
    /// Why.
    pub error: String,
    /// Whether the error is fatal (else the layer was skipped as a repeated name).
    pub fatal: bool,
}

/// A geometry sink that keeps nothing: decoding into it only checks the geometry.
pub struct Discard;

impl GeometrySink for Discard {
    fn move_to(&mut self, _: i32, _: i32) {}
    fn line_to(&mut self, _: i32, _: i32) {}
    fn close_path(&mut self) {}
}

/// Walks the whole tile: every layer, feature, property and vertex.
pub fn survey<'a>(tile: &Tile<'a>) -> Survey<'a> {
    let mut s = Survey::default();
    for layer in tile.layers() {
        let layer = match layer {
            Ok(layer) => layer,
            Err(e) => {
                if e.is_fatal() && s.fatal.is_none() {
                    s.fatal = Some(e.clone());
                }
                match e.layer_index() {
                    Some(index) => s.skipped.push(Skipped {
                        index: Some(index),
                        name: e.layer_name().map(str::to_owned),
                        error: e.to_string(),
                        fatal: e.is_fatal(),
                    }),
                    None => s.tile_error = Some(e),
                }
                continue;
            }
        };
        let mut r = LayerReport {
            index: layer.index(),
            name: layer.name(),
            version: layer.version(),
            extent: layer.extent(),
            features: layer.feature_count(),
            geometry_types: GeomCounts::default(),
            keys: BTreeMap::new(),
            errors: 0,
            first_error: None,
            fatal_error: None,
        };
        // The tables are parsed on first use; features without tags never use them, so ask
        // here to read the layer completely.
        if let Err(e) = layer.values() {
            r.fatal_error = Some(e);
        }
        if r.fatal_error.is_none() {
            for feature in layer.features() {
                let problem = match feature {
                    Err(e) => Some(e),
                    Ok(f) => {
                        r.geometry_types.add(f.geom_type());
                        let mut problem = None;
                        for p in f.properties() {
                            match p {
                                Ok((k, v)) => {
                                    r.keys.entry(k).or_default().insert(v.value_type().name());
                                }
                                Err(e) => {
                                    problem = Some(e);
                                    break;
                                }
                            }
                        }
                        problem.or_else(|| f.decode_geometry(&mut Discard).err())
                    }
                };
                match problem {
                    None => {}
                    Some(e) if e.is_fatal() => {
                        // spec taxonomy: the layer cannot be trusted past a fatal error.
                        r.fatal_error = Some(e);
                        break;
                    }
                    Some(e) => {
                        r.errors += 1;
                        r.first_error.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(e) = &r.fatal_error
            && s.fatal.is_none()
        {
            s.fatal = Some(e.clone());
        }
        s.layers.push(r);
    }
    s
}

/// Serializes an optional error as its message (or null).
pub(super) fn display<S: Serializer, E: std::fmt::Display>(
    e: &Option<E>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.collect_str(e),
        None => s.serialize_none(),
    }
}
