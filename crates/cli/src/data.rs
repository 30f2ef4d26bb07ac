//! The data folder: where `queue` keeps its store and `upload` keeps the tasks of a run that has not finished.

use anyhow::Context;
use pandrop_engine::queue::{Limits, ProviderSource};
use pandrop_engine::secrets::KeyringStore;
use pandrop_engine::store::Store;
use pandrop_engine::{Engine, EngineConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::CliError;

/// `dir`, or the user's data folder for PanDrop.
pub(crate) fn data_dir(dir: Option<PathBuf>) -> Result<PathBuf, CliError> {
    match dir {
        Some(dir) => Ok(dir),
        None => directories::ProjectDirs::from("", "", "PanDrop")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or_else(|| CliError::Usage("this system has no user data folder; pass --data-dir".into())),
    }
}

/// Opens (creating it and its folder if needed) the store at `path`.
pub(crate) fn open_store(path: &Path) -> Result<Store, CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the data folder {}", dir.display()))?;
    }
    Ok(Store::open(path).with_context(|| format!("opening the queue store {}", path.display()))?)
}

/// Starts the engine on the store at `path` with the CLI's providers; another process working that store is
/// refused.
pub(crate) async fn open_engine(path: &Path, limits: Limits, providers: Arc<dyn ProviderSource>) -> Result<Engine, CliError> {
    let engine = Engine::open(EngineConfig {
        store_path: path.to_path_buf(),
        secrets: Arc::new(KeyringStore),
        limits: Box::new(move |_| Ok(limits)),
        providers: Some(providers),
    })
    .await
    .with_context(|| format!("opening the queue store {}", path.display()))?;
    Ok(engine)
}

/// Why a store stopped, in words: what SQLite classed it as.
pub(crate) fn store_fault(err: &pandrop_engine::Error) -> &'static str {
    match err {
        pandrop_engine::Error::Store { fault, .. } => fault.describe(),
        _ => "it failed",
    }
}

/// Removes a store file and what SQLite and the run lock keep beside it. Call once nothing holds it open.
pub(crate) fn remove_store(path: &Path) {
    for suffix in ["", "-wal", "-shm", ".run-lock"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Already gone is fine; anything else only leaves a small file behind.
        if let Err(e) = std::fs::remove_file(&name)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %Path::new(&name).display(), error = %e, "cannot remove a finished run's store");
        }
    }
}
