//! A feature: its id and type, its tags (properties) and its still-encoded geometry.

use crate::error::{Error, ErrorKind, Result, wire};
use crate::geom_type::GeomType;
use crate::layer::Layer;
use crate::pbf::{Cursor, WireType, run_on};
use crate::value::Value;

/// One feature of a layer: a cheap view (two slices and a few integers) into the layer's bytes.
///
/// Tags and geometry stay encoded until asked for: [`Feature::properties`] resolves tags against
/// the layer's tables, [`Feature::geometry`] iterates the commands,
/// [`Feature::decode_geometry`] drives a [`GeometrySink`](crate::GeometrySink), and
/// [`Feature::to_geometry`] builds a `geo_types::Geometry`.
#[derive(Debug, Clone, Copy)]
pub struct Feature<'l, 'a> {
    pub(crate) layer: &'l Layer<'a>,
    pub(crate) index: usize,
    id: Option<u64>,
    geom_type: GeomType,
    tags: &'a [u8],
    pub(crate) geometry: &'a [u8],
}

impl<'l, 'a> Feature<'l, 'a> {
    /// The feature of fields read by [`read_known_layouts`].
    #[inline(always)]
    pub(crate) fn new(layer: &'l Layer<'a>, index: usize, f: Fields<'a>) -> Self {
        Feature {
            layer,
            index,
            id: f.id,
            geom_type: f.geom_type,
            tags: f.tags,
            geometry: f.geometry,
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn parse_general(
        layer: &'l Layer<'a>,
        bytes: &'a [u8],
        index: usize,
    ) -> Result<Self> {
        let mut id = None;
        let mut geom_type = Ok(GeomType::Unknown); // proto: [default = UNKNOWN]
        let mut tags: Option<&'a [u8]> = None;
        let mut geometry: Option<&'a [u8]> = None;
        let mut repeated = None;
        let locate = |e: Error| layer.locate(e.in_feature(index));
        let mut cursor = Cursor::new(bytes);
        while let Some(key) = cursor.field() {
            let (field, wire_type) = key.map_err(|e| locate(wire("Feature", e)))?;
            let (name, expected) = match field {
                1 => ("id", WireType::Varint),
                2 => ("tags", WireType::Len),
                3 => ("type", WireType::Varint),
                4 => ("geometry", WireType::Len),
                _ => ("", wire_type),
            };
            if wire_type != expected {
                return Err(locate(Error::new(ErrorKind::WireType {
                    message: "Feature",
                    field: name,
                    expected: expected.name(),
                    found: wire_type.name(),
                })));
            }
            let w = |e| locate(wire("Feature", e));
            match field {
                1 => id = Some(cursor.varint().map_err(w)?),
                2 => {
                    let b = cursor.bytes().map_err(w)?;
                    if tags.replace(b).is_some() {
                        repeated = Some("tags");
                    }
                }
                3 => {
                    let v = cursor.varint().map_err(w)?;
                    geom_type = GeomType::from_u64(v).ok_or(v);
                }
                4 => {
                    let b = cursor.bytes().map_err(w)?;
                    if geometry.replace(b).is_some() {
                        repeated = Some("geometry");
                    }
                }
                _ => cursor.skip(wire_type).map_err(w)?,
            }
        }
        // The rest are recoverable (mvt-fixtures 004, 005, 006, 030): only this feature is lost.
        if let Some(field) = repeated {
            return Err(locate(Error::new(ErrorKind::RepeatedField(field))));
        }
        let geom_type = geom_type.map_err(|v| locate(Error::new(ErrorKind::UnknownGeomType(v))))?;
        let geometry = geometry.ok_or_else(|| locate(Error::new(ErrorKind::MissingGeometry)))?;
        let fields = Fields {
            id,
            tags: tags.unwrap_or(&[]),
            geom_type,
            geometry,
        };
        Ok(Self::new(layer, index, fields))
    }

    /// The feature's `id` field, if present. In Mapillary tiles this is a tile-local counter, not
    /// the Mapillary id (which is the `id` property). O(1).
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// The geometry type (UNKNOWN when the field is missing, the proto2 default). O(1).
    pub fn geom_type(&self) -> GeomType {
        self.geom_type
    }

    /// The feature's position in its layer (0-based). O(1).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The layer the feature belongs to. O(1).
    pub fn layer(&self) -> &'l Layer<'a> {
        self.layer
    }

    /// The number of properties (tag pairs): O(bytes of the tags), without decoding them.
    pub fn property_count(&self) -> usize {
        self.tag_ints() / 2
    }

    fn tag_ints(&self) -> usize {
        count_varints(self.tags)
    }

    /// The tags as raw `(key index, value index)` pairs, without touching the layer's tables:
    /// the cheapest way to test a property whose indices were looked up once per layer
    /// ([`Layer::key_index`]). Indices are not checked against the tables here.
    #[inline]
    pub fn tags(&self) -> Tags<'a> {
        Tags {
            cursor: Cursor::new(self.tags),
            window: run_on(self.tags, self.layer.bytes()),
        }
    }

    /// The properties as `(key, value)` pairs, resolved against the layer's tables (parsed on
    /// first use, once per layer). No allocation.
    ///
    /// A table that fails to parse, or a tag pointing past a table (spec 4.2), is yielded as a
    /// fatal error that ends the iteration. An odd number of tag integers (spec 4.2: tags come
    /// in pairs) is found at the end and yielded as a recoverable
    /// [`ErrorKind::OddTagCount`]: the feature is broken, the layer is not.
    #[inline(always)]
    pub fn properties(&self) -> Properties<'l, 'a> {
        let mut properties = Properties {
            keys: &[],
            values: &[],
            cursor: Cursor::new(self.tags),
            window: run_on(self.tags, self.layer.bytes()),
            pending: None,
            layer: self.layer,
            index: self.index,
        };
        if !self.tags.is_empty() {
            match self.layer.tables() {
                Ok(t) => (properties.keys, properties.values) = (&t.keys, &t.values),
                Err(e) => {
                    properties.cursor.finish();
                    properties.pending = Some(e.in_feature(self.index));
                }
            }
        }
        properties
    }

    /// The value of the property `key`, if the feature has it. Parses the tables on first use,
    /// then scans this feature's tags.
    ///
    /// # Errors
    ///
    /// As [`Feature::properties`].
    pub fn get(&self, key: &str) -> Result<Option<Value<'a>>> {
        for property in self.properties() {
            let (k, v) = property?;
            if k == key {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The encoded geometry: the packed `uint32` command and parameter integers.
    pub fn geometry_bytes(&self) -> &'a [u8] {
        self.geometry
    }

    pub(crate) fn locate(&self, e: Error) -> Error {
        self.layer.locate(e.in_feature(self.index))
    }
}

/// The four fields of a feature message, as either parse reads them.
pub(crate) struct Fields<'a> {
    id: Option<u64>,
    tags: &'a [u8],
    geom_type: GeomType,
    geometry: &'a [u8],
}

/// The direct path of reading a feature message: id, tags, type and geometry when the message
/// is laid out in one of the orders encoders use, each field once; `None` for anything else
/// (which [`Feature::parse_general`] reads). The orders, read with straight-line tests (which
/// predict better than a jump on each key): field order, id (0x08) tags (0x12) type (0x18)
/// geometry (0x22), as Mapillary's tiles have it; type, geometry, id, tags, as Mapbox Streets
/// has it; type, tags, geometry, as OSM QA tiles have it. Each field but the geometry may be
/// missing.
#[inline(always)]
pub(crate) fn read_known_layouts(bytes: &[u8]) -> Option<Fields<'_>> {
    let mut cursor = Cursor::new(bytes);
    let (mut id, mut tags, mut geom_type) = (None, &[][..], GeomType::Unknown);
    let geometry = if cursor.peek() == Some(0x18) {
        read_type(&mut cursor, &mut geom_type)?;
        if cursor.peek() == Some(0x22) {
            let geometry = read_geometry(&mut cursor)?;
            read_id(&mut cursor, &mut id)?;
            read_tags(&mut cursor, &mut tags)?;
            geometry
        } else {
            read_tags(&mut cursor, &mut tags)?;
            let geometry = read_geometry(&mut cursor)?;
            read_id(&mut cursor, &mut id)?;
            geometry
        }
    } else {
        read_id(&mut cursor, &mut id)?;
        read_tags(&mut cursor, &mut tags)?;
        read_type(&mut cursor, &mut geom_type)?;
        read_geometry(&mut cursor)?
    };
    cursor.is_empty().then_some(Fields {
        id,
        tags,
        geom_type,
        geometry,
    })
}

