//! The Wangsu Cloud Storage (WCS) upload host, served under `/wcs`.
//!
//! | method and path (after `/wcs`) | route name |
//! |---|---|
//! | `POST /mkblk/{blockSize}/{blockOrder}` (body: first chunk) | `wcs/mkblk` |
//! | `POST /bput/{ctx}/{nextChunkOffset}` (body: next chunk) | `wcs/bput` |
//! | `POST /mkfile/{fileSize}[/x:{name}/{b64}][/key/{b64}][/mimeType/{b64}][/fname/{b64}]` (body: ctx list) | `wcs/mkfile` |
//! | `POST /file/upload` (multipart: `token`, `key`, `x:…`, `mimeType`, `deadline`, `file`) | `wcs/form` |
//!
//! Every request carries the upload token in `Authorization` (verbatim, or as `UpToken <token>`); slice
//! requests also carry `UploadBatch`. The token is checked on every request: signature, `deadline`
//! (expired → 401), bucket (unknown → 631) and `fsizeLimit` (exceeded → 401). Errors are
//! `{"code": N, "message": "…"}` with HTTP status N (see `error`).
//!
//! Rules this host enforces (from the WCS documents):
//! * blocks are 4 MiB except the last; `mkblk`'s `blockSize` is at most 4 MiB; the empty file is
//!   `mkblk/0/0` with an empty body, then `mkfile/0` with that ctx;
//! * blocks may arrive in parallel and in any order; chunks of one block come in sequence, each bput
//!   naming the previous ctx and `nextChunkOffset` = the previous reply's `offset`;
//! * chunk replies are `{ctx, checksum: MD5 hex of the chunk, crc32: CRC-32 of the chunk, offset}`;
//! * mkfile's body is the last ctx of every block in block order, joined by `,`. A forged, altered or
//!   stale ctx, or one of another `UploadBatch`, is 701; a ctx of an incomplete block, blocks out of
//!   order, a middle block that is not 4 MiB or sizes not adding up to `fileSize` are 412;
//! * the key is the policy's scope key when it has one (it wins over `Key`/`key`), else the client's key,
//!   else (form upload) the `saveKey`, else the etag; `overwrite` ≠ 1 and an existing key → 406;
//! * with a `callbackUrl`, the callback is really POSTed (see `callback`): mkfile answers
//!   `{"hash", "response": "<callback body>"}`; the form upload answers in the shape `Pan6Config::form_reply`
//!   sets (by default the callback's body itself, raw, not base64; also its base64, or `{hash, response}`
//!   with either); a failed callback → 579 with the bytes stored. Without one: `returnBody` fields (mkfile:
//!   a JSON object plus `key` and `hash`; form: URL-safe base64 of the expanded `k=v&…`), else
//!   `{"hash", "key"}`. `returnUrl` is not supported (ignored).
//! * a repeated mkfile with the same ctxs after success stores nothing new and answers again.
//!
//! A request refused by a rate limit (none by default, see [`crate::throttle`]) gets HTTP 429
//! `{"code": 429, "message": "too many requests"}`; the WCS documents name no such answer.

mod blocks;
mod callback;
mod ctx;
mod error;
pub(crate) mod etag;
mod form;
mod mkfile;
pub(crate) mod objects;
mod slice;
pub(crate) mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use futures::future::BoxFuture;

use crate::config::Pan6Config;
use crate::error::FakeCloudError;
use crate::faults::{self, FaultCode, GuardShared, ProviderFaults, RouteGuard};
use crate::stats::Stats;
use crate::store::Store;
use callback::{CallbackAnswer, UploadFacts};
use error::{NO_BUCKET, RETRY, TOO_MANY_REQUESTS, UNAUTHORIZED, WcsError, error_response};
use token::{Keys, Policy};

/// Route names used by the stats and the fault plans.
pub const ROUTES: &[&str] = &[ROUTE_MKBLK, ROUTE_BPUT, ROUTE_MKFILE, ROUTE_FORM];
/// `POST /wcs/mkblk/{blockSize}/{blockOrder}`.
pub const ROUTE_MKBLK: &str = "wcs/mkblk";
/// `POST /wcs/bput/{ctx}/{nextChunkOffset}`.
pub const ROUTE_BPUT: &str = "wcs/bput";
/// `POST /wcs/mkfile/{fileSize}[/…]`.
pub const ROUTE_MKFILE: &str = "wcs/mkfile";
/// `POST /wcs/file/upload`.
pub const ROUTE_FORM: &str = "wcs/form";

/// The only bucket of this host (the one 6pan uses).
pub(crate) const BUCKET: &str = "other-storage";

/// Shared state of the WCS routes.
pub(crate) struct Wcs {
    store: Arc<Store>,
    keys: Keys,
    blocks: blocks::Blocks,
    stats: Arc<Stats>,
    /// `http://HOST:PORT/wcs`.
    base_url: String,
    /// Client for upload callbacks.
    http: reqwest::Client,
    /// The shape of a form upload's answer after a callback.
    form_reply: crate::config::FormReply,
}

