//! What `fetch` prints: the plan, the summary, and why it stopped.

use std::io::Write;
use std::time::Duration;

use mlytiles_fetch::{Plan, StopReason, Summary, Tileset};
use mlytiles_store::chrono::{self, Utc};

use crate::units::human_bytes;

use super::{EXIT_INTERRUPTED, EXIT_LIMIT};

/// Why fetching the overview index stopped: at a limit or on Ctrl-C, the message and exit
/// code of a run that stopped there; any other error goes back to `main`.
pub(super) fn report_stop(
    e: mlytiles_fetch::Error,
    remaining: u64,
) -> anyhow::Result<std::process::ExitCode> {
    let code = match e {
        mlytiles_fetch::Error::BudgetExhausted { .. }
        | mlytiles_fetch::Error::DailyLimit { .. } => EXIT_LIMIT,
        mlytiles_fetch::Error::Stopped => EXIT_INTERRUPTED,
        e => return Err(e.into()),
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    if code == EXIT_LIMIT {
        let _ = writeln!(
            err,
            "{remaining} tiles remain; run the same command again after the reset"
        );
    }
    Ok(code.into())
}

pub(super) fn print_plan(
    tileset: &Tileset,
    plan: &Plan,
    daily: u64,
    left_today: u64,
    index_note: &str,
    took: Duration,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let fresh = fetched_between(plan.oldest, plan.newest);
    writeln!(
        out,
        "plan for {}: {} tiles; cached {} ({} data, {} empty{fresh}); failed before {}; \
         missing {}",
        tileset.name(),
        plan.total,
        plan.cached_data + plan.cached_empty,
        plan.cached_data,
        plan.cached_empty,
        plan.failed,
        plan.missing,
    )?;
    let mut parts = vec![format!("to request {}", plan.requests())];
    if plan.stale > 0 {
        parts.push(format!("{} of them re-checks of old tiles", plan.stale));
    }
    if plan.skipped_empty > 0 {
        parts.push(format!(
            "skip-empty saves {} requests (z13 cells without images)",
            plan.skipped_empty
        ));
    }
    let days = plan.days(daily, left_today);
    let budget = if days == 0 {
        format!("fits in today's budget ({left_today} of {daily} left)")
    } else {
        format!(
            "takes {days} days of budget ({left_today} of {daily} left today, then {daily} a day)"
        )
    };
    parts.push(budget);
    writeln!(
        out,
        "{}{index_note} (planned in {:.2} s)",
        parts.join("; "),
        took.as_secs_f64()
    )?;
    Ok(())
}

pub(super) fn print_summary(tileset: &Tileset, s: &Summary) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let p = &s.progress;
    writeln!(
        out,
        "{}: {} of {} tiles in {:.1} s: {} data, {} empty, {} not modified, {} failed; \
         {} from the cache; {} requests, {}; {} requests left in today's budget",
        tileset.name(),
        p.done,
        p.total,
        p.elapsed.as_secs_f64(),
        p.data,
        p.empty,
        p.not_modified,
        p.failed,
        p.from_cache,
        p.requests,
        human_bytes(p.bytes),
        p.budget_left
    )?;
    if p.by_other_runs > 0 {
        writeln!(
            out,
            "  {} tiles were fetched meanwhile by another run using this cache",
            p.by_other_runs
        )?;
    }
    for (kind, (count, sample)) in &s.failures {
        writeln!(out, "  failed ({kind}): {count} tiles, e.g. {sample}")?;
    }
    if p.failed > 0 {
        writeln!(
            out,
            "  the failed tiles are requested again by the next run (or only them with \
             --retry-failed); list them with `mlytiles cache failed`"
        )?;
    }
    if let Some(stop) = &s.stopped {
        let when = match stop {
            StopReason::Budget { resets_at, .. } => {
                let left = *resets_at - Utc::now();
                format!(
                    " (in {} h {} min); run the same command again then to resume",
                    left.num_hours(),
                    left.num_minutes() % 60
                )
            }
            StopReason::DailyLimit(_) => {
                format!(
                    "; Mapillary's limits reset daily: run the same command again later \
                     (our budget resets at {} UTC)",
                    mlytiles_fetch::next_reset(Utc::now()).format("%Y-%m-%d %H:%M")
                )
            }
            _ => String::new(),
        };
        writeln!(out, "stopped: {stop}{when}; {} tiles remain", s.remaining)?;
    }
    Ok(())
}

/// `", fetched OLDEST to NEWEST"` when both times are known, else nothing: how fresh cached tiles are.
pub(crate) fn fetched_between(
    oldest: Option<chrono::DateTime<Utc>>,
    newest: Option<chrono::DateTime<Utc>>,
) -> String {
    match (oldest, newest) {
        (Some(o), Some(n)) => format!(
            ", fetched {} to {}",
            o.format("%Y-%m-%d %H:%M"),
            n.format("%Y-%m-%d %H:%M")
        ),
        _ => String::new(),
    }
}
