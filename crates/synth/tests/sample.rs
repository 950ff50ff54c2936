//! Checks of the default sample against its truth and against what real Mapillary tiles hold.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use mlytiles_mvt::{Tile, Value, geo_types::Geometry};
use mlytiles_synth::{
    COMPUTED, MAP_FEATURE_POINT, MAP_FEATURE_TRAFFIC_SIGN, PUBLIC, Sample, SampleSpec, TILESETS,
    generate,
};
use mlytiles_tile::{TileId, TileTransform};

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| generate(&SampleSpec::default()).expect("the default spec is valid"))
}

fn z14(tiles: &BTreeMap<TileId, Vec<u8>>) -> impl Iterator<Item = (&TileId, &Vec<u8>)> {
    tiles.iter().filter(|(t, _)| t.z() == 14)
}

#[test]
fn same_spec_same_bytes() {
    let again = generate(&SampleSpec::default()).unwrap();
    assert_eq!(again.tilesets, sample().tilesets);
    assert_eq!(again.sequences, sample().sequences);
    let other = generate(&SampleSpec {
        seed: 7,
        ..SampleSpec::default()
    })
    .unwrap();
    assert_ne!(other.tilesets[PUBLIC], sample().tilesets[PUBLIC]);
}

#[test]
fn every_tile_decodes_completely() {
    for (name, tiles) in &sample().tilesets {
        assert!(!tiles.is_empty(), "{name}");
        for (t, bytes) in tiles {
            let tile = Tile::new(bytes).unwrap();
            let mut ids = BTreeSet::new();
            for layer in tile.layers() {
                let layer = layer.unwrap();
                assert_eq!((layer.version(), layer.extent()), (2, 4096), "{name} {t}");
                for feature in layer.features() {
                    let feature = feature.unwrap();
                    for p in feature.properties() {
                        p.unwrap();
                    }
                    feature.to_geometry::<i32>().unwrap();
                    assert!(ids.insert(feature.id().unwrap()), "{name} {t}: repeated id");
                }
            }
            // Tile-local counters: 0..N-1 across layers.
            assert_eq!(
                ids.last().copied(),
                Some(ids.len() as u64 - 1),
                "{name} {t}"
            );
        }
    }
}

