//! Typed errors with retryability and a closed code for the UI and the CLI.
//!
//! Messages never carry secrets: URLs are stripped from transport errors (they may hold tokens) and
//! request bodies are never echoed.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way an engine operation can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A local file, name or option breaks a rule; nothing was sent.
    #[error("{subject}: {rule}")]
    InvalidInput {
        /// The file, name or option at fault.
        subject: String,
        /// The rule it broke, in words a user understands.
        rule: String,
    },
    /// A local file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The cloud refused the credentials.
    #[error("{provider}: authentication failed: {message}")]
    Auth {
        /// Provider name.
        provider: &'static str,
        /// The server's message.
        message: String,
    },
    /// The cloud asked us to slow down.
    #[error("{provider}: rate limited: {message}")]
    RateLimited {
        /// Provider name.
        provider: &'static str,
        /// The server's message.
        message: String,
        /// How long the server asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// The connection failed (refused, reset, timed out on the wire).
    #[error("network error talking to {provider}: {message}")]
    Network {
        /// Provider name.
        provider: &'static str,
        /// What went wrong, without the URL.
        message: String,
    },
    /// The server answered with an HTTP 5xx status.
    #[error("{provider}: server error (HTTP {status})")]
    Server {
        /// Provider name.
        provider: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// The cloud answered a well-formed error in its own envelope.
    #[error("{provider}: {message} (code {code})")]
    Api {
        /// Provider name.
        provider: &'static str,
        /// The provider's error code, as text (some clouds use strings).
        code: String,
        /// The provider's message.
        message: String,
        /// Whether the provider documents this code as transient.
        retryable: bool,
    },
    /// A name already exists at the target and the duplicate policy forbids replacing it.
    #[error("{provider}: {name} already exists in the target folder")]
    Conflict {
        /// Provider name.
        provider: &'static str,
        /// The clashing name.
        name: String,
    },
    /// The server said something that breaks its own protocol.
    #[error("{provider}: unexpected response: {detail}")]
    Protocol {
        /// Provider name.
        provider: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// The bytes the cloud holds do not match what we hashed.
    #[error("{provider}: integrity check failed: {detail}")]
    Integrity {
        /// Provider name.
        provider: &'static str,
        /// Which check failed.
        detail: String,
    },
    /// A bounded wait ran out.
    #[error("{provider}: gave up waiting: {what}")]
    Timeout {
        /// Provider name.
        provider: &'static str,
        /// What we waited for.
        what: String,
    },
    /// The OS keyring could not be used.
    #[error("keyring: {message}")]
    Keyring {
        /// What failed and what to do about it.
        message: String,
    },
    /// The local database (queue, history, hash cache) could not be read or written.
    #[error("store: {message}")]
    Store {
        /// What was being done and what SQLite said.
        message: String,
        /// What kind of failure, as SQLite classed it.
        fault: StoreFault,
    },
    /// The operation was cancelled by its owner.
    #[error("cancelled")]
    Cancelled,
    /// A step after a finished upload failed (a torrent's offline download): the file is on the cloud. Its
    /// code and retryability are the step's own.
    #[error("{step}: {source}")]
    AfterUpload {
        /// What the step was, in words.
        step: &'static str,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },
}

/// What went wrong with the local database, as SQLite classes it, so a frontend can say it plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    /// The disk (or the user's quota) is full.
    Full,
    /// The file or its folder cannot be written.
    ReadOnly,
    /// Another process holds the database and did not let go in time.
    Busy,
    /// The file is damaged or is not a PanDrop database.
    Damaged,
    /// The operating system refused a read or a write (a file-size limit, a failing disk).
    Io,
    /// Anything else (a worker that failed, a value the store refuses).
    Other,
}

impl StoreFault {
    /// In words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Full => "the disk is full",
            Self::ReadOnly => "the folder cannot be written",
            Self::Busy => "another process holds the database",
            Self::Damaged => "the database file is damaged",
            Self::Io => "the system refused a read or a write",
            Self::Other => "the store failed",
        }
    }
}

/// The most characters of a server's own words that an error carries: enough for any real message, and a
/// hostile reply (up to the reply cap of several MiB) cannot flood the log, the UI or the store.
const MAX_SERVER_TEXT: usize = 300;

/// The most characters of a server-supplied value (a URL, a hash) quoted inside an error's own sentence.
const MAX_SHOWN_VALUE: usize = 80;

/// A server's message as an error shows it: cut to [`MAX_SERVER_TEXT`] characters, with `…` when cut.
pub(crate) fn server_text(text: &str) -> String {
    let (kept, cut) = clip(text, MAX_SERVER_TEXT);
    if cut { format!("{kept}…") } else { kept.to_owned() }
}

/// A server-supplied value quoted in an error: in quotes, cut to [`MAX_SHOWN_VALUE`] characters, with `…` when cut.
pub(crate) fn shown(text: &str) -> String {
    let (kept, cut) = clip(text, MAX_SHOWN_VALUE);
    if cut { format!("{kept:?}…") } else { format!("{kept:?}") }
}

/// The first `max` characters of `text`, and whether anything was left out.
fn clip(text: &str, max: usize) -> (&str, bool) {
    match text.char_indices().nth(max) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    }
}

