//! Fetching against the scripted test server on 127.0.0.1: what lands in the store, how many
//! requests the server saw, and where the token went.

use std::sync::Arc;
use std::time::Duration;

use mlytiles_fetch::{
    Error, FailureKind, FetchConfig, Fetcher, Outcome, PlanOptions, RunOptions, StopReason,
    Summary, Tileset, Token, build_overview_index, plan, run,
};
use mlytiles_store::{MbTiles, TileStatus, TileStore};
use mlytiles_testserver::{Reply, TestServer};
use mlytiles_tile::TileId;

const TOKEN: &str = "MLY|4242|tokenSEKRITdonotleak";

fn sample_store() -> Arc<dyn TileStore> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/cache/mly1_public.mbtiles"
    );
    Arc::new(MbTiles::open_read_only(path).expect("the bundled sample cache"))
}

/// A valid z14 tile of the sample, as plain bytes.
fn sample_tile() -> Vec<u8> {
    let store = sample_store();
    let (tile, _) = store.list(14, None).unwrap()[0];
    store
        .get(tile)
        .unwrap()
        .unwrap()
        .uncompressed()
        .unwrap()
        .into_owned()
}

fn config(server: &TestServer) -> FetchConfig {
    FetchConfig {
        endpoint: server.url(),
        token: Some(Token::new(TOKEN).unwrap()),
        concurrency: 4,
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(20),
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        rate_limit_pause: Duration::from_millis(50),
        max_rate_limit_wait: Duration::from_secs(30),
        ..FetchConfig::default()
    }
}

fn public() -> Tileset {
    Tileset::by_name("mly1_public").unwrap()
}

fn t(x: u32, y: u32) -> TileId {
    TileId::new(14, x, y).unwrap()
}

fn key(tile: TileId) -> (u8, u32, u32) {
    (tile.z(), tile.x(), tile.y())
}

struct Env {
    server: TestServer,
    dir: tempfile::TempDir,
    store: Arc<dyn TileStore>,
}

async fn env() -> Env {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TileStore> =
        Arc::new(MbTiles::open(dir.path().join("mly1_public.mbtiles")).unwrap());
    Env { server, dir, store }
}

impl Env {
    fn fetcher(&self, config: FetchConfig) -> Fetcher {
        Fetcher::new(config, self.dir.path()).unwrap()
    }

    fn status(&self, tile: TileId) -> Option<TileStatus> {
        self.store.info(tile).unwrap().map(|i| i.status)
    }

    /// Serves the sample tile at each of `tiles`.
    fn serve_sample(&self, tiles: &[TileId]) {
        let body = sample_tile();
        for &tile in tiles {
            self.server.insert(key(tile), body.clone());
        }
    }

    /// Runs `f` over `tiles` into this environment's store with the default options.
    async fn run(&self, f: &Fetcher, tiles: Vec<TileId>) -> Summary {
        run(
            f,
            &public(),
            Arc::clone(&self.store),
            tiles,
            RunOptions::default(),
        )
        .await
        .unwrap()
    }
}

/// `n` z14 tiles in a row: x from `x0`, at `y`.
fn row(n: u32, x0: u32, y: u32) -> Vec<TileId> {
    (0..n).map(|i| t(x0 + i, y)).collect()
}

