//! The typed records and compiled filters on real Mapillary tiles.

mod common;

use std::collections::BTreeSet;

use common::{naive_matches, real_tiles};
use mlytiles_filter::chrono::{DateTime, TimeZone, Utc};
use mlytiles_filter::{
    Area, CompiledFilter, Filter, Found, ImageLayer, ImageType, Key, LayerKind, LookingAt,
    SequenceLayer, TypeReport, normalize_angle,
};
use mlytiles_mvt::{Layer, Tile, ValueType};
use mlytiles_tile::{TileId, TileTransform};

fn by_name_u64(f: &mlytiles_mvt::Feature<'_, '_>, key: &str) -> Option<u64> {
    f.get(key).unwrap().and_then(|v| v.as_u64())
}

fn by_name_str<'a>(f: &mlytiles_mvt::Feature<'_, 'a>, key: &str) -> Option<&'a str> {
    f.get(key)
        .unwrap()
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

fn by_name_ms(f: &mlytiles_mvt::Feature<'_, '_>, key: &str) -> i64 {
    f.get(key).unwrap().and_then(|v| v.as_i64()).unwrap_or(0)
}

#[test]
fn typed_records_agree_with_properties_read_by_name() {
    for (name, _, bytes) in real_tiles() {
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layer("image").unwrap().unwrap();
        let images = ImageLayer::new(&layer).unwrap();
        let mut report = TypeReport::new();
        let mut n = 0;
        for f in layer.features() {
            let f = f.unwrap();
            let r = images.read_reporting(&f, &mut report);
            assert_eq!(r.id, by_name_u64(&f, "id"), "{name}");
            assert_eq!(r.captured_at, by_name_ms(&f, "captured_at"), "{name}");
            assert_eq!(r.creator_id, by_name_u64(&f, "creator_id"), "{name}");
            assert_eq!(
                r.organization_id,
                by_name_u64(&f, "organization_id"),
                "{name}"
            );
            assert_eq!(r.sequence_id, by_name_str(&f, "sequence_id"), "{name}");
            assert_eq!(
                r.is_pano,
                f.get("is_pano").unwrap().and_then(|v| v.as_bool()),
                "{name}"
            );
            let compass = f.get("compass_angle").unwrap().and_then(|v| v.as_f64());
            assert_eq!(r.compass_angle, compass.map(normalize_angle), "{name}");
            if let Some(a) = r.compass_angle {
                assert!((0.0..360.0).contains(&a));
            }
            // The record's id is the property, not the tile-local protobuf id.
            if r.id.is_some() {
                assert_ne!(r.id, f.id(), "{name}");
            }
            n += 1;
        }
        assert_eq!(n, layer.feature_count());

        let layer = tile.layer("sequence").unwrap().unwrap();
        let sequences = SequenceLayer::new(&layer).unwrap();
        for f in layer.features() {
            let f = f.unwrap();
            let r = sequences.read_reporting(&f, &mut report);
            assert_eq!(r.id, by_name_str(&f, "id"), "{name}");
            assert!(r.id.is_some_and(|id| id.len() >= 20), "{name}");
            assert_eq!(r.image_id, by_name_u64(&f, "image_id"), "{name}");
            assert_eq!(r.captured_at, by_name_ms(&f, "captured_at"), "{name}");
            assert_eq!(r.creator_id, by_name_u64(&f, "creator_id"), "{name}");
            assert_eq!(
                r.organization_id,
                by_name_u64(&f, "organization_id"),
                "{name}"
            );
        }
        if name.starts_with("josm") {
            assert!(!report.is_empty(), "{name}");
        } else {
            assert!(report.is_empty(), "{name}: {report}");
        }
    }
}

#[test]
fn the_2024_tiles_carry_real_values() {
    for (name, _, bytes) in real_tiles() {
        if name.starts_with("josm") {
            continue;
        }
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layer("image").unwrap().unwrap();
        let images = ImageLayer::new(&layer).unwrap();
        let records: Vec<_> = layer.features().map(|f| images.read(&f.unwrap())).collect();
        assert!(
            records
                .iter()
                .all(|r| r.id.is_some() && r.sequence_id.is_some())
        );
        assert!(records.iter().all(|r| r.compass_angle.is_some()));
        // 2000-01-01 .. 2030-01-01 (milliseconds, not seconds), or 0 (unknown).
        let bad: Vec<_> = records
            .iter()
            .filter(|r| {
                r.captured_at != 0 && !(946_684_800_000..1_893_456_000_000).contains(&r.captured_at)
            })
            .collect();
        assert!(bad.is_empty(), "{name}: {:?}", &bad[..bad.len().min(3)]);
        assert!(records.iter().any(|r| r.captured_at == 0) || name.starts_with("surfaceai"));
        if name.starts_with("vespucci") {
            let orgs = records
                .iter()
                .filter(|r| r.organization_id.is_some())
                .count();
            assert_eq!(orgs, 2410);
        }
    }
}

#[test]
fn josm_tiles_count_empty_strings_and_never_fail() {
    let mut seen = 0;
    for (name, _, bytes) in real_tiles() {
        if !name.starts_with("josm") {
            continue;
        }
        seen += 1;
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layer("image").unwrap().unwrap();
        let images = ImageLayer::new(&layer).unwrap();
        let mut report = TypeReport::new();
        let mut orgs = 0;
        for f in layer.features() {
            let f = f.unwrap();
            orgs += usize::from(f.get("organization_id").unwrap().is_some());
            let r = images.read_reporting(&f, &mut report);
            assert_eq!(
                (r.id, r.captured_at, r.compass_angle, r.is_pano),
                (None, 0, None, None)
            );
            assert!(r.sequence_id.is_some());
        }
        let n = layer.feature_count() as u64;
        let count = |key| report.count(LayerKind::Image, key, Found::EmptyString);
        assert_eq!(count(Key::Id), n, "{name}");
        assert_eq!(count(Key::CapturedAt), n, "{name}");
        assert_eq!(count(Key::CompassAngle), n, "{name}");
        assert_eq!(count(Key::IsPano), n, "{name}");
        assert_eq!(count(Key::OrganizationId), orgs as u64, "{name}");
        assert_eq!(report.total(), 4 * n + orgs as u64, "{name}");
        let line = format!("image.captured_at: {n} empty string (expected int)");
        assert!(report.to_string().contains(&line), "{report}");
        let m = report.iter().next().unwrap();
        assert_eq!((m.layer, m.found), (LayerKind::Image, Found::EmptyString));
        assert_eq!(
            report.count(LayerKind::Image, Key::Id, Found::Type(ValueType::Int)),
            0
        );
    }
    assert!(seen == 3 || seen == 0);
}

/// Single predicates drawn from a tile's own values, for the image and sequence layers.
fn property_predicates(bytes: &[u8]) -> Vec<Filter> {
    let tile = Tile::new(bytes).unwrap();
    let layer = tile.layer("image").unwrap().unwrap();
    let images = ImageLayer::new(&layer).unwrap();
    let records: Vec<_> = layer.features().map(|f| images.read(&f.unwrap())).collect();
    let mut times: Vec<i64> = records
        .iter()
        .map(|r| r.captured_at)
        .filter(|&t| t != 0)
        .collect();
    times.sort();
    let creators: BTreeSet<u64> = records.iter().filter_map(|r| r.creator_id).collect();
    let orgs: BTreeSet<u64> = records.iter().filter_map(|r| r.organization_id).collect();
    let seqs: BTreeSet<&str> = records.iter().filter_map(|r| r.sequence_id).collect();

    let mut out = vec![
        Filter::default(),
        Filter {
            image_type: ImageType::Pano,
            ..Filter::default()
        },
        Filter {
            image_type: ImageType::Flat,
            ..Filter::default()
        },
        Filter {
            organizations: Some("none".parse().unwrap()),
            ..Filter::default()
        },
        Filter {
            captured: Some("2010..2100".parse().unwrap()),
            ..Filter::default()
        },
        Filter {
            captured: Some("last 30 months".parse().unwrap()),
            ..Filter::default()
        },
        Filter {
            captured: Some("1y".parse().unwrap()),
            ..Filter::default()
        },
        Filter {
            sequences: vec!["nope".into()],
            ..Filter::default()
        },
    ];
    if let (Some(&a), Some(&b)) = (times.get(times.len() / 4), times.get(times.len() * 3 / 4)) {
        let range = mlytiles_filter::DateRange {
            start: Some(mlytiles_filter::TimeBound::At(a)),
            end: Some(mlytiles_filter::TimeBound::At(b)),
        };
        out.push(Filter {
            captured: Some(range),
            ..Filter::default()
        });
    }
    if let Some(&c) = creators.iter().next() {
        out.push(Filter {
            creators: vec![c, 1],
            ..Filter::default()
        });
    }
    if let Some(&o) = orgs.iter().next() {
        out.push(Filter {
            organizations: Some(format!("{o}").parse().unwrap()),
            ..Filter::default()
        });
        out.push(Filter {
            organizations: Some(format!("none,{o}").parse().unwrap()),
            ..Filter::default()
        });
    }
    let seqs: Vec<String> = seqs.iter().step_by(3).map(|s| s.to_string()).collect();
    if !seqs.is_empty() {
        out.push(Filter {
            sequences: seqs,
            ..Filter::default()
        });
    }
    out
}

fn image_only_predicates() -> Vec<Filter> {
    ["350..10", "0..90", "90..270", "359.5..0.5"]
        .iter()
        .map(|c| Filter {
            compass: Some(c.parse().unwrap()),
            ..Filter::default()
        })
        .collect()
}

fn spatial_predicates(tile: mlytiles_tile::TileId) -> Vec<Filter> {
    let b = tile.bounds();
    let (w, s, e, n) = (b.west(), b.south(), b.east(), b.north());
    let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
    let quarter = format!("{w},{s},{cx},{cy}");
    let poly = format!(
        r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{cy}],[{cx},{n}],[{w},{s}]]]}}"#
    );
    vec![
        Filter {
            area: Some(Area::parse_bbox(&quarter).unwrap()),
            ..Filter::default()
        },
        Filter {
            area: Some(Area::from_geojson(&poly).unwrap()),
            ..Filter::default()
        },
        Filter {
            area: Some(Area::parse_radius(&format!("{cx},{cy},600")).unwrap()),
            ..Filter::default()
        },
    ]
}

