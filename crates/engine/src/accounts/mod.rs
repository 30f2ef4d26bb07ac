//! Cloud accounts as the apps see them: profiles in the [`Store`], their secrets in a [`SecretStore`], and
//! one connected provider per profile.
//!
//! A profile's secret (123pan's clientSecret, 6pan's session token) is filed under [`secret_key`]; the
//! store only holds what is not a secret (the credential fields that are not, such as 123pan's clientID, go in
//! the profile's `settings` under their key). Connections are made on first use and cached until the profile changes. 6pan rotates its
//! session token, so [`Accounts::save_rotated_tokens`] writes the newest one back.
//!
//! The built-in sandbox cloud is a profile whose endpoint is [`SANDBOX_ENDPOINT`]: it needs no keyring (its
//! demo credentials are public), and its address is only known while it runs, so whoever runs it tells
//! [`Accounts::set_sandbox_url`].

mod connect;
mod device;
mod model;

pub use model::{Account, ConnectionReport, ProfileInput, default_endpoint};

use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use url::Url;

use self::connect::Connection;
use crate::error::{Error, Result};
use crate::provider::CloudProvider;
use crate::queue::ProviderSource;
use crate::secrets::{SecretKey, SecretStore, SharedTokens};
use crate::store::{Profile, Store};

/// The endpoint a profile of the built-in sandbox cloud carries instead of a URL.
pub const SANDBOX_ENDPOINT: &str = "sandbox";
/// The sandbox's demo user (123pan's clientID; public: the sandbox runs on this machine only).
pub const DEMO_CLIENT_ID: &str = crate::provider::registry::DEMO_USER;
/// The sandbox's demo secret (123pan's clientSecret, 6pan's password; public, like [`DEMO_CLIENT_ID`]).
pub const DEMO_CLIENT_SECRET: &str = crate::provider::registry::DEMO_SECRET;
/// The id of the sandbox profile [`Accounts::ensure_sandbox_profile`] creates.
pub const SANDBOX_PROFILE_ID: &str = "sandbox";

/// The application setting that names the active profile.
const ACTIVE_PROFILE: &str = "active_profile";

/// Where the secret of profile `id` is filed.
pub fn secret_key(profile_id: &str) -> SecretKey {
    SecretKey::new("profile secret", profile_id)
}