#[tokio::test]
async fn answers_are_classified_before_anything_is_stored() {
    let e = env().await;
    let body = sample_tile();
    let tiles = row(12, 100, 200);
    e.serve_sample(&tiles);
    e.server.insert(key(t(200, 200)), Vec::new());
    let script = [
        (0, Reply::Status(204)),
        (1, Reply::Status(403)),
        (2, Reply::Status(404)),
        (3, Reply::GzipWithHeader),
        (4, Reply::GzipWithoutHeader),
        (5, Reply::Tile),
    ];
    for (i, r) in script {
        e.server.script(key(tiles[i]), [r]);
    }
    let f = e.fetcher(config(&e.server));
    let ts = public();
    let mut outcomes = Vec::new();
    for &tile in tiles.iter().take(6) {
        outcomes.push(f.fetch_tile(&ts, tile, &*e.store).await.unwrap());
    }
    assert_eq!(outcomes[0], Outcome::Empty);
    assert_eq!(outcomes[1], Outcome::Empty);
    assert_eq!(outcomes[2], Outcome::Empty);
    for o in &outcomes[3..6] {
        assert!(matches!(o, Outcome::Data { .. }), "{o:?}");
    }
    for &tile in &tiles[3..6] {
        let stored = e.store.get(tile).unwrap().unwrap();
        assert_eq!(stored.uncompressed().unwrap().as_ref(), body.as_slice());
    }
    // 200 with an empty body.
    assert_eq!(
        f.fetch_tile(&ts, t(200, 200), &*e.store).await.unwrap(),
        Outcome::Empty
    );
    assert_eq!(e.status(t(200, 200)), Some(TileStatus::Empty));
    // 403/404 as failures when configured so.
    let strict = e.fetcher(FetchConfig {
        missing_is_empty: false,
        ..config(&e.server)
    });
    e.server.script(key(tiles[6]), [Reply::Status(404)]);
    let o = strict.fetch_tile(&ts, tiles[6], &*e.store).await.unwrap();
    assert!(
        matches!(
            o,
            Outcome::Failed {
                kind: FailureKind::HttpStatus,
                ..
            }
        ),
        "{o:?}"
    );
    assert_eq!(e.server.count(key(tiles[6])), 1, "a 404 is not retried");
}

#[tokio::test]
async fn transient_failures_are_retried_then_recorded_with_reason_and_sample() {
    let e = env().await;
    let body = sample_tile();
    let cases: Vec<(Reply, FailureKind, &str)> = vec![
        (Reply::Status(503), FailureKind::ServerError, "HTTP 503"),
        (Reply::Html, FailureKind::Html, "502 Bad Gateway"),
        (
            Reply::Body {
                status: 200,
                content_type: "application/json".into(),
                body: br#"{"error":{"message":"oops","code":1}}"#.to_vec(),
            },
            FailureKind::Json,
            "oops",
        ),
        (
            Reply::Body {
                status: 200,
                content_type: "application/x-protobuf".into(),
                body: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3],
            },
            FailureKind::Gzip,
            "gzip",
        ),
        (
            Reply::Body {
                status: 200,
                content_type: "application/x-protobuf".into(),
                body: vec![0x1a, 0x40, 0x0a, 0x02],
            },
            FailureKind::NotATile,
            "not a vector tile",
        ),
        (Reply::Truncate, FailureKind::Truncated, ""),
    ];
    let config = FetchConfig {
        max_retries: 2,
        ..config(&e.server)
    };
    let f = e.fetcher(config);
    for (i, (reply, kind, needle)) in cases.into_iter().enumerate() {
        let tile = t(300 + i as u32, 300);
        e.server.insert(key(tile), body.clone());
        e.server.script(key(tile), vec![reply; 3]);
        let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
        let Outcome::Failed { kind: got, reason } = o else {
            panic!("case {i}: {o:?}")
        };
        assert_eq!(got, kind, "case {i}: {reason}");
        assert!(reason.contains(needle), "case {i}: {reason}");
        assert_eq!(
            e.server.count(key(tile)),
            3,
            "case {i}: 1 attempt + 2 retries"
        );
        let info = e.store.info(tile).unwrap().unwrap();
        assert_eq!(info.status, TileStatus::Failed);
        assert_eq!(info.failure.unwrap().reason, reason);
        // The next attempt gets the tile: the failure is replaced by data.
        let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
        assert!(matches!(o, Outcome::Data { .. }), "case {i}: {o:?}");
        assert_eq!(e.status(tile), Some(TileStatus::Data));
    }
}

#[tokio::test]
async fn a_burst_of_errors_and_resets_ends_in_the_tile() {
    let e = env().await;
    let tile = t(1, 1);
    e.server.insert(key(tile), sample_tile());
    e.server.script(
        key(tile),
        [
            Reply::Status(500),
            Reply::Reset,
            Reply::Status(503),
            Reply::Truncate,
        ],
    );
    let f = e.fetcher(config(&e.server));
    let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    assert!(matches!(o, Outcome::Data { .. }), "{o:?}");
    assert_eq!(e.status(tile), Some(TileStatus::Data));
    assert!(e.server.count(key(tile)) >= 5);
}

