//! Exports of filtered features: GeoJSON, GeoJSON lines, CSV and MVT.
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

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use geo_types::{Coord, Geometry, LineString, MultiLineString};
use mlytiles_mvt::{Feature, Layer, Severity, Tile};
use mlytiles_tile::{TileId, TileTransform};

use crate::compiled::CompiledFilter;
use crate::filter::Filter;
use crate::geojson;
use crate::kind::LayerKind;
use crate::records::{Record, RecordReader, Sequence};
use crate::report::TypeReport;

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
/// let mut csv = CsvExporter::new(Vec::new());
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

// ---------------------------------------------------------------------------------------
// Record fields

/// One field value of a record.
#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Id(u64),
    Ms(i64),
    Float(f64),
    Str(&'a str),
    Bool(bool),
}

/// The known fields of a record, in a fixed order; unknown ones (absent, unreadable, a time
/// of 0) are left out.
fn fields<'a>(
    record: &Record<'a>,
    mut f: impl FnMut(&'static str, Field<'a>) -> io::Result<()>,
) -> io::Result<()> {
    let ms = |t: i64| (t != 0).then_some(Field::Ms(t));
    let list: [(&'static str, Option<Field<'a>>); 7] = match *record {
        Record::Overview(r) => [
            ("id", r.id.map(Field::Id)),
            ("captured_at", ms(r.captured_at)),
            ("creator_id", r.creator_id.map(Field::Id)),
            ("sequence_id", r.sequence_id.map(Field::Str)),
            ("is_pano", r.is_pano.map(Field::Bool)),
            ("", None),
            ("", None),
        ],
        Record::Sequence(r) => [
            ("id", r.id.map(Field::Str)),
            ("image_id", r.image_id.map(Field::Id)),
            ("captured_at", ms(r.captured_at)),
            ("creator_id", r.creator_id.map(Field::Id)),
            ("organization_id", r.organization_id.map(Field::Id)),
            ("is_pano", r.is_pano.map(Field::Bool)),
            ("", None),
        ],
        Record::Image(r) => [
            ("id", r.id.map(Field::Id)),
            ("captured_at", ms(r.captured_at)),
            ("compass_angle", r.compass_angle.map(Field::Float)),
            ("creator_id", r.creator_id.map(Field::Id)),
            ("organization_id", r.organization_id.map(Field::Id)),
            ("sequence_id", r.sequence_id.map(Field::Str)),
            ("is_pano", r.is_pano.map(Field::Bool)),
        ],
        Record::MapFeature(r) => [
            ("id", r.id.map(Field::Id)),
            ("value", r.class.map(Field::Str)),
            ("first_seen_at", ms(r.first_seen_at)),
            ("last_seen_at", ms(r.last_seen_at)),
            ("", None),
            ("", None),
            ("", None),
        ],
    };
    for (name, value) in list {
        if let Some(v) = value {
            f(name, v)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// JSON

fn json_field<W: Write>(w: &mut W, v: Field<'_>, ids: IdFormat) -> io::Result<()> {
    match v {
        Field::Id(id) => match ids {
            IdFormat::String => write!(w, "\"{id}\""),
            IdFormat::Number => write!(w, "{id}"),
        },
        Field::Ms(t) => write!(w, "{t}"),
        Field::Float(x) => geojson::float(w, x),
        Field::Str(s) => geojson::string(w, s),
        Field::Bool(b) => write!(w, "{b}"),
    }
}

/// One GeoJSON Feature: the record's known fields as properties, the layer name as the
/// foreign member `"layer"`.
fn json_feature<W: Write>(
    w: &mut W,
    layer: LayerKind,
    record: &Record<'_>,
    geometry: &Geometry<f64>,
    ids: IdFormat,
) -> io::Result<()> {
    write!(
        w,
        "{{\"type\":\"Feature\",\"layer\":\"{layer}\",\"properties\":{{"
    )?;
    let mut first = true;
    fields(record, |name, v| {
        if !first {
            w.write_all(b",")?;
        }
        first = false;
        write!(w, "\"{name}\":")?;
        json_field(w, v, ids)
    })?;
    w.write_all(b"},\"geometry\":")?;
    geojson::geometry(w, geometry, &mut geojson::position)?;
    w.write_all(b"}")
}

// ---------------------------------------------------------------------------------------
// Sequence merging

/// A `sequence` record with owned fields, as held by a [`SequenceMerger`]: the fields of the
/// first part seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergedSequence {
    /// `id`, the sequence key.
    pub id: String,
    /// `image_id` of the first part seen.
    pub image_id: Option<u64>,
    /// `captured_at` of the first part seen, UTC ms; 0 unknown.
    pub captured_at: i64,
    /// `creator_id`.
    pub creator_id: Option<u64>,
    /// `organization_id`.
    pub organization_id: Option<u64>,
    /// `is_pano`.
    pub is_pano: Option<bool>,
}

impl MergedSequence {
    /// The borrowed record, for writing.
    pub fn record(&self) -> Sequence<'_> {
        Sequence {
            id: Some(&self.id),
            image_id: self.image_id,
            captured_at: self.captured_at,
            creator_id: self.creator_id,
            organization_id: self.organization_id,
            is_pano: self.is_pano,
        }
    }
}

/// Holds the parts of `sequence` lines by sequence `id` and joins the parts that meet.
///
/// Parts are joined when the last vertex of one is within `epsilon` degrees (in both
/// longitude and latitude) of the first vertex of another, which is how a line clipped at a
/// shared tile edge arrives from the two tiles. Sequences come out in the order their first
/// part arrived. Memory: every held vertex, until [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct SequenceMerger {
    epsilon: f64,
    index: HashMap<String, usize>,
    entries: Vec<(MergedSequence, Vec<Vec<Coord<f64>>>)>,
}

