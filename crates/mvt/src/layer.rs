//! A layer: its header, read once, and its key and value tables, parsed on first use.

use std::cell::OnceCell;

use crate::error::{Error, ErrorKind, Result, wire};
use crate::feature::Feature;
use crate::pbf::{Cursor, WireType, decode_varint, varint_from_word, zigzag64};
use crate::text::{NotUtf8, Slot, StringRun};
use crate::value::Value;

/// The default extent when a layer has none (vector_tile.proto: `[default = 4096]`).
pub const DEFAULT_EXTENT: u32 = 4096;

/// One layer of a tile, borrowed from the tile's bytes.
///
/// Made by [`Tile::layers`](crate::Tile::layers) or [`Tile::layer`](crate::Tile::layer), which scan
/// the layer message once for its name, version, extent and table sizes. The key and value
/// tables are parsed the first time a feature's properties (or [`Layer::keys`] /
/// [`Layer::values`]) are asked for, once per layer, into two vectors; nothing is allocated per
/// feature after that.
#[derive(Debug)]
pub struct Layer<'a> {
    bytes: &'a [u8],
    index: usize,
    name: &'a str,
    version: u32,
    extent: u32,
    feature_count: usize,
    key_count: usize,
    value_count: usize,
    /// The byte range from the first feature field to the end of the last one, so iterating
    /// features never steps over the (often much longer) value table again.
    features: std::ops::Range<usize>,
    /// The same for the key and value fields.
    table_fields: std::ops::Range<usize>,
    /// A feature boundary near the middle of the layer's bytes, noted by the scan: see
    /// [`Layer::halfway`].
    halfway: Option<(usize, usize)>,
    /// Boxed, so a layer stays small to move: layers are made (and moved) for every scan, the
    /// tables only when properties are read.
    tables: OnceCell<std::result::Result<Box<Tables<'a>>, Error>>,
}

#[derive(Debug)]
pub(crate) struct Tables<'a> {
    pub(crate) keys: Vec<&'a str>,
    pub(crate) values: Vec<Value<'a>>,
}

/// A layer's place in its tile and what scanning it found: [`Layer::header`] makes one,
/// [`LayerHeader::layer`] makes the layer again from the tile's bytes in O(1), without the
/// scan [`Tile::layer`](crate::Tile::layer) does (which reads every field of the layer). For
/// readers that keep a tile's bytes and come back to a layer many times (a renderer drawing a
/// tile's children one by one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerHeader {
    body: std::ops::Range<usize>,
    index: usize,
    name: std::ops::Range<usize>,
    version: u32,
    extent: u32,
    feature_count: usize,
    key_count: usize,
    value_count: usize,
    features: std::ops::Range<usize>,
    table_fields: std::ops::Range<usize>,
    halfway: Option<(usize, usize)>,
}

impl LayerHeader {
    /// The layer in `tile`, which must hold the bytes the header was made from (the same
    /// bytes, perhaps at another address). `None` if the header's ranges do not fit the
    /// bytes or the name is not UTF-8 there (other bytes than the header's).
    pub fn layer<'a>(&self, tile: &crate::Tile<'a>) -> Option<Layer<'a>> {
        let bytes = tile.bytes().get(self.body.clone())?;
        let name = std::str::from_utf8(bytes.get(self.name.clone())?).ok()?;
        bytes.get(self.features.clone())?;
        bytes.get(self.table_fields.clone())?;
        Some(Layer {
            bytes,
            index: self.index,
            name,
            version: self.version,
            extent: self.extent,
            feature_count: self.feature_count,
            key_count: self.key_count,
            value_count: self.value_count,
            features: self.features.clone(),
            table_fields: self.table_fields.clone(),
            halfway: self.halfway,
            tables: OnceCell::new(),
        })
    }
}

fn wire_type_error(field: &'static str, expected: WireType, found: WireType) -> Error {
    Error::new(ErrorKind::WireType {
        message: "Layer",
        field,
        expected: expected.name(),
        found: found.name(),
    })
}

