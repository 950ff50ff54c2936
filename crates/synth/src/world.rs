//! The world model: streets in local metres around the area's centre, sequences driven and
//! walked along them, images along the sequences, and detected map features beside them.

use crate::rng::Rng;
use crate::streets::Streets;
use crate::{SampleSpec, classes};

/// 2014-01-01T00:00:00Z in ms.
const CAPTURE_FROM_MS: i64 = 1_388_534_400_000;
/// 2026-10-01T00:00:00Z in ms (exclusive end of the capture span): recent enough that the
/// `age` style's "under 1 year" shows in the sample for a while after it was made.
const CAPTURE_TO_MS: i64 = 1_790_812_800_000;
/// 2016-01-01T00:00:00Z in ms: the earliest first-seen date of a map feature.
const SEEN_FROM_MS: i64 = 1_451_606_400_000;
const DAY_MS: i64 = 86_400_000;
/// 2^53 + 1: the first integer a float64 cannot hold.
const ABOVE_2_53: u64 = (1 << 53) + 1;

/// One image of a sequence, as the generator placed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The image id (`id` of the `image` layer); a few are above 2^53.
    pub id: u64,
    /// Longitude as uploaded (`mly1_public`).
    pub lon: f64,
    /// Latitude as uploaded (`mly1_public`).
    pub lat: f64,
    /// Longitude after "reconstruction" (`mly1_computed_public`), a few metres away.
    pub computed_lon: f64,
    /// Latitude after "reconstruction" (`mly1_computed_public`).
    pub computed_lat: f64,
    /// Compass angle in degrees along the direction of travel, two decimals; one image in
    /// the sample has 361.39, as real tiles do.
    pub compass_angle: f64,
    /// The computed compass angle (the public one turned by a degree or two).
    pub computed_compass_angle: f64,
    /// Capture time, ms since the Unix epoch (UTC); 0 means unknown.
    pub captured_at: i64,
}

/// One sequence (a capture session) and its images, in capture order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// The 22-character sequence key (`id` of the `sequence` layer, `sequence_id` elsewhere).
    pub id: String,
    /// The creator (one of a handful).
    pub creator_id: u64,
    /// The organization, absent on most sequences.
    pub organization_id: Option<u64>,
    /// Whether the sequence was taken with a 360° camera (about 10% of the images).
    pub is_pano: bool,
    /// Walked (closer images, on the sidewalk) rather than driven.
    pub walked: bool,
    /// Whether the sequence appears in the `sequence` layer at all: real tiles miss some
    /// sequences that their images reference, so coverage must draw image points too.
    pub listed: bool,
    /// The images; a sequence has at least 2.
    pub images: Vec<Image>,
}

impl Sequence {
    /// The capture time of the first image (the `sequence` layer's `captured_at`).
    pub fn captured_at(&self) -> i64 {
        self.images.first().map_or(0, |i| i.captured_at)
    }
}

/// A detected object or traffic sign (`point` or `traffic_sign` layer).
#[derive(Debug, Clone, PartialEq)]
pub struct MapFeature {
    /// The feature id; a few are above 2^53.
    pub id: u64,
    /// The class, such as `object--street-light` or `regulatory--stop--g1`.
    pub value: &'static str,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// First seen, ms since the Unix epoch (UTC).
    pub first_seen_at: i64,
    /// Last seen, ms since the Unix epoch (UTC), never before `first_seen_at`.
    pub last_seen_at: i64,
}

/// Local metres (x east, y north) around a reference point, by the equirectangular
/// approximation, which is well below a centimetre off across a few kilometres.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    lon0: f64,
    lat0: f64,
    m_per_deg_lon: f64,
    m_per_deg_lat: f64,
}

impl Frame {
    pub(crate) fn new(lon0: f64, lat0: f64) -> Frame {
        Frame {
            lon0,
            lat0,
            m_per_deg_lon: 111_320.0 * lat0.to_radians().cos(),
            m_per_deg_lat: 110_574.0,
        }
    }

    pub(crate) fn to_lon_lat(self, x: f64, y: f64) -> (f64, f64) {
        (
            self.lon0 + x / self.m_per_deg_lon,
            self.lat0 + y / self.m_per_deg_lat,
        )
    }

    pub(crate) fn to_metres(self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.lon0) * self.m_per_deg_lon,
            (lat - self.lat0) * self.m_per_deg_lat,
        )
    }
}

pub(crate) type P = (f64, f64);

/// The world inside the area: `[west, east] x [south, north]` in local metres.
#[derive(Debug, Clone)]
pub(crate) struct Rect {
    pub(crate) west: f64,
    pub(crate) south: f64,
    pub(crate) east: f64,
    pub(crate) north: f64,
    /// Local x of the area's inner tile column edges (may be empty).
    pub(crate) edges_x: Vec<f64>,
    /// Local y of the area's inner tile row edges, north to south (may be empty).
    pub(crate) edges_y: Vec<f64>,
    /// Column and row of the area's north-west z14 tile, and the area's size in tiles.
    pub(crate) x0: u32,
    pub(crate) y0: u32,
    pub(crate) wide: u32,
    pub(crate) high: u32,
}

