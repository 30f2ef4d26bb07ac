//! The OS keyring through the `keyring` crate.

use secrecy::{ExposeSecret, SecretString};

use super::{SERVICE, SecretKey, SecretStore};
use crate::error::{Error, Result};

/// Secrets in the platform keyring, under the service [`SERVICE`].
#[derive(Debug, Clone, Default)]
pub struct KeyringStore;

impl KeyringStore {
    fn entry(key: &SecretKey) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, key.account()).map_err(unavailable)
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &SecretKey) -> Result<Option<SecretString>> {
        match Self::entry(key)?.get_password() {
            Ok(value) => Ok(Some(SecretString::from(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn set(&self, key: &SecretKey, value: &SecretString) -> Result<()> {
        Self::entry(key)?.set_password(value.expose_secret()).map_err(unavailable)
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        match Self::entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn describe(&self) -> String {
        format!("the OS keyring (service \"{SERVICE}\")")
    }
}

/// The keyring's errors never contain the secret; say what to do about them.
fn unavailable(e: keyring::Error) -> Error {
    let hint = match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
            "no unlocked keyring is reachable (on Linux: is a Secret Service such as gnome-keyring running and unlocked?); \
             PanDrop does not write secrets to disk"
        }
        _ => "the keyring refused the request",
    };
    Error::Keyring {
        message: format!("{hint}: {e}"),
    }
}
