//! GeoJSON and GeoJSON lines.

use std::io::{self, Write};

use geo_types::Geometry;

use super::fields::{Field, fields, iso};
use super::{ExportOptions, ExportResult, Exporter, IdFormat, SequenceMerger};
use crate::geojson;
use crate::kind::LayerKind;
use crate::records::Record;

fn json_field<W: Write>(w: &mut W, v: Field<'_>, ids: IdFormat) -> io::Result<()> {
    match v {
        Field::Id(id) => match ids {
            IdFormat::String => write!(w, "\"{id}\""),
            IdFormat::Number => write!(w, "{id}"),
        },
        Field::Ms(t) => write!(w, "{t}"),
        Field::Iso(t) => geojson::string(w, &iso(t).unwrap_or_default()),
        Field::Float(x) => geojson::float(w, x),
        Field::Str(s) => geojson::string(w, s),
        Field::Bool(b) => write!(w, "{b}"),
    }
}

/// One GeoJSON Feature: the layer's name, then the record's known fields, as properties.
fn json_feature<W: Write>(
    w: &mut W,
    layer: LayerKind,
    record: &Record<'_>,
    geometry: &Geometry<f64>,
    ids: IdFormat,
) -> io::Result<()> {
    write!(
        w,
        "{{\"type\":\"Feature\",\"properties\":{{\"layer\":\"{layer}\""
    )?;
    fields(record, |name, v| {
        write!(w, ",\"{name}\":")?;
        json_field(w, v, ids)
    })?;
    w.write_all(b"},\"geometry\":")?;
    geojson::geometry(w, geometry, &mut geojson::position)?;
    w.write_all(b"}")
}

// ---------------------------------------------------------------------------------------
// GeoJSON

/// Writes GeoJSON: one FeatureCollection (one feature per line inside it), or GeoJSON lines
/// (one Feature per line, nothing else).
///
/// Each Feature's `properties` are its layer's name (`"layer":"image"`) and the record's known
/// fields (unknown ones, and times of 0, are left out), each time in ms and as ISO 8601 text.
/// Layers of different geometry types share the collection; to give each layer a file of its
/// own, put one exporter per layer in a [`SplitByLayer`](super::SplitByLayer).
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
