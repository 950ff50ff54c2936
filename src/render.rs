//! `mlytiles render`: coverage PNGs (one tile, a mosaic of an area, or an XYZ pyramid) from a
//! cache of stores or one store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mlytiles_render::{
    MosaicOptions, PngOptions, RenderOptions, RenderStats, Sources, Style, draw_legend, encode_png,
    pyramid_tiles, render_mosaic, render_tile, shard,
};
use mlytiles_store::Cache;
use mlytiles_tile::{BBox, TileId};
use rayon::prelude::*;

use crate::filter_args::FilterArgs;

/// `println!` that returns the write error (a closed pipe ends the command quietly, see
/// main.rs) instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {
        writeln!(std::io::stdout(), $($t)*)?
    };
}

/// Render Mapillary coverage as PNG: one tile, a mosaic of an area, or an XYZ pyramid.
///
/// With no arguments, renders the bundled sample area (fixtures/cache) to coverage.png with a
/// world file (coverage.pgw) beside it.
///
/// What each zoom draws: z0-5 the overview points, z6-13 the sequence lines, z14 lines and
/// image dots, z15-22 the z14 tiles overzoomed. A mosaic (--bbox, or --within's box) is
/// georeferenced: a .pgw world file in Web Mercator metres (EPSG:3857) and the bbox and the
/// attribution "Mapillary, CC BY-SA" in PNG text chunks. The filter flags apply to the layers
/// that carry what they test (--pano to coverage, --class to map-feature markers).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlytiles render                                       # the sample area -> coverage.png
  mlytiles render --tile 14/3251/6257 --style age --out tile.png
  mlytiles render --bbox -108.57,39.04,-108.52,39.08 --zoom 16 --style pano --legend
  mlytiles render --bbox -108.59,39.02,-108.50,39.10 --since 2023-01-01 --pano only
  mlytiles render --store tiles/ --tile 12/812/1564     # a z/x/y folder of .mvt tiles
  mlytiles render --pyramid --bbox -108.59,39.02,-108.50,39.10 --zooms 0-16 --out xyz/
  mlytiles render --pyramid --bbox ... --zooms 0-18 --out xyz/ --shard 3/16")]
pub struct Args {
    /// Render one tile, Z/X/Y.
    #[arg(long, value_name = "Z/X/Y", conflicts_with_all = ["pyramid", "zoom"])]
    tile: Option<TileId>,

    /// The mosaic's zoom (default: the deepest zoom at which the area fits in 4096 px, at most
    /// 16).
    #[arg(long, value_name = "Z")]
    zoom: Option<u8>,

    /// Write an XYZ folder of PNG tiles (DIR/Z/X/Y.png) for --bbox at --zooms; tiles already
    /// there are kept (an interrupted run resumes).
    #[arg(long, requires = "zooms")]
    pyramid: bool,

    /// The pyramid's zooms, A-B (or one zoom).
    #[arg(long, value_name = "A-B", value_parser = parse_zooms)]
    zooms: Option<(u8, u8)>,

    /// Render only the I-th (0-based) of N contiguous parts of the pyramid's tile list in
    /// Hilbert order, e.g. `$JOB_INDEX/16`: parts write disjoint tiles.
    #[arg(long, value_name = "I/N", requires = "pyramid", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,

    /// A cache folder of stores, one per tileset (default: the bundled sample, fixtures/cache).
    #[arg(long, value_name = "DIR", conflicts_with = "store")]
    cache: Option<PathBuf>,

    /// One coverage store: an .mbtiles file or a Z/X/Y folder of .mvt tiles.
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,

    /// The coverage tileset in the cache: mly1_public or mly1_computed_public.
    #[arg(long, default_value = "mly1_public")]
    tileset: String,

    /// mapillary (#05CB63), classic (#35AF6D), age, pano, density, organization:ID,
    /// creator:ID.
    #[arg(long, default_value = "mapillary")]
    style: Style,

    /// Tile size in pixels: 256 or 512.
    #[arg(long, default_value_t = 512, value_parser = parse_size)]
    size: u32,

    /// Pixel ratio (2 for @2x tiles).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4))]
    scale: u32,

    /// Draw map features (points, traffic signs) as markers coloured by class (z14 and deeper).
    #[arg(long)]
    markers: bool,

    /// A solid background, #RRGGBB or #RRGGBBAA (default transparent).
    #[arg(long, value_name = "COLOUR", value_parser = parse_colour)]
    background: Option<[u8; 4]>,

    /// Add a legend saying what the colours mean (one tile or a mosaic; not pyramid tiles).
    #[arg(long, conflicts_with = "pyramid")]
    legend: bool,

