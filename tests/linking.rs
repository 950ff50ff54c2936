//! How the `mlytiles` binary is linked on Linux with GNU's C library (`build.rs`): what the
//! build script says it did (`MLYTILES_LINKED`), read back from the binary's headers by
//! binutils' `readelf`, with the hardening every way keeps; that the C library linked into the
//! binary stays out of the test programs; and that the binary, whichever way it is linked,
//! looks host names up through the C library's name service.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::path::Path;
use std::process::Command;

use mlytiles_testserver::TestServer;

/// What `readelf -h -l -d -W` prints about `path`.
fn headers(path: &Path) -> String {
    let out = Command::new("readelf")
        .args(["-h", "-l", "-d", "-W"])
        .arg(path)
        .output()
        .expect("readelf (binutils, which GCC's linking needs) runs");
    assert!(out.status.success(), "readelf {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The program headers' types `readelf -l` lists (`LOAD`, `INTERP`, `GNU_RELRO`...), with
/// their flags column.
fn segments(headers: &str) -> Vec<(String, String)> {
    let table = headers
        .split("Program Headers:")
        .nth(1)
        .and_then(|t| t.split("Section to Segment mapping").next())
        .unwrap_or("");
    table
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let kind = *fields.first()?;
            // Rows start with an upper-case type; the flags are the fields between the
            // file and memory sizes and the alignment: R, RW, R E, RWE.
            if !kind.chars().next()?.is_ascii_uppercase() || fields.len() < 8 {
                return None;
            }
            let flags = fields[6..fields.len() - 1].join("");
            Some((kind.to_string(), flags))
        })
        .collect()
}

/// Whether the ELF file is position-independent (`DYN`) rather than at a fixed address.
fn position_independent(headers: &str) -> bool {
    let kind = headers
        .lines()
        .find(|l| l.trim_start().starts_with("Type:"))
        .expect("an ELF header's type");
    assert!(kind.contains("DYN") || kind.contains("EXEC"), "{kind}");
    kind.contains("DYN")
}

#[test]
fn the_binary_is_linked_as_the_build_script_says_and_keeps_its_hardening() {
    let linked = env!("MLYTILES_LINKED");
    let bin = Path::new(env!("CARGO_BIN_EXE_mlytiles"));
    let h = headers(bin);
    let seg = segments(&h);
    let has = |kind: &str| seg.iter().any(|(k, _)| k == kind);
    let (static_, pie) = match linked {
        "static-pie" => (true, true),
        "static" => (true, false),
        "dynamic-pie" => (false, true),
        "dynamic" => (false, false),
        other => panic!("build.rs said it linked the binary {other:?}"),
    };
    // A static binary has no dynamic loader to name, and needs no shared library.
    assert_eq!(!has("INTERP"), static_, "{linked}: program headers {seg:?}");
    assert_eq!(!h.contains("(NEEDED)"), static_, "{linked}:\n{h}");
    assert_eq!(position_independent(&h), pie, "{linked}:\n{h}");
    // The stack is never executable, and whatever is relocated at the start is made
    // read-only after (RELRO), with every relocation done at once (BIND_NOW).
    let stack = seg.iter().find(|(k, _)| k == "GNU_STACK");
    assert!(
        stack.is_some_and(|(_, flags)| !flags.contains('E')),
        "{linked}: stack {stack:?}"
    );
    assert!(has("GNU_RELRO"), "{linked}: program headers {seg:?}");
    if pie {
        assert!(
            h.contains("BIND_NOW") || h.lines().any(|l| l.contains("FLAGS") && l.contains("NOW")),
            "{linked}: not bound at once:\n{h}"
        );
    }
    // And it runs.
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success(), "{linked}: {out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mlytiles "));
}

#[test]
fn the_c_library_linked_into_the_binary_stays_out_of_the_test_programs() {
    // The linker scripts that stand for the C library are the binary's alone: a test program
    // linked dynamically with the library's archive in it would crash before its first test,
    // so reaching this line says much; the headers say the rest.
    let me = std::env::current_exe().unwrap();
    let h = headers(&me);
    let seg = segments(&h);
    assert!(
        seg.iter().any(|(k, _)| k == "INTERP") && h.contains("libc.so.6"),
        "this test program is not linked with the system's C library:\n{h}"
    );
}

#[test]
fn fetch_finds_a_server_by_host_name() {
    // `localhost` is looked up through /etc/nsswitch.conf and /etc/hosts by the C library,
    // which a static binary carries in itself.
    let server = TestServer::start_background();
    let tile = (14, 3251, 6257);
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/mapillary/josm_mly1_public_14_3251_6257.mvt"),
    )
    .unwrap();
    server.insert(tile, bytes.clone());
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("tiles.txt");
    std::fs::write(&list, "14/3251/6257\n").unwrap();
    let port = server.addr().port();
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(["fetch", "--quiet", "--no-skip-empty", "--endpoint"])
        .arg(format!("http://localhost:{port}"))
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .arg("--tiles")
        .arg(&list)
        .env("MAPILLARY_ACCESS_TOKEN", "MLY|1|linkingTEST")
        .env_remove("MLYTILES_ENDPOINT")
        .env_remove("MLYTILES_CACHE")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(server.total_requests(), 1, "{text}");
    let store =
        mlytiles_store::MbTiles::open_read_only(dir.path().join("cache/mly1_public.mbtiles"))
            .unwrap();
    use mlytiles_store::TileStore;
    let stored = store
        .get(mlytiles_tile::TileId::new(14, 3251, 6257).unwrap())
        .unwrap()
        .expect("the tile is stored");
    assert_eq!(stored.uncompressed().unwrap().as_ref(), bytes.as_slice());
}