impl SequenceMerger {
    /// An empty merger joining end points within `epsilon` degrees.
    pub fn new(epsilon: f64) -> SequenceMerger {
        SequenceMerger {
            epsilon,
            index: HashMap::new(),
            entries: Vec::new(),
        }
    }

    /// The number of distinct sequences held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no sequence is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Holds the lines of `geometry` under the record's `id`. Returns `false`, holding
    /// nothing, for a record without an id or a geometry that is not a (multi)line.
    pub fn add(&mut self, record: &Sequence<'_>, geometry: &Geometry<f64>) -> bool {
        let Some(id) = record.id else { return false };
        let lines: Vec<Vec<Coord<f64>>> = match geometry {
            Geometry::LineString(l) => vec![l.0.clone()],
            Geometry::MultiLineString(m) => m.0.iter().map(|l| l.0.clone()).collect(),
            _ => return false,
        };
        let i = match self.index.get(id) {
            Some(&i) => i,
            None => {
                let merged = MergedSequence {
                    id: id.to_owned(),
                    image_id: record.image_id,
                    captured_at: record.captured_at,
                    creator_id: record.creator_id,
                    organization_id: record.organization_id,
                    is_pano: record.is_pano,
                };
                self.index.insert(id.to_owned(), self.entries.len());
                self.entries.push((merged, Vec::new()));
                self.entries.len() - 1
            }
        };
        self.entries[i]
            .1
            .extend(lines.into_iter().filter(|l| !l.is_empty()));
        true
    }

    /// The merged sequences, each with a LineString when its parts joined into one line and a
    /// MultiLineString otherwise: O(parts^2) per sequence.
    pub fn finish(self) -> impl Iterator<Item = (MergedSequence, Geometry<f64>)> {
        let eps = self.epsilon;
        self.entries.into_iter().map(move |(seq, parts)| {
            let mut lines = join_parts(parts, eps);
            let geometry = if lines.len() == 1 {
                Geometry::LineString(LineString(lines.pop().expect("one line")))
            } else {
                Geometry::MultiLineString(MultiLineString(
                    lines.into_iter().map(LineString).collect(),
                ))
            };
            (seq, geometry)
        })
    }
}