#[test]
fn zooms_and_layers_per_tileset() {
    let s = sample();
    assert_eq!(s.tilesets.len(), 4);
    for name in TILESETS {
        assert!(s.tileset(name).is_some());
    }
    for name in [PUBLIC, COMPUTED] {
        let tiles = &s.tilesets[name];
        for z in 0..=14u8 {
            assert!(tiles.keys().any(|t| t.z() == z), "{name} has no z{z} tile");
        }
        for (t, bytes) in tiles {
            let tile = Tile::new(bytes).unwrap();
            let names: BTreeSet<&str> = tile.layers().map(|l| l.unwrap().name()).collect();
            let want: BTreeSet<&str> = match t.z() {
                0..=5 => ["overview"].into(),
                6..=13 => ["sequence"].into(),
                _ => ["sequence", "image"].into(),
            };
            assert!(
                names.is_subset(&want) && !names.is_empty(),
                "{name} {t}: {names:?}"
            );
            // Every tile of a parent zoom covers part of the area.
            let z = t.z();
            assert!(
                s.area
                    .iter()
                    .any(|a| a.ancestor_at(z) == Some(*t) || *a == *t),
                "{t}"
            );
        }
        let area: BTreeSet<TileId> = s.area.iter().copied().collect();
        let at14: BTreeSet<TileId> = z14(tiles).map(|(t, _)| *t).collect();
        assert_eq!(
            at14, area,
            "{name}: every area tile and nothing else at z14"
        );
    }
    for (name, layer) in [
        (MAP_FEATURE_POINT, "point"),
        (MAP_FEATURE_TRAFFIC_SIGN, "traffic_sign"),
    ] {
        for (t, bytes) in &s.tilesets[name] {
            assert_eq!(t.z(), 14);
            assert!(s.area.contains(t));
            let tile = Tile::new(bytes).unwrap();
            assert_eq!(tile.layer_count().unwrap(), 1);
            assert!(tile.layer(layer).unwrap().is_some());
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Float(_) => "float",
        Value::Double(_) => "double",
        Value::Int(_) => "int",
        Value::UInt(_) => "uint",
        Value::SInt(_) => "sint",
        Value::Bool(_) => "bool",
    }
}

#[test]
fn properties_have_the_real_types() {
    let expected: BTreeMap<&str, Vec<(&str, &str, bool)>> = [
        (
            "sequence",
            vec![
                ("id", "string", true),
                ("image_id", "int", true),
                ("captured_at", "int", true),
                ("creator_id", "int", true),
                ("organization_id", "int", false),
                ("is_pano", "bool", true),
            ],
        ),
        (
            "image",
            vec![
                ("id", "int", true),
                ("captured_at", "int", true),
                ("compass_angle", "double", true),
                ("creator_id", "int", true),
                ("organization_id", "int", false),
                ("sequence_id", "string", true),
                ("is_pano", "bool", true),
            ],
        ),
        (
            "overview",
            vec![
                ("captured_at", "int", true),
                ("creator_id", "int", true),
                ("id", "int", true),
                ("sequence_id", "string", true),
                ("is_pano", "bool", true),
            ],
        ),
        (
            "point",
            vec![
                ("id", "int", true),
                ("value", "string", true),
                ("first_seen_at", "int", true),
                ("last_seen_at", "int", true),
            ],
        ),
    ]
    .into();
    let mut seen_org = [0usize; 2];
    for tiles in sample().tilesets.values() {
        for bytes in tiles.values() {
            let tile = Tile::new(bytes).unwrap();
            for layer in tile.layers() {
                let layer = layer.unwrap();
                let name = if layer.name() == "traffic_sign" {
                    "point"
                } else {
                    layer.name()
                };
                let schema = &expected[name];
                for feature in layer.features() {
                    let feature = feature.unwrap();
                    let props: BTreeMap<&str, Value> =
                        feature.properties().map(Result::unwrap).collect();
                    for (key, ty, required) in schema {
                        match props.get(key) {
                            Some(v) => assert_eq!(kind(v), *ty, "{name}.{key}"),
                            None => assert!(!required, "{name}.{key} missing"),
                        }
                    }
                    assert!(props.keys().all(|k| schema.iter().any(|(s, _, _)| s == k)));
                    if name == "sequence" {
                        assert_eq!(props["id"].as_str().unwrap().len(), 22);
                        seen_org[usize::from(props.contains_key("organization_id"))] += 1;
                    }
                    if name == "point" {
                        let first = props["first_seen_at"].as_i64().unwrap();
                        assert!(first <= props["last_seen_at"].as_i64().unwrap());
                    }
                }
            }
        }
    }
    assert!(
        seen_org[0] > 0 && seen_org[1] > 0,
        "organization_id both absent and present"
    );
}

#[test]
fn z14_lines_are_clipped_and_some_are_multi_part() {
    let mut multi = 0;
    let mut lines = 0;
    let mut on_edge = 0;
    for (t, bytes) in z14(&sample().tilesets[PUBLIC]) {
        let tile = Tile::new(bytes).unwrap();
        let layer = tile.layer("sequence").unwrap().expect("sequence layer");
        for feature in layer.features() {
            let g = feature.unwrap().to_geometry::<i32>().unwrap();
            let parts = match g {
                Geometry::LineString(l) => vec![l],
                Geometry::MultiLineString(m) => {
                    multi += 1;
                    m.0
                }
                other => panic!("{t}: {other:?}"),
            };
            lines += 1;
            for c in parts.iter().flat_map(|l| l.0.iter()) {
                assert!(
                    (0..=4096).contains(&c.x) && (0..=4096).contains(&c.y),
                    "{t}: {c:?}"
                );
                if c.x == 0 || c.y == 0 || c.x == 4096 || c.y == 4096 {
                    on_edge += 1;
                }
            }
        }
    }
    // Real z14 tiles have about a quarter of their sequences multi-part.
    let share = f64::from(multi) / f64::from(lines);
    assert!(
        (0.02..=0.5).contains(&share),
        "{multi} multi-part of {lines}"
    );
    assert!(on_edge > 0, "no line reaches a tile edge");
}

#[test]
fn a_few_sequences_are_missing_from_the_sequence_layer() {
    let s = sample();
    let unlisted: BTreeSet<&str> = s
        .sequences
        .iter()
        .filter(|q| !q.listed)
        .map(|q| q.id.as_str())
        .collect();
    assert!((1..=4).contains(&unlisted.len()));
    let (mut lines, mut images) = (BTreeSet::new(), BTreeSet::new());
    for (_, bytes) in z14(&s.tilesets[PUBLIC]) {
        let tile = Tile::new(bytes).unwrap();
        for f in tile.layer("sequence").unwrap().unwrap().features() {
            lines.insert(f.unwrap().get("id").unwrap().unwrap().as_str().unwrap());
        }
        for f in tile.layer("image").unwrap().unwrap().features() {
            images.insert(
                f.unwrap()
                    .get("sequence_id")
                    .unwrap()
                    .unwrap()
                    .as_str()
                    .unwrap(),
            );
        }
    }
    assert_eq!(images.len(), s.sequences.len());
    assert_eq!(
        images.difference(&lines).copied().collect::<BTreeSet<_>>(),
        unlisted
    );
}

#[test]
fn images_in_tiles_match_the_truth() {
    let s = sample();
    let truth: BTreeMap<u64, (&str, f64, f64, f64)> = s
        .sequences
        .iter()
        .flat_map(|q| {
            q.images
                .iter()
                .map(move |i| (i.id, (q.id.as_str(), i.lon, i.lat, i.compass_angle)))
        })
        .collect();
    let mut found = 0;
    for (t, bytes) in z14(&s.tilesets[PUBLIC]) {
        let tr = TileTransform::new(*t, 4096).unwrap();
        let tile = Tile::new(bytes).unwrap();
        for feature in tile.layer("image").unwrap().unwrap().features() {
            let feature = feature.unwrap();
            let id = feature.get("id").unwrap().unwrap().as_u64().unwrap();
            let (seq, lon, lat, compass) = truth[&id];
            assert_eq!(
                feature.get("sequence_id").unwrap().unwrap().as_str(),
                Some(seq)
            );
            assert_eq!(
                feature.get("compass_angle").unwrap(),
                Some(Value::Double(compass))
            );
            let Geometry::Point(p) = feature.to_geometry::<f64>().unwrap() else {
                panic!()
            };
            let (x, y) = tr.to_local(lon, lat);
            assert!((p.x() - x).abs() <= 0.5 && (p.y() - y).abs() <= 0.5);
            found += 1;
        }
    }
    assert_eq!(found, truth.len(), "every image once, ids unique");
}

#[test]
fn ids_above_2_pow_53_compass_above_360_and_unknown_dates() {
    let s = sample();
    let big = 1u64 << 53;
    // Image ids a float64 cannot hold (rounded by JavaScript readers), as the preview page's
    // browser test needs.
    assert!(
        s.sequences
            .iter()
            .flat_map(|q| &q.images)
            .any(|i| i.id > big && (i.id as f64) as u64 != i.id)
    );
    assert!(s.points.iter().chain(&s.traffic_signs).any(|f| f.id > big));
    assert!(
        s.sequences
            .iter()
            .flat_map(|q| &q.images)
            .any(|i| i.compass_angle > 360.0)
    );
    let zero = s.sequences.iter().filter(|q| q.captured_at() == 0).count();
    assert!(
        (1..=5).contains(&zero),
        "{zero} sequences with captured_at 0"
    );
    // ...and the tiles carry the big ids exactly.
    let mut big_in_tiles = false;
    for tiles in s.tilesets.values() {
        for (_, bytes) in z14(tiles) {
            let tile = Tile::new(bytes).unwrap();
            for layer in tile.layers() {
                for f in layer.unwrap().features() {
                    if let Some(v) = f.unwrap().get("id").unwrap() {
                        big_in_tiles |= matches!(v, Value::Int(i) if i as u64 > big);
                    }
                }
            }
        }
    }
    assert!(big_in_tiles);
    // Dates span the years 2014 to September 2026.
    let dates: Vec<i64> = s
        .sequences
        .iter()
        .map(|q| q.captured_at())
        .filter(|&d| d > 0)
        .collect();
    assert!(
        dates
            .iter()
            .all(|&d| (1_388_534_400_000..1_790_812_800_000).contains(&d))
    );
    let (min, max) = (dates.iter().min().unwrap(), dates.iter().max().unwrap());
    assert!(max - min > 5 * 365 * 86_400_000, "dates spread over years");
}

#[test]
fn about_ten_percent_panoramas_and_a_handful_of_people() {
    let s = sample();
    let total = s.image_count();
    let pano: usize = s
        .sequences
        .iter()
        .filter(|q| q.is_pano)
        .map(|q| q.images.len())
        .sum();
    let share = pano as f64 / total as f64;
    assert!((0.07..=0.13).contains(&share), "{share}");
    let creators: BTreeSet<u64> = s.sequences.iter().map(|q| q.creator_id).collect();
    assert!((3..=6).contains(&creators.len()), "{creators:?}");
    let orgs: BTreeSet<u64> = s
        .sequences
        .iter()
        .filter_map(|q| q.organization_id)
        .collect();
    assert!((1..=3).contains(&orgs.len()));
    let with_org = s
        .sequences
        .iter()
        .filter(|q| q.organization_id.is_some())
        .count();
    let org_share = with_org as f64 / s.sequences.len() as f64;
    assert!((0.2..=0.6).contains(&org_share), "{org_share}");
    assert!((5_000..=30_000).contains(&total), "{total} images");
}

#[test]
fn overview_points_lie_in_z13_cells_with_images() {
    let s = sample();
    let cells: BTreeSet<TileId> = s
        .sequences
        .iter()
        .flat_map(|q| &q.images)
        .map(|i| TileId::from_lon_lat(i.lon, i.lat, 13).unwrap())
        .collect();
    let mut points = 0;
    for (t, bytes) in &s.tilesets[PUBLIC] {
        if t.z() != 5 {
            continue;
        }
        let tr = TileTransform::new(*t, 4096).unwrap();
        let tile = Tile::new(bytes).unwrap();
        for feature in tile.layer("overview").unwrap().unwrap().features() {
            let Geometry::Point(p) = feature.unwrap().to_geometry::<f64>().unwrap() else {
                panic!()
            };
            let (lon, lat) = tr.to_lon_lat(p.x(), p.y());
            let cell = TileId::from_lon_lat(lon, lat, 13).unwrap();
            assert!(cells.contains(&cell), "{cell}");
            points += 1;
        }
    }
    assert_eq!(points, cells.len(), "one point per z13 cell with images");
}

#[test]
fn computed_differs_slightly() {
    let s = sample();
    assert_ne!(s.tilesets[PUBLIC], s.tilesets[COMPUTED]);
    let mut moved = 0;
    for i in s.sequences.iter().flat_map(|q| &q.images) {
        let dx = (i.computed_lon - i.lon) * 111_320.0 * i.lat.to_radians().cos();
        let dy = (i.computed_lat - i.lat) * 110_574.0;
        let d = dx.hypot(dy);
        assert!(d < 6.0, "{d} m");
        moved += usize::from(d > 0.1);
    }
    assert!(moved > s.image_count() / 2);
    // The same tiles exist at z14 with about the same numbers of images (images on a road
    // along a tile edge may change tiles), and the same images in all.
    let (mut all_p, mut all_c) = (0, 0);
    for (t, bytes) in z14(&s.tilesets[PUBLIC]) {
        let count = |b: &[u8]| {
            Tile::new(b)
                .unwrap()
                .layer("image")
                .unwrap()
                .map_or(0, |l| l.feature_count())
        };
        let c = count(&s.tilesets[COMPUTED][t]);
        let p = count(bytes);
        assert!(c.abs_diff(p) <= p / 4 + 10, "{t}: {p} vs {c}");
        all_p += p;
        all_c += c;
    }
    assert_eq!((all_p, all_c), (s.image_count(), s.image_count()));
    // Every computed image lies in a z14 tile of the area.
    for i in s.sequences.iter().flat_map(|q| &q.images) {
        let t = TileId::from_lon_lat(i.computed_lon, i.computed_lat, 14).unwrap();
        assert!(s.area.contains(&t));
    }
}

#[test]
fn map_feature_classes_are_realistic() {
    let s = sample();
    assert!(s.traffic_signs.iter().all(|f| {
        [
            "regulatory--",
            "warning--",
            "information--",
            "complementary--",
        ]
        .iter()
        .any(|p| f.value.starts_with(p))
    }));
    assert!(
        s.points
            .iter()
            .all(|f| f.value.starts_with("object--") || f.value.starts_with("marking--"))
    );
    let count: usize = s.tilesets[MAP_FEATURE_TRAFFIC_SIGN]
        .values()
        .map(|b| {
            Tile::new(b)
                .unwrap()
                .layer("traffic_sign")
                .unwrap()
                .unwrap()
                .feature_count()
        })
        .sum();
    assert_eq!(count, s.traffic_signs.len());
    let count: usize = s.tilesets[MAP_FEATURE_POINT]
        .values()
        .map(|b| {
            Tile::new(b)
                .unwrap()
                .layer("point")
                .unwrap()
                .unwrap()
                .feature_count()
        })
        .sum();
    assert_eq!(count, s.points.len());
}

#[test]
fn layer_order_varies_between_z14_tiles() {
    let mut orders = BTreeSet::new();
    for (_, bytes) in z14(&sample().tilesets[PUBLIC]) {
        let tile = Tile::new(bytes).unwrap();
        let first = tile.layers().next().unwrap().unwrap().name();
        orders.insert(first);
    }
    assert_eq!(orders.len(), 2, "{orders:?}");
}

#[test]
fn whole_sample_is_small() {
    let s = sample();
    assert!(s.total_bytes() < 4 << 20, "{} bytes", s.total_bytes());
}

#[test]
fn bad_specs_are_refused() {
    for spec in [
        SampleSpec {
            tiles_wide: 0,
            ..SampleSpec::default()
        },
        SampleSpec {
            image_spacing_metres: 0.0,
            ..SampleSpec::default()
        },
        SampleSpec {
            image_spacing_metres: f64::NAN,
            ..SampleSpec::default()
        },
        SampleSpec {
            overview_cell_zoom: 3,
            ..SampleSpec::default()
        },
        SampleSpec {
            center_lat: f64::NAN,
            ..SampleSpec::default()
        },
    ] {
        assert!(generate(&spec).is_err(), "{spec:?}");
    }
}

#[test]
fn small_and_odd_specs_still_give_valid_tiles() {
    for spec in [
        SampleSpec {
            tiles_wide: 1,
            tiles_high: 1,
            sequences: 5,
            points: 10,
            traffic_signs: 10,
            ..SampleSpec::default()
        },
        SampleSpec {
            tiles_wide: 2,
            tiles_high: 1,
            sequences: 3,
            ..SampleSpec::default()
        },
        SampleSpec {
            sequences: 0,
            points: 0,
            traffic_signs: 0,
            center_lon: 13.4,
            center_lat: 52.5,
            ..SampleSpec::default()
        },
    ] {
        let sample = generate(&spec).unwrap();
        for tiles in sample.tilesets.values() {
            for bytes in tiles.values() {
                let tile = Tile::new(bytes).unwrap();
                for layer in tile.layers() {
                    for f in layer.unwrap().features() {
                        f.unwrap().to_geometry::<i32>().unwrap();
                    }
                }
            }
        }
        for i in sample.sequences.iter().flat_map(|q| &q.images) {
            let t = TileId::from_lon_lat(i.lon, i.lat, 14).unwrap();
            assert!(sample.area.contains(&t), "{spec:?}");
        }
    }
}

/// `(x, y)` cells of 16 z14 tile units (about 7.5 m here) that the `sequence` lines of a real
/// Mapillary tile pass through, in global z14 units.
fn real_street_cells(tile: TileId, file: &str) -> BTreeSet<(i64, i64)> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mapillary")
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tile_data = Tile::new(&bytes).unwrap();
    let layer = tile_data
        .layer("sequence")
        .unwrap()
        .expect("a sequence layer");
    let (ox, oy) = (f64::from(tile.x()) * 4096.0, f64::from(tile.y()) * 4096.0);
    let mut cells = BTreeSet::new();
    for feature in layer.features() {
        let lines = match feature.unwrap().to_geometry::<f64>().unwrap() {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0,
            _ => continue,
        };
        for line in lines {
            for w in line.0.windows(2) {
                let steps = ((w[1].x - w[0].x).hypot(w[1].y - w[0].y) / 8.0)
                    .ceil()
                    .max(1.0);
                for k in 0..=steps as usize {
                    let t = k as f64 / steps;
                    let x = ox + w[0].x + t * (w[1].x - w[0].x);
                    let y = oy + w[0].y + t * (w[1].y - w[0].y);
                    cells.insert(((x / 16.0).floor() as i64, (y / 16.0).floor() as i64));
                }
            }
        }
    }
    cells
}

