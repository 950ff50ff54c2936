//! Exports of filtered features: GeoJSON, GeoJSON lines, CSV, GeoPackage and MVT.
//!
//! The text formats implement [`Exporter`]: [`begin`](Exporter::begin), then one
//! [`feature`](Exporter::feature) call per kept feature with its typed [`Record`] and its
//! geometry in lon/lat (see [`lon_lat_geometry`]), then [`finish`](Exporter::finish). Features
//! are written as they arrive, so memory is bounded by one feature, except for `sequence`
//! lines: the same sequence arrives clipped in many tiles, so a [`SequenceMerger`] holds its
//! parts by sequence `id` until `finish` joins the parts that meet at tile edges and writes
//! one LineString (or MultiLineString, for parts that do not meet) per sequence.
//!
//! Ids (`id`, `image_id`, `creator_id`, `organization_id`) are exact `u64`s and are written as
//! JSON strings by default (`"id": "9007199254740993"`) so that JavaScript and other float64
//! readers cannot round them; [`IdFormat::Number`] writes them as JSON numbers, still digit
//! for digit (never through `f64`).
//!
//! Every format writes the same columns per layer: the record's fields, and each time twice,
//! in UTC milliseconds (`captured_at`) and as ISO 8601 UTC text (`captured_at_iso`,
//! `2021-06-12T10:22:03.123Z`). GeoJSON puts the layer's name among the `properties`
//! (`"layer":"image"`), where GDAL and QGIS read it; [`SplitByLayer`] writes each layer to an
//! exporter of its own (one geometry type per file). CSV has the columns of the layers it is
//! made for only. `GpkgExporter` (cargo feature `gpkg`) writes a GeoPackage with one table
//! per layer.
//!
//! The MVT format is not an [`Exporter`]: a filtered tile is made in one call by
//! [`filter_mvt`](crate::filter_mvt), which copies the kept features' tags and geometry
//! integers as they are encoded (the CLI's `filter --format mvt` and the server use it).
//!
//! # Examples
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mlytiles_filter::chrono::Utc;
//! use mlytiles_filter::export::{ExportOptions, Exporter, GeoJsonExporter, lon_lat_geometry, select};
//! use mlytiles_filter::{Filter, TypeReport};
//! use mlytiles_mvt::{Tile, TileBuilder, Value, geo_types::{Geometry, Point}};
//! use mlytiles_tile::{TileId, TileTransform};
//!
//! let mut builder = TileBuilder::new();
//! builder.layer("image").add_feature(
//!     None,
//!     &Geometry::Point(Point::new(2048, 2048)),
//!     [("id", Value::UInt(9_007_199_254_740_993)), ("is_pano", Value::Bool(true))],
//! )?;
//! let bytes = builder.to_bytes();
//! let tile = Tile::new(&bytes)?;
//! let id: TileId = "14/8800/5373".parse()?;
//!
//! let mut out = GeoJsonExporter::lines(Vec::new(), ExportOptions::default());
//! out.begin()?;
//! let filter = Filter { image_type: "pano".parse()?, ..Filter::default() };
//! let mut report = TypeReport::new();
//! for layer in tile.layers() {
//!     let layer = layer?;
//!     let transform = TileTransform::new(id, layer.extent())?;
//!     select(&layer, Some(id), &filter, Utc::now(), &mut report, |kind, record, feature| {
//!         out.feature(kind, &record, &lon_lat_geometry(feature, &transform)?)
//!     })?;
//! }
//! out.finish()?;
//! let text = String::from_utf8(out.into_inner())?;
//! assert!(text.contains(r#""id":"9007199254740993""#));
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::io;

use chrono::{DateTime, Utc};
use geo_types::{Coord, Geometry};
use mlytiles_mvt::{Feature, Layer, Severity, Tile};
use mlytiles_tile::{TileId, TileTransform};

use crate::compiled::CompiledFilter;
use crate::filter::Filter;
use crate::kind::LayerKind;
use crate::records::{Record, RecordReader};
use crate::report::TypeReport;

mod csv;
mod fields;
mod geojson;
#[cfg(feature = "gpkg")]
mod gpkg;
mod sequence;
mod split;

pub use self::csv::{CsvExporter, csv_header};
pub use self::geojson::GeoJsonExporter;
#[cfg(feature = "gpkg")]
pub use self::gpkg::GpkgExporter;
pub use self::sequence::{MergedSequence, SequenceMerger};
pub use self::split::SplitByLayer;

