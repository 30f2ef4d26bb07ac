//! Access tokens one account shares between every PanDrop process on the machine.
//!
//! Some clouds cap the tokens in use at once (123pan: three per clientID, the fourth logs out the oldest), so
//! the desktop app, each CLI run and a CLI run from a timer must not each mint their own. A process reads the
//! shared token first and mints one only under a lock that spans processes, re-reading after it got the lock:
//! whoever waited uses what the first one minted.

use secrecy::SecretString;
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use super::{MemoryStore, SecretKey, SecretStore};
use crate::error::{Error, Result};

/// How long a process waits for another one that is minting a token (one HTTP call with retries).
const LOCK_WAIT: Duration = Duration::from_secs(90);
/// How often a waiting process tries the lock again.
const LOCK_RETRY: Duration = Duration::from_millis(25);

/// Where an account's minted tokens are kept and who may mint one. Cheap to clone.
#[derive(Clone)]
pub struct SharedTokens {
    store: Arc<dyn SecretStore>,
    /// Lock files go here; `None` keeps tokens within this process.
    lock_dir: Option<PathBuf>,
}

impl std::fmt::Debug for SharedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTokens")
            .field("store", &self.store.describe())
            .field("lock_dir", &self.lock_dir)
            .finish()
    }
}

/// Tokens of [`SharedTokens::in_process`]: shared by the accounts of this process only.
static PROCESS_STORE: LazyLock<Arc<MemoryStore>> = LazyLock::new(Arc::default);

/// One async lock per token name within this process, in front of the lock file (which a second open file in
/// the same process would also contend for, but only by polling).
static PROCESS_LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Mutex::default);

impl SharedTokens {
    /// Tokens in `store` (the keyring, or [`super::TokenFiles`]), minted under lock files in `lock_dir`, which
    /// every process that reads `store` must agree on: [`user_lock_dir`] for the keyring, the token files'
    /// own folder for those.
    pub fn new(store: Arc<dyn SecretStore>, lock_dir: impl Into<PathBuf>) -> Self {
        Self {
            store,
            lock_dir: Some(lock_dir.into()),
        }
    }

    /// Tokens in a store every process of the user reads (the keyring), locked in [`user_lock_dir`]; without
    /// one (no home folder), minting is locked within this process only.
    pub fn for_user(store: Arc<dyn SecretStore>) -> Self {
        Self {
            store,
            lock_dir: user_lock_dir(),
        }
    }

    /// Tokens in a store of their own: shared by the connections given this value (and its clones) only.
    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(MemoryStore::default()),
            lock_dir: None,
        }
    }

    /// Tokens this process keeps to itself: each process mints its own. For a CLI with no keyring and no
    /// token file, and for tests.
    pub fn in_process() -> Self {
        Self {
            store: PROCESS_STORE.clone(),
            lock_dir: None,
        }
    }

    /// Whether other processes see the tokens.
    pub fn spans_processes(&self) -> bool {
        self.lock_dir.is_some()
    }

    /// Where the tokens are, in words for the user.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// Reads a token (off the async threads: a keyring may take its time).
    pub async fn read(&self, key: &SecretKey) -> Result<Option<SecretString>> {
        let (store, key) = (Arc::clone(&self.store), key.clone());
        super::off_thread(move || store.get(&key)).await
    }

    /// Stores a token.
    pub async fn write(&self, key: &SecretKey, value: SecretString) -> Result<()> {
        let (store, key) = (Arc::clone(&self.store), key.clone());
        super::off_thread(move || store.set(&key, &value)).await
    }

    /// Takes the right to mint the token `name`, waiting for whoever holds it, in this process or another.
    /// Released when the guard drops (or the process ends, however it ends).
    pub async fn lock(&self, name: &str) -> Result<MintLock> {
        let process = {
            let mut locks = PROCESS_LOCKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(locks.entry(name.to_owned()).or_default())
        };
        let process = process.lock_owned().await;
        let file = match &self.lock_dir {
            Some(dir) => lock_file(dir.join(format!("{}.lock", super::digest(name)))).await?,
            None => None,
        };
        Ok(MintLock {
            _process: process,
            _file: file,
        })
    }
}

/// The right to mint one token, held until dropped.
pub struct MintLock {
    _process: tokio::sync::OwnedMutexGuard<()>,
    _file: Option<File>,
}

/// Takes the exclusive lock of `path`, polling (the wait is async; the OS call is not). A folder that cannot
/// hold the lock file (read-only, full) only loses the guard between processes, with a warning: uploads
/// should not stop over it.
async fn lock_file(path: PathBuf) -> Result<Option<File>> {
    let file = match open_lock_file(&path) {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot create a token lock file; minting without it");
            return Ok(None);
        }
    };
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => tokio::time::sleep(LOCK_RETRY).await,
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Timeout {
                    provider: "PanDrop",
                    what: format!(
                        "another PanDrop process to finish getting an access token ({} s; lock {})",
                        LOCK_WAIT.as_secs(),
                        path.display()
                    ),
                });
            }
            Err(TryLockError::Error(e)) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot lock a token lock file; minting without it");
                return Ok(None);
            }
        }
    }
}

fn open_lock_file(path: &std::path::Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Where token locks live when tokens are in the keyring: one folder for the user, whichever data folder
/// the app or the CLI uses, because the keyring is the user's too. The runtime folder where the platform has
/// one (`$XDG_RUNTIME_DIR/pandrop`), else `locks` in the user's local data folder.
pub fn user_lock_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "PanDrop")?;
    Some(match dirs.runtime_dir() {
        Some(runtime) => runtime.to_path_buf(),
        None => dirs.data_local_dir().join("locks"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn mints_are_serialised_across_handles_on_one_lock_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
        let (a, b) = (
            SharedTokens::new(Arc::clone(&store), dir.path()),
            SharedTokens::new(store, dir.path()),
        );
        let inside = Arc::new(AtomicU32::new(0));
        let run = |tokens: SharedTokens, inside: Arc<AtomicU32>| async move {
            let _guard = tokens.lock("123pan token x").await.expect("lock");
            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
            tokio::time::sleep(Duration::from_millis(30)).await;
            inside.fetch_sub(1, Ordering::SeqCst);
        };
        tokio::join!(run(a.clone(), Arc::clone(&inside)), run(b.clone(), Arc::clone(&inside)));
        let key = SecretKey::new("t", "e");
        a.write(&key, SecretString::from("v".to_owned())).await.expect("write");
        assert_eq!(b.read(&key).await.expect("read").expect("some").expose_secret(), "v");
        assert!(a.spans_processes() && !SharedTokens::in_process().spans_processes());
    }

    #[tokio::test]
    async fn the_lock_file_excludes_another_open_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = SharedTokens::new(Arc::new(MemoryStore::default()), dir.path());
        let guard = tokens.lock("name").await.expect("lock");
        // What another process would do: open the same file and try it.
        let path = dir.path().join(format!("{}.lock", crate::secrets::digest("name")));
        let other = open_lock_file(&path).expect("open");
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(guard);
        assert!(other.try_lock().is_ok());
    }
}
