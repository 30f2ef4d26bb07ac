//! Low-level 123pan calls: each one authorised, paced per endpoint, retried on transient failures, and
//! refreshed once on 401.

use chrono::{DateTime, Utc};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use url::Url;

use super::PROVIDER;
use super::api::{
    self, CompleteReply, CompleteRequest, CreateReply, CreateRequest, ListReply, MkdirReply, MkdirRequest, TOO_MANY_TOKENS, TokenReply,
    TokenRequest,
};
use super::auth::{self, IssuedToken, TokenSource};
use super::pacing::{self, Paces};
use crate::error::{Error, Result};
use crate::http::{self, Pace, RetryPolicy};
use crate::provider::PartBody;
use crate::secrets::SharedTokens;

/// Every request carries this header (spec §2.1).
const PLATFORM: (&str, &str) = ("Platform", "open_platform");
/// Largest page the listing accepts (spec §5.2).
const LIST_LIMIT: u32 = 100;
/// "Too frequent" answers one call waits out at its endpoint's (slowed) pace before the generic backoff
/// takes over.
const MAX_THROTTLED: u32 = 8;

/// The 123pan open API as seen from one account.
pub(super) struct Api {
    http: reqwest::Client,
    base: Url,
    client_id: String,
    client_secret: SecretString,
    tokens: TokenSource,
    paces: Arc<Paces>,
    retry: RetryPolicy,
}

/// The form fields of a single-step upload besides the file.
pub(super) struct SingleCreate<'a> {
    pub parent_file_id: u64,
    pub filename: &'a str,
    pub etag: &'a str,
    pub size: u64,
    pub duplicate: Option<u8>,
    pub contain_dir: bool,
}

