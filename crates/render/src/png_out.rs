//! PNG encoding: fast compression, a palette when the image has few colours, text chunks.

use std::io::Write;

use tiny_skia::Pixmap;

use crate::raster::Canvas;

use crate::{Error, Result};

/// How to encode a PNG.
#[derive(Debug, Clone)]
pub struct PngOptions {
    /// Write an indexed (palette) PNG when the image has at most 256 colours (RGBA
    /// otherwise). Default `true`.
    pub palette: bool,
    /// Spend more time for smaller files (`png::Compression::Balanced` instead of `Fast`, and
    /// palette images filtered row by row adaptively rather than with `Sub` throughout: about
    /// 10% smaller). Default `false`.
    pub small: bool,
    /// `tEXt` chunks as (keyword, text), such as the attribution. Default empty.
    pub text: Vec<(String, String)>,
}

impl Default for PngOptions {
    fn default() -> Self {
        PngOptions {
            palette: true,
            small: false,
            text: Vec::new(),
        }
    }
}

/// Premultiplied to straight RGBA.
#[inline]
pub(crate) fn demultiply(p: [u8; 4]) -> [u8; 4] {
    let a = p[3];
    match a {
        0 => [0, 0, 0, 0],
        255 => p,
        _ => {
            let f = |c: u8| ((u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8;
            [f(p[0]), f(p[1]), f(p[2]), a]
        }
    }
}

/// The distinct colours of premultiplied RGBA pixels, if there are at most 256, with each
/// pixel's index, in the order first met.
pub(crate) fn palette_of(data: &[u8]) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
    palette_by_alpha(data).or_else(|| palette_hashed(data))
}

/// [`palette_of`] for the common image where each alpha has one colour (one colour class,
/// anti-aliased over transparency): a table by alpha, one compare a pixel. `None` when two
/// colours share an alpha.
fn palette_by_alpha(data: &[u8]) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
    // Per alpha: the colour met (as u32), and its index + 1 (0 = none yet).
    let mut colour = [0u32; 256];
    let mut index = [0u16; 256];
    let mut colours: Vec<[u8; 4]> = Vec::new();
    let mut indices = vec![0u8; data.len() / 4];
    for (px, out) in data.chunks_exact(4).zip(indices.iter_mut()) {
        let c = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
        let a = usize::from(px[3]);
        let i = index[a];
        if i != 0 && colour[a] == c {
            *out = (i - 1) as u8;
            continue;
        }
        if i != 0 {
            return None;
        }
        // At most 256 alphas, so the palette never overflows here.
        colour[a] = c;
        index[a] = colours.len() as u16 + 1;
        *out = colours.len() as u8;
        colours.push([px[0], px[1], px[2], px[3]]);
    }
    Some((colours, indices))
}

/// [`palette_of`] for any image, through a hash table of the colours.
fn palette_hashed(data: &[u8]) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
    // Open addressing over 1024 slots: key + 1 (0 = empty), value = index.
    const SLOTS: usize = 1024;
    let mut keys = [0u64; SLOTS];
    let mut vals = [0u8; SLOTS];
    let mut colours: Vec<[u8; 4]> = Vec::new();
    let mut indices = Vec::with_capacity(data.len() / 4);
    let mut last: Option<(u32, u8)> = None;
    for px in data.chunks_exact(4) {
        let c = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
        if let Some((lc, li)) = last
            && lc == c
        {
            indices.push(li);
            continue;
        }
        let key = u64::from(c) + 1;
        let mut slot = (c.wrapping_mul(0x9E37_79B1) >> 22) as usize;
        let idx = loop {
            if keys[slot] == key {
                break vals[slot];
            }
            if keys[slot] == 0 {
                if colours.len() == 256 {
                    return None;
                }
                keys[slot] = key;
                vals[slot] = colours.len() as u8;
                colours.push([px[0], px[1], px[2], px[3]]);
                break vals[slot];
            }
            slot = (slot + 1) % SLOTS;
        };
        last = Some((c, idx));
        indices.push(idx);
    }
    Some((colours, indices))
}

