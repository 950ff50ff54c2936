//! Filtered vector tiles: the stored tile's features that match, copied by
//! [`mlytiles_filter::filter_mvt`], and the check that a filter can judge a tileset.

use mlytiles_filter::chrono::{DateTime, Utc};
use mlytiles_filter::{Filter, FilteredTile, LayerKind, filter_mvt};
use mlytiles_tile::TileId;

use crate::route::{Reject, one_line};

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

/// Keeps the features of `bytes` (plain, not gzip) that match `filter`, with
/// [`mlytiles_filter::filter_mvt`]: layers the filter cannot judge are left out, and a tile
/// that cannot be read (or a filter that cannot be compiled for it) is an internal error
/// naming the tile.
pub(crate) fn filter_tile(
    bytes: &[u8],
    tile: TileId,
    filter: &Filter,
    now: DateTime<Utc>,
) -> Result<FilteredTile, Reject> {
    filter_mvt(bytes, Some(tile), filter, now).map_err(|e| {
        Reject::internal(format!(
            "stored tile {tile} cannot be read: {}",
            one_line(&e.to_string())
        ))
    })
}

/// The layers left out of a filtered tile, each with its reason on one line, for the
/// response's note.
pub(crate) fn left_out(filtered: &FilteredTile) -> Vec<String> {
    filtered
        .left_out
        .iter()
        .map(|l| format!("{}: {}", l.layer, one_line(&l.reason)))
        .collect()
}

/// The features of `bytes` (a plain stored tile; empty for none) that match `filter`, as one
/// GeoJSON FeatureCollection with ids as strings. Layers the filter cannot judge are left out,
/// as in filtered vector tiles.
pub(crate) fn geojson(
    bytes: &[u8],
    tile: TileId,
    filter: &Filter,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, Reject> {
    use mlytiles_filter::TypeReport;
    use mlytiles_filter::export::{ExportOptions, Exporter, GeoJsonExporter, export_tile};
    let options = ExportOptions {
        merge_sequences: false,
        ..ExportOptions::default()
    };
    let mut out = GeoJsonExporter::collection(Vec::new(), options);
    let fail = |e: mlytiles_filter::export::ExportError| {
        Reject::internal(format!(
            "stored tile {tile} cannot be exported: {}",
            one_line(&e.to_string())
        ))
    };
    out.begin().map_err(fail)?;
    if !bytes.is_empty() {
        let kinds: Vec<LayerKind> = LayerKind::ALL
            .into_iter()
            .filter(|k| filter.check_layer(*k).is_ok())
            .collect();
        let mut report = TypeReport::new();
        export_tile(bytes, tile, &kinds, filter, now, &mut out, &mut report).map_err(fail)?;
    }
    out.finish().map_err(fail)?;
    Ok(out.into_inner())
}
