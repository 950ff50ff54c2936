//! Overzoomed tiles (z15-22) draw a part of their z14 parent. Reading, inflating and decoding
//! the whole parent for each child made a child cost as much as its parent: 1,024 times the
//! parent for a z19 mosaic. A [`ParentCache`] keeps each parent inflated and indexed once per
//! run, and a child reads only the features whose bounding boxes reach it.

use std::sync::{Arc, Mutex};

use lru::LruCache;
use mlytiles_mvt::{GeometrySink, LayerHeader, Tile};
use mlytiles_tile::TileId;

/// The grid a parent's features are binned in: 64 x 64 cells, the tiles of z20.
const GRID: usize = 64;
/// A feature whose box spans more cells than this is listed once as reaching everywhere, so
/// the index stays within a small multiple of the feature count.
const MAX_CELLS: usize = 64;

/// Inflated z14 tiles, indexed for their overzoomed children, kept for a run (a mosaic, a
/// pyramid, a server's lifetime) and bounded by bytes (least recently used out first).
///
/// Share one between the renders of a run with [`render_tile_cached`](crate::render_tile_cached);
/// [`render_mosaic`](crate::render_mosaic) makes its own. A cache belongs to one set of
/// [`Sources`](crate::Sources): the tiles are keyed by id only. Stored tiles are not watched: a
/// tile rewritten during the run is drawn as it was when first read.
pub struct ParentCache {
    max_bytes: usize,
    lru: Mutex<(LruCache<TileId, Arc<Indexed>>, usize)>,
}

impl std::fmt::Debug for ParentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("ParentCache")
            .field("max_bytes", &self.max_bytes)
            .field("tiles", &g.0.len())
            .field("bytes", &g.1)
            .finish()
    }
}

impl Default for ParentCache {
    /// A cache of 256 MiB.
    fn default() -> Self {
        ParentCache::new(256 << 20)
    }
}

