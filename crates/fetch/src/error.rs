//! The crate's error type.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// Everything that stops a fetch. A tile that fails after its retries is not an error: it is
/// recorded in the store as failed and reported as [`Outcome::Failed`](crate::Outcome::Failed).
///
/// No message ever holds the access token: URLs are removed from HTTP client errors and
/// bodies are masked before they are quoted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server rejected the access token (HTTP 401, or error code 190).
    #[error(
        "the access token is invalid or expired (the server answered {answer}); \
         set MAPILLARY_ACCESS_TOKEN or --token-file to a valid client token"
    )]
    InvalidToken {
        /// What the server answered, e.g. `HTTP 401`.
        answer: String,
    },
    /// The server kept answering "request limit reached" (HTTP 429 or the JSON limit body)
    /// for longer than [`FetchConfig::max_rate_limit_wait`](crate::FetchConfig::max_rate_limit_wait).
    #[error("the daily limit is reached: the server kept answering {answer}; try again later")]
    DailyLimit {
        /// What the server answered last.
        answer: String,
    },
    /// This UTC day's request budget is used up.
    #[error("the daily request budget of {limit} is used up; it resets at {resets_at} UTC")]
    BudgetExhausted {
        /// The budget per UTC day.
        limit: u64,
        /// When the next UTC day starts.
        resets_at: DateTime<Utc>,
    },
    /// The run was asked to stop (Ctrl-C).
    #[error("stopped on request")]
    Stopped,
    /// The budget file could not be read or written.
    #[error("{path}: request budget: {source}", path = .path.display())]
    Budget {
        /// The budget file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The tile store failed.
    #[error(transparent)]
    Store(#[from] mlytiles_store::Error),
    /// A tile address outside the tileset's zooms or otherwise invalid.
    #[error("{0}")]
    Tile(#[from] mlytiles_tile::Error),
    /// A configuration value is unusable (URL template, endpoint, token file, ...).
    #[error("{0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// The z5 overview tiles used to skip empty z14 tiles could not be read.
    #[error("overview index: {0}")]
    Index(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
