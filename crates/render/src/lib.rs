//! Coverage rasterizer for Mapillary vector tiles: PNG tiles at any zoom, mosaics and pyramids,
//! in the styles users know (Mapillary green, classic green, age, panoramas, density, one
//! organization or creator highlighted).
//!
//! ```no_run
//! use mlytiles_render::{RenderOptions, Sources, encode_png, render_tile, PngOptions};
//! use mlytiles_store::{Cache, TileId};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cache = Cache::open("fixtures/cache")?;
//! let sources = Sources::from_cache(&cache, "mly1_public")?;
//! let rendered = render_tile(&sources, TileId::new(14, 3251, 6257)?, &RenderOptions::default())?;
//! let png = encode_png(&rendered.pixmap, &PngOptions::default())?;
//! std::fs::write("tile.png", png)?;
//! # Ok(())
//! # }
//! ```
//!
//! What each zoom draws: z0-5 the `overview` points, z6-13 the `sequence` lines of that zoom,
//! z14 the `sequence` lines and the `image` points, z15-22 the z14 parent's, overzoomed (the
//! child's part of the parent, scaled up). Line width and dot size grow with the zoom. Mosaics
//! and [`render_tile_cached`] read each parent once through a [`ParentCache`] and draw only
//! the features that reach the child.
//!
//! A stored tile that cannot be read (bytes that are not a vector tile, a gzip bomb, a corrupt
//! row) is drawn as missing, counted in [`RenderStats::tiles_unreadable`] and named in
//! [`RenderStats::unreadable`], and the render goes on; [`RenderOptions::strict`] makes it an
//! [`Error::Unreadable`] naming the tile and the store. Layers of a version the spec does not
//! define (3 and above) are read as version 2 (the reader's default
//! [`VersionPolicy`](mlytiles_mvt::VersionPolicy)).
//!
//! # How it draws
//!
//! Lines are drawn as anti-aliased capsules, one per segment: the coverage of a pixel is
//! `clamp(r + 0.5 - d, 0, 1)`, with `d` the distance from the pixel's centre to the segment
//! and `r` half the line width. A capsule is a segment with round ends, so round caps and
//! round joins come for free (consecutive capsules overlap in a disc at each vertex), with
//! no outline to build. Coverages are combined by `max` per colour into one coverage byte
//! per pixel and colour, then composited once. On the densest real tile (31,261 images, 331
//! sequences) stroking each line as a tiny-skia path cost more than the whole budget of 10 ms;
//! capsules draw it in a few milliseconds (see the README's figures). Image dots are blended
//! from a disc pre-rendered at 4 x 4 sub-pixel offsets, never a circle path per point. The
//! geometry goes from the tile bytes to the rasterizer through the reader's
//! [`GeometrySink`](mlytiles_mvt::GeometrySink), with no allocation per feature.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod draw;
mod error;
mod geotiff;
mod join;
mod legend;
mod mosaic;
mod overzoom;
mod png_out;
mod pyramid;
mod raster;
mod style;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mlytiles_filter::Filter;
use mlytiles_store::{Cache, MbTiles, TileBytes, TileStatus, TileStore};
use mlytiles_tile::TileId;
pub use tiny_skia;
use tiny_skia::Pixmap;

use draw::{Brushes, Pass, Placement};
pub use error::{Error, Result};
pub use geotiff::{GEOTIFF_TILE, Georef, write_geotiff_image};
pub use join::{cpus_allowed, current_cpu, leave_cpu, take_work_until};
pub use legend::draw_legend;
pub use mosaic::{
    BBOX_KEYWORD, MosaicFormat, MosaicOptions, MosaicReport, hilbert_order, pyramid_tiles,
    pyramid_tiles_with_data, render_mosaic, shard, tile_georef, write_crs_files, write_world_file,
};
pub use overzoom::ParentCache;
pub use png_out::{PngOptions, encode_png};
pub use pyramid::{
    PYRAMID_SETTINGS, PyramidOptions, PyramidProgress, PyramidReport, PyramidSettings,
    SettingsProblem, archive_metadata, auto_zoom, is_archive, is_complete_png, store_bounds,
    write_pyramid,
};
use raster::{Canvas, Clip};
pub use style::{CLASSIC_GREEN, MAPILLARY_GREEN, MARKER_CLASSES, OTHER_MARKER, Style};

/// The deepest zoom of Mapillary's coverage tiles; deeper tiles are overzoomed from it.
pub const MAX_DATA_ZOOM: u8 = 14;
/// The deepest zoom rendered.
pub const MAX_ZOOM: u8 = 22;

/// The coverage tileset names, preferred first.
pub const COVERAGE_TILESETS: &[&str] = &["mly1_public", "mly1_computed_public"];
/// The map-feature tileset of points (drawn as markers).
pub const POINT_TILESET: &str = "mly_map_feature_point";
/// The map-feature tileset of traffic signs (drawn as markers).
pub const SIGN_TILESET: &str = "mly_map_feature_traffic_sign";

