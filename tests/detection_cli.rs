//! Issue 13, item 11: `mlytiles detection -` streams its output. A detection of 1.2 million
//! vertices (3.2 MB of base64) used to be built as a JSON tree first (about 80 times the
//! input's size in memory); the peak resident memory of the process now stays within a few
//! times the input.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use base64::Engine as _;

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
