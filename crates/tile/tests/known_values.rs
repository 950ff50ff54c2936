//! Known values (reference numbers computed independently with 40-digit
//! arithmetic, or published by Bing Maps / mercantile) and round trips over
//! deterministic grids.

use std::collections::HashSet;

use mlytiles_tile::{
    BBox, MAX_LATITUDE, TileCover, TileId, TileTransform, lon_lat_to_tile_fraction,
};

const TOL: f64 = 1e-9;

fn tile(z: u8, x: u32, y: u32) -> TileId {
    TileId::new(z, x, y).unwrap()
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < TOL,
        "{what}: {actual} != {expected}"
    );
}

fn assert_bounds(b: BBox, [w, s, e, n]: [f64; 4]) {
    assert_close(b.west(), w, "west");
    assert_close(b.south(), s, "south");
    assert_close(b.east(), e, "east");
    assert_close(b.north(), n, "north");
}

#[test]
fn grand_junction_bounds() {
    let t = tile(14, 3251, 6257);
    assert_bounds(
        t.bounds(),
        [
            -108.56689453125,
            39.061_849_134_291_535,
            -108.544921875,
            39.078_908_097_064_75,
        ],
    );
    assert_eq!(TileId::from_lon_lat(-108.55, 39.07, 14).unwrap(), t);
    let (fx, fy) = lon_lat_to_tile_fraction(-108.55, 39.07, 14);
    assert_close(fx, 3_251.768_888_888_889, "fx");
    assert_close(fy, 6_257.522_224_684_687, "fy");
}

#[test]
fn mercantile_readme_bounds() {
    assert_bounds(
        tile(10, 486, 332).bounds(),
        [-9.140625, 53.120405283106564, -8.7890625, 53.33087298301705],
    );
}

#[test]
fn root_and_first_zoom() {
    assert_bounds(
        TileId::ROOT.bounds(),
        [-180.0, -MAX_LATITUDE, 180.0, MAX_LATITUDE],
    );
    assert_close(MAX_LATITUDE, 85.05112877980659, "max latitude");
    assert_eq!(TileId::from_lon_lat(0.0, 0.0, 1).unwrap(), tile(1, 1, 1));
    assert_eq!(TileId::from_lon_lat(-0.1, 0.1, 1).unwrap(), tile(1, 0, 0));
    assert_bounds(tile(1, 1, 1).bounds(), [0.0, -MAX_LATITUDE, 180.0, 0.0]);
}

#[test]
fn tile_local_points() {
    let t = tile(14, 3251, 6257);
    let tr = TileTransform::new(t, 4096).unwrap();
    for (local, expected) in [
        ((1024.0, 3072.0), (-108.5614013671875, 39.066114261537837)),
        // A buffer point outside the tile.
        (
            (-64.0, 4160.0),
            (-108.567_237_854_003_9, 39.061_582_555_282_49),
        ),
    ] {
        for (lon, lat) in [
            tr.to_lon_lat(local.0, local.1),
            t.to_lon_lat(local.0, local.1, 4096),
        ] {
            assert_close(lon, expected.0, "lon");
            assert_close(lat, expected.1, "lat");
        }
    }
    // Corners are the bounds.
    let b = t.bounds();
    let (w, n) = t.to_lon_lat(0.0, 0.0, 4096);
    let (e, s) = t.to_lon_lat(4096.0, 4096.0, 4096);
    assert_bounds(
        BBox::new(w, s, e, n).unwrap(),
        [b.west(), b.south(), b.east(), b.north()],
    );
}

#[test]
fn bing_quadkeys() {
    assert_eq!(tile(3, 3, 5).quadkey(), "213");
    assert_eq!(TileId::from_quadkey("213").unwrap(), tile(3, 3, 5));
    assert_eq!(TileId::ROOT.quadkey(), "");
    assert_eq!(tile(1, 0, 0).quadkey(), "0");
    assert_eq!(tile(1, 1, 0).quadkey(), "1");
    assert_eq!(tile(1, 0, 1).quadkey(), "2");
    assert_eq!(tile(1, 1, 1).quadkey(), "3");
    let deep = tile(30, (1 << 30) - 1, 0);
    assert_eq!(deep.quadkey(), "1".repeat(30));
}

#[test]
fn tms_rows() {
    assert_eq!(tile(14, 3251, 6257).tms_y(), 16383 - 6257);
    assert_eq!(tile(14, 3251, 6257).flip_y(), tile(14, 3251, 10126));
}

