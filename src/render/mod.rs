//! `mlytiles render`: coverage images (one tile, a mosaic of an area, or an XYZ pyramid) from
//! a cache of stores or one store.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use mlytiles_render::{RenderOptions, Style};
use mlytiles_tile::TileId;

use crate::filter_args::FilterArgs;

use self::source::{check_area_held, open_source, store_bounds};
/// `println!` that returns the write error (a closed pipe ends the command quietly, see
/// main.rs) instead of panicking. Defined before the submodules, which use it too.
macro_rules! out {
    ($($t:tt)*) => {
        writeln!(std::io::stdout(), $($t)*)?
    };
}

mod args;
mod mosaic;
mod pyramid;
mod source;
mod stats;
mod tile;

use self::args::{parse_colour, parse_shard, parse_size, parse_zooms};

/// Render Mapillary coverage as PNG or GeoTIFF: one tile, a mosaic of an area, or an XYZ
/// pyramid.
///
/// With no arguments, renders the area of the cache (`--cache`, else MLYTILES_CACHE, else the
/// user cache folder, as `mlytiles fetch` fills it) to coverage.png with its world file and
/// coordinate system (coverage.pgw, .prj, .png.aux.xml) beside it. While that cache holds no
/// store, the bundled sample area is drawn instead, and a line on stderr says so.
///
/// What each zoom draws: z0-5 the overview points, z6-13 the sequence lines, z14 lines and
/// image dots, z15-22 the z14 tiles overzoomed. A mosaic (--bbox, or --within's box) is
/// georeferenced in Web Mercator (EPSG:3857): a PNG has a .pgw world file, a .prj and a
/// .png.aux.xml (the coordinate system, for GIS tools) beside it, and the area and the
/// attribution "Mapillary, CC BY-SA" in text chunks; `--out FILE.tif` writes a GeoTIFF instead
/// (tiled, compressed, with the GeoTIFF tags of EPSG:3857; also for --tile). The filter flags apply to the
/// layers that carry what they test (--pano to coverage, --class to map-feature markers).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mlytiles render                                       # the sample area -> coverage.png
  mlytiles render --tile 14/3251/6257 --style age --out tile.png
  mlytiles render --bbox -108.57,39.04,-108.52,39.08 --zoom 16 --style pano --legend
  mlytiles render --bbox -108.59,39.02,-108.50,39.10 --since 2023-01-01 --pano only
  mlytiles render --bbox -108.59,39.02,-108.50,39.10 --out coverage.tif   # a GeoTIFF
  mlytiles render --store tiles/ --tile 12/812/1564     # a z/x/y folder of .mvt tiles
  mlytiles render --pyramid --bbox -108.59,39.02,-108.50,39.10 --zooms 0-16 --out xyz/
  mlytiles render --pyramid --bbox ... --zooms 0-18 --out xyz/ --shard 3/16
  mlytiles render --pyramid --bbox ... --zooms 0-14 --out part-3.pmtiles --shard 3/16")]
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

    /// Render only the pyramid tiles that can hold coverage: those the store holds data for
    /// (z0-14), and deeper the descendants of its z14 data tiles. The list follows the data,
    /// not the area: what a country or the planet needs (`--bbox -180,-85,180,85`).
    #[arg(long, requires = "pyramid")]
    only_data: bool,

    /// The longest pyramid tile list a run accepts, all zooms before sharding (it is held in
    /// memory, 12 bytes a tile): a guard against a mistyped box or zoom.
    #[arg(
        long,
        value_name = "N",
        requires = "pyramid",
        default_value_t = 50_000_000
    )]
    max_tiles: u64,

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

    /// Output PNG, or GeoTIFF when it ends in .tif or .tiff (a folder of PNG tiles with
    /// --pyramid, or a PMTiles archive when it ends in .pmtiles). Default coverage.png
    /// (tiles/ with --pyramid).
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

