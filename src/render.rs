//! `mlytiles render`: coverage PNGs (one tile, a mosaic of an area, or an XYZ pyramid) from a
//! cache of stores or one store.

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mlytiles_render::{
    MosaicOptions, PngOptions, PyramidOptions, PyramidProgress, PyramidSettings, RenderOptions,
    RenderStats, Sources, Style, draw_legend, encode_png, render_mosaic, render_tile,
    write_pyramid,
};
use mlytiles_store::{Cache, TileStatus};
use mlytiles_tile::{BBox, TileId};

use crate::cache_home::{ReadCache, SAMPLE_PLACE};
use crate::filter_args::FilterArgs;
use crate::units::human_bytes;

/// `println!` that returns the write error (a closed pipe ends the command quietly, see
/// main.rs) instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {
        writeln!(std::io::stdout(), $($t)*)?
    };
}

/// Render Mapillary coverage as PNG: one tile, a mosaic of an area, or an XYZ pyramid.
///
/// With no arguments, renders the area of the cache (`--cache`, else MLYTILES_CACHE, else the
/// user cache folder, as `mlytiles fetch` fills it) to coverage.png with a world file
/// (coverage.pgw) beside it. While that cache holds no store, the bundled sample area is drawn
/// instead, and a line on stderr says so.
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
    #[arg(long, value_name = "Z/X/Y", conflicts_with_all = ["pyramid", "zoom", "bbox"])]
    tile: Option<TileId>,

    /// The mosaic's zoom (default: the deepest zoom at which the area fits in 4096 px, at most
    /// 16).
    #[arg(long, value_name = "Z", conflicts_with = "pyramid")]
    zoom: Option<u8>,

    /// Write an XYZ folder of PNG tiles (DIR/Z/X/Y.png) for --bbox at --zooms. Complete tiles
    /// already there are kept (an interrupted run resumes); the folder records the settings
    /// that made it, and a run with other settings stops unless --force is given.
    #[arg(long, requires = "zooms")]
    pyramid: bool,

    /// The pyramid's zooms, A-B (or one zoom).
    #[arg(long, value_name = "A-B", value_parser = parse_zooms, requires = "pyramid")]
    zooms: Option<(u8, u8)>,

    /// Render every pyramid tile again, even when the folder holds it or was made with other
    /// settings.
    #[arg(long, requires = "pyramid")]
    force: bool,

    /// Render only the I-th (0-based) of N contiguous parts of the pyramid's tile list in
    /// Hilbert order, e.g. `$JOB_INDEX/16`: parts write disjoint tiles.
    #[arg(long, value_name = "I/N", requires = "pyramid", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,

    /// The cache folder, one store per tileset [default: MLYTILES_CACHE, else the user cache
    /// folder's `mlytiles`, as for `mlytiles fetch`; the bundled sample while that holds no
    /// store].
    #[arg(long, value_name = "DIR", conflicts_with = "store")]
    cache: Option<PathBuf>,

    /// One coverage store instead of a cache: an .mbtiles file or a Z/X/Y folder of .mvt tiles.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["tileset", "markers"])]
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

    /// Draw map features (points, traffic signs) as markers coloured by class (z14 and deeper;
    /// read from the cache's map-feature stores).
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

    /// Stop at the first stored tile that cannot be read (garbage, a gzip bomb) instead of
    /// drawing it as missing and naming it in the summary.
    #[arg(long)]
    strict: bool,

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

pub fn run(args: &Args) -> Result<()> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        pool = pool.num_threads(n.max(1));
    }
    let pool = pool.build().context("starting the thread pool")?;
    pool.install(|| run_in_pool(args))
}

/// What a render reads, and how messages name it.
struct Source {
    sources: Sources,
    /// For messages: the store file or folder, or the bundled sample.
    name: String,
    /// What to tell a user whose area is missing from it.
    fill_hint: String,
    /// Keeps an unpacked sample alive while rendering.
    _cache: Option<ReadCache>,
}

fn open_source(args: &Args) -> Result<Source> {
    if let Some(path) = &args.store {
        if !path.exists() {
            bail!("{}: no such file or folder (--store)", path.display());
        }
        return Ok(Source {
            sources: Sources::from_store_path(path)?,
            name: path.display().to_string(),
            fill_hint: "render a store that holds the area (`mlytiles cache info` lists what a \
                        cache holds)"
                .to_string(),
            _cache: None,
        });
    }
    let cache = ReadCache::open(args.cache.as_deref())?;
    let store = Cache::open(&cache.dir).with_context(|| cache.describe())?;
    let sources = Sources::from_cache(&store, &args.tileset).map_err(|e| match e {
        mlytiles_render::Error::InvalidOption(_) => anyhow!(
            "{} has no {} store: fetch it with `mlytiles fetch --tileset {} --bbox W,S,E,N`",
            cache.describe(),
            args.tileset,
            args.tileset
        ),
        e => anyhow::Error::new(e).context(cache.describe()),
    })?;
    let name = if cache.is_sample {
        format!("{} ({})", cache.describe(), args.tileset)
    } else {
        sources_path(&cache.dir, &args.tileset)
    };
    let cache_flag = match &args.cache {
        Some(d) => format!(" --cache {}", d.display()),
        None => String::new(),
    };
    let fill_hint = if cache.is_sample {
        format!(
            "the sample covers only a small area {SAMPLE_PLACE}; fetch your area with \
             `mlytiles fetch --tileset {} --bbox W,S,E,N` (it goes into {})",
            args.tileset,
            cache.named.display()
        )
    } else {
        format!(
            "fetch the area with `mlytiles fetch{cache_flag} --tileset {} --bbox W,S,E,N`",
            args.tileset
        )
    };
    Ok(Source {
        sources,
        name,
        fill_hint,
        _cache: Some(cache),
    })
}