// The fields of the direct path: each reads its field if it comes next, and gives `None` when
// the bytes are not what that path expects (the general parse then explains).

#[inline(always)]
fn read_id(cursor: &mut Cursor<'_>, id: &mut Option<u64>) -> Option<()> {
    if cursor.peek() == Some(0x08) {
        cursor.advance(1);
        *id = Some(cursor.varint_long().ok()?);
    }
    Some(())
}

#[inline(always)]
fn read_tags<'a>(cursor: &mut Cursor<'a>, tags: &mut &'a [u8]) -> Option<()> {
    if cursor.peek() == Some(0x12) {
        cursor.advance(1);
        *tags = cursor.bytes().ok()?;
    }
    Some(())
}

#[inline(always)]
fn read_type(cursor: &mut Cursor<'_>, geom_type: &mut GeomType) -> Option<()> {
    if cursor.peek() == Some(0x18) {
        cursor.advance(1);
        *geom_type = GeomType::from_u64(cursor.varint().ok()?)?;
    }
    Some(())
}

#[inline(always)]
fn read_geometry<'a>(cursor: &mut Cursor<'a>) -> Option<&'a [u8]> {
    if cursor.peek() != Some(0x22) {
        return None;
    }
    cursor.advance(1);
    cursor.bytes().ok()
}