impl<'a> Layer<'a> {
    /// Scans a layer message: O(fields), no allocation.
    pub(crate) fn parse(
        bytes: &'a [u8],
        index: usize,
        policy: crate::VersionPolicy,
    ) -> Result<Layer<'a>> {
        let mut name: Option<&'a [u8]> = None;
        let mut version: u64 = 1; // proto2 default (vector_tile.proto: [default = 1])
        let mut extent: u64 = u64::from(DEFAULT_EXTENT);
        let (mut feature_count, mut key_count, mut value_count) = (0, 0, 0);
        let mut cursor = Cursor::new(bytes);
        let located = |e: Error, name: Option<&[u8]>| {
            e.in_layer(index, name.and_then(|n| std::str::from_utf8(n).ok()))
        };
        // Where the first field of each kind starts and the last one ends.
        let (mut first_feature, mut last_feature) = (usize::MAX, 0);
        let (mut first_table, mut last_table) = (usize::MAX, 0);
        let middle = bytes.len() / 2;
        let mut halfway: Option<(usize, usize)> = None;
        while let Some(key) = cursor.peek() {
            let start = cursor.pos();
            // Features, keys and values (one-byte keys 0x12, 0x1a, 0x22) are nearly all of a
            // layer's fields: they take a direct path.
            if matches!(key, 0x12 | 0x1a | 0x22) {
                // A run of fields of one kind, stepped over in a loop of its own (whose state
                // stays in registers); it stops before anything else, including a field it
                // cannot step over, which the general path below then reports.
                let all = cursor.all();
                let (end, count) = if key == 0x12 && halfway.is_none() && start < middle {
                    // The run is stepped over in two: up to the middle of the layer's bytes,
                    // then on. Where the first stopped is a feature boundary near the middle
                    // when the second goes on from there (it did not stop for a field the run
                    // cannot step over), which costs the scan nothing.
                    let (stop, before) = skip_run(&all[..middle], start, key);
                    let (end, after) = skip_run(all, stop, key);
                    if after > 0 {
                        halfway = Some((stop, feature_count + before));
                    }
                    (end, before + after)
                } else {
                    skip_run(all, start, key)
                };
                if count > 0 {
                    cursor.advance(end - start);
                    if key == 0x12 {
                        feature_count += count;
                        first_feature = first_feature.min(start);
                        last_feature = end;
                    } else {
                        if key == 0x1a {
                            key_count += count;
                        } else {
                            value_count += count;
                        }
                        first_table = first_table.min(start);
                        last_table = end;
                    }
                    continue;
                }
            }
            let Some(key) = cursor.field() else { break };
            let (field, wire_type) = key.map_err(|e| located(wire("Layer", e), name))?;
            let expected = match field {
                1..=4 => WireType::Len,
                5 | 15 => WireType::Varint,
                _ => wire_type,
            };
            if wire_type != expected {
                let field_name = match field {
                    1 => "name",
                    2 => "features",
                    3 => "keys",
                    4 => "values",
                    5 => "extent",
                    _ => "version",
                };
                return Err(located(
                    wire_type_error(field_name, expected, wire_type),
                    name,
                ));
            }
            let step = match field {
                1 => cursor.bytes().map(|b| name = Some(b)),
                5 => cursor.varint().map(|v| extent = v),
                15 => cursor.varint().map(|v| version = v),
                // Features, keys and values with an overlong key encoding: valid protobuf.
                2..=4 => cursor.bytes().map(|_| {
                    let end = cursor.pos();
                    if field == 2 {
                        feature_count += 1;
                        first_feature = first_feature.min(start);
                        last_feature = end;
                    } else {
                        *if field == 3 {
                            &mut key_count
                        } else {
                            &mut value_count
                        } += 1;
                        first_table = first_table.min(start);
                        last_table = end;
                    }
                }),
                // spec 4.1: `extensions 16 to max`; unknown fields are skipped.
                _ => cursor.skip(wire_type),
            };
            step.map_err(|e| located(wire("Layer", e), name))?;
        }
        let features = first_feature.min(last_feature)..last_feature;
        let table_fields = first_table.min(last_table)..last_table;
        let name =
            name.ok_or_else(|| Error::new(ErrorKind::MissingLayerName).in_layer(index, None))?;
        let name = std::str::from_utf8(name).map_err(|_| {
            Error::new(ErrorKind::InvalidUtf8 {
                what: "the layer name".into(),
            })
            .in_layer(index, None)
        })?;
        let known = (1..=2).contains(&version);
        if !known
            && (version == 0
                || policy == crate::VersionPolicy::Strict
                || version > u64::from(u32::MAX))
        {
            return Err(
                Error::new(ErrorKind::UnsupportedVersion(version)).in_layer(index, Some(name))
            );
        }
        if extent == 0 || extent > i32::MAX as u64 {
            return Err(Error::new(ErrorKind::BadExtent(extent)).in_layer(index, Some(name)));
        }
        // Relative to the features' bytes, as Features::offset counts.
        let halfway = halfway
            .filter(|&(at, _)| features.contains(&at))
            .map(|(at, index)| (at - features.start, index));
        Ok(Layer {
            bytes,
            index,
            name,
            version: version as u32,
            extent: extent as u32,
            feature_count,
            key_count,
            value_count,
            features,
            table_fields,
            halfway,
            tables: OnceCell::new(),
        })
    }

    /// The layer's name. O(1).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The layer's position among the tile's layer messages (0-based). O(1).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The spec version the layer declares: 1 or 2 (1 when the field is missing, the proto2
    /// default), or, read with [`VersionPolicy::Lenient`](crate::VersionPolicy), a higher one,
    /// whose layer is read by the version 2 rules. O(1).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether the layer declares a version the spec does not define (3 or more), read by the
    /// version 2 rules under [`VersionPolicy::Lenient`](crate::VersionPolicy). Readers that
    /// accept such layers should say so (a warning), as `mlytiles decode` does. O(1).
    pub fn has_unknown_version(&self) -> bool {
        self.version > 2
    }

    /// The extent: the width and height of the tile in its own coordinates (4096 when missing).
    /// O(1).
    pub fn extent(&self) -> u32 {
        self.extent
    }

    /// The number of feature messages. O(1) (counted when the layer was scanned).
    pub fn feature_count(&self) -> usize {
        self.feature_count
    }

    /// The number of entries in the key table. O(1).
    pub fn key_count(&self) -> usize {
        self.key_count
    }

    /// The number of entries in the value table. O(1).
    pub fn value_count(&self) -> usize {
        self.value_count
    }

    /// The bytes of the layer message.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The features in the order they are stored. Each step reads one feature message's fields
    /// (id, type, and where its tags and geometry lie); tags and geometry are decoded only when
    /// asked for. No allocation.
    ///
    /// A feature with a recoverable problem (no geometry, an unknown type, an odd number of tag
    /// integers) is yielded as an `Err`, and iteration goes on; a malformed feature message is a
    /// fatal error that ends the iteration.
    pub fn features(&self) -> Features<'_, 'a> {
        Features {
            layer: self,
            cursor: Cursor::new(&self.bytes[self.features.clone()]),
            index: 0,
        }
    }

    /// How many bytes the layer's features take (from the first feature's field to the
    /// end of the last), the span [`Features::offset`] and [`Features::skip_to`] count in.
    pub fn features_len(&self) -> usize {
        self.features.len()
    }

    /// A feature boundary near the middle of the layer's bytes, found by the scan that made
    /// the layer at no extra cost, as (offset, index) for [`Layer::features_from`]: the start
    /// of the first feature it had not stepped over at the middle. For splitting the features
    /// into two runs of about equal bytes without stepping over half of them again
    /// ([`Features::skip_to`]). Where the features lie in the layer's bytes decides how even
    /// the two runs are (the tables usually follow the features and are small next to them),
    /// so check before relying on it. `None` when the scan stepped over the middle field by
    /// field (a feature with a length of three bytes or more there) or no feature follows it.
    pub fn halfway(&self) -> Option<(usize, usize)> {
        self.halfway
    }

    /// The features from the one at `offset` (a [`Features::offset`] of this layer) on,
    /// numbered from `index` (the number [`Feature::index`] gives that feature). For readers
    /// that index a layer once and come back for a few features: nothing before `offset` is
    /// read. An offset that is not one [`Features::offset`] gave reads whatever lies there,
    /// with the usual errors (never a panic); past the end, nothing.
    pub fn features_from(&self, offset: usize, index: usize) -> Features<'_, 'a> {
        let all = &self.bytes[self.features.clone()];
        let mut cursor = Cursor::new(all);
        cursor.advance(offset.min(all.len()));
        Features {
            layer: self,
            cursor,
            index,
        }
    }

    /// What the scan of this layer found and where the layer lies in `tile`, to make the same
    /// [`Layer`] again later without scanning it ([`LayerHeader::layer`]). `None` if the layer
    /// is not one of `tile`'s.
    pub fn header(&self, tile: &crate::Tile<'a>) -> Option<LayerHeader> {
        let base = tile.bytes().as_ptr() as usize;
        let start = (self.bytes.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(self.bytes.len())?;
        if end > tile.bytes().len() {
            return None;
        }
        let name_start = (self.name.as_ptr() as usize).checked_sub(self.bytes.as_ptr() as usize)?;
        Some(LayerHeader {
            body: start..end,
            index: self.index,
            name: name_start..name_start + self.name.len(),
            version: self.version,
            extent: self.extent,
            feature_count: self.feature_count,
            key_count: self.key_count,
            value_count: self.value_count,
            features: self.features.clone(),
            table_fields: self.table_fields.clone(),
            halfway: self.halfway,
        })
    }

    /// The key table. Parses both tables on first use (once per layer).
    ///
    /// # Errors
    ///
    /// A fatal error if a key is not UTF-8 or a value is malformed.
    pub fn keys(&self) -> Result<&[&'a str]> {
        self.tables().map(|t| t.keys.as_slice())
    }

    /// The value table. Parses both tables on first use (once per layer).
    ///
    /// # Errors
    ///
    /// A fatal error if a key is not UTF-8 or a value is malformed.
    pub fn values(&self) -> Result<&[Value<'a>]> {
        self.tables().map(|t| t.values.as_slice())
    }

    /// The index of `key` in the key table, for reading tags directly (see
    /// [`Feature::tags`]). Parses the tables on first use, then scans the keys.
    ///
    /// # Errors
    ///
    /// As [`Layer::keys`].
    pub fn key_index(&self, key: &str) -> Result<Option<u32>> {
        Ok(self
            .keys()?
            .iter()
            .position(|k| *k == key)
            .map(|i| i as u32))
    }

    #[inline]
    pub(crate) fn tables(&self) -> Result<&Tables<'a>> {
        self.tables
            .get_or_init(|| self.parse_tables().map(Box::new))
            .as_ref()
            .map(|tables| &**tables)
            .map_err(Clone::clone)
    }

    pub(crate) fn locate(&self, e: Error) -> Error {
        e.in_layer(self.index, Some(self.name))
    }

    fn parse_tables(&self) -> std::result::Result<Tables<'a>, Error> {
        // The counts come from the scan, so these reservations are bounded by the layer's size.
        let mut keys = Vec::with_capacity(self.key_count);
        let mut values = Vec::with_capacity(self.value_count);
        let region = &self.bytes[self.table_fields.clone()];
        let mut cursor = Cursor::new(region);
        // Strings are checked as UTF-8 a run at a time (see `text.rs`); an error found in the
        // meantime waits for the strings before it, so the first problem in the table is the
        // one reported.
        let mut run = StringRun::new(region);
        let not_utf8 = |NotUtf8(slot)| {
            let what = match slot {
                Slot::Key(i) => format!("key {i}"),
                Slot::Value(i) => format!("value {i}"),
            };
            self.locate(Error::new(ErrorKind::InvalidUtf8 { what }))
        };
        let fail = |e: Error, run: &mut StringRun<'a>, keys: &mut Vec<_>, values: &mut Vec<_>| {
            run.flush(keys, values).map_err(not_utf8)?;
            Err(self.locate(e))
        };
        while let Some(key) = cursor.peek() {
            // Keys (0x1a) and values (0x22) directly; anything else through the general path.
            let field = if key == 0x1a || key == 0x22 {
                cursor.advance(1);
                key >> 3
            } else {
                let Some(key) = cursor.field() else { break };
                let (field, wire_type) = match key {
                    Ok(key) => key,
                    Err(e) => return fail(wire("Layer", e), &mut run, &mut keys, &mut values),
                };
                if !matches!(field, 3 | 4) || wire_type != WireType::Len {
                    if let Err(e) = cursor.skip(wire_type) {
                        return fail(wire("Layer", e), &mut run, &mut keys, &mut values);
                    }
                    continue;
                }
                field as u8
            };
            let bytes = match cursor.bytes() {
                Ok(bytes) => bytes,
                Err(e) => return fail(wire("Layer", e), &mut run, &mut keys, &mut values),
            };
            let at = cursor.pos() - bytes.len();
            if field == 4 {
                // A string value in the usual encoding (field 1 and nothing else) waits for its
                // run's check in a placeholder.
                if let [0x0a, len, ref string @ ..] = *bytes
                    && len < 0x80
                    && usize::from(len) == string.len()
                {
                    let slot = Slot::Value(values.len());
                    values.push(Value::Bool(false));
                    run.push(slot, at + 2, string.len(), &mut keys, &mut values)
                        .map_err(not_utf8)?;
                    continue;
                }
                // The value and whatever follows it, so its integer can be read in one load.
                let window = &region[at..];
                if let Err(e) = push_value(&mut values, bytes, window) {
                    return fail(e, &mut run, &mut keys, &mut values);
                }
            } else {
                let slot = Slot::Key(keys.len());
                keys.push("");
                run.push(slot, at, bytes.len(), &mut keys, &mut values)
                    .map_err(not_utf8)?;
            }
        }
        run.flush(&mut keys, &mut values).map_err(not_utf8)?;
        Ok(Tables { keys, values })
    }
}

