//! Filtered vector tiles: the stored tile's features that match, re-encoded.

use mlytiles_filter::chrono::{DateTime, Utc};
use mlytiles_filter::export::MvtExporter;
use mlytiles_filter::{CompiledFilter, Filter, LayerKind};
use mlytiles_mvt::{Severity, Tile};
use mlytiles_tile::TileId;

use crate::route::{Reject, one_line};

/// A filtered tile: its bytes (empty when nothing matched) and the layers left out because
/// the filter cannot judge their features, each with the reason.
#[derive(Debug)]
pub(crate) struct Filtered {
    pub(crate) bytes: Vec<u8>,
    pub(crate) dropped: Vec<String>,
}

/// Checks, before any tile is read, that the filter can judge at least one of the layers a
/// tileset holds (`layers`, from its metadata; an empty list means unknown: not checked).
pub(crate) fn check_tileset(
    filter: &Filter,
    tileset: &str,
    layers: &[String],
) -> Result<(), Reject> {
    if layers.is_empty() {
        return Ok(());
    }
    let mut first_error = None;
    for name in layers {
        match LayerKind::from_name(name) {
            Some(kind) => match filter.check_layer(kind) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            },
            None => continue,
        }
    }
    Err(Reject::bad(format!(
        "the filter cannot judge any layer of tileset {tileset} ({}): {}",
        layers.join(", "),
        one_line(first_error.as_deref().unwrap_or("no Mapillary layer"))
    )))
}

/// Keeps the features of `bytes` (plain, not gzip) that match `filter`. Layers the filter
/// cannot judge (a predicate that does not apply to them, or not a Mapillary layer) are left
/// out and named in [`Filtered::dropped`]; features with a recoverable decoding error are
/// skipped.
pub(crate) fn filter_tile(
    bytes: &[u8],
    tile: TileId,
    filter: &Filter,
    now: DateTime<Utc>,
) -> Result<Filtered, Reject> {
    let corrupt = |e: &dyn std::fmt::Display| {
        Reject::internal(format!(
            "stored tile {tile} cannot be read: {}",
            one_line(&e.to_string())
        ))
    };
    let parsed = Tile::new(bytes).map_err(|e| corrupt(&e))?;
    let mut out = MvtExporter::new();
    let mut dropped = Vec::new();
    for layer in parsed.layers() {
        let layer = layer.map_err(|e| corrupt(&e))?;
        let Some(kind) = LayerKind::from_name(layer.name()) else {
            dropped.push(format!("{}: not a Mapillary layer", layer.name()));
            continue;
        };
        if let Err(e) = filter.check_layer(kind) {
            dropped.push(format!("{}: {}", layer.name(), one_line(&e.to_string())));
            continue;
        }
        let compiled =
            CompiledFilter::for_layer(filter, &layer, Some(tile), now).map_err(|e| corrupt(&e))?;
        for feature in layer.features() {
            let feature = match feature {
                Ok(f) => f,
                Err(e) if e.severity() == Severity::Recoverable => continue,
                Err(e) => return Err(corrupt(&e)),
            };
            if compiled.matches(&feature) {
                out.add(&feature).map_err(|e| corrupt(&e))?;
            }
        }
    }
    Ok(Filtered {
        bytes: if out.written() == 0 {
            Vec::new()
        } else {
            out.to_bytes()
        },
        dropped,
    })
}
