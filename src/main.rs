//! `mlytiles`: decode, filter, render, fetch and serve Mapillary vector tiles from the command
//! line.
//!
//! This file parses the arguments, dispatches to a subcommand module and maps errors to the
//! exit codes that `--help` lists: 0 for success (warnings go to stderr), 1 for a failure, 2 for
//! a usage error (clap's own code); `fetch` also stops with 3 at the daily limit and 130 on
//! Ctrl-C, codes its `run` returns. A closed stdout (`mlytiles decode ... | head`) ends the
//! program quietly with 0. Each error is printed once, on one line: see [`error_line`].

#![forbid(unsafe_code)]

mod cache_cmd;
mod cache_home;
mod decode;
mod detection;
mod fetch;
mod filter;
mod filter_args;
mod geojson;
mod input;
mod inspect;
mod pmtiles;
mod render;
mod serve;
mod units;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Decode, filter, render, fetch and serve Mapillary vector tiles (Mapbox Vector Tiles).
///
/// Every command that reads or fills a cache uses --cache DIR, else MLYTILES_CACHE, else the
/// user cache folder's `mlytiles` (~/.cache/mlytiles on Linux).
#[derive(Debug, Parser)]
#[command(
    name = "mlytiles",
    version,
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// The subcommands' help comes from the doc comments of their `Args`.
#[derive(Debug, Subcommand)]
enum Command {
    Inspect(inspect::Args),
    Decode(decode::Args),
    Detection(detection::Args),
    Filter(Box<filter::Args>),
    Render(Box<render::Args>),
    Fetch(Box<fetch::Args>),
    Cache(cache_cmd::Args),
    Serve(Box<serve::Args>),
    Pmtiles(pmtiles::Args),
}

/// The top-level help's closing text: the exit codes and a few examples.
const AFTER_HELP: &str = concat!(
    "Exit codes (every command):\n",
    "  0    success (warnings go to stderr)\n",
    "  1    failure: bad input data, I/O, nothing to draw, every tile of a fetch failed\n",
    "  2    usage error: an unknown, malformed or conflicting option\n",
    "  3    fetch stopped at the daily budget or Mapillary's daily limit (run it again later)\n",
    "  130  interrupted (Ctrl-C)\n",
    "\n",
    "Examples:\n",
    "  mlytiles render                                 # the cache (or the sample) -> coverage.png\n",
    "  mlytiles fetch --bbox 13.37,52.50,13.42,52.53   # an area into the cache\n",
    "  mlytiles render --bbox 13.37,52.50,13.42,52.53 --out berlin.png\n",
    "  mlytiles serve                                  # PNG tiles and a preview on 127.0.0.1:8080\n",
    "  mlytiles inspect fixtures/sample/14/3251/6257.mvt"
);

/// `mlytiles render ...` parsed by a parser of that command alone: the same arguments, help
/// and errors as through [`Cli`] (a test compares them), without building the other commands'
/// arguments, a third of a millisecond of a render's 3.7 ms here.
#[derive(Debug, Parser)]
#[command(name = "mlytiles", version, after_help = AFTER_HELP)]
struct RenderCli {
    #[command(subcommand)]
    command: RenderOnly,
}

#[derive(Debug, Subcommand)]
enum RenderOnly {
    Render(Box<render::Args>),
}

/// The command line, through [`RenderCli`] for `render`.
fn parse(render: bool) -> Cli {
    if render {
        let RenderCli {
            command: RenderOnly::Render(args),
        } = RenderCli::parse();
        return Cli {
            command: Command::Render(args),
        };
    }
    Cli::parse()
}