/// The stores a render reads.
#[derive(Clone)]
pub struct Sources {
    /// The coverage tileset (`mly1_public` or `mly1_computed_public`).
    pub coverage: Arc<dyn TileStore>,
    /// Map-feature points, drawn as markers when asked.
    pub points: Option<Arc<dyn TileStore>>,
    /// Traffic signs, drawn as markers when asked.
    pub signs: Option<Arc<dyn TileStore>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("coverage", &self.coverage.path())
            .field(
                "points",
                &self.points.as_ref().map(|s| s.path().to_path_buf()),
            )
            .field(
                "signs",
                &self.signs.as_ref().map(|s| s.path().to_path_buf()),
            )
            .finish()
    }
}

impl Sources {
    /// The coverage store `tileset` of the cache, and the map-feature stores when the cache
    /// has them. MBTiles files are opened read-only (nothing in them changes).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] if `tileset` is not a coverage tileset or the cache has no
    /// store for it; the store's errors when opening it.
    pub fn from_cache(cache: &Cache, tileset: &str) -> Result<Sources> {
        if !COVERAGE_TILESETS.contains(&tileset) {
            return Err(Error::InvalidOption(format!(
                "tileset {tileset:?} is not a coverage tileset (expected one of {})",
                COVERAGE_TILESETS.join(", ")
            )));
        }
        let coverage = open_existing(cache, tileset)?.ok_or_else(|| {
            Error::InvalidOption(format!(
                "the cache {} has no {tileset} store",
                cache.dir().display()
            ))
        })?;
        Ok(Sources {
            coverage,
            points: open_existing(cache, POINT_TILESET)?,
            signs: open_existing(cache, SIGN_TILESET)?,
        })
    }

    /// One coverage store by path: an MBTiles file (opened read-only), a PMTiles archive or a
    /// z/x/y folder of `.mvt` tiles ([`mlytiles_store::open_store`]); no markers.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] if the path does not exist; the store's errors.
    pub fn from_store_path(path: &Path) -> Result<Sources> {
        let coverage: Arc<dyn TileStore> = if path.exists() {
            mlytiles_store::open_store(path)?
        } else {
            return Err(Error::InvalidOption(format!(
                "{}: no such store",
                path.display()
            )));
        };
        Ok(Sources {
            coverage,
            points: None,
            signs: None,
        })
    }
}

fn open_existing(cache: &Cache, tileset: &str) -> Result<Option<Arc<dyn TileStore>>> {
    let path = cache.store_path(tileset)?;
    if path.is_file() {
        Ok(Some(Arc::new(MbTiles::open_read_only(&path)?)))
    } else if path.is_dir() {
        Ok(Some(cache.store(tileset)?))
    } else {
        Ok(None)
    }
}

/// How to render.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Tile side in CSS pixels: 256 or 512. Default 512.
    pub size: u32,
    /// Pixel ratio: 1, or 2 for @2x tiles (`size * scale` pixels a side, lines and dots
    /// scaled too). Default 1.
    pub scale: u32,
    /// The style. Default [`Style::Mapillary`].
    pub style: Style,
    /// Only features passing the filter are drawn; each predicate applies to the layers that
    /// carry what it tests (a pano filter does not hide traffic signs). Default `None`.
    pub filter: Option<Filter>,
    /// Draw map features (points, traffic signs) as small markers coloured by class prefix, at
    /// z14 and deeper, when the sources have them. Default `false`.
    pub markers: bool,
    /// A solid background (straight RGBA); `None` is transparent. Default `None`.
    pub background: Option<[u8; 4]>,
    /// The time the age style and relative date filters count from; `None` is now. Default
    /// `None`.
    pub now: Option<DateTime<Utc>>,
    /// What to do with a stored tile that cannot be read (not a vector tile, a gzip bomb, a
    /// corrupt row): `false` draws it as missing, counts it in
    /// [`RenderStats::tiles_unreadable`] and names it in [`RenderStats::unreadable`], and the
    /// render goes on; `true` makes it an [`Error::Unreadable`] naming the tile and the store.
    /// Default `false`.
    pub strict: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            size: 512,
            scale: 1,
            style: Style::Mapillary,
            filter: None,
            markers: false,
            background: None,
            now: None,
            strict: false,
        }
    }
}

impl RenderOptions {
    /// The tile side in device pixels, after checking size and scale.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a size other than 256 or 512, or a scale other than 1..=4.
    pub fn pixels(&self) -> Result<u32> {
        if self.size != 256 && self.size != 512 {
            return Err(Error::InvalidOption(format!(
                "tile size {} (expected 256 or 512)",
                self.size
            )));
        }
        if !(1..=4).contains(&self.scale) {
            return Err(Error::InvalidOption(format!(
                "scale {} (expected 1 to 4)",
                self.scale
            )));
        }
        Ok(self.size * self.scale)
    }

    /// The colours of the canvas planes: the style's classes, then the markers'.
    pub(crate) fn plane_colours(&self) -> Vec<[u8; 4]> {
        let mut c: Vec<[u8; 4]> = self.style.classes().iter().map(|(_, c)| *c).collect();
        c.extend(MARKER_CLASSES.iter().map(|(_, c)| *c));
        c.push(OTHER_MARKER);
        c
    }