impl Rect {
    pub(crate) fn contains(&self, p: P) -> bool {
        (self.west..=self.east).contains(&p.0) && (self.south..=self.north).contains(&p.1)
    }
}

/// Places images every `spacing` metres (±10%) along `route`, `lane` metres to the right of
/// the direction of travel. Returns positions and travel bearings (degrees from north).
fn place_along(route: &[P], spacing: f64, lane: f64, rng: &mut Rng) -> Vec<(P, f64)> {
    let mut out = Vec::new();
    let mut carry = 0.0; // distance into the current segment of the next image
    for w in route.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy);
        if len <= f64::EPSILON {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        let bearing = ux.atan2(uy).to_degrees().rem_euclid(360.0);
        let mut s = carry;
        while s < len {
            let p = (a.0 + ux * s + uy * lane, a.1 + uy * s - ux * lane);
            out.push((p, bearing));
            s += spacing * rng.range(0.9, 1.1);
        }
        carry = s - len;
    }
    out
}

/// Everything the generator placed.
pub(crate) struct World {
    pub(crate) sequences: Vec<Sequence>,
    pub(crate) points: Vec<MapFeature>,
    pub(crate) traffic_signs: Vec<MapFeature>,
}

fn base62(rng: &mut Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len).map(|_| char::from(*rng.pick(ALPHABET))).collect()
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub(crate) fn build(spec: &SampleSpec, frame: Frame, rect: &Rect) -> World {
    let streets = Streets::build(frame, rect);

    // A handful of creators; organizations come from a few of them.
    let mut people = Rng::new(spec.seed, 2);
    let creators: Vec<u64> = (0..6)
        .map(|_| people.int(100_000_000_000_000, 999_999_999_999_999))
        .collect();
    let orgs: Vec<u64> = (0..3)
        .map(|_| people.int(100_000_000_000_000, 999_999_999_999_999))
        .collect();

    let mut rng = Rng::new(spec.seed, 3);
    let mut next_image_id = rng.int(100_000_000_000_000, 500_000_000_000_000);
    let mut sequences = Vec::with_capacity(spec.sequences);
    // Every 8th image position, to place map features beside.
    let mut spots: Vec<(P, f64)> = Vec::new();
    // The first sequences start in each tile with streets in turn, so every tile has imagery.
    let starts: Vec<usize> = streets
        .by_tile
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| t[t.len() / 2])
        .collect();
    // An area without streets, or too small for any route, gives up instead of looping forever.
    let mut attempts = 0usize;
    while !streets.is_empty()
        && sequences.len() < spec.sequences
        && attempts < spec.sequences.saturating_mul(50)
    {
        attempts += 1;
        let k = sequences.len();
        let walked = rng.chance(0.15);
        let from = match starts.get(k) {
            Some(&s) => s,
            None => streets.any_node(&mut rng),
        };
        let length = if walked {
            rng.range(150.0, 600.0)
        } else {
            rng.range(300.0, 2200.0)
        };
        let route = streets.route(from, length, &mut rng);
        let (spacing, lane, speed) = if walked {
            (spec.image_spacing_metres * 0.7, 7.0, rng.range(1.2, 1.6))
        } else {
            (
                spec.image_spacing_metres * rng.range(0.9, 1.3),
                3.0,
                rng.range(7.0, 15.0),
            )
        };
        let placed = place_along(&route, spacing, lane, &mut rng);
        if placed.len() < 2 {
            continue;
        }
        spots.extend(placed.iter().step_by(8).copied());
        let creator = rng.index(creators.len());
        let organization_id = rng.chance(0.4).then(|| orgs[creator % orgs.len()]);
        // A few sequences have no capture time at all, as real ones sometimes do.
        let start = if k % 29 == 7 {
            0
        } else {
            // More capture in recent years, as on Mapillary: the density of days grows
            // linearly over the span (the square root of a uniform draw).
            let days = ((CAPTURE_TO_MS - CAPTURE_FROM_MS) / DAY_MS) as f64;
            let day = ((days * rng.f64().sqrt()) as i64).min(days as i64 - 1);
            // 14:00-23:00 UTC is daytime in Colorado.
            CAPTURE_FROM_MS + day * DAY_MS + rng.int(14 * 3_600_000, 23 * 3_600_000) as i64
        };
        let frame_ms = (spacing / speed * 1000.0).round() as i64;
        // Two sequences carry image ids above 2^53, which float64 readers round.
        let huge_ids = k == 5 || k == 40;
        // Odd, and stepping by even numbers: every one of them is a value a float64 cannot hold.
        let mut huge_next = (ABOVE_2_53 + rng.int(0, 1 << 40)) | 1;
        // Reconstruction moves a whole sequence a little, and each image a little more.
        let shift_angle = rng.range(0.0, std::f64::consts::TAU);
        let shift = rng.range(0.3, 1.0) * spec.computed_shift_metres;
        let (sx, sy) = (shift * shift_angle.cos(), shift * shift_angle.sin());
        let images = placed
            .into_iter()
            .enumerate()
            .map(|(i, ((x, y), bearing))| {
                let (gx, gy) = (x + rng.normal(0.7), y + rng.normal(0.7));
                let (lon, lat) = frame.to_lon_lat(gx, gy);
                let (computed_lon, computed_lat) =
                    frame.to_lon_lat(gx + sx + rng.normal(0.3), gy + sy + rng.normal(0.3));
                let compass_angle = round2((bearing + rng.normal(2.0)).rem_euclid(360.0));
                let computed_compass_angle =
                    round2((compass_angle + rng.normal(1.5)).rem_euclid(360.0));
                let id = if huge_ids {
                    huge_next += rng.int(1, 9) * 2;
                    huge_next
                } else {
                    next_image_id += rng.int(1, 5_000);
                    next_image_id
                };
                Image {
                    id,
                    lon,
                    lat,
                    computed_lon,
                    computed_lat,
                    compass_angle,
                    computed_compass_angle,
                    captured_at: if start == 0 {
                        0
                    } else {
                        start + i as i64 * frame_ms
                    },
                }
            })
            .collect();
        sequences.push(Sequence {
            id: base62(&mut rng, 22),
            creator_id: creators[creator],
            organization_id,
            is_pano: false,
            walked,
            listed: k % 40 != 13,
            images,
        });
    }
    // Real tiles hold compass angles above 360 (such as 361.39); put one in.
    if let Some(image) = sequences.get_mut(1).and_then(|s| s.images.get_mut(3)) {
        image.compass_angle = 361.39;
    }
    mark_panoramas(&mut sequences, &mut Rng::new(spec.seed, 4));

    if spots.is_empty() {
        // No sequences: features go near the area's centre.
        spots.push((
            (
                (rect.west + rect.east) / 2.0,
                (rect.south + rect.north) / 2.0,
            ),
            0.0,
        ));
    }
    let mut rng = Rng::new(spec.seed, 5);
    let traffic_signs = (0..spec.traffic_signs)
        .map(|_| {
            let p = beside_imagery(&spots, rect, &mut rng);
            let value = if rng.chance(0.25) {
                "regulatory--stop--g1"
            } else {
                *rng.pick(classes::TRAFFIC_SIGNS)
            };
            map_feature(frame, p, value, &mut rng)
        })
        .collect();
    let mut rng = Rng::new(spec.seed, 6);
    let points = (0..spec.points)
        .map(|_| {
            let value = *rng.pick(classes::POINTS);
            let p = beside_imagery(&spots, rect, &mut rng);
            map_feature(frame, p, value, &mut rng)
        })
        .collect();
    World {
        sequences,
        points,
        traffic_signs,
    }
}

