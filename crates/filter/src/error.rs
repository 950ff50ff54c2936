//! The crate's error type.

use crate::kind::LayerKind;

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong when parsing a filter or compiling it for a layer.
///
/// Reading typed records never fails on unexpected value types: those are counted in a
/// [`TypeReport`](crate::TypeReport) instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A user-facing filter string did not parse; `expected` shows the accepted forms.
    #[error("invalid {what} {input:?}: {reason}; expected {expected}")]
    Parse {
        /// Which filter the string was for, such as `"date range"`.
        what: &'static str,
        /// The string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
        /// The accepted forms, with an example.
        expected: &'static str,
    },
    /// A filter sets a predicate that the layer's features cannot answer, such as a compass
    /// range on `sequence` or a class on `image`.
    #[error(
        "the {predicate} filter does not apply to the {layer} layer (it applies to: {applies_to})"
    )]
    NotApplicable {
        /// The predicate, named as the [`Filter`](crate::Filter) field.
        predicate: &'static str,
        /// The layer it was applied to.
        layer: LayerKind,
        /// The layers it applies to, comma-separated.
        applies_to: String,
    },
    /// A spatial predicate was compiled without the tile's id, which is needed to turn tile
    /// coordinates into longitude and latitude.
    #[error("the {predicate} filter needs the tile id (z/x/y) to place features on the map")]
    NeedsTileId {
        /// The spatial predicate, named as the [`Filter`](crate::Filter) field.
        predicate: &'static str,
    },
    /// The layer's name is not one of the five Mapillary layers.
    #[error("unknown layer {0:?}: expected one of overview, sequence, image, point, traffic_sign")]
    UnknownLayer(String),
    /// A typed reader was made for a layer of another name (an `ImageLayer` on `sequence`).
    #[error("expected the {expected} layer, found a layer named {found:?}")]
    WrongLayer {
        /// The layer the reader reads.
        expected: &'static str,
        /// The name of the layer it was given.
        found: String,
    },
    /// A filter parameter name that [`FilterParams::set`](crate::FilterParams::set) does not
    /// know.
    #[error(
        "unknown filter parameter {0:?}: expected one of since, until, last, pano, org, creator, sequence, compass, bbox, near, radius, looking-at, class, seen-between"
    )]
    UnknownParameter(String),
    /// A filter parameter's value did not parse.
    #[error("{name}: {source}")]
    Parameter {
        /// The parameter, such as `"since"`.
        name: &'static str,
        /// What is wrong with its value.
        source: Box<Error>,
    },
    /// Two filter parameters that cannot be given together, or one given without the other
    /// it needs.
    #[error("{0}")]
    ConflictingParameters(&'static str),
    /// The relative date window reaches outside the dates the filter can represent.
    #[error("the date window {0:?} reaches outside the representable range")]
    DateOutOfRange(String),
    /// The tile could not be read (its tables are malformed).
    #[error(transparent)]
    Mvt(#[from] mlytiles_mvt::Error),
    /// A tile-grid operation failed (for example a layer extent of 0).
    #[error(transparent)]
    Tile(#[from] mlytiles_tile::Error),
}
