//! 123pan in the provider registry: a developer app's clientID and clientSecret.

use async_trait::async_trait;
use secrecy::ExposeSecret;
use std::sync::Arc;
use url::Url;

use super::{DEFAULT_ENDPOINT, Pan123, Pan123Config};
use crate::error::Result;
use crate::provider::CloudProvider;
use crate::provider::registry::{ConnectRequest, CredentialField, Credentials, DEMO_SECRET, DEMO_USER, ProviderFactory, ProviderInfo};
use crate::secret::secret;
use crate::store::ProviderKind;

/// The registry's 123pan entry.
pub(crate) static PAN123: Pan123Factory = Pan123Factory;

static INFO: ProviderInfo = ProviderInfo {
    kind: ProviderKind::PAN123,
    default_endpoint: DEFAULT_ENDPOINT,
    sandbox_path: "123pan",
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
    shares_tokens: true,
};

const CLIENT_ID: &str = "client_id";
const CLIENT_SECRET: &str = "client_secret";

/// Connects 123pan accounts.
pub(crate) struct Pan123Factory;

#[async_trait]
impl ProviderFactory for Pan123Factory {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    async fn connect(&self, request: ConnectRequest) -> Result<Arc<dyn CloudProvider>> {
        let id = request.credentials.require(&INFO, CLIENT_ID)?.expose_secret().to_owned();
        let key = request.credentials.require(&INFO, CLIENT_SECRET)?.clone();
        let mut config = Pan123Config::new(request.endpoint, id, key);
        config.single_step_max = request.options.single_step_max;
        config.retry = request.options.retry;
        config.shared_tokens = request.tokens;
        Ok(Arc::new(Pan123::new(request.http, config)?))
    }

    async fn sandbox_credentials(&self, _http: &reqwest::Client, _endpoint: &Url) -> Result<Credentials> {
        let mut credentials = Credentials::default();
        credentials.set(CLIENT_ID, secret(DEMO_USER));
        credentials.set(CLIENT_SECRET, secret(DEMO_SECRET));
        Ok(credentials)
    }
}
