//! A fetch-through failure answers 502 with a kind and an id, never with upstream text: an
//! upstream that quotes the request (with the token) in its error bodies reaches neither the
//! client nor the log with the token; the log line under the answer's id holds the details.

mod common;

use common::{client, log, start};
use mlytiles_serve::Config;
use mlytiles_serve::mlytiles_fetch::{FetchConfig, Token};
use mlytiles_testserver::{EchoForm, Reply, TestServer};

const TOKEN: &str = "MLY|TESTTOKEN|zz9fffSECRET";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_answers_a_kind_and_an_id_and_the_log_explains_it() {
    let log = log();
    let upstream = TestServer::start().await;
    let cache = tempfile::tempdir().unwrap();
    let server = start(Config {
        cache_dir: cache.path().to_owned(),
        addr: "127.0.0.1:0".parse().unwrap(),
        fetch: Some(FetchConfig {
            endpoint: upstream.url(),
            token: Some(Token::new(TOKEN).unwrap()),
            max_retries: 0,
            ..FetchConfig::default()
        }),
        ..Config::default()
    });
    let http = client();
    let forms = [
        EchoForm::AsReceived,
        EchoForm::Raw,
        EchoForm::PercentLower,
        EchoForm::HtmlDecimal,
        EchoForm::HtmlNamed,
        EchoForm::Json,
    ];
    for (i, form) in forms.into_iter().enumerate() {
        let (z, x, y) = (14, 500 + i as u32, 700);
        for status in [500, 418] {
            upstream.script(
                (z, x, y),
                [Reply::Echo {
                    status,
                    form,
                    pad: 0,
                    cut: None,
                }],
            );
            let r = http
                .get(server.url(&format!("/mvt/mly1_public/{z}/{x}/{y}.mvt")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 502, "{form:?} {status}");
            let body = r.text().await.unwrap();
            let kind = if status == 500 {
                "server-error"
            } else {
                "http-status"
            };
            let prefix = format!(
                "fetching mly1_public 14/{x}/{y} failed ({kind}); the server's log explains failure "
            );
            let id = body
                .trim_end()
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{form:?} {status}: {body:?}"));
            assert!(
                id.len() == 8 && id.chars().all(|c| c.is_ascii_hexdigit()),
                "{body:?}"
            );
            let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
            let line = logged
                .lines()
                .find(|l| {
                    l.contains(&format!(
                        "fetch failure {id}: fetching mly1_public 14/{x}/{y}: "
                    ))
                })
                .unwrap_or_else(|| panic!("no log line for {id}:\n{logged}"));
            assert!(line.contains("=***"), "the quote, scrubbed: {line}");
        }
    }
    assert_eq!(upstream.total_requests(), forms.len() * 2);
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    for needle in [
        "TESTTOKEN",
        "zz9fffSECRET",
        "MLY|TEST",
        "MLY%7CTEST",
        "MLY%7cTEST",
    ] {
        assert!(
            !logged.contains(needle),
            "the log holds {needle:?}:\n{logged}"
        );
    }
}
