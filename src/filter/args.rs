//! The arguments of `mlytiles filter`.

use std::path::PathBuf;

use clap::ValueEnum;
use mlytiles_filter::LayerKind;
use mlytiles_tile::TileId;

use crate::filter_args::FilterArgs;

/// Write the features that match a filter, from tile files, tile folders or MBTiles stores.
///
/// Inputs: an .mvt/.pbf file (gzipped or not, `-` for standard input; its Z/X/Y from --tile or
/// from a path ending in Z/X/Y.mvt), a folder laid out Z/X/Y.mvt, or an .mbtiles file. With no
/// input, the cache's store of --tileset is read (the cache `mlytiles fetch` fills). Of a
/// folder or store, the tiles of one zoom are read: --zoom, by default the deepest zoom that
/// holds tiles; --bbox and --tiles restrict them further.
///
/// Every filter flag must hold (AND). Without --layer, the layers read are those every given
/// filter applies to (with --class, only point and traffic_sign). Coordinates are lon/lat.
/// Sequences clipped across tiles are merged by id into one line (a MultiLineString where
/// parts do not meet). Ids are JSON strings unless --ids number. Each feature's layer is its
/// `layer` property (GeoJSON) or column (CSV); each time comes in UTC milliseconds and as ISO
/// 8601 UTC text (`captured_at`, `captured_at_iso`).
///
/// A one-line summary goes to stderr: features read and kept, and values of unexpected type.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlytiles filter fixtures/sample/14/3251/6257.mvt --layer image --pano only
  mlytiles filter --bbox 13.37,52.50,13.42,52.53 --pano only --format ndjson   # from the cache
  mlytiles filter cache/mly1_public.mbtiles --bbox -108.56,39.06,-108.54,39.08 --since 2023-01-01 --format ndjson
  mlytiles filter tiles/ --last 30months --org none --format csv -o images.csv
  mlytiles filter cache/mly_map_feature_traffic_sign.mbtiles --class 'regulatory--*' --seen-between 2022..2024
  mlytiles filter 14/3251/6257.mvt --compass 350..10 --format mvt -o north.mvt
  mlytiles filter fixtures/cache/mly1_public.mbtiles --format gpkg -o coverage.gpkg
  mlytiles filter fixtures/cache/mly1_public.mbtiles -o out.geojson --split-layers   # out.image.geojson, out.sequence.geojson, ...")]
pub struct Args {
    /// Tile files, tile folders (Z/X/Y.mvt), .mbtiles stores or .pmtiles archives; `-` reads one
    /// tile from stdin.
    /// With none, the cache's store of --tileset is read (the bundled sample's while the
    /// default cache holds no store, as for `render`).
    #[arg(value_name = "INPUT")]
    pub(super) inputs: Vec<PathBuf>,

    /// The cache folder read when no INPUT is given [default: MLYTILES_CACHE, else the user
    /// cache folder's `mlytiles`, as for `mlytiles fetch`].
    #[arg(long, value_name = "DIR", conflicts_with = "inputs")]
    pub(super) cache: Option<PathBuf>,

    /// The cache's tileset read when no INPUT is given [default: mly_map_feature_point for
    /// --layer point, mly_map_feature_traffic_sign for --layer traffic_sign or --class, else
    /// mly1_public].
    #[arg(long, value_name = "NAME", conflicts_with = "inputs")]
    pub(super) tileset: Option<String>,

    /// The Z/X/Y of a lone tile file (overrides a tile id in its path).
    #[arg(long, value_name = "Z/X/Y")]
    pub(super) tile: Option<TileId>,

    /// Of folders and stores, only these tiles (comma-separated, or repeat the flag).
    #[arg(long, value_name = "Z/X/Y,...", value_delimiter = ',')]
    pub(super) tiles: Vec<TileId>,

    /// Of folders and stores, the zoom to read (default: the deepest zoom that holds tiles).
    #[arg(long, value_name = "Z")]
    pub(super) zoom: Option<u8>,

    /// Only this layer (repeat for several): overview, sequence, image, point, traffic_sign.
    #[arg(long, value_name = "NAME", value_parser = parse_layer)]
    pub(super) layer: Vec<LayerKind>,

    #[command(flatten)]
    pub(super) filter: FilterArgs,

    /// Output format. `geojson`: one FeatureCollection; `ndjson`: one Feature per line; `csv`:
    /// one row per point, with the columns of the layers read only (the sequence layer is left
    /// out unless named, which is an error); `gpkg`: a GeoPackage (needs -o) with one table per
    /// layer, EPSG:4326, ids as exact 64-bit INTEGERs, an R-tree index; `mvt`: the kept
    /// features copied into one tile, tags and geometry as encoded (one input tile only).
    #[arg(long, value_enum, default_value_t = Format::Geojson)]
    pub(super) format: Format,

    /// How ids are written in JSON: `string` (safe for JavaScript) or `number` (exact digits).
    #[arg(long, value_enum, default_value_t = Ids::String)]
    pub(super) ids: Ids,

    /// Write to this file instead of standard output. An existing file is replaced, once the
    /// run has succeeded (a failed run leaves it as it was).
    #[arg(short, long, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,

    /// With -o, write one file per layer, named after -o with the layer before the extension:
    /// `-o out.geojson --split-layers` writes out.image.geojson, out.sequence.geojson, ... (one
    /// geometry type per file, as GDAL and QGIS read a file as one layer). For geojson, ndjson
    /// and csv.
    #[arg(long, requires = "output")]
    pub(super) split_layers: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A GeoJSON FeatureCollection.
    Geojson,
    /// One GeoJSON Feature per line.
    Ndjson,
    /// CSV, one row per point.
    Csv,
    /// A GeoPackage (SQLite), one table per layer.
    Gpkg,
    /// A vector tile.
    Mvt,
}

/// `--ids` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ids {
    /// `"id":"9007199254740993"`.
    String,
    /// `"id":9007199254740993`.
    Number,
}

fn parse_layer(s: &str) -> std::result::Result<LayerKind, String> {
    s.parse::<LayerKind>().map_err(|e| e.to_string())
}