/// What can go wrong while exporting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Writing the output failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The filter could not be compiled for a layer (it names the predicate and the layer).
    #[error(transparent)]
    Filter(#[from] crate::Error),
    /// The tile could not be read (a fatal error of the layer or tile).
    #[error(transparent)]
    Mvt(#[from] mlytiles_mvt::Error),
    /// CSV rows are points; a line or polygon feature has no row.
    #[error(
        "CSV holds points (one row each), but the {layer} layer has {geometry} features: \
         export it as GeoJSON or GeoJSON lines, or leave the layer out"
    )]
    NotPoints {
        /// The layer.
        layer: LayerKind,
        /// The geometry type found, such as `"LineString"`.
        geometry: &'static str,
    },
    /// A feature of a layer the exporter was not made for: a CSV header without its columns,
    /// or a [`SplitByLayer`] without an exporter for it.
    #[error("the export was made for the layers {expected}; it has no place for {layer} features")]
    UnexpectedLayer {
        /// The feature's layer.
        layer: LayerKind,
        /// The layers the exporter was made for, comma-separated.
        expected: String,
    },
    /// A GeoPackage table holds one geometry type: points for the point layers, lines for
    /// `sequence`; a feature of another type has no row.
    #[error("the {layer} layer's GeoPackage table cannot hold a {found} feature")]
    WrongGeometry {
        /// The layer.
        layer: LayerKind,
        /// The feature's geometry type, such as `"Polygon"`.
        found: &'static str,
    },
    /// An id above `i64::MAX`, which a GeoPackage INTEGER column cannot hold exactly.
    #[error("{layer} feature {column} {id} is above 2^63 - 1, the largest GeoPackage INTEGER")]
    IdTooLarge {
        /// The layer.
        layer: LayerKind,
        /// The column, such as `"creator_id"`.
        column: &'static str,
        /// The id.
        id: u64,
    },
    /// The GeoPackage could not be written.
    #[cfg(feature = "gpkg")]
    #[error("GeoPackage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A geometry could not be encoded as WKB.
    #[cfg(feature = "gpkg")]
    #[error("GeoPackage geometry: {0}")]
    Wkb(#[from] geozero::error::GeozeroError),
}

/// The layers' names, comma-separated, for [`ExportError::UnexpectedLayer`].
pub(crate) fn layer_list(kinds: &[LayerKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    names.join(", ")
}

/// Result with [`ExportError`].
pub type ExportResult<T> = std::result::Result<T, ExportError>;

/// How ids are written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IdFormat {
    /// As JSON strings, `"9007199254740993"`: safe for JavaScript and float64 readers (the
    /// default).
    #[default]
    String,
    /// As JSON numbers, `9007199254740993`, written digit for digit. Readers that parse
    /// numbers as float64 round ids above 2^53.
    Number,
}

/// Options of the text exports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportOptions {
    /// How ids are written in JSON. Default [`IdFormat::String`]. (CSV cells are text
    /// anyway.)
    pub ids: IdFormat,
    /// Whether `sequence` lines are merged by `id` across tiles and written at
    /// [`finish`](Exporter::finish) (default `true`); when `false` each part is written as it
    /// arrives.
    pub merge_sequences: bool,
    /// How close, in degrees of longitude and latitude, the end of one part and the start of
    /// another must be to be joined. Default `1e-9`: both tiles compute the same tile-edge
    /// coordinate, up to rounding.
    pub join_epsilon: f64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            ids: IdFormat::String,
            merge_sequences: true,
            join_epsilon: 1e-9,
        }
    }
}

/// A streaming writer of kept features.
pub trait Exporter {
    /// Writes what comes before the features (a header, the collection's opening).
    ///
    /// # Errors
    ///
    /// I/O errors.
    fn begin(&mut self) -> ExportResult<()>;

    /// Writes one kept feature (or, for a merged `sequence`, holds it until
    /// [`finish`](Self::finish)). `geometry` is in lon/lat.
    ///
    /// # Errors
    ///
    /// I/O errors; [`ExportError::NotPoints`] for a line or polygon given to CSV.
    fn feature(
        &mut self,
        layer: LayerKind,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> ExportResult<()>;

    /// Writes the merged sequences and what comes after the features, and flushes.
    ///
    /// # Errors
    ///
    /// I/O errors.
    fn finish(&mut self) -> ExportResult<()>;
}

/// Counts of one [`select`] call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Features read (recoverable errors excluded).
    pub read: u64,
    /// Features that matched the filter.
    pub kept: u64,
    /// Features skipped for a recoverable decoding error.
    pub skipped: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.read += o.read;
        self.kept += o.kept;
        self.skipped += o.skipped;
    }
}

