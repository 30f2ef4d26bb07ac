//! An in-memory store for tests and for sessions that must leave nothing behind.

use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Mutex;

use super::{SecretKey, SecretStore};
use crate::error::Result;

/// Secrets held in this process only.
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<SecretKey, SecretString>>,
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &SecretKey) -> Result<Option<SecretString>> {
        Ok(self.items.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned())
    }

    fn set(&self, key: &SecretKey, value: &SecretString) -> Result<()> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), value.clone());
        Ok(())
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (gone when PanDrop exits)".into()
    }
}
