//! Mosaics (one PNG for an area at one zoom) and pyramid tile lists.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mlytiles_tile::{BBox, TileCover, TileId, lon_lat_to_tile_fraction};
use rayon::prelude::*;

use crate::png_out::{PngOptions, demultiply, encoder, png_err};
use crate::raster::{Canvas, Clip};
use crate::{
    Error, Neighbours, RenderOptions, RenderStats, Result, Sources, draw_tile, new_canvas,
};

/// What area to render into one image, and how.
#[derive(Debug, Clone)]
pub struct MosaicOptions {
    /// The area, W,S,E,N in degrees (not crossing the antimeridian). Required: the default is
    /// the whole world.
    pub bbox: BBox,
    /// The zoom of the tiles drawn (0-22). Default 14.
    pub zoom: u8,
    /// Tile size, style, filter, markers, background. Default [`RenderOptions::default`].
    pub render: RenderOptions,
    /// Add a legend in the top-left corner. Default `false`.
    pub legend: bool,
    /// The largest width or height accepted, in pixels; larger areas fail before anything is
    /// drawn. Default 65,535.
    pub max_side: u32,
    /// PNG options (the bbox and attribution text chunks are added). Default
    /// [`PngOptions::default`].
    pub png: PngOptions,
}

impl Default for MosaicOptions {
    fn default() -> Self {
        MosaicOptions {
            bbox: BBox::new(-180.0, -85.0, 180.0, 85.0).expect("a valid box"),
            zoom: 14,
            render: RenderOptions::default(),
            legend: false,
            max_side: 65_535,
            png: PngOptions::default(),
        }
    }
}