fn main() -> ExitCode {
    let render = std::env::args_os().nth(1).is_some_and(|a| a == "render");
    // Started first: its threads come up while the arguments are parsed.
    let render_pool = render.then(render::early_pool).flatten();
    // Usage errors exit with 2, --help and --version with 0.
    let cli = parse(render);
    let result = match &cli.command {
        Command::Inspect(args) => inspect::run(args).map(|()| ExitCode::SUCCESS),
        Command::Decode(args) => decode::run(args).map(|()| ExitCode::SUCCESS),
        Command::Detection(args) => detection::run(args).map(|()| ExitCode::SUCCESS),
        Command::Filter(args) => filter::run(args).map(|()| ExitCode::SUCCESS),
        Command::Render(args) => render::run(args, render_pool).map(|()| ExitCode::SUCCESS),
        Command::Fetch(args) => fetch::run(args),
        Command::Cache(args) => cache_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::Pmtiles(args) => pmtiles::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        // Success, or a run that stopped with its own code and message (fetch at a limit).
        Ok(code) => code,
        // The reader of our stdout went away (`| head`): what it wanted, it has.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {}", error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, `outer: inner: cause`, each text once: a cause
/// whose text its parent already quotes is left out, and so is a parent that only repeats
/// the start of its cause (`FILE` over `FILE: ...`). Libraries often both quote their
/// source in their message and return it as `source()`.
pub(crate) fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        // One line: SQLite and others put line breaks in their messages.
        let text = cause
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // SQLite's own error repeats its message behind its code: compare the message.
        let bare = match text.strip_prefix("Error code ") {
            Some(rest) => rest.split_once(": ").map_or(rest, |(_, msg)| msg),
            None => &text,
        };
        if bare.is_empty() || parts.iter().any(|p| p.contains(bare)) {
            continue;
        }
        if let Some(last) = parts.last()
            && text.starts_with(last.as_str())
        {
            parts.pop();
        }
        parts.push(text);
    }
    parts.join(": ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::error_line;

    /// The render command through [`super::RenderCli`] and through [`super::Cli`]: the same
    /// arguments parsed, the same help, the same errors with the same exit codes.
    #[test]
    fn the_render_parser_is_the_full_parsers_render() {
        use super::{Cli, Command, RenderCli, RenderOnly};
        use clap::Parser;
        let lines: [&[&str]; 12] = [
            &[],
            &["--tile", "14/3251/6257", "--size", "512", "--out", "t.png"],
            &[
                "--bbox",
                "13.37,52.50,13.42,52.53",
                "--zoom",
                "14",
                "--style",
                "age",
            ],
            &[
                "--pyramid",
                "--zooms",
                "0-5",
                "--out",
                "p",
                "--threads",
                "2",
            ],
            &["--help"],
            &["-h"],
            &["--version"],
            &["--bogus"],
            &["--size", "x"],
            &["--tile", "1/2"],
            &["--tile", "14/3251/6257", "--bbox", "1,2,3,4"],
            &["--style"],
        ];
        for line in lines {
            let argv = [&["mlytiles", "render"][..], line].concat();
            let full = Cli::try_parse_from(&argv).map(|c| match c.command {
                Command::Render(args) => format!("{args:?}"),
                other => panic!("{argv:?} parsed as {other:?}"),
            });
            let alone = RenderCli::try_parse_from(&argv).map(|c| match c.command {
                RenderOnly::Render(args) => format!("{args:?}"),
            });
            match (full, alone) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{argv:?}"),
                (Err(a), Err(b)) => {
                    assert_eq!(a.kind(), b.kind(), "{argv:?}");
                    assert_eq!(a.exit_code(), b.exit_code(), "{argv:?}");
                    assert_eq!(a.to_string(), b.to_string(), "{argv:?}");
                }
                (a, b) => panic!("{argv:?}: {a:?} against {b:?}"),
            }
        }
    }

    #[derive(Debug)]
    struct Quoting(&'static str, Option<Box<Quoting>>);

    impl std::fmt::Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Quoting {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn causes_quoted_by_their_parent_are_printed_once() {
        // A store error quoting SQLite's, which returns its coded error as its source.
        let sqlite = Quoting(
            "SQLite: file is not a database",
            Some(Box::new(Quoting(
                "Error code 26: file is not a database",
                None,
            ))),
        );
        let e = anyhow::Error::new(sqlite).context("bad.mbtiles");
        assert_eq!(
            error_line(&e),
            "bad.mbtiles: SQLite: file is not a database"
        );
    }

    #[test]
    fn a_context_repeating_the_start_of_its_cause_is_dropped_and_lines_are_joined() {
        let inner = Quoting("x.mbtiles: locked\n  (by another process)", None);
        let e = anyhow::Error::new(inner).context("x.mbtiles");
        assert_eq!(error_line(&e), "x.mbtiles: locked (by another process)");
        let e = anyhow::anyhow!("plain").context("outer");
        assert_eq!(error_line(&e), "outer: plain");
    }
}