#[tokio::test]
async fn a_stall_longer_than_the_timeout_is_a_timeout_and_retried() {
    let e = env().await;
    let tile = t(2, 2);
    e.server.insert(key(tile), sample_tile());
    e.server
        .script(key(tile), [Reply::Stall(Duration::from_secs(10))]);
    let f = e.fetcher(FetchConfig {
        read_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(600),
        ..config(&e.server)
    });
    let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    assert!(matches!(o, Outcome::Data { .. }), "{o:?}");
    assert_eq!(e.server.count(key(tile)), 2);
    // Without retries the stall is recorded, as a timeout.
    let other = t(2, 3);
    e.server.insert(key(other), sample_tile());
    e.server
        .script(key(other), [Reply::Stall(Duration::from_secs(10))]);
    let once = e.fetcher(FetchConfig {
        max_retries: 0,
        ..f.config().clone()
    });
    let o = once.fetch_tile(&public(), other, &*e.store).await.unwrap();
    let Outcome::Failed { kind, reason } = o else {
        panic!("{o:?}")
    };
    assert_eq!(kind, FailureKind::Timeout, "{reason}");
    assert_eq!(e.status(other), Some(TileStatus::Failed));
}

#[tokio::test]
async fn a_failure_never_overwrites_a_stored_tile() {
    let e = env().await;
    let tile = t(3, 3);
    let body = sample_tile();
    e.server.insert(key(tile), body.clone());
    e.server.set_validators(false);
    let f = e.fetcher(FetchConfig {
        max_retries: 0,
        ..config(&e.server)
    });
    f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    e.server.script(key(tile), [Reply::Html]);
    let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    assert!(matches!(o, Outcome::Failed { .. }));
    let stored = e.store.get(tile).unwrap().unwrap();
    assert_eq!(stored.info.status, TileStatus::Data);
    assert_eq!(stored.uncompressed().unwrap().as_ref(), body.as_slice());
    assert!(stored.info.failure.is_some());
}

#[tokio::test]
async fn an_invalid_token_stops_at_once() {
    for reply in [
        Reply::Status(401),
        Reply::TokenJson(400),
        Reply::TokenJson(200),
    ] {
        let e = env().await;
        e.server.script_requests([reply.clone()]);
        let f = e.fetcher(FetchConfig {
            concurrency: 1,
            ..config(&e.server)
        });
        let tiles: Vec<TileId> = (0..20).map(|i| t(i, 9)).collect();
        let s = e.run(&f, tiles).await;
        assert!(
            matches!(s.stopped, Some(StopReason::InvalidToken(_))),
            "{reply:?}: {:?}",
            s.stopped
        );
        assert_eq!(e.server.total_requests(), 1, "{reply:?}");
        assert_eq!(s.remaining, 20);
        let msg = s.stopped.unwrap().to_string();
        assert!(msg.contains("access token is invalid"), "{reply:?}: {msg}");
        assert!(!msg.contains("SEKRIT"), "{msg}");
    }
}

#[tokio::test]
async fn a_429_pauses_every_worker_for_retry_after() {
    let e = env().await;
    let tiles = row(3, 50, 50);
    e.serve_sample(&tiles);
    // Worker A's tile gets a 429 at once; worker B's first tile answers a second later, so B
    // asks for its next tile while the 3 s pause is in force (generous margins for a loaded
    // machine: the 429 has a whole second to be handled).
    e.server
        .script(key(tiles[0]), [Reply::TooManyRequests(Some("3".into()))]);
    e.server
        .script(key(tiles[1]), [Reply::Delay(Duration::from_millis(1000))]);
    let f = e.fetcher(FetchConfig {
        concurrency: 2,
        ..config(&e.server)
    });
    let s = e.run(&f, tiles.clone()).await;
    assert_eq!(s.progress.data, 3, "{s:?}");
    let log = e.server.requests();
    let limited = log
        .iter()
        .find(|r| r.tile == Some(key(tiles[0])))
        .unwrap()
        .received;
    let later: Vec<_> = log
        .iter()
        .filter(|r| r.tile == Some(key(tiles[2])) || r.received > limited)
        .filter(|r| r.tile != Some(key(tiles[1])))
        .collect();
    assert!(!later.is_empty());
    for r in later {
        let gap = r.received.duration_since(limited);
        assert!(
            gap >= Duration::from_millis(2900),
            "{:?} requested {gap:?} after the 429",
            r.tile
        );
    }
}

