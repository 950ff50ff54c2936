//! Geometry decoding (spec 4.3), in three layers: `ints.rs` reads the integers out of the bytes
//! (the byte tricks), `commands.rs` runs the spec's command state machine into a
//! [`GeometrySink`](crate::GeometrySink), and `geo.rs` assembles `geo_types` values.

mod commands;
mod geo;
mod ints;

pub(crate) use commands::decode_commands;
pub use commands::{Command, Commands, GeometryInts};
pub(crate) use ints::SliceInts;
