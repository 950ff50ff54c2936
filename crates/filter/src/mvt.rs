//! Filtered vector tiles: the features of a tile that match a [`Filter`], as a new tile.
//!
//! One function, [`filter_mvt`] (with options, [`filter_mvt_with`]), serves both the CLI's
//! `filter --format mvt` and the server's filtered tiles. Kept features are copied as they are
//! encoded (protobuf id, tag integers, geometry type and geometry integers), with each layer's
//! key and value tables cut down to the entries the kept features use: no geometry is decoded
//! and no property re-interned, so a filtered tile costs about as much as reading the tile
//! (plus the spatial predicates' geometry, when set).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mlytiles_mvt::{Layer, Severity, Tile, model};
use mlytiles_tile::TileId;
use prost::Message;

use crate::compiled::CompiledFilter;
use crate::export::{Counts, ExportResult};
use crate::filter::Filter;
use crate::kind::LayerKind;
use crate::records::RecordReader;
use crate::report::TypeReport;

/// A layer of the input that is not in a [`FilteredTile`], and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// The layer's name, as in the tile.
    pub layer: String,
    /// Why: not a Mapillary layer, not among the layers asked for, or the filter's error
    /// saying which predicate cannot judge the layer's features.
    pub reason: String,
}

/// The result of [`filter_mvt`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilteredTile {
    /// The encoded tile of the kept features; empty when nothing matched (a tile of no
    /// layers is no bytes).
    pub bytes: Vec<u8>,
    /// The layers not judged, in the tile's order.
    pub left_out: Vec<LeftOut>,
    /// Per Mapillary layer judged: features read, kept (copied) and skipped for a
    /// recoverable decoding error (or, when matched, an unreadable tag or geometry).
    pub counts: BTreeMap<LayerKind, Counts>,
}

/// Options of [`filter_mvt_with`].
#[derive(Debug, Default)]
pub struct MvtOptions<'a> {
    /// Only these layers (others are left out with the reason "not selected"); `None`: every
    /// Mapillary layer the filter can judge.
    pub layers: Option<&'a [LayerKind]>,
    /// When set, every feature read of a judged layer is also read as a typed record and its
    /// values of unexpected type counted here (costs a record read per feature).
    pub report: Option<&'a mut TypeReport>,
}

/// Keeps the features of `bytes` (a plain tile, not gzip) that match `filter`, as
/// [`filter_mvt_with`] with default options: every Mapillary layer the filter can judge.
///
/// `tile` and `now` are as for [`CompiledFilter::for_layer`] (spatial predicates need the tile).
///
/// # Errors
///
/// A tile or layer that cannot be read (a fatal reader error), and the filter's compile
/// errors, such as a spatial predicate without `tile`.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_filter::chrono::Utc;
/// use mlytiles_filter::{Filter, filter_mvt};
/// use mlytiles_mvt::{Tile, TileBuilder, Value, geo_types::{Geometry, Point}};
///
/// let mut builder = TileBuilder::new();
/// let images = builder.layer("image");
/// for (id, pano) in [(1u64, true), (2, false)] {
///     let p = Geometry::Point(Point::new(10, 20));
///     images.add_feature(None, &p, [("id", Value::UInt(id)), ("is_pano", Value::Bool(pano))])?;
/// }
/// builder.layer("roads").add_feature(None, &Geometry::Point(Point::new(1, 1)), [("x", Value::Int(1))])?;
/// let bytes = builder.to_bytes();
///
/// let filter = Filter { image_type: "pano".parse()?, ..Filter::default() };
/// let out = filter_mvt(&bytes, None, &filter, Utc::now())?;
/// let kept = Tile::new(&out.bytes)?;
/// let layer = kept.layer("image")?.expect("the image layer");
/// assert_eq!(layer.features().count(), 1);
/// assert_eq!(out.left_out[0].layer, "roads");
/// # Ok(())
/// # }
/// ```
pub fn filter_mvt(
    bytes: &[u8],
    tile: Option<TileId>,
    filter: &Filter,
    now: DateTime<Utc>,
) -> ExportResult<FilteredTile> {
    filter_mvt_with(bytes, tile, filter, now, MvtOptions::default())
}

