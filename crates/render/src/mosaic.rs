//! Mosaics (one PNG for an area at one zoom) and pyramid tile lists.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mlytiles_tile::{BBox, TileCover, TileId, lon_lat_to_tile_fraction};
use rayon::prelude::*;

use crate::geotiff::{Georef, TiffText, write_geotiff};
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
    /// The file format. Default [`MosaicFormat::Png`].
    pub format: MosaicFormat,
}

/// The file format of a mosaic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MosaicFormat {
    /// A PNG (indexed when the style allows) with a world file (`.pgw`) and the coordinate
    /// system beside it (`.prj`, and `.png.aux.xml` for GDAL).
    #[default]
    Png,
    /// A GeoTIFF: RGBA with unassociated alpha, in 256 x 256 Deflate-compressed tiles, with
    /// the GeoTIFF tags of EPSG:3857 (no file beside it).
    GeoTiff,
}

impl MosaicFormat {
    /// The format a file name asks for: `.tif` and `.tiff` (any case) are GeoTIFF, anything
    /// else PNG.
    ///
    /// # Examples
    ///
    /// ```
    /// use mlytiles_render::MosaicFormat;
    /// assert_eq!(MosaicFormat::for_path("area.TIF".as_ref()), MosaicFormat::GeoTiff);
    /// assert_eq!(MosaicFormat::for_path("area.png".as_ref()), MosaicFormat::Png);
    /// ```
    pub fn for_path(path: &Path) -> MosaicFormat {
        let ext = path.extension().map(|e| e.to_ascii_lowercase());
        match ext.as_ref().and_then(|e| e.to_str()) {
            Some("tif" | "tiff") => MosaicFormat::GeoTiff,
            _ => MosaicFormat::Png,
        }
    }
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
            format: MosaicFormat::Png,
        }
    }
}

