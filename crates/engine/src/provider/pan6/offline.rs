//! Offline download (离线下载) from an uploaded `.torrent` (spec §11).

use serde_json::{Value, json};

use super::envelope::text_field;
use super::{PROVIDER, Pan6, Pan6Api};
use crate::error::{Error, Result};
use crate::provider::RemoteFile;

use crate::provider::OfflineDownload;
pub use crate::provider::OfflineStarted;
use crate::provider::UploadedTorrent;

impl Pan6 {
    /// Starts downloading the torrent `torrent` (uploaded to the cloud, with etag `etag`) into `save_dir`.
    ///
    /// v1 parses by the file's uuid and starts with the returned `taskHash`; v2 parses by etag and adds every
    /// parsed task.
    pub async fn offline_download(&self, torrent: &RemoteFile, etag: &str, save_dir: &str) -> Result<OfflineStarted> {
        match self.config.api {
            Pan6Api::V1 => {
                let parsed = self
                    .api
                    .call("v1/offline/parseTorrent", &json!({ "uuid": torrent.id }), save_dir)
                    .await?;
                let task_hash = text_field(&parsed, "taskHash").ok_or_else(|| missing("taskHash"))?;
                let body = json!({ "taskHash": task_hash, "copyFile": "*", "savePath": save_dir });
                self.api.call("v1/offline/start", &body, save_dir).await?;
                Ok(OfflineStarted {
                    name: text_field(&parsed, "name"),
                    tasks: 1,
                })
            }
            Pan6Api::V2 => {
                let parsed = self
                    .api
                    .call("v2/offline/parseTorrent", &json!({ "hash": [etag] }), save_dir)
                    .await?;
                let entries = parsed
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| missing("parsed torrent"))?;
                let tasks: Vec<Value> = entries
                    .iter()
                    .map(|e| {
                        text_field(e, "identity")
                            .map(|id| json!({ "identity": id }))
                            .ok_or_else(|| missing("identity"))
                    })
                    .collect::<Result<_>>()?;
                let added = self
                    .api
                    .call("v2/offline/add", &json!({ "path": save_dir, "task": tasks }), save_dir)
                    .await?;
                Ok(OfflineStarted {
                    name: entries.first().and_then(|e| text_field(e, "name")),
                    tasks: added.get("count").and_then(Value::as_u64).unwrap_or(tasks.len() as u64),
                })
            }
        }
    }
}

fn missing(what: &str) -> Error {
    Error::Protocol {
        provider: PROVIDER,
        detail: format!("the offline reply has no {what}"),
    }
}

#[async_trait::async_trait]
impl OfflineDownload for Pan6 {
    fn torrent_dir(&self) -> &'static str {
        super::TORRENT_DIR
    }

    async fn start(&self, torrent: &UploadedTorrent<'_>, save_dir: &str) -> Result<OfflineStarted> {
        self.offline_download(torrent.remote, torrent.digest.etag.as_deref().unwrap_or_default(), save_dir)
            .await
    }
}
