//! The one piece of state the app manages: the engine's store, accounts and queue, the progress hub and the
//! sandbox, plus the background task that feeds the queue channel.

use pandrop_engine::accounts::Accounts;
use pandrop_engine::queue::Queue;
use pandrop_engine::secrets::{SecretKey, SecretStore};
use pandrop_engine::store::Store;
use pandrop_engine::{Engine, EngineConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::dto::{KeyringStatus, ProfileDto};
use crate::error::IpcResult;
use crate::grants::Grants;
use crate::progress::{self, Hooks, ProgressHub};
use crate::sandbox::Sandbox;
use crate::settings::Settings;
use crate::signin::SignIns;

/// The database file inside the data dir.
const STORE_FILE: &str = "pandrop.db";

/// What the app state is made of; tests pass a memory secret store and a temporary folder.
pub struct StateConfig {
    /// Where the database, the sandbox and the log live.
    pub data_dir: PathBuf,
    /// Where secrets go (the OS keyring in the app).
    pub secrets: Arc<dyn SecretStore>,
    /// Callbacks around the queue channel.
    pub hooks: Hooks,
}

/// Everything commands reach through `State<'_, AppState>`.
pub struct AppState {
    /// Where the database, the sandbox and the log live.
    pub data_dir: PathBuf,
    /// The durable store.
    pub store: Arc<Store>,
    /// Profiles, secrets and connections.
    pub accounts: Accounts,
    /// The running queue.
    pub queue: Queue,
    /// Subscribers of the queue channel.
    pub hub: Arc<ProgressHub>,
    /// The built-in cloud.
    pub sandbox: Sandbox,
    /// Whether the keyring answered at start.
    pub keyring: KeyringStatus,
    /// The files the page may name: those the user dropped or picked.
    pub grants: Arc<Grants>,
    /// Sign-ins by a code entered at the cloud's website, and the tasks waiting for them.
    pub sign_ins: SignIns,
    /// The engine: holds the run lock until [`AppState::shutdown`], so a second app on the same data dir (one
    /// started where no session bus lets the first take its files) is refused instead of sending files twice.
    engine: Engine,
    cancel: CancellationToken,
    forwarder: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl AppState {
    /// Opens the store, starts the queue (tasks a crash left half-done continue) and the event forwarder, and
    /// starts the sandbox again when a sandbox profile exists. Runs on the async runtime.
    pub async fn open(config: StateConfig) -> IpcResult<Self> {
        let engine = Engine::open(EngineConfig {
            store_path: config.data_dir.join(STORE_FILE),
            secrets: Arc::clone(&config.secrets),
            limits: Box::new(|store| Ok(Settings::read(store)?.limits())),
            providers: None,
        })
        .await?;
        let (store, accounts, queue) = (Arc::clone(engine.store()), engine.accounts().clone(), engine.queue().clone());
        let keyring = probe_keyring(Arc::clone(&config.secrets)).await;
        let hub = Arc::new(ProgressHub::new(Arc::clone(&store), config.hooks));
        let cancel = CancellationToken::new();
        let forwarder = tokio::spawn(progress::forward(Arc::clone(&hub), queue.clone(), cancel.child_token()));
        let state = Self {
            sandbox: Sandbox::new(config.data_dir.join("sandbox")),
            data_dir: config.data_dir,
            store,
            accounts,
            queue,
            hub,
            keyring,
            grants: Arc::default(),
            sign_ins: SignIns::default(),
            engine,
            cancel,
            forwarder: std::sync::Mutex::new(Some(forwarder)),
        };
        if state.accounts.has_sandbox_profile()? {
            state.sandbox.start(&state.accounts).await?;
        }
        Ok(state)
    }

    /// Starts the built-in sandbox cloud (unless it runs) and makes its demo profile the active one.
    pub async fn start_sandbox(&self) -> IpcResult<ProfileDto> {
        self.sandbox.start(&self.accounts).await?;
        let accounts = self.accounts.clone();
        Ok(tokio::task::spawn_blocking(move || accounts.ensure_sandbox_profile())
            .await??
            .into())
    }

    /// The engine all of the above belong to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The data dir, as the UI shows it.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops everything in order: the sign-ins waiting for a code, the queue (running transfers stay resumable
    /// in the store), the forwarder, the rotated 6pan tokens to the keyring, the sandbox. Safe to call twice.
    pub async fn shutdown(&self) {
        self.sign_ins.shutdown().await;
        // The engine stops the queue (transfers stay resumable), saves renewed secrets and lets go of the lock.
        self.engine.shutdown().await;
        self.cancel.cancel();
        let forwarder = self.forwarder.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(handle) = forwarder {
            let _ = handle.await;
        }
        self.sandbox.stop(&self.accounts).await;
        tracing::info!("stopped");
    }
}

/// Asks the secret store for a key nobody writes: an answer (even "none") means it is reachable.
async fn probe_keyring(secrets: Arc<dyn SecretStore>) -> KeyringStatus {
    let probe = SecretKey::new("keyring probe", "pandrop");
    let answer = tokio::task::spawn_blocking(move || secrets.get(&probe)).await;
    match answer {
        Ok(Ok(_)) => KeyringStatus {
            available: true,
            message: None,
        },
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the system keyring is not reachable");
            KeyringStatus {
                available: false,
                message: Some(e.to_string()),
            }
        }
        Err(e) => KeyringStatus {
            available: false,
            message: Some(format!("the keyring check failed: {e}")),
        },
    }
}
