//! A block upload (spec §6): blocks named by their CIDs, each probed and sent only when the upload host
//! lacks it, then the finish call with every CID in file order.

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use url::Url;

use super::PROVIDER;
use super::cid;
use super::client::Api;
use crate::error::{Error, Result};
use crate::provider::{PartBody, PartPlan, PartReceipt, RemoteFile, ResumeState, UploadSession};

/// An upload task opened by `create_upload_task`.
pub(super) struct BlockSession {
    pub api: Arc<Api>,
    pub upload: Url,
    pub task: String,
    pub path: String,
    pub size: u64,
    pub block_size: u64,
    pub codec: u64,
    pub hash_type: u64,
    /// Hex SHA-256 of each block from the hashing pass, when it cut the file the way the task does.
    pub known: Option<Vec<String>>,
    /// The CID of each block, as its part is acknowledged (or from the receipts of an earlier run).
    pub cids: Mutex<Vec<Option<String>>>,
}

/// What a block upload saves to continue after a restart: the task and how it cuts the file. The CIDs of
/// acknowledged blocks are their receipts.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct SavedTask {
    pub task: String,
    pub upload_address: String,
    pub path: String,
    pub size: u64,
    pub block_size: u64,
    pub codec: u64,
    pub hash_type: u64,
}

impl BlockSession {
    /// The number of blocks: none for an empty file.
    fn blocks(&self) -> usize {
        usize::try_from(self.size.div_ceil(self.block_size)).unwrap_or(usize::MAX)
    }

    /// Records the CIDs of blocks acknowledged earlier (receipts of a resumed upload).
    pub(super) fn with_receipts(self, parts: &[(u32, PartReceipt)]) -> Self {
        {
            let mut cids = self.cids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (index, receipt) in parts {
                if let (Some(slot), Some(cid)) = (cids.get_mut(*index as usize), &receipt.0) {
                    *slot = Some(cid.clone());
                }
            }
        }
        self
    }

    /// The block's CID and, when it had to be read to hash it, its bytes.
    async fn cid_of(&self, part: &PartBody) -> Result<(String, Option<bytes::Bytes>)> {
        let known = self.known.as_ref().and_then(|k| k.get(part.index as usize));
        if let Some(hex) = known {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(hex, &mut digest).map_err(|_| Error::invalid(part.path.display().to_string(), "a bad block digest"))?;
            return Ok((cid::block_cid(&digest, self.codec, self.hash_type)?, None));
        }
        // Hashed with another block size: read the block (bounded by the block size) and hash it here.
        let data = part.read().await?;
        let for_hash = data.clone();
        let digest = tokio::task::spawn_blocking(move || openssl::sha::sha256(&for_hash))
            .await
            .map_err(|e| Error::io(&part.path, std::io::Error::other(e)))?;
        Ok((cid::block_cid(&digest, self.codec, self.hash_type)?, Some(data)))
    }
}

#[async_trait]
impl UploadSession for BlockSession {
    fn plan(&self) -> PartPlan {
        PartPlan::new(self.size, self.block_size)
    }

    /// Probes the block and sends it only when the host lacks it: a held block moves no byte, so it counts
    /// as not sent.
    async fn put_part(&self, part: &PartBody) -> Result<PartReceipt> {
        if part.len == 0 {
            // The one part of an empty file: there are no blocks (spec §6 step 3).
            return Ok(PartReceipt::default());
        }
        let (cid, data) = self.cid_of(part).await?;
        if !self.api.probe(&self.upload, &self.task, &cid).await? {
            self.api.put_block(&self.upload, &self.task, &cid, part, data.as_ref()).await?;
        }
        let mut cids = self.cids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = cids.get_mut(part.index as usize) {
            *slot = Some(cid.clone());
        }
        Ok(PartReceipt(Some(cid)))
    }

    /// Finishes with every CID in file order (`[]` for an empty file).
    async fn complete(&self) -> Result<RemoteFile> {
        let cids: Vec<String> = {
            let cids = self.cids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cids.iter()
                .take(self.blocks())
                .cloned()
                .collect::<Option<_>>()
                .ok_or_else(|| Error::Protocol {
                    provider: PROVIDER,
                    detail: "completion asked before every block was sent".into(),
                })?
        };
        let file = self.api.finish(&self.upload, &self.task, &cids, &self.path).await?;
        if file.size != self.size {
            return Err(Error::Integrity {
                provider: PROVIDER,
                detail: format!("the cloud made a file of {} bytes from {} bytes sent", file.size, self.size),
            });
        }
        if file.identity.is_empty() {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: "the finished upload has no identity".into(),
            });
        }
        Ok(RemoteFile {
            id: file.identity,
            size: file.size,
        })
    }

    fn resume_state(&self) -> Option<ResumeState> {
        let saved = SavedTask {
            task: self.task.clone(),
            upload_address: self.upload.to_string(),
            path: self.path.clone(),
            size: self.size,
            block_size: self.block_size,
            codec: self.codec,
            hash_type: self.hash_type,
        };
        Some(ResumeState {
            provider: PROVIDER.to_owned(),
            state: serde_json::to_value(saved).ok()?,
            expires_at: None,
        })
    }
}
