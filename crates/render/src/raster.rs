//! The rasterizer: anti-aliased capsules and stamps into coverage buffers, then compositing.
//!
//! Lines are drawn as capsules, one per segment: every pixel near a segment gets the coverage
//! `clamp(r + 0.5 - d, 0, 1)` where `d` is the distance from the pixel's centre to the segment
//! and `r` half the line width. A capsule is a segment with round ends, so consecutive segments
//! of a line overlap in round joins, and the ends of a line are round caps, with nothing to
//! compute. Coverage is combined by `max` per colour class, so overlapping capsules (and
//! overlapping lines of the same class) never darken each other or leave seams, and the order in
//! which tiles or segments are drawn does not change the result. The classes are composited at
//! the end, bottom to top. This is several times faster than stroking each line as a path
//! (which builds the outline, its joins and caps, then fills it with a winding rule).
//!
//! Points are stamped: an anti-aliased disc is rendered once per radius at 4 x 4 sub-pixel
//! offsets, and each point takes the coverage of the nearest one, by `max` too.

/// The class index that draws into the density buffer instead of a plane.
pub(crate) const DENSITY_CLASS: usize = 255;

/// An inclusive-exclusive pixel rectangle, in buffer pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clip {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

/// Coverage of one colour class over the buffer.
#[derive(Debug, Clone)]
pub(crate) struct Plane {
    pub colour: [u8; 4],
    pub cov: Vec<u8>,
    pub used: bool,
}

/// The planes one render draws into.
#[derive(Debug, Clone)]
pub(crate) struct Canvas {
    pub width: u32,
    pub height: u32,
    pub planes: Vec<Plane>,
    /// Additive coverage for the density style.
    pub density: Option<Vec<f32>>,
    /// A rectangle holding every pixel drawn so far (`None`: nothing drawn), so a merge reads
    /// only that part of a canvas (the neighbours' dots touch a few pixels of the edges).
    dirty: Option<Clip>,
    /// Whether planes are made without writing their pages (see [`Canvas::edges_only`]).
    sparse: bool,
}

impl Drop for Canvas {
    fn drop(&mut self) {
        self.give_planes_to(&SPARES);
    }
}

impl Clip {
    /// The smallest rectangle holding both.
    fn union(self, o: Clip) -> Clip {
        Clip {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }
}

impl Canvas {
    pub fn new(width: u32, height: u32, colours: &[[u8; 4]], density: bool) -> Canvas {
        let n = width as usize * height as usize;
        Canvas {
            width,
            height,
            planes: colours
                .iter()
                .map(|&colour| Plane {
                    colour,
                    cov: Vec::new(),
                    used: false,
                })
                .collect(),
            density: density.then(|| vec![0.0; n]),
            dirty: None,
            sparse: false,
        }
    }

    /// This canvas for drawing near its edges only (the dots of a lone tile's neighbours that
    /// reach over): its planes are made without writing their pages first, so only the pages
    /// drawn on are ever mapped (a few rows along an edge), where a plane written whole at
    /// allocation cost 0.12 ms of a neighbour's 0.29 ms.
    pub fn edges_only(mut self) -> Canvas {
        self.sparse = true;
        self
    }

    /// Notes that pixels in `r` were drawn.
    #[inline(always)]
    fn mark(&mut self, r: Clip) {
        self.dirty = Some(match self.dirty {
            Some(d) => d.union(r),
            None => r,
        });
    }

    /// A canvas of the same size and classes, with nothing drawn.
    pub fn empty_like(&self) -> Canvas {
        let colours: Vec<[u8; 4]> = self.planes.iter().map(|p| p.colour).collect();
        Canvas::new(self.width, self.height, &colours, self.density.is_some())
    }

    fn len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    pub fn full_clip(&self) -> Clip {
        Clip {
            x0: 0,
            y0: 0,
            x1: self.width as i32,
            y1: self.height as i32,
        }
    }

    /// Gives the planes' bytes to `spares` for the next canvases' ([`plane_bytes`]), except a
    /// sparse canvas's (most of its pages were never mapped, and should not be).
    fn give_planes_to(&mut self, spares: &Spares) {
        if self.sparse {
            return;
        }
        for p in &mut self.planes {
            if p.used {
                p.used = false;
                spares.keep(std::mem::take(&mut p.cov));
            }
        }
    }

    /// The plane's coverage, allocated on first use.
    fn plane(&mut self, class: usize) -> &mut Vec<u8> {
        let n = self.len();
        let sparse = self.sparse;
        let p = &mut self.planes[class];
        if !p.used {
            p.used = true;
            p.cov = if sparse { vec![0; n] } else { plane_bytes(n) };
        }
        &mut p.cov
    }

    /// Draws one segment as a capsule of radius `r` into `class` (or the density buffer when the
    /// canvas has one), inside `clip`.
    ///
    /// Returns whether the capsule reaches into `clip` at all.
    pub fn capsule(
        &mut self,
        class: usize,
        clip: Clip,
        a: (f32, f32),
        b: (f32, f32),
        r: f32,
    ) -> bool {
        let w = self.width as usize;
        let visited = if class == DENSITY_CLASS {
            let Some(d) = self.density.as_mut() else {
                return false;
            };
            capsule_spans(clip, a, b, r, &mut AddF32(d), w)
        } else {
            let cov = self.plane(class);
            capsule_max_u8(clip, a, b, r, cov, w)
        };
        match visited {
            Some(rect) => {
                self.mark(rect);
                true
            }
            None => false,
        }
    }

    /// Stamps a disc centred at each of `points`, as [`Canvas::stamp`] one by one does, with
    /// the plane found and the drawn rectangle noted once for them all.
    pub fn stamp_all(&mut self, class: usize, clip: Clip, points: &[(f32, f32)], stamps: &Stamps) {
        if class == DENSITY_CLASS || stamps.rows.is_empty() {
            for &(x, y) in points {
                self.stamp(class, clip, x, y, stamps);
            }
            return;
        }
        let w = self.width as usize;
        let mut drawn: Option<Clip> = None;
        for &(x, y) in points {
            let (sub, ox, oy, sw, sh) = stamps.pick(x, y);
            let (x1, y1) = (ox + sw as i32, oy + sh as i32);
            if ox < clip.x0 || oy < clip.y0 || x1 > clip.x1 || y1 > clip.y1 {
                // Cut by the clip (or wholly outside it): the general way.
                self.stamp(class, clip, x, y, stamps);
                continue;
            }
            let r = Clip {
                x0: ox,
                y0: oy,
                x1,
                y1,
            };
            drawn = Some(drawn.map_or(r, |d| d.union(r)));
            // The plane is made at the first dot drawn in it, as one by one.
            let cov = self.plane(class);
            stamp_rows(
                cov,
                oy as usize * w + ox as usize,
                w,
                stamps.padded(sub),
                sw,
            );
        }
        if let Some(r) = drawn {
            self.mark(r);
        }
    }

    /// Stamps a disc centred at `(x, y)`, byte by byte over the part inside `clip` (the
    /// general way; [`Canvas::stamp_all`] takes the dots wholly inside a row at a time).
    pub fn stamp(&mut self, class: usize, clip: Clip, x: f32, y: f32, stamps: &Stamps) {
        let w = self.width as usize;
        let (sub, ox, oy, sw, sh) = stamps.pick(x, y);
        let (sx0, sy0) = (ox.max(clip.x0), oy.max(clip.y0));
        let (sx1, sy1) = ((ox + sw as i32).min(clip.x1), (oy + sh as i32).min(clip.y1));
        if sx0 >= sx1 || sy0 >= sy1 {
            return;
        }
        let span = (sx1 - sx0) as usize;
        let skip = (sx0 - ox) as usize;
        self.mark(Clip {
            x0: sx0,
            y0: sy0,
            x1: sx1,
            y1: sy1,
        });
        let s = stamps.bytes(sub);
        if class == DENSITY_CLASS {
            let Some(d) = self.density.as_mut() else {
                return;
            };
            for py in sy0..sy1 {
                let src = &s[(py - oy) as usize * sw + skip..][..span];
                let dst = &mut d[py as usize * w + sx0 as usize..][..span];
                for (a, &c) in dst.iter_mut().zip(src) {
                    *a += f32::from(c) * (1.0 / 255.0);
                }
            }
        } else {
            let cov = self.plane(class);
            for py in sy0..sy1 {
                let src = &s[(py - oy) as usize * sw + skip..][..span];
                let dst = &mut cov[py as usize * w + sx0 as usize..][..span];
                for (a, &c) in dst.iter_mut().zip(src) {
                    *a = (*a).max(c);
                }
            }
        }
    }

