//! Every kind of PNG `mlytiles render` writes (mosaics indexed and RGBA, with and without a
//! legend, single tiles, overzoomed @2x tiles, map-feature markers, pyramid tiles) opens in
//! Pillow, GDAL and ImageMagick with the size and the pixels mlytiles wrote.
//!
//! The served PNGs go through the same encoder; the server's browser test loads them.

mod readers;

use readers::{ok, render};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What the PNG decoder of the `png` crate reads: width, height, whether the file is indexed,
/// and the sum of the alpha channel over the image (palette and tRNS expanded).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expected {
    width: u32,
    height: u32,
    indexed: bool,
    alpha_sum: u64,
}

fn expected(path: &Path) -> Expected {
    let bytes = std::fs::read(path).expect("read png");
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().expect("png header");
    let indexed = reader.info().color_type == png::ColorType::Indexed;
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png data");
    buf.truncate(info.buffer_size());
    let (channels, alpha) = match info.color_type {
        png::ColorType::Rgba => (4, Some(3)),
        png::ColorType::GrayscaleAlpha => (2, Some(1)),
        png::ColorType::Rgb => (3, None),
        png::ColorType::Grayscale => (1, None),
        png::ColorType::Indexed => unreachable!("expanded"),
    };
    let pixels = buf.len() as u64 / channels as u64;
    let alpha_sum = match alpha {
        Some(a) => buf.chunks_exact(channels).map(|p| u64::from(p[a])).sum(),
        None => 255 * pixels,
    };
    Expected {
        width: info.width,
        height: info.height,
        indexed,
        alpha_sum,
    }
}

/// Renders one PNG of each kind into `dir` and returns their paths, each with the size the
/// command printed (none for pyramid tiles, whose size is the tile size).
fn every_kind(dir: &Path) -> Vec<(PathBuf, Option<(u32, u32)>)> {
    let printed = |stdout: &str, file: &str| -> (u32, u32) {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("Wrote {file} (")))
            .unwrap_or_else(|| panic!("no 'Wrote {file}' line in:\n{stdout}"));
        let dims = line.split_once(" (").expect("(").1;
        let (w, rest) = dims.split_once(" x ").expect("W x H");
        let h = rest.split_once(" px").expect("px").0;
        (w.parse().expect("width"), h.parse().expect("height"))
    };
    let mut files = Vec::new();
    let mut add = |file: &str, stdout: &str| {
        files.push((dir.join(file), Some(printed(stdout, file))));
    };
    // Mosaics of the store's area: one colour (indexed), and the age style with a legend (RGBA).
    add("mosaic.png", &render(dir, &["--out", "mosaic.png"]));
    let legend = ["--style", "age", "--legend", "--zoom", "13", "--out"];
    add(
        "legend.png",
        &render(dir, &[&legend[..], &["legend.png"]].concat()),
    );
    // An XYZ pyramid; its z14 tiles name tiles the store holds.
    render(dir, &["--pyramid", "--zooms", "12-14", "--out", "xyz"]);
    let z14 = dir.join("xyz/14");
    let x = first_entry(&z14);
    let y = first_entry(&z14.join(&x));
    let (x, y) = (x.parse::<u32>().expect("x"), y.trim_end_matches(".png"));
    let y = y.parse::<u32>().expect("y");
    let tile = format!("14/{x}/{y}");
    let child = format!("15/{}/{}", 2 * x + 1, 2 * y);
    add(
        "tile.png",
        &render(dir, &["--tile", &tile, "--out", "tile.png"]),
    );
    let legend = ["--tile", &tile, "--style", "pano", "--legend", "--out"];
    add(
        "tile_legend.png",
        &render(dir, &[&legend[..], &["tile_legend.png"]].concat()),
    );
    let markers = [
        "--tile",
        &tile,
        "--markers",
        "--background",
        "#ffffff",
        "--out",
    ];
    add(
        "markers.png",
        &render(dir, &[&markers[..], &["markers.png"]].concat()),
    );
    let over = ["--tile", &child, "--size", "256", "--scale", "2", "--out"];
    add(
        "over2x.png",
        &render(dir, &[&over[..], &["over2x.png"]].concat()),
    );
    for z in ["12", "13", "14"] {
        let zdir = dir.join("xyz").join(z);
        for x in std::fs::read_dir(&zdir).expect("zoom folder") {
            for y in std::fs::read_dir(x.expect("entry").path()).expect("x folder") {
                files.push((y.expect("entry").path(), None));
            }
        }
    }
    files
}

