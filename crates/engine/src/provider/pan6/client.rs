//! Authenticated 6pan calls: the session token goes out in the version's header and is replaced by the
//! newest one every reply carries (the credential rotates, spec §9.1 and §10.1).

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use url::Url;

use super::{PROVIDER, Pan6Api, envelope};
use crate::error::{Error, Result};
use crate::http::{self, RetryPolicy};

/// The v2 session header (sent and received).
pub(super) const QINGZHEN_TOKEN: &str = "Qingzhen-Token";

/// The newest session token, shared by every call of one account.
pub(super) struct SessionToken {
    value: Mutex<SecretString>,
}

impl SessionToken {
    pub(super) fn new(token: SecretString) -> Self {
        Self { value: Mutex::new(token) }
    }

    pub(super) fn get(&self) -> SecretString {
        self.value.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn replace(&self, token: String) {
        *self.value.lock().unwrap_or_else(|p| p.into_inner()) = SecretString::from(token);
    }
}

/// One 6pan account's API.
pub(super) struct Api {
    pub http: reqwest::Client,
    pub base: Url,
    pub version: Pan6Api,
    pub session: Arc<SessionToken>,
    pub retry: RetryPolicy,
}

impl Api {
    /// POSTs JSON to `path` (e.g. `v2/upload/token`) and returns the envelope's `result`.
    /// `subject` names the file or folder concerned, for error messages.
    pub(super) async fn call(&self, path: &str, body: &Value, subject: &str) -> Result<Value> {
        let url = endpoint(&self.base, path)?;
        http::retry(&self.retry, || async {
            let token = self.session.get();
            let req = self.http.post(url.clone()).json(body);
            let req = match self.version {
                Pan6Api::V1 => req.bearer_auth(token.expose_secret()),
                Pan6Api::V2 => req.header(QINGZHEN_TOKEN, token.expose_secret()),
            };
            let resp = req.send().await.map_err(|e| Error::from_transport(PROVIDER, e))?;
            let status = resp.status().as_u16();
            let header_token = rotated_header(self.version, resp.headers());
            let bytes = http::read_capped(PROVIDER, resp).await?;
            let body_token = match self.version {
                Pan6Api::V1 => envelope::body_token(&bytes),
                Pan6Api::V2 => None,
            };
            if let Some(newest) = body_token.or(header_token) {
                self.session.replace(newest);
            }
            envelope::decode(status, &bytes, subject)
        })
        .await
    }
}

/// The token a reply's headers carry: v1 `Authorization: Bearer …`, v2 `qingzhen-token`.
pub(super) fn rotated_header(version: Pan6Api, headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = match version {
        Pan6Api::V1 => headers
            .get(reqwest::header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?,
        Pan6Api::V2 => headers.get(QINGZHEN_TOKEN)?.to_str().ok()?,
    };
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `base` + `/` + `path`, keeping any path prefix of `base`.
pub(super) fn endpoint(base: &Url, path: &str) -> Result<Url> {
    let text = format!("{}/{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&text).map_err(|e| Error::invalid(base.as_str(), format!("not a usable endpoint: {e}")))
}
