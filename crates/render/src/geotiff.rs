//! GeoTIFF mosaics: RGBA in 256 x 256 Deflate-compressed tiles, with the GeoTIFF tags that
//! place the image in Web Mercator (EPSG:3857).
//!
//! The `tiff` crate writes the file's structure (header, directory, byte order, offsets) and
//! compresses; its image encoder writes strips only, so the tiles are cut here and handed to
//! its directory encoder as raw data, with the tile tags (TIFF 6.0, section 15) beside them.

use std::io::{self, Cursor, Seek, Write};
use std::path::Path;

use tiny_skia::Pixmap;

use crate::png_out::demultiply;
use crate::{Error, Result};
use tiff::encoder::compression::{CompressionAlgorithm, Deflate, DeflateLevel};
use tiff::encoder::{DirectoryEncoder, TiffEncoder, TiffKind, TiffKindBig, TiffKindStandard};
use tiff::tags::{
    CompressionMethod, ExtraSamples, PhotometricInterpretation, PlanarConfiguration, SampleFormat,
    Tag,
};

/// The side of a GeoTIFF tile, in pixels.
pub const GEOTIFF_TILE: u32 = 256;

/// Where an image lies in Web Mercator (EPSG:3857): its top-left corner and pixel size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Georef {
    /// The left edge of the image (of its first pixel, not the pixel's centre), metres.
    pub left: f64,
    /// The top edge of the image, metres.
    pub top: f64,
    /// The side of one (square) pixel, metres.
    pub pixel: f64,
}

/// GeoTIFF 1.0 key ids and values (OGC 19-008r4, section 7 and annex C).
const GT_MODEL_TYPE: u16 = 1024;
const GT_RASTER_TYPE: u16 = 1025;
const PROJECTED_CRS: u16 = 3072;
const MODEL_TYPE_PROJECTED: u16 = 1;
const RASTER_PIXEL_IS_AREA: u16 = 1;
const EPSG_WEB_MERCATOR: u16 = 3857;

/// Classic TIFF addresses 4 GiB; larger images (by their uncompressed size, a bound on what
/// Deflate writes plus a margin for the directory) are written as BigTIFF.
const CLASSIC_LIMIT: u64 = 0xF000_0000;

/// Writes a `width` x `height` GeoTIFF to `out`: `draw` is given a sink for the image's
/// straight (not premultiplied) RGBA rows, top to bottom, `width * 4` bytes each; the tiles are
/// compressed and written as their rows arrive, so at most one band of 256 rows is held.
/// `text` goes into the ImageDescription, Software and Copyright tags.
///
/// # Errors
///
/// `draw`'s errors, or I/O errors (also when `draw` writes more or fewer rows than `height`).
pub(crate) fn write_geotiff<W, T, E>(
    out: W,
    width: u32,
    height: u32,
    georef: Georef,
    text: &TiffText,
    draw: impl FnOnce(&mut (dyn Write + Send)) -> Result<T, E>,
) -> Result<Result<T, E>, io::Error>
where
    W: Write + Seek + Send,
{
    let big = u64::from(width) * u64::from(height) * 4 > CLASSIC_LIMIT;
    write_geotiff_as(big, out, width, height, georef, text, draw)
}

/// [`write_geotiff`] as BigTIFF or classic TIFF.
fn write_geotiff_as<W, T, E>(
    big: bool,
    out: W,
    width: u32,
    height: u32,
    georef: Georef,
    text: &TiffText,
    draw: impl FnOnce(&mut (dyn Write + Send)) -> Result<T, E>,
) -> Result<Result<T, E>, io::Error>
where
    W: Write + Seek + Send,
{
    if big {
        let enc = TiffEncoder::new_big(out).map_err(tiff_io)?;
        write_with::<W, TiffKindBig, T, E>(enc, width, height, georef, text, draw)
    } else {
        let enc = TiffEncoder::new(out).map_err(tiff_io)?;
        write_with::<W, TiffKindStandard, T, E>(enc, width, height, georef, text, draw)
    }
}

/// The text tags of a GeoTIFF.
#[derive(Debug, Clone, Default)]
pub(crate) struct TiffText {
    pub description: String,
    pub software: String,
    pub copyright: String,
}

