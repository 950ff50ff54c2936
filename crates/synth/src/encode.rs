//! Turning the world into tiles: projection to tile units, simplification, clipping at the
//! tile square, and the layers and properties of each tileset.

use std::collections::BTreeMap;

use geo_types::{Coord, Geometry, LineString, MultiLineString, Point};
use mlytiles_mvt::{TileBuilder, Value};
use mlytiles_tile::{TileId, lon_lat_to_tile_fraction};

use crate::world::{MapFeature, Sequence};
use crate::{EXTENT, Result};

/// Global coordinates at z14 in tile units: `x / 4096` is the fractional z14 column.
type G = (f64, f64);

/// Coordinates of a point at z14, in units of 1/4096 of a z14 tile.
fn global(lon: f64, lat: f64) -> G {
    let (fx, fy) = lon_lat_to_tile_fraction(lon, lat, 14);
    (fx * f64::from(EXTENT), fy * f64::from(EXTENT))
}

/// Ids are ints in real tiles (`int_value`); one above `i64::MAX` could only be a `uint`.
fn int(v: u64) -> Value<'static> {
    i64::try_from(v).map_or(Value::UInt(v), Value::Int)
}

fn tile(z: u8, x: f64, y: f64) -> Result<TileId> {
    Ok(TileId::new(z, x as u32, y as u32)?)
}

/// Which positions of the world a coverage tileset shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Positions {
    Public,
    Computed,
}

