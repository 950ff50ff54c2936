//! Drawing one vector tile's coverage layers into a canvas.

use std::sync::Arc;

use mlytiles_filter::{CompiledFilter, Filter, LayerKind, Predicate};
use mlytiles_mvt::{GeometrySink, Layer, LayerHeader, Tile, Value};
use mlytiles_tile::TileId;

use crate::overzoom::Indexed;
use crate::raster::{Canvas, Clip, DENSITY_CLASS, Stamps};
use crate::style::{MARKER_CLASSES, marker_class};
use crate::{Error, RenderStats, Result, Style};

/// How the data tile's coordinates map to canvas pixels, and what to clip to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    /// The stored tile the bytes belong to.
    pub data_tile: TileId,
    /// The tile being drawn (the data tile or a descendant).
    pub target: TileId,
    /// The target tile's side in canvas pixels.
    pub side: f64,
    /// Where the target's top-left corner is on the canvas.
    pub origin: (f64, f64),
    /// Lines are clipped to this (the target tile's square on the canvas).
    pub line_clip: Clip,
    /// Points are drawn inside this (the whole canvas for mosaics, so they cross edges).
    pub point_clip: Clip,
}

impl Placement {
    /// The affine map from layer coordinates (`extent` units) to canvas pixels. The data
    /// tile may be the target, an ancestor, or (for points near the edges) a neighbour of the
    /// target's ancestor at the data zoom.
    pub(crate) fn transform(&self, extent: u32) -> (f32, f32, f32) {
        let dz = i32::from(self.target.z()) - i32::from(self.data_tile.z());
        let n = 2f64.powi(dz);
        let e = f64::from(extent.max(1));
        // Global position in target-zoom tiles: (data.x + coord / e) * n; canvas: origin +
        // (global - target.x) * side.
        let k = self.side * n / e;
        let ox = self.origin.0
            + (f64::from(self.data_tile.x()) * n - f64::from(self.target.x())) * self.side;
        let oy = self.origin.1
            + (f64::from(self.data_tile.y()) * n - f64::from(self.target.y())) * self.side;
        (k as f32, ox as f32, oy as f32)
    }
}

/// Sizes at a zoom, in pixels of a 512 px tile (`scale` multiplies them).
pub(crate) fn line_radius(z: u8) -> f32 {
    match z {
        0..=9 => 0.55,
        10..=12 => 0.7,
        13..=14 => 1.0,
        15..=16 => 1.4,
        17..=18 => 2.0,
        _ => 2.6,
    }
}

/// The image dot radius at a zoom (z14 and deeper; overview points use [`overview_radius`]).
pub(crate) fn dot_radius(z: u8) -> f32 {
    match z {
        0..=14 => 1.3,
        15..=16 => 1.9,
        17..=18 => 2.8,
        _ => 3.8,
    }
}

pub(crate) fn overview_radius(z: u8) -> f32 {
    if z <= 2 { 0.8 } else { 1.1 }
}

/// Pre-rendered stamps for one zoom and scale, each made on first use (a pass drawing only
/// lines and image dots never renders the overview and marker discs).
#[derive(Debug)]
pub(crate) struct Brushes {
    pub line_r: f32,
    radii: [f32; 3],
    stamps: [std::sync::OnceLock<Arc<Stamps>>; 3],
}

impl Brushes {
    pub fn new(z: u8, scale: f32) -> Brushes {
        Brushes {
            line_r: line_radius(z) * scale,
            radii: [
                dot_radius(z) * scale,
                overview_radius(z) * scale,
                (if z >= 16 { 4.0 } else { 3.0 }) * scale,
            ],
            stamps: Default::default(),
        }
    }

    /// The stamps of brush `i`, from [`discs`] the first time. Never waits for another thread
    /// making them (as `OnceLock::get_or_init` would, asleep, and a sleeping thread took 140 us
    /// to wake on a 2-core VM, more than making them): each thread that finds them missing
    /// takes them from `discs`, and the first to finish keeps its own.
    fn get(&self, i: usize) -> &Stamps {
        if let Some(s) = self.stamps[i].get() {
            return s;
        }
        let made = discs(self.radii[i]);
        self.stamps[i].get_or_init(|| made)
    }

    /// Image dots.
    pub fn dot(&self) -> &Stamps {
        self.get(0)
    }

    /// Overview points (z0-5).
    pub fn overview(&self) -> &Stamps {
        self.get(1)
    }

    /// Map-feature markers.
    pub fn marker(&self) -> &Stamps {
        self.get(2)
    }
}

/// Disc stamps by radius, for the last [`Discs::KEPT`] radii asked for.
pub(crate) struct Discs(std::sync::Mutex<Vec<(u32, Arc<Stamps>)>>);

impl Discs {
    /// The radii kept: a style draws with three at each zoom.
    const KEPT: usize = 16;

