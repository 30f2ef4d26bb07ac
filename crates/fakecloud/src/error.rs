//! The crate's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the fake cloud could not start or could not carry out an operation.
#[derive(Debug, thiserror::Error)]
pub enum FakeCloudError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file or folder in the data dir could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A socket-level operation failed.
    #[error("network error: {0}")]
    Net(#[source] std::io::Error),
    /// The metadata database failed.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// Hashing failed inside OpenSSL.
    #[error("hashing error: {0}")]
    Hash(#[from] openssl::error::ErrorStack),
    /// The configuration cannot work (for example a slice size of 0).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The data dir holds something this version cannot make sense of.
    #[error("data dir is inconsistent: {0}")]
    Corrupt(String),
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// A blocking worker task died (panicked or was cancelled).
    #[error("worker task failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl FakeCloudError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
