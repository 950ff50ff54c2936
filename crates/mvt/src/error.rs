//! Errors of the reader: what was wrong, where, which rule of the spec, and how bad.

use std::fmt;

use crate::pbf::WireError;

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// How far an error reaches, following mvt-fixtures' taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Only the feature the error is in is lost; iteration goes on with the next one.
    Recoverable,
    /// The layer (or, for a tile-level error, the tile) cannot be trusted; iterators end after
    /// yielding it.
    Fatal,
}

/// An error found while reading a tile: the problem ([`ErrorKind`]) and where it was found.
///
/// `Display` reads like `layer 1 "roads", feature 17: MoveTo count 0 in a LineString (spec
/// 4.3.4.3)`. The error is boxed so `Result<Feature>` stays small.
#[derive(Clone, PartialEq)]
pub struct Error(Box<Inner>);

#[derive(Clone, PartialEq)]
struct Inner {
    kind: ErrorKind,
    layer: Option<(usize, Option<String>)>,
    feature: Option<usize>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error(Box::new(Inner {
            kind,
            layer: None,
            feature: None,
        }))
    }

    pub(crate) fn in_layer(mut self, index: usize, name: Option<&str>) -> Self {
        self.0.layer = Some((index, name.map(str::to_owned)));
        self
    }

    pub(crate) fn in_feature(mut self, index: usize) -> Self {
        self.0.feature = Some(index);
        self
    }

    /// What was wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The position of the layer among the tile's layers (0-based), when the error is in one.
    pub fn layer_index(&self) -> Option<usize> {
        self.0.layer.as_ref().map(|(i, _)| *i)
    }

    /// The name of the layer, when the error is in one that has a readable name.
    pub fn layer_name(&self) -> Option<&str> {
        self.0.layer.as_ref().and_then(|(_, n)| n.as_deref())
    }

    /// The position of the feature in its layer (0-based), when the error is in one.
    pub fn feature_index(&self) -> Option<usize> {
        self.0.feature
    }

    /// Whether the error loses only its feature or the whole layer or tile.
    pub fn severity(&self) -> Severity {
        self.0.kind.severity()
    }

    /// Shorthand for `severity() == Severity::Fatal`.
    pub fn is_fatal(&self) -> bool {
        self.severity() == Severity::Fatal
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.layer {
            Some((i, Some(name))) => write!(f, "layer {i} {name:?}")?,
            Some((i, None)) => write!(f, "layer {i}")?,
            // Problems with the bytes as a whole say so themselves.
            None if matches!(self.0.kind, ErrorKind::Gzipped | ErrorKind::Decompress(_)) => {
                return write!(f, "{}", self.0.kind);
            }
            None if self.0.feature.is_none() => f.write_str("tile")?,
            None => {}
        }
        if let Some(feature) = self.0.feature {
            if self.0.layer.is_some() {
                f.write_str(", ")?;
            }
            write!(f, "feature {feature}")?;
        }
        write!(f, ": {}", self.0.kind)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({self})")
    }
}

impl std::error::Error for Error {}