    pub(crate) const fn new() -> Discs {
        Discs(std::sync::Mutex::new(Vec::new()))
    }

    /// The stamps of radius `r`: made once while the radius stays among those kept, outside
    /// the lock, so a thread never waits for another making them.
    pub(crate) fn get(&self, r: f32) -> Arc<Stamps> {
        use std::sync::PoisonError;
        let key = r.to_bits();
        let find =
            |made: &[(u32, Arc<Stamps>)]| made.iter().find(|m| m.0 == key).map(|m| m.1.clone());
        if let Some(s) = find(&self.0.lock().unwrap_or_else(PoisonError::into_inner)) {
            return s;
        }
        let stamps = Arc::new(Stamps::disc(r));
        let mut made = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = find(&made) {
            return s;
        }
        if made.len() == Discs::KEPT {
            made.remove(0);
        }
        made.push((key, stamps.clone()));
        stamps
    }
}

/// The disc stamps of radius `r` for the whole process (a render's tiles and threads draw with
/// the same ones: a tile's two neighbours and the tile itself each made them before, some
/// 10 us each, cold).
pub(crate) fn discs(r: f32) -> Arc<Stamps> {
    static MADE: Discs = Discs::new();
    MADE.get(r)
}

/// Everything a draw needs besides the canvas.
pub(crate) struct Pass<'a> {
    pub style: Style,
    pub filter: Option<&'a Filter>,
    pub now: chrono::DateTime<chrono::Utc>,
    pub brushes: &'a Brushes,
    /// Index of the first marker plane (after the style's classes).
    pub marker_base: usize,
    /// The bytes are a neighbour's, read for the points whose dots reach into the tile: a
    /// point feature is first decoded alone, and skipped (not classified, filtered or drawn)
    /// when none of its points comes near enough.
    pub neighbour: bool,
}

/// The filter with only the predicates that apply to `kind`: a filter on panoramas does not
/// hide traffic signs, and a class filter does not hide coverage.
pub(crate) fn restrict(filter: &Filter, kind: LayerKind) -> Filter {
    let mut f = filter.clone();
    for p in filter.predicates() {
        if p.applies_to().contains(&kind) {
            continue;
        }
        match p {
            Predicate::Captured => f.captured = None,
            Predicate::ImageType => f.image_type = Default::default(),
            Predicate::Organizations => f.organizations = None,
            Predicate::Creators => f.creators.clear(),
            Predicate::Sequences => f.sequences.clear(),
            Predicate::Compass => f.compass = None,
            Predicate::Area => f.area = None,
            Predicate::LookingAt => f.looking_at = None,
            Predicate::Classes => f.classes.clear(),
            Predicate::Seen => f.seen = None,
            _ => {}
        }
    }
    f
}

/// Which coverage layers a zoom draws.
pub(crate) fn coverage_layers(data_z: u8) -> &'static [&'static str] {
    match data_z {
        0..=5 => &["overview"],
        6..=13 => &["sequence"],
        _ => &["sequence", "image"],
    }
}

/// Draws the coverage layers of `bytes` (uncompressed) into `canvas`.
pub(crate) fn draw_coverage(
    canvas: &mut Canvas,
    bytes: &[u8],
    at: &Placement,
    pass: &Pass<'_>,
    points_only: bool,
    split: bool,
    stats: &mut RenderStats,
) -> Result<()> {
    let err = Error::in_tile(at.data_tile);
    let tile = Tile::new(bytes).map_err(err)?;
    // Every layer drawn is read (its header, and its tables when the style or the filter
    // reads them) before anything is drawn, so a tile whose layers cannot be read draws
    // nothing (the caller draws it as missing).
    let tables = pass.filter.is_some() || !matches!(pass.style, Style::Mapillary | Style::Classic);
    let mut layers = Vec::with_capacity(2);
    for name in coverage_layers(at.data_tile.z()) {
        if points_only && *name == "sequence" {
            continue;
        }
        if let Some(layer) = tile.layer(name).map_err(err)? {
            if tables {
                layer.values().map_err(err)?;
            }
            layers.push(layer);
        }
    }
    let total: usize = layers.iter().map(|l| l.bytes().len()).sum();
    if split && total >= SPLIT_BYTES && rayon::current_num_threads() > 1 {
        let mut parts = Vec::new();
        for layer in &layers {
            let Some(header) = layer.header(&tile) else {
                parts.clear();
                break;
            };
            // Lines cost far more a byte than points (a capsule per segment against a stamp
            // per point: on the densest tile 77 KB of lines take about as long as 877 KB of
            // points), so lines are split from a smaller size.
            let bytes = layer.bytes().len();
            let lines = layer.name() == "sequence";
            let n = if bytes >= if lines { SPLIT_BYTES } else { 8 * SPLIT_BYTES } {
                2
            } else {
                1
            };
            for (offset, index, end) in feature_parts(layer, n) {
                parts.push((header.clone(), offset, index, end));
            }
        }
        if !parts.is_empty() {
            return draw_parts(canvas, &tile, &parts, at, pass, stats);
        }
    }
    for layer in &layers {
        draw_layer(canvas, layer, at, pass, stats)?;
    }
    Ok(())
}

