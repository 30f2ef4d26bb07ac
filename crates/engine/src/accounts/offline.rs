//! 6pan offline download from local `.torrent` files: upload each to the system torrent folder, then start
//! the download into a folder of the account.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use super::Accounts;
use crate::error::{Error, Result};
use crate::provider::RemoteTarget;
use crate::provider::pan6::{OfflineStarted, TORRENT_DIR};
use crate::transfer::{self, TransferOptions};

impl Accounts {
    /// Uploads each torrent of `paths` with the 6pan profile `profile_id` and starts its offline download into
    /// `save_dir`. One result per path, so one bad torrent does not stop the others.
    ///
    /// Fails as a whole with [`Error::InvalidInput`] when the profile is not a 6pan one.
    pub async fn offline_torrents(
        &self,
        profile_id: &str,
        paths: &[PathBuf],
        save_dir: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<(PathBuf, Result<OfflineStarted>)>> {
        let this = self.clone();
        let id = profile_id.to_owned();
        let pan6 = tokio::task::spawn_blocking(move || this.pan6(&id))
            .await
            .map_err(|e| Error::Store {
                message: format!("store worker failed: {e}"),
            })??
            .ok_or_else(|| Error::invalid(format!("profile {profile_id}"), "offline download is a 6pan feature"))?;
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let result = one_torrent(&pan6, path, save_dir, cancel).await;
            out.push((path.clone(), result));
        }
        if let Err(e) = self.save_rotated_tokens() {
            tracing::warn!(error = %e, "cannot save the rotated 6pan session token");
        }
        Ok(out)
    }
}

async fn one_torrent(
    pan6: &Arc<crate::provider::pan6::Pan6>,
    path: &Path,
    save_dir: &str,
    cancel: &CancellationToken,
) -> Result<OfflineStarted> {
    if path.extension().is_none_or(|e| !e.eq_ignore_ascii_case("torrent")) {
        return Err(Error::invalid(path.display().to_string(), "not a .torrent file"));
    }
    let target = RemoteTarget {
        dir: TORRENT_DIR.to_owned(),
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let options = TransferOptions {
        duplicate: crate::provider::DuplicatePolicy::Overwrite,
        ..TransferOptions::default()
    };
    let report = transfer::upload_file(pan6.as_ref(), path, &target, &options, Arc::new(|_| {}), cancel).await?;
    let etag = report.digest.etag.as_deref().unwrap_or_default();
    pan6.offline_download(&report.remote, etag, save_dir).await
}
