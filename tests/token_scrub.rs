//! The access token never leaks when an upstream quotes the request back: `mlytiles fetch`
//! against a test server on 127.0.0.1 that answers with the request line in every encoding a
//! server may use (raw, percent-encoded, HTML references, JSON escapes, mixed, padded so that
//! the quoted sample cuts the token, cut short by the server), then `mlytiles cache failed`;
//! stdout, stderr and every byte of the cache folder are searched for the token, decoded.

use std::path::{Path, PathBuf};
use std::process::Command;

use mlytiles_testserver::{EchoForm, Reply, TestServer};
use mlytiles_tile::TileId;

const TOKEN: &str = "MLY|TESTTOKEN|zz9fffSECRET";

/// Every run of 8 characters of the token: none may appear, in any encoding.
fn windows() -> Vec<&'static str> {
    (0..=TOKEN.len() - 8).map(|i| &TOKEN[i..i + 8]).collect()
}

/// `text` with percent-encoding, HTML character references and `\u`/`\x` escapes decoded
/// (three rounds, for text encoded twice and for Rust's `{:?}` quoting of backslashes).
fn decoded(text: &str) -> String {
    let mut s = text.replace("\\\\", "\\");
    for _ in 0..3 {
        s = decode_once(&s);
    }
    s
}

fn decode_once(s: &str) -> String {
    let named = [
        ("&verbar;", '|'),
        ("&vert;", '|'),
        ("&VerticalLine;", '|'),
        ("&lowbar;", '_'),
        ("&period;", '.'),
    ];
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let hex_at = |from: usize, n: usize| -> Option<u32> {
        let digits: String = chars.get(from..from + n)?.iter().collect();
        u32::from_str_radix(&digits, 16).ok()
    };
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 16)].iter().collect();
        if let Some((name, c)) = named.iter().find(|(n, _)| rest.starts_with(n)) {
            out.push(*c);
            i += name.chars().count();
            continue;
        }
        let c = chars[i];
        if c == '%'
            && let Some(v) = hex_at(i + 1, 2)
        {
            out.push(char::from_u32(v).unwrap_or('?'));
            i += 3;
            continue;
        }
        if c == '\\'
            && matches!(chars.get(i + 1), Some('u'))
            && let Some(v) = hex_at(i + 2, 4)
        {
            out.push(char::from_u32(v).unwrap_or('?'));
            i += 6;
            continue;
        }
        if c == '\\'
            && matches!(chars.get(i + 1), Some('x'))
            && let Some(v) = hex_at(i + 2, 2)
        {
            out.push(char::from_u32(v).unwrap_or('?'));
            i += 4;
            continue;
        }
        if c == '&' && chars.get(i + 1) == Some(&'#') {
            let hexa = matches!(chars.get(i + 2), Some('x' | 'X'));
            let from = i + 2 + usize::from(hexa);
            let digits: String = chars[from..]
                .iter()
                .take_while(|d| d.is_digit(if hexa { 16 } else { 10 }))
                .collect();
            if let Ok(v) = u32::from_str_radix(&digits, if hexa { 16 } else { 10 }) {
                out.push(char::from_u32(v).unwrap_or('?'));
                i = from + digits.len();
                if chars.get(i) == Some(&';') {
                    i += 1;
                }
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Panics if `bytes` hold any 8 characters of the token, raw or in any encoding.
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = decoded(&String::from_utf8_lossy(bytes));
    for w in windows() {
        assert!(
            !text.contains(w),
            "{what} holds {w:?} of the token:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn mlytiles(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlytiles"));
    cmd.args(args)
        .env("MAPILLARY_ACCESS_TOKEN", TOKEN)
        .env_remove("MLYTILES_ENDPOINT")
        .env_remove("MLYTILES_CACHE");
    cmd
}

/// The request target the fetcher sends for `tile` (reqwest percent-encodes `|` as `%7C`).
fn target(tile: TileId) -> String {
    format!(
        "/maps/vtp/mly1_public/2/{}/{}/{}?access_token={}",
        tile.z(),
        tile.x(),
        tile.y(),
        TOKEN.replace('|', "%7C")
    )
}

#[test]
fn an_upstream_quoting_the_token_in_any_encoding_never_leaks_it() {
    let server = TestServer::start_background();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let mut replies: Vec<Reply> = Vec::new();
    let echo = |status, form, pad, cut| Reply::Echo {
        status,
        form,
        pad,
        cut,
    };
    for form in EchoForm::ALL {
        // 5xx (a sample of the body), another status, and a 200 that is not a tile.
        for status in [500, 418, 200] {
            replies.push(echo(status, form, 0, None));
        }
    }
    let mut tiles: Vec<TileId> = (0..replies.len() as u32 + 4)
        .map(|i| TileId::new(14, 1000 + i, 2000).unwrap())
        .collect();
    // Padded so that the 120-byte sample ends inside the token, and cut by the server
    // itself after 9 and after 6 characters of the token (8 bytes percent-encoded).
    let t = tiles[replies.len()];
    let at = format!("GET {}", target(t)).find("MLY").unwrap();
    replies.push(echo(500, EchoForm::Raw, 120 - at - 12, None));
    let t = tiles[replies.len()];
    let at = format!("GET {}", target(t)).find("MLY").unwrap();
    replies.push(echo(418, EchoForm::Raw, 0, Some(at + 9)));
    let t = tiles[replies.len()];
    let at = format!("GET {}", target(t)).find("MLY").unwrap();
    replies.push(echo(418, EchoForm::AsReceived, 0, Some(at + 8)));
    let t = tiles[replies.len()];
    let at = format!("GET {}", target(t)).find("MLY").unwrap();
    replies.push(echo(502, EchoForm::AsReceived, 40, Some(at + 40 + 12)));
    assert_eq!(replies.len(), tiles.len());
    for (tile, reply) in tiles.iter().zip(&replies) {
        // Every attempt (retries included) gets the same echo.
        server.script((tile.z(), tile.x(), tile.y()), vec![reply.clone(); 8]);
    }
    tiles.sort();
    let list = dir.path().join("tiles.txt");
    let text: String = tiles.iter().map(|t| format!("{t}\n")).collect();
    std::fs::write(&list, text).unwrap();

    let out = mlytiles(&["fetch", "--no-skip-empty", "--concurrency", "48"])
        .arg("--endpoint")
        .arg(server.url())
        .arg("--cache")
        .arg(&cache)
        .arg("--tiles")
        .arg(&list)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Every tile failed, so the run exits 1 (and says so on stderr, which is searched too).
    assert!(
        out.status.code() == Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} failed", tiles.len())),
        "every tile failed: {stdout}"
    );
    assert_clean("fetch's stdout", &out.stdout);
    assert_clean("fetch's stderr", &out.stderr);
    // The server did get the token, in the request line.
    assert!(server.requests()[0].query.contains("TESTTOKEN"));

    let failed = mlytiles(&["cache", "failed"]).arg(&cache).output().unwrap();
    assert!(failed.status.success());
    let listing = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(listing.lines().count(), tiles.len(), "{listing}");
    // The quotes are there, with the token replaced.
    assert!(listing.contains("access_token=***"), "{listing}");
    assert_clean("cache failed's stdout", &failed.stdout);
    assert_clean("cache failed's stderr", &failed.stderr);

    let stored = files(&cache);
    assert!(stored.len() >= 2, "{stored:?}");
    for f in stored {
        assert_clean(&f.display().to_string(), &std::fs::read(&f).unwrap());
    }
}