/// Writes `pixmap` (a tile, say) as a GeoTIFF at `path`, placed at `georef`, with the
/// attribution in its Copyright tag and `description` in its ImageDescription. The file is
/// written whole or not at all (a temporary file renamed). Returns its size in bytes.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written.
pub fn write_geotiff_image(
    pixmap: &Pixmap,
    georef: Georef,
    description: &str,
    path: &Path,
) -> Result<u64> {
    let text = TiffText {
        description: description.to_string(),
        software: format!("mlytiles {}", env!("CARGO_PKG_VERSION")),
        copyright: crate::mosaic::ATTRIBUTION.to_string(),
    };
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let (w, h) = (pixmap.width(), pixmap.height());
    let mut out = Cursor::new(Vec::new());
    write_geotiff(&mut out, w, h, georef, &text, |sink| {
        let mut row = Vec::with_capacity(w as usize * 4);
        for line in pixmap.data().chunks_exact(w as usize * 4) {
            row.clear();
            row.extend(
                line.chunks_exact(4)
                    .flat_map(|p| demultiply([p[0], p[1], p[2], p[3]])),
            );
            sink.write_all(&row)?;
        }
        Ok::<(), io::Error>(())
    })
    .and_then(|drawn| drawn)
    .map_err(io_err)?;
    let bytes = out.into_inner();
    mlytiles_store::write_atomic(path, &bytes).map_err(io_err)?;
    Ok(bytes.len() as u64)
}

fn write_with<W, K, T, E>(
    mut enc: TiffEncoder<W, K>,
    width: u32,
    height: u32,
    georef: Georef,
    text: &TiffText,
    draw: impl FnOnce(&mut (dyn Write + Send)) -> Result<T, E>,
) -> Result<Result<T, E>, io::Error>
where
    W: Write + Seek + Send,
    K: TiffKind + Send,
{
    let mut dir = enc.image_directory().map_err(tiff_io)?;
    let mut tiles = TileWriter {
        dir: &mut dir,
        width,
        height,
        band: Vec::new(),
        filled: 0,
        rows_done: 0,
        offsets: Vec::new(),
        counts: Vec::new(),
    };
    let drawn = draw(&mut tiles);
    if drawn.is_err() {
        return Ok(drawn);
    }
    tiles.flush_band()?;
    if tiles.rows_done != height {
        return Err(io::Error::other(format!(
            "GeoTIFF: {} rows written of {height}",
            tiles.rows_done
        )));
    }
    let offsets = tiles
        .offsets
        .iter()
        .map(|&o| K::convert_offset(o))
        .collect::<Result<Vec<K::OffsetType>, _>>()
        .map_err(tiff_io)?;
    let counts = std::mem::take(&mut tiles.counts);
    let d = &mut dir;
    d.write_tag(Tag::ImageWidth, width).map_err(tiff_io)?;
    d.write_tag(Tag::ImageLength, height).map_err(tiff_io)?;
    d.write_tag(Tag::BitsPerSample, &[8u16, 8, 8, 8][..])
        .map_err(tiff_io)?;
    let deflate = CompressionMethod::Deflate.to_u16();
    d.write_tag(Tag::Compression, deflate).map_err(tiff_io)?;
    let rgb = PhotometricInterpretation::RGB.to_u16();
    d.write_tag(Tag::PhotometricInterpretation, rgb)
        .map_err(tiff_io)?;
    d.write_tag(Tag::ImageDescription, &*text.description)
        .map_err(tiff_io)?;
    d.write_tag(Tag::SamplesPerPixel, 4u16).map_err(tiff_io)?;
    let chunky = PlanarConfiguration::Chunky.to_u16();
    d.write_tag(Tag::PlanarConfiguration, chunky)
        .map_err(tiff_io)?;
    d.write_tag(Tag::Software, &*text.software)
        .map_err(tiff_io)?;
    d.write_tag(Tag::TileWidth, GEOTIFF_TILE).map_err(tiff_io)?;
    d.write_tag(Tag::TileLength, GEOTIFF_TILE)
        .map_err(tiff_io)?;
    d.write_tag(Tag::TileOffsets, K::convert_slice(&offsets))
        .map_err(tiff_io)?;
    d.write_tag(Tag::TileByteCounts, &counts[..])
        .map_err(tiff_io)?;
    // The fourth sample is alpha, not premultiplied (TIFF 6.0, ExtraSamples).
    let alpha = [ExtraSamples::UnassociatedAlpha];
    d.write_tag(Tag::ExtraSamples, &alpha[..])
        .map_err(tiff_io)?;
    d.write_tag(Tag::SampleFormat, &[SampleFormat::Uint; 4][..])
        .map_err(tiff_io)?;
    d.write_tag(Tag::Copyright, &*text.copyright)
        .map_err(tiff_io)?;
    // Pixel i, j's top-left corner is (left + i * pixel, top - j * pixel): the raster point
    // (0, 0) ties to the model point (left, top), and y grows down in the raster.
    let scale = [georef.pixel, georef.pixel, 0.0];
    d.write_tag(Tag::ModelPixelScaleTag, &scale[..])
        .map_err(tiff_io)?;
    let tie = [0.0, 0.0, 0.0, georef.left, georef.top, 0.0];
    d.write_tag(Tag::ModelTiepointTag, &tie[..])
        .map_err(tiff_io)?;
    // Header (directory version 1, revision 1.0, 3 keys), then id, location 0 (the value is
    // in the entry), count 1, value; keys in increasing id order.
    let keys: [u16; 16] = [
        1,
        1,
        0,
        3,
        GT_MODEL_TYPE,
        0,
        1,
        MODEL_TYPE_PROJECTED,
        GT_RASTER_TYPE,
        0,
        1,
        RASTER_PIXEL_IS_AREA,
        PROJECTED_CRS,
        0,
        1,
        EPSG_WEB_MERCATOR,
    ];
    d.write_tag(Tag::GeoKeyDirectoryTag, &keys[..])
        .map_err(tiff_io)?;
    dir.finish().map_err(tiff_io)?;
    Ok(drawn)
}

