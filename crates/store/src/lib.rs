//! mlytiles-store (in progress).