/// Steps over consecutive length-delimited fields whose one-byte key is `key`, from `pos`:
/// where the run ends and how many fields it held. Only fields with a length of one or two
/// bytes and two bytes after their key are taken; the run stops before anything else (a
/// longer length, a field that runs past the end, the last bytes), which the caller reads
/// field by field.
#[inline(never)]
pub(crate) fn skip_run(buf: &[u8], mut pos: usize, key: u8) -> (usize, usize) {
    let mut count = 0;
    while let Some(&[k, b0, b1]) = buf.get(pos..).and_then(|r| r.first_chunk::<3>()) {
        // The one-byte length first (one add from the loaded byte to the next position, the
        // loop's critical path), corrected for a two-byte one.
        let mut next = pos + 2 + usize::from(b0);
        if b0 >= 0x80 {
            if b1 >= 0x80 {
                break;
            }
            next = pos + 3 + (usize::from(b0 & 0x7f) | usize::from(b1) << 7);
        }
        if k != key || next > buf.len() {
            break;
        }
        pos = next;
        count += 1;
    }
    (pos, count)
}

/// Parses one `Value` message (spec 4.1: exactly one of the seven fields) onto the end of
/// `values`. The usual encoding, one field and nothing else, takes a direct path that builds the
/// value in place; anything else goes through the general parse, which also explains what is
/// wrong.
///
/// `window` starts where `bytes` does and may run on past it: an integer value is then decoded
/// from one 8-byte load (its length is checked against the message's all the same). Strings in
/// the usual encoding are read by the caller (see `parse_tables`); others come here.
#[inline(always)]
fn push_value<'a>(values: &mut Vec<Value<'a>>, bytes: &'a [u8], window: &[u8]) -> Result<()> {
    match *bytes {
        [0x15, a, b, c, d] => {
            values.push(Value::Float(f32::from_le_bytes([a, b, c, d])));
            return Ok(());
        }
        [0x19, a, b, c, d, e, f, g, h] => {
            values.push(Value::Double(f64::from_le_bytes([a, b, c, d, e, f, g, h])));
            return Ok(());
        }
        [tag @ (0x20 | 0x28 | 0x30 | 0x38), ref rest @ ..] => {
            let decoded = match window.get(1..).and_then(|w| w.first_chunk::<8>()) {
                Some(word) => varint_from_word(u64::from_le_bytes(*word)).ok_or(()),
                None => decode_varint(rest).map_err(drop),
            };
            if let Ok((v, n)) = decoded
                && n == rest.len()
            {
                values.push(match tag {
                    0x20 => Value::Int(v as i64),
                    0x28 => Value::UInt(v),
                    0x30 => Value::SInt(zigzag64(v)),
                    _ => Value::Bool(v != 0),
                });
                return Ok(());
            }
        }
        _ => {}
    }
    values.push(parse_value_slow(bytes, values.len())?);
    Ok(())
}

