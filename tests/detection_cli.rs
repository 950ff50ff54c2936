//! `mlytiles detection` on the sample detection of `fixtures/sample/detection.json`, as the
//! README shows it; and issue 13, item 11: `mlytiles detection -` streams its output. A
//! detection of 1.2 million vertices (3.2 MB of base64) used to be built as a JSON tree first
//! (about 80 times the input's size in memory); the peak resident memory of the process now
//! stays within a few times the input.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use base64::Engine as _;

/// The `geometry` of `fixtures/sample/detection.json`, as `jq -r .geometry` prints it.
fn sample_geometry() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/detection.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (BLESS=1 cargo test --test sample_fixture)",
            path.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text).expect("detection.json is JSON");
    json["geometry"]
        .as_str()
        .expect("a geometry string")
        .to_owned()
}

/// Runs `mlytiles detection ARGS` with `stdin`, and returns the outline's one ring.
fn outline(args: &[&str], stdin: &str) -> (serde_json::Value, Vec<(f64, f64)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .arg("detection")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mlytiles");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    assert_eq!(json["geometry"]["type"], "MultiPolygon");
    let polygons = json["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(polygons.len(), 1, "one outline");
    assert_eq!(polygons[0].as_array().unwrap().len(), 1, "no hole");
    let ring = polygons[0][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    (json["properties"].clone(), ring)
}

/// The box `(min x, min y, max x, max y)` of `ring`.
fn bounds(ring: &[(f64, f64)]) -> (f64, f64, f64, f64) {
    ring.iter().fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
    )
}

/// The README's example: the sample detection is a stop sign's outline (an octagon of 8
/// corners and 3 points on each edge) right of the image's centre and above it, in normalised
/// image coordinates, y down; in pixels with `--width` and `--height`, read from stdin.
#[test]
fn the_sample_detection_is_a_stop_sign_right_of_centre() {
    let geometry = sample_geometry();
    let (properties, ring) = outline(&[&geometry], "");
    assert_eq!(properties["coordinate_space"], "normalized");
    assert_eq!(ring.len(), 33);
    assert_eq!(ring.first(), ring.last(), "closed");
    let (x0, y0, x1, y1) = bounds(&ring);
    // The octagon's box: 2650..2770 across and 1415..1545 down, of 4096 (within the pixel or
    // two that the traced edges wander).
    for (got, want) in [(x0, 2650.0), (y0, 1415.0), (x1, 2770.0), (y1, 1545.0)] {
        assert!((got * 4096.0 - want).abs() <= 2.0, "{got} vs {want} / 4096");
    }

    let (_, pixels) = outline(&["-", "--width", "4032", "--height", "3024"], &geometry);
    assert_eq!(pixels.len(), ring.len());
    for (p, n) in pixels.iter().zip(&ring) {
        assert!((p.0 - n.0 * 4032.0).abs() < 1e-6 && (p.1 - n.1 * 3024.0).abs() < 1e-6);
    }
}

/// A detection whose `mpy-or` layer holds `polygons` sawtooth rings of `2 * teeth + 2`
/// vertices each, one or two bytes a coordinate (as dense as real outlines get).
fn big_detection(polygons: u32, teeth: u32) -> String {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(out: &mut Vec<u8>, num: u64, body: &[u8]) {
        varint(out, (num << 3) | 2);
        varint(out, body.len() as u64);
        out.extend_from_slice(body);
    }
    let zz = |v: i32| u64::from(((v << 1) ^ (v >> 31)) as u32);
    let mut layer = Vec::new();
    varint(&mut layer, 15 << 3);
    varint(&mut layer, 2);
    field(&mut layer, 1, b"mpy-or");
    for p in 0..polygons as i32 {
        // Right along a sawtooth, down, left along another: clockwise with y down (an
        // exterior ring).
        let mut g = Vec::new();
        let start = ((p % 10) * 10, (p / 10) * 60);
        varint(&mut g, 1 | (1 << 3));
        varint(
            &mut g,
            zz(start.0 - if p == 0 { 0 } else { 10 * ((p - 1) % 10) }),
        );
        varint(
            &mut g,
            zz(start.1 - if p == 0 { 0 } else { ((p - 1) / 10) * 60 }),
        );
        varint(&mut g, 2 | (u64::from(2 * teeth + 1) << 3));
        for i in 0..teeth {
            varint(&mut g, zz(1));
            varint(&mut g, zz(if i % 2 == 0 { 1 } else { -1 }));
        }
        varint(&mut g, zz(0));
        varint(&mut g, zz(50));
        for i in 0..teeth {
            varint(&mut g, zz(-1));
            varint(&mut g, zz(if i % 2 == 0 { 1 } else { -1 }));
        }
        varint(&mut g, 7 | (1 << 3));
        let mut f = Vec::new();
        varint(&mut f, 3 << 3);
        varint(&mut f, 3);
        field(&mut f, 4, &g);
        field(&mut layer, 2, &f);
    }
    let mut tile = Vec::new();
    field(&mut tile, 3, &layer);
    base64::engine::general_purpose::STANDARD.encode(tile)
}

/// The process's peak resident memory in bytes (`VmHWM`), or `None` once it has exited.
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(target_os = "linux")]
#[test]
fn detection_from_stdin_streams_in_memory_bounded_by_the_input() {
    let text = big_detection(64, 9_375);
    let vertices = 64 * (2 * 9_375 + 2);
    assert!(vertices > 1_200_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlytiles"))
        .args(["detection", "-", "--width", "4032", "--height", "3024"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mlytiles");
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let input = text.clone();
    let feeder = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).expect("feed stdin");
    });
    // Read the output in chunks, sampling the child's peak memory between them: the peak
    // is monotonic, and the child cannot exit before the last chunk is read (less a pipe's
    // buffer), so every sample but the last few sees every allocation made before the
    // output's end.
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (mut bytes, mut peak, mut samples) = (0u64, 0u64, 0u32);
    let mut tail = Vec::new();
    loop {
        let n = stdout.read(&mut buf).expect("read stdout");
        if n == 0 {
            break;
        }
        bytes += n as u64;
        tail.extend_from_slice(&buf[..n]);
        let keep = tail.len().saturating_sub(64);
        tail.drain(..keep);
        if let Some(p) = peak_rss(pid) {
            peak = peak.max(p);
            samples += 1;
        }
    }
    feeder.join().unwrap();
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        samples > 10,
        "the child's memory was sampled ({samples} times)"
    );
    assert!(
        bytes > 40 * vertices as u64 / 2,
        "{bytes} bytes for {vertices} vertices"
    );
    assert!(
        String::from_utf8_lossy(&tail)
            .ends_with("\"origin\":\"top-left, y down\"},\"type\":\"Feature\"}\n"),
        "the document is complete"
    );
    // The input is 3.2 MB; the tree the old code built took about 300 MB. Allow the
    // process's own size (a debug binary) and a few copies of the input.
    let limit = 48 * 1024 * 1024 + 4 * text.len() as u64;
    assert!(
        peak < limit,
        "peak resident memory {} MB for {} MB of input (limit {} MB)",
        peak >> 20,
        text.len() >> 20,
        limit >> 20
    );
}
