//! Links the release binary on Linux so that it starts sooner (see `quick_start_link`), and
//! tells the tests that open mlytiles' outputs in other programs which of those programs are
//! here. For each reader it sets a cfg when the program is installed, or when `CI` is set (CI
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

/// An environment variable's value; empty when unset (or not Unicode).
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
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

/// Links the release binary on Linux so that the dynamic loader has less to do at each start.
/// Measured on `render --tile` of the densest tile, about 2.5 ms as a whole process:
///
/// - GCC's unwinder is linked into the binary (`libgcc_eh.a`, which `gcc -static-libgcc`
///   links) rather than loaded from `libgcc_s.so.1`: a shared library fewer to find, map and
///   bind, 0.05 ms. Rust's standard library asks for `-lgcc_s`; a linker script of that name
///   in `OUT_DIR`, searched before the system's folders, stands for the archive. Only when the
///   C compiler that links says where the archive is.
/// - With `MLYTILES_FIXED_ADDRESS` so set, and only then, the binary is linked at a fixed
///   address (`-no-pie`) rather than as a position-independent executable, which the loader
///   relocates at each start (13,703 pointers in 51 pages then copied on write): 0.13 ms less.
///   Not by default: ASLR then no longer moves the binary's own code, which a memory-safety bug
///   in a C part (SQLite reading a hostile MBTiles file, say) would make easier to exploit.
/// - The functions a render runs are laid side by side at the start of the code
///   ([`code_order_link`]).
///
/// The unwinder and the code order only for GNU's C library, when not cross-compiling, and
/// unless `MLYTILES_DEFAULT_LINK` is set to anything but empty or `0` (rustc's way then).
fn quick_start_link() {
    println!("cargo::rerun-if-env-changed=MLYTILES_DEFAULT_LINK");
    println!("cargo::rerun-if-env-changed=MLYTILES_FIXED_ADDRESS");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let set = |name: &str| !matches!(env(name).as_str(), "" | "0");
    if env("CARGO_CFG_TARGET_OS") != "linux" || env("PROFILE") != "release" {
        return;
    }
    if set("MLYTILES_FIXED_ADDRESS") {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    if set("MLYTILES_DEFAULT_LINK")
        || env("CARGO_CFG_TARGET_ENV") != "gnu"
        || env("TARGET") != env("HOST")
    {
        return;
    }
    unwinder_link();
    code_order_link();
}

/// Links GCC's unwinder into the binary (see [`quick_start_link`]).
fn unwinder_link() {
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".into());
    let Ok(found) = Command::new(linker)
        .arg("-print-file-name=libgcc_eh.a")
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    let archive = String::from_utf8_lossy(&found.stdout).trim().to_string();
    // Without the archive the compiler prints the bare name back.
    if !found.status.success()
        || !Path::new(&archive).is_absolute()
        || !Path::new(&archive).is_file()
    {
        return;
    }
    let out = std::path::PathBuf::from(env("OUT_DIR"));
    let script =
        format!("/* GCC's unwinder linked in; see mlytiles' build.rs */\nINPUT ( {archive} )\n");
    if std::fs::write(out.join("libgcc_s.so"), script).is_ok() {
        println!("cargo::rustc-link-search=native={}", out.display());
    }
}

/// Links with the LLVM linker that comes with Rust (`rust-lld`, through the `ld.lld` that
/// rustup puts in the toolchain's `gcc-ld` folder) and has it lay out the functions listed in
/// `link/text-order.txt` first, in that order: those `render --tile` runs, written by
/// `link/text_order.py`. A process maps its code as it first runs it, a page and the pages
/// around it (64 KiB) at a time; scattered over 9 MB of code, one render's functions had some
/// 3 MB mapped (and unmapped again at the exit), side by side they take 0.6 MB. On the densest
/// tile: 8.5 MB resident at the end where 5.2 MB now, 443 page faults where 414, and 0.055 ms
/// less a render back to back (`render_vs_gdal.py`: 2.71 ms where 2.78, the same session).
/// Only where the toolchain has that linker (rustup's toolchains for Linux on x86-64 do) and
/// the C compiler that links is GCC's or Clang's `cc`, which take `-fuse-ld` and `-B`. The
/// names hold hashes of the crates' versions: a build from `Cargo.lock` (`cargo build`,
/// `cargo install --locked`) finds them all; `cargo install` without `--locked`, which takes
/// the newest versions, only the standard library's and a few more (140 of 388 here).
fn code_order_link() {
    let order = Path::new(&env("CARGO_MANIFEST_DIR")).join("link/text-order.txt");
    println!("cargo::rerun-if-changed={}", order.display());
    // The default `cc`, or a named GCC (`…gcc`, `…cc`) or Clang.
    let linker = env("RUSTC_LINKER");
    let name = Path::new(&linker)
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    if !(linker.is_empty() || name.ends_with("cc") || name.starts_with("clang")) {
        return;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(sysroot) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return;
    };
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    let gcc_ld = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(env("HOST"))
        .join("bin/gcc-ld");
    if sysroot.is_empty() || !gcc_ld.join("ld.lld").is_file() || !order.is_file() {
        return;
    }
    println!("cargo::rustc-link-arg-bins=-fuse-ld=lld");
    println!("cargo::rustc-link-arg-bins=-B{}", gcc_ld.display());
    println!(
        "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    // Functions listed but not in this build (added or renamed since the list was written)
    // are skipped quietly.
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    quick_start_link();
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
