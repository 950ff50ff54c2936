//! One exporter per layer.

use geo_types::Geometry;

use super::{ExportError, ExportResult, Exporter, layer_list};
use crate::kind::LayerKind;
use crate::records::Record;

/// Sends each layer's features to an exporter of its own, such as one GeoJSON file per layer,
/// so that each output holds one geometry type (GDAL and QGIS read a file as one layer).
///
/// A feature of a layer without an exporter is an error, [`ExportError::UnexpectedLayer`].
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mlytiles_filter::export::{ExportOptions, Exporter, GeoJsonExporter, SplitByLayer};
/// use mlytiles_filter::{Image, LayerKind, Record};
/// use mlytiles_mvt::geo_types::{Geometry, Point};
///
/// let (mut images, mut signs) = (Vec::new(), Vec::new());
/// let options = ExportOptions::default();
/// let mut split = SplitByLayer::new(vec![
///     (LayerKind::Image, Box::new(GeoJsonExporter::lines(&mut images, options)) as Box<dyn Exporter>),
///     (LayerKind::TrafficSign, Box::new(GeoJsonExporter::lines(&mut signs, options))),
/// ]);
/// split.begin()?;
/// let image = Record::Image(Image { id: Some(7), ..Image::default() });
/// split.feature(LayerKind::Image, &image, &Geometry::Point(Point::new(1.0, 2.0)))?;
/// split.finish()?;
/// drop(split);
/// assert!(String::from_utf8(images)?.contains(r#""layer":"image","id":"7""#));
/// assert!(signs.is_empty());
/// # Ok(())
/// # }
/// ```
pub struct SplitByLayer<'a> {
    parts: Vec<(LayerKind, Box<dyn Exporter + 'a>)>,
}

impl<'a> SplitByLayer<'a> {
    /// Each layer with its exporter.
    pub fn new(parts: Vec<(LayerKind, Box<dyn Exporter + 'a>)>) -> Self {
        SplitByLayer { parts }
    }
}

impl std::fmt::Debug for SplitByLayer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<LayerKind> = self.parts.iter().map(|p| p.0).collect();
        f.debug_struct("SplitByLayer")
            .field("layers", &kinds)
            .finish()
    }
}

impl Exporter for SplitByLayer<'_> {
    fn begin(&mut self) -> ExportResult<()> {
        self.parts.iter_mut().try_for_each(|(_, e)| e.begin())
    }

    fn feature(
        &mut self,
        layer: LayerKind,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> ExportResult<()> {
        match self.parts.iter_mut().find(|(k, _)| *k == layer) {
            Some((_, e)) => e.feature(layer, record, geometry),
            None => {
                let kinds: Vec<LayerKind> = self.parts.iter().map(|p| p.0).collect();
                Err(ExportError::UnexpectedLayer {
                    layer,
                    expected: layer_list(&kinds),
                })
            }
        }
    }

    fn finish(&mut self) -> ExportResult<()> {
        self.parts.iter_mut().try_for_each(|(_, e)| e.finish())
    }
}