#[tokio::test]
async fn a_limit_that_persists_stops_with_the_daily_limit() {
    let e = env().await;
    e.server.insert(key(t(7, 7)), sample_tile());
    e.server.script(key(t(7, 7)), vec![Reply::LimitJson; 1000]);
    let f = e.fetcher(FetchConfig {
        rate_limit_pause: Duration::from_millis(50),
        max_rate_limit_wait: Duration::from_millis(500),
        ..config(&e.server)
    });
    let err = f
        .fetch_tile(&public(), t(7, 7), &*e.store)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DailyLimit { .. }), "{err}");
    assert!(err.to_string().contains("daily limit is reached"));
    assert_eq!(e.status(t(7, 7)), None, "nothing is recorded for a limit");
    let n = e.server.count(key(t(7, 7)));
    assert!((2..=20).contains(&n), "{n} requests");
    // A Retry-After longer than the wait allowed stops at once.
    let e = env().await;
    e.server
        .script_requests([Reply::TooManyRequests(Some("86400".into()))]);
    let f = e.fetcher(config(&e.server));
    let err = f
        .fetch_tile(&public(), t(7, 7), &*e.store)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DailyLimit { .. }), "{err}");
    assert_eq!(e.server.total_requests(), 1);
}

#[tokio::test]
async fn the_budget_is_never_exceeded_and_is_shared_through_the_cache_folder() {
    let e = env().await;
    let tiles = row(40, 1000, 7);
    e.serve_sample(&tiles);
    let cfg = FetchConfig {
        daily_budget: 25,
        ..config(&e.server)
    };
    // Two fetchers (as two processes would) on one cache folder, at the same time, with
    // different stores.
    let a = e.fetcher(cfg.clone());
    let b = e.fetcher(cfg);
    let other: Arc<dyn TileStore> =
        Arc::new(MbTiles::open(e.dir.path().join("other.mbtiles")).unwrap());
    let ts = public();
    let (sa, sb) = tokio::join!(
        run(
            &a,
            &ts,
            Arc::clone(&e.store),
            tiles[..20].to_vec(),
            RunOptions::default()
        ),
        run(&b, &ts, other, tiles[20..].to_vec(), RunOptions::default()),
    );
    let (sa, sb) = (sa.unwrap(), sb.unwrap());
    // Each fetcher counts a lease of up to 4 requests at once: one may stop while the other
    // still holds unsent requests, so together they send at most 25.
    let sent = e.server.total_requests();
    assert!(sent <= 25, "{sent} requests");
    assert_eq!(sa.progress.data + sb.progress.data, sent as u64);
    assert_eq!(sa.remaining + sb.remaining, 40 - sent as u64);
    for s in [&sa, &sb] {
        if s.remaining > 0 {
            let Some(StopReason::Budget {
                limit: 25,
                resets_at,
            }) = s.stopped
            else {
                panic!("{:?}", s.stopped)
            };
            assert!(resets_at > chrono::Utc::now());
        }
    }
    // The unsent leases went back at the end of the runs: a third fetcher on the folder
    // gets exactly what is left, and nothing beyond.
    let c = e.fetcher(FetchConfig {
        daily_budget: 25,
        concurrency: 1,
        ..config(&e.server)
    });
    assert_eq!(c.budget().remaining().unwrap(), 25 - sent as u64);
    let third: Arc<dyn TileStore> =
        Arc::new(MbTiles::open(e.dir.path().join("third.mbtiles")).unwrap());
    let sc = run(&c, &ts, third, tiles.clone(), RunOptions::default())
        .await
        .unwrap();
    assert_eq!(sc.progress.data, 25 - sent as u64);
    assert!(matches!(sc.stopped, Some(StopReason::Budget { .. })));
    assert_eq!(e.server.total_requests(), 25);
    assert_eq!(c.budget().remaining().unwrap(), 0);
    let err = c.fetch_tile(&ts, tiles[39], &*e.store).await.unwrap_err();
    assert!(matches!(err, Error::BudgetExhausted { .. }));
    assert_eq!(e.server.total_requests(), 25);
}