/// The sequences drive along the streets of the real tiles of the area: in each of the three
/// real tiles, nearly every image lies within about 15 m of a real sequence line (the lane,
/// the snapping of the street graph and GPS noise move it a little).
#[test]
fn images_follow_the_streets_of_the_real_tiles() {
    let s = sample();
    for (x, y) in [(3251, 6257), (3251, 6258), (3252, 6258)] {
        let tile = TileId::new(14, x, y).unwrap();
        let streets = real_street_cells(tile, &format!("josm_mly1_public_14_{x}_{y}.mvt"));
        let (mut near, mut all) = (0usize, 0usize);
        for i in s.sequences.iter().flat_map(|q| &q.images) {
            if TileId::from_lon_lat(i.lon, i.lat, 14).unwrap() != tile {
                continue;
            }
            let (fx, fy) = mlytiles_tile::lon_lat_to_tile_fraction(i.lon, i.lat, 14);
            let (cx, cy) = (
                (fx * 4096.0 / 16.0).floor() as i64,
                (fy * 4096.0 / 16.0).floor() as i64,
            );
            all += 1;
            near += usize::from(
                (-2..=2).any(|dx| (-2..=2).any(|dy| streets.contains(&(cx + dx, cy + dy)))),
            );
        }
        assert!(all > 200, "{tile}: {all} images");
        assert!(
            near * 100 >= all * 97,
            "{tile}: {near} of {all} images on a real street"
        );
    }
}

