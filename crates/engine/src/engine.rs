//! The one entry point: an [`Engine`] owns the store, the accounts (with their secrets and the provider
//! registry behind them) and the queue, so the desktop shell and the command line wire nothing up themselves.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::accounts::Accounts;
use crate::error::{Error, Result};
use crate::provider::DuplicatePolicy;
use crate::queue::{Limits, ProviderSource, Queue};
use crate::secrets::SecretStore;
use crate::store::{RunLock, Store, TaskId};
use crate::transfer::{Refused, Walk, is_torrent};

/// Decides the queue's limits once the store is open and locked (the app keeps them in its settings there).
pub type LimitsFrom = Box<dyn FnOnce(&Store) -> Result<Limits> + Send>;

/// What an [`Engine`] is made of.
pub struct EngineConfig {
    /// The store file (created with its folder when missing).
    pub store_path: PathBuf,
    /// Where account secrets live: the OS keyring in the apps, memory in tests.
    pub secrets: Arc<dyn SecretStore>,
    /// How much runs at once, decided once the store is open and locked (the app keeps it in its settings
    /// there), before the queue starts.
    pub limits: LimitsFrom,
    /// Where the queue gets each task's provider; `None`: the engine's accounts (stored profiles and their
    /// secrets). The command line passes its own, which reads credentials from the environment.
    pub providers: Option<Arc<dyn ProviderSource>>,
}

/// The store, the accounts and the running queue of one data folder.
pub struct Engine {
    store: Arc<Store>,
    accounts: Accounts,
    queue: Queue,
    /// Held until [`Engine::shutdown`]: a second runner on the same store would take this one's tasks and
    /// send the same files twice.
    run_lock: Mutex<Option<RunLock>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("store", &self.store).finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the store, takes its run lock (another process working the same store is refused with
    /// [`Error::Store`] before anything is read), and starts the queue: tasks a crash left mid-way continue
    /// with what they had sent. Blocking work runs off the async threads.
    pub async fn open(config: EngineConfig) -> Result<Engine> {
        let path = config.store_path;
        let limits = config.limits;
        let (store, run_lock, limits) = tokio::task::spawn_blocking(move || -> Result<_> {
            // The store creates the data folder; the lock beside it is taken before anything is read.
            let store = Store::open(&path)?;
            let run_lock = RunLock::acquire(&path)?;
            let limits = limits(&store)?;
            Ok((store, run_lock, limits))
        })
        .await
        .map_err(|e| Error::store(format!("store worker failed: {e}")))??;
        let store = Arc::new(store);
        let accounts = Accounts::new(Arc::clone(&store), config.secrets, crate::http::client());
        let providers = config.providers.unwrap_or_else(|| Arc::new(accounts.clone()));
        let queue = Queue::start(Arc::clone(&store), providers, limits).await?;
        Ok(Engine {
            store,
            accounts,
            queue,
            run_lock: Mutex::new(Some(run_lock)),
        })
    }

    /// The durable store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Profiles, their secrets and their connections.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The running queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Plans `paths` (folders keep their structure) into tasks for `remote_dir` of a profile and adds them to
    /// the queue; returns their ids and the walk, whose `refused` entries say what could not be taken and why.
    pub async fn add_paths(
        &self,
        paths: Vec<PathBuf>,
        profile_id: &str,
        remote_dir: &str,
        duplicate: DuplicatePolicy,
    ) -> Result<(Vec<TaskId>, Walk)> {
        let walk = Walk::of_owned(paths).await?;
        let ids = self.queue.add(walk.tasks(profile_id, remote_dir, duplicate)).await?;
        Ok((ids, walk))
    }

    /// Queues `.torrent` files for the cloud's offline download into `save_dir`: each is one task that uploads
    /// the torrent to the cloud's torrent folder, then starts the download, with progress, slots and cancel
    /// like any upload. Other files are refused, each with why; a cloud without offline download refuses all.
    pub async fn add_torrents(&self, paths: Vec<PathBuf>, profile_id: &str, save_dir: &str) -> Result<(Vec<TaskId>, Walk)> {
        let provider = self.accounts.connect(profile_id).await?;
        let offline = provider.offline().ok_or_else(|| {
            Error::invalid(
                format!("profile {profile_id}"),
                format!("{} has no offline download", provider.name()),
            )
        })?;
        let torrent_dir = offline.torrent_dir();
        let mut walk = Walk::of_owned(paths).await?;
        let (torrents, others): (Vec<_>, Vec<_>) = walk.files.drain(..).partition(|f| is_torrent(&f.path));
        walk.files = torrents;
        for file in others {
            let err = Error::invalid(file.path.display().to_string(), "not a .torrent file");
            walk.refused.push(Refused::new(file.path, &err));
        }
        let tasks = walk
            .tasks(profile_id, torrent_dir, DuplicatePolicy::Overwrite)
            .into_iter()
            .map(|mut task| {
                // A torrent goes to the torrent folder itself, whatever folder it was found in.
                task.download_offline(torrent_dir, save_dir);
                task
            })
            .collect();
        let ids = self.queue.add(tasks).await?;
        Ok((ids, walk))
    }

    /// Stops the queue (running transfers stay resumable in the store), saves the secrets the clouds
    /// renewed, and lets go of the run lock. Safe to call twice.
    pub async fn shutdown(&self) {
        self.queue.clone().shutdown().await;
        let accounts = self.accounts.clone();
        match tokio::task::spawn_blocking(move || accounts.save_rotated_tokens()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot save a renewed secret"),
            Err(e) => tracing::warn!(error = %e, "cannot save a renewed secret"),
        }
        // The queue has stopped: another process may work this store now.
        drop(self.run_lock.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}
