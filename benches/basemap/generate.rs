//! The generator of `fixtures/basemap/`: large z14 tiles laid out like OpenMapTiles' (layers
//! `water`, `landuse`, `building`, `transportation`, `place`, `housenumber`, `poi`, their
//! attributes and value distributions), written by `mlytiles_mvt::TileBuilder`. They are the
//! kind of tile the issue-15 measurements found mlytiles slowest on: 200-800 KB, value tables
//! of thousands of entries, long names in Latin, Cyrillic, CJK and Arabic scripts, and mostly
//! polygons with holes.
//!
//! No real map data: every shape, name and number comes from a fixed seed through integer
//! arithmetic only (no floating point, no platform maths), so the bytes are the same on every
//! machine. `tests/basemap_fixture.rs` keeps the committed files in step with this generator.

use mlytiles_mvt::geo_types::{Geometry, LineString, MultiLineString, Point, Polygon};
use mlytiles_mvt::{TileBuilder, Value};

/// One tile of the corpus: its file name in `fixtures/basemap/` (gzipped) and what it imitates.
pub struct Spec {
    /// File name, `<city>.mvt.gz`.
    pub file: &'static str,
    /// The script most local names are written in.
    script: Script,
    /// Roughly how many bytes the tile should have (features are added until it does).
    target_bytes: usize,
    seed: u64,
}

/// The corpus: five cities' worth of dense z14 tiles, 2.3 MB uncompressed in all.
pub const SPECS: [Spec; 5] = [
    Spec {
        file: "berlin.mvt.gz",
        script: Script::Latin,
        target_bytes: 560_000,
        seed: 1,
    },
    Spec {
        file: "moscow.mvt.gz",
        script: Script::Cyrillic,
        target_bytes: 450_000,
        seed: 2,
    },
    Spec {
        file: "tokyo.mvt.gz",
        script: Script::Cjk,
        target_bytes: 760_000,
        seed: 3,
    },
    Spec {
        file: "cairo.mvt.gz",
        script: Script::Arabic,
        target_bytes: 330_000,
        seed: 4,
    },
    Spec {
        file: "suburb.mvt.gz",
        script: Script::Latin,
        target_bytes: 220_000,
        seed: 5,
    },
];

#[derive(Clone, Copy, PartialEq)]
enum Script {
    Latin,
    Cyrillic,
    Cjk,
    Arabic,
}

impl Script {
    fn syllables(self) -> &'static [&'static str] {
        match self {
            Script::Latin => &[
                "ber", "lin", "kö", "nigs", "wald", "bach", "dorf", "al", "ten", "lin", "den",
                "burg", "heim", "rosen", "thal", "schön", "hau", "sen", "gar", "feld", "mar", "kt",
                "brü", "cke", "stein", "wie", "se", "hof", "lich", "ten", "berg",
            ],
            Script::Cyrillic => &[
                "мос", "ква", "ле", "нин", "ская", "пуш", "кин", "ар", "бат", "твер", "са", "дов",
                "ая", "ки", "ев", "сок", "оль", "ни", "ки", "бе", "рёз", "ов", "ка", "чис", "тые",
                "пру", "ды", "лу", "бян", "щик",
            ],
            Script::Cjk => &[
                "東", "京", "新", "宿", "渋", "谷", "中", "山", "北", "南", "大", "小", "田", "川",
                "橋", "町", "寺", "神", "社", "銀", "座", "浅", "草", "上", "野", "池", "袋", "品",
                "目", "黒", "赤", "坂",
            ],
            Script::Arabic => &[
                "القا",
                "هرة",
                "شا",
                "رع",
                "الن",
                "يل",
                "الأز",
                "هر",
                "مدي",
                "نة",
                "حي",
                "الزما",
                "لك",
                "جيزة",
                "معا",
                "دي",
                "شبرا",
                "عبا",
                "سية",
                "دقي",
                "مهند",
                "سين",
                "تحرير",
                "رمسيس",
            ],
        }
    }

    /// Words that make a name a street's, a café's, a station's...
    fn kinds(self) -> &'static [&'static str] {
        match self {
            Script::Latin => &[
                "Straße",
                "Platz",
                "Café",
                "Apotheke",
                "Bäckerei",
                "Kirche",
                "Bahnhof",
                "Grundschule",
                "Buchhandlung",
                "Allee",
                "Weg",
                "Ufer",
            ],
            Script::Cyrillic => &[
                "улица",
                "площадь",
                "кафе",
                "аптека",
                "пекарня",
                "церковь",
                "вокзал",
                "школа",
                "книжный магазин",
                "проспект",
                "переулок",
                "набережная",
            ],
            Script::Cjk => &[
                "通り",
                "広場",
                "カフェ",
                "薬局",
                "ベーカリー",
                "神社",
                "駅",
                "小学校",
                "書店",
                "大通り",
                "公園",
                "病院",
            ],
            Script::Arabic => &[
                "شارع",
                "ميدان",
                "مقهى",
                "صيدلية",
                "مخبز",
                "مسجد",
                "محطة",
                "مدرسة",
                "مكتبة",
                "طريق",
                "حارة",
                "كورنيش",
            ],
        }
    }
}