fn run_in_pool(args: &Args) -> Result<()> {
    let source = open_source(args)?;
    let sources = &source.sources;
    let mut filter = args.filter.to_filter()?;
    // The area of a mosaic or pyramid: --bbox, or the box of --within's polygons, or the
    // store's bounds.
    let area = match (args.filter.bbox, &filter.area) {
        (Some(b), _) => Some(b),
        (None, Some(a)) if args.filter.within.is_some() => a.bounds(),
        _ => None,
    };
    if args.filter.bbox.is_some() {
        // The image is cropped to the box: no need to test every feature against it (and dots
        // just outside still show their part inside). --tile and --bbox exclude each other.
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
        strict: args.strict,
    };
    let start = Instant::now();
    if let Some(tile) = args.tile {
        return one_tile(args, &source, tile, &options, start);
    }
    let bbox = match area {
        Some(b) => b,
        None => store_bounds(sources)?,
    };
    if args.pyramid {
        let (z0, z1) = args
            .zooms
            .ok_or_else(|| anyhow!("--pyramid needs --zooms A-B"))?;
        check_area_held(&source, bbox, z0..=z1)?;
        return pyramid(args, &source, bbox, z0, z1, &options, start);
    }
    let zoom = match args.zoom {
        Some(z) => z,
        None => mlytiles_render::auto_zoom(bbox, options.pixels()?),
    };
    check_area_held(&source, bbox, zoom..=zoom)?;
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
    let report = render_mosaic(sources, &mosaic, &out)?;
    let secs = start.elapsed().as_secs_f64();
    out!(
        "Rendered {} tiles at z{zoom} (style {}) from {}, {} threads, in {secs:.2} s:",
        report.tiles,
        args.style,
        source.name,
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

/// Fails, before anything is written, when the store holds none of the tiles that drawing
/// `bbox` at `zooms` reads (z15 and deeper read z14): the image would be empty. Names the
/// zooms the store does hold there, and how to fill it.
fn check_area_held(source: &Source, bbox: BBox, zooms: RangeInclusive<u8>) -> Result<()> {
    let store = &source.sources.coverage;
    let data_zooms: BTreeSet<u8> = zooms
        .map(|z| z.min(mlytiles_render::MAX_DATA_ZOOM))
        .collect();
    let held_at = |z: u8| -> Result<usize> {
        Ok(store
            .list(z, Some(bbox))
            .with_context(|| source.name.clone())?
            .iter()
            .filter(|(_, status)| *status != TileStatus::Failed)
            .count())
    };
    for &z in &data_zooms {
        if held_at(z)? > 0 {
            return Ok(());
        }
    }
    let wanted = data_zooms
        .iter()
        .map(|z| format!("z{z}"))
        .collect::<Vec<_>>()
        .join(", ");
    // z0-5 tiles cover so much that holding one says little: only deeper zooms are named.
    let mut elsewhere = Vec::new();
    for z in 6..=mlytiles_render::MAX_DATA_ZOOM {
        if !data_zooms.contains(&z) {
            let n = held_at(z)?;
            if n > 0 {
                elsewhere.push(format!("{n} at z{z}"));
            }
        }
    }
    let area = format!(
        "{},{},{},{}",
        bbox.west(),
        bbox.south(),
        bbox.east(),
        bbox.north()
    );
    if elsewhere.is_empty() {
        bail!(
            "nothing to draw: {} holds no tile of {area} ({wanted}); {}",
            source.name,
            source.fill_hint
        );
    }
    bail!(
        "nothing to draw: {} holds no {wanted} tile of {area} (it holds {} there: choose \
         that zoom, or fetch {wanted})",
        source.name,
        elsewhere.join(", ")
    );
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
    if !s.unreadable.is_empty() {
        out!(
            "  stored tiles that cannot be read, drawn as missing: {} (--strict stops at them; \
             `mlytiles cache verify` says why)",
            s.unreadable
        );
    }
    Ok(())
}

/// The store's `bounds` metadata (W,S,E,N).
fn store_bounds(sources: &Sources) -> Result<BBox> {
    match mlytiles_render::store_bounds(sources) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => bail!("give --bbox W,S,E,N (the store has no bounds metadata)"),
        Err(mlytiles_render::Error::BadBounds { text, source }) => {
            bail!("the store's bounds {text:?}: {source}; give --bbox")
        }
        Err(e) => Err(e.into()),
    }
}

fn one_tile(
    args: &Args,
    source: &Source,
    tile: TileId,
    options: &RenderOptions,
    start: Instant,
) -> Result<()> {
    let data = mlytiles_render::data_tile(tile);
    let held = source
        .sources
        .coverage
        .has(data)
        .with_context(|| source.name.clone())?;
    if !held {
        bail!(
            "nothing to draw: {} does not hold tile {data}{}; {}",
            source.name,
            if data == tile {
                String::new()
            } else {
                format!(" (which {tile} is drawn from)")
            },
            source.fill_hint.replace("--bbox W,S,E,N", &inner_box(data))
        );
    }
    let mut rendered = render_tile(&source.sources, tile, options)?;
    if args.legend {
        draw_legend(&mut rendered.pixmap, options.style, options.markers)?;
    }
    let png = encode_png(&rendered.pixmap, &PngOptions::default())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("coverage.png"));
    mlytiles_store::write_atomic(&out, &png)
        .with_context(|| format!("writing {}", out.display()))?;
    out!(
        "Rendered tile {tile} (style {}) from {} in {:.1} ms:",
        options.style,
        source.name,
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

/// `--bbox W,S,E,N --zoom Z` of a box just inside `tile`: the fetch options that get it alone.
fn inner_box(tile: TileId) -> String {
    let b = tile.bounds();
    let (dx, dy) = (
        (b.east() - b.west()) / 100.0,
        (b.north() - b.south()) / 100.0,
    );
    format!(
        "--bbox {:.6},{:.6},{:.6},{:.6} --zoom {}",
        b.west() + dx,
        b.south() + dy,
        b.east() - dx,
        b.north() - dy,
        tile.z()
    )
}

/// The settings a pyramid folder records of this run.
fn pyramid_settings(args: &Args, source: &Source) -> PyramidSettings {
    PyramidSettings {
        source: source.name.clone(),
        style: args.style.to_string(),
        filters: crate::filter_args::flags_given(&std::env::args().collect::<Vec<_>>(), &["bbox"])
            .join(" "),
        size: args.size,
        scale: args.scale,
        markers: args.markers,
        background: args
            .background
            .map(|[r, g, b, a]| format!("#{r:02x}{g:02x}{b:02x}{a:02x}")),
    }
}

fn pyramid(
    args: &Args,
    source: &Source,
    bbox: BBox,
    z0: u8,
    z1: u8,
    options: &RenderOptions,
    start: Instant,
) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("tiles"));
    let (i, n) = args.shard.unwrap_or((0, 1));
    let pyramid = PyramidOptions {
        bbox,
        zooms: (z0, z1),
        out: out.clone(),
        shard: (i, n),
        force: args.force,
        render: options.clone(),
        settings: pyramid_settings(args, source),
        max_tiles: 50_000_000,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tiles, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = write_pyramid(&source.sources, &pyramid, &|p: PyramidProgress| {
        bar.set_length(p.total);
        bar.inc(1);
    });
    bar.finish_and_clear();
    let report = result.map_err(pyramid_error)?;
    let (tiles, skipped, redone) = (report.tiles, report.skipped, report.redone);
    out!(
        "Pyramid z{z0}-{z1}{}: {tiles} tiles ({} rendered{}, {skipped} already there) into {} in {:.2} s",
        if n > 1 {
            format!(", part {i}/{n}")
        } else {
            String::new()
        },
        tiles - skipped,
        if redone > 0 {
            format!(", {redone} of them incomplete files drawn again")
        } else {
            String::new()
        },
        out.display(),
        start.elapsed().as_secs_f64()
    );
    print_stats(&report.stats)?;
    Ok(())
}

/// The pyramid writer's errors in the command's words (its flags).
fn pyramid_error(e: mlytiles_render::Error) -> anyhow::Error {
    use mlytiles_render::{Error, PYRAMID_SETTINGS, SettingsProblem};
    const REDO: &str = "render into another folder, or give --force to render every tile again";
    match e {
        Error::TileFailed { tile, source } => {
            anyhow::Error::new(*source).context(format!("tile {tile}"))
        }
        Error::PyramidSettings { folder, problem } => match problem {
            SettingsProblem::Differ(d) => anyhow!(
                "{} holds a pyramid made with other settings ({}): {REDO}",
                folder.display(),
                d.join("; ")
            ),
            SettingsProblem::Unrecorded => anyhow!(
                "{} holds PNG tiles but no {PYRAMID_SETTINGS} saying how they were made: {REDO}",
                folder.display()
            ),
            SettingsProblem::Unreadable(e) => anyhow!(
                "{}: not a settings record of mlytiles (remove it, or choose another --out): {e}",
                folder.join(PYRAMID_SETTINGS).display()
            ),
            other => anyhow!("{} {other}", folder.display()),
        },
        e => e.into(),
    }
}