/// The problems the reader can find, each with the spec rule it breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes start with the gzip magic number: decompress them first
    /// ([`decompress`](crate::decompress)).
    #[error(
        "the bytes are gzip-compressed (they start with 1f 8b); decompress them first, for example with mlytiles_mvt::decompress"
    )]
    Gzipped,
    /// Decompressing gzip failed, or the output went over the caller's size limit.
    #[error("{0}")]
    Decompress(String),
    /// The protobuf encoding is broken: truncated, an overlong varint, a bad wire type.
    #[error("malformed protobuf in the {message} message: {problem}")]
    Protobuf {
        /// Which message was being read: `Tile`, `Layer`, `Feature` or `Value`.
        message: &'static str,
        /// What is wrong, with the byte offset inside that message.
        problem: String,
    },
    /// A known field arrived with a different wire type than vector_tile.proto gives it.
    #[error("{message}.{field} has wire type {found}, expected {expected} (vector_tile.proto 2.1)")]
    WireType {
        /// The message.
        message: &'static str,
        /// The field name.
        field: &'static str,
        /// The wire type vector_tile.proto declares.
        expected: &'static str,
        /// The wire type found.
        found: &'static str,
    },
    /// A layer without a `name` (spec 4.1: "A layer MUST contain a name field").
    #[error("the layer has no name (spec 4.1)")]
    MissingLayerName,
    /// A second layer with a name already used (spec 4.1). The later layer is skipped.
    #[error("a layer named {0:?} came earlier in the tile; this one is skipped (spec 4.1)")]
    DuplicateLayerName(String),
    /// A layer version other than 1 or 2 (spec 4.1): version 0 always, versions above 2 under
    /// [`VersionPolicy::Strict`](crate::VersionPolicy) only.
    #[error("layer version {0} is not supported: only versions 1 and 2 exist (spec 4.1)")]
    UnsupportedVersion(u64),
    /// An extent of 0 or above 2^31 (spec 4.1, 4.3.1: coordinates are relative to the extent).
    #[error("layer extent {0} is out of range 1..=2147483647 (spec 4.1)")]
    BadExtent(u64),
    /// A string (layer name, key or string value) that is not UTF-8 (spec 4.1, 4.2).
    #[error("{what} is not valid UTF-8 (spec 4.1)")]
    InvalidUtf8 {
        /// Which string: `name`, `key 3`, `value 12`.
        what: String,
    },
    /// A `Value` message without exactly one of its seven fields (spec 4.1).
    #[error("value {index} {problem} (spec 4.1: exactly one of the seven value fields)")]
    BadValue {
        /// The value's position in the layer's value table.
        index: usize,
        /// What is wrong: no field, two fields, or an unknown field.
        problem: String,
    },
    /// A feature without a `geometry` field (spec 4.2).
    #[error("the feature has no geometry field (spec 4.2)")]
    MissingGeometry,
    /// A feature with two `geometry` (or two `tags`) fields (spec 4.2).
    #[error("the feature has more than one {0} field (spec 4.2)")]
    RepeatedField(&'static str),
    /// An odd number of tag integers (spec 4.2: tags come in key/value pairs).
    #[error("the feature has {0} tag integers; tags come in pairs (spec 4.2)")]
    OddTagCount(usize),
    /// A geometry type outside UNKNOWN, POINT, LINESTRING, POLYGON (spec 4.3.4).
    #[error("geometry type {0} is not one of 0..=3 (spec 4.3.4)")]
    UnknownGeomType(u64),
    /// A tag whose key index is past the layer's key table (spec 4.2).
    #[error("tag key index {index} is outside the layer's {len} keys (spec 4.2)")]
    KeyIndexOutOfRange {
        /// The index in the feature's tags.
        index: u64,
        /// The number of keys in the layer.
        len: usize,
    },
    /// A tag whose value index is past the layer's value table (spec 4.2).
    #[error("tag value index {index} is outside the layer's {len} values (spec 4.2)")]
    ValueIndexOutOfRange {
        /// The index in the feature's tags.
        index: u64,
        /// The number of values in the layer.
        len: usize,
    },
    /// A geometry integer that does not fit in 32 bits (spec 4.3: uint32 command and parameter
    /// integers).
    #[error("geometry integer {0} does not fit in 32 bits (spec 4.3)")]
    GeometryIntegerOverflow(u64),
    /// A command id other than MoveTo (1), LineTo (2) and ClosePath (7) (spec 4.3.3).
    #[error("command id {0} is not MoveTo (1), LineTo (2) or ClosePath (7) (spec 4.3.3)")]
    UnknownCommand(u32),
    /// A command whose count asks for more parameters than the geometry has left (spec 4.3.2).
    #[error(
        "{command} count {count} needs {needed} parameter integers but only {left} remain (spec 4.3.2)"
    )]
    CommandCountTooLarge {
        /// `MoveTo` or `LineTo`.
        command: &'static str,
        /// The command count.
        count: u32,
        /// Parameter integers the count needs (2 per point).
        needed: u64,
        /// Integers (at most, counting bytes) left in the geometry.
        left: usize,
    },
    /// A command count the geometry type does not allow: MoveTo 0, LineTo 0, ClosePath other
    /// than 1, MoveTo above 1 in lines and polygons.
    #[error("{command} count {count} in a {geom_type} (spec {rule})")]
    BadCommandCount {
        /// The command.
        command: &'static str,
        /// The count found.
        count: u32,
        /// The feature's geometry type.
        geom_type: &'static str,
        /// The spec section.
        rule: &'static str,
    },
    /// A command where the geometry type does not allow it (spec 4.3.4).
    #[error("{command} is not allowed {place} of a {geom_type} (spec {rule})")]
    UnexpectedCommand {
        /// The command found.
        command: &'static str,
        /// Where: "at the start", "after MoveTo", "after LineTo", "after ClosePath".
        place: &'static str,
        /// The feature's geometry type.
        geom_type: &'static str,
        /// The spec section.
        rule: &'static str,
    },
    /// A geometry that ends before its last part is complete (spec 4.3.4).
    #[error("the {geom_type} geometry ends {problem} (spec {rule})")]
    IncompleteGeometry {
        /// The feature's geometry type.
        geom_type: &'static str,
        /// What is missing.
        problem: &'static str,
        /// The spec section.
        rule: &'static str,
    },
    /// A LineTo whose dX and dY are both 0 (spec 4.3.3.2): a repeated point.
    #[error(
        "LineTo to ({x}, {y}) repeats the previous point; dX and dY must not both be 0 (spec 4.3.3.2)"
    )]
    ZeroLengthSegment {
        /// The repeated point.
        x: i32,
        /// The repeated point.
        y: i32,
    },
    /// An interior ring (negative area) before any exterior ring (spec 4.3.4.4).
    #[error("polygon ring {0} is an interior ring but no exterior ring precedes it (spec 4.3.4.4)")]
    InteriorRingFirst(usize),
    /// A feature of UNKNOWN type has no geometry model to convert to (spec 4.3.4).
    #[error("geometry of type UNKNOWN has no defined meaning and cannot be converted (spec 4.3.4)")]
    UnknownGeometry,
    /// A point that does not fit the requested coordinate type.
    #[error("coordinate ({x}, {y}) does not fit the requested coordinate type")]
    CoordinateOutOfRange {
        /// The point.
        x: i32,
        /// The point.
        y: i32,
    },
}