#[cold]
#[inline(never)]
fn parse_value_slow(bytes: &[u8], index: usize) -> Result<Value<'_>> {
    let mut cursor = Cursor::new(bytes);
    let mut found: Option<Value<'_>> = None;
    let bad = |problem: String| Error::new(ErrorKind::BadValue { index, problem });
    while let Some(key) = cursor.field() {
        let (field, wire_type) = key.map_err(|e| wire("Value", e))?;
        let expected = match field {
            1 => WireType::Len,
            2 => WireType::Fixed32,
            3 => WireType::Fixed64,
            4..=7 => WireType::Varint,
            // spec 4.1 and mvt-fixtures 011/026: a value type outside the seven is an error in 2.x.
            other => return Err(bad(format!("has an unknown field {other}"))),
        };
        if wire_type != expected {
            return Err(bad(format!(
                "field {field} has wire type {}, expected {}",
                wire_type.name(),
                expected.name()
            )));
        }
        let w = |e| wire("Value", e);
        let value = match field {
            1 => {
                let s = cursor.bytes().map_err(w)?;
                Value::String(std::str::from_utf8(s).map_err(|_| {
                    Error::new(ErrorKind::InvalidUtf8 {
                        what: format!("value {index}"),
                    })
                })?)
            }
            2 => Value::Float(f32::from_bits(cursor.fixed32().map_err(w)?)),
            3 => Value::Double(f64::from_bits(cursor.fixed64().map_err(w)?)),
            4 => Value::Int(cursor.varint().map_err(w)? as i64),
            5 => Value::UInt(cursor.varint().map_err(w)?),
            6 => Value::SInt(zigzag64(cursor.varint().map_err(w)?)),
            _ => Value::Bool(cursor.varint().map_err(w)? != 0),
        };
        if found.is_some() {
            return Err(bad("has more than one field".into()));
        }
        found = Some(value);
    }
    found.ok_or_else(|| bad("is empty".into()))
}