#[tokio::test]
async fn a_rerun_requests_only_what_is_missing_or_failed() {
    let e = env().await;
    let tiles = row(10, 400, 400);
    e.serve_sample(&tiles);
    e.server.script(key(tiles[3]), vec![Reply::Status(500); 2]);
    let f = e.fetcher(FetchConfig {
        max_retries: 1,
        ..config(&e.server)
    });
    let p = plan(&*e.store, &tiles, &PlanOptions::default()).unwrap();
    assert_eq!((p.total, p.missing, p.requests()), (10, 10, 10));
    let s = e.run(&f, p.to_request).await;
    assert_eq!((s.progress.data, s.progress.failed), (9, 1));
    let (count, sample) = &s.failures[&FailureKind::ServerError];
    assert_eq!(*count, 1);
    assert!(sample.contains("HTTP 500"));
    let before = e.server.counts();
    // The re-run plans the failed tile only; --retry-failed plans the same here.
    let p = plan(&*e.store, &tiles, &PlanOptions::default()).unwrap();
    assert_eq!(p.to_request, vec![tiles[3]]);
    assert_eq!((p.cached_data, p.failed), (9, 1));
    let only = PlanOptions {
        only_failed: true,
        ..PlanOptions::default()
    };
    let more: Vec<TileId> = tiles.iter().copied().chain([t(999, 999)]).collect();
    assert_eq!(
        plan(&*e.store, &more, &only).unwrap().to_request,
        vec![tiles[3]]
    );
    let s = e.run(&f, p.to_request).await;
    assert_eq!(s.progress.data, 1);
    let after = e.server.counts();
    for &tile in &tiles {
        if tile != tiles[3] {
            assert_eq!(
                before[&key(tile)],
                after[&key(tile)],
                "{tile} requested again"
            );
        }
    }
}

#[tokio::test]
async fn old_tiles_are_rechecked_with_conditional_requests() {
    let e = env().await;
    let tile = t(5, 5);
    e.server.insert(key(tile), sample_tile());
    let f = e.fetcher(config(&e.server));
    f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    let first = e.store.info(tile).unwrap().unwrap();
    assert!(first.etag.is_some());
    let p = plan(
        &*e.store,
        &[tile],
        &PlanOptions {
            refresh_before: Some(chrono::Utc::now() + chrono::Duration::seconds(1)),
            ..PlanOptions::default()
        },
    )
    .unwrap();
    assert_eq!((p.stale, p.requests()), (1, 1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    assert_eq!(o, Outcome::NotModified);
    let last = e.server.requests().pop().unwrap();
    assert_eq!(last.header("if-none-match"), first.etag.as_deref());
    let second = e.store.get(tile).unwrap().unwrap();
    assert_eq!(second.info.status, TileStatus::Data);
    assert!(second.info.fetched_at > first.fetched_at);
    assert_eq!(
        second.uncompressed().unwrap().as_ref(),
        sample_tile().as_slice()
    );
}

#[tokio::test]
async fn the_token_goes_in_the_query_only_and_never_into_errors_or_the_store() {
    let e = env().await;
    let echo = format!("<html>bad request for access_token={TOKEN}</html>");
    e.server.script_requests([Reply::Body {
        status: 500,
        content_type: "text/html".into(),
        body: echo.into_bytes(),
    }]);
    let f = e.fetcher(FetchConfig {
        max_retries: 0,
        ..config(&e.server)
    });
    let o = f.fetch_tile(&public(), t(8, 8), &*e.store).await.unwrap();
    let Outcome::Failed { reason, .. } = &o else {
        panic!("{o:?}")
    };
    assert!(
        !reason.contains(TOKEN) && reason.contains("***"),
        "{reason}"
    );
    // A reset: reqwest's error would name the URL.
    e.server.script_requests([Reply::Reset]);
    let o = f.fetch_tile(&public(), t(8, 9), &*e.store).await.unwrap();
    assert!(!format!("{o:?}").contains("SEKRIT"), "{o:?}");
    assert!(!format!("{f:?}").contains("SEKRIT"));
    for r in e.server.requests() {
        assert!(r.query.contains("access_token="), "{r:?}");
        assert!(!r.path.contains("SEKRIT"));
        for (n, v) in &r.headers {
            assert!(!v.contains("SEKRIT") && !n.contains("SEKRIT"), "{n}: {v}");
        }
    }
    drop(f);
    for entry in std::fs::read_dir(e.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"SEKRIT"));
    }
    // Custom templates never get the Mapillary token.
    let custom =
        Tileset::custom(&format!("{}/other/{{z}}/{{x}}/{{y}}.pbf", e.server.url())).unwrap();
    let f = e.fetcher(config(&e.server));
    f.fetch_tile(&custom, t(8, 10), &*e.store).await.unwrap();
    let last = e.server.requests().pop().unwrap();
    assert_eq!(last.path, "/other/14/8/10.pbf");
    assert_eq!(last.query, "");
}

