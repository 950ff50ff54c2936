//! The PMTiles v3 header and directories, decoded with every count and offset checked.

use std::io::Read;

/// The header's length (spec: 127 bytes, then the root directory).
pub(crate) const HEADER_LEN: usize = 127;

/// The most bytes a directory or the metadata inflates to (a directory of 4 bytes an entry
/// at least: some 8 million tiles a directory, far beyond what writers make).
pub const MAX_DIRECTORY_BYTES: u64 = 32 << 20;

/// How deep leaf directories may nest below the root (writers use one level).
pub const MAX_LEAF_DEPTH: usize = 4;

/// The most entries a directory may hold (24 MiB decoded): a writer's root holds at most some
/// 16 thousand and its leaves tens of thousands even for the planet.
pub const MAX_DIRECTORY_ENTRIES: u64 = 1 << 20;

/// The most tiles one listing expands run lengths to.
pub const MAX_LISTED: u64 = 1 << 26;

/// Internal (directory and metadata) compression: spec values 1 none, 2 gzip.
const NONE: u8 = 1;
const GZIP: u8 = 2;

/// One directory entry: a run of tiles (`run_length > 0`) or a leaf directory (`0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry {
    /// The first tile id.
    pub tile_id: u64,
    /// Where the tile or leaf starts, relative to the data or leaf section.
    pub offset: u64,
    /// Its length in bytes.
    pub length: u32,
    /// How many consecutive tile ids share these bytes; 0 for a leaf directory.
    pub run_length: u32,
}

/// What the header of a PMTiles v3 archive says, checked against the file's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchiveHeader {
    /// The root directory (offset, length).
    pub root: (u64, u64),
    /// The metadata (offset, length).
    pub metadata: (u64, u64),
    /// The leaf directories (offset, length).
    pub leaves: (u64, u64),
    /// The tile data (offset, length).
    pub data: (u64, u64),
    /// Tiles addressed (sum of run lengths), 0 if unknown.
    pub addressed_tiles: u64,
    /// Tile contents stored, 0 if unknown.
    pub tile_contents: u64,
    /// Whether tiles are stored in tile id order.
    pub clustered: bool,
    /// Compression of the directories and metadata (spec value).
    pub internal_compression: u8,
    /// Compression of the tiles (spec value: 1 none, 2 gzip, 3 brotli, 4 zstd).
    pub tile_compression: u8,
    /// Tile type (spec value: 1 MVT, 2 PNG, 3 JPEG, 4 WebP, 5 AVIF).
    pub tile_type: u8,
    /// The first zoom.
    pub min_zoom: u8,
    /// The last zoom.
    pub max_zoom: u8,
    /// West, south, east, north in degrees.
    pub bounds: [f64; 4],
}

impl ArchiveHeader {
    /// Decodes the header (`bytes`, at least its 127 bytes) of a file of `size` bytes.
    pub(crate) fn parse(bytes: &[u8], size: u64) -> Result<ArchiveHeader, String> {
        if bytes.len() < HEADER_LEN || !bytes.starts_with(b"PMTiles") {
            return Err("not a PMTiles archive (no \"PMTiles\" header)".into());
        }
        if bytes[7] != 3 {
            return Err(format!("spec version {} (only 3 is read)", bytes[7]));
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let degrees = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&bytes[at..at + 4]);
            f64::from(i32::from_le_bytes(b)) / 1e7
        };
        let section = |name: &str, at: usize| -> Result<(u64, u64), String> {
            let (offset, len) = (u64_at(at), u64_at(at + 8));
            match offset.checked_add(len) {
                Some(end) if end <= size => Ok((offset, len)),
                _ => Err(format!(
                    "the {name} (bytes {offset}+{len}) lies beyond the end of the file ({size} bytes)"
                )),
            }
        };
        let header = ArchiveHeader {
            root: section("root directory", 8)?,
            metadata: section("metadata", 24)?,
            leaves: section("leaf directories", 40)?,
            data: section("tile data", 56)?,
            addressed_tiles: u64_at(72),
            tile_contents: u64_at(88),
            clustered: bytes[96] == 1,
            internal_compression: bytes[97],
            tile_compression: bytes[98],
            tile_type: bytes[99],
            min_zoom: bytes[100],
            max_zoom: bytes[101],
            bounds: [degrees(102), degrees(106), degrees(110), degrees(114)],
        };
        if header.root.1 == 0 {
            return Err("the root directory is empty".into());
        }
        if !matches!(header.internal_compression, NONE | GZIP) {
            return Err(format!(
                "directories compressed with method {} (only none and gzip are read)",
                header.internal_compression
            ));
        }
        Ok(header)
    }

    /// The leaf directory `entry` points at, as (file offset, length), inside the leaf section.
    pub(crate) fn leaf_section(&self, entry: &Entry) -> Result<(u64, u64), String> {
        inside(self.leaves, entry, "leaf directory")
    }

    /// The tile `entry` points at, as (file offset, length), inside the data section.
    pub(crate) fn data_section(&self, entry: &Entry) -> Result<(u64, u64), String> {
        inside(self.data, entry, "tile")
    }

    /// The MBTiles `format` name of the tile type.
    pub fn format_name(&self) -> &'static str {
        match self.tile_type {
            1 => "pbf",
            2 => "png",
            3 => "jpg",
            4 => "webp",
            5 => "avif",
            _ => "unknown",
        }
    }
}