/// The rows of the image, cut into tiles a band of 256 rows at a time.
struct TileWriter<'d, 'a, W: Write + Seek, K: TiffKind> {
    dir: &'d mut DirectoryEncoder<'a, W, K>,
    width: u32,
    height: u32,
    /// Up to 256 rows of the current band, `width * 4` bytes each.
    band: Vec<u8>,
    /// Bytes of `band` filled.
    filled: usize,
    /// Rows of the image written out as tiles.
    rows_done: u32,
    offsets: Vec<u64>,
    counts: Vec<u32>,
}

impl<W: Write + Seek, K: TiffKind> TileWriter<'_, '_, W, K> {
    fn row_bytes(&self) -> usize {
        self.width as usize * 4
    }

    /// The band's capacity: 256 rows, or the rows left.
    fn band_bytes(&self) -> usize {
        let rows = (self.height - self.rows_done).min(GEOTIFF_TILE);
        rows as usize * self.row_bytes()
    }

    /// Compresses the band's tiles (the last ones padded with transparent pixels, as TIFF
    /// tiles are whole) and writes them left to right.
    fn flush_band(&mut self) -> io::Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        let row_bytes = self.row_bytes();
        if !self.filled.is_multiple_of(row_bytes) {
            return Err(io::Error::other("GeoTIFF: a partial row at the end"));
        }
        let rows = self.filled / row_bytes;
        let t = GEOTIFF_TILE as usize;
        let mut tile = vec![0u8; t * t * 4];
        let mut packed = Vec::new();
        for x0 in (0..self.width as usize).step_by(t) {
            let w = (self.width as usize - x0).min(t);
            tile.fill(0);
            for r in 0..rows {
                let src = &self.band[r * row_bytes + x0 * 4..][..w * 4];
                tile[r * t * 4..][..w * 4].copy_from_slice(src);
            }
            packed.clear();
            // Level 6, not 1: on the sample area a 4096 px mosaic takes 256 KiB instead of
            // 607 KiB, and GeoTIFFs are files kept, not tiles served.
            Deflate::with_level(DeflateLevel::Balanced).write_to(&mut packed, &tile)?;
            let offset = self.dir.write_data(&packed[..]).map_err(tiff_io)?;
            self.offsets.push(offset);
            self.counts.push(packed.len() as u32);
        }
        self.rows_done += rows as u32;
        self.filled = 0;
        Ok(())
    }
}

