//! The generators of `fixtures/sample/14/3251/6257.mvt`, a small Mapillary-like z14 tile written
//! by the project's own writer, and of `fixtures/sample/detection.json`, an object detection as
//! Mapillary's Graph API gives it; and the tests that keep the files in step with them.
//!
//! The tile imitates a `mly1_public` coverage tile of Grand Junction, Colorado (14/3251/6257):
//! a `sequence` layer of LineStrings (two of them multi-part, clipped exactly at the tile edge
//! like real tiles) and an `image` layer of Points along the same streets, with the 2024 schema
//! and value types of real tiles (see MAPILLARY.md): ids as `int_value`, `compass_angle` as
//! `double_value`, `organization_id` on some features only, one `captured_at` of 0 and one of
//! `""` (older tiles mix value types), one compass
//! angle above 360, one image id above 2^53 (9007199254740993) and one sequence that images
//! reference but the `sequence` layer lacks. The protobuf feature ids count 0..N-1 across the
//! layers, as in real tiles.
//!
//! Everything is computed with integers from a fixed seed, so the bytes are the same on every
//! machine. When a generator changes on purpose, rewrite the files with
//! `BLESS=1 cargo test --test sample_fixture`.

use std::path::PathBuf;

use mlytiles_mvt::geo_types::{Geometry, LineString, MultiLineString, Point};
use mlytiles_mvt::{GeomType, Tile, TileBuilder, Value};

const EXTENT: i64 = 4096;
/// 2^53 + 1: the smallest integer a float64 cannot hold.
const BIG_ID: i64 = 9_007_199_254_740_993;

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/14/3251/6257.mvt")
}

/// SplitMix64: a tiny, well-known generator; fixed seed, integers only.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }

    /// A 22-character sequence key like Mapillary's (`0YaOR8i5hBayV1IRIJP_cQ`).
    fn key(&mut self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..22)
            .map(|_| char::from(ALPHABET[(self.next() % 64) as usize]))
            .collect()
    }

    /// A 15-digit Mapillary-style id.
    fn id(&mut self) -> i64 {
        self.range(100_000_000_000_000, 999_999_999_999_999)
    }
}

/// One capture trip: a path of street segments (each horizontal, vertical or at 45 degrees,
/// so every point along it is an integer), possibly leaving the tile.
struct Trip {
    path: &'static [(i64, i64)],
    in_sequence_layer: bool,
    is_pano: bool,
    organization: bool,
    creator: usize,
}

/// Streets of the Grand Junction grid, in tile units (y down); several leave the tile.
const TRIPS: &[Trip] = &[
    // West to east along a main avenue, across the whole tile.
    Trip {
        path: &[(-300, 1200), (4400, 1200)],
        in_sequence_layer: true,
        is_pano: false,
        organization: true,
        creator: 0,
    },
    // In from the north edge, south down a street, then east.
    Trip {
        path: &[(1500, -200), (1500, 2600), (3000, 2600)],
        in_sequence_layer: true,
        is_pano: false,
        organization: false,
        creator: 1,
    },
    // Out through the east edge and back in a block further south: two parts.
    Trip {
        path: &[(2200, 3000), (4300, 3000), (4300, 3400), (2600, 3400)],
        in_sequence_layer: true,
        is_pano: false,
        organization: true,
        creator: 0,
    },
    // Out through the south edge and back: two parts.
    Trip {
        path: &[
            (600, 3900),
            (600, 4300),
            (1400, 4300),
            (1400, 3700),
            (900, 3700),
        ],
        in_sequence_layer: true,
        is_pano: false,
        organization: false,
        creator: 2,
    },
    // A diagonal highway, captured with a 360-degree camera.
    Trip {
        path: &[(40, 3560), (1940, 1660)],
        in_sequence_layer: true,
        is_pano: true,
        organization: false,
        creator: 1,
    },
    // Images whose sequence the `sequence` layer lacks (as happens in real tiles).
    Trip {
        path: &[(3200, 600), (3700, 600)],
        in_sequence_layer: false,
        is_pano: false,
        organization: false,
        creator: 2,
    },
];

/// The unit step and the number of steps of a segment.
fn step(a: (i64, i64), b: (i64, i64)) -> ((i64, i64), i64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let n = dx.abs().max(dy.abs());
    assert!(
        n > 0 && (dx == 0 || dy == 0 || dx.abs() == dy.abs()),
        "segment {a:?} -> {b:?} must be horizontal, vertical or diagonal"
    );
    ((dx.signum(), dy.signum()), n)
}