/// SplitMix64: a tiny, well-known generator (fixed seed, integers only), so the corpus
/// depends on nothing but this file.
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

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// A word of `parts` syllables.
    fn word(&mut self, script: Script, parts: i64) -> String {
        let mut w = String::new();
        for _ in 0..parts {
            w.push_str(self.pick(script.syllables()));
        }
        if script == Script::Latin {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            w = first.unwrap_or_default() + chars.as_str();
        }
        w
    }
}

/// Tile coordinates reach 64 units over the edge, as OpenMapTiles' buffer does.
const LO: i64 = -64;
const HI: i64 = 4096 + 64;

/// A star-shaped ring around `(cx, cy)`: `n` points spread along the perimeter of a
/// `2hw x 2hh` rectangle, each pulled towards the centre by up to `pull` per mille. Angles
/// only grow along the perimeter, so the ring never crosses itself.
fn ring(
    rng: &mut Rng,
    (cx, cy): (i64, i64),
    (hw, hh): (i64, i64),
    n: i64,
    pull: i64,
) -> LineString<i32> {
    let perimeter = 4 * (hw + hh);
    let points = (0..n).map(|i| {
        let d = perimeter * i / n;
        // Clockwise in screen space from the top-left corner.
        let (x, y) = if d < 2 * hw {
            (-hw + d, -hh)
        } else if d < 2 * hw + 2 * hh {
            (hw, -hh + d - 2 * hw)
        } else if d < 4 * hw + 2 * hh {
            (hw - (d - 2 * hw - 2 * hh), hh)
        } else {
            (-hw, hh - (d - 4 * hw - 2 * hh))
        };
        let keep = 1000 - rng.range(0, pull + 1);
        let px = (cx + x * keep / 1000).clamp(LO, HI) as i32;
        let py = (cy + y * keep / 1000).clamp(LO, HI) as i32;
        (px, py)
    });
    let mut ring: Vec<(i32, i32)> = points.collect();
    ring.push(ring[0]);
    LineString::from(ring)
}

/// A polygon with `g * g` holes on a grid inside its inner 60%, each smaller than a grid cell.
fn polygon(rng: &mut Rng, c: (i64, i64), (hw, hh): (i64, i64), n: i64, g: i64) -> Polygon<i32> {
    let outer = ring(rng, c, (hw, hh), n, 200);
    let mut holes = Vec::new();
    for i in 0..g {
        for j in 0..g {
            // Hole centres on a grid over [-0.6, 0.6] of the half sizes; half size 0.2 / g.
            let ox = c.0 + hw * (12 * (2 * i + 1) - 12 * g) / (20 * g);
            let oy = c.1 + hh * (12 * (2 * j + 1) - 12 * g) / (20 * g);
            let size = ((hw / (5 * g)).max(4), (hh / (5 * g)).max(4));
            let points = rng.range(6, 14);
            holes.push(ring(rng, (ox, oy), size, points, 300));
        }
    }
    Polygon::new(outer, holes)
}

fn centre(rng: &mut Rng) -> (i64, i64) {
    (rng.range(0, 4096), rng.range(0, 4096))
}

/// A centre for a shape of half sizes `(hw, hh)` that keeps it inside the buffer, so no ring
/// is flattened against the edge.
fn centre_within(rng: &mut Rng, (hw, hh): (i64, i64)) -> (i64, i64) {
    (rng.range(LO + hw, HI - hw), rng.range(LO + hh, HI - hh))
}