impl Api {
    /// The API of `client_id` at `base`; its token is kept in `shared`, and its pace is the account's.
    pub(super) fn new(
        http: reqwest::Client,
        base: Url,
        client_id: String,
        client_secret: SecretString,
        shared: SharedTokens,
        min_remint: std::time::Duration,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            tokens: TokenSource::new(shared, &base, &client_id, &client_secret, min_remint),
            paces: pacing::for_account(&base, &client_id),
            http,
            base,
            client_id,
            client_secret,
            retry,
        }
    }

    /// The URL to send slices or a single-step upload to for a host the cloud named: its `https://` form
    /// where the host offers HTTPS, so the bearer token does not cross the network in clear text.
    pub(super) async fn secure(&self, host: &Url) -> Result<Url> {
        http::prefer_https(&self.http, PROVIDER, host).await
    }

    /// `POST /upload/v2/file/create`.
    pub(super) async fn create(&self, req: &CreateRequest<'_>) -> Result<CreateReply> {
        let url = self.url("upload/v2/file/create")?;
        self.call_data(Some(&self.paces.create), || Ok(self.http.post(url.clone()).json(req)))
            .await
    }

    /// `POST {server}/upload/v2/file/slice` with a multipart body; `sliceNo` is 1-based.
    pub(super) async fn slice(&self, server: &Url, preupload_id: &str, part: &PartBody, part_name: &str) -> Result<()> {
        let url = join(server, "upload/v2/file/slice")?;
        let slice_no = (part.index + 1).to_string();
        // With a precomputed MD5 the body streams from disk on every attempt; otherwise the slice is read once
        // (bounded by the slice size) to hash it before its MD5 field goes out.
        let (cached, md5) = match &part.md5 {
            Some(md5) => (None, md5.clone()),
            None => {
                let (data, md5) = part.read_with_md5().await?;
                (Some(data), md5)
            }
        };
        let build = || {
            let body = match &cached {
                Some(data) => part.body_from(data.clone()),
                None => part.body_from_file()?,
            };
            let file = Part::stream_with_length(body, part.len)
                .file_name(format!("{part_name}.part{slice_no}"))
                .mime_str("application/octet-stream")
                .map_err(|e| Error::from_transport(PROVIDER, e))?;
            let form = Form::new()
                .text("preuploadID", preupload_id.to_owned())
                .text("sliceNo", slice_no.clone())
                .text("sliceMD5", md5.clone())
                .part("slice", file);
            Ok(self.http.post(url.clone()).multipart(form))
        };
        self.call::<serde_json::Value>(None, build).await.map(drop)
    }

    /// `POST /upload/v2/file/upload_complete`, once; the caller polls.
    pub(super) async fn complete(&self, preupload_id: &str) -> Result<CompleteReply> {
        let url = self.url("upload/v2/file/upload_complete")?;
        let req = CompleteRequest { preupload_id };
        self.call_data(Some(&self.paces.upload_complete), || Ok(self.http.post(url.clone()).json(&req)))
            .await
    }

    /// `GET /upload/v2/file/domain`.
    pub(super) async fn domain(&self) -> Result<Vec<String>> {
        let url = self.url("upload/v2/file/domain")?;
        self.call_data(None, || Ok(self.http.get(url.clone()))).await
    }

    /// `POST {domain}/upload/v2/file/single/create`, the whole file streamed from disk.
    pub(super) async fn single_create(&self, domain: &Url, fields: &SingleCreate<'_>, part: &PartBody) -> Result<CompleteReply> {
        let url = join(domain, "upload/v2/file/single/create")?;
        let build = || {
            let file = Part::stream_with_length(part.body_from_file()?, part.len)
                .file_name(fields.filename.rsplit('/').next().unwrap_or(fields.filename).to_owned())
                .mime_str("application/octet-stream")
                .map_err(|e| Error::from_transport(PROVIDER, e))?;
            let mut form = Form::new()
                .text("parentFileID", fields.parent_file_id.to_string())
                .text("filename", fields.filename.to_owned())
                .text("etag", fields.etag.to_owned())
                .text("size", fields.size.to_string());
            if let Some(d) = fields.duplicate {
                form = form.text("duplicate", d.to_string());
            }
            if fields.contain_dir {
                form = form.text("containDir", "true");
            }
            Ok(self.http.post(url.clone()).multipart(form.part("file", file)))
        };
        self.call_data(Some(&self.paces.single_create), build).await
    }

    /// `POST /upload/v1/file/mkdir`; returns the new folder's id.
    pub(super) async fn mkdir(&self, name: &str, parent_id: u64) -> Result<u64> {
        let url = self.url("upload/v1/file/mkdir")?;
        let req = MkdirRequest { name, parent_id };
        let reply: MkdirReply = self
            .call_data(Some(&self.paces.mkdir), || Ok(self.http.post(url.clone()).json(&req)))
            .await?;
        Ok(reply.dir_id)
    }

    /// One page of `GET /api/v2/file/list` under `parent`, after `last_file_id` (none for the first page).
    pub(super) async fn list(&self, parent: u64, last_file_id: Option<i64>) -> Result<ListReply> {
        let mut url = self.url("api/v2/file/list")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("parentFileId", &parent.to_string());
            q.append_pair("limit", &LIST_LIMIT.to_string());
            if let Some(last) = last_file_id {
                q.append_pair("lastFileId", &last.to_string());
            }
        }
        self.call_data(Some(&self.paces.list), || Ok(self.http.request(Method::GET, url.clone())))
            .await
    }

    async fn call_data<T: DeserializeOwned>(&self, pace: Option<&Pace>, build: impl Fn() -> Result<RequestBuilder>) -> Result<T> {
        self.call(pace, build).await?.ok_or_else(|| Error::Protocol {
            provider: PROVIDER,
            detail: "reply has no data".into(),
        })
    }

    /// Sends the request `build` makes (anew for every attempt) at `pace`, with retries.
    ///
    /// A "too frequent" answer slows the endpoint's pace for every task and waits for the next turn there; a
    /// rejected token is replaced once per attempt (by the shared one, or a new one). A token logged out by
    /// the token-count cap is not replaced here: minting another would log out someone else.
    async fn call<T: DeserializeOwned>(&self, pace: Option<&Pace>, build: impl Fn() -> Result<RequestBuilder>) -> Result<Option<T>> {
        http::retry(&self.retry, || async {
            let mut refreshed = false;
            let mut throttled = 0;
            loop {
                let token = self.token().await?;
                if let Some(pace) = pace {
                    pace.ready().await;
                }
                let resp = build()?
                    .header(PLATFORM.0, PLATFORM.1)
                    .header(reqwest::header::AUTHORIZATION, auth::bearer(&token))
                    .send()
                    .await
                    .map_err(|e| Error::from_transport(PROVIDER, e))?;
                let status = resp.status().as_u16();
                let retry_after = http::retry_after(&resp);
                let body = http::read_capped(PROVIDER, resp).await?;
                match api::decode(status, &body) {
                    Ok(data) => {
                        if let Some(pace) = pace {
                            pace.accepted();
                        }
                        return Ok(data);
                    }
                    Err(Error::Auth { message, .. }) if message.contains(TOO_MANY_TOKENS) => {
                        self.tokens.rejected(token.generation).await;
                        return Err(Error::Auth {
                            provider: PROVIDER,
                            message: format!(
                                "the cloud logged this access token out: more than three are in use for this \
                                 clientID ({message}). Another program or device signed in with it; PanDrop \
                                 gets a new one when the upload is retried"
                            ),
                        });
                    }
                    Err(Error::Auth { .. }) if !refreshed => {
                        tracing::info!("123pan access token rejected; using the shared one or getting a new one");
                        self.tokens.rejected(token.generation).await;
                        refreshed = true;
                    }
                    Err(e) if api::is_too_frequent(&e) => match pace {
                        Some(pace) if throttled < MAX_THROTTLED => {
                            pace.throttled();
                            throttled += 1;
                        }
                        _ => return Err(with_retry_after(e, retry_after)),
                    },
                    Err(e) => return Err(e),
                }
            }
        })
        .await
    }

    async fn token(&self) -> Result<IssuedToken> {
        self.tokens.get(|| self.mint_token()).await
    }

    /// `POST /api/v1/access_token` (spec §2.2): `Platform` header, no `Authorization`. Only the token
    /// source calls it, under its lock.
    async fn mint_token(&self) -> Result<(SecretString, DateTime<Utc>)> {
        let url = self.url("api/v1/access_token")?;
        let req = TokenRequest {
            client_id: &self.client_id,
            client_secret: self.client_secret.expose_secret(),
        };
        let resp = self
            .http
            .post(url)
            .header(PLATFORM.0, PLATFORM.1)
            .json(&req)
            .send()
            .await
            .map_err(|e| Error::from_transport(PROVIDER, e))?;
        let status = resp.status().as_u16();
        let body = http::read_capped(PROVIDER, resp).await?;
        let reply: TokenReply = api::decode_data(status, &body)?;
        let expires_at = auth::parse_expiry(&reply.expired_at).ok_or_else(|| Error::Protocol {
            provider: PROVIDER,
            detail: "expiredAt is not an RFC 3339 time".into(),
        })?;
        Ok((SecretString::from(reply.access_token), expires_at))
    }

    fn url(&self, path: &str) -> Result<Url> {
        join(&self.base, path)
    }
}