/// The steps `k` in `0..=n` where `start + k * unit` lies in `0..=limit` on one axis.
fn inside(start: i64, unit: i64, n: i64, limit: i64) -> Option<(i64, i64)> {
    let (lo, hi) = match unit {
        0 if (0..=limit).contains(&start) => (0, n),
        0 => return None,
        1 => (-start, limit - start),
        _ => (start - limit, start),
    };
    let (lo, hi) = (lo.max(0), hi.min(n));
    (lo <= hi).then_some((lo, hi))
}

/// The trip's path clipped exactly to the tile square, as lines (more than one when it
/// leaves the tile and comes back). Like real sequence lines, which follow the GPS track, the
/// lines get a vertex every 300 units or so, a few units off the street; the vertices where a
/// line meets the tile edge stay exactly on it.
fn clip(path: &[(i64, i64)], rng: &mut Rng) -> Vec<Vec<(i64, i64)>> {
    let mut parts: Vec<Vec<(i64, i64)>> = Vec::new();
    for pair in path.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let ((ux, uy), n) = step(a, b);
        let Some((x0, x1)) = inside(a.0, ux, n, EXTENT) else {
            continue;
        };
        let Some((y0, y1)) = inside(a.1, uy, n, EXTENT) else {
            continue;
        };
        let (k0, k1) = (x0.max(y0), x1.min(y1));
        if k0 >= k1 {
            continue;
        }
        let at = |k: i64| (a.0 + ux * k, a.1 + uy * k);
        let p = at(k0);
        let part = match parts.last_mut() {
            Some(part) if part.last() == Some(&p) => part,
            _ => {
                parts.push(vec![p]);
                parts.last_mut().unwrap()
            }
        };
        let mut k = k0 + rng.range(250, 350);
        while k < k1 - 50 {
            let (x, y) = at(k);
            let (x, y) = (x + rng.range(-2, 3), y + rng.range(-2, 3));
            if (10..EXTENT - 10).contains(&x) && (10..EXTENT - 10).contains(&y) {
                part.push((x, y));
            }
            k += rng.range(250, 350);
        }
        part.push(at(k1));
    }
    parts
}

/// Compass heading (degrees clockwise from north) of a unit step, y growing south.
fn heading((ux, uy): (i64, i64)) -> i64 {
    match (ux, uy) {
        (0, -1) => 0,
        (1, -1) => 45,
        (1, 0) => 90,
        (1, 1) => 135,
        (0, 1) => 180,
        (-1, 1) => 225,
        (-1, 0) => 270,
        _ => 315,
    }
}

/// An image along a trip: position, heading and its place in the trip.
struct Shot {
    x: i64,
    y: i64,
    heading: i64,
}

/// Positions every `spacing` steps along the path (the whole path, inside the tile or not).
fn shots(path: &[(i64, i64)], spacing: i64) -> Vec<Shot> {
    let mut out = Vec::new();
    let mut until_next = 0;
    for pair in path.windows(2) {
        let (a, (u, n)) = (pair[0], step(pair[0], pair[1]));
        let mut k = until_next;
        while k < n {
            out.push(Shot {
                x: a.0 + u.0 * k,
                y: a.1 + u.1 * k,
                heading: heading(u),
            });
            k += spacing;
        }
        until_next = k - n;
    }
    out
}

