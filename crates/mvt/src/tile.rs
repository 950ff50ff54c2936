//! The tile: a borrowed buffer and a lazy iterator over its layers.

use crate::error::{Error, ErrorKind, Result, wire};
use crate::layer::Layer;
use crate::pbf::{Cursor, WireType};

/// A vector tile, borrowed from its bytes. Creating one costs nothing: the bytes are read as the
/// layers are asked for.
///
/// # Examples
///
/// ```
/// use mlytiles_mvt::Tile;
///
/// // mvt-fixtures case 017: one layer "hello" holding one point.
/// let bytes = [
///     0x1a, 0x28, 0x78, 0x02, 0x0a, 0x05, b'h', b'e', b'l', b'l', b'o', 0x12, 0x0d, 0x08, 0x01,
///     0x12, 0x02, 0x00, 0x00, 0x18, 0x01, 0x22, 0x03, 0x09, 0x32, 0x22, 0x1a, 0x05, b'h', b'e',
///     b'l', b'l', b'o', 0x22, 0x07, 0x0a, 0x05, b'w', b'o', b'r', b'l', b'd',
/// ];
/// let tile = Tile::new(&bytes)?;
/// for layer in tile.layers() {
///     let layer = layer?;
///     assert_eq!(layer.name(), "hello");
///     assert_eq!(layer.feature_count(), 1);
/// }
/// # Ok::<(), mlytiles_mvt::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Tile<'a> {
    bytes: &'a [u8],
    policy: VersionPolicy,
}

/// What the reader does with a layer whose `version` is above 2, a version the spec does not
/// define (yet).
///
/// The policy: **lenient by default**. Spec 4.1 knows versions 1 and 2 only, but tiles served
/// today by major basemap providers carry `version: 3` in every layer, and the renderers people
/// use (MapLibre, GDAL) draw them by the version 2 rules. A reader that refuses them makes the
/// whole tile unusable for a difference no renderer sees, so [`VersionPolicy::Lenient`] reads
/// such a layer by the version 2 rules and lets the caller warn: [`Layer::version`] still
/// returns the declared number and [`Layer::has_unknown_version`] says whether it is one the
/// spec does not define. [`VersionPolicy::Strict`] refuses the layer with
/// [`ErrorKind::UnsupportedVersion`] (a fatal error quoting spec 4.1); validators and the
/// mvt-fixtures conformance suite use it.
///
/// Version 0 is refused by both policies: it is not a newer version but a malformed layer (a
/// proto3 writer that dropped the field would have written nothing, read as 1).
///
/// [`Layer::version`]: crate::Layer::version
/// [`Layer::has_unknown_version`]: crate::Layer::has_unknown_version
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionPolicy {
    /// Read layers of version 3 and above by the version 2 rules. The default.
    #[default]
    Lenient,
    /// Refuse layers of versions other than 1 and 2, as spec 4.1 says.
    Strict,
}

