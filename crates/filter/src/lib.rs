#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod compiled;
pub mod detection;
mod error;
pub mod export;
mod filter;
pub mod geojson;
mod kind;
mod mvt;
mod params;
mod records;
mod report;

pub use chrono;
pub use compiled::CompiledFilter;
pub use error::{Error, Result};
pub use filter::{
    Area, ClassPattern, CompassRange, DateRange, Filter, ImageType, LookingAt, Organizations,
    Predicate, TimeBound, TimeUnit, parse_ids,
};
pub use geo;
pub use kind::{Key, LayerKind};
pub use mvt::{FilteredTile, LeftOut, MvtOptions, filter_mvt, filter_mvt_with};
pub use params::{FilterParams, PARAMETER_NAMES, Pano, check_bound};
pub use records::{
    Image, ImageLayer, MapFeature, MapFeatureLayer, Overview, OverviewLayer, Record, RecordReader,
    Sequence, SequenceLayer, normalize_angle,
};
pub use report::{Found, Mismatch, TypeReport};
