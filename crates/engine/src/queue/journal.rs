//! The transfer journal of one queued task, kept in the store, plus the slots that pace hashing and sending.

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Result;
use crate::hash::{FileDigest, HashRequest};
use crate::provider::{PartReceipt, ResumeState, SavedUpload};
use crate::store::{FileKey, Store, TaskId};
use crate::transfer::Journal;

/// A task's journal over the store.
pub(super) struct StoreJournal {
    pub store: Arc<Store>,
    pub task: TaskId,
    /// The file as it is now; a digest cached under another key (the file changed) is never used.
    pub key: Option<FileKey>,
    pub hash_slots: Arc<Semaphore>,
    pub upload_slots: Arc<Semaphore>,
    /// The slot this task holds: a hashing slot while it hashes, then an upload slot until it ends.
    pub permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl StoreJournal {
    /// Runs a store call off the async threads.
    async fn store<T: Send + 'static>(&self, f: impl FnOnce(&Store) -> Result<T> + Send + 'static) -> Result<T> {
        super::blocking(&self.store, f).await
    }

    fn hold(&self, permit: Option<OwnedSemaphorePermit>) {
        *self.permit.lock().unwrap_or_else(|p| p.into_inner()) = permit;
    }
}

#[async_trait]
impl Journal for StoreJournal {
    async fn cached_digest(&self, request: &HashRequest) -> Option<FileDigest> {
        let key = self.key?;
        let request = *request;
        self.store(move |s| s.cached_digest(&key, &request)).await.ok().flatten()
    }

    async fn before_hashing(&self) {
        let permit = Arc::clone(&self.hash_slots).acquire_owned().await.ok();
        self.hold(permit);
    }

    async fn digest_computed(&self, digest: &FileDigest) -> Result<()> {
        self.hold(None);
        if let Some(key) = self.key {
            let digest = digest.clone();
            self.store(move |s| s.cache_digest(&key, &digest)).await?;
        }
        Ok(())
    }

    async fn saved_upload(&self) -> Option<SavedUpload> {
        let task = self.task;
        let (record, parts) = self.store(move |s| Ok((s.load_resume(task)?, s.acked_parts(task)?))).await.ok()?;
        let record = record?;
        Some(SavedUpload {
            resume: ResumeState {
                provider: record.provider,
                state: record.state,
                expires_at: record.expires_at,
            },
            parts: parts.into_iter().map(|(i, r)| (i, PartReceipt(r))).collect(),
        })
    }

    async fn session_opened(&self, state: &ResumeState) -> Result<()> {
        let (task, state) = (self.task, state.clone());
        self.store(move |s| s.save_resume(task, &state.provider, &state.state, state.expires_at))
            .await
    }

    async fn before_sending(&self) {
        self.hold(None);
        let permit = Arc::clone(&self.upload_slots).acquire_owned().await.ok();
        self.hold(permit);
    }

    async fn part_done(&self, index: u32, receipt: &PartReceipt) -> Result<()> {
        let (task, receipt) = (self.task, receipt.0.clone());
        self.store(move |s| s.ack_part(task, index, receipt.as_deref())).await
    }

    async fn session_discarded(&self) -> Result<()> {
        let task = self.task;
        self.store(move |s| s.clear_resume(task)).await
    }
}