/// The size of a tile's drawn layers from which they are drawn in parts on the pool's
/// threads: below it, the extra canvases and their merge cost more than the threads save.
const SPLIT_BYTES: usize = 32 << 10;

/// `n` runs of a layer's features of about equal bytes, as (offset, index, end offset) for
/// [`Layer::features_from`]. Two runs split where the layer's scan noted its middle
/// ([`Layer::halfway`]) when that lies in the middle half of the features; otherwise the
/// features (their lengths only) are stepped over up to the last part's start. A layer that
/// cannot be stepped through stays whole.
fn feature_parts(layer: &Layer<'_>, n: usize) -> Vec<(usize, usize, usize)> {
    let mut features = layer.features();
    let mut starts = vec![(0, 0)];
    let len = layer.features_len();
    let halfway = layer
        .halfway()
        .filter(|&(at, _)| n == 2 && (len / 4..=len - len / 4).contains(&at));
    if let Some(middle) = halfway {
        starts.push(middle);
    } else if n > 1 {
        let step = layer.features_len() / n;
        while starts.len() < n {
            let to = step * starts.len();
            if features.skip_to(to).is_err() || features.offset() < to {
                break;
            }
            starts.push((features.offset(), features.next_index()));
        }
    }
    let mut parts = Vec::with_capacity(starts.len());
    for (i, &(offset, index)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(usize::MAX, |s| s.0);
        parts.push((offset, index, end));
    }
    parts
}

/// Draws parts of a tile's layers on two of the pool's threads: each takes the next part not
/// yet taken, one drawing on `canvas`, the other on a canvas of its own merged into `canvas` by
/// `max` (sum for density) after, which is what drawing them all on one canvas gives, since
/// coverage is combined that way whatever the order. One extra canvas at most, whose planes
/// are made only when drawn in (its density buffer, for that style, at once). The error
/// returned is the first part's that failed.
fn draw_parts(
    canvas: &mut Canvas,
    tile: &Tile<'_>,
    parts: &[(LayerHeader, usize, usize, usize)],
    at: &Placement,
    pass: &Pass<'_>,
    stats: &mut RenderStats,
) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let work = |c: &mut Canvas, st: &mut RenderStats| -> Option<(usize, Error)> {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (header, offset, index, end) = parts.get(i)?;
            let Some(layer) = header.layer(tile) else {
                continue;
            };
            let mut features = layer.features_from(*offset, *index);
            let run = std::iter::from_fn(|| {
                if features.offset() < *end {
                    features.next()
                } else {
                    None
                }
            });
            if let Err(e) = draw_features(c, &layer, run, at, pass, st) {
                return Some((i, e));
            }
        }
    };
    let mut other = canvas.empty_like();
    let mut other_stats = RenderStats::default();
    let (here, there) = (&mut *canvas, &mut other);
    let (here_stats, there_stats) = (&mut *stats, &mut other_stats);
    let (a, b) = crate::join::join(|| work(here, here_stats), || work(there, there_stats));
    canvas.merge_from(&other, 0, 0);
    stats.add(&other_stats);
    match (a, b) {
        (Some((i, e)), Some((j, f))) => Err(if i < j { e } else { f }),
        (Some((_, e)), None) | (None, Some((_, e))) => Err(e),
        (None, None) => Ok(()),
    }
}

/// Draws map features (`point` or `traffic_sign` layer) of `bytes` as markers.
pub(crate) fn draw_markers(
    canvas: &mut Canvas,
    bytes: &[u8],
    at: &Placement,
    pass: &Pass<'_>,
    stats: &mut RenderStats,
) -> Result<()> {
    let err = Error::in_tile(at.data_tile);
    let tile = Tile::new(bytes).map_err(err)?;
    let mut layers = Vec::with_capacity(2);
    for layer in tile.layers() {
        let layer = layer.map_err(err)?;
        if matches!(layer.name(), "point" | "traffic_sign") {
            layer.values().map_err(err)?;
            layers.push(layer);
        }
    }
    for layer in &layers {
        draw_layer(canvas, layer, at, pass, stats)?;
    }
    Ok(())
}

/// Per value index, the class a feature with that value under the style's key gets.
struct Classifier {
    key: Option<u32>,
    table: Vec<u8>,
    default: u8,
}

