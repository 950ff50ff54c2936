//! Which Mapillary layers an input holds, so that a CSV made without --layer has the columns
//! of those layers only (a traffic-sign store gives no image columns).

use mlytiles_filter::LayerKind;
use mlytiles_mvt::Tile;
use mlytiles_store::TileStore;

use super::Source;

/// The layers an input holds: a tile's own layers; a store's `vector_layers` (TileJSON, in its
/// `json` metadata), else the layers of the Mapillary tileset its `name` metadata names.
/// `None` when the input does not say.
pub(super) fn held(source: &Source) -> Option<Vec<LayerKind>> {
    match source {
        Source::File(input) => {
            let tile = Tile::new(&input.bytes).ok()?;
            let names = tile
                .layers()
                .map(|l| l.ok().map(|l| l.name()))
                .collect::<Option<Vec<_>>>()?;
            Some(names.into_iter().filter_map(LayerKind::from_name).collect())
        }
        Source::Store(_, store) => store_layers(store.as_ref()),
    }
}

fn store_layers(store: &dyn TileStore) -> Option<Vec<LayerKind>> {
    let json = store.metadata_value("json").ok().flatten();
    let listed = json
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
        .and_then(|j| {
            let ids = j.get("vector_layers")?.as_array()?;
            ids.iter()
                .map(|l| l.get("id")?.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        });
    if let Some(ids) = listed {
        return Some(
            ids.iter()
                .filter_map(|id| LayerKind::from_name(id))
                .collect(),
        );
    }
    let name = store.metadata_value("name").ok().flatten()?;
    let kinds: Vec<LayerKind> = LayerKind::ALL
        .into_iter()
        .filter(|k| k.tileset() == name)
        .collect();
    (!kinds.is_empty()).then_some(kinds)
}

/// Narrows `kinds` to the layers the sources hold, when every source says which it holds.
pub(super) fn narrow(kinds: &mut Vec<LayerKind>, sources: &[Source]) {
    let mut held_by_all: Vec<LayerKind> = Vec::new();
    for source in sources {
        match held(source) {
            Some(layers) => held_by_all.extend(layers),
            None => return,
        }
    }
    kinds.retain(|k| held_by_all.contains(k));
}