/// Profiles, their secrets and their connections. Cheap to clone; clones share the connection cache.
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    /// Where the access tokens clouds mint are kept: beside the secrets, for every process of the user.
    tokens: SharedTokens,
    http: reqwest::Client,
    /// The running sandbox's base URL (`http://127.0.0.1:PORT`), if one runs.
    sandbox_url: RwLock<Option<Url>>,
    connections: Mutex<HashMap<String, Connection>>,
    /// Held while a connection is made, so two tasks of one profile never make two (6pan's rotating token
    /// would then split in two).
    connecting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("secrets", &self.inner.secrets.describe())
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// Accounts over a store, a secret store and the shared HTTP client ([`crate::http::client`]).
    pub fn new(store: Arc<Store>, secrets: Arc<dyn SecretStore>, http: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                tokens: SharedTokens::for_user(Arc::clone(&secrets)),
                secrets,
                http,
                sandbox_url: RwLock::new(None),
                connections: Mutex::new(HashMap::new()),
                connecting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Where secrets go, in words for the user.
    pub fn secrets_description(&self) -> String {
        self.inner.secrets.describe()
    }

    /// Tells where the sandbox cloud runs now (`None`: it stopped). Sandbox connections made before are
    /// dropped, since they point at the old address.
    pub fn set_sandbox_url(&self, base_url: Option<Url>) {
        *self.inner.sandbox_url.write().unwrap_or_else(PoisonError::into_inner) = base_url;
        self.inner.connections().retain(|_, c| !c.sandbox);
    }

    /// The sandbox's base URL, while it runs.
    pub fn sandbox_url(&self) -> Option<Url> {
        self.inner.sandbox_url.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every profile, by name, with what the UI shows about it. Blocks on the store and the keyring.
    pub fn list(&self) -> Result<Vec<Account>> {
        let active = self.active_id()?;
        let profiles = self.inner.store.profiles()?;
        profiles.into_iter().map(|p| self.account(p, active.as_deref())).collect()
    }

    /// One profile, if it exists. Blocks on the store and the keyring.
    pub fn get(&self, id: &str) -> Result<Option<Account>> {
        let active = self.active_id()?;
        match self.inner.store.profile(id)? {
            Some(p) => self.account(p, active.as_deref()).map(Some),
            None => Ok(None),
        }
    }

    /// Adds a profile or changes one, storing its secret first (a profile is never saved without the
    /// secret it needs). The first profile becomes the active one. Blocks on the store and the keyring.
    pub fn save(&self, input: ProfileInput) -> Result<Account> {
        self.save_as(input, false)
    }

    /// [`Accounts::save`] for an account whose secret comes from a sign-in by code (`by_code`), which needs no
    /// key fields. An edit that sends no new secret keeps how the account signs in.
    pub(super) fn save_as(&self, input: ProfileInput, by_code: bool) -> Result<Account> {
        let (existing, profile) = self.checked(&input, by_code)?;
        self.store_profile(input, existing, profile)
    }

    /// The stored profile `input` edits (if any) and the profile it makes, checked; nothing is written.
    pub(super) fn checked(&self, input: &ProfileInput, by_code: bool) -> Result<(Option<Profile>, Profile)> {
        let existing = match &input.id {
            Some(id) => Some(
                self.inner
                    .store
                    .profile(id)?
                    .ok_or_else(|| Error::invalid(format!("profile {id}"), "no such profile"))?,
            ),
            None => None,
        };
        let by_code = by_code || (input.secret.is_none() && existing.as_ref().is_some_and(model::signed_in_by_code));
        let profile = input.to_profile(existing.as_ref(), by_code)?;
        Ok((existing, profile))
    }

    fn store_profile(&self, input: ProfileInput, existing: Option<Profile>, profile: Profile) -> Result<Account> {
        let sandbox = profile.endpoint == SANDBOX_ENDPOINT;
        let key = secret_key(&profile.id);
        match &input.secret {
            Some(secret) if !sandbox => self.inner.secrets.set(&key, secret)?,
            Some(_) => {}
            None if sandbox || existing.is_some() => {}
            None => {
                let field = crate::provider::registry::factory(profile.provider).info().secret_field();
                let rule = format!("a {} account needs its {}", profile.provider, field.key);
                return Err(Error::invalid(&profile.name, rule));
            }
        }
        self.inner.store.upsert_profile(&profile)?;
        self.inner.forget(&profile.id);
        if self.active_id()?.is_none() {
            self.activate(&profile.id)?;
        }
        tracing::info!(profile = %profile.id, provider = %profile.provider, "profile saved");
        let active = self.active_id()?;
        self.account(profile, active.as_deref())
    }

    /// Removes a profile, its tasks (see [`Store::delete_profile`]) and its secret. When it was the active
    /// one, the first remaining profile becomes active. The caller stops its running tasks first.
    pub fn remove(&self, id: &str) -> Result<()> {
        self.inner.forget(id);
        self.inner.secrets.delete(&secret_key(id))?;
        self.inner.store.delete_profile(id)?;
        if self.active_id()?.is_none() {
            match self.inner.store.profiles()?.first() {
                Some(next) => self.activate(&next.id)?,
                None => self.inner.store.remove_app_setting(ACTIVE_PROFILE)?,
            }
        }
        tracing::info!(profile = %id, "profile removed");
        Ok(())
    }

    /// Makes `id` the profile uploads go to by default; remembered across restarts.
    pub fn activate(&self, id: &str) -> Result<()> {
        if self.inner.store.profile(id)?.is_none() {
            return Err(Error::invalid(format!("profile {id}"), "no such profile"));
        }
        self.inner.store.set_app_setting(ACTIVE_PROFILE, &serde_json::Value::from(id))
    }

    /// The active profile's id, when it still exists.
    pub fn active_id(&self) -> Result<Option<String>> {
        let Some(value) = self.inner.store.app_setting(ACTIVE_PROFILE)? else {
            return Ok(None);
        };
        let Some(id) = value.as_str() else { return Ok(None) };
        Ok(self.inner.store.profile(id)?.map(|p| p.id))
    }

    /// The active profile, when there is one.
    pub fn active(&self) -> Result<Option<Profile>> {
        match self.active_id()? {
            Some(id) => self.inner.store.profile(&id),
            None => Ok(None),
        }
    }

    /// Creates (or repairs) the sandbox's demo 123pan profile and makes it active.
    pub fn ensure_sandbox_profile(&self) -> Result<Account> {
        let profile = Profile {
            id: SANDBOX_PROFILE_ID.to_owned(),
            provider: crate::provider::registry::SANDBOX_KIND,
            name: "Sandbox".to_owned(),
            endpoint: SANDBOX_ENDPOINT.to_owned(),
            default_dir: "/PanDrop".to_owned(),
            settings: serde_json::json!({}),
        };
        self.inner.store.upsert_profile(&profile)?;
        self.inner.forget(&profile.id);
        self.activate(&profile.id)?;
        self.account(profile, Some(SANDBOX_PROFILE_ID))
    }

    /// Whether any profile uses the sandbox (then the app starts it again on its next start).
    pub fn has_sandbox_profile(&self) -> Result<bool> {
        Ok(self.inner.store.profiles()?.iter().any(|p| p.endpoint == SANDBOX_ENDPOINT))
    }

    /// The provider of a profile, connected on first use and cached until the profile changes.
    ///
    /// The store and the keyring are read off the async threads. Fails with [`Error::Keyring`] when the
    /// secret cannot be read, and with [`Error::InvalidInput`] when the profile is missing, has no secret, or
    /// is a sandbox profile while no sandbox runs.
    pub async fn connect(&self, profile_id: &str) -> Result<Arc<dyn CloudProvider>> {
        let _one_at_a_time = self.inner.connecting.lock().await;
        if let Some(c) = self.inner.connections().get(profile_id) {
            return Ok(Arc::clone(&c.provider));
        }
        let profile = self.profile(profile_id).await?;
        let connection = connect::open(&self.inner, &profile).await?;
        let provider = Arc::clone(&connection.provider);
        self.inner.connections().insert(profile.id, connection);
        Ok(provider)
    }

    /// The entries of the remote folder `dir` of a profile's cloud, for a folder picker; `None` where that
    /// cloud's listing is not wired in.
    pub async fn list_folder(&self, profile_id: &str, dir: &str) -> Result<Option<Vec<crate::provider::RemoteEntry>>> {
        self.connect(profile_id).await?.list(dir).await
    }

    /// Checks a profile against its cloud: the default folder against the cloud's rules, then what the cloud
    /// can check without an upload (123pan: a sign-in and a lookup of that folder, created when missing).
    ///
    /// A refusal is a report (`ok: false` with the reason), not an error; errors are for a missing profile
    /// and an unreadable keyring.
    pub async fn test(&self, profile_id: &str) -> Result<ConnectionReport> {
        let provider = self.connect(profile_id).await?;
        let profile = self.profile(profile_id).await?;
        Ok(connect::probe(&profile, provider.as_ref()).await)
    }

    /// Writes every connected profile's renewed secret back to the secret store when the cloud renewed it
    /// (6pan rotates its session token). Call it after tasks finish and before exiting. Blocks on the keyring.
    pub fn save_rotated_tokens(&self) -> Result<()> {
        let renewed: Vec<(String, SecretString)> = self
            .inner
            .connections()
            .iter_mut()
            .filter_map(|(id, c)| c.take_renewed_secret().map(|t| (id.clone(), t)))
            .collect();
        for (id, token) in renewed {
            self.inner.secrets.set(&secret_key(&id), &token)?;
            tracing::debug!(profile = %id, "saved the renewed secret");
        }
        Ok(())
    }

    /// A stored profile, read off the async threads.
    async fn profile(&self, profile_id: &str) -> Result<Profile> {
        let (store, id) = (Arc::clone(&self.inner.store), profile_id.to_owned());
        tokio::task::spawn_blocking(move || store.profile(&id))
            .await
            .map_err(|e| Error::store(format!("store worker failed: {e}")))??
            .ok_or_else(|| Error::invalid(format!("profile {profile_id}"), "no such profile"))
    }

    fn account(&self, profile: Profile, active: Option<&str>) -> Result<Account> {
        let sandbox = profile.endpoint == SANDBOX_ENDPOINT;
        // An unreachable keyring must not hide the list (the sandbox profile still works): the profile shows
        // without a secret, and connecting it reports the keyring's error.
        let has_secret = !sandbox
            && match self.inner.secrets.get(&secret_key(&profile.id)) {
                Ok(found) => found.is_some(),
                Err(e) => {
                    tracing::warn!(profile = %profile.id, error = %e, "cannot ask the keyring for a profile's secret");
                    false
                }
            };
        Ok(Account::new(profile, has_secret, sandbox, active))
    }
}

impl Inner {
    fn connections(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connection>> {
        self.connections.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the cached connection of a profile that changed or went away.
    fn forget(&self, profile_id: &str) {
        self.connections().remove(profile_id);
    }
}

#[async_trait::async_trait]
impl ProviderSource for Accounts {
    async fn provider(&self, profile_id: &str) -> Result<Arc<dyn CloudProvider>> {
        self.connect(profile_id).await
    }
}
