//! Building a provider from a stored profile and its secret through the provider registry, and probing it.

use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use url::Url;

use super::model::ConnectionReport;
use super::{Inner, SANDBOX_ENDPOINT, secret_key};
use crate::error::{Error, Result};
use crate::provider::registry::{self, ConnectOptions, ConnectRequest, Credentials};
use crate::provider::{CloudProvider, RemoteTarget};
use crate::secret::secret;
use crate::secrets::SharedTokens;
use crate::store::Profile;

/// A connected profile.
pub(super) struct Connection {
    pub(super) provider: Arc<dyn CloudProvider>,
    /// Made against the sandbox (dropped when the sandbox moves).
    pub(super) sandbox: bool,
    /// The secret as the secret store holds it, to tell when the cloud renewed it.
    saved_secret: Option<SecretString>,
}

impl Connection {
    /// The cloud's renewed secret when it differs from the stored one (which it then becomes).
    pub(super) fn take_renewed_secret(&mut self) -> Option<SecretString> {
        let saved = self.saved_secret.as_ref()?;
        let current = self.provider.current_secret()?;
        if saved.expose_secret() == current.expose_secret() {
            return None;
        }
        self.saved_secret = Some(current.clone());
        Some(current)
    }
}

/// Connects `profile` with its credentials: the plain fields from its settings and its secret from the secret
/// store, or the sandbox's demo account.
pub(super) async fn open(inner: &Arc<Inner>, profile: &Profile) -> Result<Connection> {
    let factory = registry::factory(profile.provider);
    let info = factory.info();
    let request = |endpoint, credentials, tokens| ConnectRequest {
        http: inner.http.clone(),
        endpoint,
        credentials,
        tokens,
        options: ConnectOptions::STANDARD,
    };
    if profile.endpoint == SANDBOX_ENDPOINT {
        let endpoint = sandbox_endpoint(inner, profile)?;
        let credentials = factory.sandbox_credentials(&inner.http, &endpoint).await?;
        // The sandbox runs inside this process, on a new port each time: its tokens stay here too.
        let tokens = SharedTokens::in_process();
        return Ok(Connection {
            provider: factory.connect(request(endpoint, credentials, tokens)).await?,
            sandbox: true,
            saved_secret: None,
        });
    }
    let endpoint = Url::parse(&profile.endpoint).map_err(|e| Error::invalid(format!("endpoint of {}", profile.name), e.to_string()))?;
    let stored = read_secret(inner, &profile.id).await?.ok_or_else(|| {
        Error::invalid(
            &profile.name,
            "no secret is stored for this account; edit it and enter the secret again",
        )
    })?;
    let mut credentials = Credentials::default();
    for field in info.fields {
        if field.secret {
            credentials.set(field.key, stored.clone());
        } else if let Some(value) = profile.settings.get(field.key).and_then(|v| v.as_str()) {
            credentials.set(field.key, secret(value));
        }
    }
    Ok(Connection {
        provider: factory.connect(request(endpoint, credentials, inner.tokens.clone())).await?,
        sandbox: false,
        saved_secret: Some(stored),
    })
}

/// The profile's secret, read off the async threads (a keyring may take its time to answer).
async fn read_secret(inner: &Arc<Inner>, profile_id: &str) -> Result<Option<SecretString>> {
    let (secrets, key) = (Arc::clone(&inner.secrets), secret_key(profile_id));
    crate::secrets::off_thread(move || secrets.get(&key)).await
}

/// Tries the account: local rules for the default folder, then what the cloud can check without an upload.
pub(super) async fn probe(profile: &Profile, provider: &dyn CloudProvider) -> ConnectionReport {
    let target = RemoteTarget {
        dir: profile.default_dir.clone(),
        name: "PanDrop.txt".to_owned(),
    };
    // A one-byte file: the folder is what is checked here, and some clouds refuse empty files.
    let checked = match provider.check(&target, 1) {
        Ok(()) => provider.probe(&profile.default_dir).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(message) => ConnectionReport { ok: true, message },
        Err(e) => ConnectionReport {
            ok: false,
            message: e.to_string(),
        },
    }
}

/// The sandbox's API base for a profile, while it runs.
fn sandbox_endpoint(inner: &Inner, profile: &Profile) -> Result<Url> {
    let base = inner
        .sandbox_url
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .ok_or_else(|| Error::invalid("sandbox", "the sandbox cloud is not running"))?;
    registry::sandbox_endpoint(profile.provider, &base)
}
