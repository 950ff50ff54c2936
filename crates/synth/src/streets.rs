//! The street network the sample's sequences drive along: the `sequence` lines of three real
//! Mapillary z14 tiles of Grand Junction, Colorado (`fixtures/mapillary/`), snapped into a graph.
//!
//! The real tiles are 14/3251/6257, 14/3251/6258 and 14/3252/6258: three tiles of the 2x2 block
//! at 14/3251/6257, whose fourth tile (14/3252/6257) takes 14/3251/6257 mirrored east-west. The
//! block tiles the plane by reflection: the column east of it is its east column mirrored, the
//! one beyond that its west column mirrored, and so on (rows alike). Mirrored neighbours meet
//! along their common edge, so streets go on across tile edges. Any area gets streets this way;
//! the default one (14/3250-3253/6256-6259) holds the three real tiles where they are.

use std::collections::{BTreeMap, BTreeSet};

use mlytiles_mvt::Tile;
use mlytiles_mvt::geo_types::Geometry;

use crate::EXTENT;
use crate::encode::clip_line;
use crate::rng::Rng;
use crate::world::{Frame, P, Rect};

/// Column and row of the source block's north-west tile.
const BLOCK: (u32, u32) = (3251, 6257);

/// The real tiles, by (column, row) in the block.
const REAL: [((u32, u32), &[u8]); 3] = [
    (
        (0, 0),
        include_bytes!("../../../fixtures/mapillary/josm_mly1_public_14_3251_6257.mvt"),
    ),
    (
        (0, 1),
        include_bytes!("../../../fixtures/mapillary/josm_mly1_public_14_3251_6258.mvt"),
    ),
    (
        (1, 1),
        include_bytes!("../../../fixtures/mapillary/josm_mly1_public_14_3252_6258.mvt"),
    ),
];

/// Side of a snapping cell in tile units: 32 of 4096, about 15 m at 39°N. Traces of one street
/// (both directions, GPS scatter) fall into one or two cells; parallel streets, at least 60 m
/// apart in a town, do not share one.
const CELL: f64 = 32.0;
/// Cells along a tile side; cell keys run `0..=CELLS` (cell `CELLS` is the next tile's `0`).
const CELLS: i64 = EXTENT as i64 / CELL as i64;

type Key = (i64, i64);

/// One tile's graph in tile-local cells: per cell the sum of the points snapped to it and
/// their count, and the links between cells that a line goes through one after the other.
#[derive(Default)]
struct CellGraph {
    cells: BTreeMap<Key, (f64, f64, u32)>,
    links: BTreeSet<(Key, Key)>,
}

impl CellGraph {
    /// The `sequence` lines of a real tile, clipped at the tile square, walked in steps of half
    /// a cell.
    fn from_tile(bytes: &[u8]) -> CellGraph {
        let mut graph = CellGraph::default();
        let Ok(tile) = Tile::new(bytes) else {
            return graph;
        };
        let Ok(Some(layer)) = tile.layer("sequence") else {
            return graph;
        };
        let size = f64::from(EXTENT);
        for feature in layer.features().flatten() {
            let lines = match feature.to_geometry::<f64>() {
                Ok(Geometry::LineString(l)) => vec![l],
                Ok(Geometry::MultiLineString(m)) => m.0,
                _ => continue,
            };
            for line in lines {
                let points: Vec<(f64, f64)> = line.0.iter().map(|c| (c.x, c.y)).collect();
                for part in clip_line(&points, size) {
                    graph.add_line(&part);
                }
            }
        }
        graph
    }

    fn add_line(&mut self, part: &[mlytiles_mvt::geo_types::Coord<i32>]) {
        let key = |x: f64, y: f64| ((x / CELL).round() as i64, (y / CELL).round() as i64);
        let mut last: Option<Key> = None;
        for w in part.windows(2) {
            let (ax, ay) = (f64::from(w[0].x), f64::from(w[0].y));
            let (bx, by) = (f64::from(w[1].x), f64::from(w[1].y));
            let steps = ((bx - ax).hypot(by - ay) / (CELL / 2.0)).ceil().max(1.0) as usize;
            for s in 0..=steps {
                let t = s as f64 / steps as f64;
                let (x, y) = (ax + t * (bx - ax), ay + t * (by - ay));
                let k = key(x, y);
                let cell = self.cells.entry(k).or_insert((0.0, 0.0, 0));
                cell.0 += x;
                cell.1 += y;
                cell.2 += 1;
                if let Some(l) = last.filter(|&l| l != k) {
                    self.links.insert((l.min(k), l.max(k)));
                }
                last = Some(k);
            }
        }
    }
}