impl ParentCache {
    /// A cache holding up to `max_bytes` of inflated tiles and their indexes. A tile larger
    /// than that is drawn without the cache.
    pub fn new(max_bytes: usize) -> ParentCache {
        ParentCache {
            max_bytes,
            lru: Mutex::new((LruCache::unbounded(), 0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (LruCache<TileId, Arc<Indexed>>, usize)> {
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops a tile (a store's writer calls it when the tile changes, e.g. a fetch through a
    /// server).
    pub fn forget(&self, tile: TileId) {
        let mut g = self.lock();
        if let Some(old) = g.0.pop(&tile) {
            g.1 -= old.cost();
        }
    }

    /// Drops every tile.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.0.clear();
        g.1 = 0;
    }

    /// The tiles held, and the bytes they are counted for.
    pub fn usage(&self) -> (usize, usize) {
        let g = self.lock();
        (g.0.len(), g.1)
    }

    pub(crate) fn get(&self, tile: TileId) -> Option<Arc<Indexed>> {
        self.lock().0.get(&tile).cloned()
    }

    pub(crate) fn insert(&self, tile: TileId, indexed: Arc<Indexed>) {
        let cost = indexed.cost();
        if cost > self.max_bytes {
            return;
        }
        let mut g = self.lock();
        if let Some(old) = g.0.put(tile, indexed) {
            g.1 -= old.cost();
        }
        g.1 += cost;
        while g.1 > self.max_bytes {
            match g.0.pop_lru() {
                Some((_, old)) => g.1 -= old.cost(),
                None => break,
            }
        }
    }
}

/// A parent's bytes and, per coverage layer, its features binned by bounding box.
pub(crate) struct Indexed {
    pub bytes: Vec<u8>,
    pub layers: Vec<IndexedLayer>,
}

pub(crate) struct IndexedLayer {
    pub name: &'static str,
    pub header: LayerHeader,
    extent: u32,
    /// Per feature: its offset and number in the layer.
    features: Vec<(u32, u32)>,
    /// Per cell (row-major), the features reaching it, by position in `features`.
    cells: Vec<Vec<u32>>,
    /// Features reaching too many cells, or whose geometry could not be read (the draw reports
    /// them as it would without the index).
    everywhere: Vec<u32>,
}

impl Indexed {
    /// Indexes the layers `names` of `bytes` (uncompressed). Gives the bytes back when a layer
    /// cannot be read (the caller draws them the usual way, which reports the error).
    pub fn build(bytes: Vec<u8>, names: &[&'static str]) -> Result<Indexed, Vec<u8>> {
        let Ok(layers) = index_layers(&bytes, names) else {
            return Err(bytes);
        };
        Ok(Indexed { bytes, layers })
    }

    fn cost(&self) -> usize {
        self.bytes.len()
            + self
                .layers
                .iter()
                .map(|l| {
                    l.features.len() * 8
                        + l.everywhere.len() * 4
                        + l.cells.iter().map(|c| 24 + c.len() * 4).sum::<usize>()
                })
                .sum::<usize>()
            + 256
    }
}

fn index_layers(bytes: &[u8], names: &[&'static str]) -> mlytiles_mvt::Result<Vec<IndexedLayer>> {
    let tile = Tile::new(bytes)?;
    let mut out = Vec::new();
    for &name in names {
        let Some(layer) = tile.layer(name)? else {
            continue;
        };
        let Some(header) = layer.header(&tile) else {
            continue;
        };
        let extent = layer.extent();
        let mut ix = IndexedLayer {
            name,
            header,
            extent,
            features: Vec::new(),
            cells: vec![Vec::new(); GRID * GRID],
            everywhere: Vec::new(),
        };
        let mut it = layer.features();
        loop {
            let (offset, index) = (it.offset(), it.next_index());
            let Some(feature) = it.next() else { break };
            let n = ix.features.len() as u32;
            ix.features.push((offset as u32, index as u32));
            let mut b = Bounds::default();
            let ok = feature.is_ok_and(|f| f.decode_geometry(&mut b).is_ok());
            if !ok {
                ix.everywhere.push(n);
                continue;
            }
            let Some((x0, y0, x1, y1)) = b.get() else {
                continue; // no vertex: draws nothing
            };
            let (c0, c1) = (cell(x0, extent), cell(x1, extent));
            let (r0, r1) = (cell(y0, extent), cell(y1, extent));
            if (c1 - c0 + 1) * (r1 - r0 + 1) > MAX_CELLS {
                ix.everywhere.push(n);
                continue;
            }
            for r in r0..=r1 {
                for c in c0..=c1 {
                    ix.cells[r * GRID + c].push(n);
                }
            }
        }
        out.push(ix);
    }
    Ok(out)
}

/// The grid cell of a coordinate (clamped to the grid: buffers beyond the tile's edges fall
/// in the edge cells).
fn cell(v: i64, extent: u32) -> usize {
    let c = v * GRID as i64 / i64::from(extent.max(1));
    c.clamp(0, GRID as i64 - 1) as usize
}

impl IndexedLayer {
    /// The offsets and numbers of the features whose boxes reach the rectangle (layer
    /// coordinates), in the layer's order.
    pub fn query(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(usize, usize)> {
        let e = f64::from(self.extent.max(1));
        let to_cell = |v: f64| ((v * GRID as f64 / e).floor() as i64).clamp(0, GRID as i64 - 1);
        let (c0, c1) = (to_cell(x0) as usize, to_cell(x1) as usize);
        let (r0, r1) = (to_cell(y0) as usize, to_cell(y1) as usize);
        let mut found: Vec<u32> = self.everywhere.clone();
        for r in r0..=r1 {
            for c in c0..=c1 {
                found.extend_from_slice(&self.cells[r * GRID + c]);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .map(|n| {
                let (o, i) = self.features[n as usize];
                (o as usize, i as usize)
            })
            .collect()
    }
}

/// The bounding box of a geometry's vertices.
#[derive(Default)]
struct Bounds(Option<(i64, i64, i64, i64)>);

impl Bounds {
    fn add(&mut self, x: i32, y: i32) {
        let (x, y) = (i64::from(x), i64::from(y));
        self.0 = Some(match self.0 {
            None => (x, y, x, y),
            Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x), d.max(y)),
        });
    }

    fn get(&self) -> Option<(i64, i64, i64, i64)> {
        self.0
    }
}

impl GeometrySink for Bounds {
    fn move_to(&mut self, x: i32, y: i32) {
        self.add(x, y);
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.add(x, y);
    }
    fn close_path(&mut self) {}
}