/// What a mosaic render did.
#[derive(Debug, Clone)]
pub struct MosaicReport {
    /// The PNG written.
    pub path: PathBuf,
    /// The world file written beside it.
    pub world_file: PathBuf,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Tiles drawn (at the mosaic's zoom).
    pub tiles: u64,
    /// What was drawn, summed over the tiles.
    pub stats: RenderStats,
    /// The PNG file's size in bytes.
    pub bytes: u64,
    /// Whether the PNG is indexed (palette).
    pub indexed: bool,
}

/// The pixel window of the bbox at zoom `z` with tiles of `side` pixels: (x0, y0, x1, y1) in
/// global pixels.
fn pixel_window(bbox: BBox, z: u8, side: u32) -> (u64, u64, u64, u64) {
    let n = 2f64.powi(i32::from(z));
    let s = f64::from(side);
    let (fx0, fy0) = lon_lat_to_tile_fraction(bbox.west(), bbox.north(), z);
    let (mut fx1, fy1) = lon_lat_to_tile_fraction(bbox.east(), bbox.south(), z);
    if bbox.east() >= 180.0 {
        fx1 = n;
    }
    let max = n * s;
    let x0 = (fx0 * s).floor().clamp(0.0, max) as u64;
    let y0 = (fy0 * s).floor().clamp(0.0, max) as u64;
    let x1 = ((fx1 * s).ceil().clamp(0.0, max) as u64).max(x0 + 1);
    let y1 = ((fy1 * s).ceil().clamp(0.0, max) as u64).max(y0 + 1);
    (x0, y0, x1, y1)
}

/// Web Mercator half circumference, metres.
const HALF: f64 = 20_037_508.342_789_244;

/// Writes an ESRI world file for an image whose top-left pixel corner is global pixel
/// `(x0, y0)` at zoom `z` with `side`-pixel tiles, in Web Mercator metres (EPSG:3857).
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written.
pub fn write_world_file(path: &Path, z: u8, side: u32, x0: u64, y0: u64) -> Result<()> {
    let res = 2.0 * HALF / (2f64.powi(i32::from(z)) * f64::from(side));
    let cx = -HALF + (x0 as f64 + 0.5) * res;
    let cy = HALF - (y0 as f64 + 0.5) * res;
    let text = format!("{res:.10}\n0.0\n0.0\n{:.10}\n{cx:.10}\n{cy:.10}\n", -res);
    // Whole or not at all: a full disk once left a 0-byte world file beside a complete image.
    mlytiles_store::write_atomic(path, text.as_bytes()).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Re-exported from [`mlytiles_tile`], where tile ordering lives.
pub use mlytiles_tile::hilbert_order;

/// The tiles of a pyramid over `bbox` for zooms `z0..=z1`: zoom by zoom, each zoom's tiles in
/// Hilbert order (so a contiguous part of the list is a compact area).
///
/// # Errors
///
/// [`Error::InvalidOption`] for zooms deeper than [`MAX_ZOOM`](crate::MAX_ZOOM) or a list
/// longer than `limit`.
pub fn pyramid_tiles(bbox: BBox, z0: u8, z1: u8, limit: u64) -> Result<Vec<TileId>> {
    if z0 > z1 || z1 > crate::MAX_ZOOM {
        return Err(Error::InvalidOption(format!(
            "zooms {z0}-{z1} (expected a range within 0-{})",
            crate::MAX_ZOOM
        )));
    }
    let mut total = 0u64;
    for z in z0..=z1 {
        total += TileCover::tile_count(bbox, z).map_err(|e| Error::InvalidOption(e.to_string()))?;
    }
    if total > limit {
        return Err(Error::InvalidOption(format!(
            "the pyramid has {total} tiles, more than the limit of {limit}"
        )));
    }
    let mut out = Vec::with_capacity(total as usize);
    for z in z0..=z1 {
        let mut tiles: Vec<TileId> = TileCover::new(bbox, z)
            .map_err(|e| Error::InvalidOption(e.to_string()))?
            .collect();
        tiles.sort_by_key(|t| hilbert_order(z, t.x(), t.y()));
        out.extend(tiles);
    }
    Ok(out)
}

/// The `index`-th (0-based) of `count` contiguous, near-equal parts of `tiles`.
///
/// # Errors
///
/// [`Error::InvalidOption`] unless `index < count`.
pub fn shard(tiles: &[TileId], index: u64, count: u64) -> Result<&[TileId]> {
    if count == 0 || index >= count {
        return Err(Error::InvalidOption(format!(
            "shard {index}/{count} (expected I/N with 0 <= I < N)"
        )));
    }
    let n = tiles.len() as u64;
    let start = (n * index / count) as usize;
    let end = (n * (index + 1) / count) as usize;
    Ok(&tiles[start..end])
}

/// One rendered tile of a mosaic, padded so points can cross its edges.
struct TilePart {
    canvas: Canvas,
    stats: RenderStats,
}

/// Renders the area of `options` into one PNG at `path` (written beside it and renamed, so a
/// failure leaves no partial file), with a world file (`.pgw`) beside it and the bbox and
/// attribution in PNG text chunks.
///
/// Tiles are drawn in parallel (rayon's pool of the calling thread), in bands of rows; each
/// tile is drawn into its own padded buffer with its lines clipped to its square and its
/// points free to cross into the padding, and the buffers are merged by `max` (so the result
/// does not depend on the order). Finished rows are composited and streamed into the PNG
/// encoder while the next band is drawn: memory stays bounded by a few bands of tiles (and,
/// deeper than z14, a [`ParentCache`](crate::ParentCache) of at most 256 MiB holding the
/// parents of the overzoomed tiles, each read and indexed once).
///
/// A stored tile that cannot be read is drawn as missing and named in the report's
/// [`RenderStats::unreadable`] (an error with [`RenderOptions::strict`](crate::RenderOptions)).
///
/// # Errors
///
/// [`Error::TooLarge`] (before anything is drawn) when a side exceeds `max_side`;
/// [`Error::InvalidOption`] for a box crossing the antimeridian or a bad zoom; the errors of
/// [`render_tile`](crate::render_tile); [`Error::Io`] / [`Error::Png`] when writing.
pub fn render_mosaic(
    sources: &Sources,
    options: &MosaicOptions,
    path: &Path,
) -> Result<MosaicReport> {
    let ro = &options.render;
    let side = ro.pixels()?;
    let z = options.zoom;
    if z > crate::MAX_ZOOM {
        return Err(Error::InvalidOption(format!(
            "zoom {z} (rendering goes to z{})",
            crate::MAX_ZOOM
        )));
    }
    if options.bbox.crosses_antimeridian() {
        return Err(Error::InvalidOption(
            "a mosaic box crossing the antimeridian: render each side separately".into(),
        ));
    }
    let (x0, y0, x1, y1) = pixel_window(options.bbox, z, side);
    let (width, height) = (x1 - x0, y1 - y0);
    let limit = u64::from(options.max_side);
    if width > limit || height > limit {
        return Err(Error::TooLarge {
            width,
            height,
            limit,
        });
    }
    let (width, height) = (width as u32, height as u32);
    let s64 = u64::from(side);
    let (tx0, ty0) = ((x0 / s64) as u32, (y0 / s64) as u32);
    let (tx1, ty1) = (((x1 - 1) / s64) as u32, ((y1 - 1) / s64) as u32);
    let cols = tx1 - tx0 + 1;
    let rows = ty1 - ty0 + 1;
    // Padding for points drawn across tile edges: the largest stamp radius plus a margin.
    let pad = crate::point_pad(ro);
    let acc_w = cols * side;
    let crop_x = (x0 - u64::from(tx0) * s64) as usize;

    let legend = if options.legend {
        Some(crate::legend::legend_pixmap(ro.style, ro.markers)?)
    } else {
        None
    };
    // A single-colour style without markers, density or legend: each pixel's colour depends
    // only on its coverage byte, so the coverage is the palette index.
    let single =
        ro.style.classes().len() == 1 && !ro.markers && legend.is_none() && options.png.palette;
    let palette: Option<Vec<[u8; 4]>> = single.then(|| {
        (0..=255u8)
            .map(|c| {
                let mut one = Canvas::new(1, 1, &ro.plane_colours(), false);
                one.planes[0].used = true;
                one.planes[0].cov = vec![c];
                let mut px = [0u8; 4];
                one.composite_rows(0, 1, ro.background, &mut px);
                px
            })
            .collect()
    });

    let mut png = options.png.clone();
    let b = options.bbox;
    png.text.push((
        "Title".into(),
        format!("Mapillary coverage, z{z}, style {}", ro.style),
    ));
    png.text.push((
        "bbox".into(),
        format!("{},{},{},{}", b.west(), b.south(), b.east(), b.north()),
    ));
    png.text
        .push(("Copyright".into(), "Mapillary, CC BY-SA".into()));
    png.text.push((
        "Source".into(),
        "Mapillary vector tiles, rendered by mlytiles".into(),
    ));
    png.text
        .push(("CRS".into(), "EPSG:3857 (see the .pgw world file)".into()));

    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mosaic.png".into());
    let tmp = path.with_file_name(format!(".{file_name}.part"));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io { path: p, source }
    };
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let result = (|| -> Result<(RenderStats, bool)> {
        let mut writer = encoder(
            BufWriter::new(file),
            width,
            height,
            palette.as_deref(),
            &png,
        )?;
        let mut stream = writer.stream_writer().map_err(png_err)?;
        let mut emitter = Emitter {
            acc: new_canvas(acc_w, side + 2 * pad, ro),
            acc_top: i64::from(ty0) * i64::from(side) - i64::from(pad),
            y0: y0 as i64,
            y1: y1 as i64,
            crop_x,
            width: width as usize,
            side,
            pad,
            background: ro.background,
            single,
            legend: legend.as_ref(),
            row_rgba: vec![0u8; acc_w as usize * 4],
            row_out: vec![0u8; width as usize * if single { 1 } else { 4 }],
        };
        let mut stats = RenderStats::default();
        // Bands of rows with enough tiles to keep every thread busy.
        let threads = rayon::current_num_threads() as u32;
        let band = (8 * threads).div_ceil(cols).clamp(1, rows);
        let bands: Vec<(u32, u32)> = (0..rows)
            .step_by(band as usize)
            .map(|r| (ty0 + r, (ty0 + r + band).min(ty1 + 1)))
            .collect();
        // At the mosaic's own zoom (z14 and above), a stored neighbour inside the mosaic's
        // range is a mosaic tile, drawn with its points crossing into the padding; deeper
        // mosaics read every neighbour of their border tiles (drawing a dot twice is harmless).
        let outside = move |n: TileId| {
            n.z() != z || !(tx0..=tx1).contains(&n.x()) || !(ty0..=ty1).contains(&n.y())
        };
        // Overzoomed tiles share their parents, read and indexed once for the run.
        let parents = (z > crate::MAX_DATA_ZOOM).then(crate::ParentCache::default);
        let render_band = |(r0, r1): (u32, u32)| -> Result<Vec<Vec<TilePart>>> {
            let tiles: Vec<(u32, u32)> = (r0..r1)
                .flat_map(|y| (tx0..=tx1).map(move |x| (x, y)))
                .collect();
            let parts: Vec<TilePart> = tiles
                .par_iter()
                .map(|&(x, y)| {
                    let tile =
                        TileId::new(z, x, y).map_err(|e| Error::InvalidOption(e.to_string()))?;
                    let mut canvas = new_canvas(side + 2 * pad, side + 2 * pad, ro);
                    // Max-combined styles let points cross into the padding (a dot drawn twice
                    // is the same dot), reading the stores beside the mosaic for its border
                    // tiles. The density style adds up, so each tile draws only its own square,
                    // with the points of every stored tile that reaches into it.
                    let density = ro.style == crate::Style::Density;
                    let clip = if density {
                        Clip {
                            x0: pad as i32,
                            y0: pad as i32,
                            x1: (pad + side) as i32,
                            y1: (pad + side) as i32,
                        }
                    } else {
                        canvas.full_clip()
                    };
                    let border = x == tx0 || x == tx1 || y == ty0 || y == ty1;
                    let mut stats = RenderStats::default();
                    draw_tile(
                        &mut canvas,
                        sources,
                        parents.as_ref(),
                        tile,
                        (pad, pad),
                        clip,
                        ro,
                        if density {
                            Neighbours::All
                        } else if border {
                            Neighbours::Some(&outside)
                        } else {
                            Neighbours::None
                        },
                        &mut stats,
                    )?;
                    Ok(TilePart { canvas, stats })
                })
                .collect::<Result<_>>()?;
            let mut rows_out = Vec::new();
            let mut it = parts.into_iter();
            for _ in r0..r1 {
                rows_out.push(it.by_ref().take(cols as usize).collect());
            }
            Ok(rows_out)
        };
        let mut pending: Option<Vec<Vec<TilePart>>> = None;
        let mut next = bands.into_iter();
        loop {
            let band = next.next();
            if band.is_none() && pending.is_none() {
                break;
            }
            let todo = pending.take();
            let (drawn, emitted) = rayon::join(
                || band.map(render_band).transpose(),
                || -> Result<()> {
                    if let Some(rows) = todo {
                        for row in rows {
                            for p in &row {
                                stats.add(&p.stats);
                            }
                            emitter.take_row(&row, &mut stream)?;
                        }
                    }
                    Ok(())
                },
            );
            emitted?;
            pending = drawn?;
        }
        emitter.finish(&mut stream)?;
        stream.finish().map_err(png_err)?;
        Ok((stats, single))
    })();
    let (stats, indexed) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // On disk before it takes its name (fsync reaches the file's data through any handle):
    // a power cut leaves the old image or the whole new one.
    if let Err(e) = File::open(&tmp).and_then(|f| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    let world_file = path.with_extension("pgw");
    write_world_file(&world_file, z, side, x0, y0)?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(MosaicReport {
        path: path.to_path_buf(),
        world_file,
        width,
        height,
        tiles: u64::from(cols) * u64::from(rows),
        stats,
        bytes,
        indexed,
    })
}

/// Merges tile rows into a rolling buffer and streams finished pixel rows to the PNG.
struct Emitter<'a> {
    /// Rows `[acc_top, acc_top + side + 2 pad)` of the tile columns' span.
    acc: Canvas,
    acc_top: i64,
    /// The image's global pixel rows.
    y0: i64,
    y1: i64,
    crop_x: usize,
    width: usize,
    side: u32,
    pad: u32,
    background: Option<[u8; 4]>,
    single: bool,
    legend: Option<&'a tiny_skia::Pixmap>,
    row_rgba: Vec<u8>,
    row_out: Vec<u8>,
}

impl Emitter<'_> {
    /// Adds one row of tiles (left to right), then writes the rows no later tile can touch.
    fn take_row(&mut self, parts: &[TilePart], out: &mut impl Write) -> Result<()> {
        for (i, p) in parts.iter().enumerate() {
            let dx = i as i32 * self.side as i32 - self.pad as i32;
            self.acc.merge_from(&p.canvas, dx, 0);
        }
        self.write_rows(0, self.side, out)?;
        self.acc.shift_up(self.side);
        self.acc_top += i64::from(self.side);
        Ok(())
    }

