//! Stalled connections cannot starve the server (issue 13, item 4): under a limit of 1,024
//! open files, 1,100 connections that send `GET /heal` and stop leave `/health`
//! answering, and the stalled ones are closed after the header timeout.
//!
//! The server runs in a child process (this test binary run again for the `child_server`
//! test, with a variable saying so) whose open-file limit is lowered to 1,024, soft and
//! hard, as a systemd service has it; the stalled connections are made from this process.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mlytiles_serve::Config;

const CHILD: &str = "MLYTILES_SERVE_TEST_CHILD";
const STALLED: usize = 1100;
/// Guards against a hang: an answer that has not come by then never will.
const GIVE_UP: Duration = Duration::from_secs(60);

/// The server of the test below, when this binary is run as its child; nothing otherwise.
#[test]
fn child_server() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    rlimit::setrlimit(rlimit::Resource::NOFILE, 1024, 1024).unwrap();
    let server = common::start(Config {
        cache_dir: common::sample_cache(),
        addr: "127.0.0.1:0".parse().unwrap(),
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(2),
        ..Config::default()
    });
    println!("ADDR {}", server.addr);
    std::io::stdout().flush().unwrap();
    // Serve until the parent closes our standard input.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
}

/// The child server, killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_server() -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_server", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Child(child);
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the child server says its address")
            .unwrap();
        // The test harness may have written its own words before ours on the line.
        if let Some(at) = line.find("ADDR ") {
            break line[at + 5..].trim().parse().unwrap();
        }
    };
    (child, addr)
}

/// GET /health on a new connection: the status code and how long the answer took.
fn health(addr: SocketAddr) -> (u16, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(GIVE_UP)).unwrap();
    write!(
        s,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    if let Err(e) = s.read_to_end(&mut answer) {
        panic!("/health did not answer ({e}) with {STALLED} stalled connections open");
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, started.elapsed())
}

#[test]
fn a_thousand_stalled_connections_leave_health_answering_and_are_closed() {
    // This process holds the thousand client ends.
    rlimit::increase_nofile_limit(4096).unwrap();
    let (_child, addr) = spawn_server();
    assert_eq!(health(addr).0, 200, "before the stalled connections");

    let mut stalled = Vec::with_capacity(STALLED);
    let opening = Instant::now();
    for _ in 0..STALLED {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /heal").unwrap();
        stalled.push(s);
    }
    let opened = opening.elapsed();
    let (status, took) = health(addr);
    assert_eq!(status, 200);
    eprintln!(
        "/health answered in {} ms with {STALLED} stalled connections (opened in {} ms)",
        took.as_millis(),
        opened.as_millis()
    );

    // Every stalled connection is closed by the server (no answer is owed: it never sent
    // its headers); those still waiting to be accepted are accepted and closed in turn.
    for (i, s) in stalled.iter_mut().enumerate() {
        s.set_read_timeout(Some(GIVE_UP)).unwrap();
        let mut rest = Vec::new();
        match s.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("stalled connection {i} was not closed: {e}"),
        }
    }
    let (status, took) = health(addr);
    assert_eq!(status, 200, "after");
    eprintln!(
        "/health answered in {} ms once they were closed",
        took.as_millis()
    );
}
