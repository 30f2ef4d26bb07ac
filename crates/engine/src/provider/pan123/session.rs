//! The two ways bytes reach 123pan: parallel slices with a polled completion (spec §3.1–§3.3), and the
//! single-step upload for small files (spec §3.5).

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

use super::PROVIDER;
use super::api::{self, CompleteReply};
use super::client::{Api, SingleCreate};
use super::dirs;
use crate::error::{Error, Result};
use crate::provider::{PartBody, PartPlan, PartReceipt, RemoteFile, ResumeState, UploadSession};

/// The merge can take a while for big files: five minutes plus one per GB (spec §3.3).
fn completion_deadline(size: u64) -> Duration {
    Duration::from_secs(300 + 60 * size.div_ceil(1 << 30))
}

/// A chunked upload opened by `create`.
pub(super) struct SliceSession {
    pub api: Arc<Api>,
    pub preupload_id: String,
    pub slice_size: u64,
    pub server: Url,
    pub size: u64,
    pub md5: String,
    pub part_name: String,
    pub poll_interval: Duration,
    pub completion_deadline: Option<Duration>,
}

/// What a chunked upload saves to continue after a restart (spec §4.2: the same `preuploadID`, only the
/// missing slices).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SavedSlices {
    #[serde(rename = "preuploadID")]
    pub preupload_id: String,
    pub slice_size: u64,
    pub server: String,
    pub size: u64,
    pub md5: String,
}

#[async_trait]
impl UploadSession for SliceSession {
    fn plan(&self) -> PartPlan {
        PartPlan::new(self.size, self.slice_size)
    }

    async fn put_part(&self, part: &PartBody) -> Result<PartReceipt> {
        self.api.slice(&self.server, &self.preupload_id, part, &self.part_name).await?;
        Ok(PartReceipt::default())
    }

    /// The `preuploadID` and where slices go; the access token is fetched again on resume.
    fn resume_state(&self) -> Option<ResumeState> {
        let state = SavedSlices {
            preupload_id: self.preupload_id.clone(),
            slice_size: self.slice_size,
            server: self.server.to_string(),
            size: self.size,
            md5: self.md5.clone(),
        };
        Some(ResumeState {
            provider: PROVIDER.to_owned(),
            state: serde_json::to_value(state).ok()?,
            expires_at: None,
        })
    }

    /// Polls `upload_complete` every `poll_interval` until `completed` with a non-zero `fileID`, treating
    /// 20103 like `completed: false`, within a deadline that grows with the file size.
    async fn complete(&self) -> Result<RemoteFile> {
        let wait = self.completion_deadline.unwrap_or_else(|| completion_deadline(self.size));
        let deadline = Instant::now() + wait;
        loop {
            match self.api.complete(&self.preupload_id).await {
                Ok(CompleteReply { completed: true, file_id }) if file_id != 0 => {
                    return Ok(RemoteFile {
                        id: file_id.to_string(),
                        size: self.size,
                    });
                }
                Ok(_) => {}
                Err(e) if api::is_verifying(&e) => {}
                Err(Error::Api { message, .. }) if message.contains("文件上传失败") => {
                    return Err(Error::Integrity {
                        provider: PROVIDER,
                        detail: format!("the cloud rejected the assembled file ({message}); its MD5 did not match"),
                    });
                }
                Err(e) => return Err(e),
            }
            if Instant::now() + self.poll_interval > deadline {
                return Err(Error::Timeout {
                    provider: PROVIDER,
                    what: format!("the cloud to finish verifying the uploaded file ({} s)", wait.as_secs_f32()),
                });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }
}

/// A small file sent in one request to the upload domain.
pub(super) struct SingleSession {
    pub api: Arc<Api>,
    pub domain: Url,
    pub parent_file_id: u64,
    pub filename: String,
    pub md5: String,
    pub size: u64,
    pub duplicate: Option<u8>,
    pub contain_dir: bool,
    pub file_id: Mutex<Option<u64>>,
}

#[async_trait]
impl UploadSession for SingleSession {
    fn plan(&self) -> PartPlan {
        PartPlan {
            part_size: self.size.max(1),
            part_count: 1,
        }
    }

    async fn put_part(&self, part: &PartBody) -> Result<PartReceipt> {
        let fields = SingleCreate {
            parent_file_id: self.parent_file_id,
            filename: &self.filename,
            etag: &self.md5,
            size: self.size,
            duplicate: self.duplicate,
            contain_dir: self.contain_dir,
        };
        let reply = match self.api.single_create(&self.domain, &fields, part).await {
            // The same bytes under the same name are already there: nothing left to do.
            Err(Error::Conflict { .. }) if !self.contain_dir => {
                match dirs::find_identical_file(&self.api, self.parent_file_id, &self.filename, self.size, &self.md5).await? {
                    Some(file_id) => CompleteReply { completed: true, file_id },
                    None => {
                        return Err(Error::Conflict {
                            provider: PROVIDER,
                            name: self.filename.clone(),
                        });
                    }
                }
            }
            other => other?,
        };
        // Never take an unfinished answer for success. The document defines no way to ask again about a
        // single-step upload (there is no preuploadID to poll), so an unconfirmed file is reported as such.
        if !reply.completed || reply.file_id == 0 {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: format!(
                    "the cloud has not confirmed the file (the single-step upload answered completed: {}, \
                     fileID {}); it may still appear in its folder, so check there before sending it again",
                    reply.completed, reply.file_id
                ),
            });
        }
        *self.file_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(reply.file_id);
        Ok(PartReceipt::default())
    }

    async fn complete(&self) -> Result<RemoteFile> {
        let id = self
            .file_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ok_or_else(|| Error::Protocol {
                provider: PROVIDER,
                detail: "completion asked before the file was sent".into(),
            })?;
        Ok(RemoteFile {
            id: id.to_string(),
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_grows_with_size() {
        assert_eq!(completion_deadline(1), Duration::from_secs(360));
        assert_eq!(completion_deadline(10 << 30), Duration::from_secs(900));
    }
}