    /// Output PNG (a folder with --pyramid). Default coverage.png (tiles/ with --pyramid).
    #[arg(short, long, value_name = "PATH")]
    out: Option<PathBuf>,

    /// Threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    #[command(flatten)]
    filter: FilterArgs,
}

fn parse_size(s: &str) -> std::result::Result<u32, String> {
    match s {
        "256" => Ok(256),
        "512" => Ok(512),
        _ => Err(format!("{s:?}: expected 256 or 512")),
    }
}

fn parse_zooms(s: &str) -> std::result::Result<(u8, u8), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let p = |v: &str| {
        v.trim()
            .parse::<u8>()
            .map_err(|_| format!("{s:?}: expected zooms A-B such as 0-16"))
    };
    let (a, b) = (p(a)?, p(b)?);
    if a > b || b > mlytiles_render::MAX_ZOOM {
        return Err(format!(
            "{s:?}: expected A <= B <= {}",
            mlytiles_render::MAX_ZOOM
        ));
    }
    Ok((a, b))
}

fn parse_shard(s: &str) -> std::result::Result<(u64, u64), String> {
    let err = || format!("{s:?}: expected I/N with 0 <= I < N, such as 3/16");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let (i, n) = (
        i.parse::<u64>().map_err(|_| err())?,
        n.parse::<u64>().map_err(|_| err())?,
    );
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

fn parse_colour(s: &str) -> std::result::Result<[u8; 4], String> {
    let h = s.trim_start_matches('#');
    let err = || format!("{s:?}: expected #RRGGBB or #RRGGBBAA");
    if !(h.len() == 6 || h.len() == 8) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err());
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).map_err(|_| err());
    Ok([
        byte(0)?,
        byte(2)?,
        byte(4)?,
        if h.len() == 8 { byte(6)? } else { 255 },
    ])
}

/// The bundled sample cache, found from the current folder or the binary's source tree.
fn default_cache() -> PathBuf {
    let here = PathBuf::from("fixtures/cache");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache")
}

pub fn run(args: &Args) -> Result<()> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        pool = pool.num_threads(n.max(1));
    }
    let pool = pool.build().context("starting the thread pool")?;
    pool.install(|| run_in_pool(args))
}

fn run_in_pool(args: &Args) -> Result<()> {
    let (sources, source_name) = match &args.store {
        Some(path) => (Sources::from_store_path(path)?, path.display().to_string()),
        None => {
            let dir = args.cache.clone().unwrap_or_else(default_cache);
            if !dir.is_dir() {
                bail!("the cache folder {} does not exist", dir.display());
            }
            let cache = Cache::open(&dir).with_context(|| format!("cache {}", dir.display()))?;
            let sources = Sources::from_cache(&cache, &args.tileset)?;
            (sources, sources_path(&dir, &args.tileset))
        }
    };
    let mut filter = args.filter.to_filter()?;
    // The area of a mosaic or pyramid: --bbox, or the box of --within's polygons, or the
    // store's bounds.
    let area = match (args.filter.bbox, &filter.area) {
        (Some(b), _) => Some(b),
        (None, Some(a)) if args.filter.within.is_some() => a.bounds(),
        _ => None,
    };
    if args.filter.bbox.is_some() && args.tile.is_none() {
        // The image is cropped to the box: no need to test every feature against it (and dots
        // just outside still show their part inside).
        filter.area = None;
    }
    let has_filter = filter != Default::default();
    let options = RenderOptions {
        size: args.size,
        scale: args.scale,
        style: args.style,
        filter: has_filter.then_some(filter),
        markers: args.markers,
        background: args.background,
        now: None,
    };
    let start = Instant::now();
    if let Some(tile) = args.tile {
        return one_tile(args, &sources, &source_name, tile, &options, start);
    }
    let bbox = match area {
        Some(b) => b,
        None => store_bounds(&sources)?,
    };
    if args.pyramid {
        let (z0, z1) = args
            .zooms
            .ok_or_else(|| anyhow!("--pyramid needs --zooms A-B"))?;
        return pyramid(args, &sources, bbox, z0, z1, &options, start);
    }
    let zoom = match args.zoom {
        Some(z) => z,
        None => auto_zoom(bbox, options.pixels()?),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("coverage.png"));
    let mosaic = MosaicOptions {
        bbox,
        zoom,
        render: options,
        legend: args.legend,
        ..MosaicOptions::default()
    };
    let report = render_mosaic(&sources, &mosaic, &out)?;
    let secs = start.elapsed().as_secs_f64();
    out!(
        "Rendered {} tiles at z{zoom} (style {}) from {source_name}, {} threads, in {secs:.2} s:",
        report.tiles,
        args.style,
        rayon::current_num_threads()
    );
    print_stats(&report.stats)?;
    out!(
        "Wrote {} ({} x {} px, {}, {}) and {} (Web Mercator world file).",
        report.path.display(),
        report.width,
        report.height,
        human_bytes(report.bytes),
        if report.indexed {
            "indexed colour"
        } else {
            "RGBA"
        },
        report.world_file.display()
    );
    out!(
        "Area {},{},{},{}; attribution: Mapillary, CC BY-SA.",
        bbox.west(),
        bbox.south(),
        bbox.east(),
        bbox.north()
    );
    Ok(())
}