fn and(a: &Filter, b: &Filter) -> Filter {
    Filter {
        captured: a.captured.or(b.captured),
        image_type: if a.image_type == ImageType::All {
            b.image_type
        } else {
            a.image_type
        },
        organizations: a.organizations.clone().or(b.organizations.clone()),
        creators: [a.creators.clone(), b.creators.clone()].concat(),
        sequences: [a.sequences.clone(), b.sequences.clone()].concat(),
        compass: a.compass.or(b.compass),
        area: a.area.clone().or(b.area.clone()),
        looking_at: a.looking_at.or(b.looking_at),
        classes: [a.classes.clone(), b.classes.clone()].concat(),
        seen: a.seen.or(b.seen),
    }
}

#[test]
fn compiled_filters_select_what_the_naive_filter_selects() {
    let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    let mut nontrivial = 0;
    for (name, tile_id, bytes) in real_tiles() {
        let tile = Tile::new(&bytes).unwrap();
        let base = property_predicates(&bytes);
        for kind in [LayerKind::Image, LayerKind::Sequence] {
            let layer = tile.layer(kind.name()).unwrap().unwrap();
            let mut singles = base.clone();
            if kind == LayerKind::Image {
                singles.extend(image_only_predicates());
            }
            if let Some(id) = tile_id {
                singles.extend(spatial_predicates(id));
                if kind == LayerKind::Image {
                    let b = id.bounds();
                    let target = LookingAt {
                        lon: (b.west() + b.east()) / 2.0,
                        lat: (b.south() + b.north()) / 2.0,
                        tolerance: 20.0,
                    };
                    singles.push(Filter {
                        looking_at: Some(target),
                        ..Filter::default()
                    });
                }
            }
            // Every single predicate and every pair of them (singles only on the largest
            // layer, to keep debug test runs short).
            let mut filters = singles.clone();
            let pairs = if layer.feature_count() <= 12_000 {
                singles.len()
            } else {
                0
            };
            for (i, a) in singles.iter().enumerate().take(pairs) {
                for b in &singles[i + 1..] {
                    filters.push(and(a, b));
                }
            }
            let transform = tile_id.map(|id| TileTransform::new(id, layer.extent()).unwrap());
            for filter in &filters {
                let compiled = CompiledFilter::for_layer(filter, &layer, tile_id, now).unwrap();
                let (mut hits, mut total) = (0, 0);
                for f in layer.features() {
                    let f = f.unwrap();
                    let naive = naive_matches(filter, kind, &f, transform.as_ref(), now);
                    assert_eq!(
                        compiled.matches(&f),
                        naive,
                        "{name} {kind} feature {}: {filter:?}",
                        f.index()
                    );
                    hits += usize::from(naive);
                    total += 1;
                }
                nontrivial += usize::from(hits > 0 && hits < total);
            }
        }
    }
    assert!(nontrivial > 100, "only {nontrivial} filters split a layer");
}

