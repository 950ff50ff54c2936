//! What a tileset holds, for its metadata: the `vector_layers` of MBTiles 1.3 and the
//! `tilestats` object of mapbox-geostats, which GDAL's MVT driver reads for each layer's
//! geometry type (`"geometry"`) and its fields' types (`"attributes"`).
//!
//! [`TileStats`] is filled one tile at a time, in any order, with bounded memory: per attribute
//! it keeps the [`MAX_REPORTED_VALUES`] smallest distinct values as samples and counts distinct
//! values up to [`MAX_COUNTED_VALUES`] (as geostats does), and it tracks at most
//! [`MAX_LAYERS`] layers, [`MAX_ATTRIBUTES`] attributes per layer and [`MAX_ALL_ATTRIBUTES`] in
//! all. Two accumulators [`merge`](TileStats::merge) into what one would have seen, so the
//! result does not depend on the order tiles came in.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use mlytiles_mvt::{GeomType, Tile, Value};
use mlytiles_tile::{BBox, TileId};
use serde_json::{Map, Value as Json, json};

use crate::{Result, TileStatus, TileStore, TilesetMetadata};

/// Layers tracked; the layers of later tiles beyond this are left out.
pub const MAX_LAYERS: usize = 100;
/// Attributes tracked per layer; further names are left out.
pub const MAX_ATTRIBUTES: usize = 100;
/// Attributes tracked over all layers, so that memory stays bounded: at the very worst
/// `MAX_ALL_ATTRIBUTES * (MAX_COUNTED_VALUES * 8 + MAX_REPORTED_VALUES * MAX_VALUE_LEN)` bytes
/// of hashes and samples (34 MB; some tens of MB with the sets' overhead), whatever the number
/// of tiles.
pub const MAX_ALL_ATTRIBUTES: usize = 1000;
/// Distinct values counted per attribute (the `count` of geostats stops there, as its own does).
pub const MAX_COUNTED_VALUES: usize = 1000;
/// Distinct values reported per attribute as samples: the smallest ones.
pub const MAX_REPORTED_VALUES: usize = 100;
/// Strings longer than this (in bytes) are counted but not kept as samples.
pub const MAX_VALUE_LEN: usize = 256;

/// Per-layer and per-attribute statistics of the tiles of one tileset.
///
/// # Examples
///
/// ```
/// use mlytiles_mvt::geo_types::{Geometry, Point};
/// use mlytiles_mvt::{TileBuilder, Value};
/// use mlytiles_store::{TileId, TileStats};
///
/// let mut tile = TileBuilder::new();
/// let layer = tile.layer("image");
/// let point = |x, y| Geometry::Point(Point::new(x, y));
/// layer.add_feature(Some(1), &point(10, 20), [("is_pano", Value::Bool(true))])?;
/// layer.add_feature(Some(2), &point(30, 40), [("is_pano", Value::Bool(false))])?;
/// let bytes = tile.to_bytes();
///
/// let mut stats = TileStats::new();
/// stats.add_tile(TileId::new(14, 3251, 6258)?, &bytes)?;
/// let ts = stats.tilestats();
/// assert_eq!(ts["layers"][0]["geometry"], "Point");
/// assert_eq!(ts["layers"][0]["count"], 2);
/// assert_eq!(ts["layers"][0]["attributes"][0]["type"], "boolean");
/// assert_eq!(stats.vector_layers()[0]["fields"]["is_pano"], "Boolean");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TileStats {
    layers: BTreeMap<String, LayerStats>,
    attributes: usize,
    tiles: u64,
    unreadable: u64,
    /// The deepest zoom seen and the union of its tiles' bounds.
    deepest: Option<(u8, [f64; 4])>,
    zooms: Option<(u8, u8)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct LayerStats {
    features: u64,
    /// Features per geometry type, indexed by the wire value.
    geometry: [u64; 4],
    minzoom: u8,
    maxzoom: u8,
    attributes: BTreeMap<String, AttributeStats>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct AttributeStats {
    /// Which kinds of value were seen.
    strings: bool,
    numbers: bool,
    booleans: bool,
    /// Hashes of the distinct values, up to [`MAX_COUNTED_VALUES`].
    distinct: HashSet<u64>,
    /// The smallest distinct values, up to [`MAX_REPORTED_VALUES`].
    samples: BTreeSet<Sample>,
    min: Option<Number>,
    max: Option<Number>,
}

/// A sampled value, ordered booleans first, then numbers, then strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Sample {
    Bool(bool),
    Number(Number),
    String(String),
}

