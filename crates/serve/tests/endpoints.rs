//! Every endpoint of a server started on 127.0.0.1 over the bundled sample pyramid.

mod common;

use std::io::Read;

use common::{client, decode_png, drawn_pixels, get, get_json, raw_get, start_sample};
use mlytiles_mvt::{Tile, Value};
use mlytiles_store::{MbTiles, TileStore};
use mlytiles_tile::TileId;

const IN_SAMPLE: &str = "14/3251/6257";
const OUTSIDE: &str = "14/3260/6257";

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The stored tile's plain bytes, read from the store itself.
fn stored(tileset: &str, tile: &str) -> Vec<u8> {
    let store =
        MbTiles::open_read_only(common::sample_cache().join(format!("{tileset}.mbtiles"))).unwrap();
    let t = store.get(tile.parse::<TileId>().unwrap()).unwrap().unwrap();
    t.uncompressed().unwrap().into_owned()
}

/// Counts the features of each layer, and those for which `pred` holds.
fn count(
    bytes: &[u8],
    layer: &str,
    pred: impl Fn(&mlytiles_mvt::Feature<'_, '_>) -> bool,
) -> (usize, usize) {
    let tile = Tile::new(bytes).unwrap();
    let Some(l) = tile.layer(layer).unwrap() else {
        return (0, 0);
    };
    let (mut all, mut matching) = (0, 0);
    for f in l.features() {
        let f = f.unwrap();
        all += 1;
        matching += usize::from(pred(&f));
    }
    (all, matching)
}

fn is_pano(f: &mlytiles_mvt::Feature<'_, '_>) -> bool {
    f.get("is_pano").unwrap() == Some(Value::Bool(true))
}

/// The ids (as decimal text) and panorama flags of a stored tile's images.
fn stored_images(tile: &str) -> Vec<(String, bool)> {
    let bytes = stored("mly1_public", tile);
    let parsed = Tile::new(&bytes).unwrap();
    let Some(layer) = parsed.layer("image").unwrap() else {
        return Vec::new();
    };
    layer
        .features()
        .map(|f| {
            let f = f.unwrap();
            let id = match f.get("id").unwrap() {
                Some(Value::Int(v)) => v.to_string(),
                Some(Value::UInt(v)) => v.to_string(),
                other => panic!("{tile}: image id {other:?}"),
            };
            (id, is_pano(&f))
        })
        .collect()
}

