//! The crate's error type.

/// Everything that can go wrong in this crate.
///
/// Each message names the offending value, e.g. `zoom 31 is above the maximum 30`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A zoom level is above [`MAX_ZOOM`](crate::MAX_ZOOM).
    #[error("zoom {zoom} is above the maximum 30")]
    ZoomTooHigh {
        /// The rejected zoom.
        zoom: u64,
    },
    /// A tile column or row is outside `0..2^zoom`.
    #[error("{axis} {value} is outside 0..{} at zoom {zoom}", 1u64 << .zoom)]
    TileOutOfRange {
        /// `'x'` or `'y'`.
        axis: char,
        /// The rejected column or row.
        value: u64,
        /// The (valid) zoom of the tile.
        zoom: u8,
    },
    /// A coordinate is NaN or infinite.
    #[error("{name} {value} is not a finite number")]
    NotFinite {
        /// What the value is: `longitude`, `latitude`, `west`, `south`, `east` or `north`.
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A bounding box coordinate is outside the valid range of degrees.
    #[error("{name} {value} is outside {min}..={max}")]
    OutOfRange {
        /// `west`, `south`, `east` or `north`.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// A bounding box has its south edge north of its north edge.
    #[error("south {south} is greater than north {north}")]
    SouthAboveNorth {
        /// The south edge.
        south: f64,
        /// The north edge.
        north: f64,
    },
    /// A tile extent of zero was given.
    #[error("tile extent 0 must be greater than zero")]
    ZeroExtent,
    /// A string is not a tile id `z/x/y`.
    #[error("cannot parse tile id {input:?}: {reason}")]
    ParseTileId {
        /// The rejected text.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A string is not a quadkey.
    #[error("cannot parse quadkey {input:?}: {reason}")]
    ParseQuadkey {
        /// The rejected text.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A string is not a bounding box `W,S,E,N`.
    #[error("cannot parse bbox {input:?}: {reason}")]
    ParseBBox {
        /// The rejected text.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An area holds more tiles than a caller accepts.
    #[error("the area holds {count} tiles at zoom {zoom}, more than {limit}: split it up")]
    TooManyTiles {
        /// The tiles of the area.
        count: u64,
        /// The zoom they were counted at.
        zoom: u8,
        /// The largest count accepted.
        limit: u64,
    },
    /// A polygon area without a bounding box (no coordinates).
    #[error("the area is empty")]
    EmptyArea,
    /// A line of a tile list is not a tile id.
    #[error("line {line}: {text:?} is not a tile: expected z/x/y such as 14/8185/5447")]
    TileListLine {
        /// The line, 1-based.
        line: usize,
        /// The line without its comment and surrounding space.
        text: String,
        /// Why it is not a tile id.
        #[source]
        source: Box<Error>,
    },
    /// A tile list holds no tile id.
    #[error("no tiles listed")]
    EmptyTileList,
    /// A string is not a span of time such as `7d`.
    #[error("cannot parse span {input:?}: {reason}")]
    ParseSpan {
        /// The rejected text.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
