//! Application settings: small JSON values by name (the active profile, the user's choices).

use rusqlite::{OptionalExtension, params};

use super::{Context, Store, json_column, refuse_secret_fields};
use crate::error::{Error, Result};

impl Store {
    /// The setting called `key`, if it was ever set.
    pub fn app_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        self.run(|conn| {
            conn.query_row("SELECT value FROM app_settings WHERE key = ?1", [key], |row| json_column(row, 0))
                .optional()
                .context(format_args!("reading the setting {key}"))
        })
    }

    /// Sets (or replaces) the setting called `key`.
    ///
    /// Fails with [`Error::InvalidInput`] when the key is empty or when the value has a field named like a
    /// credential: secrets go to the keyring, never here.
    pub fn set_app_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid("setting name", "must not be empty"));
        }
        refuse_secret_fields(&format!("setting {key}"), value)?;
        let text = value.to_string();
        let now = self.now();
        self.run(|conn| {
            conn.execute(
                "INSERT INTO app_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![key, text, now],
            )
            .context(format_args!("saving the setting {key}"))?;
            Ok(())
        })
    }

    /// Removes the setting called `key`; removing a missing one is not an error.
    pub fn remove_app_setting(&self, key: &str) -> Result<()> {
        self.run(|conn| {
            conn.execute("DELETE FROM app_settings WHERE key = ?1", [key])
                .context(format_args!("removing the setting {key}"))?;
            Ok(())
        })
    }
}
