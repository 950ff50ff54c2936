//! Every error is one line that names what failed (file, store, tile) and why, each cause
//! once: the whole line is asserted, so a cause printed twice fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn sample_tile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/14/3251/6257.mvt")
}

/// Runs `mlytiles ARGS` in `dir`; the exit code and the lines of stderr.
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("MLYTILES_CACHE")
        .output()
        .expect("run mlytiles");
    let err = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect();
    (out.status.code(), err)
}

/// The one error line of a failed run (exit 1).
fn error_line(dir: &Path, args: &[&str]) -> String {
    let (code, lines) = run(dir, args);
    assert_eq!(code, Some(1), "{args:?}: {lines:?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{args:?}: {lines:?}");
    errors[0].clone()
}

#[test]
fn a_missing_input_is_no_such_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        error_line(d, &["filter", "nosuch.mbtiles"]),
        "error: nosuch.mbtiles: no such file or folder"
    );
    assert_eq!(
        error_line(d, &["render", "--store", "nosuch.mbtiles"]),
        "error: nosuch.mbtiles: no such file or folder (--store)"
    );
    assert_eq!(
        error_line(d, &["cache", "info", "nosuch"]),
        "error: nosuch: no such cache folder"
    );
    assert_eq!(
        error_line(d, &["render", "--cache", "nosuch"]),
        "error: nosuch: no such cache folder"
    );
}

#[test]
fn sqlite_and_base64_causes_are_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bad.mbtiles"), b"not a database, just text").unwrap();
    assert_eq!(
        error_line(d, &["filter", "bad.mbtiles"]),
        "error: bad.mbtiles: SQLite: file is not a database"
    );
    assert_eq!(
        error_line(d, &["detection", "!!!"]),
        "error: the detection geometry is not valid base64: Invalid symbol 33, offset 0."
    );
}

#[test]
fn a_cut_tile_is_named_with_the_reader_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bytes = std::fs::read(sample_tile()).unwrap();
    std::fs::write(d.join("cut.mvt"), &bytes[..2000]).unwrap();
    let line = error_line(d, &["decode", "cut.mvt"]);
    assert!(
        line.starts_with(
            "error: cut.mvt: tile: malformed protobuf in the Tile message: the bytes end inside \
             a field at byte "
        ) && line.matches("malformed").count() == 1,
        "{line}"
    );
}

/// `-o FILE` errors name FILE, and an output that is a device is written in place, never
/// replaced by a renamed file.
#[cfg(target_os = "linux")]
#[test]
fn filter_output_errors_name_the_file_and_devices_stay_devices() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let tile = sample_tile();
    assert_eq!(
        error_line(
            dir.path(),
            &["filter", tile.to_str().unwrap(), "-o", "/dev/full"]
        ),
        "error: writing /dev/full: No space left on device (os error 28)"
    );
    let kind = std::fs::metadata("/dev/full").unwrap().file_type();
    assert!(kind.is_char_device(), "/dev/full is still a device");
    assert_eq!(
        error_line(
            dir.path(),
            &[
                "filter",
                tile.to_str().unwrap(),
                "-o",
                "no/such/folder/out.json"
            ]
        ),
        "error: writing no/such/folder/out.json: the folder no/such/folder does not exist"
    );
}