    /// Merges another canvas (same classes) into this one by `max` (sum for density), placing its
    /// top-left corner at `(dx, dy)`; parts falling outside are dropped. Reads only the part
    /// of `other` drawn in.
    pub fn merge_from(&mut self, other: &Canvas, dx: i32, dy: i32) {
        let (w, h) = (self.width as i32, self.height as i32);
        let (ow, _) = (other.width as i32, other.height as i32);
        let Some(drawn) = other.dirty else {
            return;
        };
        let x0 = (dx + drawn.x0).max(0);
        let x1 = (dx + drawn.x1).min(w);
        let y0 = (dy + drawn.y0).max(0);
        let y1 = (dy + drawn.y1).min(h);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        self.mark(Clip { x0, y0, x1, y1 });
        let span = (x1 - x0) as usize;
        if let (Some(d), Some(od)) = (self.density.as_mut(), other.density.as_ref()) {
            for y in y0..y1 {
                let dst = (y * w + x0) as usize;
                let src = ((y - dy) * ow + (x0 - dx)) as usize;
                for (a, b) in d[dst..dst + span].iter_mut().zip(&od[src..src + span]) {
                    *a += *b;
                }
            }
        }
        // A large merge (a whole tile's: 0.1 ms) on two threads, half the rows each.
        let split = (y1 - y0) as usize * span >= 1 << 16 && rayon::current_num_threads() > 1;
        for (class, op) in other.planes.iter().enumerate() {
            if !op.used {
                continue;
            }
            let cov = self.plane(class);
            // Rows `ys` of `op` into `dst`, which starts at row `first`.
            let rows = |dst: &mut [u8], first: i32, ys: std::ops::Range<i32>| {
                for y in ys {
                    let at = ((y - first) * w + x0) as usize;
                    let src = ((y - dy) * ow + (x0 - dx)) as usize;
                    for (a, b) in dst[at..at + span].iter_mut().zip(&op.cov[src..src + span]) {
                        *a = (*a).max(*b);
                    }
                }
            };
            if split {
                let middle = (y0 + y1) / 2;
                let (top, bottom) = cov.split_at_mut((middle * w) as usize);
                crate::join::join(
                    || rows(top, 0, y0..middle),
                    || rows(bottom, middle, middle..y1),
                );
            } else {
                rows(cov, 0, y0..y1);
            }
        }
    }

    /// Moves rows `[n, height)` to `[0, height - n)` and clears the rest.
    pub fn shift_up(&mut self, n: u32) {
        let keep_rows = self.height.saturating_sub(n) as i32;
        self.dirty = self
            .dirty
            .map(|d| Clip {
                y0: (d.y0 - n as i32).max(0),
                y1: (d.y1 - n as i32).min(keep_rows),
                ..d
            })
            .filter(|d| d.y0 < d.y1);
        let w = self.width as usize;
        let keep = (self.height.saturating_sub(n)) as usize * w;
        let off = n as usize * w;
        if let Some(d) = self.density.as_mut() {
            let from = off.min(d.len());
            d.copy_within(from.., 0);
            d[keep..].fill(0.0);
        }
        for p in &mut self.planes {
            if p.used {
                let from = off.min(p.cov.len());
                p.cov.copy_within(from.., 0);
                p.cov[keep..].fill(0);
            }
        }
    }

    /// Composites rows `[y0, y1)` over `background` into premultiplied RGBA (4 bytes per pixel,
    /// `out` sized `(y1 - y0) * width * 4`).
    pub fn composite_rows(&self, y0: u32, y1: u32, background: Option<[u8; 4]>, out: &mut [u8]) {
        let w = self.width as usize;
        let start = y0 as usize * w;
        let n = (y1 - y0) as usize * w;
        let bg = background.map(premultiply).unwrap_or([0; 4]);
        for px in out[..n * 4].chunks_exact_mut(4) {
            px.copy_from_slice(&bg);
        }
        if let Some(d) = &self.density {
            for (i, px) in out[..n * 4].chunks_exact_mut(4).enumerate() {
                let v = d[start + i];
                if v > 0.0 {
                    over(px, density_colour(v));
                }
            }
        }
        // Nothing under the first plane (a transparent background, no density): its pixels are
        // its colours as they are, read from a table.
        let mut bare = background.is_none_or(|c| c[3] == 0) && self.density.is_none();
        for p in self.planes.iter().filter(|p| p.used) {
            let col = p.colour;
            let lut: [[u8; 4]; 256] = std::array::from_fn(|c| class_px(col, c as u8));
            let cov = &p.cov[start..start + n];
            let pixels = out[..n * 4].chunks_exact_mut(4).zip(cov);
            if bare {
                for (px, &c) in pixels {
                    px.copy_from_slice(&lut[usize::from(c)]);
                }
                bare = false;
                continue;
            }
            for (px, &c) in pixels {
                if c != 0 {
                    over(px, lut[usize::from(c)]);
                }
            }
        }
    }
}

impl Canvas {
    /// The composited image as palette indices, without the RGBA pixels: the distinct colours
    /// (premultiplied, in the order first met, as a palette of the composited pixels would
    /// list them) and each pixel's index. A pixel's colour depends only on its coverages, so
    /// each combination is composited once. `None` when the image cannot be indexed this way:
    /// the density style, more than two classes drawn, or more than 256 colours.
    #[cfg(test)]
    pub fn palette_indices(&self, background: Option<[u8; 4]>) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
        let taken = self
            .clone()
            .take_palette_indices_each(background, |_| Ok::<(), ()>(()))?;
        taken.ok().map(|p| (p.colours, p.indices))
    }

    /// As [`Canvas::palette_indices`], taking the drawing, and handing the indices to `each` a
    /// run of whole rows at a time, in order, on the calling thread, as soon as they are
    /// final: the next rows are indexed meanwhile (by another thread of the pool when it is
    /// free, or else by this one between runs). The palette is worked out in scan order, so
    /// the colours are in the order first met.
    ///
    /// When it returns the indices, or `each`'s error, the canvas is left blank (the runs
    /// indexed before the error hold indices, not coverage); when it returns `None`, as it
    /// was. Where one class was drawn, its coverage becomes the indices in place, so no new
    /// pages are written for them (64 on a 512 px tile, each a page fault).
    pub(crate) fn take_palette_indices_each<E: Send>(
        &mut self,
        background: Option<[u8; 4]>,
        each: impl FnMut(&[u8]) -> Result<(), E> + Send,
    ) -> Option<Result<PaletteImage, E>> {
        if self.density.is_some() {
            return None;
        }
        let used: Vec<usize> = (0..self.planes.len())
            .filter(|&i| self.planes[i].used)
            .collect();
        if used.len() > 2 {
            return None;
        }
        let n = self.len();
        let mut indices = match used[..] {
            [first] => {
                let mut cov = std::mem::take(&mut self.planes[first].cov);
                cov.truncate(n);
                cov
            }
            // Every index is written before any is read.
            _ => scratch_bytes(n),
        };
        let canvas = &*self;
        let classes: Vec<&Plane> = used.iter().map(|&i| &canvas.planes[i]).collect();
        let colour = |key: usize| {
            let covs = [(key & 0xff) as u8, (key >> 8) as u8];
            canvas.pixel_colour(&classes, &covs, background)
        };
        // Runs of whole rows of about 16 KB.
        let width = (self.width as usize).max(1);
        let run = (STRIPE_BYTES / width).max(1) * width;
        let mut scan = PaletteScan::new(used.len());
        let indexed = match used[..] {
            // Nothing drawn: every pixel the background's.
            [] => index_then_each(&mut indices, run, |_, px| scan.none(px, &colour), each),
            // At most 256 coverages, so at most 256 colours: never `None`.
            [_] => index_then_each(&mut indices, run, |_, px| scan.one(px, &colour), each),
            _ => {
                let (a, b) = (&classes[0].cov[..n], &classes[1].cov[..n]);
                index_then_each(
                    &mut indices,
                    run,
                    |at, out| {
                        let to = at + out.len();
                        scan.two(&a[at..to], &b[at..to], &colour, out)
                    },
                    each,
                )
            }
        };
        let Some(result) = indexed else {
            if let [first] = used[..] {
                // Not reached (see above); the plane's bytes are back, if not its pixels.
                self.planes[first].cov = indices;
            }
            return None;
        };
        for &i in &used {
            let p = &mut self.planes[i];
            p.used = false;
            give_back(std::mem::take(&mut p.cov));
        }
        self.dirty = None;
        Some(result.map(|indexed_in| PaletteImage {
            colours: scan.colours,
            indices,
            indexed_in,
        }))
    }

    /// One pixel composited as [`Canvas::composite_rows`] does, from the coverages of the
    /// classes drawn (`used`, in order; no density).
    fn pixel_colour(&self, used: &[&Plane], covs: &[u8], background: Option<[u8; 4]>) -> [u8; 4] {
        let mut px = background.map(premultiply).unwrap_or([0; 4]);
        let mut bare = background.is_none_or(|c| c[3] == 0);
        for (p, &c) in used.iter().zip(covs) {
            let src = class_px(p.colour, c);
            if bare {
                px = src;
                bare = false;
            } else if c != 0 {
                over(&mut px, src);
            }
        }
        px
    }
}

/// Takes the `max` of a stamp's padded rows (`sw` bytes of each are the stamp's) and the
/// plane's pixels from `at`, a row every `stride` bytes: eight bytes a row where the plane
/// has them (the padding's zeros leave the pixels past the stamp as they are).
#[inline(always)]
fn stamp_rows(cov: &mut [u8], mut at: usize, stride: usize, rows: &[[u8; LANES]], sw: usize) {
    for src in rows {
        match cov
            .get_mut(at..at + LANES)
            .and_then(|d| <&mut [u8; LANES]>::try_from(d).ok())
        {
            // Indexed over the fixed eight, this is one vector `max` (zipped iterators are
            // compiled byte by byte).
            #[allow(clippy::needless_range_loop)]
            Some(dst) => {
                for j in 0..LANES {
                    dst[j] = dst[j].max(src[j]);
                }
            }
            None => {
                for (a, &c) in cov[at..at + sw].iter_mut().zip(src) {
                    *a = (*a).max(c);
                }
            }
        }
        at += stride;
    }
}

