//! XYZ pyramids: a folder of `Z/X/Y.png` tiles for an area over a range of zooms, written so
//! that an interrupted run resumes, parts of one pyramid can be written by separate jobs
//! (shards), and a folder never mixes tiles drawn with different settings.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use mlytiles_tile::{BBox, TileId};
use rayon::prelude::*;

use crate::{
    EdgePoints, Error, ParentCache, PngOptions, RenderOptions, RenderStats, Result, Sources,
    pyramid_tiles, pyramid_tiles_with_data, render_tile_png, shard,
};

/// One tile of a pyramid, folder or archive: drawn with the points of its neighbours, its
/// parent read once for all its children; a failure names the tile.
fn pyramid_tile(
    sources: &Sources,
    tile: TileId,
    options: &RenderOptions,
    parents: &ParentCache,
) -> Result<crate::RenderedPng> {
    render_tile_png(
        sources,
        tile,
        options,
        EdgePoints::FromNeighbours,
        Some(parents),
        &PngOptions::default(),
    )
    .map_err(|e| Error::TileFailed {
        tile,
        source: Box::new(e),
    })
}

/// The file in a pyramid folder that records its settings.
pub const PYRAMID_SETTINGS: &str = "mlytiles-pyramid.json";

/// What a pyramid folder records about the run that made it, in [`PYRAMID_SETTINGS`]: the
/// settings that decide what a tile looks like. Zooms, area and shards may differ between
/// runs into one folder (a pyramid grows by zooms or area); these may not.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PyramidSettings {
    /// What was drawn: the store or cache, as the caller names it.
    pub source: String,
    /// The style's name.
    pub style: String,
    /// The filters, as the caller writes them (empty for none).
    pub filters: String,
    /// Tile size in pixels.
    pub size: u32,
    /// Pixel ratio.
    pub scale: u32,
    /// Whether map-feature markers are drawn.
    pub markers: bool,
    /// The background colour, `#rrggbbaa`, if any.
    pub background: Option<String>,
}

impl PyramidSettings {
    /// What differs between these (the folder's) settings and a run's, one
    /// `name folder -> run` a setting; empty when they agree.
    ///
    /// ```
    /// use mlytiles_render::PyramidSettings;
    ///
    /// let folder = PyramidSettings {
    ///     source: "cache".into(),
    ///     style: "mapillary".into(),
    ///     filters: String::new(),
    ///     size: 512,
    ///     scale: 1,
    ///     markers: false,
    ///     background: None,
    /// };
    /// let run = PyramidSettings { style: "age".into(), filters: "--pano only".into(), ..folder.clone() };
    /// assert_eq!(
    ///     folder.differences(&run),
    ///     ["style mapillary -> age", "filters (none) -> --pano only"]
    /// );
    /// assert!(folder.differences(&folder).is_empty());
    /// ```
    pub fn differences(&self, run: &PyramidSettings) -> Vec<String> {
        let mut out = Vec::new();
        let mut diff = |name: &str, was: String, now: String| {
            if was != now {
                out.push(format!("{name} {was} -> {now}"));
            }
        };
        let none = || "(none)".to_string();
        diff("source", self.source.clone(), run.source.clone());
        diff("style", self.style.clone(), run.style.clone());
        let filters = |f: &str| if f.is_empty() { none() } else { f.to_string() };
        diff("filters", filters(&self.filters), filters(&run.filters));
        diff("size", self.size.to_string(), run.size.to_string());
        diff("scale", self.scale.to_string(), run.scale.to_string());
        diff("markers", self.markers.to_string(), run.markers.to_string());
        diff(
            "background",
            self.background.clone().unwrap_or_else(none),
            run.background.clone().unwrap_or_else(none),
        );
        out
    }
}