/// A name in OpenMapTiles' fields: `name` in the local script, `name:latin` always, and
/// `name:nonlatin`, `name_en`, `name_de`, `name_int` as OSM data would often have them. One
/// name in eight is in another script than the tile's, as immigrant shops and embassies are.
fn names(rng: &mut Rng, script: Script) -> Vec<(&'static str, String)> {
    let script = if rng.chance(12) {
        rng.pick(&[Script::Latin, Script::Cyrillic, Script::Cjk, Script::Arabic])
    } else {
        script
    };
    let parts = rng.range(2, 5);
    let local = format!("{} {}", rng.word(script, parts), rng.pick(script.kinds()));
    let latin = if script == Script::Latin {
        local.clone()
    } else {
        format!(
            "{} {}",
            rng.word(Script::Latin, parts),
            rng.pick(Script::Latin.kinds())
        )
    };
    let mut out = vec![("name", local.clone()), ("name:latin", latin.clone())];
    if script != Script::Latin {
        out.push(("name:nonlatin", local.clone()));
    }
    if rng.chance(60) {
        out.push(("name_en", latin.clone()));
    }
    if rng.chance(40) {
        out.push(("name_de", latin.clone()));
    }
    out.push(("name_int", format!("{latin} / {local}")));
    out
}

fn add(
    tile: &mut TileBuilder,
    layer: &str,
    id: u64,
    geometry: Geometry<i32>,
    props: &[(&str, Value<'_>)],
) {
    tile.layer(layer)
        .add_feature(Some(id), &geometry, props.iter().copied())
        .expect("generated feature is valid");
}

const LANDUSE: [&str; 10] = [
    "residential",
    "commercial",
    "industrial",
    "retail",
    "cemetery",
    "hospital",
    "school",
    "university",
    "railway",
    "stadium",
];
const ROADS: [(&str, &str); 10] = [
    ("motorway", "motorway"),
    ("trunk", "trunk"),
    ("primary", "primary"),
    ("secondary", "secondary"),
    ("tertiary", "tertiary"),
    ("minor", "residential"),
    ("minor", "unclassified"),
    ("service", "service"),
    ("path", "footway"),
    ("rail", "rail"),
];
const POI: [(&str, &str); 12] = [
    ("cafe", "cafe"),
    ("shop", "bakery"),
    ("pharmacy", "pharmacy"),
    ("restaurant", "restaurant"),
    ("school", "school"),
    ("place_of_worship", "place_of_worship"),
    ("bus", "bus_stop"),
    ("railway", "station"),
    ("shop", "books"),
    ("fast_food", "fast_food"),
    ("bank", "bank"),
    ("hospital", "hospital"),
];
const COLOURS: [&str; 8] = [
    "#d9d0c9", "#e0d4c8", "#d4c8be", "#cfc3b8", "#e6dcd1", "#d6cbc2", "#dbcfc5", "#c9bdb3",
];

/// One tile's bytes, uncompressed.
pub fn generate(spec: &Spec) -> Vec<u8> {
    let mut rng = Rng(spec.seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let script = spec.script;
    let mut tile = TileBuilder::new();
    let mut id = 1_000_000 * spec.seed;
    let mut next_id = || {
        id += 1;
        id
    };

    // Water: a few large bodies with many vertices and islands.
    for _ in 0..rng.range(3, 7) {
        let size = (rng.range(300, 1200), rng.range(300, 1200));
        let (n, g) = (rng.range(200, 600), rng.range(1, 4));
        let c = centre_within(&mut rng, size);
        let geometry = Geometry::Polygon(polygon(&mut rng, c, size, n, g));
        let class = rng.pick(&["lake", "river", "ocean", "pond"]);
        let mut props = vec![("class", Value::String(class))];
        if rng.chance(20) {
            props.push(("intermittent", Value::Int(1)));
        }
        add(&mut tile, "water", next_id(), geometry, &props);
    }

    // Landuse: blocks of every size, most with holes for the streets' courtyards.
    for _ in 0..rng.range(150, 260) {
        let size = (rng.range(60, 500), rng.range(60, 500));
        let (n, g) = (rng.range(16, 160), rng.range(0, 4));
        let c = centre_within(&mut rng, size);
        let geometry = Geometry::Polygon(polygon(&mut rng, c, size, n, g));
        let class = rng.pick(&LANDUSE);
        add(
            &mut tile,
            "landuse",
            next_id(),
            geometry,
            &[("class", Value::String(class))],
        );
    }

    // Places: districts and neighbourhoods with every name field.
    for _ in 0..rng.range(20, 60) {
        let (x, y) = centre(&mut rng);
        let names = names(&mut rng, script);
        let class = rng.pick(&["suburb", "quarter", "neighbourhood", "village", "town"]);
        let mut props: Vec<(&str, Value)> =
            names.iter().map(|(k, v)| (*k, Value::String(v))).collect();
        props.push(("class", Value::String(class)));
        props.push(("rank", Value::Int(rng.range(1, 20))));
        add(
            &mut tile,
            "place",
            next_id(),
            Geometry::Point(Point::new(x as i32, y as i32)),
            &props,
        );
    }

    // Buildings, streets, house numbers and POIs are added in rounds until the tile is as
    // large as its spec asks.
    while tile.encoded_len() < spec.target_bytes {
        for _ in 0..200 {
            // A fifth of the buildings have courtyards; most are four to twelve corners.
            let g = i64::from(rng.chance(20));
            let least = if g == 1 { 24 } else { 8 };
            let size = (rng.range(least, 60), rng.range(least, 60));
            let c = centre_within(&mut rng, size);
            let n = rng.range(4, 13);
            let geometry = Geometry::Polygon(polygon(&mut rng, c, size, n, g));
            let height = if rng.chance(80) {
                rng.range(3, 30)
            } else {
                rng.range(30, 180)
            };
            let mut props = vec![
                ("render_height", Value::Int(height)),
                (
                    "render_min_height",
                    Value::Int(if rng.chance(90) { 0 } else { rng.range(1, 10) }),
                ),
                ("colour", Value::String(rng.pick(&COLOURS))),
            ];
            if rng.chance(3) {
                props.push(("hide_3d", Value::Bool(true)));
            }
            add(&mut tile, "building", next_id(), geometry, &props);

            // Every building but a few has a house number; most are unique in the tile.
            if rng.chance(85) {
                let number = match rng.next() % 10 {
                    0 => format!(
                        "{}{}",
                        rng.range(1, 400),
                        rng.pick(&["a", "b", "c", "А", "甲"])
                    ),
                    1 => {
                        let from = rng.range(1, 300);
                        format!("{from}-{}", from + rng.range(1, 6))
                    }
                    _ => rng.range(1, 2000).to_string(),
                };
                let p = Point::new(c.0 as i32, c.1 as i32);
                add(
                    &mut tile,
                    "housenumber",
                    next_id(),
                    Geometry::Point(p),
                    &[("housenumber", Value::String(&number))],
                );
            }
        }
        for _ in 0..40 {
            let (class, subclass) = rng.pick(&ROADS);
            let parts = if rng.chance(15) { 2 } else { 1 };
            let lines: Vec<LineString<i32>> = (0..parts)
                .map(|_| {
                    let (mut x, mut y) = centre(&mut rng);
                    let (dx, dy) = (rng.range(-60, 61), rng.range(-60, 61));
                    let points: Vec<(i32, i32)> = (0..rng.range(2, 25))
                        .map(|_| {
                            x = (x + dx + rng.range(-20, 21)).clamp(LO, HI);
                            y = (y + dy + rng.range(-20, 21)).clamp(LO, HI);
                            (x as i32, y as i32)
                        })
                        .collect();
                    LineString::from(points)
                })
                .collect();
            let geometry = if parts == 1 {
                Geometry::LineString(lines.into_iter().next().expect("one part"))
            } else {
                Geometry::MultiLineString(MultiLineString::new(lines))
            };
            let mut props = vec![
                ("class", Value::String(class)),
                ("subclass", Value::String(subclass)),
            ];
            if rng.chance(30) {
                props.push(("oneway", Value::Int(if rng.chance(90) { 1 } else { -1 })));
            }
            if rng.chance(10) {
                props.push(("brunnel", Value::String(rng.pick(&["bridge", "tunnel"]))));
                props.push(("layer", Value::Int(rng.range(-2, 3))));
            }
            if rng.chance(50) {
                props.push(("surface", Value::String(rng.pick(&["paved", "unpaved"]))));
            }
            add(&mut tile, "transportation", next_id(), geometry, &props);
        }
        for _ in 0..30 {
            let (x, y) = centre(&mut rng);
            let (class, subclass) = rng.pick(&POI);
            let names = names(&mut rng, script);
            let mut props: Vec<(&str, Value)> =
                names.iter().map(|(k, v)| (*k, Value::String(v))).collect();
            props.push(("class", Value::String(class)));
            props.push(("subclass", Value::String(subclass)));
            props.push(("rank", Value::Int(rng.range(1, 60))));
            if rng.chance(10) {
                props.push(("level", Value::Int(rng.range(0, 5))));
                props.push(("indoor", Value::Int(1)));
            }
            add(
                &mut tile,
                "poi",
                next_id(),
                Geometry::Point(Point::new(x as i32, y as i32)),
                &props,
            );
        }
    }
    tile.into_bytes()
}
