//! Filtering speed: a compiled mlytiles filter beside the same selection made by decoding with
//! mvt-reader 2.5 and testing its property maps, on the same bytes, in the same run.
//!
//! Corpus: the real Mapillary tiles with a known tile id in `fixtures/mapillary/`. Filter:
//! captured 2016-01-01..2023-12-31, flat images (`is_pano` false), organization `none` (no
//! readable `organization_id`), over the `image` layer; then the same with a bbox
//! (`11.99,50.0,11.99722,50.05`: about half of the surfaceai tile's images). Throughput is in
//! image features. Each path parses the tile, finds the `image` layer and tests every feature, per
//! iteration; the mlytiles path also compiles the filter for each layer each time.
//!
//! Before timing, the bench asserts that both paths select the same number of features.
//!
//! Run: `cargo bench --bench filter`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlytiles_filter::chrono::{TimeZone, Utc};
use mlytiles_filter::{Area, CompiledFilter, DateRange, Filter, ImageType, Organizations};
use mlytiles_mvt::Tile;
use mlytiles_tile::{BBox, TileId, TileTransform};

/// The real tiles whose z/x/y is known: (tile id, uncompressed bytes).
fn tiles() -> Vec<(TileId, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/mapillary");
    assert!(
        dir.is_dir(),
        "{} is missing: it is part of the repository (see fixtures/README.md)",
        dir.display()
    );
    [
        ("josm_mly1_public_14_3251_6257.mvt", (14, 3251, 6257)),
        ("josm_mly1_public_14_3251_6258.mvt", (14, 3251, 6258)),
        ("josm_mly1_public_14_3252_6258.mvt", (14, 3252, 6258)),
        ("surfaceai_mly1_public_14_8738_5555.mvt", (14, 8738, 5555)),
    ]
    .into_iter()
    .map(|(name, (z, x, y))| {
        let raw = std::fs::read(dir.join(name)).expect("read tile");
        let bytes = mlytiles_mvt::decompress(&raw, mlytiles_mvt::DEFAULT_MAX_DECOMPRESSED)
            .expect("decompress")
            .into_owned();
        (TileId::new(z, x, y).unwrap(), bytes)
    })
    .collect()
}

/// The capture range in UTC ms, both ends inclusive.
const RANGE: &str = "2016-01-01..2023-12-31";

fn filter(bbox: Option<BBox>) -> Filter {
    Filter {
        captured: Some(RANGE.parse().unwrap()),
        image_type: ImageType::Flat,
        organizations: Some(Organizations {
            ids: Vec::new(),
            none: true,
        }),
        area: bbox.map(Area::BBox),
        ..Filter::default()
    }
}

fn mlytiles_count(tiles: &[(TileId, Vec<u8>)], filter: &Filter) -> usize {
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut n = 0;
    for (id, bytes) in tiles {
        let tile = Tile::new(black_box(bytes)).unwrap();
        let Some(layer) = tile.layer("image").unwrap() else {
            continue;
        };
        let compiled = CompiledFilter::for_layer(filter, &layer, Some(*id), now).unwrap();
        for feature in layer.features() {
            n += usize::from(compiled.matches(&feature.unwrap()));
        }
    }
    n
}

/// The same selection from mvt-reader's decoded features: its property maps by key, and for
/// the bbox its decoded geometry turned into lon/lat.
fn mvt_reader_count(tiles: &[(TileId, Vec<u8>)], bbox: Option<BBox>) -> usize {
    use mvt_reader::feature::Value as V;
    let (lo, hi) = RANGE
        .parse::<DateRange>()
        .unwrap()
        .resolve(Utc::now())
        .unwrap();
    let ms = |v: Option<&V>| match v {
        Some(V::Int(i) | V::SInt(i)) => Some(*i),
        Some(V::UInt(u)) => i64::try_from(*u).ok(),
        _ => None,
    };
    let mut n = 0;
    for (id, bytes) in tiles {
        // mvt-reader takes ownership of a Vec: the copy is part of using it.
        let reader = mvt_reader::Reader::new(black_box(bytes).to_vec()).unwrap();
        let Some(meta) = reader
            .get_layer_metadata()
            .unwrap()
            .into_iter()
            .find(|l| l.name == "image")
        else {
            continue;
        };
        let transform = TileTransform::new(*id, meta.extent).unwrap();
        for feature in reader.get_features(meta.layer_index).unwrap() {
            let Some(props) = &feature.properties else {
                continue;
            };
            let captured =
                ms(props.get("captured_at")).is_some_and(|t| t != 0 && lo <= t && t <= hi);
            let flat = matches!(props.get("is_pano"), Some(V::Bool(false)));
            // `none`: no readable organization id (a non-negative integer).
            let no_org = match props.get("organization_id") {
                Some(V::UInt(_)) => false,
                Some(V::Int(i) | V::SInt(i)) => *i < 0,
                _ => true,
            };
            if !(captured && flat && no_org) {
                continue;
            }
            let inside = bbox.is_none_or(|b| match &feature.geometry {
                mlytiles_mvt::geo_types::Geometry::Point(p) => {
                    let (lon, lat) = transform.to_lon_lat(f64::from(p.x()), f64::from(p.y()));
                    b.contains(lon, lat)
                }
                mlytiles_mvt::geo_types::Geometry::MultiPoint(m) => m.0.iter().any(|p| {
                    let (lon, lat) = transform.to_lon_lat(f64::from(p.x()), f64::from(p.y()));
                    b.contains(lon, lat)
                }),
                _ => false,
            });
            n += usize::from(inside);
        }
    }
    n
}

fn image_features(tiles: &[(TileId, Vec<u8>)]) -> u64 {
    tiles
        .iter()
        .map(|(_, b)| {
            let tile = Tile::new(b).unwrap();
            tile.layer("image")
                .unwrap()
                .map_or(0, |l| l.feature_count() as u64)
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let tiles = tiles();
    let images = image_features(&tiles);
    // About the western half of the images of the one tile whose images pass the property
    // tests (the JOSM tiles carry `""` for every captured_at, so no date range keeps them).
    let bbox = BBox::new(11.99, 50.0, 11.997_22, 50.05).unwrap();

    let props = filter(None);
    let spatial = filter(Some(bbox));
    let kept = mlytiles_count(&tiles, &props);
    let kept_bbox = mlytiles_count(&tiles, &spatial);
    assert_eq!(
        kept,
        mvt_reader_count(&tiles, None),
        "property-only selections differ"
    );
    assert_eq!(
        kept_bbox,
        mvt_reader_count(&tiles, Some(bbox)),
        "bbox selections differ"
    );
    eprintln!(
        "filter bench: {images} image features in {} tiles; kept {kept} (property-only), \
         {kept_bbox} (with bbox)",
        tiles.len()
    );

    let mut group = c.benchmark_group("filter/image");
    group.throughput(Throughput::Elements(images));
    group.bench_function("mlytiles", |b| b.iter(|| mlytiles_count(&tiles, &props)));
    group.bench_function("mlytiles+bbox", |b| {
        b.iter(|| mlytiles_count(&tiles, &spatial))
    });
    group.bench_function("mvt-reader", |b| b.iter(|| mvt_reader_count(&tiles, None)));
    group.bench_function("mvt-reader+bbox", |b| {
        b.iter(|| mvt_reader_count(&tiles, Some(bbox)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
