//! The lines that say what a render drew.

use std::io::Write;

use anyhow::Result;
use mlytiles_render::RenderStats;

pub(super) fn print_stats(s: &RenderStats) -> Result<()> {
    out!(
        "  {} sequence lines, {} image points, {} map-feature markers drawn; {} features filtered out",
        s.lines,
        s.points,
        s.markers,
        s.features_filtered
    );
    if s.tiles_missing > 0 || s.features_skipped > 0 {
        out!(
            "  {} tiles missing from the store (drawn transparent), {} features skipped as unreadable",
            s.tiles_missing,
            s.features_skipped
        );
    }
    if !s.unreadable.is_empty() {
        out!(
            "  stored tiles that cannot be read, drawn as missing: {} (--strict stops at them; \
             `mlytiles cache verify` says why)",
            s.unreadable
        );
    }
    Ok(())
}