/// A rate-limit error with the server's `Retry-After`, for the generic backoff.
fn with_retry_after(err: Error, retry_after: Option<std::time::Duration>) -> Error {
    match err {
        Error::RateLimited { provider, message, .. } => Error::RateLimited {
            provider,
            message,
            retry_after,
        },
        other => other,
    }
}

/// Appends `path` to a base URL (see [`http::join_url`]).
pub(super) fn join(base: &Url, path: &str) -> Result<Url> {
    http::join_url(PROVIDER, base, path)
}

/// Accepts an upload host from the server (see [`http::upload_host_url`]).
pub(crate) fn upload_host(text: &str) -> Result<Url> {
    http::upload_host_url(PROVIDER, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_the_base_path() {
        let base = Url::parse("http://127.0.0.1:1/123pan").expect("url");
        assert_eq!(
            join(&base, "upload/v2/file/create").expect("join").as_str(),
            "http://127.0.0.1:1/123pan/upload/v2/file/create"
        );
        let slash = Url::parse("https://open-api.123pan.com/").expect("url");
        assert_eq!(
            join(&slash, "api/v1/access_token").expect("join").as_str(),
            "https://open-api.123pan.com/api/v1/access_token"
        );
    }

    #[test]
    fn upload_hosts_must_be_http() {
        assert!(upload_host("http://openapi-upload.123242.com").is_ok());
        assert!(upload_host("file:///etc/passwd").is_err());
        assert!(upload_host("ftp://x").is_err());
        assert!(upload_host("not a url").is_err());
        assert!(upload_host("javascript:alert(1)").is_err());
        assert!(upload_host("").is_err());
        let long = format!("ftp://{}", "x".repeat(10_000));
        let err = upload_host(&long).unwrap_err().to_string();
        assert!(err.len() < 300, "{err}");
    }
}