/// How many features of `layer` the compiled `filter` keeps.
fn matching(filter: &Filter, layer: &Layer<'_>, tile: Option<TileId>, now: DateTime<Utc>) -> usize {
    let compiled = CompiledFilter::for_layer(filter, layer, tile, now).unwrap();
    layer
        .features()
        .filter(|f| compiled.matches(f.as_ref().unwrap()))
        .count()
}

#[test]
fn josm_empty_strings_count_as_unknown_in_filters() {
    let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    for (name, tile_id, bytes) in real_tiles() {
        if !name.starts_with("josm") {
            continue;
        }
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layer("image").unwrap().unwrap();
        let count = |filter: &Filter| matching(filter, &layer, tile_id, now);
        // "" is no organization: `none` selects every image; dates and types select none.
        let none = Filter {
            organizations: Some("none".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(count(&none), layer.feature_count(), "{name}");
        let dated = Filter {
            captured: Some("..2100".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(count(&dated), 0, "{name}");
        let flat = Filter {
            image_type: ImageType::Flat,
            ..Filter::default()
        };
        assert_eq!(count(&flat), 0, "{name}");
    }
}

#[test]
fn surfaceai_known_counts() {
    let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    for (name, tile_id, bytes) in real_tiles() {
        if !name.starts_with("surfaceai") {
            continue;
        }
        let tile = Tile::new(&bytes).unwrap();
        let layer = tile.layer("image").unwrap().unwrap();
        let count = |filter: &Filter| matching(filter, &layer, tile_id, now);
        assert_eq!(count(&Filter::default()), 360);
        // The whole tile, as a bbox, holds every image.
        let b = tile_id.unwrap().bounds();
        let whole = Filter {
            area: Some(Area::BBox(b)),
            ..Filter::default()
        };
        assert_eq!(count(&whole), 360);
        // No organization anywhere in this tile.
        let none = Filter {
            organizations: Some("none".parse().unwrap()),
            ..Filter::default()
        };
        assert_eq!(count(&none), 360);
        // Pano and flat partition the images (is_pano is always known here).
        let pano = count(&Filter {
            image_type: ImageType::Pano,
            ..Filter::default()
        });
        let flat = count(&Filter {
            image_type: ImageType::Flat,
            ..Filter::default()
        });
        assert_eq!(pano + flat, 360);
    }
}
