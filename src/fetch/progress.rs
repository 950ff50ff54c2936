//! A fetch run with its progress on stderr: a bar on a terminal, a line every 5 s otherwise,
//! and Ctrl-C stopping it cleanly.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use mlytiles_fetch::{Fetcher, Plan, Progress, RunOptions, Summary, Tileset};
use mlytiles_store::TileStore;

use crate::units::human_bytes;

use super::Args;

pub(super) async fn fetch(
    args: &Args,
    fetcher: &Fetcher,
    tileset: &Tileset,
    store: Arc<dyn TileStore>,
    plan: &Plan,
) -> anyhow::Result<Summary> {
    let stopper = fetcher.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping: the requests in flight are dropped, stored tiles stay");
            stopper.stop();
        }
    });
    let total = plan.requests();
    let progress: Option<mlytiles_fetch::ProgressFn> = if args.quiet {
        None
    } else if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(Arc::new(move |p: &Progress| {
            bar.set_position(p.done);
            bar.set_message(format!(
                "data {} empty {} failed {} cached {} {} budget left {}",
                p.data,
                p.empty + p.not_modified,
                p.failed,
                p.from_cache,
                human_bytes(p.bytes),
                p.budget_left
            ));
            if p.done == p.total {
                bar.finish_and_clear();
            }
        }))
    } else {
        let last = Mutex::new(Instant::now());
        Some(Arc::new(move |p: &Progress| {
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(5) || p.done == p.total {
                *last = Instant::now();
                eprintln!(
                    "{}/{} tiles: {} data, {} empty, {} failed; {} requests, {}, {:.1} tiles/s; \
                     budget left {}",
                    p.done,
                    p.total,
                    p.data,
                    p.empty + p.not_modified,
                    p.failed,
                    p.requests,
                    human_bytes(p.bytes),
                    p.done as f64 / p.elapsed.as_secs_f64().max(1e-3),
                    p.budget_left
                );
            }
        }))
    };
    let options = RunOptions {
        progress,
        from_cache: plan.cached(),
    };
    let summary =
        mlytiles_fetch::run(fetcher, tileset, store, plan.to_request.clone(), options).await?;
    ctrl_c.abort();
    Ok(summary)
}