/// Planes' bytes given back ([`Spares::keep`]) for later planes of the same size: at most
/// [`SPARES_KEPT`] of a page to [`SPARE_MAX`] bytes each (a tile's planes; a mosaic's large
/// ones go back to the system, and tiny ones are not worth a place).
struct Spares(std::sync::Mutex<Vec<Vec<u8>>>);

const SPARES_KEPT: usize = 8;
const SPARE_MAX: usize = 1 << 20;

/// The process's spares: every canvas's planes come from and go back to them.
static SPARES: Spares = Spares::new();

impl Spares {
    const fn new() -> Spares {
        Spares(std::sync::Mutex::new(Vec::new()))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `bytes` (any content) if they are of a size kept and there is room.
    fn keep(&self, bytes: Vec<u8>) {
        if !(4096..=SPARE_MAX).contains(&bytes.capacity()) {
            return;
        }
        let mut held = self.held();
        if held.len() < SPARES_KEPT {
            held.push(bytes);
        }
    }

    /// `n` zero bytes from a spare of that size, if there is one.
    fn take(&self, n: usize) -> Option<Vec<u8>> {
        let mut bytes = self.take_as_is(n)?;
        bytes.clear();
        bytes.resize(n, 0);
        Some(bytes)
    }

    /// A spare of `n` bytes' capacity as it was given back (whatever its length and bytes).
    fn take_as_is(&self, n: usize) -> Option<Vec<u8>> {
        let mut held = self.held();
        let i = held.iter().position(|b| b.capacity() == n)?;
        Some(held.swap_remove(i))
    }

    /// [`scratch_bytes`] from these spares.
    fn scratch(&self, n: usize) -> Vec<u8> {
        let Some(mut bytes) = self.take_as_is(n) else {
            return vec![0; n];
        };
        bytes.resize(n, 0);
        bytes
    }

    /// [`scratch_room`] from these spares.
    fn room(&self, n: usize) -> Vec<u8> {
        let mut bytes = self.take_as_is(n).unwrap_or_else(|| Vec::with_capacity(n));
        bytes.clear();
        bytes
    }
}

/// `n` bytes whose pages are already mapped, for a buffer the caller writes before it reads:
/// a spare plane's bytes of that size, holding what they held, or else `n` zero bytes newly
/// allocated. Where a render's planes were given back, its palette indices and compressed
/// rows take their pages instead of faulting in new ones (64 and 33 faults on a 512 px tile).
pub(crate) fn scratch_bytes(n: usize) -> Vec<u8> {
    SPARES.scratch(n)
}

/// An empty buffer with room for `n` bytes, for output appended to it: a spare plane's bytes
/// of that capacity (pages mapped) when there is one, as [`scratch_bytes`] takes them, but
/// emptied rather than filled out to `n`.
pub(crate) fn scratch_room(n: usize) -> Vec<u8> {
    SPARES.room(n)
}

/// Keeps `bytes` (a plane's, any content) for a later plane of the same size, instead of
/// handing its pages back to the system in the middle of a render: unmapping them while the
/// other thread runs stops its core to flush its TLB (0.03 ms of a lone tile's render: a
/// plane, the other thread's, and the indices written over one). A process rendering one
/// tile ends with them kept; one rendering many reuses them (cleared, 10 us for 256 KB,
/// where mapping fresh pages took 27 us).
pub(crate) fn give_back(bytes: Vec<u8>) {
    SPARES.keep(bytes);
}

/// `n` zero bytes for a plane: a spare of that size cleared, or else new bytes mapped
/// ([`zeroed`]).
fn plane_bytes(n: usize) -> Vec<u8> {
    SPARES.take(n).unwrap_or_else(|| zeroed(n))
}

/// `n` zero bytes whose pages are all mapped writable before drawing: at once where the
/// system can ([`populate_writable`]), otherwise by writing each page once. Left to the first
/// touch while drawing, a page would be the shared zero page until its first write, whose copy
/// changes the page table of a process with running threads, which stops the other cores to
/// flush their TLBs, on every page of the plane.
fn zeroed(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    if !populate_writable(&mut v) {
        for page in v.chunks_mut(4096) {
            // An opaque zero: the store cannot be left out as writing what is already there.
            page[0] = std::hint::black_box(0);
        }
    }
    v
}

/// Maps the whole pages inside `bytes` writable in one call (Linux 5.14's
/// `MADV_POPULATE_WRITE`), leaving the bytes as they are: about half the time of a page fault
/// at each page's first write (0.42 against 0.80 us a page here; a 512 px plane has 64).
/// Whether it did (not on other systems or older kernels).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn populate_writable(bytes: &mut [u8]) -> bool {
    // SAFETY: sysconf reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let Ok(page) = usize::try_from(page) else {
        return false;
    };
    if !page.is_power_of_two() {
        return false;
    }
    let from = (bytes.as_mut_ptr() as usize).next_multiple_of(page);
    let to = (bytes.as_mut_ptr() as usize + bytes.len()) & !(page - 1);
    if to <= from {
        return false;
    }
    // SAFETY: [from, to) is whole pages inside `bytes`, memory this function may write (it
    // holds the only reference); MADV_POPULATE_WRITE maps them as a write would, without
    // writing, so no byte changes and nothing outside the range is touched.
    let done = unsafe {
        libc::madvise(
            from as *mut libc::c_void,
            to - from,
            libc::MADV_POPULATE_WRITE,
        )
    };
    done == 0
}

#[cfg(not(target_os = "linux"))]
fn populate_writable(_: &mut [u8]) -> bool {
    false
}

/// A class's colour (straight RGBA) at coverage `c`, premultiplied.
#[inline(always)]
fn class_px(col: [u8; 4], c: u8) -> [u8; 4] {
    let a = mul255(c, col[3]);
    [mul255(col[0], a), mul255(col[1], a), mul255(col[2], a), a]
}

/// `a * b / 255`, rounded.
#[inline(always)]
pub(crate) fn mul255(a: u8, b: u8) -> u8 {
    let t = u32::from(a) * u32::from(b) + 128;
    ((t + (t >> 8)) >> 8) as u8
}

/// Straight to premultiplied RGBA.
pub(crate) fn premultiply(c: [u8; 4]) -> [u8; 4] {
    [
        mul255(c[0], c[3]),
        mul255(c[1], c[3]),
        mul255(c[2], c[3]),
        c[3],
    ]
}

/// Source-over of a premultiplied colour onto a premultiplied pixel.
#[inline(always)]
fn over(dst: &mut [u8], src: [u8; 4]) {
    if src[3] == 255 {
        dst.copy_from_slice(&src);
        return;
    }
    let inv = 255 - src[3];
    for k in 0..4 {
        dst[k] = src[k].saturating_add(mul255(dst[k], inv));
    }
}

/// The density ramp: `log2(1 + v)` over 7 doublings, in 32 steps (so the image stays a small
/// palette), from a translucent dark purple to opaque yellow.
fn density_colour(v: f32) -> [u8; 4] {
    const STOPS: [[f32; 3]; 5] = [
        [68.0, 1.0, 84.0],
        [59.0, 82.0, 139.0],
        [33.0, 145.0, 140.0],
        [94.0, 201.0, 98.0],
        [253.0, 231.0, 37.0],
    ];
    let t = ((1.0 + v).log2() / 7.0).clamp(0.0, 1.0);
    let t = (t * 31.0).round() / 31.0;
    let f = t * (STOPS.len() - 1) as f32;
    let i = (f.floor() as usize).min(STOPS.len() - 2);
    let k = f - i as f32;
    let c = |j: usize| STOPS[i][j] + (STOPS[i + 1][j] - STOPS[i][j]) * k;
    let a = (0.55 + 0.45 * t).min(1.0) * 255.0;
    premultiply([c(0) as u8, c(1) as u8, c(2) as u8, a as u8])
}

/// Where capsule coverage goes: a row of cells, each taking coverages in `[0, 1]` (0 leaves it
/// as it is).
trait Target {
    type Cell;
    /// The cells `[from, to)` of the buffer.
    fn cells(&mut self, from: usize, to: usize) -> &mut [Self::Cell];
    /// Adds coverage `c` to a cell.
    fn add(cell: &mut Self::Cell, c: f32);
    /// Adds `c[j]` to cell `from + j` for `j < n` (`n <= LANES`); the other lanes hold 0.
    #[inline(always)]
    fn add_lanes(&mut self, from: usize, c: &[f32; LANES], n: usize) {
        for (cell, &cj) in self.cells(from, from + n).iter_mut().zip(c) {
            Self::add(cell, cj);
        }
    }
}

/// How many pixels of a row a capsule computes together.
const LANES: usize = 8;

/// `[f(0), .., f(LANES - 1)]`, always inlined (unlike `std::array::from_fn`), so the lanes stay
/// in the caller's vector code, also where that is compiled for AVX2.
#[inline(always)]
fn lanes<T: Copy + Default>(f: impl Fn(usize) -> T) -> [T; LANES] {
    let mut out = [T::default(); LANES];
    for (j, o) in out.iter_mut().enumerate() {
        *o = f(j);
    }
    out
}

