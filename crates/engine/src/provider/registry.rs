//! The provider registry: each cloud's folder registers one factory, and nothing outside that folder names a
//! concrete provider.
//!
//! A factory says what the cloud is ([`ProviderInfo`]: its kind, its real endpoint, the credential fields an
//! account needs, where the sandbox serves it) and connects an account ([`ProviderFactory::connect`]). The
//! accounts of the app, the CLI's commands and the sandbox all connect through here, so the same credentials
//! and options give the same provider everywhere.
//!
//! Adding a cloud: its folder under `provider/` with a factory, and one line in [`FACTORIES`].

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

use super::CloudProvider;
use super::halalcloud::factory::HALALCLOUD;
use super::pan6::factory::{PAN6_V1, PAN6_V2};
use super::pan123::factory::PAN123;
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::secrets::SharedTokens;
use crate::store::ProviderKind;

/// Every registered cloud, in the order the apps list them.
pub static FACTORIES: &[&dyn ProviderFactory] = &[&PAN123, &PAN6_V1, &PAN6_V2, &HALALCLOUD];

/// The cloud the app's "Try the sandbox" account uses.
pub const SANDBOX_KIND: ProviderKind = ProviderKind::PAN123;

/// One field of an account's credentials, as the account form and the CLI ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialField {
    /// Stable key: `client_id`, `client_secret`, `session_token`.
    pub key: &'static str,
    /// A secret goes to the keyring only and is never shown again; other fields live in the profile.
    pub secret: bool,
    /// The environment variable the CLI reads it from.
    pub env: &'static str,
}

/// What the apps need to know about a cloud before connecting to it.
#[derive(Debug)]
pub struct ProviderInfo {
    /// The stable kind stored with profiles.
    pub kind: ProviderKind,
    /// The real cloud's API base.
    pub default_endpoint: &'static str,
    /// The path of its API on the sandbox cloud (`123pan`, `6pan`).
    pub sandbox_path: &'static str,
    /// What an account needs, in the order a form asks for it. Exactly one field is secret.
    pub fields: &'static [CredentialField],
    /// Whether the credentials are exchanged for an access token that every process of the account must
    /// share ([`ConnectRequest::tokens`]): the cloud caps how many are live at once.
    pub shares_tokens: bool,
}

impl ProviderInfo {
    /// The one secret field (the keyring holds one secret per account).
    pub fn secret_field(&self) -> &'static CredentialField {
        self.fields
            .iter()
            .find(|f| f.secret)
            .expect("every provider has exactly one secret field")
    }
}

/// An account's credential values by field key. Every value is kept as a secret (redacted in `Debug`); the
/// ones that are not ([`CredentialField::secret`] false) may be shown.
#[derive(Default)]
pub struct Credentials(BTreeMap<&'static str, SecretString>);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Credentials {
    /// Sets a field.
    pub fn set(&mut self, key: &'static str, value: SecretString) {
        self.0.insert(key, value);
    }

    /// A field's value, or an error naming it.
    pub fn require(&self, info: &ProviderInfo, key: &str) -> Result<&SecretString> {
        self.0
            .get(key)
            .filter(|v| !v.expose_secret().is_empty())
            .ok_or_else(|| Error::invalid(format!("{} account", info.kind), format!("needs its {key}")))
    }
}

/// Knobs a frontend sets on a connection; the engine defines each default once, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// 123pan: files up to this many bytes go in one request (0: never).
    pub single_step_max: u64,
    /// How hard each request is retried.
    pub retry: RetryPolicy,
}

impl ConnectOptions {
    /// The app and the command line alike: files up to 1 MiB go to 123pan in one request.
    ///
    /// The single-step upload is also an instant upload where the cloud already holds the bytes (its `fileID`
    /// comes back "当123云盘已有该文件", seed 004), so `create` does not recognise more files than it does. A
    /// small file costs one request that way against three through `create` (create, slice, upload_complete,
    /// each paced), and at most 1 MiB travels that an instant upload would have saved
    /// (`docs/benchmarks.md`, "Small files"). `pandrop-cli --single-step-max` changes it.
    pub const STANDARD: Self = Self {
        single_step_max: 1024 * 1024,
        retry: RetryPolicy::STANDARD,
    };
}

/// What [`ProviderFactory::connect`] needs.
pub struct ConnectRequest {
    /// The shared HTTP client ([`crate::http::client`]).
    pub http: reqwest::Client,
    /// The API base (the real cloud's, one the user set, or the sandbox's).
    pub endpoint: Url,
    /// The account's credentials.
    pub credentials: Credentials,
    /// Where tokens the cloud mints for the account are kept, so every process of the account uses one.
    pub tokens: SharedTokens,
    /// Frontend knobs.
    pub options: ConnectOptions,
}