    fn brush_scale(&self) -> f32 {
        // Sizes are set for 512 px tiles; a 256 px tile of the same zoom shows the same area
        // in half the pixels, so its lines are a little thinner (not half: they stay visible).
        let base = if self.size == 256 { 0.8 } else { 1.0 };
        base * self.scale as f32
    }
}

/// Counts of what a render did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderStats {
    /// Sequence lines drawn (a line crossing several tiles counts once per tile).
    pub lines: u64,
    /// Image or overview points drawn inside the tile (points of neighbouring tiles reaching
    /// across its edges are not counted).
    pub points: u64,
    /// Map-feature markers drawn inside the tile.
    pub markers: u64,
    /// Features the filter left out (of those read: an overzoomed tile drawn through a
    /// [`ParentCache`] reads only the parent's features that reach it).
    pub features_filtered: u64,
    /// Features skipped for a recoverable decoding error.
    pub features_skipped: u64,
    /// Stored tiles read (with data or known empty).
    pub tiles_read: u64,
    /// Tiles the coverage store does not have (or only failed to fetch): drawn transparent.
    pub tiles_missing: u64,
    /// Stored coverage tiles that could not be read (bytes that are not a vector tile, gzip
    /// data that does not decompress or decompresses beyond
    /// [`DEFAULT_MAX_DECOMPRESSED`](mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED), a corrupt store
    /// row): drawn as missing. Counted like [`tiles_read`](Self::tiles_read), once per tile
    /// rendered (an overzoomed tile counts its z14 parent).
    pub tiles_unreadable: u64,
    /// Which stored tiles could not be read: the first few distinct ones (coverage, the
    /// neighbours read for dots crossing the edges, map features). With
    /// [`RenderOptions::strict`] the first one is an error instead.
    pub unreadable: UnreadableTiles,
}

/// The first [`UnreadableTiles::CAPACITY`] distinct tiles a render could not read, in the
/// order met (a bounded list: a run over a damaged store names a few, and counts all in
/// [`RenderStats::tiles_unreadable`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnreadableTiles {
    ids: [Option<TileId>; UnreadableTiles::CAPACITY],
    /// Distinct tiles met beyond the capacity (an upper bound: tiles past the capacity are
    /// not compared with each other).
    more: u64,
}

impl UnreadableTiles {
    /// How many tiles the list names.
    pub const CAPACITY: usize = 8;

    /// Adds a tile, unless the list already names it; past the capacity it is only counted
    /// in [`more`](Self::more).
    pub fn push(&mut self, tile: TileId) {
        for slot in &mut self.ids {
            match slot {
                Some(t) if *t == tile => return,
                Some(_) => {}
                None => {
                    *slot = Some(tile);
                    return;
                }
            }
        }
        self.more += 1;
    }

    /// The tiles named, in the order met.
    pub fn iter(&self) -> impl Iterator<Item = TileId> + '_ {
        self.ids.iter().map_while(|t| *t)
    }

    /// Whether no tile was unreadable.
    pub fn is_empty(&self) -> bool {
        self.ids[0].is_none()
    }

    /// How many tiles the list names (at most [`CAPACITY`](Self::CAPACITY)).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Unreadable tiles met after the list was full (not named).
    pub fn more(&self) -> u64 {
        self.more
    }

    /// Adds another list's tiles.
    pub fn extend(&mut self, other: &UnreadableTiles) {
        for t in other.iter() {
            self.push(t);
        }
        self.more += other.more;
    }
}

impl std::fmt::Display for UnreadableTiles {
    /// `14/1/2, 14/1/3` and `and N more` past the capacity.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, t) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t}")?;
        }
        if self.more > 0 {
            write!(f, " and {} more", self.more)?;
        }
        Ok(())
    }
}

impl RenderStats {
    /// Lines, points and markers drawn.
    pub fn features_drawn(&self) -> u64 {
        self.lines + self.points + self.markers
    }

    /// Adds another render's counts.
    pub fn add(&mut self, o: &RenderStats) {
        self.lines += o.lines;
        self.points += o.points;
        self.markers += o.markers;
        self.features_filtered += o.features_filtered;
        self.features_skipped += o.features_skipped;
        self.tiles_read += o.tiles_read;
        self.tiles_missing += o.tiles_missing;
        self.tiles_unreadable += o.tiles_unreadable;
        self.unreadable.extend(&o.unreadable);
    }
}

/// A rendered tile.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The image, premultiplied RGBA.
    pub pixmap: Pixmap,
    /// What was drawn.
    pub stats: RenderStats,
    /// How long its phases took.
    pub timings: Timings,
}

/// How long the phases of one tile's render took (wall time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Reading the stored tiles (the tile and the neighbours whose dots reach into it) and
    /// inflating gzip.
    pub read: Duration,
    /// Decoding and drawing: the geometry goes from the bytes to the rasterizer as it is
    /// decoded, so the two are one phase (on two threads when the pool has them).
    pub draw: Duration,
    /// Compositing the coverage planes into the RGBA image (for [`render_tile_png`], into
    /// palette indices: until the last run of rows is indexed, while the runs before it are
    /// compressed).
    pub composite: Duration,
    /// Encoding the PNG ([`render_tile_png`] only, what is left of it once the indices are
    /// done; zero otherwise).
    pub encode: Duration,
}

