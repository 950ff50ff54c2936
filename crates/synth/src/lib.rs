#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod classes;
mod encode;
mod rng;
mod streets;
mod world;

use std::collections::BTreeMap;

use mlytiles_tile::TileId;

pub use classes::{POINTS as POINT_CLASSES, TRAFFIC_SIGNS as TRAFFIC_SIGN_CLASSES};
pub use world::{Image, MapFeature, Sequence};

/// Coverage tileset with positions as uploaded.
pub const PUBLIC: &str = "mly1_public";
/// Coverage tileset with positions after reconstruction (slightly displaced here).
pub const COMPUTED: &str = "mly1_computed_public";
/// Detected objects that are not signs (layer `point`, z14 only).
pub const MAP_FEATURE_POINT: &str = "mly_map_feature_point";
/// Detected traffic signs (layer `traffic_sign`, z14 only).
pub const MAP_FEATURE_TRAFFIC_SIGN: &str = "mly_map_feature_traffic_sign";
/// The four tilesets, in the order above.
pub const TILESETS: [&str; 4] = [
    PUBLIC,
    COMPUTED,
    MAP_FEATURE_POINT,
    MAP_FEATURE_TRAFFIC_SIGN,
];
/// The extent of every layer written (spec 4.3.2), as in real Mapillary tiles.
pub const EXTENT: u32 = 4096;

/// Errors from [`generate`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of the [`SampleSpec`] is out of its range.
    #[error("invalid sample spec: {field} {reason}")]
    InvalidSpec {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The centre or the area does not give valid tiles.
    #[error("invalid sample area: {0}")]
    Tile(#[from] mlytiles_tile::Error),
    /// The tile writer refused a feature (a bug of this crate).
    #[error("writing a tile failed: {0}")]
    Write(#[from] mlytiles_mvt::WriteError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What to generate. Every field has a default that gives the standard sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSpec {
    /// Seed of everything random. Default `2026`.
    pub seed: u64,
    /// Longitude of the area's centre. Default `-108.56` (Grand Junction, Colorado). The
    /// streets are Grand Junction's wherever the area is: the three real z14 tiles of
    /// `fixtures/mapillary/` where they are, mirrored across tile edges everywhere else.
    pub center_lon: f64,
    /// Latitude of the area's centre. Default `39.07`.
    pub center_lat: f64,
    /// Width of the area in z14 tiles, `1..=64`. Default `4`: with the default centre, columns
    /// 3250-3253.
    pub tiles_wide: u32,
    /// Height of the area in z14 tiles, `1..=64`. Default `4`: rows 6256-6259.
    pub tiles_high: u32,
    /// Metres between images of a driven sequence (times 0.9-1.3 per sequence; walked
    /// sequences use 0.7 times this), at least `0.5`. Default `6.0`.
    pub image_spacing_metres: f64,
    /// Number of sequences (fewer if the area holds too few streets for routes).
    /// Default `140`.
    pub sequences: usize,
    /// Number of `point` map features. Default `1500`.
    pub points: usize,
    /// Number of `traffic_sign` map features. Default `600`.
    pub traffic_signs: usize,
    /// Largest shift, in metres, of a sequence in `mly1_computed_public` (plus a 0.3 m
    /// jitter per image), `0..=50`. Default `3.0`.
    pub computed_shift_metres: f64,
    /// Zoom of the cells of the `overview` layer (one point per cell holding any image),
    /// `6..=14`. Default `13`.
    pub overview_cell_zoom: u8,
}

impl Default for SampleSpec {
    fn default() -> Self {
        SampleSpec {
            seed: 2026,
            center_lon: -108.56,
            center_lat: 39.07,
            tiles_wide: 4,
            tiles_high: 4,
            image_spacing_metres: 6.0,
            sequences: 140,
            points: 1500,
            traffic_signs: 600,
            computed_shift_metres: 3.0,
            overview_cell_zoom: 13,
        }
    }
}

impl SampleSpec {
    fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: &str| {
            Err(Error::InvalidSpec {
                field,
                reason: reason.to_owned(),
            })
        };
        if !(1..=64).contains(&self.tiles_wide) {
            return bad("tiles_wide", "must be 1..=64");
        }
        if !(1..=64).contains(&self.tiles_high) {
            return bad("tiles_high", "must be 1..=64");
        }
        if !(self.image_spacing_metres >= 0.5 && self.image_spacing_metres.is_finite()) {
            return bad("image_spacing_metres", "must be finite and at least 0.5");
        }
        if !(0.0..=50.0).contains(&self.computed_shift_metres) {
            return bad("computed_shift_metres", "must be 0..=50");
        }
        if !(6..=14).contains(&self.overview_cell_zoom) {
            return bad("overview_cell_zoom", "must be 6..=14");
        }
        Ok(())
    }
}

/// A generated area: the tiles of the four tilesets and the truth they were made from.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The spec it was generated from.
    pub spec: SampleSpec,
    /// The z14 tiles of the area, row by row. Every image and map feature lies inside them.
    pub area: Vec<TileId>,
    /// The sequences and their images.
    pub sequences: Vec<Sequence>,
    /// The `point` map features.
    pub points: Vec<MapFeature>,
    /// The `traffic_sign` map features.
    pub traffic_signs: Vec<MapFeature>,
    /// Per tileset name ([`TILESETS`]), the encoded tiles (extent 4096, version 2). Only
    /// tiles with features are present: coverage tilesets have z0-14 (`overview` z0-5,
    /// `sequence` z6-14, `image` z14), map-feature tilesets z14 only.
    pub tilesets: BTreeMap<&'static str, BTreeMap<TileId, Vec<u8>>>,
}