/// Decodes a tag pair from the start of the little-endian `word`: a one-byte key index (layers
/// rarely have more than 127 keys) and a value index of up to three bytes. Their values and the
/// bytes they took; `None` for anything longer (the byte-wise path takes those).
#[inline(always)]
fn two_varints(word: u64) -> Option<(u64, u64, usize)> {
    if word & 0x80 != 0 {
        return None;
    }
    let key = word & 0x7f;
    let v = word >> 8;
    if v & 0x80 == 0 {
        Some((key, v & 0x7f, 2))
    } else if v & 0x8000 == 0 {
        Some((key, (v & 0x7f) | ((v >> 1) & 0x3f80), 3))
    } else if v & 0x80_0000 == 0 {
        Some((
            key,
            (v & 0x7f) | ((v >> 1) & 0x3f80) | ((v >> 2) & 0x1f_c000),
            4,
        ))
    } else {
        None
    }
}

/// Every varint ends in exactly one byte below 0x80, so this counts the varints in `bytes`.
fn count_varints(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b < 0x80).count()
}

/// Raw tag pairs of a feature; see [`Feature::tags`].
#[derive(Debug, Clone)]
pub struct Tags<'a> {
    cursor: Cursor<'a>,
    /// The tags and the layer bytes after them, for one-load pairs (see [`Properties`]).
    window: &'a [u8],
}