/// Where a tile's streets come from: its column (or row) in the source block, and whether
/// they are mirrored along that axis.
fn fold(d: i64) -> (u32, bool) {
    match d.rem_euclid(4) {
        0 => (0, false),
        1 => (1, false),
        2 => (1, true),
        _ => (0, true),
    }
}

/// The street graph in local metres.
pub(crate) struct Streets {
    /// Node positions.
    pub(crate) nodes: Vec<P>,
    /// Neighbours of each node, in ascending order.
    adjacent: Vec<Vec<usize>>,
    /// Per tile of the area (row by row), the nodes inside it.
    pub(crate) by_tile: Vec<Vec<usize>>,
    /// How busy each node's street is: the square root of the real trace points snapped to
    /// it (0 for a node no street leaves).
    weight: Vec<f64>,
    /// Running sums of `weight`, to draw a node.
    cumulative: Vec<f64>,
}

impl Streets {
    /// The streets inside `rect` (of the z14 tiles it names), in the local metres of `frame`.
    pub(crate) fn build(frame: Frame, rect: &Rect) -> Self {
        let (x0, y0, wide, high) = (rect.x0, rect.y0, rect.wide, rect.high);
        let sources: BTreeMap<(u32, u32), CellGraph> = REAL
            .iter()
            .map(|&(at, bytes)| (at, CellGraph::from_tile(bytes)))
            .collect();
        let mut cells: BTreeMap<Key, (f64, f64, u32)> = BTreeMap::new();
        let mut links: BTreeSet<(Key, Key)> = BTreeSet::new();
        let size = f64::from(EXTENT);
        for ty in y0..y0 + high {
            for tx in x0..x0 + wide {
                let (bx, mut flip_x) = fold(i64::from(tx) - i64::from(BLOCK.0));
                let (by, flip_y) = fold(i64::from(ty) - i64::from(BLOCK.1));
                let source = if (bx, by) == (1, 0) {
                    // No real tile here: the west one, mirrored so its streets go on east.
                    flip_x = !flip_x;
                    &sources[&(0, 0)]
                } else {
                    &sources[&(bx, by)]
                };
                let (ox, oy) = (i64::from(tx) * CELLS, i64::from(ty) * CELLS);
                let global = |k: Key| {
                    (
                        ox + if flip_x { CELLS - k.0 } else { k.0 },
                        oy + if flip_y { CELLS - k.1 } else { k.1 },
                    )
                };
                for (&k, &(sx, sy, n)) in &source.cells {
                    let n_f = f64::from(n);
                    let sx = if flip_x { n_f * size - sx } else { sx };
                    let sy = if flip_y { n_f * size - sy } else { sy };
                    let cell = cells.entry(global(k)).or_insert((0.0, 0.0, 0));
                    cell.0 += sx + n_f * f64::from(tx) * size;
                    cell.1 += sy + n_f * f64::from(ty) * size;
                    cell.2 += n;
                }
                for &(a, b) in &source.links {
                    let (a, b) = (global(a), global(b));
                    links.insert((a.min(b), a.max(b)));
                }
            }
        }

        let mut index: BTreeMap<Key, usize> = BTreeMap::new();
        let mut nodes = Vec::new();
        let mut weight = Vec::new();
        for (k, (sx, sy, n)) in cells {
            let n = f64::from(n);
            let (lon, lat) = z14_units_to_lon_lat(sx / n, sy / n);
            let p = frame.to_metres(lon, lat);
            if rect.contains(p) {
                index.insert(k, nodes.len());
                nodes.push(p);
                weight.push(n.sqrt());
            }
        }
        let mut adjacent = vec![Vec::new(); nodes.len()];
        for (a, b) in links {
            if let (Some(&a), Some(&b)) = (index.get(&a), index.get(&b)) {
                adjacent[a].push(b);
                adjacent[b].push(a);
            }
        }
        for (list, w) in adjacent.iter_mut().zip(&mut weight) {
            list.sort_unstable();
            if list.is_empty() {
                *w = 0.0;
            }
        }
        let cumulative = weight
            .iter()
            .scan(0.0, |sum, w| {
                *sum += w;
                Some(*sum)
            })
            .collect();
        let mut by_tile = vec![Vec::new(); (wide * high) as usize];
        for (i, p) in nodes.iter().enumerate() {
            if !adjacent[i].is_empty() {
                let col = rect.edges_x.iter().filter(|&&e| e <= p.0).count();
                let row = rect.edges_y.iter().filter(|&&e| e >= p.1).count();
                by_tile[row * wide as usize + col].push(i);
            }
        }
        Streets {
            nodes,
            adjacent,
            by_tile,
            weight,
            cumulative,
        }
    }