/// Coverage bytes combined by `max`.
struct MaxU8<'a>(&'a mut [u8]);

impl Target for MaxU8<'_> {
    type Cell = u8;
    #[inline(always)]
    fn cells(&mut self, from: usize, to: usize) -> &mut [u8] {
        &mut self.0[from..to]
    }
    #[inline(always)]
    fn add(cell: &mut u8, c: f32) {
        // Branch-free, so the row loop vectorizes: `c` is in [0, 1], 0 changes nothing.
        *cell = (*cell).max(to_byte(c));
    }
    #[inline(always)]
    fn add_lanes(&mut self, from: usize, c: &[f32; LANES], n: usize) {
        // All eight cells when the buffer has them: lanes past `n` hold 0, and `max` with 0
        // leaves a cell as it is, so the whole row is one vector `max`.
        if let Some(cells) = self.0.get_mut(from..from + LANES) {
            let v: [u8; LANES] = lanes(|j| to_byte(c[j]));
            for (cell, &vj) in cells.iter_mut().zip(&v) {
                *cell = (*cell).max(vj);
            }
        } else {
            for (cell, &cj) in self.cells(from, from + n).iter_mut().zip(c) {
                Self::add(cell, cj);
            }
        }
    }
}

/// Coverage in `[0, 1]` as a byte, `c * 255` rounded to nearest (ties to even).
///
/// Adding 2^23 leaves the rounded integer in the float's low mantissa bits, which converts
/// as a vector; a float-to-int cast goes lane by lane (it saturates and checks for NaN).
#[inline(always)]
fn to_byte(c: f32) -> u8 {
    (c * 255.0 + 8_388_608.0).to_bits() as u8
}

/// Coverage summed (density).
struct AddF32<'a>(&'a mut [f32]);

impl Target for AddF32<'_> {
    type Cell = f32;
    #[inline(always)]
    fn cells(&mut self, from: usize, to: usize) -> &mut [f32] {
        &mut self.0[from..to]
    }
    #[inline(always)]
    fn add(cell: &mut f32, c: f32) {
        *cell += c;
    }
}

/// `floor` without a libm call (the baseline x86-64 target has no rounding instruction);
/// exact for the pixel range used here.
#[inline(always)]
fn floor_i(x: f32) -> i32 {
    // The cast saturates far outside the i32 range, and so does the step down (a point
    // that far off is outside every clip either way).
    let i = x as i32;
    if (i as f32) > x {
        i.saturating_sub(1)
    } else {
        i
    }
}

#[inline(always)]
fn ceil_i(x: f32) -> i32 {
    let i = x as i32;
    if (i as f32) < x {
        i.saturating_add(1)
    } else {
        i
    }
}

/// A segment `a`-`a + d` of unit direction `u` and length `len`, drawn with coverage reaching
/// to `reach` from it; `inv_u` holds `1 / u` (0 for a component too small to divide by).
struct Seg {
    d: (f32, f32),
    u: (f32, f32),
    inv_u: (f32, f32),
    len: f32,
    reach: f32,
}

/// The `x` interval, relative to `a`, where the row at height `y` (relative to `a`) crosses
/// the capsule: the union of the two end discs and the band between them (a convex shape, so
/// one interval). `None` where the row misses it.
#[inline(always)]
fn row_interval(y: f32, s: &Seg) -> Option<(f32, f32)> {
    let reach = s.reach;
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    let mut disc = |cx: f32, cy: f32| {
        let h2 = reach * reach - (y - cy) * (y - cy);
        if h2 > 0.0 {
            let h = h2.sqrt();
            lo = lo.min(cx - h);
            hi = hi.max(cx + h);
        }
    };
    disc(0.0, 0.0);
    if s.len > 0.0 {
        disc(s.d.0, s.d.1);
        // The band: along the segment 0 <= x*ux + y*uy <= len, across it
        // |y*ux - x*uy| <= reach. Each is an interval of x (or all of them, or none).
        let (mut blo, mut bhi) = (f32::NEG_INFINITY, f32::INFINITY);
        let mut cut = |inv_k: f32, c0: f32, c1: f32| {
            // c0 <= x * k <= c1
            if inv_k != 0.0 {
                let (p, q) = (c0 * inv_k, c1 * inv_k);
                blo = blo.max(p.min(q));
                bhi = bhi.min(p.max(q));
            } else if c0 > 0.0 || c1 < 0.0 {
                bhi = f32::NEG_INFINITY;
            }
        };
        let (u, inv) = (s.u, s.inv_u);
        cut(inv.0, -y * u.1, s.len - y * u.1);
        cut(-inv.1, -reach - y * u.0, reach - y * u.0);
        if blo < bhi {
            lo = lo.min(blo);
            hi = hi.max(bhi);
        }
    }
    (lo < hi).then_some((lo, hi))
}

/// [`capsule_spans`] into a coverage plane, compiled for AVX2 when the CPU has it (the same
/// operations on eight lanes at once instead of four: the same bytes).
fn capsule_max_u8(
    clip: Clip,
    a: (f32, f32),
    b: (f32, f32),
    r: f32,
    cov: &mut [u8],
    stride: usize,
) -> Option<Clip> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: a function compiled for AVX2 requires only that the CPU has AVX2, which
        // was checked just above.
        return unsafe { capsule_max_u8_avx2(clip, a, b, r, cov, stride) };
    }
    capsule_spans(clip, a, b, r, &mut MaxU8(cov), stride)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn capsule_max_u8_avx2(
    clip: Clip,
    a: (f32, f32),
    b: (f32, f32),
    r: f32,
    cov: &mut [u8],
    stride: usize,
) -> Option<Clip> {
    capsule_spans(clip, a, b, r, &mut MaxU8(cov), stride)
}

/// Visits the pixels whose centres are within `r + 0.5` of segment `a`-`b`, giving `target`
/// their coverage `clamp(r + 0.5 - distance, 0, 1)`. Returns the rectangle of the pixels it
/// may have visited, `None` when the segment's reach misses `clip`.
///
/// Each row visits only the pixels whose centres lie inside the capsule (found from the two
/// end discs and the band between them), four at a time without branches, so the
/// compiler's vector instructions compute them together.
#[inline(always)]
fn capsule_spans<T: Target>(
    clip: Clip,
    a: (f32, f32),
    b: (f32, f32),
    r: f32,
    target: &mut T,
    stride: usize,
) -> Option<Clip> {
    let reach = r + 0.5;
    let (minx, maxx) = (a.0.min(b.0) - reach, a.0.max(b.0) + reach);
    let (miny, maxy) = (a.1.min(b.1) - reach, a.1.max(b.1) + reach);
    let y0 = floor_i(miny).max(clip.y0);
    let y1 = ceil_i(maxy).min(clip.y1);
    let x_lo = floor_i(minx).max(clip.x0);
    let x_hi = ceil_i(maxx).min(clip.x1);
    if y0 >= y1 || x_lo >= x_hi || !(minx.is_finite() && maxy.is_finite()) {
        return None;
    }
    let d = (b.0 - a.0, b.1 - a.1);
    let len2 = d.0 * d.0 + d.1 * d.1;
    let inv = if len2 > 1e-12 { 1.0 / len2 } else { 0.0 };
    let visited = Some(Clip {
        x0: x_lo,
        y0,
        x1: x_hi,
        y1,
    });
    // A capsule at most two LANES wide (most of them: dense lines are short segments): every
    // row computes the same LANES pixels (once or twice) from the box's left edge, with no
    // search for where the row enters and leaves the capsule; pixels outside it get
    // coverage 0.
    let width = (x_hi - x_lo) as usize;
    if width <= 2 * LANES {
        for left in (0..width).step_by(LANES) {
            let n = (width - left).min(LANES);
            let rx0 = (x_lo as usize + left) as f32 + 0.5 - a.0;
            let live: [f32; LANES] = lanes(|j| if j < n { 1.0 } else { 0.0 });
            // What the rows share, computed once (the same operations as `coverage`).
            let rx: [f32; LANES] = lanes(|j| rx0 + j as f32);
            let along: [f32; LANES] = lanes(|j| rx[j] * d.0);
            let mut from = y0 as usize * stride + x_lo as usize + left;
            for py in y0..y1 {
                let ry = py as f32 + 0.5 - a.1;
                let ry_along = ry * d.1;
                let c: [f32; LANES] = lanes(|j| {
                    let t = ((along[j] + ry_along) * inv).clamp(0.0, 1.0);
                    let (ex, ey) = (rx[j] - d.0 * t, ry - d.1 * t);
                    (reach - (ex * ex + ey * ey).sqrt()).clamp(0.0, 1.0) * live[j]
                });
                target.add_lanes(from, &c, n);
                from += stride;
            }
        }
        return visited;
    }
    let len = len2.sqrt();
    let recip = |v: f32| if v.abs() > 1e-6 { 1.0 / v } else { 0.0 };
    let seg = if len > 1e-6 {
        let u = (d.0 / len, d.1 / len);
        Seg {
            d,
            u,
            inv_u: (recip(u.0), recip(u.1)),
            len,
            reach,
        }
    } else {
        Seg {
            d,
            u: (1.0, 0.0),
            inv_u: (1.0, 0.0),
            len: 0.0,
            reach,
        }
    };
    for py in y0..y1 {
        let ry = py as f32 + 0.5 - a.1;
        let Some((lo, hi)) = row_interval(ry, &seg) else {
            continue;
        };
        // Pixels whose centres (px + 0.5) lie in [a.x + lo, a.x + hi].
        let sx0 = ceil_i(a.0 + lo - 0.5).max(x_lo);
        let sx1 = (floor_i(a.0 + hi - 0.5) + 1).min(x_hi);
        if sx0 >= sx1 {
            continue;
        }
        let row = py as usize * stride;
        let rx0 = sx0 as f32 + 0.5 - a.0;
        for x in (sx0..sx1).step_by(LANES) {
            // Lanes past the row's end are masked to 0: they may lie outside `clip`.
            let n = ((sx1 - x) as usize).min(LANES);
            let base = rx0 + (x - sx0) as f32;
            let c: [f32; LANES] = lanes(|j| {
                coverage(base + j as f32, ry, d, inv, reach) * if j < n { 1.0 } else { 0.0 }
            });
            target.add_lanes(row + x as usize, &c, n);
        }
    }
    visited
}