/// What pyramid to write, where, and how.
#[derive(Debug, Clone)]
pub struct PyramidOptions {
    /// The area, W,S,E,N in degrees.
    pub bbox: BBox,
    /// The first and last zoom (at most [`MAX_ZOOM`](crate::MAX_ZOOM)).
    pub zooms: (u8, u8),
    /// The folder written (created if missing).
    pub out: PathBuf,
    /// Write only part `.0` (0-based) of `.1` contiguous parts of the tile list in Hilbert
    /// order ([`shard`]); `(0, 1)` for the whole pyramid.
    pub shard: (u64, u64),
    /// Draw every tile again, even when the folder holds it or records other settings.
    pub force: bool,
    /// How the tiles are drawn.
    pub render: RenderOptions,
    /// What the folder records; a folder recording other settings is refused unless `force`.
    pub settings: PyramidSettings,
    /// The longest tile list accepted (all zooms, before sharding).
    pub max_tiles: u64,
    /// Draw only the tiles that can hold coverage ([`pyramid_tiles_with_data`]): those the
    /// coverage store holds data for, and deeper the descendants of its z14 data tiles; not
    /// every tile of `bbox`. What a country or the planet needs.
    pub only_data: bool,
}

/// How far a pyramid run is, given to the progress callback after each tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyramidProgress {
    /// Tiles finished (drawn, or kept as they were complete).
    pub done: u64,
    /// Tiles of this run (this shard).
    pub total: u64,
}

/// What a pyramid run did.
#[derive(Debug, Clone, Default)]
pub struct PyramidReport {
    /// Tiles of this run (this shard).
    pub tiles: u64,
    /// Complete tiles already in the folder, kept.
    pub skipped: u64,
    /// Tiles found cut short (a crash or a full disk) and drawn again.
    pub redone: u64,
    /// What was drawn, summed over the tiles drawn.
    pub stats: RenderStats,
    /// Fully transparent tiles left out of an archive (clients draw nothing for a missing
    /// tile); always 0 for a folder, which keeps them.
    pub transparent: u64,
    /// The archive's size in bytes; 0 for a folder.
    pub archive_bytes: u64,
}

/// Writes the pyramid of `options` into its folder as `Z/X/Y.png`, tiles in parallel (rayon's
/// pool of the calling thread), each written atomically.
///
/// Complete tiles already in the folder are kept (see [`is_complete_png`]), so an interrupted
/// run resumes; a folder recording other settings (or holding PNG tiles but no record) is
/// refused unless [`PyramidOptions::force`]. Tiles deeper than z14 draw from their z14 parent,
/// read and indexed once in a [`ParentCache`]. `progress` is called after each tile.
///
/// # Errors
///
/// [`Error::InvalidOption`] for bad zooms or shard or a list longer than `max_tiles`;
/// [`Error::EmptyShard`]; [`Error::PyramidSettings`] when the folder was made otherwise;
/// [`Error::TileFailed`] naming the tile whose drawing failed; [`Error::Action`] when a
/// file or folder cannot be read, created or written.
///
/// ```
/// use mlytiles_render::{PyramidOptions, PyramidSettings, RenderOptions, Sources, write_pyramid};
/// use mlytiles_tile::BBox;
///
/// let cache = mlytiles_store::Cache::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cache"))?;
/// let sources = Sources::from_cache(&cache, "mly1_public")?;
/// let out = tempfile::tempdir()?;
/// let options = PyramidOptions {
///     bbox: BBox::new(-108.56, 39.05, -108.54, 39.07)?,
///     zooms: (11, 12),
///     out: out.path().to_path_buf(),
///     shard: (0, 1),
///     force: false,
///     render: RenderOptions::default(),
///     settings: PyramidSettings {
///         source: "sample".into(),
///         style: "mapillary".into(),
///         filters: String::new(),
///         size: 512,
///         scale: 1,
///         markers: false,
///         background: None,
///     },
///     max_tiles: 1000,
///     only_data: false,
/// };
/// let report = write_pyramid(&sources, &options, &|p| assert!(p.done <= p.total))?;
/// assert_eq!(report.skipped, 0);
/// assert!(out.path().join("12").is_dir());
/// // A second run keeps every complete tile.
/// let again = write_pyramid(&sources, &options, &|_| {})?;
/// assert_eq!(again.skipped, report.tiles);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_pyramid(
    sources: &Sources,
    options: &PyramidOptions,
    progress: &(dyn Fn(PyramidProgress) + Sync),
) -> Result<PyramidReport> {
    let (z0, z1) = options.zooms;
    let out = &options.out;
    let all = if options.only_data {
        pyramid_tiles_with_data(&*sources.coverage, options.bbox, z0, z1, options.max_tiles)?
    } else {
        pyramid_tiles(options.bbox, z0, z1, options.max_tiles)?
    };
    let (i, n) = options.shard;
    let tiles = shard(&all, i, n)?;
    if tiles.is_empty() && !all.is_empty() {
        return Err(Error::EmptyShard {
            index: i,
            count: n,
            total: all.len(),
        });
    }
    if is_archive(out) {
        return write_archive(sources, options, tiles, progress);
    }
    std::fs::create_dir_all(out).map_err(io_error("creating", out))?;
    claim_folder(out, &options.settings, options.force)?;
    let total = tiles.len() as u64;
    // Tiles deeper than z14 draw from their z14 parent: read, inflate and index it once.
    let parents = ParentCache::default();
    let done = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    let redone = AtomicU64::new(0);
    let stats = Mutex::new(RenderStats::default());
    let tick = || {
        let done = done.fetch_add(1, Ordering::Relaxed) + 1;
        progress(PyramidProgress { done, total });
    };
    tiles.par_iter().try_for_each(|&tile| -> Result<()> {
        let path = tile_path(out, tile);
        if !options.force && path.exists() {
            if is_complete_png(&path) {
                skipped.fetch_add(1, Ordering::Relaxed);
                tick();
                return Ok(());
            }
            // Cut short by a crash or a full disk: drawn again below.
            redone.fetch_add(1, Ordering::Relaxed);
        }
        let rendered = pyramid_tile(sources, tile, &options.render, &parents)?;
        let png = rendered.png;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
        }
        mlytiles_store::write_atomic(&path, &png).map_err(io_error("writing", &path))?;
        stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(&rendered.stats);
        tick();
        Ok(())
    })?;
    Ok(PyramidReport {
        tiles: total,
        skipped: skipped.into_inner(),
        redone: redone.into_inner(),
        stats: stats.into_inner().unwrap_or_else(|e| e.into_inner()),
        ..PyramidReport::default()
    })
}