/// Marks whole sequences as panoramas, in a seeded order, until about 10% of the images are.
fn mark_panoramas(sequences: &mut [Sequence], rng: &mut Rng) {
    let total: usize = sequences.iter().map(|s| s.images.len()).sum();
    let target = total as f64 * 0.10;
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.index(i + 1));
    }
    let mut pano = 0usize;
    for k in order {
        let n = sequences[k].images.len();
        if (pano + n) as f64 <= target * 1.05 {
            sequences[k].is_pano = true;
            pano += n;
        }
    }
}

/// A point a few metres to the side of the road at a random image: features are detected
/// in imagery, so they lie along the sequences.
fn beside_imagery(spots: &[(P, f64)], rect: &Rect, rng: &mut Rng) -> P {
    loop {
        let ((x, y), bearing) = *rng.pick(spots);
        let (ux, uy) = (bearing.to_radians().sin(), bearing.to_radians().cos());
        let side = if rng.chance(0.5) { 1.0 } else { -1.0 } * rng.range(5.0, 12.0);
        let along = rng.normal(5.0);
        let p = (x + ux * along + uy * side, y + uy * along - ux * side);
        if rect.contains(p) {
            return p;
        }
    }
}

fn map_feature(frame: Frame, p: P, value: &'static str, rng: &mut Rng) -> MapFeature {
    let (lon, lat) = frame.to_lon_lat(p.0, p.1);
    let id = if rng.chance(0.03) {
        ABOVE_2_53 + rng.int(0, 1 << 61)
    } else {
        rng.int(100_000_000_000_000, 999_999_999_999_999)
    };
    let first_seen_at = rng.int(SEEN_FROM_MS as u64, (CAPTURE_TO_MS - DAY_MS) as u64) as i64;
    let last_seen_at = rng.int(first_seen_at as u64, (CAPTURE_TO_MS - 1) as u64) as i64;
    MapFeature {
        id,
        value,
        lon,
        lat,
        first_seen_at,
        last_seen_at,
    }
}