impl<'a> Tile<'a> {
    /// Wraps the bytes of an uncompressed tile. O(1): nothing is parsed yet.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Gzipped`] if the bytes start with the gzip magic number (0x1f 0x8b, which
    /// can never start a vector tile: it would be field 3 with the undefined wire type 7). Pass
    /// such bytes through [`decompress`](crate::decompress) first.
    ///
    /// The reader is lenient about layer versions above 2 (see [`VersionPolicy`]); use
    /// [`Tile::with_policy`] to refuse them.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        Self::with_policy(bytes, VersionPolicy::default())
    }

    /// As [`Tile::new`], reading layer versions as `policy` says.
    ///
    /// # Errors
    ///
    /// As [`Tile::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mlytiles_mvt::{ErrorKind, Tile, TileBuilder, Value, VersionPolicy, geo_types};
    ///
    /// let mut builder = TileBuilder::new();
    /// let point = geo_types::Point::new(25, 17).into();
    /// builder
    ///     .layer("roads")
    ///     .set_version(3)
    ///     .add_feature(None, &point, [("class", Value::String("primary"))])?;
    /// let bytes = builder.to_bytes();
    /// // Lenient (the default): read by the version 2 rules, the declared version kept.
    /// let layer = Tile::new(&bytes)?.layer("roads")?.expect("the layer");
    /// assert_eq!(layer.version(), 3);
    /// assert!(layer.has_unknown_version());
    /// // Strict: refused, quoting spec 4.1.
    /// let err = Tile::with_policy(&bytes, VersionPolicy::Strict)?.layer("roads").unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::UnsupportedVersion(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_policy(bytes: &'a [u8], policy: VersionPolicy) -> Result<Self> {
        if crate::is_gzip(bytes) {
            return Err(Error::new(ErrorKind::Gzipped));
        }
        Ok(Tile { bytes, policy })
    }

    /// The version policy the tile reads its layers with.
    pub fn policy(&self) -> VersionPolicy {
        self.policy
    }

    /// The bytes the tile reads from.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The layers in the order the tile stores them (which varies between tiles: never rely on
    /// it). Each step scans one layer message once, to find its name, version, extent and the
    /// sizes of its tables; features, keys and values are not decoded.
    ///
    /// A layer with a fatal problem is yielded as an `Err` and iteration goes on with the next
    /// layer; a malformed tile message ends the iteration after its error. A layer whose name
    /// an earlier layer already had is yielded as a recoverable
    /// [`ErrorKind::DuplicateLayerName`] error (spec 4.1), so by-name lookups stay unambiguous.
    pub fn layers(&self) -> Layers<'a> {
        Layers {
            cursor: Cursor::new(self.bytes),
            policy: self.policy,
            index: 0,
            seen: Names::default(),
            done: false,
        }
    }

    /// The first layer called `name`, or `None`. Each layer up to it is scanned once (the
    /// last of its names counts, as protobuf says, so the whole message is read).
    ///
    /// # Errors
    ///
    /// A malformed tile message, or a fatal problem in the layer that has the name.
    pub fn layer(&self, name: &str) -> Result<Option<Layer<'a>>> {
        let mut cursor = Cursor::new(self.bytes);
        let mut index = 0;
        while let Some(body) = next_layer_bytes(&mut cursor)? {
            // The scan that makes the layer also reads its name: a layer is not scanned once
            // for its name and again for the rest. A layer that cannot be read is looked at
            // again only for its name, and its problem is an error only if it has `name`.
            match Layer::parse(body, index, self.policy) {
                Ok(layer) if layer.name() == name => return Ok(Some(layer)),
                Ok(_) => {}
                Err(e) if layer_name(body) == Some(name.as_bytes()) => return Err(e),
                Err(_) => {}
            }
            index += 1;
        }
        Ok(None)
    }

    /// The number of layer messages in the tile, counted without reading inside them.
    ///
    /// # Errors
    ///
    /// A malformed tile message.
    pub fn layer_count(&self) -> Result<usize> {
        let mut cursor = Cursor::new(self.bytes);
        let mut n = 0;
        while next_layer_bytes(&mut cursor)?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

/// Finds the next `layers` field (3) of a Tile message, skipping unknown fields.
fn next_layer_bytes<'a>(cursor: &mut Cursor<'a>) -> Result<Option<&'a [u8]>> {
    while let Some(key) = cursor.field() {
        let (field, wire_type) = key.map_err(|e| wire("Tile", e))?;
        match (field, wire_type) {
            (3, WireType::Len) => return cursor.bytes().map(Some).map_err(|e| wire("Tile", e)),
            (3, other) => {
                return Err(Error::new(ErrorKind::WireType {
                    message: "Tile",
                    field: "layers",
                    expected: WireType::Len.name(),
                    found: other.name(),
                }));
            }
            // spec 4.1 / proto: extensions 16 to 8191 and unknown fields are skipped.
            (_, wt) => cursor.skip(wt).map_err(|e| wire("Tile", e))?,
        }
    }
    Ok(None)
}

/// The raw `name` of a layer message (the last one, should there be several, as protobuf
/// says). `None` if it has none or the message is malformed (the full parse reports that).
fn layer_name(body: &[u8]) -> Option<&[u8]> {
    let mut cursor = Cursor::new(body);
    let mut name = None;
    while let Some(key) = cursor.peek() {
        // Runs of features, keys and values (nearly all of a layer) in one step each.
        if matches!(key, 0x12 | 0x1a | 0x22) {
            let (end, count) = crate::layer::skip_run(body, cursor.pos(), key);
            if count > 0 {
                cursor.advance(end - cursor.pos());
                continue;
            }
        }
        let Some(key) = cursor.field() else { break };
        let (field, wire_type) = key.ok()?;
        if field == 1 && wire_type == WireType::Len {
            name = Some(cursor.bytes().ok()?);
        } else {
            cursor.skip(wire_type).ok()?;
        }
    }
    name
}

/// Iterator over a tile's layers; see [`Tile::layers`].
#[derive(Debug, Clone)]
pub struct Layers<'a> {
    cursor: Cursor<'a>,
    policy: VersionPolicy,
    index: usize,
    /// Names of the layers yielded so far, to refuse duplicates (spec 4.1).
    seen: Names<'a>,
    done: bool,
}

impl<'a> Iterator for Layers<'a> {
    type Item = Result<Layer<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let body = match next_layer_bytes(&mut self.cursor) {
            Ok(Some(body)) => body,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let index = self.index;
        self.index += 1;
        Some(Layer::parse(body, index, self.policy).and_then(|layer| {
            if self.seen.contains(layer.name()) {
                return Err(
                    Error::new(ErrorKind::DuplicateLayerName(layer.name().to_owned()))
                        .in_layer(index, Some(layer.name())),
                );
            }
            self.seen.push(layer.name());
            Ok(layer)
        }))
    }
}

