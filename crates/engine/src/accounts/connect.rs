//! Building a provider from a stored profile and its secret, and probing it.

use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use url::Url;

use super::model::ConnectionReport;
use super::{CLIENT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Inner, SANDBOX_ENDPOINT, secret_key};
use crate::error::{Error, Result};
use crate::provider::pan6::{Pan6, Pan6Api, Pan6Config};
use crate::provider::pan123::{Pan123, Pan123Config};
use crate::provider::{CloudProvider, RemoteTarget};
use crate::secret::secret;
use crate::store::{Profile, ProviderKind};

/// A connected profile.
pub(super) struct Connection {
    pub(super) provider: Arc<dyn CloudProvider>,
    /// The concrete 6pan provider: offline downloads and its rotating session token.
    pub(super) pan6: Option<Arc<Pan6>>,
    /// The concrete 123pan provider, for the connection test.
    pan123: Option<Arc<Pan123>>,
    /// Made against the sandbox (dropped when the sandbox moves).
    pub(super) sandbox: bool,
    /// The 6pan session token as the secret store holds it, to tell when the cloud rotated it.
    saved_token: Option<SecretString>,
}

/// What a connection test needs, taken out of the cache so no lock is held while it talks to the cloud.
pub(super) struct Probe {
    provider: Arc<dyn CloudProvider>,
    pan123: Option<Arc<Pan123>>,
}

impl Connection {
    pub(super) fn probe(&self) -> Probe {
        Probe {
            provider: Arc::clone(&self.provider),
            pan123: self.pan123.clone(),
        }
    }

    /// The newest 6pan token when it differs from the stored one (which it then becomes).
    pub(super) fn take_rotated_token(&mut self) -> Option<SecretString> {
        let pan6 = self.pan6.as_ref()?;
        let newest = pan6.session_token();
        let same = self
            .saved_token
            .as_ref()
            .is_some_and(|saved| saved.expose_secret() == newest.expose_secret());
        if same || self.sandbox {
            return None;
        }
        self.saved_token = Some(newest.clone());
        Some(newest)
    }
}

/// Connects `profile` with its secret (or the sandbox's demo credentials).
pub(super) fn open(inner: &Inner, profile: &Profile) -> Result<Connection> {
    let sandbox = profile.endpoint == SANDBOX_ENDPOINT;
    let endpoint = if sandbox {
        sandbox_endpoint(inner, profile.provider)?
    } else {
        Url::parse(&profile.endpoint).map_err(|e| Error::invalid(format!("endpoint of {}", profile.name), e.to_string()))?
    };
    let stored = if sandbox {
        None
    } else {
        Some(inner.secrets.get(&secret_key(&profile.id))?.ok_or_else(|| {
            Error::invalid(
                &profile.name,
                "no secret is stored for this account; edit it and enter the secret again",
            )
        })?)
    };
    match profile.provider {
        ProviderKind::Pan123 => {
            let (client_id, client_secret) = match stored {
                Some(s) => (client_id(profile)?, s),
                None => (DEMO_CLIENT_ID.to_owned(), secret(DEMO_CLIENT_SECRET)),
            };
            let mut config = Pan123Config::new(endpoint, client_id, client_secret);
            // Only the `create` step recognises bytes the cloud already holds (秒传); the single-step upload of
            // small files never does, and instant uploads are what users of a cloud drive expect to see.
            config.single_step_max = 0;
            let pan123 = Arc::new(Pan123::new(inner.http.clone(), config)?);
            Ok(Connection {
                provider: Arc::clone(&pan123) as Arc<dyn CloudProvider>,
                pan6: None,
                pan123: Some(pan123),
                sandbox,
                saved_token: None,
            })
        }
        ProviderKind::Pan6V1 | ProviderKind::Pan6V2 => {
            let api = if profile.provider == ProviderKind::Pan6V1 {
                Pan6Api::V1
            } else {
                Pan6Api::V2
            };
            // The sandbox profile is a 123pan one; a 6pan session needs a login the sandbox cannot do here.
            let token = stored.ok_or_else(|| Error::invalid(&profile.name, "the sandbox offers a 123pan account only"))?;
            let pan6 = Arc::new(Pan6::new(inner.http.clone(), Pan6Config::new(endpoint, api, token.clone())));
            Ok(Connection {
                provider: Arc::clone(&pan6) as Arc<dyn CloudProvider>,
                pan6: Some(pan6),
                pan123: None,
                sandbox,
                saved_token: Some(token),
            })
        }
    }
}

/// Tries the account: local rules for the default folder, then (123pan) a sign-in and the folder lookup.
pub(super) async fn probe(profile: &Profile, probe: Probe) -> ConnectionReport {
    let target = RemoteTarget {
        dir: profile.default_dir.clone(),
        name: "PanDrop.txt".to_owned(),
    };
    // A one-byte file: the folder is what is checked here, and some clouds refuse empty files.
    if let Err(e) = probe.provider.check(&target, 1) {
        return ConnectionReport {
            ok: false,
            message: e.to_string(),
        };
    }
    let Some(pan123) = probe.pan123 else {
        return ConnectionReport {
            ok: true,
            message: "the session token is stored; 6pan checks it with the first upload".to_owned(),
        };
    };
    match pan123.folder_id(&profile.default_dir).await {
        Ok(_) => ConnectionReport {
            ok: true,
            message: format!("signed in; uploads go to {}", profile.default_dir),
        },
        Err(e) => ConnectionReport {
            ok: false,
            message: e.to_string(),
        },
    }
}

/// The sandbox's API base for a provider, while it runs.
fn sandbox_endpoint(inner: &Inner, kind: ProviderKind) -> Result<Url> {
    let base = inner
        .sandbox_url
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .ok_or_else(|| Error::invalid("sandbox", "the sandbox cloud is not running"))?;
    let path = match kind {
        ProviderKind::Pan123 => "123pan",
        ProviderKind::Pan6V1 | ProviderKind::Pan6V2 => "6pan",
    };
    let text = format!("{}/{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&text).map_err(|e| Error::invalid("sandbox", e.to_string()))
}

/// A 123pan profile's clientID.
fn client_id(profile: &Profile) -> Result<String> {
    profile
        .settings
        .get(CLIENT_ID)
        .and_then(|v| v.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid(&profile.name, "a 123pan account needs its clientID"))
}