impl Classifier {
    fn new(
        layer: &Layer<'_>,
        kind: LayerKind,
        pass: &Pass<'_>,
        tile: TileId,
    ) -> Result<Classifier> {
        let err = Error::in_tile(tile);
        let none = Classifier {
            key: None,
            table: Vec::new(),
            default: 0,
        };
        if kind.is_map_feature() {
            let key = layer.key_index("value").map_err(err)?;
            let values = layer.values().map_err(err)?;
            let table = values
                .iter()
                .map(|v| (pass.marker_base + marker_class(v.as_str().unwrap_or(""))) as u8)
                .collect();
            return Ok(Classifier {
                key,
                table,
                default: (pass.marker_base + MARKER_CLASSES.len()) as u8,
            });
        }
        let (key_name, default): (&str, u8) = match pass.style {
            Style::Mapillary | Style::Classic => return Ok(none),
            Style::Density => {
                return Ok(Classifier {
                    default: DENSITY_CLASS as u8,
                    ..none
                });
            }
            Style::Age => ("captured_at", 0),
            Style::Pano => ("is_pano", 0),
            Style::Organization(_) => ("organization_id", 0),
            Style::Creator(_) => ("creator_id", 0),
        };
        let Some(key) = layer.key_index(key_name).map_err(err)? else {
            return Ok(Classifier { default, ..none });
        };
        let now_ms = pass.now.timestamp_millis();
        const YEAR_MS: i64 = 365 * 24 * 3600 * 1000 + 6 * 3600 * 1000;
        let values = layer.values().map_err(err)?;
        let id_of = |v: &Value<'_>| match v {
            Value::String(s) => s.parse::<u64>().ok(),
            other => other.as_u64(),
        };
        let table = values
            .iter()
            .map(|v| match pass.style {
                Style::Age => match v.as_i64().filter(|&t| t > 0) {
                    None => 0,
                    Some(t) if now_ms - t > 4 * YEAR_MS => 1,
                    Some(t) if now_ms - t > YEAR_MS => 2,
                    Some(_) => 3,
                },
                Style::Pano => u8::from(v.as_bool() == Some(true)),
                Style::Organization(id) | Style::Creator(id) => u8::from(id_of(v) == Some(id)),
                _ => 0,
            })
            .collect();
        Ok(Classifier {
            key: Some(key),
            table,
            default,
        })
    }

    #[inline]
    fn class_of(&self, feature: &mlytiles_mvt::Feature<'_, '_>) -> usize {
        let Some(key) = self.key else {
            return usize::from(self.default);
        };
        for (k, v) in feature.tags() {
            if k == key {
                return usize::from(self.table.get(v as usize).copied().unwrap_or(self.default));
            }
        }
        usize::from(self.default)
    }
}

struct LineSink<'c> {
    canvas: &'c mut Canvas,
    class: usize,
    k: f32,
    ox: f32,
    oy: f32,
    r: f32,
    clip: Clip,
    start: (f32, f32),
    last: (f32, f32),
    /// The end of the current straight run (not drawn yet), its direction from `last` and
    /// how far along it the run reaches.
    pending: Option<(f32, f32)>,
    dir: (f32, f32),
    reach: f32,
    /// Whether any part of the line reached into `clip` (the line counts as drawn).
    touched: bool,
    /// Whether the current part's first point waits to be drawn as a dot: only if no segment
    /// of the part is drawn, since the first segment's capsule covers that dot (where
    /// coverage is combined by `max`; the density style draws it at once).
    dot: bool,
}

impl<'c> LineSink<'c> {
    /// A sink drawing lines of radius `r` into `class`, inside `clip`, for the transform
    /// `canvas = (ox, oy) + k * layer`.
    fn new(
        canvas: &'c mut Canvas,
        class: usize,
        (k, ox, oy): (f32, f32, f32),
        r: f32,
        clip: Clip,
    ) -> Self {
        LineSink {
            canvas,
            class,
            k,
            ox,
            oy,
            r,
            clip,
            start: (0.0, 0.0),
            last: (0.0, 0.0),
            pending: None,
            dir: (1.0, 0.0),
            reach: 0.0,
            touched: false,
            dot: false,
        }
    }

    #[inline(always)]
    fn px(&self, x: i32, y: i32) -> (f32, f32) {
        (self.ox + x as f32 * self.k, self.oy + y as f32 * self.k)
    }
}

impl LineSink<'_> {
    /// Draws the segment to the pending vertex, if any.
    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            self.touched |= self
                .canvas
                .capsule(self.class, self.clip, self.last, p, self.r);
            self.last = p;
            self.dot = false;
        }
    }

    /// Ends the current part: its pending segment, or its dot when no segment was drawn
    /// (a single-point part still shows).
    fn finish(&mut self) {
        self.flush();
        if std::mem::take(&mut self.dot) {
            self.draw_dot(self.start);
        }
    }

    /// A dot at `p`: a capsule of length zero.
    fn draw_dot(&mut self, p: (f32, f32)) {
        self.touched |= self.canvas.capsule(self.class, self.clip, p, p, self.r);
    }
}