/// A tile rendered straight to PNG bytes by [`render_tile_png`].
#[derive(Debug, Clone)]
pub struct RenderedPng {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// The image's side in pixels.
    pub side: u32,
    /// Whether every pixel is fully transparent.
    pub transparent: bool,
    /// What was drawn.
    pub stats: RenderStats,
    /// How long its phases took.
    pub timings: Timings,
}

/// The stored tile a render of `tile` reads: itself up to z14, its z14 ancestor deeper.
pub fn data_tile(tile: TileId) -> TileId {
    tile.ancestor_at(MAX_DATA_ZOOM.min(tile.z()))
        .unwrap_or(tile)
}

fn check_zoom(tile: TileId) -> Result<()> {
    if tile.z() > MAX_ZOOM {
        return Err(Error::InvalidOption(format!(
            "zoom {} (rendering goes to z{MAX_ZOOM})",
            tile.z()
        )));
    }
    Ok(())
}

/// What reading one stored tile gave.
enum Read {
    /// The uncompressed bytes (empty for a tile known to be empty).
    Bytes(TileBytes),
    /// The store has no result for the tile.
    Missing,
    /// The store has it, but its bytes cannot be read.
    Unreadable(Error),
}

/// Whether an error is about one stored tile's bytes (that tile is drawn as missing), rather
/// than about the options or the store as a whole (the render stops).
fn is_unreadable(e: &Error) -> bool {
    match e {
        Error::Tile { .. } => true,
        Error::Store(mlytiles_store::Error::Decompress { .. }) => true,
        Error::Store(mlytiles_store::Error::Corrupt { at, .. }) => at.tile.is_some(),
        Error::Filter { source, .. } => matches!(
            source,
            mlytiles_filter::Error::Mvt(_) | mlytiles_filter::Error::Tile(_)
        ),
        _ => false,
    }
}

/// Reads a stored tile's uncompressed bytes, counting it as read, missing or unreadable.
fn read_tile(store: &dyn TileStore, tile: TileId, stats: Option<&mut RenderStats>) -> Result<Read> {
    let read = match store.get_bytes(tile) {
        Ok(Some((info, bytes))) if info.status == TileStatus::Data => {
            match mlytiles_store::uncompressed(tile, &bytes) {
                Ok(Cow::Owned(v)) => Read::Bytes(TileBytes::Owned(v)),
                // Plain bytes are kept as read (or mapped) rather than copied.
                Ok(Cow::Borrowed(_)) => Read::Bytes(bytes),
                Err(e) => Read::Unreadable(e.into()),
            }
        }
        Ok(Some((info, _))) if info.status == TileStatus::Empty => {
            Read::Bytes(TileBytes::Owned(Vec::new()))
        }
        Ok(_) => Read::Missing,
        Err(e) => {
            let e = Error::from(e);
            if !is_unreadable(&e) {
                return Err(e);
            }
            Read::Unreadable(e)
        }
    };
    if let Some(stats) = stats {
        match read {
            Read::Bytes(_) => stats.tiles_read += 1,
            Read::Missing => stats.tiles_missing += 1,
            Read::Unreadable(_) => stats.tiles_unreadable += 1,
        }
    }
    Ok(read)
}

/// Handles a tile that cannot be read: an error naming it and its store with
/// [`RenderOptions::strict`], else named in `stats` (and drawn as missing by the caller).
fn unreadable(
    store: &dyn TileStore,
    tile: TileId,
    error: Error,
    options: &RenderOptions,
    stats: &mut RenderStats,
) -> Result<()> {
    if options.strict {
        // The reason without the tile's name, which the message gives.
        let source: Box<dyn std::error::Error + Send + Sync> = match error {
            Error::Tile { source, .. } => Box::new(source),
            Error::Store(mlytiles_store::Error::Decompress { source, .. }) => Box::new(source),
            other => Box::new(other),
        };
        return Err(Error::Unreadable {
            tile,
            store: store.path().to_path_buf(),
            source,
        });
    }
    stats.unreadable.push(tile);
    Ok(())
}

/// The stored tiles beside `data` whose points may reach into `tile` (drawn `side` pixels a
/// side) by up to `pad` pixels: only at the zooms that draw points (z0-5, z14).
fn point_neighbours(tile: TileId, data: TileId, side: u32, pad: f64) -> Vec<TileId> {
    if !(data.z() <= 5 || data.z() == MAX_DATA_ZOOM) {
        return Vec::new();
    }
    let dz = tile.z() - data.z();
    let n = f64::from(1u32 << dz);
    let padu = pad / (f64::from(side) * n);
    let (x0, y0) = (f64::from(tile.x()) / n, f64::from(tile.y()) / n);
    let (x1, y1) = (f64::from(tile.x() + 1) / n, f64::from(tile.y() + 1) / n);
    let last = f64::from((1u32 << data.z()) - 1);
    let r = |a: f64| a.floor().clamp(0.0, last) as u32;
    let mut out = Vec::new();
    for y in r(y0 - padu)..=r(y1 - 1e-9 + padu) {
        for x in r(x0 - padu)..=r(x1 - 1e-9 + padu) {
            if (x, y) != (data.x(), data.y())
                && let Ok(t) = TileId::new(data.z(), x, y)
            {
                out.push(t);
            }
        }
    }
    out
}