/// Whether [`PyramidOptions::out`] names a PMTiles archive (it ends in `.pmtiles`) rather
/// than a folder.
pub fn is_archive(out: &Path) -> bool {
    out.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pmtiles"))
}

/// How many tiles are drawn at once before they are appended to an archive, in order: what
/// bounds the memory an archive run holds (some 256 PNGs) whatever the pyramid's size.
const ARCHIVE_BATCH: usize = 256;

/// The metadata an archive of this run carries: the area, zooms, attribution, the settings
/// that decide what a tile looks like and, for a shard, which part it is.
pub fn archive_metadata(options: &PyramidOptions) -> serde_json::Map<String, serde_json::Value> {
    let b = options.bbox;
    let (z0, z1) = options.zooms;
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        m.insert(k.to_string(), v);
    };
    put("name", "Mapillary coverage".into());
    put("type", "overlay".into());
    put("format", "png".into());
    put(
        "bounds",
        format!("{},{},{},{}", b.west(), b.south(), b.east(), b.north()).into(),
    );
    put("minzoom", z0.into());
    put("maxzoom", z1.into());
    put("attribution", crate::mosaic::ATTRIBUTION.into());
    put(
        "description",
        format!(
            "Mapillary coverage drawn by mlytiles {} in style {}{}",
            env!("CARGO_PKG_VERSION"),
            options.settings.style,
            if options.settings.filters.is_empty() {
                String::new()
            } else {
                format!(", filters {}", options.settings.filters)
            }
        )
        .into(),
    );
    put(
        "mlytiles:settings",
        serde_json::to_value(&options.settings).unwrap_or_default(),
    );
    if options.only_data {
        put("mlytiles:only_data", true.into());
    }
    let (i, n) = options.shard;
    if n > 1 {
        put(mlytiles_store::PART_KEY, format!("{i}/{n}").into());
    }
    m
}

