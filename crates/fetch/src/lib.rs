//! Quota-aware, resumable, fault-tolerant downloads of Mapillary vector tiles (or any
//! `{z}/{x}/{y}` MVT server) into an mlytiles store.
//!
//! - [`Tileset`]: the four Mapillary tilesets with their layers and zooms, or a URL template.
//! - [`FetchConfig`]: endpoint, token, concurrency, pace, timeouts, retries, daily budget.
//! - [`Fetcher`]: fetches one tile ([`Fetcher::fetch_tile`]) with the same classification,
//!   retries and budget as bulk runs ([`plan`] then [`run`]).
//! - [`Budget`]: the request counter per UTC day in the cache folder, shared by every run.
//!
//! Every answer is classified before anything is stored: only bodies that parse as vector
//! tiles are cached, failures are recorded as failed tiles (never over a stored tile), and
//! the access token never appears in an error, a progress report, a file or a store name.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod budget;
mod claims;
mod classify;
mod config;
mod error;
mod fetcher;
mod index;
mod metadata;
mod plan;
mod run;
mod scrub;
mod tileset;

pub use budget::{BUDGET_FILE, Budget, next_reset};
pub use classify::{FailureKind, validate_tile};
pub use config::{DEFAULT_ENDPOINT, FetchConfig, Token};
pub use error::{Error, Result};
pub use fetcher::{Fetcher, Outcome};
pub use index::{OverviewIndex, build_overview_index, overview_tiles};
pub use metadata::ensure_metadata;
pub use plan::{Plan, PlanOptions, plan};
pub use run::{Progress, ProgressFn, RunOptions, StopReason, Summary, run};
pub use tileset::{LayerZooms, Tileset};

pub use mlytiles_store;
pub use mlytiles_tile;