/// The padding (pixels) points may reach across a tile edge.
pub(crate) fn point_pad(options: &RenderOptions) -> u32 {
    (6.0f32 * options.brush_scale()).ceil() as u32 + 2
}

/// Which stored tiles beside a tile to read for the points reaching into it.
#[derive(Clone, Copy)]
pub(crate) enum Neighbours<'a> {
    /// None (a mosaic tile whose neighbours the mosaic draws).
    None,
    /// All of them (a lone tile).
    All,
    /// Those for which the function says true.
    Some(&'a (dyn Fn(TileId) -> bool + Sync)),
}

/// Draws one tile into `canvas` at `origin`, reading `sources`, and the points of the stored
/// tiles beside it that reach into it as `neighbours` says. Overzoomed tiles read their parent
/// (and its neighbours) through `cache` when there is one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn draw_tile(
    canvas: &mut Canvas,
    sources: &Sources,
    cache: Option<&ParentCache>,
    tile: TileId,
    origin: (u32, u32),
    point_clip: Clip,
    options: &RenderOptions,
    neighbours: Neighbours<'_>,
    stats: &mut RenderStats,
) -> Result<()> {
    let data = data_tile(tile);
    let at = |stored: TileId, neighbour: bool| Stored {
        tile,
        stored,
        neighbour,
        origin,
        point_clip,
    };
    if !matches!(neighbours, Neighbours::None) {
        let side = options.pixels()?;
        for n in point_neighbours(tile, data, side, f64::from(point_pad(options))) {
            if let Neighbours::Some(wanted) = neighbours
                && !wanted(n)
            {
                continue;
            }
            draw_stored(canvas, sources, cache, at(n, true), options, stats)?;
        }
    }
    draw_stored(canvas, sources, cache, at(data, false), options, stats)?;
    draw_marker_stores(canvas, sources, tile, origin, point_clip, options, stats)
}

/// Draws the map-feature stores' markers of `tile` (at z14 and deeper, when asked).
fn draw_marker_stores(
    canvas: &mut Canvas,
    sources: &Sources,
    tile: TileId,
    origin: (u32, u32),
    point_clip: Clip,
    options: &RenderOptions,
    stats: &mut RenderStats,
) -> Result<()> {
    let data = data_tile(tile);
    if !(options.markers && data.z() == MAX_DATA_ZOOM) {
        return Ok(());
    }
    for store in [&sources.points, &sources.signs].into_iter().flatten() {
        let store = store.as_ref();
        let bytes = match read_tile(store, data, None)? {
            Read::Bytes(b) => b.into_vec(),
            Read::Missing => continue,
            Read::Unreadable(e) => {
                unreadable(store, data, e, options, stats)?;
                continue;
            }
        };
        let drawn = draw_loaded(
            canvas,
            None,
            None,
            std::slice::from_ref(&bytes),
            tile,
            None,
            origin,
            point_clip,
            options,
            false,
            stats,
        );
        if let Err(e) = drawn {
            if !is_unreadable(&e) {
                return Err(e);
            }
            unreadable(store, data, e, options, stats)?;
        }
    }
    Ok(())
}

/// One stored coverage tile to draw into a tile's canvas.
#[derive(Clone, Copy)]
struct Stored {
    /// The tile drawn.
    tile: TileId,
    /// The stored tile read: the tile's data tile, or one beside it (for its points only).
    stored: TileId,
    neighbour: bool,
    origin: (u32, u32),
    point_clip: Clip,
}

/// Reads one stored coverage tile (through the cache for an overzoomed tile) and draws it.
/// The tile's own data tile counts as read, missing or unreadable; a neighbour counts nothing
/// (but is named when unreadable).
fn draw_stored(
    canvas: &mut Canvas,
    sources: &Sources,
    cache: Option<&ParentCache>,
    s: Stored,
    options: &RenderOptions,
    stats: &mut RenderStats,
) -> Result<()> {
    match load_stored(sources, cache, s, options, stats)? {
        Some(loaded) => draw_stored_loaded(canvas, sources, loaded, s, options, false, stats),
        None => Ok(()),
    }
}

/// A stored coverage tile read (and inflated, or indexed for its overzoomed children), not
/// drawn yet.
struct Loaded {
    plain: Option<TileBytes>,
    indexed: Option<Arc<overzoom::Indexed>>,
    /// What reading it counted (read or missing), added to the render's counts once it is
    /// drawn (for the tile's own data only).
    counts: RenderStats,
}

