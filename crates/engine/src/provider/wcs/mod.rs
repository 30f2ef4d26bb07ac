//! Wangsu WCS byte upload, shared by both 6pan flows (`../shared/protocols/wcs-6pan.md` §2–§7).
//!
//! A file is cut into 4 MiB blocks sent in parallel; inside a block, chunks go one after another
//! (`mkblk` with the first chunk, then `bput` with the previous reply's `ctx`). `mkfile` assembles the
//! blocks from their last contexts and answers `{hash, response}`, where `response` is the body 6pan's
//! callback returned. Small files (and 2018-style upload URLs) use the multipart form upload instead.
//! What is 6pan-specific (reading `response`, asking for a fresh token) comes in through [`Completion`].
//! The form upload's reply is read in every shape documented or seen: the callback's body plain or in
//! base64, or `{hash, response}` around it (response plain or base64), whose `hash` must be the local etag.
//!
//! Errors (spec §6, `reply::failure`): 701 and 412 redo a block, 412 at mkfile the file, 401 asks for a new
//! token (at mkfile only after asking again three times with the same blocks, as the official WCS SDKs read
//! a 401 there as a failed block check), 579 asks 6pan by hash. HTTP 429 and the 5xx are the host shedding load: the call backs off and
//! goes again within the retry budget, which is bounded by count and by total waiting time
//! ([`crate::http::RetryPolicy`]), so a burst of refusals is waited out instead of failing the file.

mod form;
pub(crate) mod reply;
mod slice;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;

use crate::error::Result;
use crate::provider::RemoteFile;

pub(crate) use form::FormSession;
pub(crate) use slice::{SavedBlocks, SliceSession};

/// Block size of the slice upload (and of the etag).
pub(crate) const BLOCK_SIZE: u64 = 4 * 1024 * 1024;
/// Chunk size inside a block; what the official 6pan web uploader uses.
pub(crate) const CHUNK_SIZE: u64 = 1024 * 1024;
/// Files above this cannot use the form upload (WCS documentation).
pub(crate) const FORM_UPLOAD_MAX: u64 = 500 * 1024 * 1024;
/// Name used in messages for the upload host.
pub(crate) const PROVIDER: &str = "WCS";

/// Permission to upload one file: where, and the opaque upload token 6pan issued.
#[derive(Clone)]
pub(crate) struct UploadGrant {
    /// The upload host (or, 2018-style, the full form-upload URL).
    pub url: Url,
    /// `Authorization` value, sent verbatim.
    pub token: SecretString,
}

impl UploadGrant {
    /// The token's `deadline` (unix ms), read from its put policy (`ak:sign:policy`, spec §2).
    pub(crate) fn deadline_ms(&self) -> Option<i64> {
        use base64::Engine;
        use secrecy::ExposeSecret;
        let policy = self.token.expose_secret().rsplit(':').next()?;
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(policy)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(policy))
            .ok()?;
        let json: serde_json::Value = serde_json::from_slice(&raw).ok()?;
        match json.get("deadline")? {
            serde_json::Value::String(s) => s.parse().ok(),
            other => other.as_i64(),
        }
    }

    /// Whether the host only offers the form upload (its URL already ends in `/file/upload`).
    pub(crate) fn is_form_only(&self) -> bool {
        self.url.path().trim_end_matches('/').ends_with("/file/upload")
    }
}

/// A file as the cloud's callback described it.
#[derive(Debug, Clone)]
pub(crate) struct CallbackFile {
    /// The cloud's file.
    pub remote: RemoteFile,
    /// The content hash the cloud recorded, when it says.
    pub hash: Option<String>,
    /// The size the cloud recorded, when it says.
    pub size: Option<u64>,
}

/// What asking the cloud again produced.
pub(crate) enum Renewal {
    /// The cloud now has the file (instant hit by hash).
    Done(RemoteFile),
    /// A new grant to upload with.
    Grant(UploadGrant),
}

/// The cloud-specific half of finishing a WCS upload.
#[async_trait]
pub(crate) trait Completion: Send + Sync {
    /// The cloud's name, for saved sessions.
    fn provider(&self) -> &'static str;

    /// Reads the callback body that came back in mkfile's `response` (or as the form upload's reply).
    fn parse_callback(&self, body: &str) -> Result<CallbackFile>;

    /// Asks the cloud for the file again by its hash: after an expired upload token, or after WCS stored the
    /// bytes but its callback failed (579).
    async fn renew(&self) -> Result<Renewal>;
}
