//! The filter flags shared by `mlytiles filter` and `mlytiles render`.
//!
//! The names and forms are those of [`mlytiles_filter::FilterParams`], which the tile server
//! reads from query parameters too: each flag's value is parsed by the same `FromStr`, and the
//! flags are combined into a filter by [`FilterParams::to_filter`].

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use mlytiles_filter::{
    Area, ClassPattern, CompassRange, DateRange, Filter, FilterParams, LookingAt, Organizations,
    check_bound, parse_ids,
};
use mlytiles_tile::BBox;

/// Which features pass: every flag given must hold (AND).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Captured at or after this date or datetime (UTC), e.g. `2023-01-01`.
    #[arg(long, value_name = "DATE", conflicts_with = "last", value_parser = parse_bound)]
    pub since: Option<String>,

    /// Captured at or before this date or datetime (UTC; a whole day, month or year is
    /// included), e.g. `2023-12-31`.
    #[arg(long, value_name = "DATE", value_parser = parse_bound)]
    pub until: Option<String>,

    /// Captured within this window before now, e.g. `30months`, `2y`, `6w`, `10d`.
    #[arg(long, value_name = "SPAN", value_parser = parse_bound)]
    pub last: Option<String>,

    /// Panoramas: `only`, `exclude` or `all`.
    #[arg(long, value_enum, value_name = "WHICH")]
    pub pano: Option<Pano>,

    /// Organization ids, comma-separated; `none` for features without one (`none,123`).
    #[arg(long, value_name = "IDS")]
    pub org: Option<Organizations>,

    /// Creator ids, comma-separated.
    #[arg(long, value_name = "IDS", value_parser = parse_id_list)]
    pub creator: Option<Vec<u64>>,

    /// Sequence keys, comma-separated (or repeat the flag).
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub sequence: Vec<String>,

    /// Compass range in degrees, clockwise, wrapping through north: `350..10`.
    #[arg(long, value_name = "FROM..TO")]
    pub compass: Option<CompassRange>,

    /// Only within this box, W,S,E,N in degrees; also restricts the tiles read.
    #[arg(long, value_name = "W,S,E,N", allow_hyphen_values = true)]
    pub bbox: Option<BBox>,

    /// Only within the polygons of this GeoJSON file (Polygon, MultiPolygon, Feature or
    /// FeatureCollection); also restricts the tiles read to the polygons' box.
    #[arg(long, value_name = "FILE.geojson", conflicts_with_all = ["bbox", "near"])]
    pub within: Option<PathBuf>,

    /// Only within --radius of this point, LON,LAT; also restricts the tiles read.
    #[arg(
        long,
        value_name = "LON,LAT",
        requires = "radius",
        conflicts_with = "bbox",
        allow_hyphen_values = true
    )]
    pub near: Option<String>,

    /// The radius for --near, in metres (`200`, `200m`, `1.5km`).
    #[arg(long, value_name = "METRES", requires = "near")]
    pub radius: Option<String>,

    /// Only images looking at this point: LON,LAT or LON,LAT,TOLERANCE_DEGREES.
    #[arg(long, value_name = "LON,LAT", allow_hyphen_values = true)]
    pub looking_at: Option<LookingAt>,

    /// Map feature classes: exact, prefix `regulatory--*` or wildcard (repeat for several).
    #[arg(long, value_name = "PATTERN")]
    pub class: Vec<ClassPattern>,

    /// Map features seen (first..last seen) at some time in this range, e.g. `2022..2024`.
    #[arg(long, value_name = "A..B")]
    pub seen_between: Option<DateRange>,
}

/// `--pano` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Pano {
    /// Panoramas only.
    Only,
    /// No panoramas.
    Exclude,
    /// Every image.
    All,
}

impl From<Pano> for mlytiles_filter::Pano {
    fn from(p: Pano) -> Self {
        match p {
            Pano::Only => mlytiles_filter::Pano::Only,
            Pano::Exclude => mlytiles_filter::Pano::Exclude,
            Pano::All => mlytiles_filter::Pano::All,
        }
    }
}

impl FilterArgs {
    /// The flags as the library's parameters (all but `--within`, a file to read).
    pub fn params(&self) -> FilterParams {
        FilterParams {
            since: self.since.clone(),
            until: self.until.clone(),
            last: self.last.clone(),
            pano: self.pano.map(Into::into),
            org: self.org.clone(),
            creators: self.creator.clone().unwrap_or_default(),
            sequences: self.sequence.clone(),
            compass: self.compass,
            bbox: self.bbox,
            near: self.near.clone(),
            radius: self.radius.clone(),
            looking_at: self.looking_at,
            classes: self.class.clone(),
            seen_between: self.seen_between,
        }
    }

    /// The filter the flags describe; reads the `--within` file.
    pub fn to_filter(&self) -> Result<Filter> {
        let mut filter = self.params().to_filter()?;
        if let Some(path) = &self.within {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--within {}", path.display()))?;
            filter.area = Some(
                Area::from_geojson(&text)
                    .with_context(|| format!("--within {}", path.display()))?,
            );
        }
        Ok(filter)
    }
}

/// Checks a date or span (one bound); keeps the text.
fn parse_bound(s: &str) -> std::result::Result<String, String> {
    check_bound(s).map_err(|e| e.to_string())
}

fn parse_id_list(s: &str) -> std::result::Result<Vec<u64>, String> {
    parse_ids(s).map_err(|e| e.to_string())
}

/// The filter flags given on this command line, each as `--name value`, sorted, leaving out
/// the flags named in `except` (by their long name): a readable record of which filter a
/// run used (a pyramid folder keeps it). Every filter flag takes a value.
pub fn flags_given(argv: &[String], except: &[&str]) -> Vec<String> {
    let command = <FilterArgs as clap::Args>::augment_args(clap::Command::new("filters"));
    let names: Vec<&str> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !except.contains(l))
        .collect();
    let mut out = Vec::new();
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let Some(flag) = arg.strip_prefix("--") else {
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (flag, None),
        };
        if names.contains(&name) {
            let value = inline.or_else(|| args.next().cloned()).unwrap_or_default();
            out.push(format!("--{name} {value}"));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn flags_given_lists_filter_flags_in_either_form_sorted() {
        let got = flags_given(
            &argv(
                "mlytiles render --pyramid --since=2025-01-01 --zooms 0-3 --pano only \
                 --bbox 1,2,3,4 --class a --class b",
            ),
            &["bbox"],
        );
        assert_eq!(
            got,
            [
                "--class a",
                "--class b",
                "--pano only",
                "--since 2025-01-01"
            ]
        );
    }
}