/// A number as the tile had it: an integer (from `int`, `sint` or `uint`) or a float.
#[derive(Debug, Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    fn to_json(self) -> Json {
        match self {
            Number::Int(i) => u64::try_from(i)
                .map(Json::from)
                .or_else(|_| i64::try_from(i).map(Json::from))
                .unwrap_or(Json::Null),
            Number::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        }
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a.cmp(b),
            // Equal values of two kinds are kept apart (integers first), as the tile keeps them.
            _ => self.as_f64().total_cmp(&other.as_f64()).then_with(|| {
                matches!(self, Number::Float(_)).cmp(&matches!(other, Number::Float(_)))
            }),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Number {}

impl TileStats {
    /// No tiles seen yet.
    pub fn new() -> TileStats {
        TileStats::default()
    }

    /// Adds one tile's layers, features and properties. `bytes` may be gzip-compressed.
    ///
    /// Reads every feature's properties once (geometry stays encoded). A tile that does not
    /// decode is counted in [`unreadable_tiles`](Self::unreadable_tiles) and what was read of
    /// it before the error stays counted.
    ///
    /// # Errors
    ///
    /// The reader's error, naming the layer and feature, for a tile that does not decode.
    pub fn add_tile(&mut self, tile: TileId, bytes: &[u8]) -> Result<(), mlytiles_mvt::Error> {
        let result = self.read(tile, bytes);
        if result.is_err() {
            self.unreadable += 1;
        }
        result
    }

    fn read(&mut self, tile: TileId, bytes: &[u8]) -> Result<(), mlytiles_mvt::Error> {
        let z = tile.z();
        self.tiles += 1;
        self.zooms = Some(match self.zooms {
            Some((lo, hi)) => (lo.min(z), hi.max(z)),
            None => (z, z),
        });
        let b = tile.bounds();
        let edges = [b.west(), b.south(), b.east(), b.north()];
        self.deepest = match self.deepest {
            Some((d, _)) if d > z => self.deepest,
            Some((d, e)) if d == z => Some((d, union(e, edges))),
            _ => Some((z, edges)),
        };
        let plain = mlytiles_mvt::decompress(bytes, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)?;
        let reader = Tile::new(&plain)?;
        for layer in reader.layers() {
            let layer = layer?;
            let name = layer.name();
            if !self.layers.contains_key(name) && self.layers.len() >= MAX_LAYERS {
                continue;
            }
            let stats = self
                .layers
                .entry(name.to_string())
                .or_insert_with(|| LayerStats {
                    minzoom: z,
                    maxzoom: z,
                    ..LayerStats::default()
                });
            stats.minzoom = stats.minzoom.min(z);
            stats.maxzoom = stats.maxzoom.max(z);
            for feature in layer.features() {
                let feature = feature?;
                stats.features += 1;
                stats.geometry[feature.geom_type().to_u32() as usize] += 1;
                for property in feature.properties() {
                    let (key, value) = property?;
                    if !stats.attributes.contains_key(key) {
                        if stats.attributes.len() >= MAX_ATTRIBUTES
                            || self.attributes >= MAX_ALL_ATTRIBUTES
                        {
                            continue;
                        }
                        self.attributes += 1;
                    }
                    stats
                        .attributes
                        .entry(key.to_string())
                        .or_default()
                        .add(value);
                }
            }
        }
        Ok(())
    }

