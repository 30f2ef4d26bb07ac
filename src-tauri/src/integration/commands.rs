//! Settings → "Send to PanDrop": the file-manager entries' state, install and removal.

use super::IntegrationError;

/// Whether the file-manager entries are installed for this user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationStatus {
    /// This system has entries to install.
    pub supported: bool,
    /// Every entry is in place.
    pub installed: bool,
    /// The entries present now (files, or registry keys on Windows).
    pub entries: Vec<String>,
}

fn status() -> Result<IntegrationStatus, IntegrationError> {
    let entries = super::installed()?;
    let expected = expected_entries();
    Ok(IntegrationStatus {
        supported: super::SUPPORTED,
        installed: super::SUPPORTED && entries.len() >= expected,
        entries,
    })
}

/// How many entries a full install leaves.
const fn expected_entries() -> usize {
    if cfg!(target_os = "windows") {
        3
    } else if cfg!(target_os = "macos") {
        1
    } else {
        6
    }
}

async fn blocking(f: fn() -> Result<Vec<String>, IntegrationError>) -> crate::error::IpcResult<IntegrationStatus> {
    Ok(tokio::task::spawn_blocking(move || {
        f()?;
        status()
    })
    .await??)
}

/// What is installed now.
#[tauri::command]
#[specta::specta]
pub async fn integration_status() -> crate::error::IpcResult<IntegrationStatus> {
    // Nothing to change first: `status` reads the entries.
    blocking(|| Ok(Vec::new())).await
}

/// Installs (or refreshes) the entries for the running program.
#[tauri::command]
#[specta::specta]
pub async fn integration_install() -> crate::error::IpcResult<IntegrationStatus> {
    blocking(super::install).await
}

/// Removes the entries.
#[tauri::command]
#[specta::specta]
pub async fn integration_uninstall() -> crate::error::IpcResult<IntegrationStatus> {
    blocking(super::uninstall).await
}