/// Iterator over a layer's features; see [`Layer::features`].
#[derive(Debug, Clone)]
pub struct Features<'l, 'a> {
    layer: &'l Layer<'a>,
    cursor: Cursor<'a>,
    index: usize,
}

impl<'a> Features<'_, 'a> {
    /// Where the next feature's message starts, as an offset for [`Layer::features_from`].
    pub fn offset(&self) -> usize {
        self.cursor.pos()
    }

    /// The number [`Feature::index`] gives the next feature.
    pub fn next_index(&self) -> usize {
        self.index
    }

    /// Steps over whole features (and any other fields among them) without reading them,
    /// until the next field starts at or after `offset` (bytes into the layer's features, as
    /// [`Features::offset`] counts) or the layer ends; [`Features::next_index`] counts the
    /// features stepped over. Splitting a layer into runs of about equal bytes this way reads
    /// only each feature's length.
    ///
    /// # Errors
    ///
    /// A wire error in the layer's fields, located as [`Features::next`] would locate it;
    /// the iterator then ends.
    pub fn skip_to(&mut self, offset: usize) -> Result<()> {
        while self.cursor.pos() < offset {
            match self.step() {
                Some(Ok(feature)) => self.index += usize::from(feature.is_some()),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok(())
    }

    /// Reads the layer's next field: a feature's bytes, `None` for another field stepped over,
    /// or a wire error, located (the iterator then ends); `None` at the end of the layer.
    #[inline(always)]
    fn step(&mut self) -> Option<Result<Option<&'a [u8]>>> {
        let key = self.cursor.peek()?;
        // 0x12 is field 2 (features), length-delimited: the common case, read directly.
        let step = if key == 0x12 {
            self.cursor.advance(1);
            self.cursor.bytes().map(Some)
        } else {
            // The layer scan already walked these fields, so wire errors cannot happen
            // here; they are handled all the same rather than trusted away.
            self.cursor.field()?.and_then(|(field, wire_type)| {
                if field == 2 && wire_type == WireType::Len {
                    self.cursor.bytes().map(Some)
                } else {
                    self.cursor.skip(wire_type).map(|()| None)
                }
            })
        };
        Some(step.map_err(|e| {
            self.cursor.finish();
            self.layer.locate(wire("Layer", e))
        }))
    }
}