/// A z14 tile of the sample whose images mix panoramas and flat ones.
fn tile_with_panoramas() -> String {
    for x in 3250..=3253 {
        for y in 6256..=6259 {
            let tile = format!("14/{x}/{y}");
            let (images, panos) = count(&stored("mly1_public", &tile), "image", is_pano);
            if panos > 0 && panos < images {
                return tile;
            }
        }
    }
    panic!("no sample tile mixes panoramas and flat images");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_tiles_show_coverage_where_the_sample_has_it_and_none_elsewhere() {
    let server = start_sample();
    let http = client();
    for style in [
        "mapillary",
        "classic",
        "age",
        "pano",
        "density",
        "organization:1",
        "creator:1",
    ] {
        let r = get(
            &http,
            &server.url(&format!("/{style}/{IN_SAMPLE}.png")),
            &[],
        )
        .await;
        assert_eq!(r.status(), 200, "{style}");
        assert_eq!(r.headers()["content-type"], "image/png");
        assert!(r.headers().contains_key("etag"));
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
        let (w, h, rgba) = decode_png(&r.bytes().await.unwrap());
        assert_eq!((w, h), (256, 256));
        assert!(
            drawn_pixels(&rgba) > 500,
            "{style}: coverage drawn in the sample"
        );

        let r = get(&http, &server.url(&format!("/{style}/{OUTSIDE}.png")), &[]).await;
        assert_eq!(r.status(), 200);
        let (_, _, rgba) = decode_png(&r.bytes().await.unwrap());
        assert_eq!(
            drawn_pixels(&rgba),
            0,
            "{style}: nothing outside the sample"
        );
    }
    // @2x, a lower zoom over the sample, and an overzoomed tile.
    let r = get(
        &http,
        &server.url(&format!("/mapillary/{IN_SAMPLE}@2x.png")),
        &[],
    )
    .await;
    let (w, h, rgba) = decode_png(&r.bytes().await.unwrap());
    assert_eq!((w, h), (512, 512));
    assert!(drawn_pixels(&rgba) > 2000);
    for path in [
        "/mapillary/12/812/1564.png",
        "/mapillary/16/13004/25028.png",
    ] {
        let r = get(&http, &server.url(path), &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        let (_, _, rgba) = decode_png(&r.bytes().await.unwrap());
        assert!(drawn_pixels(&rgba) > 100, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_filters_change_what_is_drawn() {
    let server = start_sample();
    let http = client();
    let tile = tile_with_panoramas();
    let drawn = |query: &'static str| {
        let http = http.clone();
        let url = server.url(&format!("/mapillary/{tile}.png{query}"));
        async move {
            let r = get(&http, &url, &[]).await;
            assert_eq!(r.status(), 200, "{query}");
            drawn_pixels(&decode_png(&r.bytes().await.unwrap()).2)
        }
    };
    let all = drawn("").await;
    let pano = drawn("?pano=only").await;
    let flat = drawn("?pano=exclude").await;
    assert!(
        pano > 0 && pano < all,
        "panoramas are a part: {pano} of {all}"
    );
    assert!(
        flat > 0 && flat < all,
        "flat images are a part: {flat} of {all}"
    );
    assert_eq!(
        drawn("?since=2100-01-01").await,
        0,
        "nothing captured in the future"
    );
    assert_eq!(drawn("?org=99999999").await, 0, "no such organization");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_vector_tiles_come_as_stored_plain_or_gzip() {
    let server = start_sample();
    let http = client();
    let url = server.url(&format!("/mvt/mly1_public/{IN_SAMPLE}.mvt"));
    let expected = stored("mly1_public", IN_SAMPLE);

    let r = get(&http, &url, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    assert!(!r.headers().contains_key("content-encoding"));
    assert_eq!(r.bytes().await.unwrap(), expected);

    let r = get(&http, &url, &[("accept-encoding", "br, gzip;q=0.8")]).await;
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["vary"], "Accept-Encoding");
    assert_eq!(gunzip(&r.bytes().await.unwrap()), expected);

    let r = get(&http, &url, &[("accept-encoding", "gzip;q=0")]).await;
    assert!(!r.headers().contains_key("content-encoding"));

    // A tile the cache does not hold: no content.
    let r = get(
        &http,
        &server.url(&format!("/mvt/mly1_public/{OUTSIDE}.mvt")),
        &[],
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["x-mlytiles-note"], "missing from the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_vector_tiles_hold_only_matching_features() {
    let server = start_sample();
    let http = client();
    let tile = tile_with_panoramas();
    let stored_bytes = stored("mly1_public", &tile);
    let (_, panos) = count(&stored_bytes, "image", is_pano);

    let r = get(
        &http,
        &server.url(&format!("/mvt/mly1_public/{tile}.mvt?pano=only")),
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let bytes = gunzip(&r.bytes().await.unwrap());
    assert_eq!(count(&bytes, "image", is_pano), (panos, panos));
    let (seqs, pano_seqs) = count(&bytes, "sequence", is_pano);
    assert_eq!(seqs, pano_seqs);
    assert!(seqs > 0);

    // A date range: every kept image was captured in it, and as many as the store holds.
    let (lo, hi) = (1_577_836_800_000_i64, 1_640_995_199_999_i64); // 2020-01-01 .. 2021-12-31
    let in_range = |f: &mlytiles_mvt::Feature<'_, '_>| match f.get("captured_at").unwrap() {
        Some(Value::Int(t)) => (lo..=hi).contains(&t),
        Some(Value::UInt(t)) => (lo..=hi).contains(&(t as i64)),
        Some(Value::SInt(t)) => (lo..=hi).contains(&t),
        _ => false,
    };
    let (_, expected) = count(&stored_bytes, "image", in_range);
    let r = get(
        &http,
        &server.url(&format!(
            "/mvt/mly1_public/{tile}.mvt?since=2020-01-01&until=2021-12-31"
        )),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(expected > 0, "some images of {tile} fall in the range");
    assert_eq!(count(&bytes, "image", in_range), (expected, expected));

    // Map features by class.
    let r = get(
        &http,
        &server.url("/mvt/mly_map_feature_traffic_sign/14/3251/6257.mvt?class=regulatory--*"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let (n, regulatory) = count(
        &bytes,
        "traffic_sign",
        |f| matches!(f.get("value").unwrap(), Some(Value::String(s)) if s.starts_with("regulatory--")),
    );
    assert!(n > 0);
    assert_eq!(n, regulatory);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_a_filter_cannot_judge_are_named_not_guessed() {
    let server = start_sample();
    let http = client();
    // A tileset none of whose layers the filter applies to: a clear 400.
    let r = get(
        &http,
        &server.url("/mvt/mly_map_feature_point/14/3251/6257.mvt?pano=only"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 400);
    let reason = r.text().await.unwrap();
    assert!(
        reason.contains("cannot judge") && reason.contains("point"),
        "{reason}"
    );
    // A zoom whose only layer (overview) carries no organization: no content, and why.
    let r = get(
        &http,
        &server.url("/mvt/mly1_public/3/1/3.mvt?org=none"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 204);
    let note = r.headers()["x-mlytiles-note"].to_str().unwrap().to_owned();
    assert!(
        note.contains("overview") && note.contains("organizations"),
        "{note}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_if_none_match_gets_304() {
    let server = start_sample();
    let http = client();
    let tile = tile_with_panoramas();
    for path in [
        format!("/mapillary/{tile}.png"),
        format!("/age/{tile}.png?pano=exclude"),
        format!("/mvt/mly1_public/{tile}.mvt"),
        format!("/mvt/mly1_public/{tile}.mvt?pano=only"),
    ] {
        let r = get(&http, &server.url(&path), &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let r = get(
            &http,
            &server.url(&path),
            &[("if-none-match", &format!("\"other\", {etag}"))],
        )
        .await;
        assert_eq!(r.status(), 304, "{path}");
        assert_eq!(r.headers()["etag"], etag.as_str());
        assert!(r.bytes().await.unwrap().is_empty());
        let r = get(&http, &server.url(&path), &[("if-none-match", "\"other\"")]).await;
        assert_eq!(r.status(), 200, "{path}: a different ETag gets the tile");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_4xx_with_a_reason_and_the_server_goes_on() {
    let server = start_sample();
    let good = format!("/mapillary/{IN_SAMPLE}.png");
    let cases: &[(&str, u16, &str)] = &[
        ("/mapillary/18/0/0.png", 400, "zoom 18 is out of range"),
        ("/mapillary/40/0/0.png", 400, "zoom 40 is out of range"),
        (
            "/mvt/mly1_public/15/0/0.mvt",
            400,
            "out of range for tileset",
        ),
        ("/mapillary/14/16384/0.png", 400, "outside zoom 14"),
        ("/mapillary/3/0/8.png", 400, "outside zoom 3"),
        ("/mapillary/a/0/0.png", 400, "not a number"),
        ("/sepia/14/3251/6257.png", 404, "unknown style"),
        ("/organization:x/14/3251/6257.png", 404, "unknown style"),
        ("/mvt/nope/14/3251/6257.mvt", 404, "unknown tileset"),
        (
            "/mapillary/14/3251/6257.png?since=yesterday",
            400,
            "since: ",
        ),
        ("/mapillary/14/3251/6257.png?pano=sometimes", 400, "pano: "),
        ("/mapillary/14/3251/6257.png?bbox=1,2,3", 400, "bbox: "),
        ("/mapillary/14/3251/6257.png?org=acme", 400, "org: "),
        (
            "/mapillary/14/3251/6257.png?near=1,2",
            400,
            "near needs a radius",
        ),
        (
            "/mapillary/14/3251/6257.png?access_token=x",
            400,
            "unknown filter parameter",
        ),
        ("/mvt/../../etc/passwd", 400, "dot segment"),
        (
            "/mvt/mly1_public/14/3251/..%2F..%2Fsecret.mvt",
            400,
            "percent-encoded",
        ),
        ("/mvt/%2e%2e/14/3251/6257.mvt", 400, "percent-encoded"),
        ("//etc/passwd", 400, "empty segment"),
        ("/mvt/mly1_public/14/3251/6257.mvt/", 400, "empty segment"),
        ("/..\\..\\etc\\passwd", 400, "backslash"),
        ("/mvt/.mbtiles/14/0/0.mvt", 404, "unknown tileset"),
        ("/etc/passwd", 404, "no such endpoint"),
        ("/mapillary/14/3251/6257.jpg", 404, ".png"),
    ];
    for (target, status, reason) in cases {
        let (got, body) = raw_get(server.addr, target);
        assert_eq!(got, *status, "{target}: {body}");
        assert!(
            body.contains(reason),
            "{target}: {body:?} should say {reason:?}"
        );
        assert_eq!(
            body.trim_end().lines().count(),
            1,
            "{target}: one line: {body:?}"
        );
        let (ok, _) = raw_get(server.addr, &good);
        assert_eq!(ok, 200, "the server still serves after {target}");
    }
    // HEAD: the headers of GET, no body.
    let r = client().head(server.url(&good)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.bytes().await.unwrap().is_empty());
    // Other methods than GET and HEAD.
    let r = client()
        .post(server.url(&good))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_json_is_one_tilejson_of_the_default_coverage_style() {
    let server = start_sample();
    let http = client();
    let host = server.addr.to_string();
    let d = get_json(&http, &server.url("/tiles.json"), &[]).await;
    assert!(d.is_object(), "one document, not a list: {d}");
    assert_eq!(d["tilejson"], "3.0.0");
    assert_eq!(
        d["tiles"],
        serde_json::json!([format!("http://{host}/mapillary/{{z}}/{{x}}/{{y}}.png")])
    );
    assert_eq!(d["attribution"], "Mapillary, CC BY-SA");
    assert_eq!(d["minzoom"], 0);
    assert_eq!(d["maxzoom"], 17);
    assert!(
        d["name"]
            .as_str()
            .unwrap()
            .starts_with("Mapillary coverage")
    );
    // The sample's bounds (from its metadata), and a centre inside them at z14.
    let b: Vec<f64> = d["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(b[0], -108.5888671875);
    let c = d["center"].as_array().unwrap();
    let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    assert!(b[0] < lon && lon < b[2] && b[1] < lat && lat < b[3], "{d}");
    assert_eq!(c[2], 14);
    // Filters carry into the URL; the request's Host names the server.
    let d = get_json(
        &http,
        &server.url("/tiles.json?since=2023-01-01&pano=only"),
        &[("host", "tiles.example.org")],
    )
    .await;
    assert_eq!(
        d["tiles"][0],
        "http://tiles.example.org/mapillary/{z}/{x}/{y}.png?pano=only&since=2023-01-01"
    );
    // A bad filter is refused here too.
    let r = get(&http, &server.url("/tiles.json?pano=sometimes"), &[]).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_lists_every_style_and_tileset() {
    let server = start_sample();
    let http = client();
    let docs = get_json(&http, &server.url("/catalog.json"), &[]).await;
    let docs = docs.as_array().unwrap();
    let host = server.addr.to_string();
    for style in ["mapillary", "classic", "age", "pano", "density"] {
        let d = docs
            .iter()
            .find(|d| {
                d["tiles"][0]
                    .as_str()
                    .unwrap()
                    .contains(&format!("/{style}/"))
            })
            .unwrap_or_else(|| panic!("{style} missing"));
        assert_eq!(d["tilejson"], "3.0.0");
        assert_eq!(d["attribution"], "Mapillary, CC BY-SA");
        assert_eq!(
            d["tiles"][0],
            format!("http://{host}/{style}/{{z}}/{{x}}/{{y}}.png")
        );
        assert_eq!(d["bounds"].as_array().unwrap().len(), 4);
        // Each style's own document is the catalog's entry.
        let own = get_json(&http, &server.url(&format!("/{style}/tiles.json")), &[]).await;
        assert_eq!(&own, d, "{style}");
    }
    for tileset in [
        "mly1_public",
        "mly1_computed_public",
        "mly_map_feature_point",
        "mly_map_feature_traffic_sign",
    ] {
        let d = docs
            .iter()
            .find(|d| d["name"] == tileset)
            .unwrap_or_else(|| panic!("{tileset} missing"));
        assert_eq!(d["tilejson"], "3.0.0");
        assert_eq!(
            d["tiles"][0],
            format!("http://{host}/mvt/{tileset}/{{z}}/{{x}}/{{y}}.mvt")
        );
        assert!(!d["vector_layers"].as_array().unwrap().is_empty());
        assert_eq!(d["maxzoom"], 14);
        assert_eq!(d["bounds"].as_array().unwrap().len(), 4);
        let own = get_json(
            &http,
            &server.url(&format!("/mvt/{tileset}/tiles.json")),
            &[],
        )
        .await;
        assert_eq!(&own, d, "{tileset}");
    }
    assert_eq!(docs.len(), 5 + 4);
    // Filters carry into the URLs; tilesets the filter cannot judge are left out.
    let docs = get_json(
        &http,
        &server.url("/catalog.json?pano=only&since=2023-01-01"),
        &[],
    )
    .await;
    let urls: Vec<&str> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["tiles"][0].as_str().unwrap())
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.ends_with("?pano=only&since=2023-01-01")),
        "{urls:?}"
    );
    assert!(!urls.iter().any(|u| u.contains("map_feature")), "{urls:?}");
    let d = get_json(
        &http,
        &server.url("/age/tiles.json"),
        &[("host", "tiles.example.org")],
    )
    .await;
    assert_eq!(
        d["tiles"][0],
        "http://tiles.example.org/age/{z}/{x}/{y}.png"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geojson_tiles_carry_the_stored_ids_as_exact_strings() {
    let server = start_sample();
    let http = client();
    let images = |doc: &serde_json::Value| -> Vec<String> {
        doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["properties"]["layer"] == "image")
            .map(|f| {
                f["properties"]["id"]
                    .as_str()
                    .expect("ids as strings")
                    .to_owned()
            })
            .collect()
    };
    // Every sample tile: the image ids, digit for digit, as the stored tile holds them.
    let mut above_2_53 = 0;
    for x in 3250..=3253 {
        for y in 6256..=6259 {
            let tile = format!("14/{x}/{y}");
            let ids: Vec<String> = stored_images(&tile).into_iter().map(|(id, _)| id).collect();
            above_2_53 += ids
                .iter()
                .filter(|id| id.parse::<u64>().unwrap() > 1 << 53)
                .count();
            let r = get(
                &http,
                &server.url(&format!("/mvt/mly1_public/{tile}.geojson")),
                &[],
            )
            .await;
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "application/geo+json");
            let doc: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            assert_eq!(doc["type"], "FeatureCollection");
            assert_eq!(images(&doc), ids, "{tile}");
        }
    }
    assert!(above_2_53 > 0, "the sample holds ids above 2^53");
    let tile = tile_with_panoramas();
    let ids = stored_images(&tile);
    // Filtered as the vector tiles are.
    let doc = get_json(
        &http,
        &server.url(&format!("/mvt/mly1_public/{tile}.geojson?pano=only")),
        &[],
    )
    .await;
    let panos: Vec<String> = ids
        .iter()
        .filter(|(_, p)| *p)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(images(&doc), panos);
    // A tile the cache does not hold is an empty collection; a bad zoom a 400.
    let doc = get_json(
        &http,
        &server.url(&format!("/mvt/mly1_public/{OUTSIDE}.geojson")),
        &[],
    )
    .await;
    assert_eq!(doc["features"].as_array().unwrap().len(), 0);
    let r = get(&http, &server.url("/mvt/mly1_public/15/0/0.geojson"), &[]).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_the_preview_page() {
    let server = start_sample();
    let http = client();
    let h = get_json(&http, &server.url("/health"), &[]).await;
    assert_eq!(h["status"], "ok");
    assert_eq!(h["tilesets"].as_array().unwrap().len(), 4);

    let r = get(&http, &server.url("/"), &[]).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("Mapillary, CC BY-SA"));
    // Without --assets, MapLibre and pmtiles come from unpkg at the pinned versions, with
    // integrity hashes; the base map is OpenStreetMap's, with its attribution.
    let version = mlytiles_serve::MAPLIBRE_VERSION;
    let mut files: Vec<(String, &str)> = mlytiles_serve::MAPLIBRE_FILES
        .iter()
        .map(|(name, hash)| (format!("maplibre-gl@{version}/dist/{name}"), *hash))
        .collect();
    files.push((
        "pmtiles@4.5.0/dist/pmtiles.js".into(),
        mlytiles_serve::PMTILES_FILES[0].1,
    ));
    for (file, hash) in files {
        let url = format!("https://unpkg.com/{file}");
        assert!(
            page.contains(&format!(
                "\"{url}\" integrity=\"{hash}\" crossorigin=\"anonymous\""
            )),
            "{file} from unpkg, pinned by its hash"
        );
    }
    assert!(page.contains(r#""tiles":"https://tile.openstreetmap.org/{z}/{x}/{y}.png""#));
    assert!(page.contains("© OpenStreetMap contributors"));
    // The sample area's bounds and the styles are filled in.
    assert!(page.contains("-108.5888671875"));
    assert!(page.contains("\"density\""));
    assert!(!page.contains("/*CONFIG*/"));
}