/// A closed, stable classification of failures for the UI and for machine-readable output: every [`Error`]'s,
/// and the two a frontend reports about its own requests ([`ErrorCode::NotFound`], [`ErrorCode::NoProfile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A path, name or option breaks a rule; nothing was sent ([`Error::InvalidInput`]).
    InvalidInput,
    /// A local file could not be read ([`Error::Io`]).
    Io,
    /// The cloud refused the credentials ([`Error::Auth`]).
    Auth,
    /// The cloud asked us to slow down ([`Error::RateLimited`]).
    RateLimited,
    /// The cloud could not be reached ([`Error::Network`]).
    Network,
    /// The cloud failed, HTTP 5xx ([`Error::Server`]).
    Server,
    /// The cloud answered an error of its own ([`Error::Api`]).
    Api,
    /// The name already exists at the target ([`Error::Conflict`]).
    Conflict,
    /// The cloud broke its own protocol ([`Error::Protocol`]).
    Protocol,
    /// The bytes on the cloud do not match the file ([`Error::Integrity`]).
    Integrity,
    /// A bounded wait ran out ([`Error::Timeout`]).
    Timeout,
    /// The system keyring is not reachable; the UI explains it and offers no fallback ([`Error::Keyring`]).
    Keyring,
    /// The local database failed ([`Error::Store`]).
    Store,
    /// The operation was cancelled ([`Error::Cancelled`]).
    Cancelled,
    /// A frontend was asked about a task or profile that is not there.
    NotFound,
    /// Nothing to upload with: no account, and no sandbox.
    NoProfile,
}

impl ErrorCode {
    /// The code as it appears in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Io => "io",
            Self::Auth => "auth",
            Self::RateLimited => "rate_limited",
            Self::Network => "network",
            Self::Server => "server",
            Self::Api => "api",
            Self::Conflict => "conflict",
            Self::Protocol => "protocol",
            Self::Integrity => "integrity",
            Self::Timeout => "timeout",
            Self::Keyring => "keyring",
            Self::Store => "store",
            Self::Cancelled => "cancelled",
            Self::NotFound => "not_found",
            Self::NoProfile => "no_profile",
        }
    }

    /// The code named `name` (see [`ErrorCode::as_str`]), as a task's recorded error keeps it.
    pub fn named(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::from(name)).ok()
    }
}

impl Error {
    /// The closed code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput { .. } => ErrorCode::InvalidInput,
            Self::Io { .. } => ErrorCode::Io,
            Self::Auth { .. } => ErrorCode::Auth,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Network { .. } => ErrorCode::Network,
            Self::Server { .. } => ErrorCode::Server,
            Self::Api { .. } => ErrorCode::Api,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::Protocol { .. } => ErrorCode::Protocol,
            Self::Integrity { .. } => ErrorCode::Integrity,
            Self::Timeout { .. } => ErrorCode::Timeout,
            Self::Keyring { .. } => ErrorCode::Keyring,
            Self::Store { .. } => ErrorCode::Store,
            Self::Cancelled => ErrorCode::Cancelled,
            Self::AfterUpload { source, .. } => source.code(),
        }
    }

    /// Whether repeating the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Network { .. } | Self::Server { .. } => true,
            Self::Api { retryable, .. } => *retryable,
            Self::AfterUpload { source, .. } => source.is_retryable(),
            Self::InvalidInput { .. }
            | Self::Io { .. }
            | Self::Auth { .. }
            | Self::Conflict { .. }
            | Self::Protocol { .. }
            | Self::Integrity { .. }
            | Self::Timeout { .. }
            | Self::Keyring { .. }
            | Self::Store { .. }
            | Self::Cancelled => false,
        }
    }

    /// An [`Error::Store`] that SQLite did not class ([`StoreFault::Other`]).
    pub fn store(message: impl Into<String>) -> Self {
        Self::Store {
            message: message.into(),
            fault: StoreFault::Other,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(subject: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidInput {
            subject: subject.into(),
            rule: rule.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Maps a transport error, dropping the URL (it may carry a token).
    pub fn from_transport(provider: &'static str, err: reqwest::Error) -> Self {
        let err = err.without_url();
        if let Some(status) = err.status() {
            return Self::from_status(provider, status.as_u16(), None);
        }
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            source = inner.source();
        }
        Self::Network { provider, message }
    }

    /// Maps a non-success HTTP status that came without a usable envelope.
    pub fn from_status(provider: &'static str, status: u16, retry_after: Option<Duration>) -> Self {
        match status {
            401 | 403 => Self::Auth {
                provider,
                message: format!("HTTP {status}"),
            },
            429 => Self::RateLimited {
                provider,
                message: "HTTP 429".into(),
                retry_after,
            },
            500..=599 => Self::Server { provider, status },
            _ => Self::Protocol {
                provider,
                detail: format!("HTTP {status}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryability_follows_the_kind() {
        assert!(Error::from_status("t", 503, None).is_retryable());
        assert!(Error::from_status("t", 429, None).is_retryable());
        assert!(!Error::from_status("t", 401, None).is_retryable());
        assert!(!Error::invalid("a|b.txt", "bad").is_retryable());
        assert_eq!(Error::Cancelled.code().as_str(), "cancelled");
    }

    #[test]
    fn server_text_is_cut_on_a_character_boundary() {
        assert_eq!(server_text("文件正在校验中"), "文件正在校验中");
        let long = "错".repeat(MAX_SERVER_TEXT + 5);
        let shown = server_text(&long);
        assert_eq!(shown.chars().count(), MAX_SERVER_TEXT + 1);
        assert!(shown.ends_with('…'));
    }
}
