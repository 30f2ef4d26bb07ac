//! The built-in sandbox cloud: a fakecloud on 127.0.0.1 with its data in `<data dir>/sandbox`, running as long
//! as the app does, so a new user can upload without an account.

use pandrop_engine::accounts::Accounts;
use pandrop_fakecloud::{Config, RunningCloud};
use std::path::PathBuf;
use tokio::sync::Mutex;

use crate::error::{ErrorCode, IpcError, IpcResult};

/// The sandbox, started on demand (and at launch when a sandbox profile exists).
pub struct Sandbox {
    dir: PathBuf,
    running: Mutex<Option<RunningCloud>>,
}

impl Sandbox {
    /// A sandbox keeping its files in `dir`; not started yet.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            running: Mutex::new(None),
        }
    }

    /// Starts the sandbox unless it runs, and tells `accounts` where it is. Returns its base URL.
    pub async fn start(&self, accounts: &Accounts) -> IpcResult<String> {
        let mut running = self.running.lock().await;
        if let Some(cloud) = running.as_ref() {
            return Ok(cloud.base_url());
        }
        let cloud = pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), Config::new(&self.dir))
            .await
            .map_err(|e| IpcError::new(ErrorCode::Io, format!("cannot start the sandbox cloud: {e}")))?;
        let url = cloud.base_url();
        let parsed = url::Url::parse(&url).map_err(|e| IpcError::new(ErrorCode::Io, format!("sandbox address {url}: {e}")))?;
        accounts.set_sandbox_url(Some(parsed));
        tracing::info!(%url, "sandbox cloud started");
        *running = Some(cloud);
        Ok(url)
    }

    /// Stops the sandbox (at exit).
    pub async fn stop(&self, accounts: &Accounts) {
        if let Some(cloud) = self.running.lock().await.take() {
            accounts.set_sandbox_url(None);
            cloud.shutdown().await;
        }
    }
}