/// A sign-in by a code the user enters at the cloud's website (an OAuth device flow), in progress: show
/// [`DeviceSignIn::user_code`] and [`DeviceSignIn::verification_uri`], then wait with
/// [`ProviderFactory::device_sign_in_wait`].
pub struct DeviceSignIn {
    /// What the user enters.
    pub user_code: String,
    /// Where the user enters it.
    pub verification_uri: String,
    /// How long the code is good for.
    pub expires_in: std::time::Duration,
    /// How often to ask whether the user has entered it.
    pub interval: std::time::Duration,
    /// What PanDrop polls with: whoever holds it gets the tokens once the user agrees.
    pub(crate) device_code: SecretString,
}

impl std::fmt::Debug for DeviceSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSignIn")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Builds a cloud's provider for an account.
#[async_trait]
pub trait ProviderFactory: Send + Sync {
    /// What the cloud is.
    fn info(&self) -> &'static ProviderInfo;

    /// Connects an account. Checks the credentials are all there; the cloud sees them with the first request.
    async fn connect(&self, request: ConnectRequest) -> Result<Arc<dyn CloudProvider>>;

    /// The sandbox's demo credentials for this cloud at `endpoint` (public: the sandbox runs on this machine
    /// only). A cloud whose sandbox account needs a sign-in does it here.
    async fn sandbox_credentials(&self, http: &reqwest::Client, endpoint: &Url) -> Result<Credentials>;

    /// Whether the account's secret comes from signing in with a user and password ([`Self::sign_in`]);
    /// otherwise it is made elsewhere (123pan's developer console) and entered as it is.
    fn signs_in(&self) -> bool {
        false
    }

    /// Whether an account can be authorised by a code entered at the cloud's website instead of keys
    /// ([`Self::device_sign_in`]); the account's secret is then what that sign-in returns.
    fn signs_in_by_device(&self) -> bool {
        false
    }

    /// Starts a device-code sign-in at `endpoint`, where [`Self::signs_in_by_device`].
    async fn device_sign_in(&self, _http: &reqwest::Client, _endpoint: &Url) -> Result<DeviceSignIn> {
        Err(Error::invalid(self.info().kind.as_str(), "has no sign-in by code"))
    }

    /// Waits until the user has entered the code and returns the account's secret; fails when the code
    /// expires. Cancel by dropping the future.
    async fn device_sign_in_wait(&self, _http: &reqwest::Client, _endpoint: &Url, _sign_in: &DeviceSignIn) -> Result<SecretString> {
        Err(Error::invalid(self.info().kind.as_str(), "has no sign-in by code"))
    }

    /// Signs in with a user name (or phone number) and password for the account's secret (6pan's session
    /// token), where [`Self::signs_in`].
    async fn sign_in(&self, _http: &reqwest::Client, _endpoint: &Url, _user: &str, _password: &SecretString) -> Result<SecretString> {
        Err(Error::invalid(
            self.info().kind.as_str(),
            "has no sign-in: enter the account's credentials as they are",
        ))
    }
}

/// The factory of a kind.
pub fn factory(kind: ProviderKind) -> &'static dyn ProviderFactory {
    FACTORIES
        .iter()
        .copied()
        .find(|f| f.info().kind == kind)
        .expect("every provider kind is registered")
}

/// A cloud's API base on the sandbox at `base` (`http://127.0.0.1:PORT`).
pub fn sandbox_endpoint(kind: ProviderKind, base: &Url) -> Result<Url> {
    let text = format!("{}/{}", base.as_str().trim_end_matches('/'), factory(kind).info().sandbox_path);
    Url::parse(&text).map_err(|e| Error::invalid("sandbox", e.to_string()))
}

/// The sandbox's demo account: the same public pair for every cloud it serves.
pub const DEMO_USER: &str = "demo";
/// See [`DEMO_USER`].
pub const DEMO_SECRET: &str = "demo-secret";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_once_with_one_secret_field() {
        let kinds: std::collections::HashSet<&str> = ProviderKind::all().map(ProviderKind::as_str).collect();
        assert_eq!(kinds.len(), FACTORIES.len(), "one entry per kind");
        for kind in ProviderKind::all() {
            let info = factory(kind).info();
            assert_eq!(info.fields.iter().filter(|f| f.secret).count(), 1, "{kind}");
            assert!(Url::parse(info.default_endpoint).is_ok(), "{kind}");
            assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), kind);
        }
        assert!("6pan".parse::<ProviderKind>().is_err());
    }

    #[test]
    fn missing_credentials_are_named_and_values_never_shown() {
        let info = factory(ProviderKind::PAN123).info();
        let mut creds = Credentials::default();
        creds.set("client_id", crate::secret::secret("cid"));
        creds.set("client_secret", crate::secret::secret("hush-9f2"));
        assert!(!format!("{creds:?}").contains("hush"), "{creds:?}");
        creds.set("client_id", crate::secret::secret(""));
        let err = creds.require(info, "client_id").unwrap_err();
        assert_eq!(err.to_string(), "123pan account: needs its client_id");
    }

    #[test]
    fn sandbox_endpoints_hang_under_the_base() {
        let base = Url::parse("http://127.0.0.1:4000/").unwrap();
        assert_eq!(
            sandbox_endpoint(ProviderKind::PAN6_V2, &base).unwrap().as_str(),
            "http://127.0.0.1:4000/6pan"
        );
    }
}