/// Every z14 tile of the area holds images, so every tile of the pyramid shows coverage.
#[test]
fn every_tile_of_the_area_has_images() {
    let s = sample();
    let tiles: BTreeSet<TileId> = s
        .sequences
        .iter()
        .flat_map(|q| &q.images)
        .map(|i| TileId::from_lon_lat(i.lon, i.lat, 14).unwrap())
        .collect();
    assert_eq!(tiles, s.area.iter().copied().collect());
}

/// Seen from the golden images' "now" (2025-12-01), the images fall in all three bins of the
/// `age` style (under one year, one to four years, over four years), recent years holding
/// more images per year than early ones, as on Mapillary.
#[test]
fn capture_dates_fill_every_bin_of_the_age_style() {
    const NOW: i64 = 1_764_547_200_000; // 2025-12-01T00:00:00Z
    const YEAR: i64 = 365 * 86_400_000;
    let s = sample();
    let mut bins = [0usize; 3];
    for i in s.sequences.iter().flat_map(|q| &q.images) {
        if i.captured_at > 0 {
            let age = NOW - i.captured_at;
            bins[usize::from(age > YEAR) + usize::from(age > 4 * YEAR)] += 1;
        }
    }
    let total: usize = bins.iter().sum();
    for (bin, n) in ["under 1 year", "1 to 4 years", "over 4 years"]
        .iter()
        .zip(bins)
    {
        assert!(n * 100 >= total * 8, "{bin}: {n} of {total} images");
    }
    // Per year: the last year holds more than the average of the years before 2021-12.
    assert!(bins[0] * 8 > bins[2], "{bins:?}");
}

/// The golden images of `crates/render/tests/golden.rs` draw the styles
/// `organization:114839757315870` and `creator:676899510254324`: both must stay in the sample.
#[test]
fn the_organization_and_creator_of_the_goldens_are_present() {
    let s = sample();
    assert!(
        s.sequences
            .iter()
            .any(|q| q.organization_id == Some(114_839_757_315_870))
    );
    assert!(
        s.sequences
            .iter()
            .any(|q| q.creator_id == 676_899_510_254_324)
    );
}