fn near(a: Coord<f64>, b: Coord<f64>, eps: f64) -> bool {
    (a.x - b.x).abs() <= eps && (a.y - b.y).abs() <= eps
}

/// Joins parts end to start, keeping each part's direction, in arrival order.
fn join_parts(parts: Vec<Vec<Coord<f64>>>, eps: f64) -> Vec<Vec<Coord<f64>>> {
    let mut rest: Vec<Vec<Coord<f64>>> = parts;
    rest.reverse();
    let mut out = Vec::new();
    while let Some(mut line) = rest.pop() {
        loop {
            let (first, last) = (line[0], line[line.len() - 1]);
            if let Some(i) = rest.iter().position(|p| near(last, p[0], eps)) {
                let next = rest.remove(i);
                line.extend(next.into_iter().skip(1));
            } else if let Some(i) = rest.iter().position(|p| near(p[p.len() - 1], first, eps)) {
                let mut prev = rest.remove(i);
                prev.extend(line.into_iter().skip(1));
                line = prev;
            } else {
                break;
            }
        }
        out.push(line);
    }
    out
}

// ---------------------------------------------------------------------------------------
// GeoJSON

/// Writes GeoJSON: one FeatureCollection (one feature per line inside it), or GeoJSON lines
/// (one Feature per line, nothing else).
///
/// Each Feature carries the record's known fields as `properties` (unknown ones, and times of
/// 0, are left out) and its layer's name as the foreign member `"layer"`.
#[derive(Debug)]
pub struct GeoJsonExporter<W: Write> {
    out: W,
    options: ExportOptions,
    lines: bool,
    written: u64,
    merger: Option<SequenceMerger>,
}

impl<W: Write> GeoJsonExporter<W> {
    /// A FeatureCollection writer.
    pub fn collection(out: W, options: ExportOptions) -> Self {
        Self::new(out, options, false)
    }

    /// A GeoJSON lines (newline-delimited) writer.
    pub fn lines(out: W, options: ExportOptions) -> Self {
        Self::new(out, options, true)
    }

    fn new(out: W, options: ExportOptions, lines: bool) -> Self {
        GeoJsonExporter {
            out,
            options,
            lines,
            written: 0,
            merger: options
                .merge_sequences
                .then(|| SequenceMerger::new(options.join_epsilon)),
        }
    }

    /// The number of features written so far (merged sequences count once each).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn write(
        &mut self,
        layer: LayerKind,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> io::Result<()> {
        if !self.lines && self.written > 0 {
            self.out.write_all(b",\n")?;
        }
        json_feature(&mut self.out, layer, record, geometry, self.options.ids)?;
        if self.lines {
            self.out.write_all(b"\n")?;
        }
        self.written += 1;
        Ok(())
    }
}

impl<W: Write> Exporter for GeoJsonExporter<W> {
    fn begin(&mut self) -> ExportResult<()> {
        if !self.lines {
            self.out
                .write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
        }
        Ok(())
    }