#[tokio::test]
async fn stop_ends_a_run_cleanly_and_keeps_what_is_stored() {
    let e = env().await;
    let tiles = row(30, 600, 6);
    e.serve_sample(&tiles);
    e.server.set_latency(Duration::from_millis(30));
    let f = e.fetcher(FetchConfig {
        concurrency: 2,
        ..config(&e.server)
    });
    let stopper = f.clone();
    let options = RunOptions {
        progress: Some(Arc::new(move |p: &mlytiles_fetch::Progress| {
            if p.done == 5 {
                stopper.stop();
            }
        })),
        ..RunOptions::default()
    };
    let s = run(&f, &public(), Arc::clone(&e.store), tiles.clone(), options)
        .await
        .unwrap();
    assert_eq!(s.stopped, Some(StopReason::Interrupted));
    assert!(s.remaining > 0 && s.progress.data >= 5, "{s:?}");
    let stored = e.store.list(14, None).unwrap();
    assert_eq!(stored.len() as u64, s.progress.data);
}

#[tokio::test]
async fn the_overview_index_skips_z14_tiles_without_images() {
    let source = sample_store();
    let server = TestServer::start_with_store(Arc::clone(&source)).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TileStore> =
        Arc::new(MbTiles::open(dir.path().join("mly1_public.mbtiles")).unwrap());
    let with_data: Vec<TileId> = source
        .list(14, None)
        .unwrap()
        .into_iter()
        .filter(|(_, s)| *s == TileStatus::Data)
        .map(|(t, _)| t)
        .collect();
    let (x0, y0) = (with_data[0].x() - 6, with_data[0].y() - 6);
    let area: Vec<TileId> = (0..16)
        .flat_map(|dx| (0..16).map(move |dy| t(x0 + dx, y0 + dy)))
        .collect();
    let f = Fetcher::new(config(&server), dir.path()).unwrap();
    let index = build_overview_index(&f, &public(), &*store, &area)
        .await
        .unwrap();
    assert_eq!(index.requests(), 1, "one z5 tile covers the area");
    let mut p = plan(&*store, &area, &PlanOptions::default()).unwrap();
    p.skip_missing(|tile| index.may_hold_data(tile));
    assert!(p.skipped_empty > 0);
    for tile in &with_data {
        assert!(
            p.to_request.contains(tile),
            "{tile} holds images but was skipped"
        );
    }
    assert_eq!(p.requests() + p.skipped_empty, 256);
    // The index tile is in the store: a second index costs no request.
    let index = build_overview_index(&f, &public(), &*store, &area)
        .await
        .unwrap();
    assert_eq!(index.requests(), 0);
    assert_eq!(server.total_requests(), 1);
}

#[tokio::test]
async fn the_pace_limit_spreads_requests_over_all_workers() {
    let e = env().await;
    let tiles = row(10, 700, 7);
    e.serve_sample(&tiles);
    let f = e.fetcher(FetchConfig {
        concurrency: 8,
        rate: Some(20.0),
        ..config(&e.server)
    });
    let s = e.run(&f, tiles).await;
    assert_eq!(s.progress.data, 10);
    let log = e.server.requests();
    let span = log.last().unwrap().received - log[0].received;
    // 10 requests at 20/s take 450 ms from the first to the last (less any delay of the
    // first request in transit: a wide margin).
    assert!(span >= Duration::from_millis(300), "{span:?}");
}

#[tokio::test]
async fn a_body_larger_than_max_body_fails_without_a_retry_and_is_not_stored() {
    let e = env().await;
    let tile = t(9, 9);
    let body = sample_tile();
    assert!(body.len() > 1000, "the sample tile is {} bytes", body.len());
    e.server.insert(key(tile), body);
    let f = e.fetcher(FetchConfig {
        max_body: 1000,
        ..config(&e.server)
    });
    let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    let Outcome::Failed { kind, reason } = o else {
        panic!("{o:?}")
    };
    assert_eq!(kind, FailureKind::TooLarge, "{reason}");
    assert!(reason.contains("larger than 1000 bytes"), "{reason}");
    assert_eq!(
        e.server.count(key(tile)),
        1,
        "a too-large body is not retried"
    );
    assert_eq!(e.status(tile), Some(TileStatus::Failed));
    assert!(e.store.get(tile).unwrap().unwrap().data.is_empty());
}

