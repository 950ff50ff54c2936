//! Links the release binary at a fixed address on Linux (see `fixed_address`), and tells the
//! tests that open mlytiles' outputs in other programs which of those programs are here. For each reader it sets a cfg when the program is installed, or when `CI` is set (CI
//! must run those tests, which then fail naming the missing program; `.ci/run` installs them):
//!
//! | cfg | program | from |
//! |---|---|---|
//! | `has_gdal` | `gdalinfo`, `ogrinfo` | Debian's `gdal-bin` |
//! | `has_imagemagick` | `identify` | Debian's `imagemagick` |
//! | `has_pillow` | `python3 -c 'import PIL'` | PyPI's `Pillow` (`tests/requirements.txt`) |
//! | `has_pmtiles_py` | `python3 -c 'import pmtiles.reader'` | PyPI's `pmtiles` (`tests/requirements.txt`) |
//!
//! Without the cfg, a test marked `#[cfg_attr(not(has_gdal), ignore = "...")]` is reported as
//! ignored with the reason, never passed silently.

use std::path::Path;
use std::process::{Command, Stdio};

/// `CI` set to anything but empty, `0` or `false`.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether `program` is a file in one of `PATH`'s folders.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Whether `python3` imports `module`.
fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the binary is linked at a fixed address (`-no-pie`) rather than as a
/// position-independent executable, the default: on Linux, in release builds, unless
/// `MLYTILES_PIE` is set to anything but empty or `0`. A position-independent binary is
/// relocated by the dynamic loader each time it starts: 13,703 pointers in 51 pages that are
/// then copied on write, about 0.14 ms of the 2.7 ms a whole `render --tile` of the densest
/// tile takes. The cost of a fixed address is that ASLR no longer moves the binary's own code
/// and data (its stack, heap, threads' stacks and shared libraries are still placed at
/// random).
fn fixed_address() -> bool {
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let pie = std::env::var("MLYTILES_PIE").is_ok_and(|v| !v.is_empty() && v != "0");
    linux && release && !pie
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=MLYTILES_PIE");
    if fixed_address() {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=PATH");
    // Installing a Debian package changes /usr/bin's mtime; a pip install changes the folder
    // python3 resolves to only through PATH, which is watched above.
    if Path::new("/usr/bin").is_dir() {
        println!("cargo::rerun-if-changed=/usr/bin");
    }
    let ci = under_ci();
    let tools = [
        ("has_gdal", on_path("gdalinfo") && on_path("ogrinfo")),
        ("has_imagemagick", on_path("identify")),
        ("has_pillow", python_has("PIL")),
        ("has_pmtiles_py", python_has("pmtiles.reader")),
    ];
    for (cfg, here) in tools {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if ci || here {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