fn first_entry(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().next().expect("a file")
}

/// The PNGs of [`every_kind`] with what the `png` crate reads of them, after checking that
/// it agrees with the sizes the command printed. Rendered once for the three readers' tests
/// in one process, under the target folder's test scratch space, in a folder of the
/// process's own (cargo-nextest runs each test in a process of its own, at the same time).
fn outputs() -> &'static [(PathBuf, Expected)] {
    static OUTPUTS: OnceLock<Vec<(PathBuf, Expected)>> = OnceLock::new();
    OUTPUTS.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readers_png");
        // Earlier runs' folders go once an hour old; those of tests running now stay.
        for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| t.elapsed());
            if matches!(age, Ok(Ok(a)) if a.as_secs() > 3600) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = base.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        render_outputs(&dir)
    })
}

fn render_outputs(dir: &Path) -> Vec<(PathBuf, Expected)> {
    let files = every_kind(dir);
    assert!(files.len() > 8, "{files:?}");
    let out: Vec<(PathBuf, Expected)> = files
        .into_iter()
        .map(|(path, printed)| {
            let e = expected(&path);
            let size = printed.unwrap_or((512, 512));
            assert_eq!((e.width, e.height), size, "{}", path.display());
            (path, e)
        })
        .collect();
    // Both colour types are among them.
    assert!(out.iter().any(|(_, e)| e.indexed) && out.iter().any(|(_, e)| !e.indexed));
    out
}

#[test]
#[cfg_attr(
    not(has_pillow),
    ignore = "Pillow missing: pip install -r tests/requirements.txt (.ci/run installs it)"
)]
fn pillow_loads_every_png_with_its_size_and_pixels() {
    let files = outputs();
    // One line per file: width, height, mode, and the sum of alpha (Pillow's own decoding,
    // palette and transparency applied by Pillow).
    let script = "import sys\n\
        from PIL import Image\n\
        for f in sys.argv[1:]:\n\
        \x20   im = Image.open(f)\n\
        \x20   im.load()\n\
        \x20   a = sum(im.convert('RGBA').getchannel('A').getdata())\n\
        \x20   print(im.size[0], im.size[1], im.mode, a)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(files.iter().map(|(p, _)| p))
        .output()
        .expect("run python3");
    let stdout = ok(&out, "python3 (Pillow)");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "{stdout}");
    for ((path, e), line) in files.iter().zip(lines) {
        let mode = if e.indexed { "P" } else { "RGBA" };
        let want = format!("{} {} {mode} {}", e.width, e.height, e.alpha_sum);
        assert_eq!(line, want, "{}", path.display());
    }
}

#[test]
#[cfg_attr(
    not(has_gdal),
    ignore = "gdalinfo/ogrinfo missing: apt-get install gdal-bin (.ci/run installs it)"
)]
fn gdal_opens_every_png_with_its_size_and_bands() {
    for (path, e) in outputs() {
        let out = Command::new("gdalinfo")
            .arg("-json")
            .arg(path)
            .output()
            .expect("run gdalinfo");
        let stdout = ok(&out, &format!("gdalinfo {}", path.display()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.trim().is_empty(), "{}: {stderr}", path.display());
        let info: serde_json::Value = serde_json::from_str(&stdout).expect("gdalinfo JSON");
        assert_eq!(info["driverShortName"], "PNG", "{}", path.display());
        assert_eq!(info["size"], serde_json::json!([e.width, e.height]));
        let bands = info["bands"].as_array().expect("bands");
        let interp: Vec<&str> = bands
            .iter()
            .map(|b| b["colorInterpretation"].as_str().expect("interpretation"))
            .collect();
        let want: &[&str] = if e.indexed {
            &["Palette"]
        } else {
            &["Red", "Green", "Blue", "Alpha"]
        };
        assert_eq!(interp, want, "{}", path.display());
    }
}

#[test]
#[cfg_attr(
    not(has_imagemagick),
    ignore = "identify missing: apt-get install imagemagick (.ci/run installs it)"
)]
fn imagemagick_identifies_every_png_with_its_size() {
    let files = outputs();
    let out = Command::new("identify")
        .args(["-format", "%m %w %h\\n"])
        .args(files.iter().map(|(p, _)| p))
        .output()
        .expect("run identify");
    let stdout = ok(&out, "identify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "identify warned: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "{stdout}");
    for ((path, e), line) in files.iter().zip(lines) {
        assert_eq!(
            line,
            format!("PNG {} {}", e.width, e.height),
            "{}",
            path.display()
        );
    }
}
