//! Tile ordering: the Hilbert curve, which keeps consecutive tiles close together.

/// The distance of `(x, y)` along the Hilbert curve filling the `2^z` x `2^z` grid.
///
/// Sorting a zoom's tiles by it makes every contiguous run of the list a compact area (used to
/// shard a pyramid into parts that write disjoint, compact sets of tiles).
///
/// ```
/// use mlytiles_tile::hilbert_order;
///
/// // At zoom 1 the curve visits (0,0), (0,1), (1,1), (1,0).
/// let order: Vec<u64> = [(0, 0), (0, 1), (1, 1), (1, 0)]
///     .iter()
///     .map(|&(x, y)| hilbert_order(1, x, y))
///     .collect();
/// assert_eq!(order, [0, 1, 2, 3]);
/// ```
pub fn hilbert_order(z: u8, x: u32, y: u32) -> u64 {
    let n: u64 = 1 << z;
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    let mut d = 0u64;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        // Rotate the quadrant.
        if ry == 0 {
            if rx == 1 {
                x = s.wrapping_sub(1).wrapping_sub(x) & (n - 1);
                y = s.wrapping_sub(1).wrapping_sub(y) & (n - 1);
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hilbert_visits_every_cell_once_and_neighbours_are_adjacent() {
        let z = 3;
        let mut cells: Vec<(u64, u32, u32)> = (0..8)
            .flat_map(|x| (0..8).map(move |y| (hilbert_order(z, x, y), x, y)))
            .collect();
        cells.sort();
        for (i, c) in cells.iter().enumerate() {
            assert_eq!(c.0, i as u64);
        }
        for w in cells.windows(2) {
            let d = w[0].1.abs_diff(w[1].1) + w[0].2.abs_diff(w[1].2);
            assert_eq!(d, 1, "{w:?}");
        }
    }
}
