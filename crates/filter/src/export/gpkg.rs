//! GeoPackage (OGC 12-128r18, version 1.3): an SQLite file with one feature table per layer.

use std::io;
use std::path::Path;

use geo::BoundingRect;
use geo_types::{Geometry, LineString, MultiLineString, Point};
use geozero::{CoordDimensions, ToWkb};
use rusqlite::types::Value;
use rusqlite::{Connection, params};

use super::fields::{ColumnType, Field, columns, fields, iso};
use super::{ExportError, ExportOptions, ExportResult, Exporter, SequenceMerger};
use crate::kind::LayerKind;
use crate::records::Record;

/// EPSG:4326, longitude and latitude on WGS 84: the only spatial reference the export uses.
const SRS_ID: i32 = 4326;

/// EPSG:4326 as OGC WKT (the form GeoPackage 1.3's `definition` column takes).
const WGS84_WKT: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#;

/// `PRAGMA application_id`: "GPKG" in ASCII (spec 1.1.1.1.1).
const APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version`: GeoPackage 1.3.0.
const USER_VERSION: i32 = 10300;

/// The tables every GeoPackage has (spec 1.1.2, 1.1.3, 2.1.5, 2.5): spatial references with
/// the three required rows, contents, geometry columns and extensions.
const CORE_TABLES: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
    srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
    organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
    table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
    description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
    table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
    srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
    CONSTRAINT uk_gc_table_name UNIQUE (table_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
    table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
    scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
INSERT INTO gpkg_spatial_ref_sys VALUES
    ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
    ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
";

/// One feature table, created at the layer's first feature.
#[derive(Debug)]
struct Table {
    kind: LayerKind,
    insert: String,
    insert_rtree: String,
    /// min x, min y, max x, max y of every feature written.
    extent: Option<[f64; 4]>,
}

/// Writes a GeoPackage: one feature table per layer that has features (`image`, `sequence`,
/// `point`, `traffic_sign`, `overview`), in EPSG:4326, each with an R-tree spatial index.
///
/// - Geometries are GeoPackage binary blobs (the `GP` header with the envelope, then WKB
///   written by geozero). Point layers are `POINT` tables (a MultiPoint feature gives one row
///   per point, as in CSV); `sequence` is a `LINESTRING` table when every merged sequence is
///   one line, else `MULTILINESTRING` (single lines are then written as one-line
///   MultiLineStrings); with merging off it is `MULTILINESTRING`.
/// - Ids are `INTEGER` columns: SQLite integers are 64-bit, so every id up to `i64::MAX` is
///   stored exactly (GDAL reads them as Integer64); a larger one is
///   [`ExportError::IdTooLarge`]. Sequence keys are `TEXT`.
/// - Each time is two columns: `captured_at` (`INTEGER`, UTC ms) and `captured_at_iso`
///   (`DATETIME`, ISO 8601 UTC text such as `2021-06-12T10:22:03.123Z`); unknown values are
///   NULL.
/// - The R-tree (`rtree_<table>_geom`, extension `gpkg_rtree_index`) is filled as features
///   are written; the triggers that keep it current under later edits are not created, so
///   programs that edit the file should rebuild the index (GDAL does so on `ogr2ogr -update`).
///
/// The file is written in one transaction, committed by [`finish`](Exporter::finish). Make it
/// at a temporary path and rename it into place once finished, for an atomic result.
#[derive(Debug)]
pub struct GpkgExporter {
    conn: Connection,
    merger: Option<SequenceMerger>,
    tables: Vec<Table>,
    written: u64,
}

impl GpkgExporter {
    /// Starts a GeoPackage at `path`, which must not exist or be an empty file (such as a
    /// fresh temporary file): an export never adds to an existing database.
    ///
    /// # Errors
    ///
    /// [`ExportError::Io`] for a non-empty file at `path`; SQLite's errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mlytiles_filter::export::{ExportOptions, Exporter, GpkgExporter};
    /// use mlytiles_filter::{Image, LayerKind, Record};
    /// use mlytiles_mvt::geo_types::{Geometry, Point};
    ///
    /// let dir = std::env::temp_dir().join(format!("mlytiles-gpkg-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("images.gpkg");
    /// # let _ = std::fs::remove_file(&path);
    /// let mut gpkg = GpkgExporter::create(&path, ExportOptions::default())?;
    /// gpkg.begin()?;
    /// let image = Record::Image(Image { id: Some(9_007_199_254_740_993), ..Image::default() });
    /// gpkg.feature(LayerKind::Image, &image, &Geometry::Point(Point::new(13.4, 52.5)))?;
    /// gpkg.finish()?;
    /// assert_eq!(gpkg.written(), 1);
    /// # drop(gpkg);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(path: &Path, options: ExportOptions) -> ExportResult<Self> {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            return Err(ExportError::Io(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not empty; a GeoPackage export writes a new file",
                    path.display()
                ),
            )));
        }
        let conn = Connection::open(path)?;
        // The whole file is one transaction at a temporary path: a failed run leaves a file
        // that is thrown away, so the rollback journal can stay in memory.
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        conn.pragma_update(None, "user_version", USER_VERSION)?;
        conn.query_row("PRAGMA journal_mode = MEMORY", [], |_| Ok(()))?;
        conn.execute_batch("BEGIN")?;
        conn.execute_batch(CORE_TABLES)?;
        conn.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', ?1, 'EPSG', ?1, ?2, \
             'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
            params![SRS_ID, WGS84_WKT],
        )?;
        Ok(GpkgExporter {
            conn,
            merger: options
                .merge_sequences
                .then(|| SequenceMerger::new(options.join_epsilon)),
            tables: Vec::new(),
            written: 0,
        })
    }

    /// The number of rows written so far (merged sequences count once each).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The index in `tables` of `kind`'s table, made if it is not there yet.
    fn table(&mut self, kind: LayerKind, geometry_type: &'static str) -> ExportResult<usize> {
        if let Some(i) = self.tables.iter().position(|t| t.kind == kind) {
            return Ok(i);
        }
        let name = kind.name();
        let cols = columns(kind);
        let defs: Vec<String> = cols
            .iter()
            .map(|(c, ty)| {
                let sql = match ty {
                    ColumnType::Id | ColumnType::Ms => "INTEGER",
                    ColumnType::Iso => "DATETIME",
                    ColumnType::Float => "DOUBLE",
                    ColumnType::Text => "TEXT",
                    ColumnType::Bool => "BOOLEAN",
                };
                format!("\"{c}\" {sql}")
            })
            .collect();
        // Table and column names are the layers' and records' own, plain identifiers.
        self.conn.execute_batch(&format!(
            "CREATE TABLE \"{name}\" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, \
             geom {geometry_type}, {});
             CREATE VIRTUAL TABLE \"rtree_{name}_geom\" USING rtree(id, minx, maxx, miny, maxy);",
            defs.join(", ")
        ))?;
        self.conn.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) \
             VALUES (?1, 'features', ?1, ?2, ?3)",
            params![
                name,
                format!("Mapillary {name} features, exported by mlytiles"),
                SRS_ID
            ],
        )?;
        self.conn.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
            params![name, geometry_type, SRS_ID],
        )?;
        self.conn.execute(
            "INSERT INTO gpkg_extensions VALUES (?1, 'geom', 'gpkg_rtree_index', \
             'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
            params![name],
        )?;
        let names: Vec<String> = cols.iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let marks = vec!["?"; cols.len() + 1].join(", ");
        self.tables.push(Table {
            kind,
            insert: format!(
                "INSERT INTO \"{name}\" (geom, {}) VALUES ({marks})",
                names.join(", ")
            ),
            insert_rtree: format!("INSERT INTO \"rtree_{name}_geom\" VALUES (?, ?, ?, ?, ?)"),
            extent: None,
        });
        Ok(self.tables.len() - 1)
    }

    /// Writes one row of `kind`'s table (made with `geometry_type` if new).
    fn row(
        &mut self,
        kind: LayerKind,
        geometry_type: &'static str,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> ExportResult<()> {
        let cols = columns(kind);
        let mut values = vec![Value::Null; cols.len()];
        fields::<ExportError>(record, |name, v| {
            let Some(i) = cols.iter().position(|(c, _)| *c == name) else {
                return Ok(());
            };
            values[i] = match v {
                Field::Id(id) => {
                    Value::Integer(i64::try_from(id).map_err(|_| ExportError::IdTooLarge {
                        layer: kind,
                        column: name,
                        id,
                    })?)
                }
                Field::Ms(t) => Value::Integer(t),
                Field::Iso(t) => iso(t).map_or(Value::Null, Value::Text),
                Field::Float(x) if x.is_finite() => Value::Real(x),
                Field::Float(_) => Value::Null,
                Field::Str(s) => Value::Text(s.to_owned()),
                Field::Bool(b) => Value::Integer(i64::from(b)),
            };
            Ok(())
        })?;
        let i = self.table(kind, geometry_type)?;
        let rect = geometry.bounding_rect();
        let envelope = rect.map_or_else(Vec::new, |r| {
            vec![r.min().x, r.max().x, r.min().y, r.max().y]
        });
        let blob = geometry.to_gpkg_wkb(CoordDimensions::xy(), Some(SRS_ID), envelope)?;
        let table = &mut self.tables[i];
        let mut insert = self.conn.prepare_cached(&table.insert)?;
        insert.execute(rusqlite::params_from_iter(
            std::iter::once(Value::Blob(blob)).chain(values),
        ))?;
        let fid = self.conn.last_insert_rowid();
        if let Some(r) = rect {
            let (min, max) = (r.min(), r.max());
            self.conn
                .prepare_cached(&table.insert_rtree)?
                .execute(params![fid, min.x, max.x, min.y, max.y])?;
            table.extent = Some(match table.extent {
                None => [min.x, min.y, max.x, max.y],
                Some(e) => [
                    e[0].min(min.x),
                    e[1].min(min.y),
                    e[2].max(max.x),
                    e[3].max(max.y),
                ],
            });
        }
        self.written += 1;
        Ok(())
    }
}

/// The feature's geometry type, for errors.
fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        _ => "Polygon",
    }
}

/// `g` as a MultiLineString, when it is a line.
fn multi_line(g: &Geometry<f64>) -> Option<MultiLineString<f64>> {
    match g {
        Geometry::LineString(l) => Some(MultiLineString(vec![l.clone()])),
        Geometry::Line(l) => Some(MultiLineString(vec![LineString::from(*l)])),
        Geometry::MultiLineString(m) => Some(m.clone()),
        _ => None,
    }
}

impl Exporter for GpkgExporter {
    fn begin(&mut self) -> ExportResult<()> {
        Ok(())
    }

    fn feature(
        &mut self,
        layer: LayerKind,
        record: &Record<'_>,
        geometry: &Geometry<f64>,
    ) -> ExportResult<()> {
        let wrong = || ExportError::WrongGeometry {
            layer,
            found: type_name(geometry),
        };
        if layer == LayerKind::Sequence {
            if let (Some(merger), Record::Sequence(seq)) = (&mut self.merger, record)
                && merger.add(seq, geometry)
            {
                return Ok(());
            }
            let lines = multi_line(geometry).ok_or_else(wrong)?;
            return self.row(
                layer,
                "MULTILINESTRING",
                record,
                &Geometry::MultiLineString(lines),
            );
        }
        match geometry {
            Geometry::Point(_) => self.row(layer, "POINT", record, geometry),
            Geometry::MultiPoint(m) => m
                .iter()
                .try_for_each(|p: &Point<f64>| self.row(layer, "POINT", record, &(*p).into())),
            _ => Err(wrong()),
        }
    }

    fn finish(&mut self) -> ExportResult<()> {
        if let Some(merger) = self.merger.take() {
            let merged: Vec<_> = merger.finish().collect();
            let all_single = merged
                .iter()
                .all(|(_, g)| matches!(g, Geometry::LineString(_)));
            for (seq, geometry) in &merged {
                let record = Record::Sequence(seq.record());
                if all_single {
                    self.row(LayerKind::Sequence, "LINESTRING", &record, geometry)?;
                } else {
                    let lines = multi_line(geometry).expect("the merger makes lines");
                    let g = Geometry::MultiLineString(lines);
                    self.row(LayerKind::Sequence, "MULTILINESTRING", &record, &g)?;
                }
            }
        }
        for table in &self.tables {
            if let Some([min_x, min_y, max_x, max_y]) = table.extent {
                self.conn.execute(
                    "UPDATE gpkg_contents SET min_x = ?2, min_y = ?3, max_x = ?4, max_y = ?5 \
                     WHERE table_name = ?1",
                    params![table.kind.name(), min_x, min_y, max_x, max_y],
                )?;
            }
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}