/// Deterministic grid of lon/lat points inside the Mercator square.
fn grid() -> impl Iterator<Item = (f64, f64)> {
    (0..=73).flat_map(|i| {
        (0..=41).map(move |j| {
            let lon = -180.0 + f64::from(i) * 4.931_7;
            let lat = -85.0 + f64::from(j) * 4.146_3;
            (lon.min(180.0), lat)
        })
    })
}

#[test]
fn lon_lat_tile_bounds_round_trip() {
    for z in [0u8, 1, 2, 5, 9, 14, 20, 26, 30] {
        for (lon, lat) in grid() {
            let t = TileId::from_lon_lat(lon, lat, z).unwrap();
            assert!(t.bounds().contains(lon, lat), "{lon},{lat} not in {t}");
            let (fx, fy) = lon_lat_to_tile_fraction(lon, lat, z);
            // Longitude 180 has fraction 2^z but belongs to the last column.
            let last = (1u32 << z) - 1;
            assert_eq!((fx.floor() as u32).min(last), t.x(), "{lon},{lat} z{z}");
            assert_eq!(fy.floor() as u32, t.y(), "{lon},{lat} z{z}");
            // Back from tile-local coordinates.
            let tr = TileTransform::new(t, 4096).unwrap();
            let (x, y) = tr.to_local(lon, lat);
            let (lon2, lat2) = tr.to_lon_lat(x, y);
            assert_close(lon2, lon, "lon");
            assert_close(lat2, lat, "lat");
            assert!((-1e-6..=4096.0 + 1e-6).contains(&x), "{x}");
            assert!((-1e-6..=4096.0 + 1e-6).contains(&y), "{y}");
            if let Some(p) = t.parent() {
                assert_eq!(TileId::from_lon_lat(lon, lat, z - 1).unwrap(), p);
            }
        }
    }
}

#[test]
fn display_from_str_and_quadkey_round_trips() {
    for z in 0..=30u8 {
        let max = (1u32 << z) - 1;
        for x in [0, max / 3, max / 2, max] {
            for y in [0, max / 7, max] {
                let t = tile(z, x, y);
                assert_eq!(t.to_string().parse::<TileId>().unwrap(), t);
                assert_eq!(t.to_string(), format!("{z}/{x}/{y}"));
                assert_eq!(TileId::from_quadkey(&t.quadkey()).unwrap(), t);
                assert_eq!(t.quadkey().len(), usize::from(z));
                assert_eq!(t.flip_y().flip_y(), t);
                assert_eq!(t.ancestor_at(0), Some(TileId::ROOT));
                if let Some(children) = t.children() {
                    assert!(children.iter().all(|c| c.parent() == Some(t)));
                }
            }
        }
    }
    for s in [
        "179,-1,-179,1",
        "5.87,47.27,15.04,55.06",
        "-180,-90,180,90",
        "0.1,0.2,0.3,0.4",
    ] {
        let b: BBox = s.parse().unwrap();
        assert_eq!(b.to_string(), s);
    }
}

#[test]
fn error_messages() {
    let e = |r: Result<TileId, mlytiles_tile::Error>| r.unwrap_err().to_string();
    assert_eq!(e(TileId::new(31, 0, 0)), "zoom 31 is above the maximum 30");
    assert_eq!(e(TileId::new(3, 9, 0)), "x 9 is outside 0..8 at zoom 3");
    assert_eq!(e(TileId::new(3, 0, 8)), "y 8 is outside 0..8 at zoom 3");
    assert_eq!(
        e("14/abc/1".parse()),
        "cannot parse tile id \"14/abc/1\": x is not a number"
    );
    assert_eq!(
        e(TileId::from_lon_lat(0.0, f64::NAN, 3)),
        "latitude NaN is not a finite number"
    );
    assert_eq!(
        e(TileId::from_lon_lat(f64::NEG_INFINITY, 0.0, 3)),
        "longitude -inf is not a finite number"
    );
    assert_eq!(
        e(TileId::from_quadkey("21x")),
        "cannot parse quadkey \"21x\": 'x' at position 2 is not a digit 0-3"
    );
    assert_eq!(
        "1,2,3".parse::<BBox>().unwrap_err().to_string(),
        "cannot parse bbox \"1,2,3\": expected 4 comma-separated numbers W,S,E,N, found 3"
    );
    assert_eq!(
        BBox::new(-181.0, 0.0, 0.0, 0.0).unwrap_err().to_string(),
        "west -181 is outside -180..=180"
    );
}