/// What a mosaic render did.
#[derive(Debug, Clone)]
pub struct MosaicReport {
    /// The image written (PNG or GeoTIFF).
    pub path: PathBuf,
    /// The world file written beside a PNG (none for a GeoTIFF, which carries its own).
    pub world_file: Option<PathBuf>,
    /// The files beside a PNG that name its coordinate system, EPSG:3857: `.prj` (ESRI WKT)
    /// and `.png.aux.xml` (GDAL's, read by QGIS). Empty for a GeoTIFF.
    pub crs_files: Vec<PathBuf>,
    /// Where the image lies in Web Mercator.
    pub georef: Georef,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Tiles drawn (at the mosaic's zoom).
    pub tiles: u64,
    /// What was drawn, summed over the tiles.
    pub stats: RenderStats,
    /// The image file's size in bytes.
    pub bytes: u64,
    /// Whether the PNG is indexed (palette).
    pub indexed: bool,
}

impl MosaicReport {
    /// The image's bounds in Web Mercator metres (EPSG:3857): west, south, east, north, the
    /// outer edges of its pixels (which cover the area asked for, rounded out to whole pixels).
    pub fn mercator_bounds(&self) -> [f64; 4] {
        let g = self.georef;
        [
            g.left,
            g.top - f64::from(self.height) * g.pixel,
            g.left + f64::from(self.width) * g.pixel,
            g.top,
        ]
    }
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

/// The attribution every mosaic carries.
pub(crate) const ATTRIBUTION: &str = "Mapillary, CC BY-SA";

/// The PNG text keyword of a mosaic's area, `W,S,E,N` in degrees.
pub const BBOX_KEYWORD: &str = "mlytiles:bbox";

/// Web Mercator half circumference, metres.
const HALF: f64 = 20_037_508.342_789_244;

/// Writes an ESRI world file for an image whose top-left pixel corner is global pixel
/// `(x0, y0)` at zoom `z` with `side`-pixel tiles, in Web Mercator metres (EPSG:3857).
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written.
pub fn write_world_file(path: &Path, z: u8, side: u32, x0: u64, y0: u64) -> Result<()> {
    let g = georef(z, side, x0, y0);
    let res = g.pixel;
    // A world file gives the centre of the top-left pixel.
    let cx = g.left + 0.5 * res;
    let cy = g.top - 0.5 * res;
    let text = format!("{res:.10}\n0.0\n0.0\n{:.10}\n{cx:.10}\n{cy:.10}\n", -res);
    // Whole or not at all: a full disk once left a 0-byte world file beside a complete image.
    mlytiles_store::write_atomic(path, text.as_bytes()).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The Web Mercator placement of an image whose top-left pixel is global pixel `(x0, y0)` at
/// zoom `z` with `side`-pixel tiles.
fn georef(z: u8, side: u32, x0: u64, y0: u64) -> Georef {
    let pixel = 2.0 * HALF / (2f64.powi(i32::from(z)) * f64::from(side));
    Georef {
        left: -HALF + x0 as f64 * pixel,
        top: HALF - y0 as f64 * pixel,
        pixel,
    }
}

/// Where tile `tile` lies in Web Mercator, drawn `pixels` wide.
///
/// # Examples
///
/// ```
/// use mlytiles_render::tile_georef;
/// use mlytiles_tile::TileId;
/// let g = tile_georef(TileId::new(1, 1, 0).unwrap(), 512);
/// assert_eq!((g.left, g.top), (0.0, 20_037_508.342_789_244));
/// assert_eq!(g.pixel * 512.0, 20_037_508.342_789_244);
/// ```
pub fn tile_georef(tile: TileId, pixels: u32) -> Georef {
    let side = 2.0 * HALF / 2f64.powi(i32::from(tile.z()));
    Georef {
        left: -HALF + f64::from(tile.x()) * side,
        top: HALF - f64::from(tile.y()) * side,
        pixel: side / f64::from(pixels),
    }
}

/// EPSG:3857 in ESRI's WKT, the form ESRI's tools read from a `.prj`.
const ESRI_WKT_3857: &str = "PROJCS[\"WGS_1984_Web_Mercator_Auxiliary_Sphere\",\
GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],\
PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]],\
PROJECTION[\"Mercator_Auxiliary_Sphere\"],PARAMETER[\"False_Easting\",0.0],\
PARAMETER[\"False_Northing\",0.0],PARAMETER[\"Central_Meridian\",0.0],\
PARAMETER[\"Standard_Parallel_1\",0.0],PARAMETER[\"Auxiliary_Sphere_Type\",0.0],\
UNIT[\"Meter\",1.0]]";

/// EPSG:3857 in OGC WKT 1 with its authority code, for GDAL's `.aux.xml`.
const OGC_WKT_3857: &str = "PROJCS[\"WGS 84 / Pseudo-Mercator\",GEOGCS[\"WGS 84\",\
DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],\
AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],\
UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]],\
PROJECTION[\"Mercator_1SP\"],PARAMETER[\"central_meridian\",0],PARAMETER[\"scale_factor\",1],\
PARAMETER[\"false_easting\",0],PARAMETER[\"false_northing\",0],\
UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH],\
AUTHORITY[\"EPSG\",\"3857\"]]";

/// Writes the files that name an image's coordinate system, EPSG:3857, beside `image`:
/// `NAME.prj` (ESRI WKT; ESRI's tools read it beside a world file) and `NAME.EXT.aux.xml`
/// (GDAL's auxiliary file, which its PNG driver reads, and so QGIS). Returns their paths.
///
/// # Errors
///
/// [`Error::Io`] if a file cannot be written.
pub fn write_crs_files(image: &Path) -> Result<Vec<PathBuf>> {
    let prj = image.with_extension("prj");
    let mut aux = image.as_os_str().to_owned();
    aux.push(".aux.xml");
    let aux = PathBuf::from(aux);
    // The WKT has no character XML escapes (no &, <, >), so it goes in as it is.
    let pam = format!(
        "<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping=\"1,2\">{OGC_WKT_3857}</SRS>\n</PAMDataset>\n"
    );
    for (path, text) in [(&prj, format!("{ESRI_WKT_3857}\n")), (&aux, pam)] {
        mlytiles_store::write_atomic(path, text.as_bytes()).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(vec![prj, aux])
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
    check_zooms(z0, z1)?;
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

/// The tiles of a pyramid over `bbox` for zooms `z0..=z1` that can hold coverage: at zooms up
/// to [`MAX_DATA_ZOOM`](crate::MAX_DATA_ZOOM) the tiles `store` holds data for, deeper the
/// descendants of its deepest-zoom data tiles; each zoom in Hilbert order as
/// [`pyramid_tiles`] gives them. For an area mostly without coverage (a country, the planet)
/// this is the list to draw: its length follows the data, not the area. A tile with no data of
/// its own is left out even when a neighbour's dots reach a few pixels over its edge.
///
/// # Errors
///
/// [`Error::InvalidOption`] for zooms deeper than [`MAX_ZOOM`](crate::MAX_ZOOM) or a list
/// longer than `limit`; the store's errors.
pub fn pyramid_tiles_with_data(
    store: &dyn mlytiles_store::TileStore,
    bbox: BBox,
    z0: u8,
    z1: u8,
    limit: u64,
) -> Result<Vec<TileId>> {
    check_zooms(z0, z1)?;
    let too_many = |n: u64| {
        Error::InvalidOption(format!(
            "the pyramid has more than {n} tiles with data, more than the limit of {limit}"
        ))
    };
    let deepest = z1.min(crate::MAX_DATA_ZOOM);
    let mut out: Vec<TileId> = Vec::new();
    let mut leaves: Vec<TileId> = Vec::new();
    for z in z0.min(deepest)..=deepest {
        let tiles = sorted(mlytiles_store::data_tiles(store, Some(z), Some(bbox))?, z);
        if z >= z0 {
            out.extend_from_slice(&tiles);
        }
        if out.len() as u64 > limit {
            return Err(too_many(out.len() as u64));
        }
        if z == deepest {
            leaves = tiles;
        }
    }
    for z in crate::MAX_DATA_ZOOM + 1..=z1 {
        let cover = TileCover::new(bbox, z).map_err(|e| Error::InvalidOption(e.to_string()))?;
        let mut next = Vec::with_capacity(leaves.len().saturating_mul(4));
        for tile in &leaves {
            next.extend(
                tile.children()
                    .into_iter()
                    .flatten()
                    .filter(|c| cover.covers(*c)),
            );
        }
        if (out.len() + next.len()) as u64 > limit {
            return Err(too_many((out.len() + next.len()) as u64));
        }
        leaves = sorted(next, z);
        if z >= z0 {
            out.extend_from_slice(&leaves);
        }
    }
    Ok(out)
}

/// A pyramid's zoom range: `z0..=z1` within 0-[`MAX_ZOOM`](crate::MAX_ZOOM).
fn check_zooms(z0: u8, z1: u8) -> Result<()> {
    if z0 > z1 || z1 > crate::MAX_ZOOM {
        return Err(Error::InvalidOption(format!(
            "zooms {z0}-{z1} (expected a range within 0-{})",
            crate::MAX_ZOOM
        )));
    }
    Ok(())
}

/// `tiles` of zoom `z` in Hilbert order.
fn sorted(mut tiles: Vec<TileId>, z: u8) -> Vec<TileId> {
    tiles.sort_by_key(|t| hilbert_order(z, t.x(), t.y()));
    tiles
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

/// Renders the area of `options` into one image at `path` (written beside it and renamed, so
/// a failure leaves no partial file), in the [`MosaicFormat`] of `options`: a PNG with the
/// area and attribution in text chunks and, beside it, a world file (`.pgw`) and the
/// coordinate system ([`write_crs_files`]); or a GeoTIFF, which carries all of that itself.
///
/// Tiles are drawn in parallel (rayon's pool of the calling thread), in bands of rows; each
/// tile is drawn into its own padded buffer with its lines clipped to its square and its
/// points free to cross into the padding, and the buffers are merged by `max` (so the result
/// does not depend on the order). Finished rows are composited and streamed into the encoder
/// while the next band is drawn: memory stays bounded by a few bands of tiles (a GeoTIFF adds
/// 256 rows of the image, cut into its tiles) and, deeper than z14, a
/// [`ParentCache`](crate::ParentCache) of at most 256 MiB holding the parents of the
/// overzoomed tiles, each read and indexed once.
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
    // (A GeoTIFF is always RGBA.)
    let tiff = options.format == MosaicFormat::GeoTiff;
    let single = !tiff
        && ro.style.classes().len() == 1
        && !ro.markers
        && legend.is_none()
        && options.png.palette;
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

    let b = options.bbox;
    let title = format!("Mapillary coverage, z{z}, style {}", ro.style);
    let area = format!("{},{},{},{}", b.west(), b.south(), b.east(), b.north());
    let software = format!("mlytiles {}", env!("CARGO_PKG_VERSION"));
    // Keywords that no reader gives a meaning of its own: the PNG specification's registered
    // ones (section 11.3.4.2), and one of ours with a prefix. Pillow 13 took a `bbox` keyword
    // as the image's extents and failed to load the file.
    let mut png = options.png.clone();
    png.text.extend(
        [
            ("Title", title.clone()),
            ("Copyright", ATTRIBUTION.to_string()),
            ("Source", "Mapillary vector tiles".to_string()),
            ("Software", software.clone()),
            (
                "Comment",
                format!(
                    "Area {area} (W,S,E,N in degrees, WGS 84). Pixels in Web Mercator \
                     (EPSG:3857): see the .pgw world file and the .prj beside the image."
                ),
            ),
            (BBOX_KEYWORD, area.clone()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let tiff_text = TiffText {
        description: format!("{title}; area {area} (W,S,E,N in degrees, WGS 84)"),
        software,
        copyright: ATTRIBUTION.to_string(),
    };
    let geo = georef(z, side, x0, y0);

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
    // Draws the image and streams its rows into `out`.
    let draw = |out: &mut (dyn Write + Send)| -> Result<RenderStats> {
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
                            emitter.take_row(&row, &mut *out)?;
                        }
                    }
                    Ok(())
                },
            );
            emitted?;
            pending = drawn?;
        }
        emitter.finish(out)?;
        Ok(stats)
    };
    let result = (|| -> Result<RenderStats> {
        let mut out = BufWriter::new(file);
        let stats = if tiff {
            write_geotiff(&mut out, width, height, geo, &tiff_text, draw).map_err(io(&tmp))??
        } else {
            let mut writer = encoder(&mut out, width, height, palette.as_deref(), &png)?;
            let mut stream = writer.stream_writer().map_err(png_err)?;
            let stats = draw(&mut stream)?;
            stream.finish().map_err(png_err)?;
            writer.finish().map_err(png_err)?;
            stats
        };
        out.flush().map_err(io(&tmp))?;
        Ok(stats)
    })();
    let stats = match result {
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
    let (world_file, crs_files) = if tiff {
        (None, Vec::new())
    } else {
        let world_file = path.with_extension("pgw");
        write_world_file(&world_file, z, side, x0, y0)?;
        (Some(world_file), write_crs_files(path)?)
    };
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(MosaicReport {
        path: path.to_path_buf(),
        world_file,
        crs_files,
        georef: geo,
        width,
        height,
        tiles: u64::from(cols) * u64::from(rows),
        stats,
        bytes,
        indexed: single,
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
    fn take_row(&mut self, parts: &[TilePart], out: &mut dyn Write) -> Result<()> {
        for (i, p) in parts.iter().enumerate() {
            let dx = i as i32 * self.side as i32 - self.pad as i32;
            self.acc.merge_from(&p.canvas, dx, 0);
        }
        self.write_rows(0, self.side, out)?;
        self.acc.shift_up(self.side);
        self.acc_top += i64::from(self.side);
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<()> {
        self.write_rows(0, self.pad, out)
    }

    /// Writes the buffer's rows `[r0, r1)` that fall inside the image.
    fn write_rows(&mut self, r0: u32, r1: u32, out: &mut dyn Write) -> Result<()> {
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
