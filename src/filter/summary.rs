//! The one-line summary `mlytiles filter` prints on stderr.

use std::collections::BTreeMap;

use mlytiles_filter::export::Counts;
use mlytiles_filter::{LayerKind, TypeReport};

/// What was read and kept, per layer.
#[derive(Default)]
pub(super) struct Summary {
    pub(super) tiles: u64,
    pub(super) layers: BTreeMap<LayerKind, Counts>,
    pub(super) report: TypeReport,
}

impl Summary {
    pub(super) fn line(&self) -> String {
        let total = self.layers.values().fold(Counts::default(), |mut a, c| {
            a += *c;
            a
        });
        let tiles = format!(
            "{} tile{}",
            self.tiles,
            if self.tiles == 1 { "" } else { "s" }
        );
        let mut line = if self.layers.len() == 1 {
            let (kind, _) = self.layers.iter().next().expect("one layer");
            format!(
                "read {} {kind} features from {tiles}, kept {}",
                total.read, total.kept
            )
        } else {
            let per = |f: fn(&Counts) -> u64| {
                self.layers
                    .iter()
                    .map(|(k, c)| format!("{k} {}", f(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut s = format!("read {} features from {tiles}", total.read);
            if !self.layers.is_empty() {
                s += &format!(" ({})", per(|c| c.read));
            }
            s += &format!(", kept {}", total.kept);
            if !self.layers.is_empty() {
                s += &format!(" ({})", per(|c| c.kept));
            }
            s
        };
        if total.skipped > 0 {
            line += &format!(
                "; skipped {} features with a recoverable error",
                total.skipped
            );
        }
        if self.report.is_empty() {
            line += "; no type mismatches";
        } else {
            let list: Vec<String> = self
                .report
                .iter()
                .map(|m| format!("{}.{}: {} {}", m.layer, m.key, m.count, m.found))
                .collect();
            line += &format!("; type mismatches: {}", list.join(", "));
        }
        line
    }
}