/// How far (in pixels) a vertex may be from a straight run of the line and still be merged
/// into it. Dense z14 lines (an image every few metres, several per pixel) collapse into one
/// capsule per straight run; real turns keep their vertex (and their round join).
const TOLERANCE: f32 = 0.3;

impl GeometrySink for LineSink<'_> {
    fn move_to(&mut self, x: i32, y: i32) {
        self.finish();
        let p = self.px(x, y);
        self.start = p;
        self.last = p;
        if self.class == DENSITY_CLASS {
            // Density adds coverage up rather than taking the most: there the dot counts
            // on top of the first segment, as it always has.
            self.draw_dot(p);
        } else {
            self.dot = true;
        }
    }
    fn line_to(&mut self, x: i32, y: i32) {
        let p = self.px(x, y);
        let (dx, dy) = (p.0 - self.last.0, p.1 - self.last.1);
        if self.pending.is_some() {
            // Still on the run from `last` along `dir`, and not turning back?
            let along = dx * self.dir.0 + dy * self.dir.1;
            let across = (dx * self.dir.1 - dy * self.dir.0).abs();
            if across <= TOLERANCE && along >= self.reach - TOLERANCE {
                self.pending = Some(p);
                self.reach = along;
                return;
            }
            self.flush();
            return self.line_to_px(p);
        }
        self.line_to_px(p);
    }
    fn close_path(&mut self) {
        self.flush();
        let (a, b) = (self.last, self.start);
        self.touched |= self.canvas.capsule(self.class, self.clip, a, b, self.r);
        self.last = b;
        self.dot = false;
    }
}

impl LineSink<'_> {
    /// Starts a run from `last` towards `p`.
    fn line_to_px(&mut self, p: (f32, f32)) {
        let (dx, dy) = (p.0 - self.last.0, p.1 - self.last.1);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-6 {
            return;
        }
        self.dir = (dx / len, dy / len);
        self.reach = len;
        self.pending = Some(p);
    }
}

/// Whether any point of a feature lies where its dot can reach `clip`: a box in the layer's
/// own integer coordinates, tested before any transform.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Near {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
    pub hit: bool,
}

impl Near {
    /// The box of layer coordinates whose dots (drawn with `stamps`) can reach `clip`, for
    /// the transform `canvas = o + k * layer`.
    pub(crate) fn new(clip: Clip, stamps: &Stamps, k: f32, ox: f32, oy: f32) -> Near {
        let r = stamps.reach() as f32;
        let k = k.max(f32::MIN_POSITIVE);
        // Float to int casts saturate: a box beyond the i32 range stays a box.
        let lo = |c: i32, o: f32| ((c as f32 - r - o) / k).floor() as i32;
        let hi = |c: i32, o: f32| ((c as f32 + r - o) / k).ceil() as i32;
        Near {
            x0: lo(clip.x0, ox),
            y0: lo(clip.y0, oy),
            x1: hi(clip.x1, ox),
            y1: hi(clip.y1, oy),
            hit: false,
        }
    }
}

impl GeometrySink for Near {
    #[inline(always)]
    fn move_to(&mut self, x: i32, y: i32) {
        self.hit |= x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1;
    }
    fn line_to(&mut self, _x: i32, _y: i32) {}
    fn close_path(&mut self) {}
}

/// Dots of one class waiting to be stamped, so the canvas takes them a run at a time.
struct Dots {
    class: usize,
    points: Vec<(f32, f32)>,
}

impl Dots {
    /// How many dots wait at most.
    const RUN: usize = 256;

    fn new() -> Dots {
        Dots {
            class: 0,
            points: Vec::with_capacity(Dots::RUN),
        }
    }

    /// Stamps the waiting dots.
    fn flush(&mut self, canvas: &mut Canvas, clip: Clip, stamps: &Stamps) {
        if !self.points.is_empty() {
            canvas.stamp_all(self.class, clip, &self.points, stamps);
            self.points.clear();
        }
    }
}

struct PointSink<'c> {
    canvas: &'c mut Canvas,
    dots: &'c mut Dots,
    k: f32,
    ox: f32,
    oy: f32,
    clip: Clip,
    stamps: &'c Stamps,
    /// The tile's own square: points inside it are counted.
    own: Clip,
    inside: u64,
}

impl GeometrySink for PointSink<'_> {
    #[inline]
    fn move_to(&mut self, x: i32, y: i32) {
        let (px, py) = (self.ox + x as f32 * self.k, self.oy + y as f32 * self.k);
        let o = self.own;
        if px >= o.x0 as f32 && px < o.x1 as f32 && py >= o.y0 as f32 && py < o.y1 as f32 {
            self.inside += 1;
        }
        if self.dots.points.len() == Dots::RUN {
            self.dots.flush(self.canvas, self.clip, self.stamps);
        }
        self.dots.points.push((px, py));
    }
    fn line_to(&mut self, _x: i32, _y: i32) {}
    fn close_path(&mut self) {}
}

