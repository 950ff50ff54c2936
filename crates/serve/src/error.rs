//! The crate's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong setting up or running the server. Requests never make the server fail:
/// a bad request gets a 4xx answer with its reason and the server goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cache folder does not exist (and fetch-through, which would create it, is off).
    #[error("the cache folder {} does not exist (fetch tiles into it first, or pass --fetch)", dir.display())]
    NoCache {
        /// The folder.
        dir: PathBuf,
    },
    /// A store of the cache could not be opened or read.
    #[error(transparent)]
    Store(#[from] mlytiles_store::Error),
    /// The fetcher for fetch-through could not be set up.
    #[error(transparent)]
    Fetch(#[from] mlytiles_fetch::Error),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The folder given for the map library's files (`--assets`) does not hold the pinned
    /// version's files.
    #[error("--assets {}: {reason} (fill it with: npm ci --prefix crates/serve/web, then pass crates/serve/web/node_modules)", dir.display())]
    Assets {
        /// The folder.
        dir: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another I/O error (listing the cache folder, accepting connections).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
