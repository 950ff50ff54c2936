//! CSV, one row per point.

use std::io::Write;

use geo_types::Geometry;

use super::fields::{CSV_ORDER, Field, columns, fields, iso};
use super::{ExportError, ExportResult, Exporter, layer_list};
use crate::geojson;
use crate::kind::LayerKind;
use crate::records::Record;

/// The CSV header for features of `kinds`: `layer,lon,lat`, then the columns of those layers
/// (each of their fields, a time as ms then `_iso` text), in one fixed order.
///
/// ```
/// use mlytiles_filter::LayerKind;
/// use mlytiles_filter::export::csv_header;
/// assert_eq!(
///     csv_header(&[LayerKind::TrafficSign]).join(","),
///     "layer,lon,lat,id,value,first_seen_at,first_seen_at_iso,last_seen_at,last_seen_at_iso",
/// );
/// ```
pub fn csv_header(kinds: &[LayerKind]) -> Vec<&'static str> {
    let used = |name: &&str| {
        kinds
            .iter()
            .any(|&k| columns(k).iter().any(|(c, _)| c == name))
    };
    ["layer", "lon", "lat"]
        .into_iter()
        .chain(CSV_ORDER.into_iter().filter(used))
        .collect()
}

/// Writes CSV (RFC 4180): a header ([`csv_header`] of the layers it is made for), then one row
/// per point.
///
/// CSV holds points only: a MultiPoint feature gives one row per point, and a line or polygon
/// feature (the `sequence` layer) is an error, [`ExportError::NotPoints`], rather than a row
/// with an arbitrary vertex. A feature of another layer is an error,
/// [`ExportError::UnexpectedLayer`]. Unknown fields are empty cells; ids are written digit for
/// digit; times in ms and as ISO 8601 UTC text.
#[derive(Debug)]
pub struct CsvExporter<W: Write> {
    out: csv::Writer<W>,
    kinds: Vec<LayerKind>,
    header: Vec<&'static str>,
    written: u64,
}

impl<W: Write> CsvExporter<W> {
    /// A CSV writer for features of `kinds`.
    pub fn new(out: W, kinds: &[LayerKind]) -> Self {
        CsvExporter {
            out: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out),
            kinds: kinds.to_vec(),
            header: csv_header(kinds),
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

impl<W: Write> Exporter for CsvExporter<W> {
    fn begin(&mut self) -> ExportResult<()> {
        self.out.write_record(&self.header).map_err(csv_error)?;
        Ok(())
    }

    fn feature(
        &mut self,
        layer: LayerKind,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> ExportResult<()> {
        if !self.kinds.contains(&layer) {
            return Err(ExportError::UnexpectedLayer {
                layer,
                expected: layer_list(&self.kinds),
            });
        }
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
        let mut cells = vec![String::new(); self.header.len() - 3];
        fields::<ExportError>(record, |name, v| {
            let Some(i) = self.header[3..].iter().position(|h| *h == name) else {
                return Ok(());
            };
            cells[i] = match v {
                Field::Id(id) => id.to_string(),
                Field::Ms(t) => t.to_string(),
                Field::Iso(t) => iso(t).unwrap_or_default(),
                Field::Float(x) if x.is_finite() => x.to_string(),
                Field::Float(_) => String::new(),
                Field::Str(s) => s.to_owned(),
                Field::Bool(b) => b.to_string(),
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