    fn feature(
        &mut self,
        layer: LayerKind,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> ExportResult<()> {
        if let (Some(merger), Record::Sequence(seq)) = (&mut self.merger, record)
            && merger.add(seq, geometry)
        {
            return Ok(());
        }
        Ok(self.write(layer, record, geometry)?)
    }

    fn finish(&mut self) -> ExportResult<()> {
        if let Some(merger) = self.merger.take() {
            for (seq, geometry) in merger.finish() {
                self.write(
                    LayerKind::Sequence,
                    &Record::Sequence(seq.record()),
                    &geometry,
                )?;
            }
            self.merger = Some(SequenceMerger::new(self.options.join_epsilon));
        }
        if !self.lines {
            self.out.write_all(b"\n]}\n")?;
        }
        self.out.flush()?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// CSV

/// The CSV header: the layer, the point, then the union of the records' fields.
pub const CSV_HEADER: &str = "layer,lon,lat,id,captured_at,compass_angle,creator_id,\
organization_id,sequence_id,image_id,is_pano,value,first_seen_at,last_seen_at";

/// Writes CSV (RFC 4180): a header ([`CSV_HEADER`]), then one row per point.
///
/// CSV holds points only: a MultiPoint feature gives one row per point, and a line or polygon
/// feature (the `sequence` layer) is an error, [`ExportError::NotPoints`], rather than a row
/// with an arbitrary vertex. Unknown fields are empty cells; ids are written digit for digit.
#[derive(Debug)]
pub struct CsvExporter<W: Write> {
    out: csv::Writer<W>,
    written: u64,
}

impl<W: Write> CsvExporter<W> {
    /// A CSV writer.
    pub fn new(out: W) -> Self {
        CsvExporter {
            out: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out),
            written: 0,
        }
    }

    /// The number of rows written so far (the header not counted).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The writer back, flushed.
    ///
    /// # Errors
    ///
    /// The error of the last flush.
    pub fn into_inner(self) -> ExportResult<W> {
        self.out
            .into_inner()
            .map_err(|e| ExportError::Io(e.into_error()))
    }
}

/// The column of a field in [`CSV_HEADER`], counted after `lon,lat`.
fn csv_column(name: &str) -> usize {
    match name {
        "id" => 0,
        "captured_at" => 1,
        "compass_angle" => 2,
        "creator_id" => 3,
        "organization_id" => 4,
        "sequence_id" => 5,
        "image_id" => 6,
        "is_pano" => 7,
        "value" => 8,
        "first_seen_at" => 9,
        _ => 10,
    }
}

impl<W: Write> Exporter for CsvExporter<W> {
    fn begin(&mut self) -> ExportResult<()> {
        self.out
            .write_record(CSV_HEADER.split(','))
            .map_err(csv_error)?;
        Ok(())
    }

    fn feature(
        &mut self,
        layer: LayerKind,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> ExportResult<()> {
        let points: &[geo_types::Point<f64>] = match geometry {
            Geometry::Point(p) => std::slice::from_ref(p),
            Geometry::MultiPoint(m) => &m.0,
            Geometry::LineString(_) | Geometry::MultiLineString(_) => {
                return Err(ExportError::NotPoints {
                    layer,
                    geometry: "LineString",
                });
            }
            _ => {
                return Err(ExportError::NotPoints {
                    layer,
                    geometry: "Polygon",
                });
            }
        };
        // The fields after lon,lat, as text, built once per feature.
        let mut cells: [String; 11] = Default::default();
        fields(record, |name, v| {
            use std::fmt::Write as _;
            let cell = &mut cells[csv_column(name)];
            let _ = match v {
                Field::Id(id) => write!(cell, "{id}"),
                Field::Ms(t) => write!(cell, "{t}"),
                Field::Float(x) if x.is_finite() => write!(cell, "{x}"),
                Field::Float(_) => Ok(()),
                Field::Str(s) => write!(cell, "{s}"),
                Field::Bool(b) => write!(cell, "{b}"),
            };
            Ok(())
        })?;
        let (mut lon, mut lat) = (Vec::new(), Vec::new());
        for p in points {
            lon.clear();
            lat.clear();
            geojson::float(&mut lon, p.x())?;
            geojson::float(&mut lat, p.y())?;
            let head = [layer.name().as_bytes(), &lon, &lat];
            let row = head.into_iter().chain(cells.iter().map(String::as_bytes));
            self.out.write_record(row).map_err(csv_error)?;
            self.written += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> ExportResult<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// The csv crate's errors while writing are I/O errors underneath.
fn csv_error(e: csv::Error) -> ExportError {
    ExportError::Io(e.into())
}
