//! HalalCloud in the provider registry: a personal key (client id and secret) from the 6盘 user centre, or a
//! sign-in by a code entered at the website (the OAuth device flow), whose tokens are then the secret.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use url::Url;

use super::oauth::{self, DeviceTokens};
use super::{DEFAULT_ENDPOINT, HalalCloud, HalalCloudConfig};
use crate::error::Result;
use crate::provider::CloudProvider;
use crate::provider::registry::{
    ConnectRequest, CredentialField, Credentials, DEMO_SECRET, DEMO_USER, DeviceSignIn, ProviderFactory, ProviderInfo,
};
use crate::secret::secret;
use crate::store::ProviderKind;

/// The registry's HalalCloud entry.
pub(crate) static HALALCLOUD: HalalCloudFactory = HalalCloudFactory;

static INFO: ProviderInfo = ProviderInfo {
    kind: ProviderKind::HALALCLOUD,
    default_endpoint: DEFAULT_ENDPOINT,
    sandbox_path: "halalcloud",
    fields: &[
        CredentialField {
            key: CLIENT_ID,
            secret: false,
            env: "PANDROP_CLIENT_ID",
        },
        CredentialField {
            key: CLIENT_SECRET,
            secret: true,
            env: "PANDROP_CLIENT_SECRET",
        },
    ],
    // A personal key signs every call itself: there is no token to share.
    shares_tokens: false,
};

const CLIENT_ID: &str = "client_id";
const CLIENT_SECRET: &str = "client_secret";

/// Connects HalalCloud accounts.
pub(crate) struct HalalCloudFactory;

#[async_trait]
impl ProviderFactory for HalalCloudFactory {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    /// A personal key (client id and secret), or the tokens of a device-code sign-in in the secret field.
    async fn connect(&self, request: ConnectRequest) -> Result<Arc<dyn CloudProvider>> {
        let secret = request.credentials.require(&INFO, CLIENT_SECRET)?.clone();
        let (client_id, client_secret, tokens) = match DeviceTokens::from_secret(&secret) {
            Some(tokens) => {
                let (id, app_secret) = oauth::app_key();
                (id, app_secret, Some(tokens))
            }
            None => (
                request.credentials.require(&INFO, CLIENT_ID)?.expose_secret().to_owned(),
                secret,
                None,
            ),
        };
        let config = HalalCloudConfig {
            endpoint: request.endpoint,
            client_id,
            client_secret,
            retry: request.options.retry,
        };
        Ok(Arc::new(HalalCloud::with_tokens(request.http, config, tokens)?))
    }

    fn signs_in_by_device(&self) -> bool {
        true
    }

    async fn device_sign_in(&self, http: &reqwest::Client, endpoint: &Url) -> Result<DeviceSignIn> {
        oauth::start(http, endpoint).await
    }

    async fn device_sign_in_wait(&self, http: &reqwest::Client, endpoint: &Url, sign_in: &DeviceSignIn) -> Result<SecretString> {
        oauth::wait(http, endpoint, sign_in).await
    }

    async fn sandbox_credentials(&self, _http: &reqwest::Client, _endpoint: &Url) -> Result<Credentials> {
        let mut credentials = Credentials::default();
        credentials.set(CLIENT_ID, secret(DEMO_USER));
        credentials.set(CLIENT_SECRET, secret(DEMO_SECRET));
        Ok(credentials)
    }
}
