//! TEMPORARY until mlytiles-render lands: PNG tiles.
use std::sync::Arc;

use mlytiles_filter::Filter;
use mlytiles_tile::TileId;

use crate::app::App;
use crate::memcache::Entry;
use crate::route::{Reject, quote};

pub(crate) const NAMES: &[&str] = &["mapillary", "classic", "age", "pano", "density"];

#[derive(Debug, Clone, Copy)]
pub(crate) struct Style(usize);
impl std::fmt::Display for Style {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(NAMES[self.0])
    }
}

pub(crate) fn parse_style(s: &str) -> Result<Style, Reject> {
    NAMES
        .iter()
        .position(|n| *n == s)
        .map(Style)
        .ok_or_else(|| Reject::not_found(format!("unknown style {}", quote(s))))
}

pub(crate) async fn render(
    _app: &Arc<App>,
    _style: Style,
    _tile: TileId,
    _scale: u8,
    _filter: Option<Filter>,
) -> Result<Arc<Entry>, Reject> {
    Err(Reject::internal("not yet"))
}