/// `entry`'s bytes as a file (offset, length), checked to lie inside `section`.
fn inside(section: (u64, u64), entry: &Entry, what: &str) -> Result<(u64, u64), String> {
    let len = u64::from(entry.length);
    match entry.offset.checked_add(len) {
        Some(end) if end <= section.1 && len > 0 => Ok((section.0 + entry.offset, len)),
        _ => Err(format!(
            "{what} of tile id {} (bytes {}+{len}) lies outside its section of {} bytes",
            entry.tile_id, entry.offset, section.1
        )),
    }
}

/// `bytes` inflated per the internal `compression`, refused past `limit` bytes.
pub(crate) fn inflate(bytes: &[u8], compression: u8, limit: u64) -> Result<Vec<u8>, String> {
    if compression == NONE {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("inflates beyond {limit} bytes"));
    }
    Ok(out)
}

/// One varint (spec: protobuf-style, at most 10 bytes).
fn varint(buf: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&b, rest)) = buf.split_first() else {
            return Err("a directory ends inside a number".into());
        };
        *buf = rest;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(value);
        }
    }
    Err("a number in a directory is longer than 10 bytes".into())
}

fn varint_u32(buf: &mut &[u8], what: &str) -> Result<u32, String> {
    let v = varint(buf)?;
    u32::try_from(v).map_err(|_| format!("{what} {v} does not fit 32 bits"))
}

/// Decodes a directory (spec 4.x: count, then tile id deltas, run lengths, lengths, offsets).
pub(crate) fn parse_directory(raw: &[u8]) -> Result<Vec<Entry>, String> {
    let mut buf = raw;
    let count = varint(&mut buf)?;
    // Each entry takes at least one byte for each of its four numbers.
    if count > MAX_DIRECTORY_ENTRIES {
        return Err(format!(
            "{count} entries, more than the {MAX_DIRECTORY_ENTRIES} a directory may hold"
        ));
    }
    if count > buf.len() as u64 / 4 {
        return Err(format!("{count} entries cannot fit in {} bytes", buf.len()));
    }
    let mut entries = vec![Entry::default(); count as usize];
    let mut id = 0u64;
    for (i, e) in entries.iter_mut().enumerate() {
        let delta = varint(&mut buf)?;
        if i > 0 && delta == 0 {
            return Err(format!("entry {i}: tile ids do not increase"));
        }
        id = id
            .checked_add(delta)
            .filter(|id| *id <= pmtiles::MAX_TILE_ID)
            .ok_or_else(|| format!("entry {i}: tile id beyond the deepest zoom"))?;
        e.tile_id = id;
    }
    for e in &mut entries {
        e.run_length = varint_u32(&mut buf, "run length")?;
    }
    for (i, e) in entries.iter_mut().enumerate() {
        e.length = varint_u32(&mut buf, "length")?;
        if e.length == 0 {
            return Err(format!("entry {i}: length 0"));
        }
    }
    for i in 0..entries.len() {
        let v = varint(&mut buf)?;
        entries[i].offset = if v == 0 {
            // spec: 0 means right after the previous entry's bytes.
            let Some(prev) = i.checked_sub(1).map(|p| entries[p]) else {
                return Err("the first entry's offset refers to a previous entry".into());
            };
            prev.offset
                .checked_add(u64::from(prev.length))
                .ok_or("an offset overflows")?
        } else {
            v - 1
        };
    }
    Ok(entries)
}

/// The entry addressing `id` in a sorted directory: a tile run holding it, or the leaf
/// directory covering it.
pub(crate) fn find(dir: &[Entry], id: u64) -> Option<Entry> {
    let at = dir.partition_point(|e| e.tile_id <= id);
    let entry = *dir.get(at.checked_sub(1)?)?;
    let held = entry.run_length == 0 || id - entry.tile_id < u64::from(entry.run_length);
    held.then_some(entry)
}
