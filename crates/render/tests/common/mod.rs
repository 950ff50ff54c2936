//! Shared helpers: the bundled sample pyramid, PNG decoding, golden comparison.
#![allow(dead_code)]

pub mod dense;

use std::path::{Path, PathBuf};

use mlytiles_render::Sources;
use mlytiles_store::Cache;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sample() -> Sources {
    let cache = Cache::open(repo().join("fixtures/cache")).expect("open the sample cache");
    Sources::from_cache(&cache, "mly1_public").expect("sample sources")
}

/// Decodes a PNG to straight RGBA8 (palettes and tRNS expanded).
pub fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgba, "expanded to RGBA");
    (info.width, info.height, buf)
}

pub fn encode_rgba(w: u32, h: u32, rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header().expect("header");
    wr.write_image_data(rgba).expect("data");
    wr.finish().expect("finish");
    out
}

/// The pixels whose largest channel difference exceeds `noise`, and the largest difference.
pub fn differing(a: &[u8], b: &[u8], noise: u8) -> (usize, u8) {
    let mut n = 0;
    let mut max = 0;
    for (p, q) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let d = p
            .iter()
            .zip(q)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        max = max.max(d);
        if d > noise {
            n += 1;
        }
    }
    (n, max)
}

/// Compares `actual` (PNG bytes) with `fixtures/golden/<name>.png`: equal up to anti-aliasing
/// noise (a channel off by at most 8 on at most 0.1% of the pixels). `BLESS=1` rewrites the
/// golden file; a mismatch writes expected | diff | actual to `target/golden-diff/<name>.png`.
pub fn check_golden(name: &str, actual: &[u8]) {
    let path = repo().join("fixtures/golden").join(format!("{name}.png"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to create it)", path.display()));
    let (w, h, exp) = decode(&expected);
    let (aw, ah, act) = decode(actual);
    assert_eq!(
        (aw, ah),
        (w, h),
        "{name}: size differs from the golden image"
    );
    let (n, max) = differing(&exp, &act, 8);
    let allowed = (w * h) as usize / 1000;
    if n > allowed {
        let dir = repo().join("target/golden-diff");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut side = vec![0u8; (w * 3 * h * 4) as usize];
        for y in 0..h as usize {
            for x in 0..w as usize {
                let i = (y * w as usize + x) * 4;
                let row = y * w as usize * 3;
                let d = exp[i..i + 4]
                    .iter()
                    .zip(&act[i..i + 4])
                    .map(|(a, b)| a.abs_diff(*b))
                    .max()
                    .unwrap_or(0);
                side[(row + x) * 4..(row + x) * 4 + 4].copy_from_slice(&exp[i..i + 4]);
                let diff = if d > 8 {
                    [255, 0, 0, 255]
                } else if d > 0 {
                    [255, 200, 200, 255]
                } else {
                    [255, 255, 255, 255]
                };
                side[(row + w as usize + x) * 4..(row + w as usize + x) * 4 + 4]
                    .copy_from_slice(&diff);
                side[(row + 2 * w as usize + x) * 4..(row + 2 * w as usize + x) * 4 + 4]
                    .copy_from_slice(&act[i..i + 4]);
            }
        }
        let out = dir.join(format!("{name}.png"));
        std::fs::write(&out, encode_rgba(w * 3, h, &side)).expect("write diff");
        panic!(
            "{name}: {n} pixels differ by more than 8 (largest {max}; {allowed} allowed); expected | diff | actual in {}. If the change is intended, rerun with BLESS=1.",
            out.display()
        );
    }
}