impl std::iter::FusedIterator for Layers<'_> {}

/// A list of names that allocates only past the first few (most tiles have fewer layers), so
/// that reading a tile's layers allocates nothing.
#[derive(Debug, Clone, Default)]
struct Names<'a> {
    first: [&'a str; 16],
    len: usize,
    more: Vec<&'a str>,
}

impl<'a> Names<'a> {
    fn contains(&self, name: &str) -> bool {
        self.first[..self.len].contains(&name) || self.more.contains(&name)
    }

    fn push(&mut self, name: &'a str) {
        match self.first.get_mut(self.len) {
            Some(slot) => {
                *slot = name;
                self.len += 1;
            }
            None => self.more.push(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TileBuilder;

    fn tile_of(names: &[String]) -> Vec<u8> {
        let mut builder = TileBuilder::new();
        let point = geo_types::Point::new(1, 2).into();
        for name in names {
            builder
                .layer(name)
                .add_feature(None, &point, [("k", crate::Value::Bool(true))])
                .unwrap();
        }
        builder.to_bytes()
    }

    /// A layer message with its name after many features (protobuf allows any order; the
    /// last name counts): by-name lookup finds it and steps over the other layer's features.
    #[test]
    fn a_name_after_the_features_is_found_by_name() {
        let layer = |name: &str, features: usize| {
            let mut body = Vec::new();
            for _ in 0..features {
                // One point feature: type POINT, geometry MoveTo(1) (1, 1).
                body.extend_from_slice(&[0x12, 0x07, 0x18, 0x01, 0x22, 0x03, 0x09, 0x02, 0x02]);
            }
            body.extend_from_slice(&[0x0a, name.len() as u8]);
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(&[0x28, 0x80, 0x20, 0x78, 0x02]);
            let mut message = vec![0x1a];
            crate::writer::wire::put_varint(&mut message, body.len() as u64);
            message.extend(body);
            message
        };
        let bytes = [layer("first", 300), layer("second", 20)].concat();
        let tile = Tile::new(&bytes).unwrap();
        let second = tile.layer("second").unwrap().expect("found");
        assert_eq!((second.name(), second.feature_count()), ("second", 20));
        assert_eq!(tile.layer("first").unwrap().unwrap().feature_count(), 300);
        assert!(tile.layer("third").unwrap().is_none());
    }

    /// A layer that cannot be read (version 0, named or not) does not stop a lookup of
    /// another name, and is the error of a lookup of its own name.
    #[test]
    fn a_broken_layer_is_the_error_of_its_own_name_only() {
        let layer = |name: &[u8], version: u8| {
            let mut body = vec![0x12, 0x07, 0x18, 0x01, 0x22, 0x03, 0x09, 0x02, 0x02];
            if !name.is_empty() {
                body.extend_from_slice(&[0x0a, name.len() as u8]);
                body.extend_from_slice(name);
            }
            body.extend_from_slice(&[0x28, 0x80, 0x20, 0x78, version]);
            let mut message = vec![0x1a];
            crate::writer::wire::put_varint(&mut message, body.len() as u64);
            message.extend(body);
            message
        };
        let bytes = [layer(b"bad", 0), layer(b"", 2), layer(b"good", 2)].concat();
        let tile = Tile::new(&bytes).unwrap();
        let good = tile
            .layer("good")
            .unwrap()
            .expect("found past the broken ones");
        assert_eq!((good.name(), good.index()), ("good", 2));
        let err = tile.layer("bad").expect_err("its own problem");
        assert_eq!(err.kind(), &ErrorKind::UnsupportedVersion(0));
        assert!(tile.layer("").unwrap().is_none(), "a layer without a name");
    }

    /// A repeated name is refused wherever it comes, before and after the first sixteen
    /// layers (which are remembered without allocating).
    #[test]
    fn duplicate_layer_names_are_found_past_the_first_sixteen() {
        let names: Vec<String> = (0..24).map(|i| format!("layer{i}")).collect();
        for repeat in [0, 15, 16, 23] {
            // Two tile messages one after the other are one tile with all their layers.
            let mut bytes = tile_of(&names);
            bytes.extend(tile_of(&[names[repeat].clone()]));
            let results: Vec<_> = Tile::new(&bytes).unwrap().layers().collect();
            assert_eq!(results.len(), 25);
            assert!(results[..24].iter().all(Result::is_ok), "repeat {repeat}");
            let err = results[24].as_ref().unwrap_err();
            assert_eq!(
                err.kind(),
                &ErrorKind::DuplicateLayerName(names[repeat].clone()),
                "repeat {repeat}"
            );
        }
    }
}
