//! The in-memory LRU of answered tiles, bounded by bytes.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use lru::LruCache;
use mlytiles_tile::TileId;

/// What a cached tile is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A PNG of a style at a scale (1 or 2).
    Png { style: String, scale: u8 },
    /// A vector tile of a tileset.
    Mvt { tileset: String },
}

/// A cache key: the kind, the tile and the normalised filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) kind: Kind,
    pub(crate) tile: TileId,
    pub(crate) filter: String,
}

/// One answer: its body (empty for "no content"), an ETag, and the gzip form when useful.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) body: Bytes,
    /// Whether a gzip form is offered (MVT only; PNG is compressed already).
    pub(crate) compressible: bool,
    /// The body gzip-compressed, made when a client first accepts it (or kept from the
    /// store when the stored bytes were gzip already).
    pub(crate) gzip: OnceLock<Bytes>,
    /// The strong ETag of `body`, quoted.
    pub(crate) etag: String,
    /// What the answer left out and why (MVT filters), for the `x-mlytiles-note` header.
    pub(crate) note: Option<String>,
}

/// What a cached entry costs beyond the bytes of its strings and bodies: the key and entry
/// structs, the `Arc`, the LRU's node and hash slot, and the allocator's headers of the five
/// or so allocations an entry makes (a little more than they take on 64-bit Linux).
const ENTRY_OVERHEAD: usize = 512;

/// The bytes in an allocation of exactly their size. `Bytes::from(Vec)` keeps the vector's
/// whole allocation, and encoders reserve generously (a PNG encoder reserves for the
/// uncompressed image): an entry must cost what it is counted for.
pub(crate) fn exact_bytes(v: Vec<u8>) -> Bytes {
    if v.capacity() == v.len() {
        Bytes::from(v)
    } else {
        Bytes::copy_from_slice(&v)
    }
}

impl Entry {
    /// An answer with no gzip form.
    pub(crate) fn new(body: Vec<u8>, note: Option<String>) -> Entry {
        let body = exact_bytes(body);
        Entry {
            etag: etag_of(&body),
            body,
            compressible: false,
            gzip: OnceLock::new(),
            note,
        }
    }

    /// An answer offered gzip-compressed too (`gzip` when already at hand).
    pub(crate) fn compressible(
        body: Vec<u8>,
        gzip: Option<Vec<u8>>,
        note: Option<String>,
    ) -> Entry {
        let mut e = Entry::new(body, note);
        e.compressible = !e.body.is_empty();
        if let Some(g) = gzip {
            let _ = e.gzip.set(exact_bytes(g));
        }
        e
    }

    /// The gzip form, made from the body the first time it is asked for.
    pub(crate) fn gzip_or_make(&self, make: impl FnOnce(&[u8]) -> Vec<u8>) -> &Bytes {
        self.gzip.get_or_init(|| exact_bytes(make(&self.body)))
    }

    /// Bytes the entry holds, as counted against the bound (a gzip form not made yet is
    /// counted as half the body). Bodies are allocated at their exact size
    /// ([`exact_bytes`]); strings count their capacity.
    fn cost(&self, key: &Key) -> usize {
        let gzip = match (self.compressible, self.gzip.get()) {
            (_, Some(g)) => g.len(),
            (true, None) => self.body.len() / 2,
            (false, None) => 0,
        };
        let kind = match &key.kind {
            Kind::Png { style, .. } => style.capacity(),
            Kind::Mvt { tileset } => tileset.capacity(),
        };
        self.body.len()
            + gzip
            + self.etag.capacity()
            + self.note.as_ref().map_or(0, String::capacity)
            + key.filter.capacity()
            + kind
            + ENTRY_OVERHEAD
    }
}

/// A strong ETag for the bytes: a 64-bit SipHash (fixed keys, so stable across restarts of
/// one build) and the length.
pub(crate) fn etag_of(body: &[u8]) -> String {
    #[allow(deprecated)] // SipHasher with fixed keys is what we want: stable, not secret.
    let mut h = std::hash::SipHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}-{:x}\"", h.finish(), body.len())
}