fn sources_path(dir: &Path, tileset: &str) -> String {
    dir.join(format!("{tileset}.mbtiles")).display().to_string()
}

fn print_stats(s: &RenderStats) -> Result<()> {
    out!(
        "  {} sequence lines, {} image points, {} map-feature markers drawn; {} features filtered out",
        s.lines,
        s.points,
        s.markers,
        s.features_filtered
    );
    if s.tiles_missing > 0 || s.features_skipped > 0 {
        out!(
            "  {} tiles missing from the store (drawn transparent), {} features skipped as unreadable",
            s.tiles_missing,
            s.features_skipped
        );
    }
    Ok(())
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / f64::from(1 << 20))
    } else {
        format!("{:.0} KB", (n as f64 / 1024.0).ceil())
    }
}

/// The store's `bounds` metadata (W,S,E,N).
fn store_bounds(sources: &Sources) -> Result<BBox> {
    let text = sources
        .coverage
        .metadata_value("bounds")?
        .ok_or_else(|| anyhow!("give --bbox W,S,E,N (the store has no bounds metadata)"))?;
    text.parse::<BBox>()
        .map_err(|e| anyhow!("the store's bounds {text:?}: {e}; give --bbox"))
}

/// The deepest zoom (at most 16) at which the box fits in 4096 px.
fn auto_zoom(bbox: BBox, side: u32) -> u8 {
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

fn one_tile(
    args: &Args,
    sources: &Sources,
    source_name: &str,
    tile: TileId,
    options: &RenderOptions,
    start: Instant,
) -> Result<()> {
    let mut rendered = render_tile(sources, tile, options)?;
    if args.legend {
        draw_legend(&mut rendered.pixmap, options.style, options.markers)?;
    }
    let png = encode_png(&rendered.pixmap, &PngOptions::default())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("coverage.png"));
    write_atomic(&out, &png)?;
    out!(
        "Rendered tile {tile} (style {}) from {source_name} in {:.1} ms:",
        options.style,
        start.elapsed().as_secs_f64() * 1000.0
    );
    print_stats(&rendered.stats)?;
    out!(
        "Wrote {} ({} x {} px, {}).",
        out.display(),
        rendered.pixmap.width(),
        rendered.pixmap.height(),
        human_bytes(png.len() as u64)
    );
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.part"));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn pyramid(
    args: &Args,
    sources: &Sources,
    bbox: BBox,
    z0: u8,
    z1: u8,
    options: &RenderOptions,
    start: Instant,
) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("tiles"));
    let all = pyramid_tiles(bbox, z0, z1, 50_000_000)?;
    let (i, n) = args.shard.unwrap_or((0, 1));
    let tiles = shard(&all, i, n)?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let bar = ProgressBar::new(tiles.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tiles, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let skipped = AtomicU64::new(0);
    let stats = std::sync::Mutex::new(RenderStats::default());
    let result: Result<()> = tiles.par_iter().try_for_each(|&tile| {
        let path = out
            .join(tile.z().to_string())
            .join(tile.x().to_string())
            .join(format!("{}.png", tile.y()));
        if path.is_file() {
            skipped.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
            return Ok(());
        }
        let rendered =
            render_tile(sources, tile, options).with_context(|| format!("tile {tile}"))?;
        let png = encode_png(&rendered.pixmap, &PngOptions::default())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_atomic(&path, &png)?;
        stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(&rendered.stats);
        bar.inc(1);
        Ok(())
    });
    bar.finish_and_clear();
    result?;
    let stats = stats.into_inner().unwrap_or_else(|e| e.into_inner());
    let skipped = skipped.into_inner();
    if tiles.is_empty() && !all.is_empty() {
        bail!("shard {i}/{n} is empty ({} tiles in all)", all.len());
    }
    out!(
        "Pyramid z{z0}-{z1}{}: {} tiles ({} rendered, {skipped} already there) into {} in {:.2} s",
        if n > 1 {
            format!(", part {i}/{n}")
        } else {
            String::new()
        },
        tiles.len(),
        tiles.len() as u64 - skipped,
        out.display(),
        start.elapsed().as_secs_f64()
    );
    print_stats(&stats)?;
    Ok(())
}
