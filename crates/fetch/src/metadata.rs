//! The store's metadata after a run: name, format, bounds, zooms and the `json` entry
//! (`vector_layers` and `tilestats`) that lets GDAL and other MBTiles readers type each layer.

use mlytiles_store::{TileStats, TileStore};

use crate::error::Result;

/// Brings the metadata of `store` (the tileset `name`) up to date after a run that stored the
/// data tiles summed up in `seen`.
///
/// When the store held no data before the run and holds exactly the tiles the run wrote,
/// `seen` describes it. Otherwise the statistics are read again from every data tile of the
/// store: the recorded `tilestats` cannot be merged with the run's exactly (its distinct counts
/// and samples are cut, and a tile fetched again would count twice). A run that changed no tile
/// leaves metadata that already has `tilestats` as they are.
///
/// `data_before` is the store's count of data tiles before the run; `changed` whether the run
/// stored any tile (data or empty).
///
/// # Errors
///
/// The store's errors.
pub(crate) fn update_metadata(
    store: &dyn TileStore,
    name: &str,
    seen: TileStats,
    data_before: u64,
    changed: bool,
) -> Result<()> {
    if !changed && has_stats(store)? {
        return Ok(());
    }
    let data_now = store.count_by_status()?.data;
    let stats = if data_before == 0 && seen.tiles() == data_now {
        seen
    } else {
        TileStats::from_store(store)?
    };
    write(store, name, &stats)
}

/// Gives `store` (the tileset `name`) its statistics when its metadata has none: for stores
/// filled before mlytiles wrote them, or by another tool, when a run has nothing to fetch.
/// Returns whether it wrote them (a pass over every data tile).
///
/// # Errors
///
/// The store's errors.
pub fn ensure_metadata(store: &dyn TileStore, name: &str) -> Result<bool> {
    if has_stats(store)? || store.count_by_status()?.data == 0 {
        return Ok(false);
    }
    write(store, name, &TileStats::from_store(store)?)?;
    Ok(true)
}

/// Whether the store's `json` metadata carries `tilestats`.
fn has_stats(store: &dyn TileStore) -> Result<bool> {
    Ok(store
        .metadata_value("json")?
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
        .is_some_and(|j| j.get("tilestats").is_some()))
}

fn write(store: &dyn TileStore, name: &str, stats: &TileStats) -> Result<()> {
    let pairs = stats.to_metadata(name).to_pairs();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    store.set_metadata(&pairs)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use mlytiles_mvt::geo_types::{Geometry, Point};
    use mlytiles_mvt::{TileBuilder, Value};
    use mlytiles_store::{MbTiles, TileId, TileRecord};

    use super::*;

    fn tile(layer: &str, n: usize) -> Vec<u8> {
        let mut t = TileBuilder::new();
        for i in 0..n {
            t.layer(layer)
                .add_feature(
                    Some(i as u64),
                    &Geometry::Point(Point::new(1, 1)),
                    Vec::<(&str, Value<'_>)>::new(),
                )
                .unwrap();
        }
        t.to_bytes()
    }

    fn tilestats(store: &dyn TileStore) -> serde_json::Value {
        let json = store.metadata_value("json").unwrap().expect("a json entry");
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["tilestats"].clone()
    }

    #[test]
    fn a_fresh_store_gets_the_runs_statistics_and_a_second_run_recounts() {
        let dir = tempfile::tempdir().unwrap();
        let store = MbTiles::open(dir.path().join("t.mbtiles")).unwrap();
        let now = chrono::Utc::now();
        let (a, b): (TileId, TileId) = ("14/1/1".parse().unwrap(), "14/2/1".parse().unwrap());
        // First run: one tile of 2 features into an empty store.
        store
            .put(a, &TileRecord::data(tile("image", 2), now))
            .unwrap();
        let mut seen = TileStats::new();
        seen.add_tile(a, &tile("image", 2)).unwrap();
        update_metadata(&store, "t", seen, 0, true).unwrap();
        assert_eq!(tilestats(&store)["layers"][0]["count"], 2);
        assert_eq!(store.metadata_value("name").unwrap().as_deref(), Some("t"));
        assert_eq!(
            store.metadata_value("format").unwrap().as_deref(),
            Some("pbf")
        );
        assert_eq!(
            store.metadata_value("minzoom").unwrap().as_deref(),
            Some("14")
        );

        // Second run: a fetched again with 3 features, and b new with 1. Adding the run's
        // statistics to the recorded ones would say 2 + 3 + 1; the store holds 3 + 1.
        store
            .put(a, &TileRecord::data(tile("image", 3), now))
            .unwrap();
        store
            .put(b, &TileRecord::data(tile("image", 1), now))
            .unwrap();
        let mut seen = TileStats::new();
        seen.add_tile(a, &tile("image", 3)).unwrap();
        seen.add_tile(b, &tile("image", 1)).unwrap();
        update_metadata(&store, "t", seen, 1, true).unwrap();
        assert_eq!(tilestats(&store)["layers"][0]["count"], 4);
    }

    #[test]
    fn a_run_that_changed_nothing_keeps_the_recorded_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let store = MbTiles::open(dir.path().join("t.mbtiles")).unwrap();
        store
            .set_metadata(&[("json", r#"{"tilestats":{"layerCount":7}}"#)])
            .unwrap();
        update_metadata(&store, "t", TileStats::new(), 0, false).unwrap();
        assert_eq!(tilestats(&store)["layerCount"], 7);
        // Without tilestats (a store from before they were written) they are computed.
        store.set_metadata(&[("json", "{}")]).unwrap();
        update_metadata(&store, "t", TileStats::new(), 0, false).unwrap();
        assert_eq!(tilestats(&store)["layerCount"], 0);
    }

    #[test]
    fn a_store_without_statistics_gets_them_once_and_an_empty_one_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = MbTiles::open(dir.path().join("t.mbtiles")).unwrap();
        assert!(
            !ensure_metadata(&store, "t").unwrap(),
            "no data: nothing to write"
        );
        assert_eq!(store.metadata_value("json").unwrap(), None);
        let a: TileId = "14/1/1".parse().unwrap();
        store
            .put(a, &TileRecord::data(tile("image", 5), chrono::Utc::now()))
            .unwrap();
        assert!(ensure_metadata(&store, "t").unwrap());
        assert_eq!(tilestats(&store)["layers"][0]["count"], 5);
        // Recorded statistics are kept: no second pass over the store.
        store
            .set_metadata(&[("json", r#"{"tilestats":{"layerCount":7}}"#)])
            .unwrap();
        assert!(!ensure_metadata(&store, "t").unwrap());
        assert_eq!(tilestats(&store)["layerCount"], 7);
    }
}