impl Wcs {
    /// Creates the WCS tables and cleans up blocks left behind.
    pub(crate) async fn open(
        store: Arc<Store>,
        config: &Pan6Config,
        base_url: String,
        stats: Arc<Stats>,
    ) -> Result<Arc<Self>, FakeCloudError> {
        let keys = Keys {
            access_key: config.access_key.clone(),
            secret_key: config.secret_key.clone(),
        };
        if keys.access_key.is_empty() || keys.access_key.contains(':') || keys.secret_key.is_empty() {
            return Err(FakeCloudError::InvalidConfig(
                "pan6.access_key must be non-empty without ':' and pan6.secret_key non-empty".to_owned(),
            ));
        }
        let signer = ctx::CtxSigner::new(&keys.secret_key);
        let blocks = store
            .blocking(move |store| {
                store.db().execute_batch(objects::SCHEMA)?;
                blocks::Blocks::open(store, signer)
            })
            .await?;
        // Callbacks go to loopback addresses: never through a proxy from the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| FakeCloudError::InvalidConfig(format!("cannot build the callback client: {e}")))?;
        Ok(Arc::new(Self {
            form_reply: config.form_reply,
            store,
            keys,
            blocks,
            stats,
            base_url,
            http,
        }))
    }

    /// Checks the upload token of a request.
    fn authorize(&self, headers: &HeaderMap) -> Result<Policy, WcsError> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| WcsError::unauthorized("missing upload token (Authorization header)"))?;
        self.check_token(value)
    }

    /// Checks an upload token (or `UpToken <token>`).
    fn check_token(&self, value: &str) -> Result<Policy, WcsError> {
        let policy = self.keys.verify(value, blocks::now_ms())?;
        if policy.bucket != BUCKET {
            return Err(WcsError::new(NO_BUCKET, format!("bucket {} does not exist", policy.bucket)));
        }
        Ok(policy)
    }

    /// Runs the policy's callback, or builds the `returnBody` fields.
    async fn complete(&self, policy: &Policy, facts: &UploadFacts) -> Result<Outcome, WcsError> {
        if let Some(url) = &policy.callback_url {
            let body = callback::expand(&policy.callback_body, facts);
            let answer = callback::deliver(&self.http, &self.keys, url, &body).await?;
            return Ok(Outcome::Callback(answer));
        }
        if let Some(template) = &policy.return_body {
            return Ok(Outcome::Returned(callback::expand(template, facts)));
        }
        Ok(Outcome::Default)
    }

    /// The public URL of `key` (used for `$(url)`; this host does not serve downloads).
    fn object_url(&self, key: &str) -> String {
        format!("{}/{key}", self.base_url)
    }
}

/// How an upload ends once its bytes are stored.
pub(crate) enum Outcome {
    /// The callback was delivered; this is the app server's answer.
    Callback(CallbackAnswer),
    /// No callback; the expanded `returnBody`.
    Returned(String),
    /// Neither: `{hash, key}`.
    Default,
}

/// The `UploadBatch` header, or `""`.
fn upload_batch(headers: &HeaderMap) -> String {
    headers
        .get("uploadbatch")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// A MIME type from a file name's extension.
pub(crate) fn guess_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "torrent" => "application/x-bittorrent",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        _ => "application/octet-stream",
    }
}

impl ProviderFaults for Wcs {
    fn code_error(&self, code: &FaultCode, message: &str) -> Response {
        let code = code
            .as_number()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| (100..=999).contains(n))
            .unwrap_or(500);
        let message = if message.is_empty() { "injected error" } else { message };
        error_response(code, message)
    }

    fn pending(&self) -> Response {
        error_response(RETRY, "server busy, retry later")
    }

    fn expire_token<'a>(&'a self, _headers: &'a HeaderMap) -> BoxFuture<'a, Response> {
        Box::pin(async { error_response(UNAUTHORIZED, "token is expired") })
    }

    fn too_many_requests(&self) -> Response {
        // The WCS documents name no rate-limit answer; HTTP 429 in the usual `{code, message}` shape is what
        // a generic HTTP client recognises.
        error_response(TOO_MANY_REQUESTS, "too many requests")
    }
}

async fn with_request_id(mut resp: Response) -> Response {
    // Official SDKs log this header when present.
    let id = hex::encode(rand::random::<[u8; 12]>());
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-reqid", v);
    }
    resp
}

async fn not_found() -> Response {
    WcsError::new(404, "no such WCS endpoint").into_response()
}

/// The `/wcs` router.
pub(crate) fn router(w: Arc<Wcs>, shared: &GuardShared) -> Router {
    let provider: Arc<dyn ProviderFaults> = w.clone();
    let guarded = |name: &'static str, route: MethodRouter<Arc<Wcs>>| {
        let guard = RouteGuard::new(name, shared, Arc::clone(&provider));
        route.layer(from_fn_with_state(guard, faults::guard))
    };
    Router::new()
        .route("/mkblk/{size}/{order}", guarded(ROUTE_MKBLK, post(slice::mkblk)))
        .route("/bput/{ctx}/{offset}", guarded(ROUTE_BPUT, post(slice::bput)))
        .route("/mkfile/{size}", guarded(ROUTE_MKFILE, post(mkfile::mkfile)))
        .route("/mkfile/{size}/{*params}", guarded(ROUTE_MKFILE, post(mkfile::mkfile)))
        // The form upload is streamed to disk: axum's 2 MB cap does not apply.
        .route(
            "/file/upload",
            guarded(ROUTE_FORM, post(form::upload).layer(DefaultBodyLimit::disable())),
        )
        .fallback(not_found)
        .layer(map_response(with_request_id))
        .with_state(w)
}
