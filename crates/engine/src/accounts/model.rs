//! What callers hand to and get from [`super::Accounts`].

use secrecy::SecretString;
use std::collections::BTreeMap;

use super::SANDBOX_ENDPOINT;
use crate::error::{Error, Result};
use crate::provider::registry;
use crate::store::{Profile, ProviderKind};

/// A profile as the apps show it: no secret, only whether one is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// The stored profile.
    pub profile: Profile,
    /// Its credential fields that are not secret (123pan's `client_id`), by key.
    pub fields: BTreeMap<String, String>,
    /// Whether the secret store holds this profile's clientSecret or session token.
    pub has_secret: bool,
    /// Whether this profile uses the built-in sandbox cloud.
    pub sandbox: bool,
    /// Whether uploads go here by default.
    pub active: bool,
    /// Whether the account was authorised by a code entered at the cloud's website: its secret is that
    /// sign-in, and it has no key fields.
    pub signed_in_by_code: bool,
}

/// The profile setting that marks an account signed in by code.
pub(super) const SIGNED_IN_BY_CODE: &str = "signed_in_by_code";

/// Whether a stored profile was signed in by code.
pub(super) fn signed_in_by_code(profile: &Profile) -> bool {
    profile.settings.get(SIGNED_IN_BY_CODE).and_then(serde_json::Value::as_bool) == Some(true)
}

impl Account {
    pub(super) fn new(profile: Profile, has_secret: bool, sandbox: bool, active: Option<&str>) -> Self {
        let fields = registry::factory(profile.provider)
            .info()
            .fields
            .iter()
            .filter(|f| !f.secret)
            .filter_map(|f| {
                let value = profile.settings.get(f.key)?.as_str()?;
                Some((f.key.to_owned(), value.to_owned()))
            })
            .collect();
        Self {
            active: active == Some(profile.id.as_str()),
            signed_in_by_code: signed_in_by_code(&profile),
            fields,
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
    /// The credential fields that are not secret, by key (123pan's `client_id`); see
    /// [`registry::ProviderInfo::fields`].
    pub fields: BTreeMap<String, String>,
    /// The secret field's value (123pan's clientSecret, 6pan's session token); `None` on an edit keeps the
    /// stored one.
    pub secret: Option<SecretString>,
}

impl ProfileInput {
    /// The profile to store, checked: a name, a URL or the sandbox marker, an absolute folder, every plain
    /// credential field the cloud needs (none for an account signed in by code, `by_code`). Settings of
    /// `existing` that this input does not set are kept.
    pub(super) fn to_profile(&self, existing: Option<&Profile>, by_code: bool) -> Result<Profile> {
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
        // Plain credential fields live in the settings under their key; those of another cloud go.
        if let Some(map) = settings.as_object_mut() {
            let others = registry::FACTORIES.iter().flat_map(|f| f.info().fields).map(|f| f.key);
            for key in others {
                map.remove(key);
            }
            map.remove(SIGNED_IN_BY_CODE);
        }
        if by_code {
            settings[SIGNED_IN_BY_CODE] = serde_json::Value::Bool(true);
        }
        // The sandbox brings its own demo credentials; a sign-in by code is the whole credential.
        let needed = if endpoint == SANDBOX_ENDPOINT || by_code {
            &[][..]
        } else {
            registry::factory(self.provider).info().fields
        };
        for field in needed.iter().filter(|f| !f.secret) {
            let value = self.fields.get(field.key).map(|v| v.trim()).unwrap_or_default();
            if value.is_empty() {
                return Err(Error::invalid(name, format!("a {} account needs its {}", self.provider, field.key)));
            }
            settings[field.key] = serde_json::Value::from(value);
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
    registry::factory(kind).info().default_endpoint
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
            fields: BTreeMap::from([("client_id".to_owned(), "cid".to_owned())]),
            secret: None,
        }
    }

    #[test]
    fn inputs_are_checked_and_normalised() {
        let p = input(ProviderKind::PAN123).to_profile(None, false).unwrap();
        assert_eq!((p.name.as_str(), p.default_dir.as_str()), ("Mine", "/photos/2026"));
        assert_eq!(p.endpoint, crate::provider::pan123::DEFAULT_ENDPOINT);
        assert_eq!(p.settings, serde_json::json!({"client_id": "cid"}));
        let p6 = input(ProviderKind::PAN6_V2).to_profile(Some(&p), false).unwrap();
        assert_eq!(p6.settings, serde_json::json!({}));
        assert_eq!(normalize_dir("").unwrap(), "/");

        let mut bad = input(ProviderKind::PAN123);
        bad.fields.clear();
        assert!(bad.to_profile(None, false).is_err());
        let mut bad = input(ProviderKind::PAN6_V1);
        bad.endpoint = Some("ftp://x".into());
        assert!(bad.to_profile(None, false).is_err());
        let mut bad = input(ProviderKind::PAN6_V1);
        bad.default_dir = "/a/../b".into();
        assert!(bad.to_profile(None, false).is_err());
    }
}