    /// Whether no street is inside the area.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_tile.iter().all(Vec::is_empty)
    }

    /// A random node with at least one street leaving it (the graph must not be empty),
    /// busy streets more likely.
    pub(crate) fn any_node(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let at = rng.range(0.0, total);
        let k = self.cumulative.partition_point(|&c| c <= at);
        k.min(self.nodes.len() - 1)
    }

    /// One of `nodes`, busy streets more likely.
    fn pick_busy(&self, nodes: &[usize], rng: &mut Rng) -> usize {
        let total: f64 = nodes.iter().map(|&n| self.weight[n]).sum();
        let mut at = rng.range(0.0, total);
        for &n in nodes {
            if at < self.weight[n] {
                return n;
            }
            at -= self.weight[n];
        }
        nodes[nodes.len() - 1]
    }

    fn heading(&self, from: usize, to: usize) -> f64 {
        let (a, b) = (self.nodes[from], self.nodes[to]);
        (b.1 - a.1).atan2(b.0 - a.0)
    }

    /// How many steps a drive from `from` into `next` can go on roughly straight (at most
    /// `limit`): a cross street goes on, a step across the traces of one street does not.
    fn reach(&self, from: usize, next: usize, limit: usize) -> usize {
        let heading = self.heading(from, next);
        let (mut prev, mut cur) = (from, next);
        for steps in 1..limit {
            let Some(&n) = self.adjacent[cur]
                .iter()
                .filter(|&&n| n != prev && turn(heading, self.heading(cur, n)).abs() < 0.8)
                .min_by(|&&a, &&b| {
                    let ta = turn(heading, self.heading(cur, a)).abs();
                    let tb = turn(heading, self.heading(cur, b)).abs();
                    ta.total_cmp(&tb)
                })
            else {
                return steps;
            };
            (prev, cur) = (cur, n);
        }
        limit
    }

    /// A drive of about `length` metres from `start`: straight on where it can, turning into a
    /// cross street every few hundred metres, around corners where the street turns, ending
    /// at a dead end. The path is smoothed twice over three nodes: snapped nodes wander a few
    /// metres from the street's line, GPS tracks along a street less.
    pub(crate) fn route(&self, start: usize, length: f64, rng: &mut Rng) -> Vec<P> {
        let Some(&first) = self.adjacent[start].get(rng.index(self.adjacent[start].len().max(1)))
        else {
            return Vec::new();
        };
        let mut path = vec![start, first];
        let mut dist = distance(self.nodes[start], self.nodes[first]);
        let mut next_turn = rng.range(80.0, 450.0);
        // Where the drive last turned back: the heading and the nodes not to return to
        // count from there.
        let mut turned_at = 0;
        while dist < length {
            let cur = path[path.len() - 1];
            let back = path[path.len().saturating_sub(4).max(turned_at)];
            let heading = self.heading(back, cur);
            let recent = &path[path.len().saturating_sub(10).max(turned_at)..];
            // The straightest way on, cross streets, and the gentlest bend.
            let mut straight: Option<(f64, usize)> = None;
            let mut bend: Option<(f64, usize)> = None;
            let mut turns = Vec::new();
            for &n in &self.adjacent[cur] {
                if recent.contains(&n) {
                    continue;
                }
                let angle = turn(heading, self.heading(cur, n)).abs();
                if angle < 0.9 {
                    if straight.is_none_or(|(a, _)| angle < a) {
                        straight = Some((angle, n));
                    }
                } else if angle < 2.3 {
                    if self.reach(cur, n, 4) >= 4 {
                        turns.push(n);
                    }
                    if bend.is_none_or(|(a, _)| angle < a) {
                        bend = Some((angle, n));
                    }
                }
            }
            let next = if dist >= next_turn && !turns.is_empty() {
                next_turn = dist + rng.range(80.0, 450.0);
                self.pick_busy(&turns, rng)
            } else if let Some((_, n)) = straight {
                n
            } else if !turns.is_empty() {
                self.pick_busy(&turns, rng)
            } else if let Some((_, n)) = bend {
                n
            } else if path.len() - turned_at > 3 && rng.chance(0.6) {
                // A dead end: turn round and drive back out.
                turned_at = path.len() - 1;
                path[path.len() - 2]
            } else {
                break;
            };
            dist += distance(self.nodes[cur], self.nodes[next]);
            path.push(next);
        }
        let points: Vec<P> = path.iter().map(|&i| self.nodes[i]).collect();
        smooth(&smooth(&points))
    }
}