impl<W: Write + Seek, K: TiffKind> Write for TileWriter<'_, '_, W, K> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let cap = self.band_bytes();
        if cap == 0 {
            return Err(io::Error::other(format!(
                "GeoTIFF: more rows than the image's {}",
                self.height
            )));
        }
        if self.band.len() < cap {
            self.band.resize(cap, 0);
        }
        let n = buf.len().min(cap - self.filled);
        self.band[self.filled..self.filled + n].copy_from_slice(&buf[..n]);
        self.filled += n;
        if self.filled == cap {
            self.flush_band()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tiff_io(e: tiff::TiffError) -> io::Error {
    match e {
        tiff::TiffError::IoError(e) => e,
        e => io::Error::other(format!("GeoTIFF: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use tiff::decoder::{Decoder, DecodingResult};

    fn encode(big: bool, width: u32, height: u32, rows: &[u8]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let georef = Georef {
            left: -1000.0,
            top: 2000.0,
            pixel: 2.5,
        };
        write_geotiff_as(
            big,
            &mut out,
            width,
            height,
            georef,
            &TiffText::default(),
            |sink| -> io::Result<()> {
                // Uneven pieces: the sink must not care how rows are split.
                for piece in rows.chunks(7) {
                    sink.write_all(piece)?;
                }
                Ok(())
            },
        )
        .expect("written")
        .expect("drawn");
        out.into_inner()
    }

    #[test]
    fn tiles_decode_to_the_rows_written_with_the_georeference() {
        // 300 x 270: four tiles, three of them cut by the image's edges.
        let (w, h) = (300u32, 270u32);
        let rows: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        for big in [false, true] {
            let bytes = encode(big, w, h, &rows);
            // "II*\0" for classic TIFF, "II+\0" for BigTIFF (little-endian either way).
            assert_eq!(bytes[2], if big { 43 } else { 42 });
            check_decodes(bytes, w, h, &rows);
        }
    }

    fn check_decodes(bytes: Vec<u8>, w: u32, h: u32, rows: &[u8]) {
        let mut dec = Decoder::new(Cursor::new(bytes)).expect("tiff");
        assert_eq!(dec.dimensions().expect("size"), (w, h));
        assert_eq!(dec.chunk_dimensions(), (GEOTIFF_TILE, GEOTIFF_TILE));
        let compression = dec.get_tag_u32(Tag::Compression).expect("compression");
        assert_eq!(compression, u32::from(CompressionMethod::Deflate.to_u16()));
        match dec.read_image().expect("pixels") {
            DecodingResult::U8(px) => assert!(px == rows, "pixels differ"),
            other => panic!("not 8-bit: {:?}", std::mem::discriminant(&other)),
        }
        let scale = dec.get_tag_f64_vec(Tag::ModelPixelScaleTag).expect("scale");
        assert_eq!(scale, [2.5, 2.5, 0.0]);
        let tie = dec
            .get_tag_f64_vec(Tag::ModelTiepointTag)
            .expect("tiepoint");
        assert_eq!(tie, [0.0, 0.0, 0.0, -1000.0, 2000.0, 0.0]);
        let keys = dec.get_tag_u16_vec(Tag::GeoKeyDirectoryTag).expect("keys");
        // Version 1.1.0, 3 keys; projected; pixel is area; EPSG:3857.
        let want = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 3857];
        assert_eq!(keys, want);
    }

    #[test]
    fn too_few_rows_fail() {
        let mut out = Cursor::new(Vec::new());
        let georef = Georef {
            left: 0.0,
            top: 0.0,
            pixel: 1.0,
        };
        let err = write_geotiff(&mut out, 4, 3, georef, &TiffText::default(), |sink| {
            sink.write_all(&[0; 4 * 4 * 2])
        })
        .expect_err("short image");
        assert!(err.to_string().contains("2 rows written of 3"), "{err}");
    }
}
