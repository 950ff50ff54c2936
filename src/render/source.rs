//! What a render reads: a store or a cache, named for messages; and the checks that it
//! holds the area asked for.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use mlytiles_render::Sources;
use mlytiles_store::{Cache, TileStatus};
use mlytiles_tile::{BBox, TileId};

use crate::cache_home::{ReadCache, SAMPLE_PLACE};

use super::Args;

/// What a render reads, and how messages name it.
pub(super) struct Source {
    pub(super) sources: Sources,
    /// For messages: the store file or folder, or the bundled sample.
    pub(super) name: String,
    /// What to tell a user whose area is missing from it.
    pub(super) fill_hint: String,
    /// Keeps an unpacked sample alive while rendering.
    _cache: Option<ReadCache>,
}

pub(super) fn open_source(args: &Args) -> Result<Source> {
    if let Some(path) = &args.store {
        if !path.exists() {
            bail!("{}: no such file or folder (--store)", path.display());
        }
        return Ok(Source {
            sources: Sources::from_store_path(path)?,
            name: path.display().to_string(),
            fill_hint: "render a store that holds the area (`mlytiles cache info` lists what a \
                        cache holds)"
                .to_string(),
            _cache: None,
        });
    }
    let cache = ReadCache::open(args.cache.as_deref())?;
    let store = Cache::open(&cache.dir).with_context(|| cache.describe())?;
    let sources = Sources::from_cache(&store, &args.tileset).map_err(|e| match e {
        mlytiles_render::Error::InvalidOption(_) => anyhow!(
            "{} has no {} store: fetch it with `mlytiles fetch --tileset {} --bbox W,S,E,N`",
            cache.describe(),
            args.tileset,
            args.tileset
        ),
        e => anyhow::Error::new(e).context(cache.describe()),
    })?;
    let name = if cache.is_sample {
        format!("{} ({})", cache.describe(), args.tileset)
    } else {
        sources_path(&cache.dir, &args.tileset)
    };
    let cache_flag = match &args.cache {
        Some(d) => format!(" --cache {}", d.display()),
        None => String::new(),
    };
    let fill_hint = if cache.is_sample {
        format!(
            "the sample covers only a small area {SAMPLE_PLACE}; fetch your area with \
             `mlytiles fetch --tileset {} --bbox W,S,E,N` (it goes into {})",
            args.tileset,
            cache.named.display()
        )
    } else {
        format!(
            "fetch the area with `mlytiles fetch{cache_flag} --tileset {} --bbox W,S,E,N`",
            args.tileset
        )
    };
    Ok(Source {
        sources,
        name,
        fill_hint,
        _cache: Some(cache),
    })
}

/// Fails, before anything is written, when the store holds none of the tiles that drawing
/// `bbox` at `zooms` reads (z15 and deeper read z14): the image would be empty. Names the
/// zooms the store does hold there, and how to fill it.
pub(super) fn check_area_held(
    source: &Source,
    bbox: BBox,
    zooms: RangeInclusive<u8>,
) -> Result<()> {
    let store = &source.sources.coverage;
    let data_zooms: BTreeSet<u8> = zooms
        .map(|z| z.min(mlytiles_render::MAX_DATA_ZOOM))
        .collect();
    let held_at = |z: u8| -> Result<usize> {
        Ok(store
            .list(z, Some(bbox))
            .with_context(|| source.name.clone())?
            .iter()
            .filter(|(_, status)| *status != TileStatus::Failed)
            .count())
    };
    for &z in &data_zooms {
        if held_at(z)? > 0 {
            return Ok(());
        }
    }
    let wanted = data_zooms
        .iter()
        .map(|z| format!("z{z}"))
        .collect::<Vec<_>>()
        .join(", ");
    // z0-5 tiles cover so much that holding one says little: only deeper zooms are named.
    let mut elsewhere = Vec::new();
    for z in 6..=mlytiles_render::MAX_DATA_ZOOM {
        if !data_zooms.contains(&z) {
            let n = held_at(z)?;
            if n > 0 {
                elsewhere.push(format!("{n} at z{z}"));
            }
        }
    }
    let area = format!(
        "{},{},{},{}",
        bbox.west(),
        bbox.south(),
        bbox.east(),
        bbox.north()
    );
    if elsewhere.is_empty() {
        bail!(
            "nothing to draw: {} holds no tile of {area} ({wanted}); {}",
            source.name,
            source.fill_hint
        );
    }
    bail!(
        "nothing to draw: {} holds no {wanted} tile of {area} (it holds {} there: choose \
         that zoom, or fetch {wanted})",
        source.name,
        elsewhere.join(", ")
    );
}

pub(super) fn sources_path(dir: &Path, tileset: &str) -> String {
    dir.join(format!("{tileset}.mbtiles")).display().to_string()
}

/// The store's `bounds` metadata (W,S,E,N).
pub(super) fn store_bounds(sources: &Sources) -> Result<BBox> {
    match mlytiles_render::store_bounds(sources) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => bail!("give --bbox W,S,E,N (the store has no bounds metadata)"),
        Err(mlytiles_render::Error::BadBounds { text, source }) => {
            bail!("the store's bounds {text:?}: {source}; give --bbox")
        }
        Err(e) => Err(e.into()),
    }
}

/// `--bbox W,S,E,N --zoom Z` of a box just inside `tile`: the fetch options that get it alone.
pub(super) fn inner_box(tile: TileId) -> String {
    let b = tile.bounds();
    let (dx, dy) = (
        (b.east() - b.west()) / 100.0,
        (b.north() - b.south()) / 100.0,
    );
    format!(
        "--bbox {:.6},{:.6},{:.6},{:.6} --zoom {}",
        b.west() + dx,
        b.south() + dy,
        b.east() - dx,
        b.north() - dy,
        tile.z()
    )
}
