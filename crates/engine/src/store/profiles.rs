//! Cloud accounts, without their secrets.

use rusqlite::{OptionalExtension, params};
use std::fmt;
use std::str::FromStr;

use super::{Context, Store, json_column, parse_column, refuse_secret_fields};
use crate::error::{Error, Result};

/// Which cloud (and which flavour of its API) a profile talks to: the stable name a provider registers
/// (`123pan`, `6pan-v1`, `6pan-v2`, `halalcloud`). Each provider's folder defines its kind as an associated constant, and
/// [`crate::provider::registry`] knows them all; nothing else names one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderKind(&'static str);

impl ProviderKind {
    /// A kind named `name`; for a provider's own constant.
    pub(crate) const fn named(name: &'static str) -> Self {
        Self(name)
    }

    /// Every registered kind, in the registry's order.
    pub fn all() -> impl Iterator<Item = ProviderKind> {
        crate::provider::registry::FACTORIES.iter().map(|f| f.info().kind)
    }

    /// The stable name stored in the database and used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for ProviderKind {
    type Err = Error;

    /// Parses a registered name (see [`ProviderKind::as_str`]).
    fn from_str(s: &str) -> Result<Self> {
        Self::all().find(|kind| kind.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Self::all().map(ProviderKind::as_str).collect();
            Error::invalid(format!("provider `{s}`"), format!("expected one of {}", known.join(", ")))
        })
    }
}

impl serde::Serialize for ProviderKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ProviderKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A cloud account as the store keeps it.
///
/// There is no field for a secret: the client secret or session token is filed in the OS keyring under
/// [`Profile::id`] (see [`crate::secrets`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// Stable id chosen by the caller (e.g. a UUID); also the key of the secret in the keyring.
    pub id: String,
    /// Which cloud.
    pub provider: ProviderKind,
    /// The name the user gave the account.
    pub name: String,
    /// API base URL (the real cloud, or a local fakecloud).
    pub endpoint: String,
    /// Remote folder uploads go to unless told otherwise.
    pub default_dir: String,
    /// Provider-specific options (client id, parallelism…). Refused when a field is named like a credential.
    pub settings: serde_json::Value,
}

const PROFILE_COLUMNS: &str = "id, provider, name, endpoint, default_dir, settings";

fn profile_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Profile> {
    Ok(Profile {
        id: row.get(0)?,
        provider: parse_column(row, 1)?,
        name: row.get(2)?,
        endpoint: row.get(3)?,
        default_dir: row.get(4)?,
        settings: json_column(row, 5)?,
    })
}

impl Store {
    /// Adds a profile, or replaces the one with the same id (its tasks stay).
    ///
    /// Fails with [`Error::InvalidInput`] when the id is empty or when `settings` has a field named like a
    /// credential (`token`, `clientSecret`, `password`…): secrets go to the keyring, never here.
    pub fn upsert_profile(&self, profile: &Profile) -> Result<()> {
        if profile.id.is_empty() {
            return Err(Error::invalid("profile id", "must not be empty"));
        }
        refuse_secret_fields(&format!("settings of profile {}", profile.id), &profile.settings)?;
        let settings = profile.settings.to_string();
        self.run(|conn| {
            conn.execute(
                "INSERT INTO profiles (id, provider, name, endpoint, default_dir, settings) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, name = excluded.name,
                     endpoint = excluded.endpoint, default_dir = excluded.default_dir, settings = excluded.settings",
                params![
                    profile.id,
                    profile.provider.as_str(),
                    profile.name,
                    profile.endpoint,
                    profile.default_dir,
                    settings
                ],
            )
            .context(format_args!("saving profile {}", profile.id))?;
            Ok(())
        })
    }

    /// Every profile, by name (case-insensitive), then id.
    pub fn profiles(&self) -> Result<Vec<Profile>> {
        self.run(|conn| {
            let sql = format!("SELECT {PROFILE_COLUMNS} FROM profiles ORDER BY name COLLATE NOCASE, id");
            let mut stmt = conn.prepare_cached(&sql).context("listing profiles")?;
            let rows = stmt.query_map([], profile_from_row).context("listing profiles")?;
            rows.collect::<rusqlite::Result<_>>().context("listing profiles")
        })
    }

    /// The profile with this id, if any.
    pub fn profile(&self, id: &str) -> Result<Option<Profile>> {
        self.run(|conn| {
            let sql = format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = ?1");
            conn.query_row(&sql, [id], profile_from_row)
                .optional()
                .context(format_args!("reading profile {id}"))
        })
    }

    /// Deletes a profile **and its tasks** (with their parts and resume state); history stays. Deleting a
    /// missing profile is not an error.
    ///
    /// The caller cancels the profile's running tasks first and removes its secret from the keyring.
    pub fn delete_profile(&self, id: &str) -> Result<()> {
        self.run(|conn| {
            conn.execute("DELETE FROM profiles WHERE id = ?1", [id])
                .context(format_args!("deleting profile {id}"))?;
            Ok(())
        })
    }
}

/// Whether a profile with this id exists (used to give a clear error before adding tasks).
pub(super) fn profile_exists(conn: &rusqlite::Connection, id: &str) -> Result<bool> {
    conn.query_row("SELECT 1 FROM profiles WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
        .context(format_args!("looking up profile {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip() {
        for kind in ProviderKind::all() {
            assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::String(kind.as_str().into()));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!("6pan".parse::<ProviderKind>().unwrap_err().code(), crate::ErrorCode::InvalidInput);
    }
}