impl ErrorKind {
    /// Whether this kind of problem loses the feature or the layer (or tile).
    pub fn severity(&self) -> Severity {
        use ErrorKind::*;
        match self {
            DuplicateLayerName(_)
            | MissingGeometry
            | RepeatedField(_)
            | OddTagCount(_)
            | UnknownGeomType(_)
            | ZeroLengthSegment { .. }
            | InteriorRingFirst(_)
            | UnknownGeometry
            | CoordinateOutOfRange { .. } => Severity::Recoverable,
            Gzipped
            | Decompress(_)
            | Protobuf { .. }
            | WireType { .. }
            | MissingLayerName
            | UnsupportedVersion(_)
            | BadExtent(_)
            | InvalidUtf8 { .. }
            | BadValue { .. }
            | KeyIndexOutOfRange { .. }
            | ValueIndexOutOfRange { .. }
            | GeometryIntegerOverflow(_)
            | UnknownCommand(_)
            | CommandCountTooLarge { .. }
            | BadCommandCount { .. }
            | UnexpectedCommand { .. }
            | IncompleteGeometry { .. } => Severity::Fatal,
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

/// Turns a wire-level problem into an error naming the message it was found in.
pub(crate) fn wire(message: &'static str, e: WireError) -> Error {
    let problem = match e {
        WireError::Truncated { at } => format!("the bytes end inside a field at byte {at}"),
        WireError::VarintOverflow { at } => format!("varint at byte {at} is longer than 64 bits"),
        WireError::BadWireType { at, wire_type } => {
            format!("field at byte {at} has wire type {wire_type}, which vector tiles never use")
        }
        WireError::FieldZero { at } => format!("field number 0 at byte {at}"),
    };
    Error::new(ErrorKind::Protobuf { message, problem })
}