/// A PNG header for `width` x `height`, indexed with `palette` (premultiplied colours) or RGBA.
pub(crate) fn encoder<W: Write>(
    out: W,
    width: u32,
    height: u32,
    palette: Option<&[[u8; 4]]>,
    options: &PngOptions,
) -> Result<png::Writer<W>> {
    let mut enc = png::Encoder::new(out, width, height);
    enc.set_compression(if options.small {
        png::Compression::Balanced
    } else {
        png::Compression::Fast
    });
    match palette {
        Some(colours) => {
            let straight: Vec<[u8; 4]> = colours.iter().map(|&c| demultiply(c)).collect();
            enc.set_color(png::ColorType::Indexed);
            enc.set_depth(png::BitDepth::Eight);
            // The adaptive filter tries five filters on every row; on palette indices (not
            // values a neighbour predicts well) it gains little: the densest tile's PNG takes
            // 0.47 ms and 55 KB with Sub alone, 0.75 ms and 50 KB adaptive.
            if !options.small {
                enc.set_filter(png::Filter::Sub);
            }
            enc.set_palette(
                straight
                    .iter()
                    .flat_map(|c| [c[0], c[1], c[2]])
                    .collect::<Vec<u8>>(),
            );
            // tRNS may stop at the last non-opaque entry.
            let last = straight
                .iter()
                .rposition(|c| c[3] != 255)
                .map_or(0, |i| i + 1);
            if last > 0 {
                enc.set_trns(straight[..last].iter().map(|c| c[3]).collect::<Vec<u8>>());
            }
        }
        None => {
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
        }
    }
    for (k, v) in &options.text {
        enc.add_text_chunk(k.clone(), v.clone()).map_err(png_err)?;
    }
    enc.write_header().map_err(png_err)
}

pub(crate) fn png_err(e: png::EncodingError) -> Error {
    Error::Png(e.to_string())
}

/// Encodes a pixmap as PNG: indexed when it has at most 256 colours and `options.palette`,
/// RGBA otherwise.
///
/// # Errors
///
/// [`Error::Png`] if encoding fails.
pub fn encode_png(pixmap: &Pixmap, options: &PngOptions) -> Result<Vec<u8>> {
    let (w, h) = (pixmap.width(), pixmap.height());
    let data = pixmap.data();
    let mut out = Vec::with_capacity(data.len() / 8 + 1024);
    let palette = if options.palette {
        palette_of(data)
    } else {
        None
    };
    match palette {
        Some((colours, indices)) => return encode_indexed(w, h, &colours, &indices, options),
        None => {
            let straight: Vec<u8> = data
                .chunks_exact(4)
                .flat_map(|p| demultiply([p[0], p[1], p[2], p[3]]))
                .collect();
            let mut writer = encoder(&mut out, w, h, None, options)?;
            writer.write_image_data(&straight).map_err(png_err)?;
            writer.finish().map_err(png_err)?;
        }
    }
    Ok(out)
}

/// A canvas as an indexed PNG: [`Canvas::take_palette_indices_each`] (which leaves the canvas
/// blank when it can be indexed, as it was otherwise), then [`encode_indexed`]. In the
/// usual (fast) encoding, each run of rows is compressed on the calling thread as soon as
/// its indices are final, while the next runs' are worked out (on another thread when the
/// pool has one free): the palette is not known until the last run is indexed, but it goes
/// into the PNG's header, which the compressed rows follow. `None` where the canvas cannot
/// be indexed or `options` want no palette; with the time the indices took from the start
/// (in the fast encoding, the compressing overlaps them).
///
/// The fast encoding filters the rows with `Sub` and compresses them by fdeflate into one
/// zlib stream, as [`encoder`] has the png crate do for a fast palette image: the same bytes.
/// (The png crate filters rows only as it writes them, after the header: not before the
/// palette is known.)
pub(crate) fn encode_canvas_indexed(
    canvas: &mut Canvas,
    background: Option<[u8; 4]>,
    options: &PngOptions,
) -> Option<(Result<CanvasPng>, std::time::Duration)> {
    if !options.palette {
        return None;
    }
    let (width, height) = (canvas.width, canvas.height);
    if options.small {
        // Adaptive filters and another compressor, through the png crate: after the indices.
        let indexed = canvas
            .take_palette_indices_each(background, |_| Ok::<(), std::convert::Infallible>(()));
        let image = match indexed? {
            Ok(image) => image,
            Err(never) => match never {},
        };
        let bytes = encode_indexed(width, height, &image.colours, &image.indices, options);
        crate::raster::give_back(image.indices);
        return Some((
            bytes.map(|bytes| CanvasPng {
                bytes,
                colours: image.colours,
            }),
            image.indexed_in,
        ));
    }
    // fdeflate's output on these images is a fifth of the rows' bytes or less; a spare
    // plane's bytes (pages mapped) when there is one.
    let rows = width as usize * height as usize;
    let mut out = crate::raster::scratch_room(rows);
    out.reserve(rows / 2 + 1024);
    let mut zlib = match fdeflate::Compressor::new(out) {
        Ok(z) => z,
        Err(e) => return Some((Err(io_err(e)), std::time::Duration::ZERO)),
    };
    let line = (width as usize).max(1);
    let mut row = vec![0u8; line + 1];
    let image = canvas.take_palette_indices_each(background, |rows: &[u8]| {
        for px in rows.chunks(line) {
            sub_filter(px, &mut row);
            zlib.write_data(&row[..px.len() + 1])?;
        }
        Ok(())
    })?;
    let indexed_in = image
        .as_ref()
        .map_or(std::time::Duration::ZERO, |i| i.indexed_in);
    let encoded = (|| {
        let image = image.map_err(io_err)?;
        // Compressed: the indices' bytes are kept for another plane.
        crate::raster::give_back(image.indices);
        let zlib = zlib.finish().map_err(io_err)?;
        // The indices' bytes, just given back, when nothing else took them.
        let mut out = crate::raster::scratch_room(rows);
        out.reserve(zlib.len() + 2048);
        let mut writer = encoder(
            &mut out,
            width,
            height,
            Some(image.colours.as_slice()),
            options,
        )?;
        writer
            .write_chunk(png::chunk::IDAT, &zlib)
            .map_err(png_err)?;
        writer.finish().map_err(png_err)?;
        crate::raster::give_back(zlib);
        Ok(CanvasPng {
            bytes: out,
            colours: image.colours,
        })
    })();
    Some((encoded, indexed_in))
}