impl<'l, 'a> Iterator for Features<'l, 'a> {
    type Item = Result<Feature<'l, 'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.step()? {
                Ok(Some(body)) => {
                    let index = self.index;
                    self.index += 1;
                    // A feature message's fields, read in O(bytes of the message) without
                    // allocating. The layouts encoders use take a direct path (see
                    // `read_known_layouts`); anything else (another order, unknown fields,
                    // repeats, wire type errors) the general parse, which also explains what
                    // is wrong. The usual feature is made where it is returned: made first
                    // and then returned, it was copied, and the copy read it back before the
                    // stores that made it had landed (a stall on every feature).
                    if let Some(fields) = crate::feature::read_known_layouts(body) {
                        return Some(Ok(Feature::new(self.layer, index, fields)));
                    }
                    let result = Feature::parse_general(self.layer, body, index);
                    if let Err(e) = &result
                        && e.is_fatal()
                    {
                        self.cursor.finish();
                    }
                    return Some(result);
                }
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.cursor.is_empty() {
            (0, Some(0))
        } else {
            (0, Some(self.layer.feature_count - self.index))
        }
    }
}

impl std::iter::FusedIterator for Features<'_, '_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::wire::put_varint;

    /// Counts fields the plain way, one `Cursor::field` at a time: `None` on a wire error.
    fn plain_counts(body: &[u8]) -> Option<(usize, usize, usize)> {
        let mut cursor = Cursor::new(body);
        let mut counts = (0, 0, 0);
        while let Some(key) = cursor.field() {
            let (field, wire_type) = key.ok()?;
            cursor.skip(wire_type).ok()?;
            match field {
                2 => counts.0 += 1,
                3 => counts.1 += 1,
                4 => counts.2 += 1,
                _ => {}
            }
        }
        Some(counts)
    }

    /// A point feature message of exactly `len` bytes (7 or more): the point, then an unknown
    /// field (skipped by readers) filling the rest.
    fn point_feature(len: usize) -> Vec<u8> {
        let mut body = vec![0x18, 0x01, 0x22, 0x03, 0x09, 0x02, 0x02];
        if len > body.len() {
            // Field 15, length-delimited: its key, its length (1 to 3 bytes) and the filling.
            let room = len - body.len() - 1;
            let fill = (1..=3)
                .map(|n| room.saturating_sub(n))
                .find(|&fill| {
                    let mut v = Vec::new();
                    put_varint(&mut v, fill as u64);
                    v.len() + fill == room
                })
                .expect("a length of 1 to 3 bytes fits");
            body.push(0x7a);
            put_varint(&mut body, fill as u64);
            body.resize(body.len() + fill, 0);
            assert_eq!(body.len(), len);
        }
        body
    }

    /// A layer of small features, then its tables: the scan notes the start of the feature
    /// that holds the layer's middle byte, and the features read from there are the second
    /// half of those read from the start.
    #[test]
    fn the_scan_notes_a_feature_boundary_at_the_middle() {
        let mut body = vec![0x0a, 0x01, b'l', 0x28, 0x80, 0x20];
        for i in 0..1000 {
            let feature = point_feature(if i % 2 == 0 { 7 } else { 9 + i % 7 });
            body.push(0x12);
            put_varint(&mut body, feature.len() as u64);
            body.extend(feature);
        }
        body.extend([0x1a, 0x01, b'k', 0x22, 0x02, 0x08, 0x01]);
        let layer = Layer::parse(&body, 0, crate::VersionPolicy::Strict).expect("a layer");
        let (at, index) = layer.halfway().expect("a boundary near the middle");
        let middle = body.len() / 2 - layer.features.start;
        // Before the middle by less than one feature (at most 15 bytes), its key and length.
        assert!(at <= middle && middle - at < 18, "at {at}, middle {middle}");
        let all: Vec<usize> = layer.features().map(|f| f.unwrap().index()).collect();
        let from: Vec<usize> = layer
            .features_from(at, index)
            .map(|f| f.unwrap().index())
            .collect();
        assert_eq!(from, all[index..], "from the boundary on");
        // The only feature holds the middle: its start. A feature with a three-byte length
        // there is stepped over field by field: no boundary.
        for (len, halfway) in [(100, Some((0, 0))), (20_000, None)] {
            let mut one = vec![0x0a, 0x01, b'l'];
            let feature = point_feature(len);
            one.push(0x12);
            put_varint(&mut one, feature.len() as u64);
            one.extend(feature);
            let layer = Layer::parse(&one, 0, crate::VersionPolicy::Strict).expect("a layer");
            assert_eq!(layer.halfway(), halfway, "a feature of {len} bytes");
        }
    }

    /// Layers of runs of features, keys and values with lengths of one, two and three bytes,
    /// whole and cut anywhere: the scan counts what a field-by-field walk counts, and fails
    /// where it fails; where it succeeds, the feature iterator reads every feature it counted.
    /// The first problem in the tables is the one reported, though strings are checked a run
    /// at a time: an invalid key held in a run, then a value whose field is cut, names the key;
    /// an invalid string value, then a cut one, names that value.
    #[test]
    fn the_first_problem_in_the_tables_is_reported() {
        let layer_with = |keys: &[&[u8]], values: &[&[u8]]| {
            let mut body = vec![0x0a, 0x01, b'l', 0x28, 0x80, 0x20];
            for k in keys {
                body.push(0x1a);
                put_varint(&mut body, k.len() as u64);
                body.extend_from_slice(k);
            }
            for v in values {
                body.push(0x22);
                put_varint(&mut body, v.len() as u64);
                body.extend_from_slice(v);
            }
            body
        };
        // A string value whose field claims 5 bytes where its message has 1.
        let cut: &[u8] = &[0x0a, 0x05, b'x'];
        // Keys, values, and what the error names.
        type Case<'c> = (&'c [&'c [u8]], &'c [&'c [u8]], &'c str);
        let cases: [Case<'_>; 3] = [
            (&[b"a", b"\xff"], &[cut], "key 1"),
            (&[b"a"], &[&[0x0a, 0x01, 0xff], cut], "value 0"),
            (&[b"a", b"b"], &[&[0x0a, 0x01, b'y'], cut], "Value"),
        ];
        for (keys, values, named) in cases {
            let body = layer_with(keys, values);
            let layer = Layer::parse(&body, 0, crate::VersionPolicy::Strict).expect("scanned");
            let e = layer.values().expect_err("a broken table").to_string();
            assert!(e.contains(named), "{named}: {e}");
            assert_eq!(layer.keys().expect_err("the same error").to_string(), e);
        }
    }

    #[test]
    fn runs_are_counted_as_field_by_field() {
        let mut seed = 0x0123_4567_89ab_cdefu64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..400 {
            let mut body = vec![0x0a, 0x01, b'l', 0x28, 0x80, 0x20];
            for _ in 0..next(40) {
                let key = [0x12u8, 0x1a, 0x22][next(3) as usize];
                let len = [0, 1, 7, 127, 128, 300, 16_383, 16_384][next(8) as usize];
                // Features are whole point features (7 bytes at least); keys and values any
                // bytes, as the scan does not read them.
                let field = match key {
                    0x12 => point_feature(len.max(7)),
                    _ => vec![0x08; len],
                };
                body.push(key);
                put_varint(&mut body, field.len() as u64);
                body.extend(field);
            }
            let cuts = [
                body.len(),
                body.len().saturating_sub(1),
                next(body.len() as u64) as usize,
            ];
            for cut in cuts {
                let part = &body[..cut];
                let scanned = Layer::parse(part, 0, crate::VersionPolicy::Strict).ok();
                let counts = scanned
                    .as_ref()
                    .map(|l| (l.feature_count(), l.key_count(), l.value_count()));
                // A cut through the name or extent is a missing name, not a wire error.
                if cut >= 6 {
                    assert_eq!(counts, plain_counts(part), "cut at {cut} of {}", body.len());
                }
                if let Some(layer) = scanned {
                    let read: Vec<_> = layer.features().collect();
                    assert_eq!(read.len(), layer.feature_count(), "cut at {cut}");
                    // Where each feature's field starts (its key), field by field.
                    let mut starts = Vec::new();
                    let mut plain = Cursor::new(&layer.bytes[layer.features.clone()]);
                    loop {
                        let at = plain.pos();
                        let Some(Ok((field, wire_type))) = plain.field() else {
                            break;
                        };
                        if field == 2 {
                            starts.push((at, starts.len()));
                        }
                        plain.skip(wire_type).expect("scanned");
                    }
                    for feature in read {
                        let feature = feature.expect("a whole point feature");
                        assert_eq!(feature.geom_type(), crate::GeomType::Point);
                    }
                    // The scan's halfway point is a feature's start, numbered as the walk
                    // numbers it, at or before the middle of the layer's bytes.
                    if let Some((at, index)) = layer.halfway() {
                        assert!(
                            starts.contains(&(at, index)),
                            "halfway at {at}, cut at {cut}"
                        );
                        assert!(layer.features.start + at <= layer.bytes.len() / 2);
                    }
                    // Stepping over features to an offset stops before the first feature
                    // whose field starts there or later, counting those stepped over.
                    let total = layer.features_len();
                    for to in [0, 1, next(total as u64 + 1) as usize, total / 2, total] {
                        let mut skip = layer.features();
                        skip.skip_to(to).expect("whole features");
                        match starts.iter().find(|&&(o, _)| o >= to) {
                            Some(&(_, index)) => {
                                assert_eq!(skip.next_index(), index, "skip to {to}");
                                let f = skip.next().expect("a feature").expect("readable");
                                assert_eq!(f.index(), index, "skip to {to}");
                            }
                            None => assert!(skip.next().is_none(), "skip to {to}: past the end"),
                        }
                    }
                }
            }
        }
    }
}