fn draw_layer(
    canvas: &mut Canvas,
    layer: &Layer<'_>,
    at: &Placement,
    pass: &Pass<'_>,
    stats: &mut RenderStats,
) -> Result<()> {
    draw_features(canvas, layer, layer.features(), at, pass, stats)
}

/// Draws the coverage layers of an indexed parent: only the features whose boxes reach the
/// part of the canvas drawn (the target tile, and the padding points may cross into).
pub(crate) fn draw_indexed(
    canvas: &mut Canvas,
    indexed: &Indexed,
    at: &Placement,
    pass: &Pass<'_>,
    points_only: bool,
    pad: f32,
    stats: &mut RenderStats,
) -> Result<()> {
    let err = Error::in_tile(at.data_tile);
    let tile = Tile::new(&indexed.bytes).map_err(err)?;
    let tables = pass.filter.is_some() || !matches!(pass.style, Style::Mapillary | Style::Classic);
    let mut layers = Vec::with_capacity(2);
    for ix in &indexed.layers {
        if points_only && ix.name == "sequence" {
            continue;
        }
        let Some(layer) = ix.header.layer(&tile) else {
            continue;
        };
        if tables {
            layer.values().map_err(err)?;
        }
        layers.push((ix, layer));
    }
    // The pixels that may change, back in layer coordinates.
    let (c, p) = (at.line_clip, at.point_clip);
    let (px0, py0) = (c.x0.min(p.x0) as f32 - pad, c.y0.min(p.y0) as f32 - pad);
    let (px1, py1) = (c.x1.max(p.x1) as f32 + pad, c.y1.max(p.y1) as f32 + pad);
    for (ix, layer) in &layers {
        let (k, ox, oy) = at.transform(layer.extent());
        let u = |v: f32, o: f32| f64::from((v - o) / k);
        let found = ix.query(u(px0, ox), u(py0, oy), u(px1, ox), u(py1, oy));
        let features = found
            .into_iter()
            .filter_map(|(offset, index)| layer.features_from(offset, index).next());
        draw_features(canvas, layer, features, at, pass, stats)?;
    }
    Ok(())
}

fn draw_features<'l, 'a>(
    canvas: &mut Canvas,
    layer: &'l Layer<'a>,
    features: impl Iterator<Item = mlytiles_mvt::Result<mlytiles_mvt::Feature<'l, 'a>>>,
    at: &Placement,
    pass: &Pass<'_>,
    stats: &mut RenderStats,
) -> Result<()> {
    let tile = at.data_tile;
    let Ok(kind) = LayerKind::of(layer) else {
        return Ok(());
    };
    let compiled = match pass.filter {
        Some(f) => {
            let f = restrict(f, kind);
            let c =
                CompiledFilter::for_layer(&f, layer, Some(tile), pass.now).map_err(|source| {
                    Error::Filter {
                        tile,
                        layer: layer.name().to_owned(),
                        source,
                    }
                })?;
            (!c.is_empty()).then_some(c)
        }
        None => None,
    };
    let classes = Classifier::new(layer, kind, pass, tile)?;
    let (k, ox, oy) = at.transform(layer.extent());
    let is_line = kind == LayerKind::Sequence;
    let stamps = match kind {
        LayerKind::Overview => pass.brushes.overview(),
        LayerKind::Image => pass.brushes.dot(),
        _ => pass.brushes.marker(),
    };
    let near = (pass.neighbour && !is_line).then(|| Near::new(at.point_clip, stamps, k, ox, oy));
    let mut dots = Dots::new();
    // Cull features wholly outside the canvas cheaply: only the sink sees coordinates, so
    // culling happens per segment inside the rasterizer.
    let each = || -> Result<()> {
        for read in features {
            // Borrowed where the iterator put it: moved out, the feature was copied, and the
            // copy stalled on reading back bytes just stored.
            let feature = match &read {
                Ok(f) => f,
                Err(e) if e.is_fatal() => return Err(Error::in_tile(tile)(e.clone())),
                Err(_) => {
                    stats.features_skipped += 1;
                    continue;
                }
            };
            if let Some(near) = near {
                let mut probe = near;
                // A geometry that cannot be decoded takes the usual way (and is counted there).
                if feature.decode_geometry(&mut probe).is_ok() && !probe.hit {
                    continue;
                }
            }
            if let Some(c) = &compiled
                && !c.matches(feature)
            {
                stats.features_filtered += 1;
                continue;
            }
            let class = classes.class_of(feature);
            // What decoding returned, and how many of the feature's parts are drawn in the
            // target tile (a line once if it reaches the tile; points one by one).
            let (result, drawn) = if is_line {
                let mut sink = LineSink::new(
                    &mut *canvas,
                    class,
                    (k, ox, oy),
                    pass.brushes.line_r,
                    at.line_clip,
                );
                let r = feature.decode_geometry(&mut sink);
                sink.finish();
                (r, u64::from(sink.touched))
            } else {
                if dots.class != class {
                    dots.flush(canvas, at.point_clip, stamps);
                    dots.class = class;
                }
                let mut sink = PointSink {
                    canvas: &mut *canvas,
                    dots: &mut dots,
                    k,
                    ox,
                    oy,
                    clip: at.point_clip,
                    stamps,
                    own: at.line_clip,
                    inside: 0,
                };
                let r = feature.decode_geometry(&mut sink);
                (r, sink.inside)
            };
            match result {
                Ok(()) => match kind {
                    LayerKind::Sequence => stats.lines += drawn,
                    LayerKind::Point | LayerKind::TrafficSign => stats.markers += drawn,
                    _ => stats.points += drawn,
                },
                // What was drawn before the error stays; the feature counts as skipped.
                Err(_) => stats.features_skipped += 1,
            }
        }
        Ok(())
    };
    let result = each();
    // The dots still waiting, also when an error ended the loop (as drawing each at once).
    dots.flush(canvas, at.point_clip, stamps);
    result
}

