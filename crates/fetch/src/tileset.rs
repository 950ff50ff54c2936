//! The Mapillary tilesets and custom URL templates.

use mlytiles_tile::TileId;

use crate::error::{Error, Result};

/// One layer of a tileset and the zooms it appears at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerZooms {
    /// The layer name, e.g. `sequence`.
    pub name: &'static str,
    /// First zoom with this layer.
    pub minzoom: u8,
    /// Last zoom with this layer.
    pub maxzoom: u8,
}

const COVERAGE_LAYERS: &[LayerZooms] = &[
    LayerZooms {
        name: "overview",
        minzoom: 0,
        maxzoom: 5,
    },
    LayerZooms {
        name: "sequence",
        minzoom: 6,
        maxzoom: 14,
    },
    LayerZooms {
        name: "image",
        minzoom: 14,
        maxzoom: 14,
    },
];

/// Where a tileset's tiles come from.
#[derive(Clone, PartialEq, Eq)]
enum Source {
    /// `{endpoint}/maps/vtp/{name}/2/{z}/{x}/{y}`.
    Mapillary,
    /// A URL template with `{z}`, `{x}` and `{y}`.
    Template(String),
}

/// A tileset: its name (also the name of its store in a cache folder), layers, zooms and URL.
///
/// # Examples
///
/// ```
/// use mlytiles_fetch::Tileset;
///
/// let public = Tileset::by_name("mly1_public").unwrap();
/// assert_eq!((public.minzoom(), public.maxzoom()), (0, 14));
/// let tile = mlytiles_tile::TileId::new(14, 8185, 5447)?;
/// assert_eq!(
///     public.url("https://tiles.mapillary.com", tile),
///     "https://tiles.mapillary.com/maps/vtp/mly1_public/2/14/8185/5447"
/// );
/// let other = Tileset::custom("https://example.com/tiles/{z}/{x}/{y}.pbf")?;
/// assert_eq!(other.url("ignored", tile), "https://example.com/tiles/14/8185/5447.pbf");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Tileset {
    name: String,
    source: Source,
    layers: &'static [LayerZooms],
    minzoom: u8,
    maxzoom: u8,
}

impl std::fmt::Debug for Tileset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A custom template may carry a token in its query: show the name only.
        f.debug_struct("Tileset")
            .field("name", &self.name)
            .field("custom", &matches!(self.source, Source::Template(_)))
            .field("minzoom", &self.minzoom)
            .field("maxzoom", &self.maxzoom)
            .finish()
    }
}

impl Tileset {
    /// The names of the four Mapillary tilesets.
    pub const MAPILLARY_NAMES: [&'static str; 4] = [
        "mly1_public",
        "mly1_computed_public",
        "mly_map_feature_point",
        "mly_map_feature_traffic_sign",
    ];

    /// The four Mapillary tilesets.
    pub fn mapillary() -> Vec<Tileset> {
        Self::MAPILLARY_NAMES
            .iter()
            .filter_map(|n| Tileset::by_name(n))
            .collect()
    }

    /// A Mapillary tileset by name (`mly1_public`, `mly1_computed_public`,
    /// `mly_map_feature_point`, `mly_map_feature_traffic_sign`).
    pub fn by_name(name: &str) -> Option<Tileset> {
        const POINT: &[LayerZooms] = &[LayerZooms {
            name: "point",
            minzoom: 14,
            maxzoom: 14,
        }];
        const SIGN: &[LayerZooms] = &[LayerZooms {
            name: "traffic_sign",
            minzoom: 14,
            maxzoom: 14,
        }];
        let (layers, minzoom) = match name {
            "mly1_public" | "mly1_computed_public" => (COVERAGE_LAYERS, 0),
            "mly_map_feature_point" => (POINT, 14),
            "mly_map_feature_traffic_sign" => (SIGN, 14),
            _ => return None,
        };
        Some(Tileset {
            name: name.to_string(),
            source: Source::Mapillary,
            layers,
            minzoom,
            maxzoom: 14,
        })
    }