/// A redirect from the tile's path to `location`.
fn redirect(location: String) -> Reply {
    Reply::Redirect {
        status: 302,
        location,
    }
}

#[tokio::test]
async fn a_redirect_loop_spends_the_budget_hop_by_hop_and_fails_the_tile() {
    let e = env().await;
    let tiles = row(5, 40, 40);
    for &tile in &tiles {
        let path = format!("/maps/vtp/mly1_public/2/14/{}/{}", tile.x(), tile.y());
        // The tile redirects to itself (with the token the server saw), forever.
        e.server.script(
            key(tile),
            vec![redirect(format!("{path}?access_token=echoed&a=1")); 200],
        );
    }
    let f = e.fetcher(FetchConfig {
        daily_budget: 10,
        concurrency: 2,
        ..config(&e.server)
    });
    let summary = e.run(&f, tiles.clone()).await;
    // Every hop is a request counted in the budget: the server saw at most 10 requests.
    let seen = e.server.total_requests();
    assert!(seen <= 10, "{seen} requests for a budget of 10");
    assert_eq!(seen as u64, f.requests_sent());
    assert!(matches!(summary.stopped, Some(StopReason::Budget { .. })));
    // A tile that got to the end of its redirects: 1 request and 3 hops, then failed.
    let (n, reason) = &summary.failures[&FailureKind::Redirect];
    assert!(*n >= 1, "{summary:?}");
    assert!(reason.contains("more than 3 redirects"), "{reason}");
    let failed = tiles
        .iter()
        .find(|t| e.status(**t) == Some(TileStatus::Failed))
        .unwrap();
    assert_eq!(e.server.count(key(*failed)), 4);
    // The hops carried the token once, in place of the echoed one.
    for r in e.server.requests() {
        assert_eq!(r.query.matches("access_token=").count(), 1, "{r:?}");
        assert!(!r.query.contains("echoed"), "{r:?}");
    }
}

#[tokio::test]
async fn same_origin_redirects_are_followed_and_other_origins_refused() {
    let e = env().await;
    let (near, far) = (t(50, 50), t(51, 50));
    let other = TestServer::start().await;
    other.insert(key(far), sample_tile());
    // Two hops on the same server, to a tile it serves.
    e.server.insert(key(near), sample_tile());
    e.server.script(
        key(near),
        [
            redirect("/elsewhere/14/50/50".into()),
            redirect(format!(
                "{}/maps/vtp/mly1_public/2/14/50/50",
                e.server.url()
            )),
        ],
    );
    // The same host on another port is another origin.
    e.server.script(
        key(far),
        [redirect(format!(
            "{}/maps/vtp/mly1_public/2/14/51/50",
            other.url()
        ))],
    );
    let f = e.fetcher(config(&e.server));
    let o = f.fetch_tile(&public(), near, &*e.store).await.unwrap();
    assert!(matches!(o, Outcome::Data { .. }), "{o:?}");
    assert_eq!(e.server.total_requests(), 3);
    let o = f.fetch_tile(&public(), far, &*e.store).await.unwrap();
    let Outcome::Failed { kind, reason } = o else {
        panic!("{o:?}")
    };
    assert_eq!(kind, FailureKind::Redirect);
    assert!(reason.contains("another origin"), "{reason}");
    assert_eq!(
        other.total_requests(),
        0,
        "nothing was sent to the other origin"
    );
    assert_eq!(e.server.count(key(far)), 1, "not retried");
    assert_eq!(e.status(far), Some(TileStatus::Failed));
    assert_eq!(f.requests_sent(), 4);
    f.budget().release().unwrap();
    assert_eq!(f.budget().used_today().unwrap(), 4, "every hop was counted");
}