/// [`write_pyramid`] into a PMTiles archive: batches of [`ARCHIVE_BATCH`] tiles drawn in
/// parallel, appended in list (tile id) order, fully transparent tiles left out.
fn write_archive(
    sources: &Sources,
    options: &PyramidOptions,
    tiles: &[TileId],
    progress: &(dyn Fn(PyramidProgress) + Sync),
) -> Result<PyramidReport> {
    let out = &options.out;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
    }
    let mut writer =
        mlytiles_store::ArchiveWriter::create(out, mlytiles_store::ArchiveFormat::Png)?;
    let parents = ParentCache::default();
    let total = tiles.len() as u64;
    let done = AtomicU64::new(0);
    let mut report = PyramidReport {
        tiles: total,
        ..PyramidReport::default()
    };
    for batch in tiles.chunks(ARCHIVE_BATCH) {
        let drawn = batch
            .par_iter()
            .map(|&tile| -> Result<(TileId, Option<Vec<u8>>, RenderStats)> {
                let rendered = pyramid_tile(sources, tile, &options.render, &parents)?;
                let png = (!rendered.transparent).then_some(rendered.png);
                let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(PyramidProgress { done, total });
                Ok((tile, png, rendered.stats))
            })
            .collect::<Result<Vec<_>>>()?;
        for (tile, png, stats) in drawn {
            report.stats.add(&stats);
            match png {
                Some(png) => writer.add(tile, &png)?,
                None => report.transparent += 1,
            }
        }
    }
    let summary = writer.finish(&archive_metadata(options), options.bbox)?;
    report.archive_bytes = summary.bytes;
    Ok(report)
}

/// `out/Z/X/Y.png`.
fn tile_path(out: &Path, tile: TileId) -> PathBuf {
    out.join(tile.z().to_string())
        .join(tile.x().to_string())
        .join(format!("{}.png", tile.y()))
}

/// An [`Error::Action`] of `action` (`creating`, `reading`, `writing`) on `path`.
fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Action {
        action,
        path,
        source,
    }
}

/// Checks the settings a pyramid folder records against this run's (refusing if they differ,
/// unless `force`), and records this run's.
fn claim_folder(out: &Path, settings: &PyramidSettings, force: bool) -> Result<()> {
    let file = out.join(PYRAMID_SETTINGS);
    match std::fs::read(&file) {
        Ok(bytes) => {
            let recorded: PyramidSettings =
                serde_json::from_slice(&bytes).map_err(|e| Error::PyramidSettings {
                    folder: out.to_path_buf(),
                    problem: SettingsProblem::Unreadable(e.to_string()),
                })?;
            let differences = recorded.differences(settings);
            if !differences.is_empty() && !force {
                return Err(Error::PyramidSettings {
                    folder: out.to_path_buf(),
                    problem: SettingsProblem::Differ(differences),
                });
            }
            if differences.is_empty() {
                return Ok(());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A folder that holds tiles but no record was made by something else (or an
            // older mlytiles): its tiles' settings are unknown.
            // (A shard started at the same time may have recorded its settings since.)
            if !force && holds_pngs(out) && !file.exists() {
                return Err(Error::PyramidSettings {
                    folder: out.to_path_buf(),
                    problem: SettingsProblem::Unrecorded,
                });
            }
        }
        Err(e) => return Err(io_error("reading", &file)(e)),
    }
    let mut json = serde_json::to_vec_pretty(settings)
        .map_err(|e| Error::InvalidOption(format!("pyramid settings: {e}")))?;
    json.push(b'\n');
    mlytiles_store::write_atomic(&file, &json).map_err(io_error("writing", &file))
}

/// Why a pyramid folder is refused: see [`Error::PyramidSettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsProblem {
    /// It records other settings: one `name folder -> run` a difference.
    Differ(Vec<String>),
    /// It holds PNG tiles but no [`PYRAMID_SETTINGS`].
    Unrecorded,
    /// Its [`PYRAMID_SETTINGS`] is not a settings record (the JSON error).
    Unreadable(String),
}

impl std::fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingsProblem::Differ(d) => write!(
                f,
                "holds a pyramid made with other settings ({}): write into another folder, or \
                 force drawing every tile again",
                d.join("; ")
            ),
            SettingsProblem::Unrecorded => write!(
                f,
                "holds PNG tiles but no {PYRAMID_SETTINGS} saying how they were made: write \
                 into another folder, or force drawing every tile again"
            ),
            SettingsProblem::Unreadable(e) => write!(
                f,
                "{PYRAMID_SETTINGS} is not a settings record of mlytiles: {e}"
            ),
        }
    }
}