impl Iterator for Tags<'_> {
    type Item = (u32, u32);

    #[inline(always)]
    fn next(&mut self) -> Option<(u32, u32)> {
        let pos = self.cursor.pos();
        if let Some((k, v, n)) = self
            .window
            .get(pos..)
            .and_then(|w| w.first_chunk::<8>())
            .and_then(|w| two_varints(u64::from_le_bytes(*w)))
            .filter(|&(_, _, n)| n <= self.cursor.remaining())
        {
            self.cursor.advance(n);
            // Both fit in 24 bits.
            return Some((k as u32, v as u32));
        }
        // A lone trailing integer ends the iteration (properties() reports it). A value above
        // u32 maps to u32::MAX, which no table reaches.
        let k = self.cursor.varint().ok()?;
        let v = self.cursor.varint().ok()?;
        Some((
            u32::try_from(k).unwrap_or(u32::MAX),
            u32::try_from(v).unwrap_or(u32::MAX),
        ))
    }
}

/// Resolved properties of a feature; see [`Feature::properties`].
#[derive(Debug, Clone)]
pub struct Properties<'l, 'a> {
    keys: &'l [&'a str],
    values: &'l [Value<'a>],
    cursor: Cursor<'a>,
    /// The tags and the layer bytes after them, so that a tag pair can be read with one 8-byte
    /// load even at the end of the tags.
    window: &'a [u8],
    /// An error to yield once the tags are done (or instead of them).
    pending: Option<Error>,
    layer: &'l Layer<'a>,
    index: usize,
}

impl<'l, 'a> Iterator for Properties<'l, 'a> {
    type Item = Result<(&'a str, Value<'a>)>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.cursor.is_empty() {
            return self.pending.take().map(Err);
        }
        let pos = self.cursor.pos();
        let pair = self
            .window
            .get(pos..)
            .and_then(|w| w.first_chunk::<8>())
            .and_then(|w| two_varints(u64::from_le_bytes(*w)))
            .filter(|&(_, _, n)| n <= self.cursor.remaining());
        if let Some((k, v, n)) = pair {
            self.cursor.advance(n);
            return Some(self.resolve(k, v));
        }
        let (Ok(k), Ok(v)) = (self.cursor.varint(), self.cursor.varint()) else {
            let ints = count_varints(self.cursor.all());
            return Some(Err(self.fail(if ints % 2 == 1 {
                ErrorKind::OddTagCount(ints)
            } else {
                ErrorKind::Protobuf {
                    message: "Feature",
                    problem: "the tags end inside a varint".into(),
                }
            })));
        };
        Some(self.resolve(k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (
            0,
            Some(self.cursor.remaining() / 2 + usize::from(self.pending.is_some())),
        )
    }
}

impl<'a> Properties<'_, 'a> {
    #[inline(always)]
    fn resolve(&mut self, k: u64, v: u64) -> Result<(&'a str, Value<'a>)> {
        match (self.keys.get(k as usize), self.values.get(v as usize)) {
            (Some(key), Some(value)) => Ok((*key, *value)),
            (None, _) => Err(self.fail(ErrorKind::KeyIndexOutOfRange {
                index: k,
                len: self.keys.len(),
            })),
            (_, None) => Err(self.fail(ErrorKind::ValueIndexOutOfRange {
                index: v,
                len: self.values.len(),
            })),
        }
    }

    /// Ends the iteration with the error `kind`, located. The error is built out of line, from
    /// copies: a reference to the iterator passed to a call would keep its state in memory
    /// instead of registers for the whole loop.
    #[inline(always)]
    fn fail(&mut self, kind: ErrorKind) -> Error {
        self.cursor.finish();
        locate_in(self.layer, self.index, kind)
    }
}

impl std::iter::FusedIterator for Properties<'_, '_> {}

/// The error `kind` of feature `index` of `layer`, located; built out of line, from copies,
/// so the callers' loops keep their state in registers.
#[cold]
#[inline(never)]
pub(crate) fn locate_in(layer: &Layer<'_>, index: usize, kind: ErrorKind) -> Error {
    layer.locate(Error::new(kind).in_feature(index))
}