/// Builds the sample tile's bytes.
fn sample_tile() -> Vec<u8> {
    let mut rng = Rng(0x4d4c_5954_494c_4553); // "MLYTILES"
    let creators: Vec<i64> = (0..3).map(|_| rng.id()).collect();
    let organization = rng.id();
    // 2021-06-12 10:30 UTC, in ms: trips follow each other through the afternoon.
    let mut clock: i64 = 1_623_493_800_000;

    let mut tile = TileBuilder::new();
    let mut sequences = Vec::new();
    let mut images = Vec::new();
    let mut image_count = 0;
    for (t, trip) in TRIPS.iter().enumerate() {
        let key = rng.key();
        let start = clock;
        let shots = shots(trip.path, rng.range(330, 430));
        // The highway trip's first image (inside the tile) carries the id above 2^53, so it is
        // in both layers: as that image's `id` and as the sequence's `image_id`.
        let ids: Vec<i64> = (0..shots.len())
            .map(|i| if t == 4 && i == 0 { BIG_ID } else { rng.id() })
            .collect();
        for (i, shot) in shots.iter().enumerate() {
            let captured_at = start + i as i64 * 2_000 + rng.range(0, 400);
            // GPS noise of a few units around the street.
            let (x, y) = (shot.x + rng.range(-3, 4), shot.y + rng.range(-3, 4));
            let hundredths = shot.heading * 100 + rng.range(-600, 600);
            if !(0..EXTENT).contains(&x) || !(0..EXTENT).contains(&y) {
                continue;
            }
            image_count += 1;
            let compass = match image_count {
                // Real tiles hold compass angles above 360.
                7 => 361.39,
                _ => hundredths.rem_euclid(36_000) as f64 / 100.0,
            };
            // Real tiles have images with an unknown capture time (0), and older ones carry
            // other value types for the same key, even the empty string.
            let captured_at = match image_count {
                12 => Value::Int(0),
                20 => Value::String(""),
                _ => Value::Int(captured_at),
            };
            images.push((x, y, ids[i], captured_at, compass, t, key.clone()));
        }
        clock = start + shots.len() as i64 * 2_000 + rng.range(600_000, 3_600_000);
        if trip.in_sequence_layer {
            sequences.push((clip(trip.path, &mut rng), key, ids[0], start, t));
        }
    }

    let mut feature_id = 0u64;
    let layer = tile.layer("sequence");
    for (parts, key, image_id, start, t) in &sequences {
        let trip = &TRIPS[*t];
        let lines: Vec<LineString<i32>> = parts
            .iter()
            .map(|part| {
                part.iter()
                    .map(|&(x, y)| (x as i32, y as i32))
                    .collect::<Vec<_>>()
                    .into()
            })
            .collect();
        let geometry: Geometry<i32> = match <[LineString<i32>; 1]>::try_from(lines) {
            Ok([line]) => line.into(),
            Err(lines) => MultiLineString(lines).into(),
        };
        let mut properties = vec![
            ("captured_at", Value::Int(*start)),
            ("creator_id", Value::Int(creators[trip.creator])),
            ("id", Value::String(key)),
            ("image_id", Value::Int(*image_id)),
            ("is_pano", Value::Bool(trip.is_pano)),
        ];
        if trip.organization {
            properties.push(("organization_id", Value::Int(organization)));
        }
        layer
            .add_feature(Some(feature_id), &geometry, properties)
            .expect("valid sequence");
        feature_id += 1;
    }
    let layer = tile.layer("image");
    for (x, y, id, captured_at, compass, t, key) in &images {
        let trip = &TRIPS[*t];
        let mut properties = vec![
            ("captured_at", *captured_at),
            ("compass_angle", Value::Double(*compass)),
            ("creator_id", Value::Int(creators[trip.creator])),
            ("id", Value::Int(*id)),
            ("is_pano", Value::Bool(trip.is_pano)),
        ];
        if trip.organization {
            properties.push(("organization_id", Value::Int(organization)));
        }
        properties.push(("sequence_id", Value::String(key)));
        let point: Geometry<i32> = Point::new(*x as i32, *y as i32).into();
        layer
            .add_feature(Some(feature_id), &point, properties)
            .expect("valid image");
        feature_id += 1;
    }
    tile.into_bytes()
}

#[test]
fn sample_fixture_matches_its_generator() {
    let bytes = sample_tile();
    let path = fixture_path();
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        return;
    }
    let on_disk = std::fs::read(&path).unwrap_or_default();
    assert!(
        on_disk == bytes,
        "{} ({} bytes) differs from what tests/sample_fixture.rs generates ({} bytes).\n\
         If the generator changed on purpose, rewrite the file with:\n    \
         BLESS=1 cargo test --test sample_fixture",
        path.display(),
        on_disk.len(),
        bytes.len()
    );
}

#[test]
fn sample_tile_is_small_and_mapillary_like() {
    let bytes = sample_tile();
    assert!(bytes.len() < 10 * 1024, "{} bytes", bytes.len());
    let tile = Tile::new(&bytes).unwrap();
    let names: Vec<String> = tile
        .layers()
        .map(|l| l.unwrap().name().to_owned())
        .collect();
    assert_eq!(names, ["sequence", "image"]);

    let sequence = tile.layer("sequence").unwrap().unwrap();
    let mut multi_part = 0;
    for f in sequence.features() {
        let f = f.unwrap();
        assert_eq!(f.geom_type(), GeomType::LineString);
        let id = f.get("id").unwrap().unwrap();
        assert_eq!(id.as_str().unwrap().len(), 22);
        if let Geometry::MultiLineString(_) = f.to_geometry::<i32>().unwrap() {
            multi_part += 1;
        }
    }
    assert_eq!((sequence.feature_count(), multi_part), (5, 2));

    let image = tile.layer("image").unwrap().unwrap();
    let (mut big, mut with_org, mut over_360, mut unknown_time, mut text_time) = (0, 0, 0, 0, 0);
    for f in image.features() {
        let f = f.unwrap();
        let Geometry::Point(p) = f.to_geometry::<i32>().unwrap() else {
            panic!("images are points");
        };
        assert!((0..4096).contains(&p.x()) && (0..4096).contains(&p.y()));
        big += usize::from(f.get("id").unwrap() == Some(Value::Int(BIG_ID)));
        with_org += usize::from(f.get("organization_id").unwrap().is_some());
        let compass = f.get("compass_angle").unwrap().unwrap();
        over_360 += usize::from(compass.as_f64().unwrap() > 360.0);
        let captured_at = f.get("captured_at").unwrap();
        unknown_time += usize::from(captured_at == Some(Value::Int(0)));
        text_time += usize::from(captured_at == Some(Value::String("")));
    }
    assert!(
        (30..=60).contains(&image.feature_count()),
        "{}",
        image.feature_count()
    );
    assert_eq!((big, over_360, unknown_time, text_time), (1, 1, 1, 1));
    assert!(with_org > 0 && with_org < image.feature_count());
}