/// Runs `filter` over `layer`, reading every feature's record (unreadable values counted in
/// `report`) and calling `kept` with each feature that matches: O(features), streaming.
///
/// `tile` and `now` are as for [`CompiledFilter::for_layer`]. Features with a recoverable
/// decoding error are skipped and counted.
///
/// # Errors
///
/// The filter's compile errors (an unknown layer, a predicate that does not apply), a fatal
/// error of the layer, and whatever `kept` returns.
pub fn select<'a, F>(
    layer: &Layer<'a>,
    tile: Option<TileId>,
    filter: &Filter,
    now: DateTime<Utc>,
    report: &mut TypeReport,
    mut kept: F,
) -> ExportResult<Counts>
where
    F: FnMut(LayerKind, Record<'a>, &Feature<'_, 'a>) -> ExportResult<()>,
{
    let compiled = CompiledFilter::for_layer(filter, layer, tile, now)?;
    let reader = RecordReader::new(layer)?;
    let kind = reader.kind();
    let mut counts = Counts::default();
    for feature in layer.features() {
        let feature = match feature {
            Ok(f) => f,
            Err(e) if e.severity() == Severity::Recoverable => {
                counts.skipped += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        counts.read += 1;
        let record = reader.read_reporting(&feature, report);
        if compiled.matches(&feature) {
            counts.kept += 1;
            kept(kind, record, &feature)?;
        }
    }
    Ok(counts)
}

/// Writes the features of one tile that match `filter` to `exporter`, in lon/lat: every
/// layer of the tile whose kind is in `kinds` goes through [`select`] (other layers, and
/// layers that are not Mapillary's, are passed over). Returns the counts per layer read.
///
/// `exporter`'s [`begin`](Exporter::begin) and [`finish`](Exporter::finish) are the
/// caller's: call this once per tile in between.
///
/// # Errors
///
/// A tile or layer that cannot be read, the filter's compile errors, and the exporter's.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_filter::chrono::Utc;
/// use mlytiles_filter::export::{CsvExporter, Exporter, export_tile};
/// use mlytiles_filter::{Filter, LayerKind, TypeReport};
/// use mlytiles_mvt::{TileBuilder, Value, geo_types::{Geometry, Point}};
///
/// let mut builder = TileBuilder::new();
/// let p = Geometry::Point(Point::new(2048, 2048));
/// builder.layer("image").add_feature(None, &p, [("id", Value::UInt(7))])?;
/// builder.layer("overview").add_feature(None, &p, [("id", Value::UInt(8))])?;
/// let bytes = builder.to_bytes();
///
/// let mut csv = CsvExporter::new(Vec::new(), &[LayerKind::Image]);
/// let mut report = TypeReport::new();
/// csv.begin()?;
/// let tile = "14/8800/5373".parse()?;
/// let counts = export_tile(
///     &bytes, tile, &[LayerKind::Image], &Filter::default(), Utc::now(), &mut csv, &mut report,
/// )?;
/// csv.finish()?;
/// assert_eq!(counts[&LayerKind::Image].kept, 1);
/// assert!(!counts.contains_key(&LayerKind::Overview));
/// assert_eq!(csv.written(), 1);
/// # Ok(())
/// # }
/// ```
pub fn export_tile<E: Exporter + ?Sized>(
    bytes: &[u8],
    tile: TileId,
    kinds: &[LayerKind],
    filter: &Filter,
    now: DateTime<Utc>,
    exporter: &mut E,
    report: &mut TypeReport,
) -> ExportResult<BTreeMap<LayerKind, Counts>> {
    let parsed = Tile::new(bytes)?;
    let mut counts = BTreeMap::new();
    for layer in parsed.layers() {
        let layer = layer?;
        let Some(kind) = LayerKind::from_name(layer.name()) else {
            continue;
        };
        if !kinds.contains(&kind) {
            continue;
        }
        let transform = TileTransform::new(tile, layer.extent()).map_err(crate::Error::from)?;
        let c = select(
            &layer,
            Some(tile),
            filter,
            now,
            report,
            |kind, record, feature| {
                exporter.feature(kind, &record, &lon_lat_geometry(feature, &transform)?)
            },
        )?;
        *counts.entry(kind).or_default() += c;
    }
    Ok(counts)
}

/// The feature's geometry in lon/lat (x longitude, y latitude), through `transform` (built
/// from the tile id and the layer's extent).
///
/// # Errors
///
/// The reader's geometry errors.
pub fn lon_lat_geometry(
    feature: &Feature<'_, '_>,
    transform: &TileTransform,
) -> mlytiles_mvt::Result<Geometry<f64>> {
    feature.to_geometry_with(|x, y| {
        let (lon, lat) = transform.to_lon_lat(f64::from(x), f64::from(y));
        Coord { x: lon, y: lat }
    })
}
