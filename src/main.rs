//! `mlytiles`: look inside Mapillary vector tiles from the command line.
//!
//! This file parses the arguments, dispatches to a subcommand module and maps errors to exit
//! codes: 0 for success (warnings go to stderr), 1 for bad input data or an I/O error, 2 for a
//! usage error (clap's own code); `fetch` also stops with 3 at the daily limit and 130 on
//! Ctrl-C, codes its `run` returns. A closed stdout (`mlytiles decode ... | head`) ends the
//! program quietly with 0.

#![forbid(unsafe_code)]

mod cache_cmd;
mod decode;
mod detection;
mod fetch;
mod filter;
mod filter_args;
mod geojson;
mod input;
mod inspect;
mod render;
mod serve;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Decode and inspect Mapillary vector tiles (Mapbox Vector Tiles, gzipped or not).
#[derive(Debug, Parser)]
#[command(
    name = "mlytiles",
    version,
    after_help = "\
Exit codes: 0 success (warnings on stderr), 1 bad input data or I/O error, 2 usage error.

Examples:
  mlytiles inspect fixtures/sample/14/3251/6257.mvt
  mlytiles decode fixtures/sample/14/3251/6257.mvt --layer image --format ndjson
  mlytiles filter fixtures/sample/14/3251/6257.mvt --layer image --pano only --since 2021-06-12"
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
}

fn main() -> ExitCode {
    // Usage errors exit with 2, --help and --version with 0.
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Inspect(args) => inspect::run(args).map(|()| ExitCode::SUCCESS),
        Command::Decode(args) => decode::run(args).map(|()| ExitCode::SUCCESS),
        Command::Detection(args) => detection::run(args).map(|()| ExitCode::SUCCESS),
        Command::Filter(args) => filter::run(args).map(|()| ExitCode::SUCCESS),
        Command::Render(args) => render::run(args).map(|()| ExitCode::SUCCESS),
        Command::Fetch(args) => fetch::run(args),
        Command::Cache(args) => cache_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        // Success, or a run that stopped with its own code and message (fetch at a limit).
        Ok(code) => code,
        // The reader of our stdout went away (`| head`): what it wanted, it has.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the context chain on one line: `FILE: layer 0 "x", feature 3: ...`.
            let _ = writeln!(io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
