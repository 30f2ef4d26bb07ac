//! The device-code sign-in (spec §5.1): PanDrop asks for a code, the user enters it on the website, and
//! PanDrop polls until the cloud hands over an access token and a refresh token. Those two are the account's
//! secret from then on, kept as one JSON value in the keyring; the refresh token rotates with every refresh.

use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

use super::PROVIDER;
use super::api::{DeviceCode, DeviceCodeRequest, DeviceCodeState, DeviceCodeStateRequest};
use super::client::Api;
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::provider::registry::DeviceSignIn;

/// The app key PanDrop signs device-code sign-ins with. HalalCloud issues app keys to registered apps; until
/// PanDrop has one, this is the sandbox's (public: it only ever reaches the cloud on this machine), and
/// `PANDROP_HALALCLOUD_APP_ID` / `PANDROP_HALALCLOUD_APP_SECRET` name another.
pub(crate) fn app_key() -> (String, SecretString) {
    match (
        std::env::var("PANDROP_HALALCLOUD_APP_ID"),
        std::env::var("PANDROP_HALALCLOUD_APP_SECRET"),
    ) {
        (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => (id, SecretString::from(secret)),
        _ => (SANDBOX_APP_ID.to_owned(), SecretString::from(SANDBOX_APP_SECRET.to_owned())),
    }
}

/// The sandbox's app key id.
const SANDBOX_APP_ID: &str = "demo-app";
/// The sandbox's app key secret.
const SANDBOX_APP_SECRET: &str = "demo-app-secret";

/// A device-code sign-in's tokens: the account's secret.
#[derive(Clone)]
pub(crate) struct DeviceTokens {
    pub access: SecretString,
    pub refresh: SecretString,
}

/// How the tokens are kept as one secret.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    halalcloud_access_token: String,
    halalcloud_refresh_token: String,
}

impl DeviceTokens {
    /// The tokens in an account secret, if it holds a device-code sign-in (a personal key's secret does not).
    pub(crate) fn from_secret(secret: &SecretString) -> Option<Self> {
        let stored: Stored = serde_json::from_str(secret.expose_secret()).ok()?;
        Some(Self {
            access: SecretString::from(stored.halalcloud_access_token),
            refresh: SecretString::from(stored.halalcloud_refresh_token),
        })
    }

    /// The account secret holding the tokens.
    pub(crate) fn to_secret(&self) -> SecretString {
        let stored = Stored {
            halalcloud_access_token: self.access.expose_secret().to_owned(),
            halalcloud_refresh_token: self.refresh.expose_secret().to_owned(),
        };
        SecretString::from(serde_json::to_string(&stored).unwrap_or_default())
    }
}

fn app_api(http: &reqwest::Client, endpoint: &Url) -> Result<(Api, String)> {
    let (id, secret) = app_key();
    let api = Api::new(http.clone(), endpoint.clone(), &id, secret, None, RetryPolicy::STANDARD)?;
    Ok((api, id))
}

/// Asks for a code for the user to enter at the cloud's website.
pub(crate) async fn start(http: &reqwest::Client, endpoint: &Url) -> Result<DeviceSignIn> {
    let (api, id) = app_api(http, endpoint)?;
    let req = DeviceCodeRequest {
        client_id: &id,
        device: Some("PanDrop"),
    };
    let code: DeviceCode = api.call("oauth/device_code", &req, "the sign-in").await?;
    let device_code = code.device_code.clone().ok_or_else(|| Error::Protocol {
        provider: PROVIDER,
        detail: "the device code answer has no device_code".into(),
    })?;
    if code.user_code.is_empty() || code.verification_uri.is_empty() {
        return Err(Error::Protocol {
            provider: PROVIDER,
            detail: "the device code answer has no user code or address".into(),
        });
    }
    Ok(DeviceSignIn {
        user_code: code.user_code.clone(),
        verification_uri: code.verification_uri.clone(),
        expires_in: Duration::from_secs(u64::try_from(code.expires_in).unwrap_or(0).max(1)),
        interval: code.poll_interval(),
        device_code,
    })
}

/// Polls until the user has entered the code (the account secret) or the code expires. Cancel by dropping.
pub(crate) async fn wait(http: &reqwest::Client, endpoint: &Url, sign_in: &DeviceSignIn) -> Result<SecretString> {
    let (api, _) = app_api(http, endpoint)?;
    let deadline = tokio::time::Instant::now() + sign_in.expires_in;
    let mut interval = sign_in.interval;
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout {
                provider: PROVIDER,
                what: format!("the code {} to be entered at {}", sign_in.user_code, sign_in.verification_uri),
            });
        }
        let req = DeviceCodeStateRequest {
            device_code: sign_in.device_code.expose_secret(),
        };
        let state: DeviceCodeState = match api.call("oauth/get_device_code_state", &req, "the sign-in").await {
            Ok(state) => state,
            // Polled a little early (clocks differ): wait another interval.
            Err(Error::RateLimited { .. }) => continue,
            Err(e) => return Err(e),
        };
        if state.is_authorized() {
            let (Some(access), Some(refresh)) = (state.access_token, state.refresh_token) else {
                return Err(Error::Protocol {
                    provider: PROVIDER,
                    detail: "the sign-in succeeded without tokens".into(),
                });
            };
            return Ok(DeviceTokens { access, refresh }.to_secret());
        }
        interval = state.poll_interval().max(sign_in.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_a_personal_secret_is_not_tokens() {
        let tokens = DeviceTokens {
            access: SecretString::from("a-1".to_owned()),
            refresh: SecretString::from("r-1".to_owned()),
        };
        let back = DeviceTokens::from_secret(&tokens.to_secret()).expect("tokens");
        assert_eq!((back.access.expose_secret(), back.refresh.expose_secret()), ("a-1", "r-1"));
        assert!(DeviceTokens::from_secret(&SecretString::from("demo-secret".to_owned())).is_none());
    }
}