/// Keeps the features of `bytes` (a plain tile, not gzip) that match `filter`.
///
/// Layers the filter cannot judge (a predicate that does not apply to them, or not a
/// Mapillary layer) and layers outside [`MvtOptions::layers`] are left out and named in
/// [`FilteredTile::left_out`]. Features with a recoverable decoding error are skipped, and so
/// is a matching feature whose tag points past the layer's tables (spec 4.2) or whose
/// geometry integers cannot be read. Layers with no kept feature are not written; each
/// written layer keeps its name, version and extent.
///
/// # Errors
///
/// As [`filter_mvt`].
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_filter::chrono::Utc;
/// use mlytiles_filter::{Filter, LayerKind, MvtOptions, TypeReport, filter_mvt_with};
/// use mlytiles_mvt::{TileBuilder, Value, geo_types::{Geometry, Point}};
///
/// let mut builder = TileBuilder::new();
/// let p = Geometry::Point(Point::new(10, 20));
/// builder.layer("image").add_feature(None, &p, [("id", Value::String(""))])?;
/// builder.layer("overview").add_feature(None, &p, [("id", Value::UInt(3))])?;
/// let bytes = builder.to_bytes();
///
/// let mut report = TypeReport::new();
/// let options = MvtOptions { layers: Some(&[LayerKind::Image]), report: Some(&mut report) };
/// let out = filter_mvt_with(&bytes, None, &Filter::default(), Utc::now(), options)?;
/// assert_eq!(out.counts[&LayerKind::Image].kept, 1);
/// assert_eq!(out.left_out[0].reason, "not selected");
/// assert!(!report.is_empty()); // the image id "" is not an integer
/// # Ok(())
/// # }
/// ```
pub fn filter_mvt_with(
    bytes: &[u8],
    tile: Option<TileId>,
    filter: &Filter,
    now: DateTime<Utc>,
    mut options: MvtOptions<'_>,
) -> ExportResult<FilteredTile> {
    let parsed = Tile::new(bytes)?;
    let mut out = model::Tile::default();
    let mut result = FilteredTile::default();
    for layer in parsed.layers() {
        let layer = layer?;
        let mut leave_out = |reason: String| {
            result.left_out.push(LeftOut {
                layer: layer.name().to_owned(),
                reason,
            });
        };
        let Some(kind) = LayerKind::from_name(layer.name()) else {
            leave_out("not a Mapillary layer".to_owned());
            continue;
        };
        if options.layers.is_some_and(|l| !l.contains(&kind)) {
            leave_out("not selected".to_owned());
            continue;
        }
        if let Err(e) = filter.check_layer(kind) {
            leave_out(e.to_string());
            continue;
        }
        let compiled = CompiledFilter::for_layer(filter, &layer, tile, now)?;
        let reporting = match options.report.as_deref_mut() {
            Some(report) => Some((RecordReader::new(&layer)?, report)),
            None => None,
        };
        let counts = result.counts.entry(kind).or_default();
        if let Some(kept) = subset(&layer, &compiled, counts, reporting)? {
            out.layers.push(kept);
        }
    }
    if !out.layers.is_empty() {
        result.bytes = out.encode_to_vec();
    }
    Ok(result)
}

/// The layer's features that pass `compiled`, with the tables they use; `None` if none does.
fn subset<'a>(
    layer: &Layer<'a>,
    compiled: &CompiledFilter,
    counts: &mut Counts,
    mut reporting: Option<(RecordReader<'_, 'a>, &mut TypeReport)>,
) -> mlytiles_mvt::Result<Option<model::Layer>> {
    let keys = layer.keys()?;
    let values = layer.values()?;
    // Old index -> new index (u32::MAX: not used yet).
    let mut key_map = vec![u32::MAX; keys.len()];
    let mut value_map = vec![u32::MAX; values.len()];
    let mut out = model::Layer {
        version: layer.version(),
        name: layer.name().to_owned(),
        features: Vec::new(),
        keys: Vec::new(),
        values: Vec::new(),
        extent: Some(layer.extent()),
    };
    'features: for feature in layer.features() {
        let feature = match feature {
            Ok(f) => f,
            Err(e) if e.severity() == Severity::Recoverable => {
                counts.skipped += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        counts.read += 1;
        if let Some((reader, report)) = reporting.as_mut() {
            reader.read_reporting(&feature, report);
        }
        if !compiled.matches(&feature) {
            continue;
        }
        let mut tags = Vec::with_capacity(feature.property_count() * 2);
        for (k, v) in feature.tags() {
            // A tag past the tables (spec 4.2) leaves the feature out, as the reader would.
            let (Some(km), Some(vm)) = (key_map.get_mut(k as usize), value_map.get_mut(v as usize))
            else {
                counts.skipped += 1;
                continue 'features;
            };
            if *km == u32::MAX {
                *km = out.keys.len() as u32;
                out.keys.push(keys[k as usize].to_owned());
            }
            if *vm == u32::MAX {
                *vm = out.values.len() as u32;
                out.values.push(model::Value::from(values[v as usize]));
            }
            tags.push(*km);
            tags.push(*vm);
        }
        let Ok(geometry) = feature
            .geometry_ints()
            .collect::<mlytiles_mvt::Result<Vec<u32>>>()
        else {
            counts.skipped += 1;
            continue;
        };
        counts.kept += 1;
        out.features.push(model::Feature {
            id: feature.id(),
            tags,
            r#type: Some(model::GeomType::from(feature.geom_type()) as i32),
            geometry,
        });
    }
    Ok((!out.features.is_empty()).then_some(out))
}
