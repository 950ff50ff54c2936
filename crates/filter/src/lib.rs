//! mlytiles-filter (in progress).