/// An LRU of entries whose total cost stays under a byte bound.
#[derive(Debug)]
pub(crate) struct MemCache {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

#[derive(Debug)]
struct Inner {
    /// Each entry with its cost when inserted: what is taken off `bytes` when it goes, even
    /// if its gzip form was made meanwhile (which changes what [`Entry::cost`] says).
    lru: LruCache<Key, (Arc<Entry>, usize)>,
    bytes: usize,
}

impl MemCache {
    pub(crate) fn new(max_bytes: usize) -> MemCache {
        MemCache {
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        self.lock().lru.get(key).map(|(e, _)| Arc::clone(e))
    }

    /// Inserts the entry, evicting the least recently used ones past the bound. An entry
    /// bigger than an eighth of the bound is not kept (it would flush the cache).
    pub(crate) fn insert(&self, key: Key, entry: Arc<Entry>) {
        let cost = entry.cost(&key);
        if cost > self.max_bytes / 8 {
            return;
        }
        let mut inner = self.lock();
        if let Some((_, old_cost)) = inner.lru.put(key, (entry, cost)) {
            inner.bytes -= old_cost;
        }
        inner.bytes += cost;
        while inner.bytes > self.max_bytes {
            match inner.lru.pop_lru() {
                Some((_, (_, c))) => inner.bytes -= c,
                None => break,
            }
        }
    }

    /// (entries, bytes) held.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.lru.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(x: u32) -> Key {
        Key {
            kind: Kind::Png {
                style: "mapillary".into(),
                scale: 1,
            },
            tile: TileId::new(14, x, 0).unwrap(),
            filter: String::new(),
        }
    }

    #[test]
    fn stays_within_its_byte_bound_evicting_the_least_recent() {
        let cache = MemCache::new(16 * 1024);
        for x in 0..40 {
            let e = Arc::new(Entry::new(vec![x as u8; 600], None));
            cache.insert(key(x), e);
            // Touch the first one so it stays.
            assert!(cache.get(&key(0)).is_some());
            assert!(cache.usage().1 <= 16 * 1024);
        }
        assert!(
            cache.get(&key(1)).is_none(),
            "the oldest untouched went first"
        );
        assert!(cache.get(&key(39)).is_some());
        let big = Arc::new(Entry::new(vec![0; 3000], None));
        cache.insert(key(100), big);
        assert!(
            cache.get(&key(100)).is_none(),
            "an entry over 1/8 of the bound is not kept"
        );
    }

    #[test]
    fn a_gzip_form_made_after_insertion_keeps_the_byte_count_right() {
        let cache = MemCache::new(16 * 1024);
        // A small tile: its gzip form is bigger than the half-body guess counted for it.
        let small = Arc::new(Entry::compressible(vec![7; 40], None, None));
        cache.insert(key(0), Arc::clone(&small));
        let counted = cache.usage().1;
        small.gzip.get_or_init(|| Bytes::from(vec![1; 60]));
        // Push it out, and everything after it.
        for x in 1..40 {
            let e = Arc::new(Entry::new(vec![x as u8; 600], None));
            cache.insert(key(x), e);
            assert!(cache.usage().1 <= 16 * 1024);
        }
        assert!(cache.get(&key(0)).is_none());
        let (tiles, bytes) = cache.usage();
        let expected: usize = (1..40)
            .filter_map(|x| cache.get(&key(x)).map(|e| e.cost(&key(x))))
            .sum();
        assert!(tiles > 0);
        assert_eq!(bytes, expected, "after evicting a {counted}-byte entry");
    }

    #[test]
    fn an_entry_costs_what_its_allocations_hold() {
        // A PNG encoder's vector: a few hundred bytes used of 130 KiB reserved.
        let mut v = Vec::with_capacity(512 * 512 * 4 / 8 + 1024);
        v.extend_from_slice(&[9; 300]);
        let body = exact_bytes(v);
        assert_eq!(body.len(), 300);
        // `Bytes` made from a vector whose length is its capacity owns exactly that block:
        // turning it back into a vector gives the same length and capacity.
        let back = Vec::from(body);
        assert_eq!(back.capacity(), 300);
        let e = Entry::new(back, None);
        assert!(e.cost(&key(0)) < 300 + 1024, "{}", e.cost(&key(0)));
    }

    #[test]
    fn etags_differ_with_the_bytes() {
        assert_eq!(etag_of(b"abc"), etag_of(b"abc"));
        assert_ne!(etag_of(b"abc"), etag_of(b"abd"));
        assert!(etag_of(b"").starts_with('"'));
    }
}
