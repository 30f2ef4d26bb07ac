//! Calls to the HalalCloud API (signed, spec §4) and to its upload host (no auth, spec §6), each retried on
//! transient failures and signed anew for every attempt.

use reqwest::Method;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use super::PROVIDER;
use super::api::{self, RefreshTokenRequest, TokenResponse, UploadedFile};
use super::oauth::DeviceTokens;
use super::sign::Signer;
use crate::error::{Error, Result};
use crate::http::{self, RetryPolicy};
use crate::provider::PartBody;

/// One account's view of the API.
pub(super) struct Api {
    http: reqwest::Client,
    base: Url,
    signer: Signer,
    /// A device-code sign-in's tokens (the access token goes into every signature); `None` for a personal
    /// key, which signs with an empty token.
    tokens: Option<Mutex<DeviceTokens>>,
    retry: RetryPolicy,
}

impl Api {
    /// The API at `base` (`https://openapi.2dland.cn`, or a sandbox's `http://127.0.0.1:PORT/halalcloud`),
    /// signing with `client_id`'s key: a personal key, or the app key with a device-code sign-in's `tokens`.
    pub(super) fn new(
        http: reqwest::Client,
        base: Url,
        client_id: &str,
        client_secret: SecretString,
        tokens: Option<DeviceTokens>,
        retry: RetryPolicy,
    ) -> Result<Self> {
        Ok(Self {
            signer: Signer::new(client_id, client_secret)?,
            tokens: tokens.map(Mutex::new),
            http,
            base,
            retry,
        })
    }

    /// The device-code sign-in's tokens as they are now (the refresh token rotates).
    pub(super) fn current_tokens(&self) -> Option<DeviceTokens> {
        self.tokens.as_ref().and_then(|t| t.try_lock().ok().map(|t| t.clone()))
    }

    /// `POST /v6/<service>/<method>` with `req` as JSON; `subject` names what the call is about in errors.
    ///
    /// With a device-code sign-in, a 401 refreshes the tokens once and the call is signed and sent again
    /// (spec §3); a second 401, or a refused refresh, means the sign-in has expired.
    pub(super) async fn call<Req: Serialize + Sync, T: DeserializeOwned>(&self, method: &str, req: &Req, subject: &str) -> Result<T> {
        let Some(tokens) = &self.tokens else {
            return self.send(method, req, subject, None).await;
        };
        let access = tokens.lock().await.access.clone();
        match self.send(method, req, subject, Some(&access)).await {
            Err(Error::Auth { .. }) if !method.starts_with("oauth/") => {
                let access = self.refresh(tokens, &access).await?;
                self.send(method, req, subject, Some(&access)).await.map_err(|e| match e {
                    Error::Auth { .. } => expired(),
                    other => other,
                })
            }
            other => other,
        }
    }