/// The coverage of the pixel whose centre is at `(rx, ry)` from the segment's start, for a
/// segment `d` (`inv` = `1 / |d|²`, 0 for a point) with coverage reaching `reach` from it.
#[inline(always)]
fn coverage(rx: f32, ry: f32, d: (f32, f32), inv: f32, reach: f32) -> f32 {
    let t = ((rx * d.0 + ry * d.1) * inv).clamp(0.0, 1.0);
    let (ex, ey) = (rx - d.0 * t, ry - d.1 * t);
    (reach - (ex * ex + ey * ey).sqrt()).clamp(0.0, 1.0)
}

/// A disc rendered at 4 x 4 sub-pixel offsets, each trimmed to its non-zero pixels.
#[derive(Debug, Clone)]
pub(crate) struct Stamps {
    /// Per sub-pixel offset: (left, top) relative to the point's pixel, width, height, and
    /// where its bytes start in `data`.
    subs: [(i32, i32, usize, usize, usize); 16],
    data: Vec<u8>,
    /// How far (pixels) a stamp reaches from its point, at most.
    reach: i32,
    /// When every stamp is at most [`LANES`] pixels wide: per sub-pixel offset, its rows
    /// padded with zeros to [`LANES`] bytes (from `rows[sub * height]`, `height` the tallest
    /// stamp's rows), so a row is stamped as one vector `max`.
    rows: Vec<[u8; LANES]>,
    height: usize,
}

impl Stamps {
    /// Anti-aliased discs of radius `r` pixels.
    pub fn disc(r: f32) -> Stamps {
        let half = r.ceil() as i32 + 1;
        let size = (2 * half + 1) as usize;
        let mut subs = [(0, 0, 0, 0, 0); 16];
        let mut data = Vec::new();
        for (sub, slot) in subs.iter_mut().enumerate() {
            let (fx, fy) = ((sub % 4) as f32 * 0.25, (sub / 4) as f32 * 0.25);
            // The disc centre, in stamp pixels, is at `half + f + 0.125` (the middle of the
            // quarter-pixel bin the point falls in).
            let (cx, cy) = (half as f32 + fx + 0.125, half as f32 + fy + 0.125);
            let mut full = vec![0u8; size * size];
            for j in 0..size {
                for i in 0..size {
                    let (ex, ey) = (i as f32 + 0.5 - cx, j as f32 + 0.5 - cy);
                    let d = (ex * ex + ey * ey).sqrt();
                    let c = (r + 0.5 - d).clamp(0.0, 1.0);
                    full[j * size + i] = (c * 255.0 + 0.5) as u8;
                }
            }
            let nz = |i: usize, j: usize| full[j * size + i] != 0;
            let cols: Vec<usize> = (0..size).filter(|&i| (0..size).any(|j| nz(i, j))).collect();
            let rows: Vec<usize> = (0..size).filter(|&j| (0..size).any(|i| nz(i, j))).collect();
            let (i0, i1) = (
                cols.first().copied().unwrap_or(0),
                cols.last().copied().unwrap_or(0),
            );
            let (j0, j1) = (
                rows.first().copied().unwrap_or(0),
                rows.last().copied().unwrap_or(0),
            );
            let start = data.len();
            for j in j0..=j1 {
                data.extend_from_slice(&full[j * size + i0..=j * size + i1]);
            }
            *slot = (
                i0 as i32 - half,
                j0 as i32 - half,
                i1 - i0 + 1,
                j1 - j0 + 1,
                start,
            );
        }
        let reach = subs
            .iter()
            .map(|&(l, t, w, h, _)| l.abs().max(t.abs()).max(l + w as i32).max(t + h as i32))
            .max()
            .unwrap_or(0)
            + 1;
        let height = subs.iter().map(|s| s.3).max().unwrap_or(0);
        let mut rows = Vec::new();
        if subs.iter().all(|s| s.2 <= LANES) {
            rows = vec![[0; LANES]; subs.len() * height];
            for (sub, &(_, _, w, h, start)) in subs.iter().enumerate() {
                for j in 0..h {
                    rows[sub * height + j][..w].copy_from_slice(&data[start + j * w..][..w]);
                }
            }
        }
        Stamps {
            subs,
            data,
            reach,
            rows,
            height,
        }
    }

    /// How far (pixels) a stamp reaches from its point, at most.
    pub fn reach(&self) -> i32 {
        self.reach
    }

    /// The stamp for a point at `(x, y)`: its bytes, top-left pixel, width and height.
    #[inline(always)]
    fn pick(&self, x: f32, y: f32) -> (usize, i32, i32, usize, usize) {
        let qx = floor_i(x * 4.0);
        let qy = floor_i(y * 4.0);
        let sub = ((qy & 3) * 4 + (qx & 3)) as usize;
        let (l, t, w, h, _) = self.subs[sub];
        (sub, (qx >> 2) + l, (qy >> 2) + t, w, h)
    }

    /// The bytes of stamp `sub`, row after row.
    fn bytes(&self, sub: usize) -> &[u8] {
        let (_, _, w, h, start) = self.subs[sub];
        &self.data[start..start + w * h]
    }

    /// The rows of stamp `sub` padded to [`LANES`] bytes (none if the stamps are wider).
    #[inline(always)]
    fn padded(&self, sub: usize) -> &[[u8; LANES]] {
        let h = self.subs[sub].3;
        self.rows
            .get(sub * self.height..sub * self.height + h)
            .unwrap_or(&[])
    }
}

/// What [`Canvas::take_palette_indices_each`] makes: the colours (premultiplied, in the order
/// first met), each pixel's index, and how long the indices took from the start.
#[derive(Debug)]
pub(crate) struct PaletteImage {
    pub colours: Vec<[u8; 4]>,
    pub indices: Vec<u8>,
    pub indexed_in: std::time::Duration,
}

/// The index of colour `c` in `colours`, added at the end if it is new; `None` when it is
/// new and `colours` already holds 256.
fn palette_index(colours: &mut Vec<[u8; 4]>, c: [u8; 4]) -> Option<u8> {
    let i = match colours.iter().position(|&k| k == c) {
        Some(i) => i,
        None if colours.len() < 256 => {
            colours.push(c);
            colours.len() - 1
        }
        None => return None,
    };
    Some(i as u8)
}

/// The rows a run of [`Canvas::take_palette_indices_each`] holds: about 16 KB, so the first
/// run is indexed in a few microseconds and runs are handed on often enough to keep both
/// threads busy.
const STRIPE_BYTES: usize = 16 << 10;

/// The palette of an image indexed a run of pixels at a time, in scan order: each key's index
/// plus one (0: not met yet; a key is a coverage, or with two classes the first's plus 256
/// times the second's), and the colours in the order met.
struct PaletteScan {
    slot: Vec<u16>,
    colours: Vec<[u8; 4]>,
}

impl PaletteScan {
    fn new(classes: usize) -> PaletteScan {
        PaletteScan {
            slot: vec![0; if classes > 1 { 1 << 16 } else { 256 }],
            colours: Vec::new(),
        }
    }

    /// The index of `key`, added to the palette when it is new; `None` past 256 colours.
    #[inline]
    fn index_of(&mut self, key: usize, colour: &impl Fn(usize) -> [u8; 4]) -> Option<u8> {
        if self.slot[key] == 0 {
            self.slot[key] = u16::from(palette_index(&mut self.colours, colour(key))?) + 1;
        }
        Some((self.slot[key] - 1) as u8)
    }

    /// Nothing drawn: the background's index everywhere.
    fn none(&mut self, px: &mut [u8], colour: &impl Fn(usize) -> [u8; 4]) -> Option<()> {
        let i = self.index_of(0, colour)?;
        px.fill(i);
        Some(())
    }

    /// One class drawn: each coverage in `px` replaced by its index.
    fn one(&mut self, px: &mut [u8], colour: &impl Fn(usize) -> [u8; 4]) -> Option<()> {
        // Sixteen pixels at a time where nothing was drawn (most of a tile) once the empty
        // pixel has its index.
        for run in px.chunks_mut(16) {
            let keys = <[u8; 16]>::try_from(&*run).ok();
            // One 16-byte compare (an `all` over the bytes goes byte by byte).
            if self.slot[0] != 0 && keys.is_some_and(|k| u128::from_ne_bytes(k) == 0) {
                run.fill((self.slot[0] - 1) as u8);
                continue;
            }
            let mut copy = [0u8; 16];
            let keys = &mut copy[..run.len()];
            keys.copy_from_slice(run);
            // Without a branch a pixel while every coverage met has its index; a run with a
            // new one is done again in order, assigning.
            let mut new = false;
            for (out, &c) in run.iter_mut().zip(keys.iter()) {
                let i = self.slot[usize::from(c)];
                new |= i == 0;
                *out = i.wrapping_sub(1) as u8;
            }
            if new {
                for (out, &c) in run.iter_mut().zip(keys.iter()) {
                    *out = self.index_of(usize::from(c), colour)?;
                }
            }
        }
        Some(())
    }

