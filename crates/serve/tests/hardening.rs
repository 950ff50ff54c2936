//! Issue 13, the server's part: what a hostile client or a damaged store must not get.

mod common;

use common::{client, get, get_json, start_sample};

/// A z14 area of the sample (4 x 4 tiles) that holds data.
fn sample_tiles() -> Vec<String> {
    let mut out = Vec::new();
    for x in 3250..=3253 {
        for y in 6256..=6259 {
            out.push(format!("14/{x}/{y}"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_filter_parameter_is_a_400_naming_it() {
    let server = start_sample();
    let http = client();
    for path in [
        "/mvt/mly1_public/14/3251/6257.mvt?pano=only&pano=exclude",
        "/mapillary/14/3251/6257.png?since=2020-01-01&since=2021-01-01",
        "/mvt/mly1_public/tiles.json?org=none&org=none",
    ] {
        let r = get(&http, &server.url(path), &[]).await;
        assert_eq!(r.status(), 400, "{path}");
        let reason = r.text().await.unwrap();
        let name = path.split('?').nth(1).unwrap().split('=').next().unwrap();
        assert!(
            reason.starts_with(&format!("{name}: given more than once")),
            "{path}: {reason}"
        );
    }
    // Parameters whose values add up may still repeat.
    let r = get(
        &http,
        &server.url("/mvt/mly1_public/14/3251/6257.mvt?creator=1&creator=2"),
        &[],
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_that_keeps_nothing_answers_204_saying_so() {
    let server = start_sample();
    let http = client();
    let r = get(
        &http,
        &server.url("/mvt/mly1_public/14/3251/6257.mvt?creator=987654321987"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["x-mlytiles-note"], "the filter kept nothing");
    // From memory the second time, with the same note.
    let r = get(
        &http,
        &server.url("/mvt/mly1_public/14/3251/6257.mvt?creator=987654321987"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["x-mlytiles-note"], "the filter kept nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_filtered_vector_tile_share_one_filter_run() {
    let server = start_sample();
    let http = client();
    const CALLERS: usize = 8;
    let mut tasks = Vec::new();
    for tile in sample_tiles() {
        for _ in 0..CALLERS {
            let url = server.url(&format!("/mvt/mly1_public/{tile}.mvt?pano=exclude"));
            let http = http.clone();
            let tile = tile.clone();
            tasks.push(tokio::spawn(async move {
                let r = get(&http, &url, &[]).await;
                let status = r.status().as_u16();
                let note = r
                    .headers()
                    .get("x-mlytiles-note")
                    .map(|n| n.to_str().unwrap().to_owned());
                (tile, status, note)
            }));
        }
    }
    let mut filtered = std::collections::BTreeSet::new();
    for t in tasks {
        let (tile, status, note) = t.await.unwrap();
        assert!(status == 200 || status == 204, "{tile}: {status}");
        // A 200, or a 204 because nothing matched: the filter ran over stored data.
        if status == 200 || note.as_deref() == Some("the filter kept nothing") {
            filtered.insert(tile);
        }
    }
    assert!(!filtered.is_empty());
    let health = get_json(&http, &server.url("/health"), &[]).await;
    assert_eq!(
        health["filtered_mvt"].as_u64().unwrap(),
        filtered.len() as u64,
        "one filter run per tile, however many asked at once ({CALLERS} each)"
    );
}
