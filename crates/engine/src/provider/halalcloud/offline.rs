//! The offline download (离线下载, spec §5.4): no v6 field takes torrent bytes, so the `.torrent` becomes its
//! magnet link here (the SHA-1 of its `info`, its name and trackers), which the cloud parses and downloads.

use async_trait::async_trait;

use super::api::{OfflineAddRequest, OfflineParseRequest, OfflineParseResponse, UserTask};
use super::magnet::{self, MAX_TORRENT_SIZE};
use super::{HalalCloud, PROVIDER};
use crate::error::{Error, Result};
use crate::provider::{OfflineDownload, OfflineStarted, UploadedTorrent};

/// Where torrents are uploaded before their download starts, so the user finds them in the drive.
pub const TORRENT_DIR: &str = "/PanDrop/torrents";

#[async_trait]
impl OfflineDownload for HalalCloud {
    fn torrent_dir(&self) -> &'static str {
        TORRENT_DIR
    }

    async fn start(&self, torrent: &UploadedTorrent<'_>, save_dir: &str) -> Result<OfflineStarted> {
        let path = torrent.local.to_path_buf();
        let shown = path.display().to_string();
        let magnet = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            if bytes.len() > MAX_TORRENT_SIZE {
                return Err(Error::invalid(
                    path.display().to_string(),
                    format!("a torrent is at most {} MiB", MAX_TORRENT_SIZE >> 20),
                ));
            }
            magnet::magnet_from_torrent(&path.display().to_string(), &bytes)
        })
        .await
        .map_err(|e| Error::io(torrent.local, std::io::Error::other(e)))??;
        let uri = magnet.uri();
        let parsed: OfflineParseResponse = self
            .api()
            .call("offline_task/parse", &OfflineParseRequest::Url(&uri), &shown)
            .await?;
        let components: Vec<&str> = save_dir.split('/').filter(|c| !c.is_empty()).collect();
        let save_path = self.ensure_dir(&components).await?;
        let add = OfflineAddRequest {
            url: &uri,
            save_path: &save_path,
            name: None,
            ignore_files: Vec::new(),
            callbacks: Vec::new(),
        };
        let task: UserTask = self.api().call("offline_task/add", &add, &shown).await?;
        if task.identity.is_empty() {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: "the offline task was added without an identity".into(),
            });
        }
        let name = [task.name, parsed.meta.name, magnet.name.unwrap_or_default()]
            .into_iter()
            .find(|n| !n.is_empty());
        Ok(OfflineStarted { name, tasks: 1 })
    }
}