impl Sample {
    /// The tiles of the tileset `name`, if it is one of [`TILESETS`].
    pub fn tileset(&self, name: &str) -> Option<&BTreeMap<TileId, Vec<u8>>> {
        self.tilesets.get(name)
    }

    /// The number of images of all sequences.
    pub fn image_count(&self) -> usize {
        self.sequences.iter().map(|s| s.images.len()).sum()
    }

    /// The number of tiles of all tilesets.
    pub fn tile_count(&self) -> usize {
        self.tilesets.values().map(BTreeMap::len).sum()
    }

    /// The encoded size of all tiles of all tilesets, in bytes.
    pub fn total_bytes(&self) -> usize {
        self.tilesets
            .values()
            .flat_map(BTreeMap::values)
            .map(Vec::len)
            .sum()
    }
}

/// Generates the sample described by `spec`. The same spec always gives the same bytes.
///
/// # Errors
///
/// [`Error::InvalidSpec`] for a field out of its range, [`Error::Tile`] for a centre that is
/// not a valid lon/lat or an area that leaves the z14 grid.
pub fn generate(spec: &SampleSpec) -> Result<Sample> {
    spec.validate()?;
    let centre = TileId::from_lon_lat(spec.center_lon, spec.center_lat, 14)?;
    let x0 = centre.x().saturating_sub((spec.tiles_wide - 1) / 2);
    let y0 = centre.y().saturating_sub((spec.tiles_high - 1) / 2);
    let mut area = Vec::new();
    for y in y0..y0 + spec.tiles_high {
        for x in x0..x0 + spec.tiles_wide {
            area.push(TileId::new(14, x, y)?);
        }
    }
    let nw = TileId::new(14, x0, y0)?.bounds();
    let se = TileId::new(14, x0 + spec.tiles_wide - 1, y0 + spec.tiles_high - 1)?.bounds();
    let frame = world::Frame::new(
        (nw.west() + se.east()) / 2.0,
        (nw.north() + se.south()) / 2.0,
    );
    let frame_lon = (nw.west() + se.east()) / 2.0;
    let (west, north) = frame.to_metres(nw.west(), nw.north());
    let (east, south) = frame.to_metres(se.east(), se.south());
    // Keep the world (and its GPS noise) a little inside the area, so that no image or
    // feature falls in a tile outside it.
    let margin = 25.0 + spec.computed_shift_metres;
    let rect = world::Rect {
        west: west + margin,
        south: south + margin,
        east: east - margin,
        north: north - margin,
        edges_x: (1..spec.tiles_wide)
            .map(|k| {
                Ok(frame
                    .to_metres(TileId::new(14, x0 + k, y0)?.bounds().west(), 0.0)
                    .0)
            })
            .collect::<Result<_>>()?,
        edges_y: (1..spec.tiles_high)
            .map(|k| {
                let north = TileId::new(14, x0, y0 + k)?.bounds().north();
                Ok(frame.to_metres(frame_lon, north).1)
            })
            .collect::<Result<_>>()?,
        x0,
        y0,
        wide: spec.tiles_wide,
        high: spec.tiles_high,
    };
    let world = world::build(spec, frame, &rect);

    let mut tilesets = BTreeMap::new();
    tilesets.insert(
        PUBLIC,
        encode::coverage(
            &world.sequences,
            encode::Positions::Public,
            spec.overview_cell_zoom,
        )?,
    );
    tilesets.insert(
        COMPUTED,
        encode::coverage(
            &world.sequences,
            encode::Positions::Computed,
            spec.overview_cell_zoom,
        )?,
    );
    tilesets.insert(
        MAP_FEATURE_POINT,
        encode::map_features(&world.points, "point")?,
    );
    tilesets.insert(
        MAP_FEATURE_TRAFFIC_SIGN,
        encode::map_features(&world.traffic_signs, "traffic_sign")?,
    );
    Ok(Sample {
        spec: spec.clone(),
        area,
        sequences: world.sequences,
        points: world.points,
        traffic_signs: world.traffic_signs,
        tilesets,
    })
}