fn detection_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/detection.json")
}

/// Centre of the detected stop sign in the detection tile (of 4096 each way: 66% across and
/// 36% down the image).
const SIGN_CENTRE: (i32, i32) = (2710, 1480);

/// The outline of a stop sign seen a little from the side, as a segmentation model traces it:
/// the 8 corners of an octagon (narrower than tall), 3 points along each edge between them,
/// each off the straight edge by a pixel or two. Integers only.
fn stop_sign_ring() -> Vec<(i32, i32)> {
    const CORNERS: [(i32, i32); 8] = [
        (-25, -65),
        (25, -65),
        (60, -27),
        (60, 27),
        (25, 65),
        (-25, 65),
        (-60, 27),
        (-60, -27),
    ];
    const WOBBLE: [i32; 24] = [
        1, -1, 0, 2, 1, -1, -2, 0, 1, 0, -1, 2, 1, 1, -1, 0, -2, 1, 2, 0, -1, 1, -1, 0,
    ];
    let mut ring = Vec::new();
    for (k, &(ax, ay)) in CORNERS.iter().enumerate() {
        let (bx, by) = CORNERS[(k + 1) % CORNERS.len()];
        ring.push((SIGN_CENTRE.0 + ax, SIGN_CENTRE.1 + ay));
        for q in 1..4 {
            let w = WOBBLE[3 * k + q - 1];
            let (x, y) = (ax + (bx - ax) * q as i32 / 4, ay + (by - ay) * q as i32 / 4);
            // Off the edge across it: sideways on upright edges, up or down on flat ones.
            let (x, y) = if (bx - ax).abs() < (by - ay).abs() {
                (x + w, y)
            } else {
                (x, y + w)
            };
            ring.push((SIGN_CENTRE.0 + x, SIGN_CENTRE.1 + y));
        }
    }
    ring.push(ring[0]);
    ring
}

/// The detection as the Graph API answers `GET /{detection_id}?fields=id,value,created_at,geometry`:
/// `geometry` is the base64 of a vector tile whose `mpy-or` layer (extent 4096) holds the
/// outline in image coordinates.
fn sample_detection() -> String {
    use base64::Engine as _;
    let polygon = mlytiles_mvt::geo_types::Polygon::new(stop_sign_ring().into(), vec![]);
    let mut tile = TileBuilder::new();
    tile.layer("mpy-or")
        .add_feature(Some(1), &polygon.into(), [])
        .expect("a valid polygon");
    let geometry = base64::engine::general_purpose::STANDARD.encode(tile.into_bytes());
    format!(
        "{{\n  \"id\": \"1024793318460537\",\n  \"value\": \"regulatory--stop--g1\",\n  \
         \"created_at\": \"2024-06-14T18:22:41+0000\",\n  \"geometry\": \"{geometry}\"\n}}\n"
    )
}

#[test]
fn sample_detection_matches_its_generator() {
    let text = sample_detection();
    let path = detection_path();
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
        eprintln!("wrote {} ({} bytes)", path.display(), text.len());
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} differs from what tests/sample_fixture.rs generates.\n\
         If the generator changed on purpose, rewrite the file with:\n    \
         BLESS=1 cargo test --test sample_fixture",
        path.display()
    );
}

#[test]
fn sample_detection_is_a_graph_api_detection_of_one_outline() {
    let json: serde_json::Value = serde_json::from_str(&sample_detection()).expect("JSON");
    assert_eq!(json["value"], "regulatory--stop--g1");
    assert!(
        json["id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    );
    let geometry = json["geometry"].as_str().expect("a base64 string");
    let detection = mlytiles_filter::detection::Detection::from_base64(geometry).unwrap();
    assert_eq!(detection.polygons.0.len(), 1);
    let polygon = &detection.polygons.0[0];
    assert!(polygon.interiors().is_empty());
    // 8 corners and 3 points on each edge, closed.
    assert_eq!(polygon.exterior().0.len(), 33);
    for c in &polygon.exterior().0 {
        let (dx, dy) = (c.x - 2710.0 / 4096.0, c.y - 1480.0 / 4096.0);
        assert!(
            dx.abs() <= 62.0 / 4096.0 && dy.abs() <= 67.0 / 4096.0,
            "{c:?}"
        );
    }
}
