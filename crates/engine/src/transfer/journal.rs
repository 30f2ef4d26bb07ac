//! What a transfer records so that it can continue after a crash or restart instead of starting over.

use async_trait::async_trait;

use crate::error::Result;
use crate::hash::{FileDigest, HashRequest};
use crate::provider::{PartReceipt, ResumeState, SavedUpload};

/// Where a transfer records what it has done. The durable queue implements it over its store;
/// [`NoJournal`] remembers nothing.
#[async_trait]
pub trait Journal: Send + Sync {
    /// A digest computed earlier for this very file (same size and modification time), if any.
    async fn cached_digest(&self, _request: &HashRequest) -> Option<FileDigest> {
        None
    }

    /// Hashing is about to start (the queue waits here for a hashing slot).
    async fn before_hashing(&self) {}

    /// The hashing pass finished.
    async fn digest_computed(&self, _digest: &FileDigest) -> Result<()> {
        Ok(())
    }

    /// The session a previous run left half done, if any.
    async fn saved_upload(&self) -> Option<SavedUpload> {
        None
    }

    /// A new session was opened; save it (it holds no secret).
    async fn session_opened(&self, _state: &ResumeState) -> Result<()> {
        Ok(())
    }

    /// Bytes are about to be sent (the queue waits here for an upload slot; instant uploads never get here).
    async fn before_sending(&self) {}

    /// The cloud acknowledged a part.
    async fn part_done(&self, _index: u32, _receipt: &PartReceipt) -> Result<()> {
        Ok(())
    }

    /// The saved session is of no further use (finished, or refused by the cloud).
    async fn session_discarded(&self) -> Result<()> {
        Ok(())
    }
}

/// A journal that remembers nothing: every transfer starts from the beginning.
pub struct NoJournal;

impl Journal for NoJournal {}