#[tokio::test]
async fn a_refresh_answered_403_or_404_keeps_the_stored_tile_and_records_the_answer() {
    let e = env().await;
    let (a, b, new) = (t(60, 60), t(61, 60), t(62, 60));
    e.serve_sample(&[a, b]);
    // One tile stored with validators, one without (as another tool would write it).
    let f = e.fetcher(config(&e.server));
    f.fetch_tile(&public(), a, &*e.store).await.unwrap();
    e.server.set_validators(false);
    f.fetch_tile(&public(), b, &*e.store).await.unwrap();
    let before_a = e.store.get(a).unwrap().unwrap();
    let before_b = e.store.get(b).unwrap().unwrap();
    assert_eq!(before_a.info.status, TileStatus::Data);
    assert!(before_b.info.etag.is_none());
    // The refresh: a CDN now answers 403 and 404; a tile never fetched gets a 403 too.
    e.server.script(key(a), [Reply::Status(403)]);
    e.server.script(key(b), [Reply::Status(404)]);
    e.server.script(key(new), [Reply::Status(403)]);
    let p = plan(
        &*e.store,
        &[a, b, new],
        &PlanOptions {
            refresh_before: Some(chrono::Utc::now() + chrono::Duration::seconds(1)),
            ..PlanOptions::default()
        },
    )
    .unwrap();
    assert_eq!((p.stale, p.missing), (2, 1));
    let summary = e.run(&f, p.to_request.clone()).await;
    assert_eq!(summary.progress.failed, 2, "{summary:?}");
    assert_eq!(summary.progress.empty, 1, "a tile never fetched is empty");
    for (tile, before, status) in [(a, before_a, "HTTP 403"), (b, before_b, "HTTP 404")] {
        let after = e.store.get(tile).unwrap().unwrap();
        assert_eq!(after.info.status, TileStatus::Data, "{tile}");
        assert_eq!(after.data, before.data, "{tile}: the stored bytes are kept");
        let failure = after.info.failure.expect("the answer is recorded");
        assert!(failure.reason.contains(status), "{}", failure.reason);
        assert!(failure.reason.contains("kept"), "{}", failure.reason);
    }
    assert_eq!(e.status(new), Some(TileStatus::Empty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_over_one_area_request_each_tile_once() {
    let e = env().await;
    let tiles = row(30, 300, 300);
    e.serve_sample(&tiles);
    e.server.set_latency(Duration::from_millis(30));
    // Two runs (as two processes would: two fetchers, two handles on the store) over the
    // same tiles, at the same time, sharing the cache folder and its budget.
    let a = e.fetcher(config(&e.server));
    let b = e.fetcher(config(&e.server));
    let second: Arc<dyn TileStore> =
        Arc::new(MbTiles::open(e.dir.path().join("mly1_public.mbtiles")).unwrap());
    let ts = public();
    let (sa, sb) = tokio::join!(
        run(
            &a,
            &ts,
            Arc::clone(&e.store),
            tiles.clone(),
            RunOptions::default()
        ),
        run(&b, &ts, second, tiles.clone(), RunOptions::default()),
    );
    let (sa, sb) = (sa.unwrap(), sb.unwrap());
    let counts = e.server.counts();
    for tile in &tiles {
        assert_eq!(counts.get(&key(*tile)), Some(&1), "{tile}: {counts:?}");
    }
    assert_eq!(e.server.total_requests(), 30);
    for s in [&sa, &sb] {
        assert_eq!((s.progress.done, s.remaining), (30, 0), "{s:?}");
        assert!(s.stopped.is_none(), "{s:?}");
    }
    assert_eq!(sa.progress.data + sb.progress.data, 30);
    assert_eq!(sa.progress.by_other_runs + sb.progress.by_other_runs, 30);
    for tile in &tiles {
        assert_eq!(e.status(*tile), Some(TileStatus::Data));
    }
}

#[tokio::test]
async fn a_gzip_bomb_without_content_encoding_is_too_large_and_not_retried() {
    let e = env().await;
    let tile = t(70, 70);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![0u8; 8 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    e.server.script(
        key(tile),
        vec![
            Reply::Body {
                status: 200,
                content_type: "application/vnd.mapbox-vector-tile".into(),
                body: bomb,
            };
            5
        ],
    );
    let f = e.fetcher(FetchConfig {
        max_body: 1 << 20,
        ..config(&e.server)
    });
    let o = f.fetch_tile(&public(), tile, &*e.store).await.unwrap();
    let Outcome::Failed { kind, reason } = o else {
        panic!("{o:?}")
    };
    assert_eq!(kind, FailureKind::TooLarge, "{reason}");
    assert_eq!(
        e.server.count(key(tile)),
        1,
        "a bomb is not worth another attempt"
    );
    assert_eq!(e.status(tile), Some(TileStatus::Failed));
}
