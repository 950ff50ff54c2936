//! The features of a tile written as GeoJSON, and the first fatal error of the layers asked for.

use std::io::Write;

use anyhow::Result;
use mlytiles_mvt::{Error, GeomType, Tile, Value};
use mlytiles_tile::{TileId, TileTransform};

use crate::geojson::{self, Coords};
use crate::inspect::Discard;

use super::Format;

/// Reads the layers to be written completely and returns the first fatal error. A fatal
/// error in a layer that is not selected counts only when the layer's name is unreadable (it
/// might be a selected one) or the tile message itself is broken.
pub(super) fn first_fatal(tile: &Tile<'_>, selected: &dyn Fn(&str) -> bool) -> Option<Error> {
    for layer in tile.layers() {
        let layer = match layer {
            Ok(layer) => layer,
            Err(e) if e.is_fatal() && e.layer_name().is_none_or(selected) => return Some(e),
            Err(_) => continue,
        };
        if !selected(layer.name()) {
            continue;
        }
        if let Err(e) = layer.values() {
            return Some(e);
        }
        for feature in layer.features() {
            let problem = match feature {
                Err(e) => Some(e),
                Ok(f) => f
                    .properties()
                    .find_map(Result::err)
                    .or_else(|| f.decode_geometry(&mut Discard).err()),
            };
            if let Some(e) = problem.filter(Error::is_fatal) {
                return Some(e);
            }
        }
    }
    None
}

/// What [`write_features`] wrote and skipped.
#[derive(Debug, Default)]
pub(super) struct Summary {
    pub(super) layer_names: Vec<String>,
    pub(super) skipped_layers: usize,
    pub(super) first_layer_error: Option<Error>,
    pub(super) skipped_features: usize,
    pub(super) first_feature_error: Option<Error>,
}

pub(super) fn write_features<W: Write>(
    out: &mut W,
    tile: &Tile<'_>,
    tile_id: Option<TileId>,
    format: Format,
    selected: &dyn Fn(&str) -> bool,
) -> Result<Summary> {
    let mut summary = Summary::default();
    if format == Format::Geojson {
        out.write_all(br#"{"type":"FeatureCollection","#)?;
        match tile_id {
            Some(t) => write!(out, r#""tile":"{t}","coordinate_space":"lon/lat","#)?,
            None => out.write_all(br#""coordinate_space":"tile-local","#)?,
        }
        out.write_all(br#""features":["#)?;
    }
    let mut first = true;
    let mut properties: Vec<(&str, Value<'_>)> = Vec::new();
    for layer in tile.layers() {
        let layer = match layer {
            Ok(layer) => layer,
            Err(e) if !e.is_fatal() => {
                // A repeated layer name (spec 4.1): that layer is skipped.
                if e.layer_name().is_none_or(selected) {
                    summary.skipped_layers += 1;
                    summary.first_layer_error.get_or_insert(e);
                }
                continue;
            }
            Err(e) if e.layer_name().is_none_or(selected) => return Err(e.into()),
            Err(_) => continue,
        };
        summary.layer_names.push(layer.name().to_owned());
        if !selected(layer.name()) {
            continue;
        }
        let coords = match tile_id {
            Some(t) => Coords::LonLat(TileTransform::new(t, layer.extent())?),
            None => Coords::Local,
        };
        for feature in layer.features() {
            let result = feature.and_then(|f| {
                properties.clear();
                for p in f.properties() {
                    properties.push(p?);
                }
                let geometry = match f.geom_type() {
                    // spec 4.3.4: UNKNOWN geometry has no meaning to convert; check it only.
                    GeomType::Unknown => f.decode_geometry(&mut Discard).map(|()| None),
                    _ => f.to_geometry::<i32>().map(Some),
                }?;
                Ok((f.id(), geometry))
            });
            let (id, geometry) = match result {
                Ok(ok) => ok,
                Err(e) if !e.is_fatal() => {
                    summary.skipped_features += 1;
                    summary.first_feature_error.get_or_insert(e);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match (format, first) {
                (Format::Geojson, true) => out.write_all(b"\n")?,
                (Format::Geojson, false) => out.write_all(b",\n")?,
                (Format::Ndjson, _) => {}
            }
            first = false;
            geojson::feature(
                out,
                id,
                layer.name(),
                &properties,
                geometry.as_ref(),
                coords,
            )?;
            if format == Format::Ndjson {
                out.write_all(b"\n")?;
            }
        }
    }
    if format == Format::Geojson {
        out.write_all(b"\n]}\n")?;
    }
    Ok(summary)
}