#[test]
fn out_of_range_inputs_do_not_panic() {
    let values = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN,
        -1e300,
        -540.0,
        -180.0,
        -90.0,
        -0.0,
        0.0,
        90.0,
        180.0,
        360.0,
        1e-300,
    ];
    for &lon in &values {
        for &lat in &values {
            for z in [0u8, 1, 30, 31, 255] {
                let r = TileId::from_lon_lat(lon, lat, z);
                assert_eq!(r.is_ok(), lon.is_finite() && lat.is_finite() && z <= 30);
                let _ = lon_lat_to_tile_fraction(lon, lat, z);
                let _ = TileId::ROOT.to_lon_lat(lon, lat, 4096);
                if let Ok(b) = BBox::new(lon, lat, -lon, lat) {
                    let _ = TileCover::new(b, z).map(|c| c.len());
                }
            }
        }
    }
    // Longitude wraps, latitude clamps.
    assert_eq!(TileId::from_lon_lat(181.0, 89.0, 2).unwrap(), tile(2, 0, 0));
    assert_eq!(
        TileId::from_lon_lat(180.0, -89.0, 2).unwrap(),
        tile(2, 3, 3)
    );
}

#[test]
fn antimeridian_cover() {
    let bbox = BBox::new(179.0, -1.0, -179.0, 1.0).unwrap();
    assert!(bbox.crosses_antimeridian());
    let cover = TileCover::new(bbox, 4).unwrap();
    let len = cover.len();
    let tiles: Vec<TileId> = cover.collect();
    assert_eq!(tiles.len(), len);
    assert_eq!(
        tiles,
        [tile(4, 15, 7), tile(4, 0, 7), tile(4, 15, 8), tile(4, 0, 8)]
    );
    assert_eq!(TileCover::tile_count(bbox, 4).unwrap(), 4);
    // Wider: both pieces hold several columns, and every tile touches the box.
    let bbox = BBox::new(170.0, -20.0, -160.0, 10.0).unwrap();
    for z in 0..=8 {
        let cover = TileCover::new(bbox, z).unwrap();
        let len = cover.len();
        let tiles: Vec<TileId> = cover.collect();
        assert_eq!(tiles.len(), len);
        assert_eq!(tiles.iter().collect::<HashSet<_>>().len(), len, "z{z}");
        for t in &tiles {
            let b = t.bounds();
            let lon_overlap = b.east() >= 170.0 || b.west() <= -160.0;
            assert!(
                lon_overlap && b.south() <= 10.0 && b.north() >= -20.0,
                "{t}"
            );
        }
    }
}

#[test]
fn germany_at_z14_is_counted_without_iterating() {
    let germany: BBox = "5.87,47.27,15.04,55.06".parse().unwrap();
    let cover = TileCover::new(germany, 14).unwrap();
    // Columns 8459..=8876 and rows 5177..=5744.
    assert_eq!(cover.len(), 418 * 568);
    assert!((200_000..300_000).contains(&cover.len()));
    assert_eq!(TileCover::tile_count(germany, 14).unwrap(), 237_424);
    assert_eq!(cover.clone().next(), Some(tile(14, 8459, 5177)));
    assert_eq!(cover.clone().last(), Some(tile(14, 8876, 5744)));
    // z30 would be 2^32 times larger; still O(1).
    assert!(TileCover::tile_count(germany, 30).unwrap() > 1u64 << 40);
}

#[test]
fn small_cover_yields_len_unique_tiles_containing_every_point() {
    let bbox = BBox::new(5.87, 47.27, 15.04, 55.06).unwrap();
    for z in 0..=9 {
        let cover = TileCover::new(bbox, z).unwrap();
        let len = cover.len();
        let tiles: HashSet<TileId> = cover.collect();
        assert_eq!(tiles.len(), len, "z{z}");
        for i in 0..=40 {
            for j in 0..=40 {
                let lon = 5.87 + (15.04 - 5.87) * f64::from(i) / 40.0;
                let lat = 47.27 + (55.06 - 47.27) * f64::from(j) / 40.0;
                let t = TileId::from_lon_lat(lon, lat, z).unwrap();
                // Points on the east/south edge may sit in the next tile only
                // when that edge lies exactly on a tile edge, not the case here.
                assert!(tiles.contains(&t), "z{z}: {t} missing");
            }
        }
    }
}
