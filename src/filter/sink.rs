//! The exporter a text run writes through, and the files it writes: one output, one output per
//! layer (`--split-layers`), or a GeoPackage built at the staged path of its output.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mlytiles_filter::LayerKind;
use mlytiles_filter::export::{
    CsvExporter, ExportOptions, Exporter, GeoJsonExporter, GpkgExporter, SplitByLayer,
};

use super::args::{Args, Format};
use super::output::Output;

/// The outputs of a run, each with the layer it holds alone (`--split-layers`).
pub(super) type Outputs = Vec<(Option<LayerKind>, Output)>;

/// The exporter of a run in a text format or GeoPackage, and the outputs to commit once it
/// has finished (and been dropped).
pub(super) fn exporter(
    args: &Args,
    kinds: &[LayerKind],
    options: ExportOptions,
) -> Result<(Box<dyn Exporter>, Outputs)> {
    if args.format == Format::Gpkg {
        let Some(path) = args.output.as_deref() else {
            bail!("--format gpkg writes a file: give -o FILE.gpkg");
        };
        let output = Output::new(Some(path))?;
        let Some(staged) = output.staged_path() else {
            bail!(
                "{}: a GeoPackage is written to a file, not to a device or pipe",
                path.display()
            );
        };
        let gpkg = GpkgExporter::create(staged, options).context(output.name.clone())?;
        return Ok((Box::new(gpkg), vec![(None, output)]));
    }
    if args.split_layers {
        let Some(path) = args.output.as_deref() else {
            bail!(
                "--split-layers writes one file per layer: give -o FILE (out.geojson gives \
                 out.image.geojson, out.sequence.geojson, ...)"
            );
        };
        let mut parts = Vec::new();
        let mut outputs = Vec::new();
        for &kind in kinds {
            let output = Output::new(Some(&layer_path(path, kind)))?;
            parts.push((kind, one(args.format, output.writer()?, &[kind], options)));
            outputs.push((Some(kind), output));
        }
        return Ok((Box::new(SplitByLayer::new(parts)), outputs));
    }
    let output = Output::new(args.output.as_deref())?;
    let exporter = one(args.format, output.writer()?, kinds, options);
    Ok((exporter, vec![(None, output)]))
}

/// The exporter of one text output.
fn one(
    format: Format,
    out: Box<dyn Write>,
    kinds: &[LayerKind],
    options: ExportOptions,
) -> Box<dyn Exporter> {
    match format {
        Format::Ndjson => Box::new(GeoJsonExporter::lines(out, options)),
        Format::Csv => Box::new(CsvExporter::new(out, kinds)),
        _ => Box::new(GeoJsonExporter::collection(out, options)),
    }
}

/// The file of one layer for `--split-layers`: the layer's name before the extension
/// (`out.geojson` -> `out.image.geojson`), or after the name when it has none.
pub(super) fn layer_path(path: &Path, kind: LayerKind) -> PathBuf {
    match (path.file_stem(), path.extension()) {
        (Some(stem), Some(ext)) => {
            let mut name = stem.to_os_string();
            name.push(format!(".{kind}."));
            name.push(ext);
            path.with_file_name(name)
        }
        _ => {
            let mut name = path.as_os_str().to_os_string();
            name.push(format!(".{kind}"));
            PathBuf::from(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_paths_put_the_layer_before_the_extension() {
        let p = |s: &str, k| layer_path(Path::new(s), k).display().to_string();
        assert_eq!(p("out.geojson", LayerKind::Image), "out.image.geojson");
        assert_eq!(
            p("dir/a.b.csv", LayerKind::TrafficSign),
            "dir/a.b.traffic_sign.csv"
        );
        assert_eq!(p("out", LayerKind::Sequence), "out.sequence");
    }
}