    /// Adds what `other` saw, as if its tiles had been added here.
    pub fn merge(&mut self, other: TileStats) {
        self.tiles += other.tiles;
        self.unreadable += other.unreadable;
        self.zooms = match (self.zooms, other.zooms) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
        self.deepest = match (self.deepest, other.deepest) {
            (Some((a, e)), Some((b, f))) if a == b => Some((a, union(e, f))),
            (Some((a, e)), Some((b, f))) => Some(if a > b { (a, e) } else { (b, f) }),
            (a, b) => a.or(b),
        };
        for (name, theirs) in other.layers {
            if let Some(mine) = self.layers.get_mut(&name) {
                mine.features += theirs.features;
                for (m, t) in mine.geometry.iter_mut().zip(theirs.geometry) {
                    *m += t;
                }
                mine.minzoom = mine.minzoom.min(theirs.minzoom);
                mine.maxzoom = mine.maxzoom.max(theirs.maxzoom);
                for (key, attr) in theirs.attributes {
                    if let Some(a) = mine.attributes.get_mut(&key) {
                        a.merge(attr);
                    } else if mine.attributes.len() < MAX_ATTRIBUTES
                        && self.attributes < MAX_ALL_ATTRIBUTES
                    {
                        self.attributes += 1;
                        mine.attributes.insert(key, attr);
                    }
                }
            } else if self.layers.len() < MAX_LAYERS {
                let room = MAX_ALL_ATTRIBUTES - self.attributes;
                let mut theirs = theirs;
                while theirs.attributes.len() > room {
                    theirs.attributes.pop_last();
                }
                self.attributes += theirs.attributes.len();
                self.layers.insert(name, theirs);
            }
        }
    }

    /// Tiles added (readable or not).
    pub fn tiles(&self) -> u64 {
        self.tiles
    }

    /// Tiles that did not decode.
    pub fn unreadable_tiles(&self) -> u64 {
        self.unreadable
    }

    /// The lowest and highest zoom of the tiles added.
    pub fn zooms(&self) -> Option<(u8, u8)> {
        self.zooms
    }

    /// The union of the bounds of the tiles at the deepest zoom added: where the data is (the
    /// few tiles of low zooms cover far more).
    pub fn bounds(&self) -> Option<BBox> {
        let (_, [w, s, e, n]) = self.deepest?;
        BBox::new(w, s, e, n).ok()
    }

    /// The MBTiles 1.3 `vector_layers`: per layer its `id`, `minzoom` and `maxzoom` (of the
    /// tiles it appeared in) and `fields`, each typed `Number`, `String`, `Boolean` or, when
    /// several kinds were seen, `Mixed`. Ordered by `minzoom`, then name.
    pub fn vector_layers(&self) -> Json {
        let mut layers: Vec<(&String, &LayerStats)> = self.layers.iter().collect();
        layers.sort_by_key(|(name, l)| (l.minzoom, *name));
        Json::Array(
            layers
                .into_iter()
                .map(|(name, l)| {
                    let fields: Map<String, Json> = l
                        .attributes
                        .iter()
                        .map(|(k, a)| (k.clone(), Json::from(a.field_type())))
                        .collect();
                    json!({
                        "id": name,
                        "description": "",
                        "minzoom": l.minzoom,
                        "maxzoom": l.maxzoom,
                        "fields": fields,
                    })
                })
                .collect(),
        )
    }

    /// The mapbox-geostats `tilestats` object: `layerCount` and per layer its feature `count`
    /// (over every tile added, so a feature repeated at several zooms counts at each), its
    /// dominant `geometry` (`Point`, `LineString` or `Polygon`; left out when no feature has
    /// one), and per attribute its `type` (`string`, `number`, `boolean` or `mixed`), `count`
    /// of distinct values (up to [`MAX_COUNTED_VALUES`]), sample `values` (the smallest
    /// [`MAX_REPORTED_VALUES`]) and, for numbers, `min` and `max` over all values. Layers in the
    /// order of [`vector_layers`](Self::vector_layers).
    pub fn tilestats(&self) -> Json {
        let mut layers: Vec<(&String, &LayerStats)> = self.layers.iter().collect();
        layers.sort_by_key(|(name, l)| (l.minzoom, *name));
        let layers: Vec<Json> = layers
            .into_iter()
            .map(|(name, l)| {
                let mut out = Map::new();
                out.insert("layer".into(), Json::from(name.as_str()));
                out.insert("count".into(), Json::from(l.features));
                if let Some(g) = l.dominant_geometry() {
                    out.insert("geometry".into(), Json::from(g.name()));
                }
                out.insert("attributeCount".into(), Json::from(l.attributes.len()));
                let attributes: Vec<Json> =
                    l.attributes.iter().map(|(k, a)| a.to_json(k)).collect();
                out.insert("attributes".into(), Json::Array(attributes));
                Json::Object(out)
            })
            .collect();
        json!({ "layerCount": layers.len(), "layers": layers })
    }