    fn finish(&mut self, out: &mut impl Write) -> Result<()> {
        self.write_rows(0, self.pad, out)
    }

    /// Writes the buffer's rows `[r0, r1)` that fall inside the image.
    fn write_rows(&mut self, r0: u32, r1: u32, out: &mut impl Write) -> Result<()> {
        for r in r0..r1 {
            let gy = self.acc_top + i64::from(r);
            if gy < self.y0 || gy >= self.y1 {
                continue;
            }
            let (cx, w) = (self.crop_x, self.width);
            if self.single {
                let plane = &self.acc.planes[0];
                if plane.used {
                    let start = r as usize * self.acc.width as usize + cx;
                    self.row_out.copy_from_slice(&plane.cov[start..start + w]);
                } else {
                    self.row_out.fill(0);
                }
            } else {
                self.acc
                    .composite_rows(r, r + 1, self.background, &mut self.row_rgba);
                let iy = (gy - self.y0) as u32;
                if let Some(legend) = self.legend {
                    overlay_legend_row(&mut self.row_rgba[cx * 4..(cx + w) * 4], legend, iy);
                }
                for (o, p) in self
                    .row_out
                    .chunks_exact_mut(4)
                    .zip(self.row_rgba[cx * 4..].chunks_exact(4))
                {
                    o.copy_from_slice(&demultiply([p[0], p[1], p[2], p[3]]));
                }
            }
            out.write_all(&self.row_out)
                .map_err(|e| Error::Png(e.to_string()))?;
        }
        Ok(())
    }
}

/// Blends row `y` of the legend (placed 8 px from the image's top-left corner) over a row of
/// premultiplied pixels.
fn overlay_legend_row(row: &mut [u8], legend: &tiny_skia::Pixmap, y: u32) {
    const MARGIN: u32 = 8;
    if y < MARGIN || y >= MARGIN + legend.height() {
        return;
    }
    let ly = (y - MARGIN) as usize;
    let lw = legend.width() as usize;
    let src = &legend.data()[ly * lw * 4..(ly + 1) * lw * 4];
    let start = MARGIN as usize * 4;
    if start >= row.len() {
        return;
    }
    let dst = &mut row[start..];
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        let inv = 255 - s[3];
        for k in 0..4 {
            d[k] = s[k].saturating_add(crate::raster::mul255(d[k], inv));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_list() {
        let tiles: Vec<TileId> = (0..10).map(|x| TileId::new(4, x, 0).unwrap()).collect();
        let mut all = Vec::new();
        for i in 0..3 {
            all.extend_from_slice(shard(&tiles, i, 3).unwrap());
        }
        assert_eq!(all, tiles);
        assert!(shard(&tiles, 3, 3).is_err());
    }
}