/// Douglas-Peucker with an explicit stack: keeps the end points and every vertex farther
/// than `tol` from the chord of the span it lies in.
pub(crate) fn simplify(points: &[G], tol: f64) -> Vec<G> {
    if points.len() <= 2 {
        return points.to_vec();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    let mut stack = vec![(0, points.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (pa, pb) = (points[a], points[b]);
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let len = dx.hypot(dy);
        let mut worst = (0.0, 0);
        for (i, p) in points.iter().enumerate().take(b).skip(a + 1) {
            let d = if len == 0.0 {
                (p.0 - pa.0).hypot(p.1 - pa.1)
            } else {
                ((p.0 - pa.0) * dy - (p.1 - pa.1) * dx).abs() / len
            };
            if d > worst.0 {
                worst = (d, i);
            }
        }
        if worst.0 > tol {
            keep[worst.1] = true;
            stack.push((a, worst.1));
            stack.push((worst.1, b));
        }
    }
    points
        .iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

/// Liang-Barsky: the parameter interval of segment `a -> b` inside `[0, size]^2`.
fn clip_segment(a: G, b: G, size: f64) -> Option<(f64, f64)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, a.0), (dx, size - a.0), (-dy, a.1), (dy, size - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 <= t1).then_some((t0, t1))
}

/// Clips a line (tile-local coordinates) exactly at the tile square `0..=size`: one part per
/// stretch inside, so a line that leaves and comes back gives several parts. Parts are
/// rounded to integers; parts with fewer than 2 distinct vertices are dropped.
pub(crate) fn clip_line(points: &[G], size: f64) -> Vec<Vec<Coord<i32>>> {
    let mut parts: Vec<Vec<Coord<i32>>> = Vec::new();
    let mut current: Vec<Coord<i32>> = Vec::new();
    let round = |p: G| Coord {
        x: p.0.round().clamp(0.0, size) as i32,
        y: p.1.round().clamp(0.0, size) as i32,
    };
    let mut flush = |current: &mut Vec<Coord<i32>>| {
        current.dedup();
        if current.len() >= 2 {
            parts.push(std::mem::take(current));
        } else {
            current.clear();
        }
    };
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let Some((t0, t1)) = clip_segment(a, b, size) else {
            flush(&mut current);
            continue;
        };
        let at = |t: f64| (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
        if t0 > 0.0 || current.is_empty() {
            flush(&mut current);
            current.push(round(at(t0)));
        }
        current.push(round(at(t1)));
        if t1 < 1.0 {
            flush(&mut current);
        }
    }
    flush(&mut current);
    parts
}

fn line_geometry(mut parts: Vec<Vec<Coord<i32>>>) -> Geometry<i32> {
    if parts.len() == 1 {
        Geometry::LineString(LineString(parts.remove(0)))
    } else {
        Geometry::MultiLineString(MultiLineString(parts.into_iter().map(LineString).collect()))
    }
}

/// The lines of one sequence at one zoom, clipped into each tile they cross.
fn sequence_tiles(line: &[G], z: u8) -> Result<Vec<(TileId, Geometry<i32>)>> {
    let scale = f64::from(1u32 << (14 - z));
    let size = f64::from(EXTENT);
    let mut pts: Vec<G> = line.iter().map(|p| (p.0 / scale, p.1 / scale)).collect();
    if z < 14 {
        // One tile unit at this zoom: what the tile can show anyway.
        pts = simplify(&pts, 1.0);
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &pts {
        x0 = x0.min(p.0);
        y0 = y0.min(p.1);
        x1 = x1.max(p.0);
        y1 = y1.max(p.1);
    }
    let mut out = Vec::new();
    let (tx0, ty0) = ((x0 / size).floor() as u32, (y0 / size).floor() as u32);
    let (tx1, ty1) = ((x1 / size).floor() as u32, (y1 / size).floor() as u32);
    let mut local = Vec::with_capacity(pts.len());
    for ty in ty0..=ty1 {
        for tx in tx0..=tx1 {
            let (ox, oy) = (f64::from(tx) * size, f64::from(ty) * size);
            local.clear();
            local.extend(pts.iter().map(|p| (p.0 - ox, p.1 - oy)));
            let parts = clip_line(&local, size);
            if !parts.is_empty() {
                out.push((tile(z, f64::from(tx), f64::from(ty))?, line_geometry(parts)));
            }
        }
    }
    Ok(out)
}

/// A point's tile at zoom `z` and its rounded position inside.
fn point_in_tile(g: G, z: u8) -> Result<(TileId, Geometry<i32>)> {
    let scale = f64::from(1u32 << (14 - z));
    let size = f64::from(EXTENT);
    let (x, y) = (g.0 / scale, g.1 / scale);
    let (tx, ty) = ((x / size).floor(), (y / size).floor());
    let t = tile(z, tx, ty)?;
    let local = Point::new(
        (x - tx * size).round() as i32,
        (y - ty * size).round() as i32,
    );
    Ok((t, Geometry::Point(local)))
}

/// What goes into one coverage tile before it is written.
#[derive(Default)]
struct Pending {
    /// `(sequence index, geometry)` of the `sequence` layer.
    lines: Vec<(usize, Geometry<i32>)>,
    /// `(sequence index, image index, geometry)` of the `image` or `overview` layer.
    points: Vec<(usize, usize, Geometry<i32>)>,
}

fn sequence_props(s: &Sequence) -> Vec<(&'static str, Value<'_>)> {
    let mut props = vec![
        ("id", Value::String(&s.id)),
        ("image_id", int(s.images[0].id)),
        ("captured_at", Value::Int(s.captured_at())),
        ("creator_id", int(s.creator_id)),
    ];
    if let Some(org) = s.organization_id {
        props.push(("organization_id", int(org)));
    }
    props.push(("is_pano", Value::Bool(s.is_pano)));
    props
}

fn image_props(s: &Sequence, i: usize, which: Positions) -> Vec<(&'static str, Value<'_>)> {
    let image = &s.images[i];
    let compass = match which {
        Positions::Public => image.compass_angle,
        Positions::Computed => image.computed_compass_angle,
    };
    let mut props = vec![
        ("id", int(image.id)),
        ("captured_at", Value::Int(image.captured_at)),
        ("compass_angle", Value::Double(compass)),
        ("creator_id", int(s.creator_id)),
    ];
    if let Some(org) = s.organization_id {
        props.push(("organization_id", int(org)));
    }
    props.push(("sequence_id", Value::String(&s.id)));
    props.push(("is_pano", Value::Bool(s.is_pano)));
    props
}

fn overview_props(s: &Sequence, i: usize) -> Vec<(&'static str, Value<'_>)> {
    let image = &s.images[i];
    vec![
        ("captured_at", Value::Int(image.captured_at)),
        ("creator_id", int(s.creator_id)),
        ("id", int(image.id)),
        ("sequence_id", Value::String(&s.id)),
        ("is_pano", Value::Bool(s.is_pano)),
    ]
}

/// A coverage tileset (`mly1_public` or `mly1_computed_public`) from `sequences`.
pub(crate) fn coverage(
    sequences: &[Sequence],
    which: Positions,
    overview_cell_zoom: u8,
) -> Result<BTreeMap<TileId, Vec<u8>>> {
    let lines: Vec<Vec<G>> = sequences
        .iter()
        .map(|s| {
            s.images
                .iter()
                .map(|i| match which {
                    Positions::Public => global(i.lon, i.lat),
                    Positions::Computed => global(i.computed_lon, i.computed_lat),
                })
                .collect()
        })
        .collect();
    let mut pending: BTreeMap<TileId, Pending> = BTreeMap::new();

    // z14: images and exactly clipped lines; z6-13: simplified lines.
    for z in 6..=14 {
        for (k, line) in lines.iter().enumerate() {
            if !sequences[k].listed {
                continue;
            }
            for (t, geometry) in sequence_tiles(line, z)? {
                pending.entry(t).or_default().lines.push((k, geometry));
            }
        }
    }
    for (k, line) in lines.iter().enumerate() {
        for (i, &g) in line.iter().enumerate() {
            let (t, geometry) = point_in_tile(g, 14)?;
            pending.entry(t).or_default().points.push((k, i, geometry));
        }
    }

    // z0-5: one point per overview cell holding any image, at the cell's centre, with the
    // properties of the first image found in it.
    let mut cells: BTreeMap<(u32, u32), (usize, usize)> = BTreeMap::new();
    let cell_units = f64::from(EXTENT) * f64::from(1u32 << (14 - overview_cell_zoom));
    for (k, line) in lines.iter().enumerate() {
        for (i, g) in line.iter().enumerate() {
            let cell = ((g.0 / cell_units) as u32, (g.1 / cell_units) as u32);
            cells.entry(cell).or_insert((k, i));
        }
    }
    for (&(cx, cy), &(k, i)) in &cells {
        let centre = (
            (f64::from(cx) + 0.5) * cell_units,
            (f64::from(cy) + 0.5) * cell_units,
        );
        for z in 0..=5 {
            let (t, geometry) = point_in_tile(centre, z)?;
            pending.entry(t).or_default().points.push((k, i, geometry));
        }
    }

    let mut tiles = BTreeMap::new();
    for (t, p) in pending {
        let mut builder = TileBuilder::new();
        // Feature ids are a tile-local counter across layers, as in real tiles.
        let mut next_id = 0u64;
        // Real tiles do not keep one layer order: put `image` first in some tiles.
        let images_first = t.z() == 14 && (t.x() + t.y()) % 3 == 0;
        if images_first {
            write_points(&mut builder, &p, t, sequences, which, &mut next_id)?;
            write_lines(&mut builder, &p, sequences, &mut next_id)?;
        } else {
            write_lines(&mut builder, &p, sequences, &mut next_id)?;
            write_points(&mut builder, &p, t, sequences, which, &mut next_id)?;
        }
        if !builder.is_empty() {
            tiles.insert(t, builder.into_bytes());
        }
    }
    Ok(tiles)
}

fn write_lines(
    builder: &mut TileBuilder,
    p: &Pending,
    sequences: &[Sequence],
    next_id: &mut u64,
) -> Result<()> {
    for (k, geometry) in &p.lines {
        builder.layer("sequence").add_feature(
            Some(*next_id),
            geometry,
            sequence_props(&sequences[*k]),
        )?;
        *next_id += 1;
    }
    Ok(())
}

fn write_points(
    builder: &mut TileBuilder,
    p: &Pending,
    t: TileId,
    sequences: &[Sequence],
    which: Positions,
    next_id: &mut u64,
) -> Result<()> {
    for (k, i, geometry) in &p.points {
        let s = &sequences[*k];
        if t.z() <= 5 {
            builder.layer("overview").add_feature(
                Some(*next_id),
                geometry,
                overview_props(s, *i),
            )?;
        } else {
            builder.layer("image").add_feature(
                Some(*next_id),
                geometry,
                image_props(s, *i, which),
            )?;
        }
        *next_id += 1;
    }
    Ok(())
}

/// A map-feature tileset: one z14 layer named `layer`.
pub(crate) fn map_features(
    features: &[MapFeature],
    layer: &str,
) -> Result<BTreeMap<TileId, Vec<u8>>> {
    let mut pending: BTreeMap<TileId, Vec<(usize, Geometry<i32>)>> = BTreeMap::new();
    for (k, f) in features.iter().enumerate() {
        let (t, geometry) = point_in_tile(global(f.lon, f.lat), 14)?;
        pending.entry(t).or_default().push((k, geometry));
    }
    let mut tiles = BTreeMap::new();
    for (t, items) in pending {
        let mut builder = TileBuilder::new();
        for (n, (k, geometry)) in items.iter().enumerate() {
            let f = &features[*k];
            builder.layer(layer).add_feature(
                Some(n as u64),
                geometry,
                [
                    ("id", int(f.id)),
                    ("value", Value::String(f.value)),
                    ("first_seen_at", Value::Int(f.first_seen_at)),
                    ("last_seen_at", Value::Int(f.last_seen_at)),
                ],
            )?;
        }
        tiles.insert(t, builder.into_bytes());
    }
    Ok(tiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_leaving_and_reentering_gives_two_parts() {
        // In, out through the east edge, back in.
        let line = [
            (100.0, 100.0),
            (5000.0, 100.0),
            (5000.0, 300.0),
            (100.0, 300.0),
        ];
        let parts = clip_line(&line, 4096.0);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            vec![Coord { x: 100, y: 100 }, Coord { x: 4096, y: 100 }]
        );
        assert_eq!(
            parts[1],
            vec![Coord { x: 4096, y: 300 }, Coord { x: 100, y: 300 }]
        );
    }

    #[test]
    fn clip_crossing_a_corner_and_outside() {
        assert!(clip_line(&[(-10.0, -10.0), (-5.0, 5000.0)], 4096.0).is_empty());
        let parts = clip_line(&[(-100.0, 2048.0), (4196.0, 2048.0)], 4096.0);
        assert_eq!(
            parts,
            vec![vec![Coord { x: 0, y: 2048 }, Coord { x: 4096, y: 2048 }]]
        );
    }

    #[test]
    fn simplify_drops_collinear_points_only() {
        let line = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (2.0, 5.0), (2.0, 9.0)];
        assert_eq!(
            simplify(&line, 0.5),
            vec![(0.0, 0.0), (2.0, 0.0), (2.0, 9.0)]
        );
    }
}