    /// The metadata `json` entry: `{"vector_layers": [...], "tilestats": {...}}`.
    pub fn metadata_json(&self) -> String {
        json!({ "vector_layers": self.vector_layers(), "tilestats": self.tilestats() }).to_string()
    }

    /// The metadata of a tileset named `name` holding the tiles added: `bounds`, `minzoom`,
    /// `maxzoom` and `json` from these statistics, the rest as [`TilesetMetadata::default`].
    pub fn to_metadata(&self, name: &str) -> TilesetMetadata {
        TilesetMetadata {
            name: name.to_string(),
            bounds: self.bounds(),
            minzoom: self.zooms.map(|z| z.0),
            maxzoom: self.zooms.map(|z| z.1),
            json: Some(self.metadata_json()),
            ..TilesetMetadata::default()
        }
    }

    /// The statistics of every data tile of `store`, read zoom by zoom. Tiles that do not
    /// decompress or decode are counted in [`unreadable_tiles`](Self::unreadable_tiles) and
    /// otherwise skipped.
    ///
    /// # Errors
    ///
    /// The store's errors when listing or reading tiles.
    pub fn from_store(store: &dyn TileStore) -> Result<TileStats> {
        let mut stats = TileStats::new();
        for z in 0..=mlytiles_tile::MAX_ZOOM {
            for (tile, status) in store.list(z, None)? {
                if status != TileStatus::Data {
                    continue;
                }
                let Some(stored) = store.get(tile)? else {
                    continue;
                };
                // Unreadable tiles are counted by add_tile; the rest of the store still counts.
                let _ = stats.add_tile(tile, &stored.data);
            }
        }
        Ok(stats)
    }
}

