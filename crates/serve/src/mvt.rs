//! Filtered vector tiles: the stored tile's features that match, re-encoded.

use mlytiles_filter::chrono::{DateTime, Utc};
use mlytiles_filter::{CompiledFilter, Filter, LayerKind};
use mlytiles_mvt::{Layer, Severity, Tile, model};
use mlytiles_tile::TileId;
use prost::Message;

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
/// out and named in [`Filtered::dropped`]; features with a decoding error are skipped.
///
/// Kept features are copied as they are encoded (id, tags, type, geometry integers), with the
/// layer's key and value tables cut down to the entries they use: no geometry is decoded and
/// no property re-interned, so the copy costs about as much as reading the tile.
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
    let mut out = model::Tile::default();
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
        if let Some(kept) = subset(&layer, &compiled).map_err(|e| corrupt(&e))? {
            out.layers.push(kept);
        }
    }
    Ok(Filtered {
        bytes: if out.layers.is_empty() {
            Vec::new()
        } else {
            out.encode_to_vec()
        },
        dropped,
    })
}

/// The layer's features that pass `compiled`, with the tables they use; `None` if none does.
fn subset(
    layer: &Layer<'_>,
    compiled: &CompiledFilter,
) -> mlytiles_mvt::Result<Option<model::Layer>> {
    let keys = layer.keys()?;
    let values = layer.values()?;
    // Old index -> new index (u32::MAX: not used yet).
    let mut key_map = vec![u32::MAX; keys.len()];
    let mut value_map = vec![u32::MAX; values.len()];
    let mut out = model::Layer {
        version: layer.version(),
        name: layer.name().to_owned(),
        features: Vec::new(),
        keys: Vec::new(),
        values: Vec::new(),
        extent: Some(layer.extent()),
    };
    'features: for feature in layer.features() {
        let feature = match feature {
            Ok(f) => f,
            Err(e) if e.severity() == Severity::Recoverable => continue,
            Err(e) => return Err(e),
        };
        if !compiled.matches(&feature) {
            continue;
        }
        let mut tags = Vec::with_capacity(feature.property_count() * 2);
        for (k, v) in feature.tags() {
            // A tag past the tables (spec 4.2) leaves the feature out, as the reader would.
            let (Some(km), Some(vm)) = (key_map.get_mut(k as usize), value_map.get_mut(v as usize))
            else {
                continue 'features;
            };
            if *km == u32::MAX {
                *km = out.keys.len() as u32;
                out.keys.push(keys[k as usize].to_owned());
            }
            if *vm == u32::MAX {
                *vm = out.values.len() as u32;
                out.values.push(model::Value::from(values[v as usize]));
            }
            tags.push(*km);
            tags.push(*vm);
        }
        let Ok(geometry) = feature
            .geometry_ints()
            .collect::<mlytiles_mvt::Result<Vec<u32>>>()
        else {
            continue;
        };
        out.features.push(model::Feature {
            id: feature.id(),
            tags,
            r#type: Some(model::GeomType::from(feature.geom_type()) as i32),
            geometry,
        });
    }
    Ok((!out.features.is_empty()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlytiles_filter::ImageType;
    use mlytiles_mvt::geo_types::{Geometry, LineString, Point};
    use mlytiles_mvt::{TileBuilder, Value};

    fn props(f: &mlytiles_mvt::Feature<'_, '_>) -> Vec<(String, String)> {
        f.properties()
            .map(|p| p.map(|(k, v)| (k.to_owned(), format!("{v:?}"))))
            .collect::<mlytiles_mvt::Result<_>>()
            .unwrap()
    }

    #[test]
    fn kept_features_are_copied_exactly_with_only_the_tables_they_use() {
        let mut b = TileBuilder::new();
        let images = b.layer("image");
        for i in 0..10u64 {
            let p = Geometry::Point(Point::new(i as i32 * 10, 20));
            let props = [
                ("id", Value::UInt(1000 + i)),
                ("captured_at", Value::Int(1_700_000_000_000 + i as i64)),
                ("is_pano", Value::Bool(i % 3 == 0)),
            ];
            images.add_feature(Some(i), &p, props).unwrap();
        }
        let seq = b.layer("sequence");
        let line = Geometry::LineString(LineString::from(vec![(0, 0), (100, 50), (200, 0)]));
        seq.add_feature(
            None,
            &line,
            [("id", Value::String("abc")), ("is_pano", Value::Bool(true))],
        )
        .unwrap();
        seq.add_feature(
            None,
            &line,
            [
                ("id", Value::String("def")),
                ("is_pano", Value::Bool(false)),
            ],
        )
        .unwrap();
        let bytes = b.to_bytes();
        let filter = Filter {
            image_type: ImageType::Pano,
            ..Filter::default()
        };
        let tile = TileId::new(14, 3251, 6257).unwrap();
        let out = filter_tile(&bytes, tile, &filter, Utc::now()).unwrap();
        assert!(out.dropped.is_empty());

        let source = Tile::new(&bytes).unwrap();
        let kept = Tile::new(&out.bytes).unwrap();
        for name in ["image", "sequence"] {
            let src = source.layer(name).unwrap().unwrap();
            let dst = kept.layer(name).unwrap().unwrap();
            let expected: Vec<_> = src
                .features()
                .map(Result::unwrap)
                .filter(|f| f.get("is_pano").unwrap() == Some(Value::Bool(true)))
                .map(|f| {
                    (
                        f.id(),
                        props(&f),
                        f.geometry_ints().collect::<Vec<_>>().len(),
                    )
                })
                .collect();
            let got: Vec<_> = dst
                .features()
                .map(Result::unwrap)
                .map(|f| {
                    (
                        f.id(),
                        props(&f),
                        f.geometry_ints().collect::<Vec<_>>().len(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{name}");
            assert!(
                dst.value_count() < src.value_count(),
                "{name}: unused values dropped"
            );
            assert_eq!(dst.extent(), src.extent());
        }
        // Nothing kept: no bytes.
        let none = Filter {
            creators: vec![1],
            ..Filter::default()
        };
        assert!(
            filter_tile(&bytes, tile, &none, Utc::now())
                .unwrap()
                .bytes
                .is_empty()
        );
    }
}