/// A thread pool whose calling thread is one of its threads and whose other thread keeps
/// looking for work ([`keep_warm`]) from the start until the process ends (at most
/// [`KEEP_WARM_FOR`]).
pub struct WarmPool {
    pool: rayon::ThreadPool,
    /// Set to end [`keep_warm`] before its time is up ([`WarmPool::let_go`]).
    stop: Arc<AtomicBool>,
}

impl WarmPool {
    /// Starts the pool: `threads` threads, or rayon's default (the cores) for `None`. The
    /// calling thread is one of them (so a thread already in a pool cannot start one).
    fn start(threads: Option<usize>) -> Result<WarmPool, rayon::ThreadPoolBuildError> {
        WarmPool::keeping_warm(threads, KEEP_WARM_FOR)
    }

    /// [`WarmPool::start`] with its other thread kept warm for `for_at_most`.
    fn keeping_warm(
        threads: Option<usize>,
        for_at_most: Duration,
    ) -> Result<WarmPool, rayon::ThreadPoolBuildError> {
        let mut builder = rayon::ThreadPoolBuilder::new().use_current_thread();
        if let Some(n) = threads {
            builder = builder.num_threads(n.max(1));
        }
        let pool = builder.build()?;
        let stop = Arc::new(AtomicBool::new(false));
        if pool.current_num_threads() > 1 {
            let owner = pool.current_thread_index();
            // Where this thread runs, for the other to leave if it was started there.
            let owner_cpu = mlytiles_render::current_cpu();
            let stop = Arc::clone(&stop);
            pool.spawn(move || {
                // Not stopped when the work returns, only by `let_go`: a thread that had gone
                // to sleep held the end of the process back by its wake-up (to be stopped),
                // 35 us here.
                keep_warm(owner, owner_cpu, &stop, for_at_most);
            });
        }
        Ok(WarmPool { pool, stop })
    }

    /// Ends the pool: its other threads stop looking for work and end, while the caller
    /// goes on (writing what it made). A process whose other thread has ended exits sooner
    /// than one whose thread is still running (35 us here: the kernel stops a running thread
    /// at the exit), and much sooner than one whose thread sleeps.
    fn let_go(self) {
        self.stop.store(true, Ordering::Release);
        drop(self.pool);
    }

    /// Runs `work` on the pool (on the calling thread, the other helping).
    #[cfg(test)]
    fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.pool.install(work)
    }
}

/// The pool of `mlytiles render` with the default number of threads, for starting before the
/// arguments are parsed: a thread took 150 us to start here (the other core wakes up), which
/// the parsing then hides, so the pool's second thread is there for the first parallel step.
/// `None` when the command line has `--threads` (or if the pool cannot start; [`run`] then
/// tries again and reports why).
pub fn early_pool() -> Option<WarmPool> {
    // `--name` or `--name=VALUE`.
    let given = |name: &[u8]| {
        std::env::args_os().any(|a| {
            a.as_encoded_bytes()
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"="))
        })
    };
    if given(b"--threads") {
        return None;
    }
    // One tile is drawn on two threads at most: as many as the CPUs allowed, up to two, found
    // without reading the control group's quota (0.02 ms); the pool is let go as soon as the
    // tile is encoded, so a quota below two CPUs costs nothing more than that moment.
    let threads = given(b"--tile")
        .then(mlytiles_render::cpus_allowed)
        .flatten()
        .map(|n| n.min(2));
    WarmPool::start(threads).ok()
}

/// Runs `mlytiles render` on `early` (from [`early_pool`]) or a pool of `--threads` threads.
pub fn run(args: &Args, early: Option<WarmPool>) -> Result<()> {
    // Everything a render's summary line counts starts here: the thread pool (unless it
    // started before the arguments were parsed), opening the store, reading, drawing,
    // encoding and writing (not the process start and argument parsing before it, which
    // `mlytiles --version` alone shows).
    let start = Instant::now();
    let pool = match early.filter(|_| args.threads.is_none()) {
        Some(pool) => pool,
        None => WarmPool::start(args.threads).context("starting the thread pool")?,
    };
    // This thread is one of the pool's (`WarmPool::start` made it so, here, for `early`
    // too), so the work runs on the pool right here, as `install` would run it, and the pool
    // can be let go (taken and [`WarmPool::let_go`]) before the work ends, once only writing
    // is left.
    run_in_pool(args, start, &mut Some(pool))
}

