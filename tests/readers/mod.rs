//! What the tests that open mlytiles' outputs in other programs share: running `render` on the
//! bundled sample.

use std::path::Path;
use std::process::{Command, Output};

/// `mlytiles render --cache fixtures/cache ARGS` in `dir` (the store's whole area unless ARGS
/// say otherwise); its stdout, after asserting it succeeded.
pub fn render(dir: &Path, args: &[&str]) -> String {
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cache");
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .arg("render")
        .arg("--cache")
        .arg(&cache)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env_remove("MLYTILES_CACHE")
        .output()
        .expect("run mlytiles");
    ok(&out, &format!("mlytiles render {}", args.join(" ")))
}

/// The stdout of `out`, after asserting that the program (`what`) succeeded.
pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