/// Reads one stored coverage tile, through the cache for an overzoomed tile. `None` for a
/// tile that cannot be read, after handling it ([`unreadable`]: named in `stats`, or the
/// error with [`RenderOptions::strict`]).
fn load_stored(
    sources: &Sources,
    cache: Option<&ParentCache>,
    s: Stored,
    options: &RenderOptions,
    stats: &mut RenderStats,
) -> Result<Option<Loaded>> {
    let coverage = sources.coverage.as_ref();
    let cache = cache.filter(|_| s.tile.z() > MAX_DATA_ZOOM && s.stored.z() == MAX_DATA_ZOOM);
    let mut counts = RenderStats::default();
    let hit = cache.and_then(|c| c.get(s.stored));
    let (indexed, plain) = match hit {
        Some(ix) => {
            counts.tiles_read += 1;
            (Some(ix), None)
        }
        None => match read_tile(coverage, s.stored, Some(&mut counts))? {
            Read::Missing => (None, None),
            Read::Unreadable(e) => {
                if !s.neighbour {
                    stats.add(&counts);
                }
                unreadable(coverage, s.stored, e, options, stats)?;
                return Ok(None);
            }
            Read::Bytes(b) => match cache {
                // The cache keeps the bytes: a copy of their own (never a mapped file).
                Some(c) if !b.is_empty() => {
                    let layers = draw::coverage_layers(MAX_DATA_ZOOM);
                    match overzoom::Indexed::build(b.into_vec(), layers) {
                        Ok(ix) => {
                            let ix = Arc::new(ix);
                            c.insert(s.stored, Arc::clone(&ix));
                            (Some(ix), None)
                        }
                        Err(b) => (None, Some(TileBytes::Owned(b))),
                    }
                }
                _ => (None, Some(b)),
            },
        },
    };
    Ok(Some(Loaded {
        plain,
        indexed,
        counts,
    }))
}