    /// Trades the refresh token for new tokens, unless another call did since `rejected` was current.
    async fn refresh(&self, tokens: &Mutex<DeviceTokens>, rejected: &SecretString) -> Result<SecretString> {
        use secrecy::ExposeSecret;
        let mut current = tokens.lock().await;
        if current.access.expose_secret() != rejected.expose_secret() {
            return Ok(current.access.clone());
        }
        let req = RefreshTokenRequest::new(&current.refresh, self.signer.client_id());
        // The SDK signs the refresh with the old access token (spec §5.1).
        let reply: TokenResponse = match self.send("oauth/refresh_token", &req, "the sign-in", Some(rejected)).await {
            Ok(reply) => reply,
            Err(Error::Auth { .. } | Error::Api { .. }) => return Err(expired()),
            Err(other) => return Err(other),
        };
        let (Some(access), Some(refresh)) = (reply.access_token, reply.refresh_token) else {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: "the token refresh answered without tokens".into(),
            });
        };
        *current = DeviceTokens {
            access: access.clone(),
            refresh,
        };
        tracing::info!("HalalCloud sign-in refreshed");
        Ok(access)
    }

    /// One signed call, retried on transient failures, signed anew for each attempt.
    async fn send<Req: Serialize + Sync, T: DeserializeOwned>(
        &self,
        method: &str,
        req: &Req,
        subject: &str,
        token: Option<&SecretString>,
    ) -> Result<T> {
        let url = join(&self.base, &format!("v6/{method}"))?;
        let body = serde_json::to_vec(req).map_err(|e| Error::Protocol {
            provider: PROVIDER,
            detail: format!("cannot encode a request: {e}"),
        })?;
        http::retry(&self.retry, || async {
            // A new timestamp and nonce for every attempt: the server refuses a nonce it has seen.
            let signed = self.signer.sign_now(&Method::POST, &url, &body, token)?;
            // reqwest writes the Host header itself, from the same URL the signature covered.
            tracing::trace!(host = %signed.host, method, "signed call");
            let (status, retry_after, bytes) = exchange(self.http.post(url.clone()).headers(signed.headers).body(body.clone())).await?;
            if !(200..300).contains(&status) {
                return Err(api::error_for(status, &bytes, subject, retry_after));
            }
            api::decode(status, &bytes, subject)
        })
        .await
    }

    /// `GET {upload}/{task}/{cid}`: whether the host holds the block already.
    pub(super) async fn probe(&self, upload: &Url, task: &str, cid: &str) -> Result<bool> {
        let url = join(upload, &format!("{task}/{cid}"))?;
        http::retry(&self.retry, || async {
            let (status, _, bytes) = exchange(self.http.get(url.clone()).header(reqwest::header::ACCEPT, "application/json")).await?;
            api::probe_answer(status, &bytes)
        })
        .await
    }

    /// `POST {upload}/{task}/{cid}` with the block's bytes, streamed from `part` (or from `data` when the
    /// block was read to hash it).
    pub(super) async fn put_block(&self, upload: &Url, task: &str, cid: &str, part: &PartBody, data: Option<&bytes::Bytes>) -> Result<()> {
        let url = join(upload, &format!("{task}/{cid}"))?;
        http::retry(&self.retry, || async {
            let body = match data {
                Some(data) => part.body_from(data.clone()),
                None => part.body_from_file()?,
            };
            let req = self
                .http
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::CONTENT_LENGTH, part.len)
                .body(body);
            let (status, _, bytes) = exchange(req).await?;
            match status {
                200 | 201 => Ok(()),
                _ => Err(api::error_for(status, &bytes, "block", None)),
            }
        })
        .await
    }

    /// `POST {upload}/{task}` with every block's CID in file order: the file exists once this answers.
    pub(super) async fn finish(&self, upload: &Url, task: &str, cids: &[String], path: &str) -> Result<UploadedFile> {
        let url = join(upload, task)?;
        http::retry(&self.retry, || async {
            let (status, _, bytes) = exchange(self.http.post(url.clone()).json(cids)).await?;
            match status {
                200 | 201 => api::decode(200, &bytes, path),
                _ => Err(api::error_for(status, &bytes, path, None)),
            }
        })
        .await
    }
}

/// Sends a request and reads its answer: the status, the `Retry-After` it asked for, and the body (capped).
async fn exchange(req: reqwest::RequestBuilder) -> Result<(u16, Option<std::time::Duration>, Vec<u8>)> {
    let resp = req.send().await.map_err(|e| Error::from_transport(PROVIDER, e))?;
    let status = resp.status().as_u16();
    let retry_after = http::retry_after(&resp);
    Ok((status, retry_after, http::read_capped(PROVIDER, resp).await?))
}

/// What a sign-in that can no longer be refreshed says.
fn expired() -> Error {
    Error::Auth {
        provider: PROVIDER,
        message: "the HalalCloud sign-in has expired: sign in again (`pandrop-cli login halalcloud`, or the \
                  account's sign-in in the app)"
            .into(),
    }
}

/// Appends `path` to a base URL (see [`http::join_url`]).
fn join(base: &Url, path: &str) -> Result<Url> {
    http::join_url(PROVIDER, base, path)
}

/// Accepts an upload host the cloud named (see [`http::upload_host_url`]).
pub(super) fn upload_host(text: &str) -> Result<Url> {
    http::upload_host_url(PROVIDER, text)
}