    /// Any MVT server, from a URL template with `{z}`, `{x}` and `{y}` (zooms 0-14 by default,
    /// see [`with_zooms`](Self::with_zooms)). The store name is `custom-` and a hash of the
    /// template without its query (so a token in the template never lands in a file name);
    /// [`with_name`](Self::with_name) sets another.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the template is not an `http(s)://` URL with all three
    /// placeholders.
    pub fn custom(url_template: &str) -> Result<Tileset> {
        let t = url_template.trim();
        if !(t.starts_with("http://") || t.starts_with("https://")) {
            return Err(Error::Config(
                "the URL template must start with http:// or https://".into(),
            ));
        }
        for p in ["{z}", "{x}", "{y}"] {
            if !t.contains(p) {
                return Err(Error::Config(format!("the URL template has no {p}")));
            }
        }
        let without_query = t.split('?').next().unwrap_or(t);
        Ok(Tileset {
            name: format!("custom-{:016x}", fnv1a(without_query.as_bytes())),
            source: Source::Template(t.to_string()),
            layers: &[],
            minzoom: 0,
            maxzoom: 14,
        })
    }

    /// The same tileset under another name (the name of its store in a cache folder).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the name cannot be a file name
    /// ([`mlytiles_store::validate_tileset_name`]).
    pub fn with_name(mut self, name: &str) -> Result<Tileset> {
        mlytiles_store::validate_tileset_name(name)?;
        self.name = name.to_string();
        Ok(self)
    }

    /// The same tileset with other zoom limits (for custom templates).
    pub fn with_zooms(mut self, minzoom: u8, maxzoom: u8) -> Tileset {
        self.minzoom = minzoom.min(maxzoom);
        self.maxzoom = maxzoom;
        self
    }

    /// The name, also the store's name in a cache folder.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is one of Mapillary's tilesets (served under the endpoint).
    pub fn is_mapillary(&self) -> bool {
        self.source == Source::Mapillary
    }

    /// The layers and their zooms (empty for a custom template).
    pub fn layers(&self) -> &'static [LayerZooms] {
        self.layers
    }

    /// First zoom served.
    pub fn minzoom(&self) -> u8 {
        self.minzoom
    }

    /// Last zoom served (14 for Mapillary: clients overzoom z14 beyond).
    pub fn maxzoom(&self) -> u8 {
        self.maxzoom
    }

    /// Whether the tileset has the z0-5 `overview` layer, a grid of one point per z13 cell
    /// holding images, usable to skip empty z14 tiles.
    pub fn has_overview(&self) -> bool {
        self.layers.iter().any(|l| l.name == "overview")
    }

    /// The tile's URL, without the access token. `endpoint` (e.g.
    /// `https://tiles.mapillary.com`) is used for Mapillary tilesets only.
    pub fn url(&self, endpoint: &str, tile: TileId) -> String {
        match &self.source {
            Source::Mapillary => format!(
                "{}/maps/vtp/{}/2/{}/{}/{}",
                endpoint.trim_end_matches('/'),
                self.name,
                tile.z(),
                tile.x(),
                tile.y()
            ),
            Source::Template(t) => t
                .replace("{z}", &tile.z().to_string())
                .replace("{x}", &tile.x().to_string())
                .replace("{y}", &tile.y().to_string()),
        }
    }

    /// Checks that the tileset serves the tile's zoom.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the tileset and its zooms.
    pub fn check_zoom(&self, z: u8) -> Result<()> {
        if (self.minzoom..=self.maxzoom).contains(&z) {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "{} has zooms {}-{}, not {z}",
                self.name, self.minzoom, self.maxzoom
            )))
        }
    }
}

/// FNV-1a, 64 bits: a stable hash for names derived from templates.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_names_ignore_the_query_so_a_token_never_names_a_store() {
        let a = Tileset::custom("https://h/{z}/{x}/{y}.pbf?access_token=SECRET").unwrap();
        let b = Tileset::custom("https://h/{z}/{x}/{y}.pbf").unwrap();
        assert_eq!(a.name(), b.name());
        assert!(!a.name().contains("SECRET"));
        assert!(!format!("{a:?}").contains("SECRET"));
    }

    #[test]
    fn templates_without_placeholders_are_rejected() {
        assert!(Tileset::custom("https://h/{z}/{x}.pbf").is_err());
        assert!(Tileset::custom("ftp://h/{z}/{x}/{y}").is_err());
    }

    #[test]
    fn the_four_tilesets_have_their_zooms() {
        let all = Tileset::mapillary();
        assert_eq!(all.len(), 4);
        assert!(all[0].has_overview() && all[1].has_overview());
        assert_eq!(all[2].minzoom(), 14);
        assert!(all[3].check_zoom(13).is_err());
    }
}