/// The longest a pool thread spins waiting for work in [`keep_warm`].
const KEEP_WARM_FOR: Duration = Duration::from_millis(100);

/// Keeps a second pool thread looking for work, taking each piece as soon as it is offered,
/// until `for_at_most` has passed, instead of letting it fall asleep between the
/// run's parallel steps: a lone tile's steps (reading, drawing the parts, compositing) take
/// 0.1-0.6 ms each, and waking a sleeping thread took 140 us at the median here (190 us at
/// p90, a 2-core VM), so the sleeper came late or never and the other thread did it all.
/// Does nothing on the thread that started it (`owner`), which could otherwise pick it up
/// while waiting for its own work and spin until that work is done. A thread started on the
/// owner's CPU (`owner_cpu`, when known) first moves to another
/// ([`mlytiles_render::leave_cpu`]): two threads spinning and working on one CPU take turns of
/// 4 ms. Returns how many pieces of work it ran.
fn keep_warm(
    owner: Option<usize>,
    owner_cpu: Option<usize>,
    stop: &AtomicBool,
    for_at_most: Duration,
) -> usize {
    if rayon::current_thread_index() == owner {
        return 0;
    }
    if let Some(cpu) = owner_cpu {
        mlytiles_render::leave_cpu(cpu);
    }
    mlytiles_render::take_work_until(stop, Instant::now() + for_at_most)
}

