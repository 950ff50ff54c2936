//! Typed tileset metadata as the MBTiles 1.3 spec lists it.

use mlytiles_tile::BBox;

/// The metadata entries MBTiles 1.3 readers look for, built into `(name, value)` pairs for
/// [`TileStore::set_metadata`](crate::TileStore::set_metadata).
///
/// # Examples
///
/// ```
/// use mlytiles_store::TilesetMetadata;
///
/// let meta = TilesetMetadata {
///     name: "mly1_public".into(),
///     minzoom: Some(0),
///     maxzoom: Some(14),
///     ..TilesetMetadata::default()
/// };
/// let pairs = meta.to_pairs();
/// assert!(pairs.contains(&("format".to_string(), "pbf".to_string())));
/// assert!(pairs.contains(&("maxzoom".to_string(), "14".to_string())));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TilesetMetadata {
    /// `name`, required by the spec. Default: empty.
    pub name: String,
    /// `format`. Default: `pbf` (vector tiles).
    pub format: String,
    /// `bounds` as `west,south,east,north`. Default: `None` (not written).
    pub bounds: Option<BBox>,
    /// `minzoom`. Default: `None`.
    pub minzoom: Option<u8>,
    /// `maxzoom`. Default: `None`.
    pub maxzoom: Option<u8>,
    /// `json`: a JSON object with `vector_layers`, required by the spec for `pbf`.
    /// Default: `None`.
    pub json: Option<String>,
    /// `description`. Default: `None`.
    pub description: Option<String>,
    /// `attribution`. Default: `None`.
    pub attribution: Option<String>,
}

impl Default for TilesetMetadata {
    fn default() -> Self {
        TilesetMetadata {
            name: String::new(),
            format: "pbf".to_string(),
            bounds: None,
            minzoom: None,
            maxzoom: None,
            json: None,
            description: None,
            attribution: None,
        }
    }
}

impl TilesetMetadata {
    /// The entries to write, leaving out those that are `None`.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("name".to_string(), self.name.clone()),
            ("format".to_string(), self.format.clone()),
        ];
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k.to_string(), v));
            }
        };
        push(
            "bounds",
            self.bounds
                .map(|b| format!("{},{},{},{}", b.west(), b.south(), b.east(), b.north())),
        );
        push("minzoom", self.minzoom.map(|z| z.to_string()));
        push("maxzoom", self.maxzoom.map(|z| z.to_string()));
        push("json", self.json.clone());
        push("description", self.description.clone());
        push("attribution", self.attribution.clone());
        out
    }
}
