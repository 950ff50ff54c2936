//! Decompressed data tiles kept in memory in front of a store, for the renderer.
//!
//! A PNG tile reads its data tile and (for dots crossing the edges) its eight neighbours:
//! nine SQLite reads and gunzips per render without this cache, most of a render's time.

use std::path::Path;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use mlytiles_store::{
    BBox, Result, StatusCounts, StoredTile, TileId, TileInfo, TileRecord, TileStatus, TileStore,
};

/// A store whose `get` answers from an LRU of decompressed tiles (bounded by bytes). Only
/// results (data or empty) are kept, never "missing" or "failed" (a fetch may bring them);
/// writes through this store drop the tiles they touch.
pub(crate) struct DecodedStore {
    inner: Arc<dyn TileStore>,
    lru: Mutex<(LruCache<TileId, Arc<StoredTile>>, usize)>,
    max_bytes: usize,
}

impl DecodedStore {
    pub(crate) fn new(inner: Arc<dyn TileStore>, max_bytes: usize) -> DecodedStore {
        DecodedStore {
            inner,
            lru: Mutex::new((LruCache::unbounded(), 0)),
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (LruCache<TileId, Arc<StoredTile>>, usize)> {
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, tile: TileId) {
        let mut g = self.lock();
        if let Some(old) = g.0.pop(&tile) {
            g.1 -= cost(&old);
        }
    }
}

/// What a kept tile costs: its data's allocation, and a fixed part for the entry, the LRU's
/// node and the strings of its info.
fn cost(t: &StoredTile) -> usize {
    t.data.capacity() + 512
}

impl TileStore for DecodedStore {
    fn path(&self) -> &Path {
        self.inner.path()
    }

    fn get(&self, tile: TileId) -> Result<Option<StoredTile>> {
        if let Some(t) = self.lock().0.get(&tile) {
            return Ok(Some(StoredTile::clone(t)));
        }
        let Some(mut found) = self.inner.get(tile)? else {
            return Ok(None);
        };
        if found.info.status == TileStatus::Failed {
            return Ok(Some(found));
        }
        if mlytiles_mvt::is_gzip(&found.data) {
            found.data = found.uncompressed()?.into_owned();
        }
        // The kept copy is allocated at its exact size (a decompressed vector has grown by
        // doubling), so it costs what is counted.
        let kept = found.clone();
        let c = cost(&kept);
        if c <= self.max_bytes / 8 {
            let mut g = self.lock();
            if let Some(old) = g.0.put(tile, Arc::new(kept)) {
                g.1 -= cost(&old);
            }
            g.1 += c;
            while g.1 > self.max_bytes {
                match g.0.pop_lru() {
                    Some((_, old)) => g.1 -= cost(&old),
                    None => break,
                }
            }
        }
        Ok(Some(found))
    }

    fn put(&self, tile: TileId, record: &TileRecord) -> Result<()> {
        self.forget(tile);
        self.inner.put(tile, record)
    }

    fn put_many(&self, records: &[(TileId, TileRecord)]) -> Result<()> {
        for (tile, _) in records {
            self.forget(*tile);
        }
        self.inner.put_many(records)
    }

    fn info(&self, tile: TileId) -> Result<Option<TileInfo>> {
        self.inner.info(tile)
    }

    fn list(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileStatus)>> {
        self.inner.list(z, bbox)
    }

    fn list_info(&self, z: u8, bbox: Option<BBox>) -> Result<Vec<(TileId, TileInfo)>> {
        self.inner.list_info(z, bbox)
    }

    fn count_by_status(&self) -> Result<StatusCounts> {
        self.inner.count_by_status()
    }

    fn metadata(&self) -> Result<Vec<(String, String)>> {
        self.inner.metadata()
    }

    fn set_metadata(&self, entries: &[(&str, &str)]) -> Result<()> {
        self.inner.set_metadata(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlytiles_store::MbTiles;

    #[test]
    fn answers_decompressed_and_drops_what_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn TileStore> =
            Arc::new(MbTiles::open(dir.path().join("t.mbtiles")).unwrap());
        let tile = TileId::new(14, 1, 2).unwrap();
        let now = mlytiles_store::chrono::Utc::now();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &[0x1a, 0x00]).unwrap();
        inner
            .put(tile, &TileRecord::data(gz.finish().unwrap(), now))
            .unwrap();

        let store = DecodedStore::new(Arc::clone(&inner), 1 << 20);
        assert!(store.get(TileId::new(14, 9, 9).unwrap()).unwrap().is_none());
        let got = store.get(tile).unwrap().unwrap();
        assert_eq!(got.data, [0x1a, 0x00], "decompressed");
        assert_eq!(
            store.get(tile).unwrap().unwrap().data,
            [0x1a, 0x00],
            "from memory"
        );

        store
            .put(tile, &TileRecord::data(vec![0x1a, 0x01, 0x00], now))
            .unwrap();
        assert_eq!(store.get(tile).unwrap().unwrap().data, [0x1a, 0x01, 0x00]);
    }
}