fn run_in_pool(args: &Args, start: Instant, pool: &mut Option<WarmPool>) -> Result<()> {
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
    if let Some(tile) = args.tile {
        return tile::one_tile(args, &source, tile, &options, start, pool);
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
        return pyramid::pyramid(args, &source, bbox, z0, z1, &options, start);
    }
    let zoom = match args.zoom {
        Some(z) => z,
        None => mlytiles_render::auto_zoom(bbox, options.pixels()?),
    };
    check_area_held(&source, bbox, zoom..=zoom)?;
    mosaic::mosaic(args, &source, bbox, zoom, options, start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `rayon::join` of a first half that waits (spinning, at most 10 s) for the second,
    /// which therefore runs on another thread: the second half's result.
    fn on_the_other_thread<R: Send>(second: impl FnOnce() -> R + Send) -> R {
        let flag = AtomicBool::new(false);
        let (_, r) = rayon::join(
            || {
                let begun = Instant::now();
                while !flag.load(Ordering::Acquire) {
                    assert!(begun.elapsed() < Duration::from_secs(10), "never taken");
                    std::hint::spin_loop();
                }
            },
            || {
                let r = second();
                flag.store(true, Ordering::Release);
                r
            },
        );
        r
    }

    fn two_threads() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool of two threads")
    }

    /// A warm pool runs the work on the calling thread (one of its threads), with the other
    /// thread taking the half of a join offered to it; one thread works alone.
    #[test]
    fn a_warm_pool_works_on_its_caller_and_its_other_thread() {
        let caller = std::thread::current().id();
        std::thread::spawn(move || {
            // A thread of its own: the calling thread joins the pool for good.
            let pool = WarmPool::start(Some(2)).expect("a pool of two threads");
            let here = std::thread::current().id();
            assert_ne!(here, caller);
            let (on, other) = pool.install(|| {
                let other = on_the_other_thread(|| std::thread::current().id());
                (std::thread::current().id(), other)
            });
            assert_eq!(on, here, "the work runs on the calling thread");
            assert_ne!(other, here, "the other half on the other thread");
        })
        .join()
        .expect("the test thread");
        std::thread::spawn(|| {
            let pool = WarmPool::start(Some(1)).expect("a pool of one thread");
            assert_eq!(pool.install(|| rayon::join(|| 1, || 2)), (1, 2));
        })
        .join()
        .expect("the test thread");
    }

    /// Let go, a warm pool's other thread stops looking for work long before its time is up
    /// (a minute here) and ends, while the caller goes on: the thread's entry in /proc
    /// disappears.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_pool_let_go_ends_its_other_thread() {
        std::thread::spawn(|| {
            let minute = Duration::from_secs(60);
            let pool = WarmPool::keeping_warm(Some(2), minute).expect("a pool of two threads");
            // Where the other thread is listed: /proc/thread-self read on that thread.
            let task = pool.install(|| {
                on_the_other_thread(|| {
                    let link = std::fs::read_link("/proc/thread-self").expect("a link");
                    PathBuf::from("/proc").join(link)
                })
            });
            assert!(task.exists(), "{} while the pool runs", task.display());
            let begun = Instant::now();
            pool.let_go();
            while task.exists() {
                assert!(
                    begun.elapsed() < Duration::from_secs(5),
                    "{} still there {:?} after the pool was let go (it keeps warm for {:?})",
                    task.display(),
                    begun.elapsed(),
                    minute
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .join()
        .expect("the test thread");
    }

    /// Picked up by the thread that offered it (while that thread waits for its own work),
    /// it returns at once: spinning there until the work is done would never end.
    #[test]
    fn keep_warm_returns_at_once_on_its_owner() {
        two_threads().install(|| {
            let begun = Instant::now();
            keep_warm(
                rayon::current_thread_index(),
                None,
                &AtomicBool::new(false),
                Duration::from_secs(10),
            );
            assert!(
                begun.elapsed() < Duration::from_secs(5),
                "spun on its owner for {:?}",
                begun.elapsed()
            );
        });
    }

    /// Started on the CPU its owner runs on, the other thread moves to another CPU (when one
    /// is allowed) before it keeps warm.
    #[test]
    fn keep_warm_leaves_its_owners_cpu() {
        let allowed = mlytiles_render::cpus_allowed().unwrap_or(1);
        two_threads().install(|| {
            let owner = rayon::current_thread_index();
            let (from, to) = on_the_other_thread(|| {
                let from = mlytiles_render::current_cpu();
                keep_warm(owner, from, &AtomicBool::new(true), Duration::ZERO);
                (from, mlytiles_render::current_cpu())
            });
            if cfg!(target_os = "linux") && allowed > 1 {
                let from = from.expect("Linux tells a thread its CPU");
                assert_ne!(to, Some(from), "still on {from}");
            }
        });
    }

    /// The other thread, while it keeps warm, still takes the work offered to it (here the
    /// second half of a join whose first half waits for it), and stops when its time is up.
    #[test]
    fn keep_warm_takes_the_work_offered_and_stops_when_its_time_is_up() {
        two_threads().install(|| {
            let owner = rayon::current_thread_index();
            let taken_by = AtomicUsize::new(usize::MAX);
            let ran = AtomicUsize::new(0);
            let warm_for = Duration::from_millis(300);
            let begun = Instant::now();
            rayon::scope(|s| {
                s.spawn(|_| {
                    let n = keep_warm(owner, None, &AtomicBool::new(false), warm_for);
                    ran.store(n, Ordering::Release);
                });
                // The second half cannot run here while the first waits for it.
                on_the_other_thread(|| {
                    let here = rayon::current_thread_index().expect("in the pool");
                    taken_by.store(here, Ordering::Release);
                });
            });
            // The scope ends when keep_warm returns.
            let took = begun.elapsed();
            assert!(took >= warm_for, "stopped early, after {took:?}");
            assert!(
                took < Duration::from_secs(5),
                "still running after {took:?}"
            );
            let other = taken_by.load(Ordering::Acquire);
            assert_ne!(Some(other), owner, "the other thread took the work");
            assert!(ran.load(Ordering::Acquire) >= 1, "taken while keeping warm");
        });
    }
}