#[cfg(test)]
mod tests {
    use mlytiles_filter::ImageType;
    use mlytiles_mvt::{TileBuilder, geo_types};

    use super::*;

    /// A line's parts draw the same bytes whether each part's first point is stamped as a
    /// dot or not (the part's first segment covers it), and a part with no segment drawn (one
    /// point, or only steps of no length) still shows as its dot: random polylines of short
    /// steps, some closed, some of one point, and the same with a dot stamped at every part's
    /// start after. In the density style, which adds up, the dots are drawn.
    #[test]
    fn a_parts_first_point_shows_once_whatever_follows() {
        let mut rng = crate::raster::tests::Rng(0x5eed_cafe_f00d_0001);
        let colours = [[0, 0, 0, 255]];
        let (k, o, r) = (0.5, -1.0, 1.0);
        let px = |(x, y): (i32, i32)| (o + x as f32 * k, o + y as f32 * k);
        for case in 0..500 {
            let mut sunk = Canvas::new(40, 30, &colours, false);
            let clip = sunk.full_clip();
            let mut sink = LineSink::new(&mut sunk, 0, (k, o, o), r, clip);
            let mut starts = Vec::new();
            for _ in 0..1 + (rng.next() * 3.0) as usize {
                let mut at = (
                    (rng.next() * 90.0) as i32 - 5,
                    (rng.next() * 70.0) as i32 - 5,
                );
                starts.push(at);
                sink.move_to(at.0, at.1);
                // One point, steps of no length, or a walk.
                let steps = if case % 5 == 0 {
                    0
                } else {
                    (rng.next() * 12.0) as usize
                };
                for _ in 0..steps {
                    if case % 5 != 1 {
                        at.0 += (rng.next() * 9.0) as i32 - 4;
                        at.1 += (rng.next() * 9.0) as i32 - 4;
                    }
                    sink.line_to(at.0, at.1);
                }
                if case % 7 == 3 && steps > 0 {
                    sink.close_path();
                }
            }
            sink.finish();
            let touched = sink.touched;
            let mut dotted = sunk.clone();
            let mut dots_touched = false;
            for &p in &starts {
                dots_touched |= dotted.capsule(0, clip, px(p), px(p), r);
            }
            assert!(
                dotted.planes[0].cov == sunk.planes[0].cov,
                "case {case}: a part's first point was not drawn, or not covered"
            );
            assert!(
                touched || !dots_touched,
                "case {case}: a dot reached the clip, and the line was not counted drawn"
            );
        }
        // Density adds coverages up: there each part's first point is a dot on top of its
        // first segment, as drawn directly (a segment's points and its capsule, one run).
        let mut sunk = Canvas::new(40, 30, &colours, true);
        let clip = sunk.full_clip();
        let mut direct = sunk.empty_like();
        let mut sink = LineSink::new(&mut sunk, DENSITY_CLASS, (k, o, o), r, clip);
        for (a, b) in [((10, 10), (50, 12)), ((20, 40), (20, 41))] {
            sink.move_to(a.0, a.1);
            sink.line_to(b.0, b.1);
            direct.capsule(DENSITY_CLASS, clip, px(a), px(a), r);
            direct.capsule(DENSITY_CLASS, clip, px(a), px(b), r);
        }
        sink.finish();
        assert!(sink.touched);
        assert_eq!(
            sunk.density, direct.density,
            "density: the dots at the parts' starts"
        );
    }