/// Each inner point moved to the weighted mean (1, 2, 1) of itself and its neighbours.
fn smooth(points: &[P]) -> Vec<P> {
    let mut out = points.to_vec();
    for i in 1..points.len().saturating_sub(1) {
        out[i] = (
            (points[i - 1].0 + 2.0 * points[i].0 + points[i + 1].0) / 4.0,
            (points[i - 1].1 + 2.0 * points[i].1 + points[i + 1].1) / 4.0,
        );
    }
    out
}

fn distance(a: P, b: P) -> f64 {
    (b.0 - a.0).hypot(b.1 - a.1)
}

/// The signed angle from heading `a` to heading `b`, in `-pi..=pi`.
fn turn(a: f64, b: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    (b - a + PI).rem_euclid(TAU) - PI
}

/// Spherical Web Mercator, inverse: z14 tile units (4096 a tile) to lon/lat.
fn z14_units_to_lon_lat(x: f64, y: f64) -> (f64, f64) {
    let world = f64::from(EXTENT) * f64::from(1u32 << 14);
    let lon = x / world * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * y / world);
    (lon, n.sinh().atan().to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_mirrors_the_block_across_its_edges() {
        // West of the block: its west column mirrored; east: its east column mirrored, then
        // the west one mirrored, then the block again.
        assert_eq!(fold(-1), (0, true));
        assert_eq!(fold(0), (0, false));
        assert_eq!(fold(1), (1, false));
        assert_eq!(fold(2), (1, true));
        assert_eq!(fold(3), (0, true));
        assert_eq!(fold(4), (0, false));
    }

    #[test]
    fn real_tiles_give_a_street_graph() {
        for (at, bytes) in REAL {
            let g = CellGraph::from_tile(bytes);
            assert!(g.cells.len() > 500, "{at:?}: {} cells", g.cells.len());
            assert!(g.links.len() > g.cells.len() / 2, "{at:?}");
            for k in g.cells.keys() {
                assert!(
                    (0..=CELLS).contains(&k.0) && (0..=CELLS).contains(&k.1),
                    "{k:?}"
                );
            }
        }
    }

    #[test]
    fn mercator_inverse_of_a_tile_corner() {
        let (lon, lat) = z14_units_to_lon_lat(3251.0 * 4096.0, 6257.0 * 4096.0);
        let b = mlytiles_tile::TileId::new(14, 3251, 6257).unwrap().bounds();
        assert!((lon - b.west()).abs() < 1e-9 && (lat - b.north()).abs() < 1e-9);
    }

    #[test]
    fn turns_wrap_around() {
        use std::f64::consts::PI;
        assert!((turn(PI - 0.1, -PI + 0.1) - 0.2).abs() < 1e-12);
        assert!((turn(0.3, 0.1) + 0.2).abs() < 1e-12);
    }
}