fn union(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

impl LayerStats {
    fn dominant_geometry(&self) -> Option<GeomType> {
        [GeomType::Point, GeomType::LineString, GeomType::Polygon]
            .into_iter()
            .filter(|g| self.geometry[g.to_u32() as usize] > 0)
            // On a tie the first of this order wins: max_by_key keeps the last of equals.
            .rev()
            .max_by_key(|g| self.geometry[g.to_u32() as usize])
    }
}

impl AttributeStats {
    fn add(&mut self, value: Value<'_>) {
        self.count(&value);
        let sample = match value {
            Value::String(s) => {
                self.strings = true;
                if s.len() > MAX_VALUE_LEN || !self.keeps_string(s) {
                    return;
                }
                Sample::String(s.to_string())
            }
            Value::Bool(b) => {
                self.booleans = true;
                Sample::Bool(b)
            }
            Value::Float(_) | Value::Double(_) => {
                self.numbers = true;
                match value.as_f64() {
                    Some(f) if f.is_finite() => self.number(Number::Float(f)),
                    // NaN and infinities have no JSON form: counted, not sampled nor in min/max.
                    _ => return,
                }
            }
            Value::Int(i) | Value::SInt(i) => self.number(Number::Int(i128::from(i))),
            Value::UInt(u) => self.number(Number::Int(i128::from(u))),
        };
        self.sample(sample);
    }

    /// Whether a string would enter the samples (checked before copying it).
    fn keeps_string(&self, s: &str) -> bool {
        if self.samples.len() < MAX_REPORTED_VALUES {
            return true;
        }
        // Strings sort after every boolean and number.
        matches!(self.samples.last(), Some(Sample::String(last)) if s < last.as_str())
    }

    fn number(&mut self, n: Number) -> Sample {
        self.numbers = true;
        self.min = Some(self.min.map_or(n, |m| m.min(n)));
        self.max = Some(self.max.map_or(n, |m| m.max(n)));
        Sample::Number(n)
    }

    /// Counts a distinct value by its hash; the three integer encodings of one number count
    /// as one value.
    fn count(&mut self, value: &Value<'_>) {
        if self.distinct.len() >= MAX_COUNTED_VALUES {
            return;
        }
        let mut h = DefaultHasher::new();
        match *value {
            Value::String(s) => (0u8, s).hash(&mut h),
            Value::Bool(b) => (1u8, b).hash(&mut h),
            Value::Int(i) | Value::SInt(i) => (2u8, i128::from(i)).hash(&mut h),
            Value::UInt(u) => (2u8, i128::from(u)).hash(&mut h),
            Value::Float(_) | Value::Double(_) => {
                (3u8, value.as_f64().unwrap_or(f64::NAN).to_bits()).hash(&mut h);
            }
        }
        self.distinct.insert(h.finish());
    }

    fn sample(&mut self, sample: Sample) {
        if self.samples.len() >= MAX_REPORTED_VALUES
            && self.samples.last().is_some_and(|last| &sample >= last)
        {
            return;
        }
        self.samples.insert(sample);
        if self.samples.len() > MAX_REPORTED_VALUES {
            self.samples.pop_last();
        }
    }

    fn merge(&mut self, other: AttributeStats) {
        self.strings |= other.strings;
        self.numbers |= other.numbers;
        self.booleans |= other.booleans;
        for h in other.distinct {
            if self.distinct.len() >= MAX_COUNTED_VALUES {
                break;
            }
            self.distinct.insert(h);
        }
        for s in other.samples {
            self.sample(s);
        }
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn kinds(&self) -> usize {
        usize::from(self.strings) + usize::from(self.numbers) + usize::from(self.booleans)
    }

    /// The type in `vector_layers` (MBTiles 1.3 names, and tippecanoe's `Mixed`).
    fn field_type(&self) -> &'static str {
        match (self.kinds(), self.numbers, self.booleans) {
            (1, true, _) => "Number",
            (1, _, true) => "Boolean",
            (1, _, _) => "String",
            _ => "Mixed",
        }
    }

    /// One entry of a layer's `attributes` in `tilestats`.
    fn to_json(&self, name: &str) -> Json {
        let kind = match (self.kinds(), self.numbers, self.booleans) {
            (1, true, _) => "number",
            (1, _, true) => "boolean",
            (1, _, _) => "string",
            _ => "mixed",
        };
        let values: Vec<Json> = self
            .samples
            .iter()
            .map(|s| match s {
                Sample::Bool(b) => Json::from(*b),
                Sample::Number(n) => n.to_json(),
                Sample::String(s) => Json::from(s.as_str()),
            })
            .collect();
        let mut out = Map::new();
        out.insert("attribute".into(), Json::from(name));
        out.insert("count".into(), Json::from(self.distinct.len()));
        out.insert("type".into(), Json::from(kind));
        out.insert("values".into(), Json::Array(values));
        if let (Some(min), Some(max)) = (self.min, self.max) {
            out.insert("min".into(), min.to_json());
            out.insert("max".into(), max.to_json());
        }
        Json::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use mlytiles_mvt::TileBuilder;
    use mlytiles_mvt::geo_types::{Geometry, LineString, Point};

    use super::*;

    fn point(x: i32, y: i32) -> Geometry<i32> {
        Geometry::Point(Point::new(x, y))
    }

    fn line() -> Geometry<i32> {
        Geometry::LineString(LineString::from(vec![(0, 0), (10, 10)]))
    }

    /// A feature to write: its layer, geometry and properties.
    type Feature<'a> = (&'a str, Geometry<i32>, Vec<(&'a str, Value<'a>)>);

    fn id(s: &str) -> TileId {
        s.parse().unwrap()
    }

    /// A tile with the features `(layer, geometry, properties)`.
    fn tile_of(features: &[Feature<'_>]) -> Vec<u8> {
        let mut tile = TileBuilder::new();
        for (i, (layer, geometry, props)) in features.iter().enumerate() {
            tile.layer(layer)
                .add_feature(Some(i as u64), geometry, props.iter().copied())
                .unwrap();
        }
        tile.to_bytes()
    }

    fn layer<'j>(ts: &'j Json, name: &str) -> &'j Json {
        ts["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["layer"] == name)
            .unwrap_or_else(|| panic!("no layer {name} in {ts}"))
    }

    fn attribute<'j>(layer: &'j Json, name: &str) -> &'j Json {
        layer["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["attribute"] == name)
            .unwrap_or_else(|| panic!("no attribute {name} in {layer}"))
    }

    #[test]
    fn layers_get_counts_dominant_geometry_and_zooms() {
        let mut stats = TileStats::new();
        let z14 = tile_of(&[
            ("image", point(1, 1), vec![]),
            ("image", point(2, 2), vec![]),
            ("sequence", line(), vec![]),
            ("sequence", line(), vec![]),
            ("sequence", point(3, 3), vec![]),
        ]);
        let z6 = tile_of(&[("sequence", line(), vec![])]);
        stats.add_tile(id("14/3251/6258"), &z14).unwrap();
        stats.add_tile(id("6/12/24"), &z6).unwrap();
        let ts = stats.tilestats();
        assert_eq!(ts["layerCount"], 2);
        let seq = layer(&ts, "sequence");
        assert_eq!(seq["count"], 4);
        assert_eq!(seq["geometry"], "LineString", "three lines beat one point");
        assert_eq!(layer(&ts, "image")["geometry"], "Point");
        assert_eq!(layer(&ts, "image")["count"], 2);
        let vl = stats.vector_layers();
        // Ordered by minzoom: sequence (6) before image (14).
        assert_eq!(vl[0]["id"], "sequence");
        assert_eq!(
            (vl[0]["minzoom"].as_u64(), vl[0]["maxzoom"].as_u64()),
            (Some(6), Some(14))
        );
        assert_eq!(vl[1]["id"], "image");
        assert_eq!(vl[1]["minzoom"], 14);
        assert_eq!(stats.zooms(), Some((6, 14)));
        assert_eq!(stats.tiles(), 2);
        // The bounds are those of the deepest zoom's tile, not of the z6 tile.
        assert_eq!(stats.bounds(), Some(id("14/3251/6258").bounds()));
    }

    #[test]
    fn a_tie_between_geometry_types_goes_to_the_point() {
        let mut stats = TileStats::new();
        let t = tile_of(&[("mixed", point(1, 1), vec![]), ("mixed", line(), vec![])]);
        stats.add_tile(id("14/0/0"), &t).unwrap();
        assert_eq!(layer(&stats.tilestats(), "mixed")["geometry"], "Point");
    }

    #[test]
    fn attributes_are_typed_with_exact_numbers() {
        let mut stats = TileStats::new();
        let big = u64::MAX - 1; // above 2^53 and i64::MAX: must not pass through a float
        let t = tile_of(&[
            (
                "image",
                point(1, 1),
                vec![
                    ("id", Value::UInt(big)),
                    ("captured_at", Value::Int(-5)),
                    ("angle", Value::Double(1.5)),
                    ("is_pano", Value::Bool(true)),
                    ("sequence_id", Value::String("b")),
                    ("odd", Value::String("x")),
                ],
            ),
            (
                "image",
                point(2, 2),
                vec![
                    ("id", Value::UInt(7)),
                    ("captured_at", Value::SInt(40)),
                    ("angle", Value::Float(0.25)),
                    ("is_pano", Value::Bool(false)),
                    ("sequence_id", Value::String("a")),
                    ("odd", Value::Int(3)),
                ],
            ),
        ]);
        stats.add_tile(id("14/0/0"), &t).unwrap();
        let ts = stats.tilestats();
        let image = layer(&ts, "image");
        assert_eq!(image["attributeCount"], 6);
        let id_attr = attribute(image, "id");
        assert_eq!(id_attr["type"], "number");
        assert_eq!(id_attr["min"], 7);
        assert_eq!(id_attr["max"].as_u64(), Some(big));
        assert_eq!(id_attr["values"], json!([7, big]));
        let at = attribute(image, "captured_at");
        assert_eq!(
            (at["min"].as_i64(), at["max"].as_i64()),
            (Some(-5), Some(40))
        );
        assert!(at["min"].is_i64(), "integer min stays an integer for GDAL");
        let angle = attribute(image, "angle");
        assert_eq!(angle["values"], json!([0.25, 1.5]));
        assert_eq!(angle["min"].as_f64(), Some(0.25));
        assert_eq!(attribute(image, "is_pano")["type"], "boolean");
        assert_eq!(attribute(image, "is_pano")["values"], json!([false, true]));
        let seq = attribute(image, "sequence_id");
        assert_eq!(seq["type"], "string");
        assert_eq!(seq["values"], json!(["a", "b"]), "samples are sorted");
        assert_eq!(seq["count"], 2);
        assert_eq!(attribute(image, "odd")["type"], "mixed");
        let fields = &stats.vector_layers()[0]["fields"];
        assert_eq!(fields["id"], "Number");
        assert_eq!(fields["is_pano"], "Boolean");
        assert_eq!(fields["sequence_id"], "String");
        assert_eq!(fields["odd"], "Mixed");
    }

    #[test]
    fn samples_and_counts_are_capped() {
        let mut stats = TileStats::new();
        let names: Vec<String> = (0..1500).map(|i| format!("v{i:04}")).collect();
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        for chunk in names.chunks(300) {
            let mut features: Vec<Feature<'_>> = chunk
                .iter()
                .map(|n| ("l", point(1, 1), vec![("name", Value::String(n.as_str()))]))
                .collect();
            features.push(("l", point(1, 1), vec![("name", Value::String(&long))]));
            stats.add_tile(id("14/0/0"), &tile_of(&features)).unwrap();
        }
        let ts = stats.tilestats();
        let name = attribute(layer(&ts, "l"), "name");
        assert_eq!(name["count"], MAX_COUNTED_VALUES);
        let values = name["values"].as_array().unwrap();
        assert_eq!(values.len(), MAX_REPORTED_VALUES);
        // The smallest values, whatever order they came in; the long string is not kept.
        assert_eq!(values[0], "v0000");
        assert_eq!(values[MAX_REPORTED_VALUES - 1], "v0099");
        assert!(!values.contains(&Json::from(long.as_str())));
    }

    #[test]
    fn one_number_in_three_integer_encodings_counts_once() {
        let mut stats = TileStats::new();
        let t = tile_of(&[
            ("l", point(1, 1), vec![("n", Value::Int(5))]),
            ("l", point(1, 1), vec![("n", Value::UInt(5))]),
            ("l", point(1, 1), vec![("n", Value::SInt(5))]),
        ]);
        stats.add_tile(id("14/0/0"), &t).unwrap();
        let ts = stats.tilestats();
        let n = attribute(layer(&ts, "l"), "n");
        assert_eq!(n["count"], 1);
        assert_eq!(n["values"], json!([5]));
    }

    #[test]
    fn layers_and_attributes_are_capped() {
        let mut stats = TileStats::new();
        let names: Vec<String> = (0..MAX_LAYERS + 5)
            .map(|i| format!("layer{i:03}"))
            .collect();
        let features: Vec<Feature<'_>> = names
            .iter()
            .map(|n| (n.as_str(), point(1, 1), vec![]))
            .collect();
        stats.add_tile(id("14/0/0"), &tile_of(&features)).unwrap();
        assert_eq!(stats.tilestats()["layerCount"], MAX_LAYERS);

        let mut stats = TileStats::new();
        let keys: Vec<String> = (0..MAX_ATTRIBUTES + 5)
            .map(|i| format!("k{i:03}"))
            .collect();
        let props: Vec<(&str, Value<'_>)> = keys
            .iter()
            .map(|k| (k.as_str(), Value::Bool(true)))
            .collect();
        stats
            .add_tile(id("14/0/0"), &tile_of(&[("l", point(1, 1), props)]))
            .unwrap();
        assert_eq!(
            layer(&stats.tilestats(), "l")["attributeCount"],
            MAX_ATTRIBUTES
        );
    }

    /// Adding tiles in any order, or to two accumulators merged afterwards, gives the same
    /// statistics.
    #[test]
    fn merging_is_adding_in_any_order() {
        let tiles: Vec<(TileId, Vec<u8>)> = (0..6u32)
            .map(|i| {
                let names = [format!("s{i}"), format!("s{}", i * 7 % 5)];
                let features: Vec<Feature<'_>> = names
                    .iter()
                    .map(|n| {
                        (
                            if i % 2 == 0 { "a" } else { "b" },
                            if i % 3 == 0 { line() } else { point(1, 1) },
                            vec![
                                ("name", Value::String(n.as_str())),
                                ("n", Value::Int(i64::from(i) - 2)),
                            ],
                        )
                    })
                    .collect();
                (
                    TileId::new(10 + i as u8 % 3, i, i).unwrap(),
                    tile_of(&features),
                )
            })
            .collect();
        let mut forward = TileStats::new();
        for (t, b) in &tiles {
            forward.add_tile(*t, b).unwrap();
        }
        let mut backward = TileStats::new();
        for (t, b) in tiles.iter().rev() {
            backward.add_tile(*t, b).unwrap();
        }
        let (mut left, mut right) = (TileStats::new(), TileStats::new());
        for (i, (t, b)) in tiles.iter().enumerate() {
            if i % 2 == 0 { &mut left } else { &mut right }
                .add_tile(*t, b)
                .unwrap();
        }
        right.merge(left);
        assert_eq!(forward.metadata_json(), backward.metadata_json());
        assert_eq!(forward.metadata_json(), right.metadata_json());
        assert_eq!(forward.bounds(), right.bounds());
        assert_eq!(forward.zooms(), right.zooms());
        assert_eq!(right.tiles(), 6);
    }

    #[test]
    fn an_unreadable_tile_is_an_error_and_counted() {
        let mut stats = TileStats::new();
        // A layer field (3, length-delimited) claiming more bytes than there are.
        let err = stats
            .add_tile(id("14/0/0"), &[0x1a, 0x7f, 0x00])
            .unwrap_err();
        assert!(!err.to_string().is_empty());
        assert_eq!(stats.unreadable_tiles(), 1);
        assert_eq!(stats.tiles(), 1);
    }

    #[test]
    fn a_store_is_read_tile_by_tile_skipping_empty_and_failed_ones() {
        use crate::{MbTiles, TileRecord};
        let dir = tempfile::tempdir().unwrap();
        let store = MbTiles::open(dir.path().join("t.mbtiles")).unwrap();
        let now = chrono::Utc::now();
        let a = tile_of(&[("image", point(1, 1), vec![("k", Value::Int(1))])]);
        let b = tile_of(&[("sequence", line(), vec![("k", Value::String("s"))])]);
        store
            .put(id("14/10/10"), &TileRecord::data(a.clone(), now))
            .unwrap();
        store
            .put(id("12/2/2"), &TileRecord::data(b.clone(), now))
            .unwrap();
        store.put(id("14/11/10"), &TileRecord::empty(now)).unwrap();
        store
            .put(id("14/12/10"), &TileRecord::failed("HTTP 503", now))
            .unwrap();
        store
            .put(id("14/13/10"), &TileRecord::data(vec![0x1a, 0x7f], now))
            .unwrap();
        let read = TileStats::from_store(&store).unwrap();
        let mut direct = TileStats::new();
        direct.add_tile(id("14/10/10"), &a).unwrap();
        direct.add_tile(id("12/2/2"), &b).unwrap();
        assert_eq!(read.metadata_json(), direct.metadata_json());
        assert_eq!(read.unreadable_tiles(), 1);
        let meta = read.to_metadata("t");
        assert_eq!((meta.minzoom, meta.maxzoom), (Some(12), Some(14)));
        assert_eq!(meta.json, Some(direct.metadata_json()));
    }
}
