//! Shared helpers: the real tiles, and a naive filter that reads properties by name.

#![allow(dead_code)]

use std::path::PathBuf;

use mlytiles_filter::chrono::{DateTime, Utc};
use mlytiles_filter::geo::{Geometry, MultiLineString};
use mlytiles_filter::{Filter, ImageType, LayerKind, normalize_angle};
use mlytiles_mvt::Feature;
use mlytiles_tile::TileTransform;

/// The real Mapillary tiles in the project's `fixtures/mapillary/`. A missing folder fails the
/// test, naming the path.
pub fn mapillary_fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mapillary");
    assert!(
        dir.is_dir(),
        "{} is missing: it is part of the repository (see fixtures/README.md)",
        dir.display()
    );
    dir
}

/// A real tile: (file name, tile id if known, bytes).
pub type RealTile = (&'static str, Option<mlytiles_tile::TileId>, Vec<u8>);

/// Every real tile: (file name, tile id if known, bytes).
pub fn real_tiles() -> Vec<RealTile> {
    let dir = mapillary_fixtures();
    type Entry = (&'static str, Option<(u8, u32, u32)>);
    let tiles: [Entry; 5] = [
        ("josm_mly1_public_14_3251_6257.mvt", Some((14, 3251, 6257))),
        ("josm_mly1_public_14_3251_6258.mvt", Some((14, 3251, 6258))),
        ("josm_mly1_public_14_3252_6258.mvt", Some((14, 3252, 6258))),
        (
            "surfaceai_mly1_public_14_8738_5555.mvt",
            Some((14, 8738, 5555)),
        ),
        ("vespucci_mly1_public_14_unknown.mvt", None),
    ];
    tiles
        .into_iter()
        .map(|(name, id)| {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let id = id.map(|(z, x, y)| mlytiles_tile::TileId::new(z, x, y).unwrap());
            (name, id, bytes)
        })
        .collect()
}

fn get<'a>(f: &Feature<'_, 'a>, key: &str) -> Option<mlytiles_mvt::Value<'a>> {
    f.get(key).unwrap()
}

fn known_ms(f: &Feature<'_, '_>, key: &str) -> Option<i64> {
    get(f, key).and_then(|v| v.as_i64()).filter(|&t| t != 0)
}

fn string<'a>(f: &Feature<'_, 'a>, key: &str) -> Option<&'a str> {
    get(f, key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// The filter's semantics written plainly: properties read by name, geometry decoded for
/// every feature.
pub fn naive_matches(
    filter: &Filter,
    kind: LayerKind,
    f: &Feature<'_, '_>,
    transform: Option<&TileTransform>,
    now: DateTime<Utc>,
) -> bool {
    if let Some(r) = &filter.captured {
        let (lo, hi) = r.resolve(now).unwrap();
        if !known_ms(f, "captured_at").is_some_and(|t| (lo..=hi).contains(&t)) {
            return false;
        }
    }
    let pano = get(f, "is_pano").and_then(|v| v.as_bool());
    match filter.image_type {
        ImageType::All => {}
        ImageType::Pano if pano != Some(true) => return false,
        ImageType::Flat if pano != Some(false) => return false,
        _ => {}
    }
    if let Some(orgs) = &filter.organizations {
        let ok = match get(f, "organization_id").and_then(|v| v.as_u64()) {
            Some(id) => orgs.ids.contains(&id),
            None => orgs.none,
        };
        if !ok {
            return false;
        }
    }
    if !filter.creators.is_empty() {
        let c = get(f, "creator_id").and_then(|v| v.as_u64());
        if !c.is_some_and(|c| filter.creators.contains(&c)) {
            return false;
        }
    }
    if !filter.sequences.is_empty() {
        let key = if kind == LayerKind::Sequence {
            "id"
        } else {
            "sequence_id"
        };
        if !string(f, key).is_some_and(|s| filter.sequences.iter().any(|q| q == s)) {
            return false;
        }
    }
    let compass = get(f, "compass_angle")
        .and_then(|v| v.as_f64())
        .filter(|a| a.is_finite())
        .map(normalize_angle);
    if let Some(r) = &filter.compass
        && !compass.is_some_and(|a| r.contains(a))
    {
        return false;
    }
    if !filter.classes.is_empty() {
        let c = string(f, "value");
        if !c.is_some_and(|c| filter.classes.iter().any(|p| p.matches(c))) {
            return false;
        }
    }
    if let Some(r) = &filter.seen {
        let (lo, hi) = r.resolve(now).unwrap();
        match (known_ms(f, "first_seen_at"), known_ms(f, "last_seen_at")) {
            (Some(first), Some(last)) if first <= hi && last >= lo => {}
            _ => return false,
        }
    }
    if filter.area.is_some() || filter.looking_at.is_some() {
        let tr = transform.expect("a spatial filter needs the tile");
        let Ok(g) = f.to_geometry_with(|x, y| {
            let (lon, lat) = tr.to_lon_lat(f64::from(x), f64::from(y));
            mlytiles_filter::geo::Coord { x: lon, y: lat }
        }) else {
            return false;
        };
        let point_ok = |lon: f64, lat: f64| {
            filter
                .area
                .as_ref()
                .is_none_or(|a| a.contains_point(lon, lat))
                && filter
                    .looking_at
                    .is_none_or(|l| l.sees(lon, lat, compass, pano))
        };
        return match g {
            Geometry::Point(p) => point_ok(p.x(), p.y()),
            Geometry::MultiPoint(mp) => mp.0.iter().any(|p| point_ok(p.x(), p.y())),
            Geometry::LineString(l) => filter
                .area
                .as_ref()
                .is_none_or(|a| a.intersects_lines(&MultiLineString(vec![l]))),
            Geometry::MultiLineString(m) => {
                filter.area.as_ref().is_none_or(|a| a.intersects_lines(&m))
            }
            _ => false,
        };
    }
    true
}