/// Draws a stored coverage tile [`load_stored`] read. `split` lets a large tile's layers be
/// drawn on two threads (a canvas that is the tile alone).
fn draw_stored_loaded(
    canvas: &mut Canvas,
    sources: &Sources,
    loaded: Loaded,
    s: Stored,
    options: &RenderOptions,
    split: bool,
    stats: &mut RenderStats,
) -> Result<()> {
    let Loaded {
        plain,
        indexed,
        mut counts,
    } = loaded;
    let drawn = draw_loaded(
        canvas,
        plain.as_deref(),
        indexed.as_deref(),
        &[],
        s.tile,
        s.neighbour.then_some(s.stored),
        s.origin,
        s.point_clip,
        options,
        split,
        &mut counts,
    );
    match drawn {
        Ok(()) => {}
        Err(e) if is_unreadable(&e) => {
            counts.tiles_read -= 1;
            counts.tiles_unreadable += 1;
            if !s.neighbour {
                stats.add(&counts);
            }
            return unreadable(sources.coverage.as_ref(), s.stored, e, options, stats);
        }
        Err(e) => return Err(e),
    }
    if !s.neighbour {
        stats.add(&counts);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw_loaded(
    canvas: &mut Canvas,
    coverage: Option<&[u8]>,
    indexed: Option<&overzoom::Indexed>,
    markers: &[Vec<u8>],
    tile: TileId,
    neighbour: Option<TileId>,
    origin: (u32, u32),
    point_clip: Clip,
    options: &RenderOptions,
    split: bool,
    stats: &mut RenderStats,
) -> Result<()> {
    check_zoom(tile)?;
    let side = options.pixels()?;
    let now = options.now.unwrap_or_else(Utc::now);
    let brushes = Brushes::new(tile.z(), options.brush_scale());
    let pass = Pass {
        style: options.style,
        filter: options.filter.as_ref(),
        now,
        brushes: &brushes,
        marker_base: options.style.classes().len(),
        neighbour: neighbour.is_some(),
    };
    let (x0, y0) = (origin.0 as i32, origin.1 as i32);
    let at = Placement {
        data_tile: neighbour.unwrap_or_else(|| data_tile(tile)),
        target: tile,
        side: f64::from(side),
        origin: (f64::from(origin.0), f64::from(origin.1)),
        line_clip: Clip {
            x0,
            y0,
            x1: x0 + side as i32,
            y1: y0 + side as i32,
        },
        point_clip,
    };
    if let Some(bytes) = coverage.filter(|b| !b.is_empty()) {
        let bytes = mlytiles_mvt::decompress(bytes, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
            .map_err(Error::in_tile(at.data_tile))?;
        draw::draw_coverage(
            canvas,
            &bytes,
            &at,
            &pass,
            neighbour.is_some(),
            split,
            stats,
        )?;
    }
    if let Some(indexed) = indexed {
        let pad = 2.0 * point_pad(options) as f32;
        draw::draw_indexed(canvas, indexed, &at, &pass, neighbour.is_some(), pad, stats)?;
    }
    for bytes in markers.iter().filter(|b| !b.is_empty()) {
        let bytes = mlytiles_mvt::decompress(bytes, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
            .map_err(Error::in_tile(at.data_tile))?;
        draw::draw_markers(canvas, &bytes, &at, &pass, stats)?;
    }
    Ok(())
}

fn new_canvas(width: u32, height: u32, options: &RenderOptions) -> Canvas {
    Canvas::new(
        width,
        height,
        &options.plane_colours(),
        options.style == Style::Density,
    )
}

fn to_pixmap(canvas: &Canvas, background: Option<[u8; 4]>) -> Result<Pixmap> {
    let mut pixmap = Pixmap::new(canvas.width, canvas.height).ok_or_else(|| {
        Error::InvalidOption(format!("image size {} x {}", canvas.width, canvas.height))
    })?;
    // The top and bottom halves on the pool's threads (a 512 px tile's 1 MiB of pixels).
    let (w, h) = (canvas.width as usize, canvas.height);
    let half = h / 2;
    let (top, bottom) = pixmap.data_mut().split_at_mut(half as usize * w * 4);
    join::join(
        || canvas.composite_rows(0, half, background, top),
        || canvas.composite_rows(half, h, background, bottom),
    );
    Ok(pixmap)
}

/// Renders one tile from the stores. A tile the coverage store lacks renders transparent (or
/// the background) and counts in [`RenderStats::tiles_missing`].
///
/// Thread-safe: call it from many threads at once with the same `sources`.
///
/// # Errors
///
/// [`Error::InvalidOption`] for a bad size, scale or zoom (deeper than [`MAX_ZOOM`]);
/// [`Error::Store`] when reading fails; [`Error::Tile`] for bytes that are not a readable
/// vector tile; [`Error::Filter`] when the filter cannot be compiled for a layer.
pub fn render_tile(sources: &Sources, tile: TileId, options: &RenderOptions) -> Result<Rendered> {
    render_tile_with(sources, tile, options, EdgePoints::FromNeighbours)
}

/// [`render_tile_with`] reading overzoomed tiles' parents through `cache`: a z14 tile is read,
/// inflated and indexed once for all its z15-22 children (and their neighbours), and a child
/// reads only the parent's features that reach it. Share one cache between the renders of a
/// run (a pyramid, a server) over the same `sources`.
///
/// # Errors
///
/// As [`render_tile`].
pub fn render_tile_cached(
    sources: &Sources,
    tile: TileId,
    options: &RenderOptions,
    edges: EdgePoints,
    cache: &ParentCache,
) -> Result<Rendered> {
    render_one(sources, Some(cache), tile, options, edges)
}

/// Where the dots near a lone tile's edges come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EdgePoints {
    /// Read the stored tiles beside it (up to 8 at z0-5 and z14 and deeper) for the points
    /// whose dots reach into it, so tiles shown side by side are seamless. The default.
    #[default]
    FromNeighbours,
    /// Only the tile's own data: dots on its edges are cut. Cheaper where the neighbours are
    /// dense (a dense z14 neighbour costs a few milliseconds to read).
    Cut,
}

/// [`render_tile`] choosing where the dots near the edges come from.
///
/// # Errors
///
/// As [`render_tile`].
pub fn render_tile_with(
    sources: &Sources,
    tile: TileId,
    options: &RenderOptions,
    edges: EdgePoints,
) -> Result<Rendered> {
    render_one(sources, None, tile, options, edges)
}

/// Renders one tile as [`render_tile_cached`] does (without a cache when `cache` is `None`),
/// and encodes it as [`encode_png`] would encode the image, but with no RGBA image in
/// between when it can: an indexed PNG's palette indices are composited from the coverage
/// straight away, each combination of coverages once. The same pixels as
/// `encode_png(&render_tile_cached(..)?.pixmap, png)`, in about a fifth of the time after
/// drawing.
///
/// # Errors
///
/// As [`render_tile`], and [`Error::Png`] if encoding fails.
pub fn render_tile_png(
    sources: &Sources,
    tile: TileId,
    options: &RenderOptions,
    edges: EdgePoints,
    cache: Option<&ParentCache>,
    png: &PngOptions,
) -> Result<RenderedPng> {
    let (mut canvas, stats, mut timings) = draw_one(sources, cache, tile, options, edges)?;
    let composited = Instant::now();
    let (bytes, transparent) =
        match png_out::encode_canvas_indexed(&mut canvas, options.background, png) {
            Some((encoded, composite)) => {
                timings.composite = composite;
                timings.encode = composited.elapsed() - composite;
                let png = encoded?;
                // Every colour is some pixel's.
                (png.bytes, png.colours.iter().all(|c| c[3] == 0))
            }
            None => {
                let pixmap = to_pixmap(&canvas, options.background)?;
                timings.composite = composited.elapsed();
                let encoding = Instant::now();
                let bytes = encode_png(&pixmap, png)?;
                timings.encode = encoding.elapsed();
                (bytes, pixmap.pixels().iter().all(|p| p.alpha() == 0))
            }
        };
    Ok(RenderedPng {
        png: bytes,
        side: canvas.width,
        transparent,
        stats,
        timings,
    })
}

fn render_one(
    sources: &Sources,
    cache: Option<&ParentCache>,
    tile: TileId,
    options: &RenderOptions,
    edges: EdgePoints,
) -> Result<Rendered> {
    let (canvas, stats, mut timings) = draw_one(sources, cache, tile, options, edges)?;
    let composited = Instant::now();
    let pixmap = to_pixmap(&canvas, options.background)?;
    timings.composite = composited.elapsed();
    Ok(Rendered {
        pixmap,
        stats,
        timings,
    })
}

/// Reads and draws one tile: its coverage, what was drawn, and the read and draw times.
fn draw_one(
    sources: &Sources,
    cache: Option<&ParentCache>,
    tile: TileId,
    options: &RenderOptions,
    edges: EdgePoints,
) -> Result<(Canvas, RenderStats, Timings)> {
    let start = Instant::now();
    check_zoom(tile)?;
    let side = options.pixels()?;
    let mut canvas = new_canvas(side, side, options);
    let mut stats = RenderStats::default();
    let clip = canvas.full_clip();
    let data = data_tile(tile);
    let at = |stored: TileId, neighbour: bool| Stored {
        tile,
        stored,
        neighbour,
        origin: (0, 0),
        point_clip: clip,
    };
    // Read everything first, the neighbours on one thread and the tile on the other when the
    // pool has two, then draw: the neighbours' points on a canvas of their own while the tile
    // draws. Counts and errors are taken in the order a sequential render meets them: the
    // neighbours first, then the tile.
    let read_beside = || -> (Result<Vec<(TileId, Loaded)>>, RenderStats) {
        let mut st = RenderStats::default();
        let mut beside = Vec::new();
        if edges == EdgePoints::FromNeighbours {
            for n in point_neighbours(tile, data, side, f64::from(point_pad(options))) {
                match load_stored(sources, cache, at(n, true), options, &mut st) {
                    Ok(Some(loaded)) => beside.push((n, loaded)),
                    Ok(None) => {}
                    Err(e) => return (Err(e), st),
                }
            }
        }
        (Ok(beside), st)
    };
    let read_own = || {
        let mut st = RenderStats::default();
        let own = load_stored(sources, cache, at(data, false), options, &mut st);
        (own, st)
    };
    // The dots' stamps are made meanwhile, for both threads to find when they draw.
    let read_beside = || {
        let read = read_beside();
        draw::discs(draw::dot_radius(tile.z()) * options.brush_scale());
        read
    };
    let ((beside, beside_stats), (own, own_stats)) = join::join(read_beside, read_own);
    stats.add(&beside_stats);
    let beside = beside?;
    stats.add(&own_stats);
    let own = own?;
    let read = start.elapsed();
    // A canvas for the neighbours' dots only when there are neighbours.
    let mut edge_canvas =
        (!beside.is_empty()).then(|| new_canvas(side, side, options).edges_only());
    let ((edge_result, edge_stats), (own_result, own_stats)) = join::join(
        || {
            let mut st = RenderStats::default();
            let Some(edges) = edge_canvas.as_mut() else {
                return (Ok(()), st);
            };
            let r = beside.into_iter().try_for_each(|(n, loaded)| {
                draw_stored_loaded(edges, sources, loaded, at(n, true), options, false, &mut st)
            });
            (r, st)
        },
        || {
            let mut st = RenderStats::default();
            let r = match own {
                Some(loaded) => draw_stored_loaded(
                    &mut canvas,
                    sources,
                    loaded,
                    at(data, false),
                    options,
                    true,
                    &mut st,
                ),
                None => Ok(()),
            };
            (r, st)
        },
    );
    // In the order a sequential draw meets them: the neighbours first.
    edge_result?;
    stats.add(&edge_stats);
    own_result?;
    stats.add(&own_stats);
    if let Some(edges) = &edge_canvas {
        canvas.merge_from(edges, 0, 0);
    }
    draw_marker_stores(
        &mut canvas,
        sources,
        tile,
        (0, 0),
        clip,
        options,
        &mut stats,
    )?;
    let timings = Timings {
        read,
        draw: start.elapsed() - read,
        ..Timings::default()
    };
    Ok((canvas, stats, timings))
}

/// Renders one tile from bytes already in memory (gzip-compressed or not): the stored tile of
/// [`data_tile`]`(tile)`, i.e. the tile itself up to z14 and its z14 ancestor deeper. No
/// markers, and no points from neighbouring tiles (dots on the edges are cut; [`render_tile`]
/// reads the neighbours).
///
/// # Errors
///
/// As [`render_tile`], without the store errors.
pub fn render_bytes(bytes: &[u8], tile: TileId, options: &RenderOptions) -> Result<Rendered> {
    let start = Instant::now();
    check_zoom(tile)?;
    let side = options.pixels()?;
    let mut canvas = new_canvas(side, side, options);
    let mut stats = RenderStats {
        tiles_read: 1,
        ..RenderStats::default()
    };
    let clip = canvas.full_clip();
    draw_loaded(
        &mut canvas,
        Some(bytes),
        None,
        &[],
        tile,
        None,
        (0, 0),
        clip,
        options,
        true,
        &mut stats,
    )?;
    let drawn = Instant::now();
    let pixmap = to_pixmap(&canvas, options.background)?;
    Ok(Rendered {
        pixmap,
        stats,
        timings: Timings {
            read: Duration::ZERO,
            draw: drawn - start,
            composite: drawn.elapsed(),
            encode: Duration::ZERO,
        },
    })
}
