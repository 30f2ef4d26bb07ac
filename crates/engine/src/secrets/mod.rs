//! Where credentials live: the OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows), or memory in tests. Never SQLite, logs or arguments.
//!
//! When no keyring is reachable the store says so plainly ([`crate::Error::Keyring`]); it does not fall back
//! to writing secrets to disk. The one file a user may choose instead is for access tokens a cloud mints
//! ([`TokenFiles`]), which [`SharedTokens`] shares between processes.

mod keyring_store;
mod memory;
mod shared_tokens;
mod token_files;

pub use keyring_store::KeyringStore;
pub use memory::MemoryStore;
pub use shared_tokens::{MintLock, SharedTokens, user_lock_dir};
pub use token_files::TokenFiles;

use secrecy::SecretString;

use crate::error::Result;

/// The keyring service name every PanDrop secret is filed under.
pub const SERVICE: &str = "PanDrop";

/// Names one secret, e.g. the session token of a 6pan account at an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey(String);

impl SecretKey {
    /// A key for `what` (e.g. `6pan-v2 token`) at `endpoint`.
    pub fn new(what: &str, endpoint: &str) -> Self {
        Self(format!("{what} {endpoint}"))
    }

    /// The account name used in the keyring.
    pub fn account(&self) -> &str {
        &self.0
    }
}

/// A short, stable digest of `text` (hex of the first 16 bytes of its SHA-256): names files after keys
/// without showing what the keys hold.
pub(crate) fn digest(text: &str) -> String {
    hex::encode(&openssl::sha::sha256(text.as_bytes())[..16])
}

/// Runs a keyring call (or work that includes one) off the async threads: a keyring may take its time to
/// answer, and a slow one must not hold up other tasks.
pub(crate) async fn off_thread<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| crate::Error::Keyring {
        message: format!("keyring worker failed: {e}"),
    })?
}

/// A place that keeps secrets.
pub trait SecretStore: Send + Sync {
    /// Reads a secret; `None` when there is none under that key.
    fn get(&self, key: &SecretKey) -> Result<Option<SecretString>>;
    /// Stores (or replaces) a secret.
    fn set(&self, key: &SecretKey, value: &SecretString) -> Result<()>;
    /// Removes a secret; removing a missing one is not an error.
    fn delete(&self, key: &SecretKey) -> Result<()>;
    /// Where secrets go, in words for the user.
    fn describe(&self) -> String;
}
