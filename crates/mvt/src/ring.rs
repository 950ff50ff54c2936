//! The area of a ring (spec 4.3.4.4), the one definition the reader and the writer share: twice
//! the signed area by the surveyor's formula, exact in integers. Positive means clockwise with y
//! down, the winding of an exterior ring.

use crate::geom_type::RingType;

/// Twice the signed area of a ring (the surveyor's formula), exactly: i64 products summed in
/// i128, so no coordinate can overflow or round it. Positive means clockwise with y down, the
/// exterior winding of spec 4.3.4.4. `ring` does not repeat its first point.
pub fn ring_area2(ring: &[(i32, i32)]) -> i128 {
    area2(ring)
}

/// [`ring_area2`] of any points that convert to `(x, y)`, such as `geo_types::Coord<i32>`.
pub(crate) fn area2<P: Copy + Into<(i32, i32)>>(ring: &[P]) -> i128 {
    let Some((&first, rest)) = ring.split_first() else {
        return 0;
    };
    let (x, y) = first.into();
    let mut area = RingArea::start(x, y);
    for &p in rest {
        let (x, y) = p.into();
        area.push(x, y);
    }
    area.close()
}

/// `x0 * y1 - x1 * y0`, exactly: one term of the surveyor's formula.
#[inline]
pub(crate) fn cross(x0: i32, y0: i32, x1: i32, y1: i32) -> i128 {
    i128::from(i64::from(x0) * i64::from(y1)) - i128::from(i64::from(x1) * i64::from(y0))
}

/// The surveyor's formula one vertex at a time, for rings that stream past (a decoder, a
/// writer's checks) rather than sit in a slice.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RingArea {
    start: (i32, i32),
    at: (i32, i32),
    sum: i128,
}

impl RingArea {
    /// A ring starting at `(x, y)`.
    #[inline]
    pub(crate) fn start(x: i32, y: i32) -> Self {
        RingArea {
            start: (x, y),
            at: (x, y),
            sum: 0,
        }
    }

    /// The ring goes on to `(x, y)`.
    #[inline]
    pub(crate) fn push(&mut self, x: i32, y: i32) {
        self.sum += cross(self.at.0, self.at.1, x, y);
        self.at = (x, y);
    }

    /// Whether the last vertex is the first one again.
    pub(crate) fn ends_at_start(&self) -> bool {
        self.at == self.start
    }

    /// Twice the signed area once the ring is closed back to its first vertex.
    #[inline]
    pub(crate) fn close(&self) -> i128 {
        self.sum + cross(self.at.0, self.at.1, self.start.0, self.start.1)
    }
}

/// Gives each ring of a polygon geometry its [`RingType`], ring after ring, by the rule of
/// spec 4.3.4.4 (and, in version 1 layers, the first ring's sign): the one place that rule
/// lives, used by the decoder's `ring_end` and by `to_geometry`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RingClassifier {
    /// The sign of an exterior ring's area; 0 until the first ring of a version 1 layer.
    exterior_sign: i8,
}

impl RingClassifier {
    /// A classifier for one geometry of a layer of `version`.
    #[inline]
    pub(crate) fn new(version: u32) -> Self {
        RingClassifier {
            exterior_sign: if version == 1 { 0 } else { 1 },
        }
    }

    /// The type of the next ring, given twice its signed area.
    #[inline]
    pub(crate) fn classify(&mut self, area2: i128) -> RingType {
        let sign = area2.signum() as i8;
        if sign == 0 {
            return RingType::ZeroArea; // encloses nothing
        }
        if self.exterior_sign == 0 {
            self.exterior_sign = sign; // version 1: the first ring decides
        }
        if sign == self.exterior_sign {
            RingType::Outer
        } else {
            RingType::Inner
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_area_sign_follows_the_spec_winding() {
        // spec 4.3.5.5: the example polygon (3,6) (8,12) (20,34) is an exterior ring.
        assert!(ring_area2(&[(3, 6), (8, 12), (20, 34)]) > 0);
        assert!(ring_area2(&[(20, 34), (8, 12), (3, 6)]) < 0);
        assert_eq!(ring_area2(&[(0, 0), (5, 5), (10, 10)]), 0);
        // Extreme coordinates do not overflow.
        let big = [
            (i32::MIN, i32::MIN),
            (i32::MAX, i32::MIN),
            (i32::MAX, i32::MAX),
        ];
        assert!(ring_area2(&big) > 0);
    }
    #[test]
    fn streamed_area_equals_the_slice_area() {
        let ring = [(3, 6), (8, 12), (20, 34), (-5, 40)];
        let mut area = RingArea::start(3, 6);
        for &(x, y) in &ring[1..] {
            area.push(x, y);
        }
        assert_eq!(area.close(), ring_area2(&ring));
        assert_eq!(ring_area2(&[]), 0);
    }
}
