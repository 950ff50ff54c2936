//! Command integers (spec 4.3.3), the one definition the reader and the writer share: the
//! command ids and how an id and a count pack into one `uint32`.

/// spec 4.3.3.1: MoveTo.
pub(crate) const MOVE_TO: u32 = 1;
/// spec 4.3.3.2: LineTo.
pub(crate) const LINE_TO: u32 = 2;
/// spec 4.3.3.3: ClosePath.
pub(crate) const CLOSE_PATH: u32 = 7;
/// spec 4.3.3: the command count is the upper 29 bits of the command integer.
pub(crate) const MAX_COUNT: u32 = (1 << 29) - 1;

/// Added to a command integer, adds one to its count (spec 4.3.3: the count is above the
/// 3 bits of the id).
pub(crate) const COUNT_ONE: u32 = 1 << 3;

/// spec 4.3.3: `CommandInteger = (id & 0x7) | (count << 3)`.
#[inline]
pub(crate) fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

/// spec 4.3.3: a command integer's id (low 3 bits) and count (upper 29 bits).
#[inline(always)]
pub(crate) fn unpack(int: u32) -> (u32, u32) {
    (int & 7, int >> 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_integers_pack_and_unpack() {
        // spec 4.3.3: MoveTo(1) is 9, LineTo(3) is 26, ClosePath(1) is 15.
        assert_eq!(command(MOVE_TO, 1), 9);
        assert_eq!(command(LINE_TO, 3), 26);
        assert_eq!(command(CLOSE_PATH, 1), 15);
        for (id, count) in [(MOVE_TO, 1), (LINE_TO, MAX_COUNT), (CLOSE_PATH, 0)] {
            assert_eq!(unpack(command(id, count)), (id, count));
        }
    }
}
