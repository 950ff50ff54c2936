//! Links the binary on Linux so that it starts sooner (see `quick_start_link`), and
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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `CI` set to anything but empty, `0` or `false`.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// An environment variable's value; empty when unset (or not Unicode).
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// The C compiler that links: `RUSTC_LINKER` (Cargo's `linker` setting), else `cc`.
fn linker() -> String {
    Some(env("RUSTC_LINKER"))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "cc".into())
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

/// Links the binary on Linux so that it starts sooner. Measured on `render --tile` of the
/// densest tile, about 2.5 ms as a whole process:
///
/// - GNU's C library and GCC's unwinder are linked into the binary, which is then a static
///   position-independent executable (`-static-pie`): no dynamic loader runs at its start to
///   find, map, relocate and bind `libc.so.6` and `libm.so.6`, 0.07-0.19 ms less a render
///   (`--version` 0.57 ms where 0.81). See [`static_link`]. Where that cannot be (no `libc.a`,
///   a C compiler without `-static-pie`), only the unwinder is linked in (`libgcc_eh.a`
///   rather than `libgcc_s.so.1`, as `gcc -static-libgcc` does: 0.05 ms).
/// - With `MLYTILES_FIXED_ADDRESS` so set, and only then, a release binary is linked at a
///   fixed address (`-no-pie`) rather than as a position-independent executable, which is
///   relocated at each start (13,703 pointers in 51 pages then copied on write): 0.13 ms less.
///   Not by default: ASLR then no longer moves the binary's own code, which a memory-safety bug
///   in a C part (SQLite reading a hostile MBTiles file, say) would make easier to exploit.
/// - In release builds, the functions a render runs are laid side by side at the start of the
///   code ([`code_order_link`]).
///
/// The C library and unwinder in every profile (so the tests run the binary as it is
/// installed), the rest in release builds; only for GNU's C library, when not
/// cross-compiling, and unless `MLYTILES_DEFAULT_LINK` is set to anything but empty or `0`
/// (rustc's way then: a dynamically linked binary).
fn quick_start_link() {
    println!("cargo::rerun-if-env-changed=MLYTILES_DEFAULT_LINK");
    println!("cargo::rerun-if-env-changed=MLYTILES_FIXED_ADDRESS");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let out = PathBuf::from(env("OUT_DIR"));
    // `OUT_DIR` outlives a run of this script: the scripts an earlier run wrote (under other
    // settings) would still be found by the linker, and a C library linked in half (the
    // archive into a dynamically linked binary) crashes at the start.
    for name in ASKED {
        let _ = std::fs::remove_file(out.join(format!("lib{name}.so")));
    }
    let set = |name: &str| !matches!(env(name).as_str(), "" | "0");
    let release = env("PROFILE") == "release";
    let linux = env("CARGO_CFG_TARGET_OS") == "linux";
    let fixed = linux && release && set("MLYTILES_FIXED_ADDRESS");
    if fixed {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    let gnu = linux && env("CARGO_CFG_TARGET_ENV") == "gnu";
    let ours = gnu && !set("MLYTILES_DEFAULT_LINK") && env("TARGET") == env("HOST");
    let with_libc = ours && static_link(&out, fixed);
    if ours && release {
        code_order_link();
    }
    // How the binary was linked, for the test that checks it (tests/linking.rs): with GNU's
    // C library, rustc's own way is dynamic (`MLYTILES_DEFAULT_LINK`, cross-compiling).
    let linked = match (gnu, with_libc, fixed) {
        (false, ..) => "default",
        (true, true, false) => "static-pie",
        (true, true, true) => "static",
        (true, false, false) => "dynamic-pie",
        (true, false, true) => "dynamic",
    };
    println!("cargo::rustc-env=MLYTILES_LINKED={linked}");
}

/// The libraries Rust's standard library asks the linker for on Linux with GNU's C library
/// (`-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc`): [`static_link`] writes a linker script of
/// each name.
const ASKED: [&str; 7] = ["gcc_s", "util", "rt", "pthread", "m", "dl", "c"];

/// Where the C compiler that links finds `name` (an archive, a start file), if it does:
/// without it, the compiler prints the bare name back.
fn find_for_linker(linker: &str, name: &str) -> Option<String> {
    let found = Command::new(linker)
        .arg(format!("-print-file-name={name}"))
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    (found.status.success() && Path::new(&path).is_absolute() && Path::new(&path).is_file())
        .then_some(path)
}

/// Links GNU's C library and GCC's unwinder into the binary (see [`quick_start_link`]), or
/// the unwinder alone; true for the first.
///
/// Cargo cannot give the binary alone `-C target-feature=+crt-static` (it would reach the
/// proc-macro crates, which cannot be built so), so the static link is made from the linker's
/// side: a linker script in `OUT_DIR`, searched (by the binary's link only) before the
/// system's folders, stands for each library Rust asks for and names its archive, and
/// `-static-pie` (or `-static` at a fixed address) makes the C compiler start the program with
/// the C library's own start files (`rcrt1.o`), which relocate the binary with no loader. ASLR, RELRO, BIND_NOW and the
/// non-executable stack stay as they are. A small C program is linked and run the same way
/// first; if any part is missing or fails, only the unwinder is linked in.
///
/// What a static C library changes: the name service. Host names are looked up through
/// `/etc/nsswitch.conf` as before; its `files` and `dns` sources are in the binary, any other
/// (`mdns4_minimal`, `systemd`, `sss`) is loaded from the system at that moment, which works
/// with the C library the binary was built against (the one `cargo install` found) and may
/// not with another. And an update of the system's C library reaches the binary when it is
/// built again, as an update of any of its Rust crates does.
fn static_link(out: &Path, fixed: bool) -> bool {
    let linker = linker();
    let find = |name: &str| find_for_linker(&linker, name);
    let Some(eh) = find("libgcc_eh.a") else {
        return false;
    };
    let mode = if fixed { "-static" } else { "-static-pie" };
    let start = find(if fixed { "crt1.o" } else { "rcrt1.o" });
    // Each library's script: the unwinder for `libgcc_s`, the C library with the unwinder and
    // GCC's support routines (which it calls, and they call it) for `libc`, and each other
    // library's archive (empty since glibc 2.34, which moved them all into `libc.a`).
    let whole: Option<Vec<(String, String)>> = ASKED
        .iter()
        .map(|&name| {
            let body = match name {
                "gcc_s" => format!("INPUT ( {eh} )"),
                "c" => format!("GROUP ( {} {eh} {} )", find("libc.a")?, find("libgcc.a")?),
                _ => format!("INPUT ( {} )", find(&format!("lib{name}.a"))?),
            };
            Some((format!("lib{name}.so"), body))
        })
        .collect();
    let scripts = match whole {
        Some(all) if start.is_some() && links_statically(&linker, out, mode) => all,
        // The unwinder alone.
        _ => vec![("libgcc_s.so".to_string(), format!("INPUT ( {eh} )"))],
    };
    let whole = scripts.len() > 1;
    for (name, body) in &scripts {
        let text = format!("/* written by mlytiles' build.rs: see static_link there */\n{body}\n");
        if std::fs::write(out.join(name), text).is_err() {
            for (name, _) in &scripts {
                let _ = std::fs::remove_file(out.join(name));
            }
            return false;
        }
    }
    // To the binary's link alone (a search folder, `rustc-link-search`, would reach the test
    // and bench programs too, which would then take the C library's archive into a dynamically
    // linked program: it crashes at the start). The C compiler puts it before its own folders.
    println!("cargo::rustc-link-arg-bins=-L{}", out.display());
    if whole {
        println!("cargo::rustc-link-arg-bins={mode}");
    }
    whole
}

/// Whether `linker` links a C program `mode` (`-static-pie`, `-static`) that then runs.
fn links_statically(linker: &str, out: &Path, mode: &str) -> bool {
    let (src, exe) = (out.join("static_probe.c"), out.join("static_probe"));
    let probe = "#include <stdio.h>\nint main(void) { return puts(\"\") == EOF; }\n";
    let linked = std::fs::write(&src, probe).is_ok()
        && Command::new(linker)
            .arg(mode)
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let ran = linked
        && Command::new(&exe)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&exe);
    ran
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
    // `cc`, or a named GCC (`…gcc`, `…cc`) or Clang.
    let linker = linker();
    let name = Path::new(&linker)
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    if !(name.ends_with("cc") || name.starts_with("clang")) {
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