/// Whether a pyramid folder holds any `Z/X/Y.png` (looks one level of each zoom deep).
fn holds_pngs(out: &Path) -> bool {
    let Ok(zooms) = std::fs::read_dir(out) else {
        return false;
    };
    zooms.flatten().any(|z| {
        z.path().is_dir()
            && std::fs::read_dir(z.path()).is_ok_and(|xs| {
                xs.flatten().any(|x| {
                    std::fs::read_dir(x.path()).is_ok_and(|ys| {
                        ys.flatten()
                            .any(|y| y.path().extension().is_some_and(|e| e == "png"))
                    })
                })
            })
    })
}

/// Whether `path` is a whole PNG file: the signature, an IHDR chunk first and an IEND chunk
/// last. A file cut short (a crash or a full disk while it was written) is not.
///
/// ```
/// use mlytiles_render::{PngOptions, encode_png, is_complete_png, tiny_skia::Pixmap};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("t.png");
/// let png = encode_png(&Pixmap::new(4, 4).unwrap(), &PngOptions::default())?;
/// std::fs::write(&path, &png)?;
/// assert!(is_complete_png(&path));
/// std::fs::write(&path, &png[..png.len() - 4])?;
/// assert!(!is_complete_png(&path));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn is_complete_png(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const IHDR: &[u8] = b"\0\0\0\x0dIHDR";
    const IEND: &[u8] = b"\0\0\0\0IEND\xaeB`\x82";
    let check = || -> std::io::Result<bool> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        // Signature, IHDR (8 + 13 + 4 bytes), IEND: 57 bytes at the least.
        if len < 57 {
            return Ok(false);
        }
        let mut head = [0u8; 16];
        f.read_exact(&mut head)?;
        let mut tail = [0u8; 12];
        f.seek(SeekFrom::End(-12))?;
        f.read_exact(&mut tail)?;
        Ok(&head[..8] == SIGNATURE && &head[8..] == IHDR && tail == IEND)
    };
    check().unwrap_or(false)
}

/// The store's `bounds` metadata (W,S,E,N), if it has any.
///
/// # Errors
///
/// [`Error::Store`] if the metadata cannot be read; [`Error::BadBounds`] if it is not a box.
///
/// ```no_run
/// let sources = mlytiles_render::Sources::from_store_path("coverage.mbtiles".as_ref())?;
/// if let Some(bbox) = mlytiles_render::store_bounds(&sources)? {
///     println!("{bbox:?}");
/// }
/// # Ok::<(), mlytiles_render::Error>(())
/// ```
pub fn store_bounds(sources: &Sources) -> Result<Option<BBox>> {
    let Some(text) = sources.coverage.metadata_value("bounds")? else {
        return Ok(None);
    };
    text.parse::<BBox>()
        .map(Some)
        .map_err(|source| Error::BadBounds { text, source })
}

/// The deepest zoom (at most 16) at which the box fits in 4096 px with tiles of `side` pixels:
/// the default zoom of a mosaic.
///
/// ```
/// use mlytiles_tile::BBox;
///
/// // A 0.05 x 0.04 degree town fits at z15 with 512 px tiles; the world only at z3.
/// let town = BBox::new(-108.57, 39.04, -108.52, 39.08)?;
/// assert_eq!(mlytiles_render::auto_zoom(town, 512), 15);
/// assert_eq!(mlytiles_render::auto_zoom(BBox::new(-180.0, -85.0, 180.0, 85.0)?, 512), 3);
/// # Ok::<(), mlytiles_tile::Error>(())
/// ```
pub fn auto_zoom(bbox: BBox, side: u32) -> u8 {
    let mut best = 0;
    for z in 0..=16u8 {
        let (x0, y0) = mlytiles_tile::lon_lat_to_tile_fraction(bbox.west(), bbox.north(), z);
        let (x1, y1) = mlytiles_tile::lon_lat_to_tile_fraction(bbox.east(), bbox.south(), z);
        let s = f64::from(side);
        if ((x1 - x0) * s).max((y1 - y0) * s) <= 4096.5 {
            best = z;
        }
    }
    best
}
