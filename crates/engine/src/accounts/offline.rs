//! Offline download from local `.torrent` files, for clouds that have it: upload each to the cloud's torrent
//! folder, then start the download into a folder of the account.

use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

use super::Accounts;
use crate::error::{Error, Result};
use crate::provider::{CloudProvider, DuplicatePolicy, OfflineStarted, RemoteTarget};
use crate::transfer::{self, TransferOptions, is_torrent};

impl Accounts {
    /// Uploads each torrent of `paths` with the profile `profile_id` and starts its offline download into
    /// `save_dir`. One result per path, so one bad torrent does not stop the others.
    ///
    /// Fails as a whole with [`Error::InvalidInput`] when the profile's cloud has no offline download.
    pub async fn offline_torrents(
        &self,
        profile_id: &str,
        paths: &[PathBuf],
        save_dir: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<(PathBuf, Result<OfflineStarted>)>> {
        let provider = self.connect(profile_id).await?;
        if provider.offline().is_none() {
            return Err(Error::invalid(
                format!("profile {profile_id}"),
                format!("{} has no offline download", provider.name()),
            ));
        }
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let result = one_torrent(provider.as_ref(), path, save_dir, cancel).await;
            out.push((path.clone(), result));
        }
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.save_rotated_tokens()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot save the renewed secret"),
            Err(e) => tracing::warn!(error = %e, "cannot save the renewed secret"),
        }
        Ok(out)
    }
}

async fn one_torrent(provider: &dyn CloudProvider, path: &Path, save_dir: &str, cancel: &CancellationToken) -> Result<OfflineStarted> {
    let offline = provider
        .offline()
        .ok_or_else(|| Error::invalid(provider.name(), "no offline download"))?;
    if !is_torrent(path) {
        return Err(Error::invalid(path.display().to_string(), "not a .torrent file"));
    }
    let target = RemoteTarget {
        dir: offline.torrent_dir().to_owned(),
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let options = TransferOptions {
        duplicate: DuplicatePolicy::Overwrite,
        ..TransferOptions::default()
    };
    let report = transfer::upload_file(provider, path, &target, &options, std::sync::Arc::new(|_| {}), cancel).await?;
    offline.start(&report.remote, &report.digest, save_dir).await
}