    #[test]
    fn disc_stamps_are_made_once_a_radius_and_shared() {
        let store = super::Discs::new();
        let a = store.get(1.3);
        let b = std::thread::scope(|s| s.spawn(|| store.get(1.3)).join().unwrap());
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        let fresh = |r: f32| format!("{:?}", crate::raster::Stamps::disc(r));
        assert_eq!(format!("{a:?}"), fresh(1.3));
        for r in (0..40).map(|i| 0.5 + i as f32 * 0.25) {
            assert_eq!(format!("{:?}", store.get(r)), fresh(r));
        }
        // 1.3 was pushed out by the 40 radii since, and is made again, the same.
        let again = store.get(1.3);
        assert!(!std::sync::Arc::ptr_eq(&a, &again));
        assert_eq!(format!("{again:?}"), fresh(1.3));
        let brushes = super::Brushes::new(14, 1.0);
        let seen: Vec<String> = std::thread::scope(|s| {
            let seen: Vec<_> = (0..4)
                .map(|_| s.spawn(|| format!("{:?}", brushes.dot())))
                .collect();
            seen.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(seen.iter().all(|t| *t == fresh(1.3)));
    }

    /// A layer split in parts (with a value table larger than its features, written after
    /// them, or smaller) gives as many parts as asked, one after another, which together read
    /// every feature once, in order.
    #[test]
    fn parts_cover_every_feature_once() {
        // A table that outweighs the features (two parts by stepping over them), and features
        // that outweigh the table (two parts where the scan noted the middle).
        for long in [true, false] {
            let mut b = TileBuilder::new();
            for i in 0..300 {
                let g: geo_types::Geometry<i32> = geo_types::Point::new(i, 2 * i).into();
                let v = if long {
                    format!("{i:0>200}")
                } else {
                    (i % 3).to_string()
                };
                b.layer("image")
                    .add_feature(None, &g, [("id", Value::String(&v))])
                    .unwrap();
            }
            let bytes = b.to_bytes();
            let tile = Tile::new(&bytes).unwrap();
            let layer = tile.layer("image").unwrap().unwrap();
            assert_eq!(
                layer.bytes().len() > 4 * layer.features_len(),
                long,
                "which is the bulk"
            );
            let middle = layer.halfway().filter(|&(at, _)| {
                let len = layer.features_len();
                (len / 4..=len - len / 4).contains(&at)
            });
            assert_eq!(middle.is_none(), long, "a halfway point in the features");
            for n in [1, 2, 3, 4] {
                let parts = feature_parts(&layer, n);
                assert_eq!(parts.len(), n, "{n} parts");
                if n == 2 && !long {
                    assert_eq!(Some((parts[1].0, parts[1].1)), middle, "split at halfway");
                }
                assert_eq!(parts.last().map(|p| p.2), Some(usize::MAX));
                let mut read = Vec::new();
                for (i, &(offset, index, end)) in parts.iter().enumerate() {
                    if i > 0 {
                        assert_eq!(parts[i - 1].2, offset, "{n} parts: part {i} follows on");
                    }
                    let mut features = layer.features_from(offset, index);
                    while features.offset() < end {
                        let Some(f) = features.next() else { break };
                        read.push(f.unwrap().index());
                    }
                }
                assert_eq!(read, (0..300).collect::<Vec<_>>(), "{n} parts");
            }
        }
    }

    /// A neighbour's point features far from the tile are skipped after their geometry alone:
    /// they never reach the filter (which counts what it leaves out).
    #[test]
    fn a_neighbours_far_points_are_skipped_before_the_filter() {
        // Below the tile: one image 4 units (half a pixel) past the shared edge, 99 far.
        let mut b = TileBuilder::new();
        for i in 0..100 {
            let y = if i == 0 { 4 } else { 1000 + 20 * i };
            let g: geo_types::Geometry<i32> = geo_types::Point::new(2048, y).into();
            b.layer("image")
                .add_feature(None, &g, [("is_pano", Value::Bool(false))])
                .unwrap();
        }
        let bytes = b.to_bytes();
        let tile = TileId::new(14, 10, 10).unwrap();
        let below = TileId::new(14, 10, 11).unwrap();
        let brushes = Brushes::new(14, 1.0);
        // Panoramas only: every image here is flat, so the filter leaves each one it sees out.
        let filter = Filter {
            image_type: ImageType::Pano,
            ..Default::default()
        };
        let mut seen = Vec::new();
        for neighbour in [true, false] {
            let mut canvas = Canvas::new(512, 512, &[[5, 203, 99, 255]], false);
            let clip = canvas.full_clip();
            let at = Placement {
                data_tile: below,
                target: tile,
                side: 512.0,
                origin: (0.0, 0.0),
                line_clip: clip,
                point_clip: clip,
            };
            let pass = Pass {
                style: Style::Mapillary,
                filter: Some(&filter),
                now: chrono::Utc::now(),
                brushes: &brushes,
                marker_base: 1,
                neighbour,
            };
            let mut stats = RenderStats::default();
            draw_coverage(&mut canvas, &bytes, &at, &pass, true, false, &mut stats).unwrap();
            seen.push(stats.features_filtered);
        }
        assert_eq!(
            seen,
            vec![1, 100],
            "filtered as a neighbour, and as the tile's own"
        );
    }
}