    /// Two classes drawn: the index of each pixel's pair of coverages (`first`, `second`)
    /// written to `out`.
    fn two(
        &mut self,
        first: &[u8],
        second: &[u8],
        colour: &impl Fn(usize) -> [u8; 4],
        out: &mut [u8],
    ) -> Option<()> {
        for ((o, &c), &d) in out.iter_mut().zip(first).zip(second) {
            *o = self.index_of(usize::from(c) | usize::from(d) << 8, colour)?;
        }
        Some(())
    }
}

/// Indexes `px` a run of `run` bytes at a time, in order, by `index` (given where the run
/// starts), and hands each run indexed to `each`, in order, on the calling thread, while the
/// next runs are indexed: by the pool's other thread when it is free to take that work, or by
/// this one when the next run is not ready yet and no other thread is indexing (so one thread
/// alone, or a pool busy elsewhere, does it all here). `None` when `index` fails (it is not
/// called again), or `each`'s first error; otherwise how long the indexing took.
fn index_then_each<E: Send>(
    px: &mut [u8],
    run: usize,
    index: impl FnMut(usize, &mut [u8]) -> Option<()> + Send,
    mut each: impl FnMut(&[u8]) -> Result<(), E> + Send,
) -> Option<Result<std::time::Duration, E>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Mutex, TryLockError};
    let started = std::time::Instant::now();
    let runs = px.len().div_ceil(run.max(1));
    // The runs not yet indexed and the indexing (one thread at a time); the runs indexed, in
    // order, and how many; whether indexing failed; when the last run was indexed.
    let todo = Mutex::new((px.chunks_mut(run.max(1)).enumerate(), index));
    let done: Mutex<Vec<&[u8]>> = Mutex::new(Vec::with_capacity(runs));
    let ready = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let finished = Mutex::new(None);
    // Indexes the next run unless another thread is indexing one. Neither thread waits on
    // the lock (asleep, a thread took 140 us to wake on a 2-core VM, longer than indexing a
    // run): each spins while the other indexes.
    #[derive(PartialEq)]
    enum Step {
        Indexed,
        /// Another thread is indexing a run.
        Busy,
        /// Every run is indexed, or indexing failed.
        Over,
    }
    let index_next = || -> Step {
        let mut todo = match todo.try_lock() {
            Ok(t) => t,
            Err(TryLockError::WouldBlock) => return Step::Busy,
            // The other thread panicked while indexing: its panic reaches the caller.
            Err(TryLockError::Poisoned(_)) => {
                failed.store(true, Ordering::Release);
                return Step::Over;
            }
        };
        let (runs_left, index) = &mut *todo;
        if failed.load(Ordering::Acquire) {
            return Step::Over;
        }
        let Some((i, px)) = runs_left.next() else {
            return Step::Over;
        };
        let indexed = index(i * run, px).is_some();
        match (indexed, done.lock()) {
            (true, Ok(mut done)) => done.push(px),
            _ => {
                failed.store(true, Ordering::Release);
                return Step::Over;
            }
        }
        if ready.fetch_add(1, Ordering::AcqRel) + 1 == runs
            && let Ok(mut f) = finished.lock()
        {
            *f = Some(started.elapsed());
        }
        Step::Indexed
    };
    let (handed, ()) = crate::join::join(
        || -> Option<Result<(), E>> {
            for i in 0..runs {
                while ready.load(Ordering::Acquire) <= i {
                    if failed.load(Ordering::Acquire) {
                        return None;
                    }
                    if index_next() == Step::Busy {
                        std::hint::spin_loop();
                    }
                }
                let px = done.lock().ok()?[i];
                if let Err(e) = each(px) {
                    return Some(Err(e));
                }
            }
            Some(Ok(()))
        },
        || loop {
            match index_next() {
                Step::Indexed => {}
                Step::Busy => std::hint::spin_loop(),
                Step::Over => break,
            }
        },
    );
    if failed.load(Ordering::Acquire) {
        return None;
    }
    let took = finished.lock().ok().and_then(|f| *f);
    Some(handed?.map(|()| took.unwrap_or_else(|| started.elapsed())))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn capsule_covers_its_band_only() {
        let mut c = Canvas::new(20, 20, &[[255, 0, 0, 255]], false);
        let clip = c.full_clip();
        c.capsule(0, clip, (2.0, 10.0), (18.0, 10.0), 1.0);
        let cov = &c.planes[0].cov;
        // Pixel centres on the line are fully covered, far ones untouched.
        assert_eq!(cov[10 * 20 + 10], 255);
        assert_eq!(cov[9 * 20 + 10], 255); // centre 9.5 is 0.5 from the line: inside r=1
        assert_eq!(cov[5 * 20 + 10], 0);
        // Round cap: pixels beyond the end within r are partly covered, not beyond r+0.5.
        assert!(cov[10 * 20 + 18] > 0);
        assert_eq!(cov[10 * 20 + 19], 0);
    }

    #[test]
    fn stamp_is_round_and_centred() {
        let mut c = Canvas::new(16, 16, &[[0, 0, 0, 255]], false);
        let clip = c.full_clip();
        let s = Stamps::disc(2.0);
        c.stamp(0, clip, 8.0, 8.0, &s);
        let cov = &c.planes[0].cov;
        assert_eq!(cov[8 * 16 + 8], 255);
        assert_eq!(cov[7 * 16 + 7], 255);
        assert_eq!(cov[8 * 16 + 12], 0);
        assert_eq!(cov[3 * 16 + 8], 0);
        // The total coverage is the disc's area, pi r^2.
        let area: f32 = cov.iter().map(|&c| f32::from(c) / 255.0).sum();
        assert!((area - std::f32::consts::PI * 4.0).abs() < 0.6, "{area}");
    }

    fn clip(x0: i32, y0: i32, x1: i32, y1: i32) -> Clip {
        Clip { x0, y0, x1, y1 }
    }

    /// A small deterministic generator (xorshift), enough to spread test cases: numbers in
    /// [0, 1).
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    /// A random capsule on a `w` x `h` canvas: its ends (up to 4 px beyond the canvas), the
    /// second within 4 px of the first unless `long`, and a radius from 0.3 to 3.3 px.
    fn random_capsule(rng: &mut Rng, w: u32, h: u32, long: bool) -> ((f32, f32), (f32, f32), f32) {
        let (w, h) = (w as f32, h as f32);
        let mut p = || (rng.next() * (w + 8.0) - 4.0, rng.next() * (h + 8.0) - 4.0);
        let a = p();
        let b = if long {
            p()
        } else {
            (a.0 + rng.next() * 8.0 - 4.0, a.1 + rng.next() * 8.0 - 4.0)
        };
        (a, b, 0.3 + rng.next() * 3.0)
    }

    /// Every capsule, narrow (eight lanes from the box's edge) or wide (row intervals), gives
    /// each pixel the coverage of its own distance to the segment, within a rounding step, and
    /// nothing outside the clip, at the canvas' edges and the buffer's end included.
    #[test]
    fn capsules_match_the_distance_of_every_pixel() {
        let (w, h) = (37u32, 29u32);
        let clip = clip(3, 2, 33, 29);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..3000 {
            let mut c = Canvas::new(w, h, &[[0, 0, 0, 255]], false);
            // Short segments (the narrow path) most of the time, long ones too.
            let (a, b, r) = random_capsule(&mut rng, w, h, case % 3 == 0);
            c.capsule(0, clip, a, b, r);
            let cov = if c.planes[0].used {
                c.planes[0].cov.clone()
            } else {
                vec![0; (w * h) as usize]
            };
            // The distance from each pixel's centre to the segment, in f64, on its own.
            let (ax, ay) = (f64::from(a.0), f64::from(a.1));
            let (dx, dy) = (f64::from(b.0) - ax, f64::from(b.1) - ay);
            let len2 = dx * dx + dy * dy;
            for y in 0..h as i32 {
                for x in 0..w as i32 {
                    let inside = x >= clip.x0 && x < clip.x1 && y >= clip.y0 && y < clip.y1;
                    let (px, py) = (f64::from(x) + 0.5 - ax, f64::from(y) + 0.5 - ay);
                    let t = if len2 > 0.0 {
                        ((px * dx + py * dy) / len2).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    let dist = (px - t * dx).hypot(py - t * dy);
                    let want = if inside {
                        ((f64::from(r) + 0.5 - dist).clamp(0.0, 1.0) * 255.0).round() as u8
                    } else {
                        0
                    };
                    let got = cov[(y as u32 * w + x as u32) as usize];
                    assert!(
                        got.abs_diff(want) <= 1,
                        "case {case}: {a:?}-{b:?} r {r}: pixel ({x}, {y}) has {got}, not {want}"
                    );
                }
            }
        }
    }

    /// The capsule compiled for AVX2 (taken where the CPU has it) writes the bytes and returns
    /// the rectangle of the baseline one, over something already drawn, narrow and wide
    /// capsules, cut by the clip or not. Without AVX2 there is nothing to compare: it says so.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_avx2_capsule_is_the_baseline_capsule() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("this CPU has no AVX2: the AVX2 capsule cannot run here");
            return;
        }
        let (w, h) = (41u32, 33u32);
        let clip = clip(2, 1, 39, 33);
        let under: Vec<u8> = (0..w * h).map(|i| (i * 53 % 256) as u8).collect();
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for case in 0..3000 {
            let (a, b, r) = random_capsule(&mut rng, w, h, case % 4 == 0);
            let (mut base, mut avx) = (under.clone(), under.clone());
            let want = capsule_spans(clip, a, b, r, &mut MaxU8(&mut base), w as usize);
            #[allow(unsafe_code)]
            // SAFETY: the CPU has AVX2 (checked at the start).
            let got = unsafe { capsule_max_u8_avx2(clip, a, b, r, &mut avx, w as usize) };
            assert_eq!(
                got, want,
                "case {case}: {a:?}-{b:?} r {r}: the drawn rectangle"
            );
            assert!(
                avx == base,
                "case {case}: {a:?}-{b:?} r {r}: the bytes differ"
            );
        }
    }

    /// Stamps wholly inside the clip (one padded row at a time) and those it cuts (span by
    /// span) put each stamp byte at its pixel, and nothing else, up to the buffer's last byte.
    #[test]
    fn stamps_land_byte_for_byte() {
        let (w, h) = (23u32, 19u32);
        let clip = clip(2, 1, 23, 19);
        let s = Stamps::disc(1.3);
        assert!(!s.padded(0).is_empty(), "small discs have padded rows");
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for case in 0..2000 {
            let (x, y) = (rng.next() * 27.0 - 2.0, rng.next() * 23.0 - 2.0);
            let mut c = Canvas::new(w, h, &[[0, 0, 0, 255]], false);
            // Something under the stamp, which `max` must keep where it is higher.
            let under: Vec<u8> = (0..w * h).map(|i| (i * 37 % 256) as u8).collect();
            c.plane(0).copy_from_slice(&under);
            c.stamp_all(0, clip, &[(x, y)], &s);
            let mut want = under.clone();
            let (sub, ox, oy, sw, sh) = s.pick(x, y);
            let bytes = s.bytes(sub);
            for j in 0..sh {
                for i in 0..sw {
                    let (px, py) = (ox + i as i32, oy + j as i32);
                    if px >= clip.x0 && px < clip.x1 && py >= clip.y0 && py < clip.y1 {
                        let k = (py as u32 * w + px as u32) as usize;
                        want[k] = want[k].max(bytes[j * sw + i]);
                    }
                }
            }
            assert_eq!(c.planes[0].cov, want, "case {case}: a dot at ({x}, {y})");
        }
    }

    /// A canvas for the edges only draws and merges the same bytes as any canvas: its planes
    /// differ only in how their pages come to be.
    /// A large merge, split between two threads, gives the bytes a merge on one thread gives,
    /// placed anywhere (cut by the edges or not).
    #[test]
    fn a_merge_on_two_threads_is_the_merge_on_one() {
        let colours = [[5, 203, 99, 255], [255, 62, 181, 255]];
        let mut rng = Rng(0x0bad_cafe_1234_5678);
        let (w, h) = (300u32, 260u32);
        let canvas = |rng: &mut Rng| {
            let mut c = Canvas::new(w, h, &colours, false);
            let clip = c.full_clip();
            for class in 0..2 {
                for _ in 0..40 {
                    let p = |rng: &mut Rng| (rng.next() * w as f32, rng.next() * h as f32);
                    let (a, b) = (p(rng), p(rng));
                    c.capsule(class, clip, a, b, 0.5 + rng.next() * 3.0);
                }
            }
            c
        };
        for (dx, dy) in [(0, 0), (-37, 21), (50, -80)] {
            let (base, other) = (canvas(&mut rng), canvas(&mut rng));
            let merged = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut c = base.empty_like();
                c.merge_from(&base, 0, 0);
                pool.install(|| c.merge_from(&other, dx, dy));
                c.planes.iter().map(|p| p.cov.clone()).collect::<Vec<_>>()
            };
            let (one, two) = (merged(1), merged(2));
            assert!(one.iter().any(|p| p.iter().any(|&v| v > 0)));
            assert_eq!(one, two, "merged at ({dx}, {dy})");
        }
    }

    #[test]
    fn an_edges_only_canvas_draws_and_merges_the_same() {
        let (w, h) = (64u32, 48u32);
        let s = Stamps::disc(1.7);
        let mut rng = Rng(0x5151_7373_9191_b3b3);
        let mut normal = Canvas::new(w, h, &[[0, 0, 0, 255], [9, 9, 9, 255]], false);
        let mut sparse = normal.empty_like().edges_only();
        let clip = normal.full_clip();
        let dots: Vec<(f32, f32)> = (0..40)
            .map(|_| (rng.next() * 70.0 - 3.0, rng.next() * 54.0 - 3.0))
            .collect();
        for c in [&mut normal, &mut sparse] {
            c.stamp_all(1, clip, &dots, &s);
            c.capsule(0, clip, (3.0, 40.0), (60.0, 44.0), 1.2);
        }
        assert_eq!(normal.planes[1].cov, sparse.planes[1].cov);
        assert_eq!(normal.planes[0].cov, sparse.planes[0].cov);
        let (mut a, mut b) = (normal.empty_like(), normal.empty_like());
        a.merge_from(&normal, 0, 0);
        b.merge_from(&sparse, 0, 0);
        assert_eq!(a.planes[1].cov, b.planes[1].cov);
        assert_eq!(a.planes[0].cov, b.planes[0].cov);
        assert!(a.planes[1].cov.iter().any(|&c| c > 0), "dots were drawn");
    }

    /// Stamping a run of dots (some cut by the clip or outside it) gives the pixels and the
    /// drawn rectangle of stamping them one by one, the general way, byte by byte.
    #[test]
    fn a_run_of_dots_is_the_dots_one_by_one() {
        let (w, h) = (41u32, 23u32);
        let clip = clip(3, 2, 37, 23);
        let s = Stamps::disc(1.3);
        let mut rng = Rng(0x0bad_cafe_1234_5678);
        for case in 0..300 {
            let n = 1 + case % 40;
            let points: Vec<(f32, f32)> = (0..n)
                .map(|_| (rng.next() * 47.0 - 3.0, rng.next() * 29.0 - 3.0))
                .collect();
            let mut run = Canvas::new(w, h, &[[0, 0, 0, 255]], false);
            let mut each = run.clone();
            run.stamp_all(0, clip, &points, &s);
            for &(x, y) in &points {
                each.stamp(0, clip, x, y, &s);
            }
            assert_eq!(run.planes[0].cov, each.planes[0].cov, "case {case}");
            assert_eq!(run.dirty, each.dirty, "case {case}");
        }
    }

    /// The palette straight from the coverage is the palette of the composited pixels, the
    /// same colours in the same order and the same index for every pixel, for any number of
    /// classes drawn and any background, on small canvases (one run) and large ones (two
    /// halves on two threads, merged), or none for both where there are more than 256 colours;
    /// more than two classes are left to the pixels.
    #[test]
    fn palette_indices_are_the_composited_pixels_palette() {
        let colours = [[5, 203, 99, 255], [255, 62, 181, 255], [191, 191, 191, 192]];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool of two threads");
        let (mut merged, mut too_many) = (0, 0);
        for case in 0..120 {
            let used = case % 4;
            let background = match case % 3 {
                0 => None,
                1 => Some([0, 0, 0, 0]),
                _ => Some([250, 250, 250, 255]),
            };
            let large = case / 4 % 2 == 1;
            let (w, h) = if large { (300u32, 240u32) } else { (19, 7) };
            let mut c = Canvas::new(w, h, &colours, false);
            let clip = c.full_clip();
            for class in 0..used {
                // Many capsules crossing: more than 256 colours.
                let n = match (large, case / 8 % 3) {
                    (false, _) => 3,
                    (true, 2) => 400,
                    (true, _) => 2 + case % 20,
                };
                for _ in 0..n {
                    let p = |rng: &mut Rng| (rng.next() * w as f32, rng.next() * h as f32);
                    let (a, b) = (p(&mut rng), p(&mut rng));
                    c.capsule(class, clip, a, b, 0.3 + rng.next() * 2.0);
                }
            }
            let mut rgba = vec![0u8; (w * h * 4) as usize];
            c.composite_rows(0, h, background, &mut rgba);
            let want = crate::png_out::palette_of(&rgba);
            let got = pool.install(|| c.palette_indices(background));
            // Taken run by run: whole rows, handed on in order, already final.
            let mut taken = c.clone();
            let mut runs: Vec<Vec<u8>> = Vec::new();
            let then = pool.install(|| {
                taken.take_palette_indices_each(background, |run| {
                    runs.push(run.to_vec());
                    Ok::<(), ()>(())
                })
            });
            // Taken: blank when indexed, as it was otherwise.
            let blank = Canvas::new(w, h, &colours, false);
            let left = if then.is_some() { &blank } else { &c };
            let drawn = |c: &Canvas| -> Vec<Option<Vec<u8>>> {
                c.planes
                    .iter()
                    .map(|p| p.used.then(|| p.cov.clone()))
                    .collect()
            };
            assert_eq!(drawn(&taken), drawn(left), "case {case}");
            match (&got, then) {
                (Some((colours, indices)), Some(Ok(p))) => {
                    assert_eq!((colours, indices), (&p.colours, &p.indices), "case {case}");
                    assert!(
                        runs.iter().all(|r| r.len() % w as usize == 0),
                        "case {case}"
                    );
                    assert_eq!(&runs.concat(), indices, "case {case}");
                    if large {
                        assert!(runs.len() > 2, "case {case}: {} runs", runs.len());
                    }
                }
                (None, None) => {}
                (a, b) => panic!("case {case}: {a:?} but {b:?}"),
            }
            if used > 2 {
                assert_eq!(got, None, "case {case}: {used} classes");
                continue;
            }
            if large && used > 0 {
                if want.is_some() {
                    merged += 1;
                } else {
                    too_many += 1;
                }
            }
            assert_eq!(got, want, "case {case}: {used} classes, {background:?}");
        }
        assert!(
            merged >= 5 && too_many >= 2,
            "{merged} merged, {too_many} over 256"
        );
    }

    /// Indices handed on run by run come out the same whether the pool's other thread indexes
    /// the runs ahead, there is no other thread, or the other thread is busy with other work
    /// the whole time (the caller then indexes each run itself, and never waits for a thread
    /// that does not come); the first error of the runs' taker stops the hand-off and is
    /// returned.
    #[test]
    fn indices_are_handed_on_alike_with_or_without_a_free_thread() {
        let colours = [[5, 203, 99, 255], [255, 62, 181, 255]];
        let (w, h) = (256u32, 256u32);
        let mut rng = Rng(0x0dd_ba11);
        let mut c = Canvas::new(w, h, &colours, false);
        let clip = c.full_clip();
        for _ in 0..60 {
            let p = |rng: &mut Rng| (rng.next() * w as f32, rng.next() * h as f32);
            let (a, b) = (p(&mut rng), p(&mut rng));
            c.capsule(0, clip, a, b, 0.5 + rng.next() * 2.0);
        }
        let want = c.palette_indices(None).expect("one class indexes");
        let pool = |n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        };
        let handed = |pool: &rayon::ThreadPool| {
            let mut taken = c.clone();
            let mut runs = Vec::new();
            let image = pool.install(|| {
                taken.take_palette_indices_each(None, |run| {
                    runs.push(run.to_vec());
                    Ok::<(), ()>(())
                })
            });
            let image = image.expect("indexed").expect("no error");
            assert_eq!((&image.colours, &image.indices), (&want.0, &want.1));
            assert!(runs.len() > 2, "{} runs", runs.len());
            runs.concat()
        };
        assert_eq!(handed(&pool(2)), want.1, "a free thread");
        assert_eq!(handed(&pool(1)), want.1, "one thread");
        let busy = pool(2);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        busy.spawn(move || {
            started_tx.send(()).unwrap();
            // Held until the hand-off below is over.
            let _ = rx.recv();
        });
        started_rx.recv().unwrap();
        assert_eq!(handed(&busy), want.1, "the other thread busy");
        drop(tx);
        // The taker's first error stops the hand-off.
        let mut calls = 0;
        let mut taken = c.clone();
        let failed = pool(2).install(|| {
            taken.take_palette_indices_each(None, |_| {
                calls += 1;
                if calls == 2 { Err("full disk") } else { Ok(()) }
            })
        });
        assert_eq!(failed.map(|r| r.err()), Some(Some("full disk")));
        assert_eq!(calls, 2);
    }

    /// Populating maps a buffer's pages without changing a byte: a fresh buffer's first writes
    /// then take no page faults (one a page without), and bytes already written stay; a buffer
    /// holding no whole page is left alone. The buffers are 40 MiB, so the allocator maps them
    /// fresh (past its largest threshold for reusing freed memory, 32 MiB).
    #[cfg(target_os = "linux")]
    #[test]
    #[allow(unsafe_code)]
    fn populating_maps_the_pages_and_changes_no_byte() {
        fn faults() -> i64 {
            // SAFETY: getrusage fills the struct it is given.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            assert_eq!(
                unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) },
                0
            );
            usage.ru_minflt
        }
        let touch = |v: &mut Vec<u8>| {
            let before = faults();
            for page in v.chunks_mut(4096) {
                page[0] = std::hint::black_box(1);
            }
            faults() - before
        };
        let mut written: Vec<u8> = (0..3 << 14).map(|i| (i * 7 % 251) as u8).collect();
        let copy = written.clone();
        populate_writable(&mut written);
        assert_eq!(written, copy);
        let mut small = [1u8; 100];
        assert!(!populate_writable(&mut small[1..]));
        let mut plain = vec![0u8; 40 << 20];
        let unmapped = touch(&mut plain);
        drop(plain);
        if unmapped < 5000 {
            // More than a page a fault (transparent huge pages always on): no page faults to
            // count, and nothing this test can tell apart.
            return;
        }
        let mut mapped = vec![0u8; 40 << 20];
        if !populate_writable(&mut mapped) {
            // Linux before 5.14: zeroed() writes the pages instead.
            return;
        }
        assert!(mapped.iter().all(|&b| b == 0));
        let faulted = touch(&mut mapped);
        assert!(faulted <= 2, "{unmapped} faults, then {faulted}");
    }

    /// A canvas's planes are kept and become the next plane of their size, cleared; a sparse
    /// canvas's are not kept, nor are tiny or huge bytes; no more than SPARES_KEPT are. (On a
    /// pool of the test's own: the process's is shared with the tests running beside it.)
    #[test]
    fn planes_are_kept_for_the_next_canvas_cleared() {
        let colours = [[5, 203, 99, 255]];
        let (w, h) = (67, 71);
        let spares = Spares::new();
        let kept = |at: *const u8| spares.held().iter().any(|b| b.as_ptr() == at);
        let mut c = Canvas::new(w, h, &colours, false);
        let clip = c.full_clip();
        c.capsule(0, clip, (3.0, 3.0), (60.0, 60.0), 2.0);
        let at = c.planes[0].cov.as_ptr();
        assert!(c.planes[0].cov.iter().any(|&v| v > 0));
        c.give_planes_to(&spares);
        assert!(kept(at), "the plane was not kept");
        assert!(
            spares.take((w * h + 1) as usize).is_none(),
            "a spare of another size"
        );
        let reused = spares.take((w * h) as usize).expect("the kept plane");
        assert_eq!(reused.as_ptr(), at, "the kept plane was not the one taken");
        assert_eq!(reused.len(), (w * h) as usize);
        assert!(
            reused.iter().all(|&v| v == 0),
            "the reused plane is not cleared"
        );
        assert!(spares.held().is_empty());
        // A sparse canvas's plane goes back to the system.
        let mut e = Canvas::new(w, h, &colours, false).edges_only();
        e.capsule(0, clip, (3.0, 3.0), (9.0, 3.0), 1.0);
        e.give_planes_to(&spares);
        assert!(spares.held().is_empty());
        // Neither tiny nor huge bytes are kept; the spares stay few.
        spares.keep(vec![1u8; 100]);
        spares.keep(vec![0u8; SPARE_MAX + 1]);
        assert!(spares.held().is_empty());
        for _ in 0..3 * SPARES_KEPT {
            spares.keep(vec![0u8; 4099]);
        }
        assert_eq!(spares.held().len(), SPARES_KEPT);
    }

    /// Scratch bytes and room take a spare of that capacity whatever its length (the
    /// compressed rows come back shorter than their room): the bytes filled out to their size,
    /// the room emptied, neither written beyond what was held; without a spare, new ones.
    #[test]
    fn scratch_takes_a_spare_of_its_capacity_whatever_its_length() {
        let n = 8192;
        let spares = Spares::new();
        let short = |fill: u8| {
            let mut v = Vec::with_capacity(n);
            v.resize(100, fill);
            v
        };
        let given = short(7);
        let at = given.as_ptr();
        spares.keep(given);
        let room = spares.room(n);
        assert_eq!(room.as_ptr(), at, "the spare was not taken");
        assert!(
            room.is_empty() && room.capacity() == n,
            "{} of {}",
            room.len(),
            room.capacity()
        );
        spares.keep(room);
        let mut kept = spares.held().pop().expect("kept again");
        kept.resize(100, 7);
        spares.keep(kept);
        let bytes = spares.scratch(n);
        assert_eq!(bytes.as_ptr(), at, "the spare was not taken");
        assert_eq!(bytes.len(), n);
        assert!(
            bytes[..100].iter().all(|&b| b == 7),
            "what was held was written over"
        );
        assert!(
            bytes[100..].iter().all(|&b| b == 0),
            "filled out with other than zeros"
        );
        assert!(spares.held().is_empty());
        let fresh = spares.room(n);
        assert!(fresh.is_empty() && fresh.capacity() >= n);
        assert_eq!(spares.scratch(n), vec![0; n]);
    }

    #[test]
    fn mul255_is_exact_at_ends() {
        assert_eq!(mul255(255, 255), 255);
        assert_eq!(mul255(0, 255), 0);
        assert_eq!(mul255(128, 255), 128);
    }
}
