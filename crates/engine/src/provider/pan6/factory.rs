//! 6pan (v1 and v2) in the provider registry: a session token, which the cloud rotates.

use async_trait::async_trait;
use secrecy::SecretString;
use std::sync::Arc;
use url::Url;

use super::{DEFAULT_ENDPOINT, Pan6, Pan6Api, Pan6Config, login};
use crate::error::Result;
use crate::provider::CloudProvider;
use crate::provider::registry::{ConnectRequest, CredentialField, Credentials, DEMO_SECRET, DEMO_USER, ProviderFactory, ProviderInfo};
use crate::secret::secret;
use crate::store::ProviderKind;

/// The registry's 6pan v1 entry.
pub(crate) static PAN6_V1: Pan6Factory = Pan6Factory(Pan6Api::V1);
/// The registry's 6pan v2 entry.
pub(crate) static PAN6_V2: Pan6Factory = Pan6Factory(Pan6Api::V2);

const SESSION_TOKEN: &str = "session_token";

const FIELDS: &[CredentialField] = &[CredentialField {
    key: SESSION_TOKEN,
    secret: true,
    env: "PANDROP_6PAN_TOKEN",
}];

static INFO_V1: ProviderInfo = ProviderInfo {
    kind: ProviderKind::PAN6_V1,
    default_endpoint: DEFAULT_ENDPOINT,
    sandbox_path: "6pan",
    fields: FIELDS,
    // The session token is the secret itself; it rotates, and the account keeps the newest.
    shares_tokens: false,
};

static INFO_V2: ProviderInfo = ProviderInfo {
    kind: ProviderKind::PAN6_V2,
    default_endpoint: DEFAULT_ENDPOINT,
    sandbox_path: "6pan",
    fields: FIELDS,
    // The session token is the secret itself; it rotates, and the account keeps the newest.
    shares_tokens: false,
};

/// Connects 6pan accounts of one API generation.
pub(crate) struct Pan6Factory(Pan6Api);

#[async_trait]
impl ProviderFactory for Pan6Factory {
    fn info(&self) -> &'static ProviderInfo {
        match self.0 {
            Pan6Api::V1 => &INFO_V1,
            Pan6Api::V2 => &INFO_V2,
        }
    }

    async fn connect(&self, request: ConnectRequest) -> Result<Arc<dyn CloudProvider>> {
        let token = request.credentials.require(self.info(), SESSION_TOKEN)?.clone();
        let mut config = Pan6Config::new(request.endpoint, self.0, token);
        config.retry = request.options.retry;
        Ok(Arc::new(Pan6::new(request.http, config)))
    }

    fn signs_in(&self) -> bool {
        true
    }

    async fn sign_in(&self, http: &reqwest::Client, endpoint: &Url, user: &str, password: &SecretString) -> Result<SecretString> {
        login(http, endpoint, self.0, user, password).await
    }

    /// The sandbox's demo account signs in like a real one, for a session token.
    async fn sandbox_credentials(&self, http: &reqwest::Client, endpoint: &Url) -> Result<Credentials> {
        let token = login(http, endpoint, self.0, DEMO_USER, &secret(DEMO_SECRET)).await?;
        let mut credentials = Credentials::default();
        credentials.set(SESSION_TOKEN, token);
        Ok(credentials)
    }
}