/// A canvas's PNG and its palette (premultiplied): [`encode_canvas_indexed`].
pub(crate) struct CanvasPng {
    pub bytes: Vec<u8>,
    pub colours: Vec<[u8; 4]>,
}

fn io_err(e: std::io::Error) -> Error {
    Error::Png(e.to_string())
}

/// A row filtered with PNG's `Sub` (each byte minus the one before it; one byte a pixel),
/// its filter type first.
fn sub_filter(line: &[u8], out: &mut [u8]) {
    out[0] = 1;
    let mut prev = 0u8;
    for (o, &b) in out[1..].iter_mut().zip(line) {
        *o = b.wrapping_sub(prev);
        prev = b;
    }
}

/// Encodes palette indices (`colours` premultiplied) as an indexed PNG.
pub(crate) fn encode_indexed(
    width: u32,
    height: u32,
    colours: &[[u8; 4]],
    indices: &[u8],
    options: &PngOptions,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(indices.len() / 2 + 1024);
    let mut writer = encoder(&mut out, width, height, Some(colours), options)?;
    writer.write_image_data(indices).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (png::ColorType, Vec<u8>, u32, u32) {
        let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut reader = dec.read_info().unwrap();
        let color = reader.info().color_type;
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (color, buf, info.width, info.height)
    }

    /// The canvas encoded with its rows compressed as their indices are found is byte for byte
    /// the PNG of its palette indices encoded after them, on one thread or two, and so is its small
    /// encoding; a canvas that cannot be indexed, or no palette asked for, is left to RGBA.
    #[test]
    fn a_canvas_encoded_while_indexed_is_the_png_of_its_indices() {
        let colours = [[5, 203, 99, 255], [255, 62, 181, 255], [191, 191, 191, 192]];
        let (w, h) = (300u32, 240u32);
        let mut rng = crate::raster::tests::Rng(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next();
        let options = PngOptions::default();
        let mut compared = 0;
        for (classes, lines) in [(0, 0), (1, 30), (2, 2), (2, 600), (3, 5)] {
            let mut c = Canvas::new(w, h, &colours, false);
            let clip = c.full_clip();
            for class in 0..classes {
                // Each class in a band of its own (crossings make more than 256 colours),
                // except in the many-lines case.
                let band = h as f32 / classes as f32;
                let y = |v: f32| {
                    if lines >= 600 {
                        v * h as f32
                    } else {
                        (class as f32 + v) * band
                    }
                };
                for _ in 0..lines {
                    let a = (next() * w as f32, y(next()));
                    let b = (next() * w as f32, y(next()));
                    if classes == 2 && lines < 600 {
                        // Level, through pixel centres: a few coverage levels a class.
                        let (ay, bx) = (a.1.floor() + 0.5, b.0.floor() + 0.5);
                        c.capsule(class, clip, (a.0.floor() + 0.5, ay), (bx, ay), 1.0);
                    } else {
                        c.capsule(class, clip, a, b, 0.4 + next() * 2.0);
                    }
                }
            }
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let (got, want) = pool.install(|| {
                    let got = encode_canvas_indexed(&mut c.clone(), None, &options);
                    let want = c.palette_indices(None).map(|(colours, indices)| {
                        (
                            encode_indexed(w, h, &colours, &indices, &options).unwrap(),
                            colours,
                        )
                    });
                    (got, want)
                });
                match (got, want) {
                    (Some((got, _)), Some((want, colours))) => {
                        let got = got.unwrap();
                        assert_eq!(got.bytes, want, "{classes} classes, {threads} threads");
                        assert_eq!(got.colours, colours);
                        compared += 1;
                    }
                    // Over 256 colours, or three classes.
                    (None, None) => assert!(lines >= 600 || classes > 2),
                    (got, want) => panic!(
                        "{classes} classes, {threads} threads: {} but {}",
                        got.is_some(),
                        want.is_some()
                    ),
                }
            }
            // The small encoding: the indices' PNG encoded the small way.
            let small = PngOptions {
                small: true,
                ..PngOptions::default()
            };
            let got = encode_canvas_indexed(&mut c.clone(), None, &small)
                .map(|(png, _)| png.unwrap().bytes);
            let want = c.palette_indices(None).map(|(colours, indices)| {
                encode_indexed(w, h, &colours, &indices, &small).unwrap()
            });
            assert_eq!(got, want, "{classes} classes, small");
            let rgba = PngOptions {
                palette: false,
                ..PngOptions::default()
            };
            assert!(encode_canvas_indexed(&mut c.clone(), None, &rgba).is_none());
        }
        assert_eq!(compared, 6);
    }

    #[test]
    fn few_colours_make_a_palette_png_that_decodes_to_the_same_pixels() {
        let mut pm = Pixmap::new(8, 4).unwrap();
        for (i, px) in pm.data_mut().chunks_exact_mut(4).enumerate() {
            let a = (i * 30 % 256) as u8;
            px.copy_from_slice(&crate::raster::premultiply([5, 203, 99, a]));
        }
        let bytes = encode_png(&pm, &PngOptions::default()).unwrap();
        let (color, pixels, w, h) = decode(&bytes);
        assert_eq!((color, w, h), (png::ColorType::Indexed, 8, 4));
        for (i, px) in pixels.chunks_exact(4).enumerate() {
            let want = demultiply(crate::raster::premultiply([
                5,
                203,
                99,
                (i * 30 % 256) as u8,
            ]));
            assert_eq!(px, want);
        }
    }

    #[test]
    fn colours_sharing_an_alpha_take_the_hashed_palette_in_the_same_order() {
        // Two opaque colours (one alpha) and translucent greens: the table by alpha gives up,
        // the hashed palette names every colour once, in the order met.
        let pixels: Vec<[u8; 4]> = vec![
            [0, 0, 0, 0],
            [5, 203, 99, 255],
            crate::raster::premultiply([5, 203, 99, 128]),
            [200, 10, 10, 255],
            [5, 203, 99, 255],
            [0, 0, 0, 0],
        ];
        let data: Vec<u8> = pixels.iter().flatten().copied().collect();
        assert!(palette_by_alpha(&data).is_none());
        let (colours, indices) = palette_of(&data).unwrap();
        assert_eq!(colours, vec![pixels[0], pixels[1], pixels[2], pixels[3]]);
        assert_eq!(indices, vec![0, 1, 2, 3, 1, 0]);
        // Without the second opaque colour both ways agree.
        let one: Vec<u8> = data[..12].to_vec();
        assert_eq!(palette_by_alpha(&one), palette_hashed(&one));
    }

    #[test]
    fn many_colours_fall_back_to_rgba() {
        let mut pm = Pixmap::new(32, 32).unwrap();
        for (i, px) in pm.data_mut().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[(i % 256) as u8, (i / 256) as u8, 0, 255]);
        }
        let bytes = encode_png(&pm, &PngOptions::default()).unwrap();
        let (color, pixels, _, _) = decode(&bytes);
        assert_eq!(color, png::ColorType::Rgba);
        assert_eq!(&pixels[..], pm.data());
    }
}
