//! What callers hand to and get from [`super::Accounts`].

use secrecy::SecretString;

use super::{CLIENT_ID, SANDBOX_ENDPOINT};
use crate::error::{Error, Result};
use crate::provider::{pan6, pan123};
use crate::store::{Profile, ProviderKind};

/// A profile as the apps show it: no secret, only whether one is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// The stored profile.
    pub profile: Profile,
    /// 123pan's clientID (not a secret); `None` for 6pan.
    pub client_id: Option<String>,
    /// Whether the secret store holds this profile's clientSecret or session token.
    pub has_secret: bool,
    /// Whether this profile uses the built-in sandbox cloud.
    pub sandbox: bool,
    /// Whether uploads go here by default.
    pub active: bool,
}

impl Account {
    pub(super) fn new(profile: Profile, has_secret: bool, sandbox: bool, active: Option<&str>) -> Self {
        let client_id = profile.settings.get(CLIENT_ID).and_then(|v| v.as_str()).map(str::to_owned);
        Self {
            active: active == Some(profile.id.as_str()),
            client_id,
            has_secret,
            sandbox,
            profile,
        }
    }
}

/// A new profile, or changes to one.
#[derive(Debug, Clone)]
pub struct ProfileInput {
    /// `None`: a new profile (it gets a fresh id).
    pub id: Option<String>,
    /// Which cloud.
    pub provider: ProviderKind,
    /// The name the user gives the account.
    pub name: String,
    /// API base URL; `None` for the real cloud's, [`SANDBOX_ENDPOINT`] for the built-in sandbox.
    pub endpoint: Option<String>,
    /// Remote folder uploads go to unless told otherwise (absolute; empty means the root).
    pub default_dir: String,
    /// 123pan's clientID.
    pub client_id: Option<String>,
    /// 123pan's clientSecret or 6pan's session token; `None` on an edit keeps the stored one.
    pub secret: Option<SecretString>,
}

impl ProfileInput {
    /// The profile to store, checked: a name, a URL or the sandbox marker, an absolute folder, a clientID
    /// for 123pan. Settings of `existing` that this input does not set are kept.
    pub(super) fn to_profile(&self, existing: Option<&Profile>) -> Result<Profile> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Error::invalid("profile name", "must not be empty"));
        }
        let endpoint = match self.endpoint.as_deref().map(str::trim) {
            None | Some("") => default_endpoint(self.provider).to_owned(),
            Some(SANDBOX_ENDPOINT) => SANDBOX_ENDPOINT.to_owned(),
            Some(text) => {
                let url = url::Url::parse(text).map_err(|e| Error::invalid(format!("endpoint {text:?}"), e.to_string()))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(Error::invalid(format!("endpoint {text:?}"), "must be an http or https URL"));
                }
                url.to_string()
            }
        };
        let default_dir = normalize_dir(&self.default_dir)?;
        let mut settings = existing
            .map(|p| p.settings.clone())
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({}));
        match self.provider {
            ProviderKind::Pan123 => {
                let id = self.client_id.as_deref().map(str::trim).unwrap_or_default();
                if id.is_empty() {
                    return Err(Error::invalid(name, "a 123pan account needs its clientID"));
                }
                settings[CLIENT_ID] = serde_json::Value::from(id);
            }
            ProviderKind::Pan6V1 | ProviderKind::Pan6V2 => {
                if let Some(map) = settings.as_object_mut() {
                    map.remove(CLIENT_ID);
                }
            }
        }
        Ok(Profile {
            id: self.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            provider: self.provider,
            name: name.to_owned(),
            endpoint,
            default_dir,
            settings,
        })
    }
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    /// Whether the cloud accepted the account.
    pub ok: bool,
    /// What the server said, in words for the user.
    pub message: String,
}

/// The real cloud's API base for a provider.
pub fn default_endpoint(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Pan123 => pan123::DEFAULT_ENDPOINT,
        ProviderKind::Pan6V1 | ProviderKind::Pan6V2 => pan6::DEFAULT_ENDPOINT,
    }
}

/// `/a/b` from `a/b/`, `/a//b` or ` /a/b `; `/` for an empty folder. Refuses `.` and `..` components.
fn normalize_dir(dir: &str) -> Result<String> {
    let parts: Vec<&str> = dir.trim().split('/').filter(|c| !c.is_empty()).collect();
    if parts.iter().any(|c| matches!(*c, "." | "..")) {
        return Err(Error::invalid(format!("folder {dir:?}"), "must not contain . or .."));
    }
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(provider: ProviderKind) -> ProfileInput {
        ProfileInput {
            id: None,
            provider,
            name: " Mine ".into(),
            endpoint: None,
            default_dir: "photos//2026/".into(),
            client_id: Some("cid".into()),
            secret: None,
        }
    }

    #[test]
    fn inputs_are_checked_and_normalised() {
        let p = input(ProviderKind::Pan123).to_profile(None).unwrap();
        assert_eq!((p.name.as_str(), p.default_dir.as_str()), ("Mine", "/photos/2026"));
        assert_eq!(p.endpoint, pan123::DEFAULT_ENDPOINT);
        assert_eq!(p.settings, serde_json::json!({"client_id": "cid"}));
        let p6 = input(ProviderKind::Pan6V2).to_profile(Some(&p)).unwrap();
        assert_eq!(p6.settings, serde_json::json!({}));
        assert_eq!(normalize_dir("").unwrap(), "/");

        let mut bad = input(ProviderKind::Pan123);
        bad.client_id = None;
        assert!(bad.to_profile(None).is_err());
        let mut bad = input(ProviderKind::Pan6V1);
        bad.endpoint = Some("ftp://x".into());
        assert!(bad.to_profile(None).is_err());
        let mut bad = input(ProviderKind::Pan6V1);
        bad.default_dir = "/a/../b".into();
        assert!(bad.to_profile(None).is_err());
    }
}
