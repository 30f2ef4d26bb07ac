//! The 123pan open platform, served under `/123pan`.
//!
//! The open API host and the upload host are the same server: `servers` in create answers and `data` of
//! the domain answer are `["http://HOST:PORT/123pan"]`.
//!
//! | method and path (after `/123pan`) | route name | auth |
//! |---|---|---|
//! | `POST /api/v1/access_token` | `123pan/access_token` | `Platform` only |
//! | `POST /upload/v2/file/create` | `123pan/create` | yes |
//! | `POST /upload/v2/file/slice` (multipart) | `123pan/slice` | yes |
//! | `POST /upload/v2/file/upload_complete` | `123pan/upload_complete` | yes |
//! | `GET /upload/v2/file/domain` | `123pan/domain` | yes |
//! | `POST /upload/v2/file/single/create` (multipart) | `123pan/single_create` | yes |
//! | `POST /upload/v1/file/mkdir` | `123pan/mkdir` | yes |
//! | `GET /api/v2/file/list` | `123pan/list` | yes |
//!
//! Every answer is the envelope `{"code","message","data","x-traceID"}`: `code` 0 and `message` "ok" on
//! success; on failure `data` is null. Business errors are HTTP 200 with `code` 1 and a message saying
//! why; an invalid token is HTTP 401 with `code` 401 (see `envelope::ApiError::Unauthorized`); a missing or
//! wrong `Platform` header is HTTP 200 with `code` 1. JSON POST bodies must be sent as
//! `Content-Type: application/json`.
//!
//! Behaviour the documents describe (§2.2, §6.1, §6.3):
//! * **Rate limits.** A route may be given a limit of N requests per second ([`crate::Config::rate_limits`],
//!   `--qps ROUTE=N`, `PUT /_admin/rate-limits`, [`crate::RunningCloud::set_rate_limits`]); by default no
//!   route is limited. A request over the limit is answered HTTP 200 with `code` 429 `请求太频繁` and is not
//!   handled. The limit is checked before authentication, as a sliding one-second window of admitted
//!   requests (see [`crate::throttle`]: a client pacing at exactly N/s with jitter will be refused, so
//!   clients must stay below the limit). Refusals are counted per route under `throttled` in the stats. The
//!   documents publish no limits for the V2 upload routes and their table changes over time, so no
//!   numbers are built in.
//! * **3-token cap.** A clientID has at most 3 live tokens; issuing a 4th retires the oldest at once. A
//!   retired token, until it would have expired, is answered HTTP 401 with `code` 401 and the message
//!   `tokens number has exceeded the limit` (the documents' message for "too many logins"; an unknown or
//!   expired token keeps `access_token无效`), and each such use is counted as `123pan.retired_token_uses`
//!   in the stats, so a test can check that nobody was logged out by a fresh login.
//!
//! Decisions where the documents are silent:
//! * `duplicate` absent or 0 and a same-named file exists → code 1 `当前目录有重名文件` (also for instant
//!   reuse); 1 → the new file is named `name(1).ext`, `name(2).ext`, …; 2 → the old entry is removed and the
//!   new file gets a new `fileID`.
//! * Files and folders have separate name spaces inside a folder.
//! * `upload_complete` with slices missing → code 1 naming how many; a wrong whole-file MD5 → code 1
//!   `文件上传失败` and the session is discarded; after success, calling it again answers the same `fileID`.
//! * Slices may arrive in any order and may be re-sent (the last copy wins).

mod auth;
mod completion;
mod digest;
mod envelope;
mod names;
mod routes;
mod session_file;
mod sessions;
mod tree;
mod uploads;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use futures::future::BoxFuture;
use rusqlite::Connection;

use crate::config::Pan123Config;
use crate::error::FakeCloudError;
use crate::faults::{self, FaultCode, GuardShared, ProviderFaults, RouteGuard};
use crate::listing::AdminFile;
use crate::stats::Stats;
use crate::store::Store;
use envelope::{ApiError, CODE_TOO_MANY_REQUESTS, CODE_VERIFYING, MSG_TOO_MANY_REQUESTS, MSG_VERIFYING};

/// Route names used by the stats and the fault plans.
pub const ROUTES: &[&str] = &[
    ROUTE_ACCESS_TOKEN,
    ROUTE_CREATE,
    ROUTE_SLICE,
    ROUTE_UPLOAD_COMPLETE,
    ROUTE_DOMAIN,
    ROUTE_SINGLE_CREATE,
    ROUTE_MKDIR,
    ROUTE_LIST,
];
/// `POST /api/v1/access_token`.
pub const ROUTE_ACCESS_TOKEN: &str = "123pan/access_token";
/// `POST /upload/v2/file/create`.
pub const ROUTE_CREATE: &str = "123pan/create";
/// `POST /upload/v2/file/slice`.
pub const ROUTE_SLICE: &str = "123pan/slice";
/// `POST /upload/v2/file/upload_complete`.
pub const ROUTE_UPLOAD_COMPLETE: &str = "123pan/upload_complete";
/// `GET /upload/v2/file/domain`.
pub const ROUTE_DOMAIN: &str = "123pan/domain";
/// `POST /upload/v2/file/single/create`.
pub const ROUTE_SINGLE_CREATE: &str = "123pan/single_create";
/// `POST /upload/v1/file/mkdir`.
pub const ROUTE_MKDIR: &str = "123pan/mkdir";
/// `GET /api/v2/file/list`.
pub const ROUTE_LIST: &str = "123pan/list";

/// Largest file of a chunked upload: 10 GB.
pub(crate) const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024 * 1024;
/// Largest file of a single-step upload: 1 GB.
pub(crate) const MAX_SINGLE_SIZE: u64 = 1024 * 1024 * 1024;

/// Shared state of the 123pan routes.
pub(crate) struct Pan123 {
    store: Arc<Store>,
    config: Pan123Config,
    /// `http://HOST:PORT/123pan`, announced as the upload host.
    upload_base: String,
    tokens: auth::TokenBook,
    uploads: uploads::Uploads,
    stats: Arc<Stats>,
}

impl Pan123 {
    /// Creates the 123pan tables when missing, cleans up after a crash and loads the live tokens.
    pub(crate) async fn open(
        store: Arc<Store>,
        config: Pan123Config,
        upload_base: String,
        stats: Arc<Stats>,
    ) -> Result<Arc<Self>, FakeCloudError> {
        if config.slice_size == 0 {
            return Err(FakeCloudError::InvalidConfig("pan123.slice_size must be positive".to_owned()));
        }
        let tokens = store
            .blocking(|store| {
                let conn = store.db();
                conn.execute_batch(tree::SCHEMA)?;
                conn.execute_batch(auth::SCHEMA)?;
                conn.execute_batch(sessions::SCHEMA)?;
                let tokens = auth::TokenBook::load(&conn)?;
                drop(conn);
                completion::tidy_sessions(store)?;
                Ok::<_, FakeCloudError>(tokens)
            })
            .await?;
        Ok(Arc::new(Self {
            store,
            config,
            upload_base,
            tokens,
            uploads: uploads::Uploads::default(),
            stats,
        }))
    }

    /// The `servers` list of a create answer.
    fn servers(&self) -> Vec<String> {
        if self.config.advertise_servers {
            vec![self.upload_base.clone()]
        } else {
            Vec::new()
        }
    }
}

impl ProviderFaults for Pan123 {
    fn code_error(&self, code: &FaultCode, message: &str) -> Response {
        // The plan checker only lets numeric codes through for 123pan routes; a string code of a wildcard
        // rule becomes the generic code 1 with the string as message.
        let (code, message) = match code.as_number() {
            Some(n) => (n, message.to_owned()),
            None if message.is_empty() => (envelope::CODE_FAILED, code.as_text()),
            None => (envelope::CODE_FAILED, message.to_owned()),
        };
        ApiError::Code { code, message }.into_response()
    }

    fn pending(&self) -> Response {
        ApiError::Code {
            code: CODE_VERIFYING,
            message: MSG_VERIFYING.to_owned(),
        }
        .into_response()
    }

    fn expire_token<'a>(&'a self, headers: &'a HeaderMap) -> BoxFuture<'a, Response> {
        Box::pin(async move {
            if let Some(token) = auth::bearer_token(headers) {
                self.tokens.revoke_in_memory(token);
                let token = token.to_owned();
                let forgotten = self.store.blocking(move |s| auth::TokenBook::forget(&s.db(), &token)).await;
                if let Err(e) = forgotten {
                    tracing::warn!(error = %e, "could not delete an expired token");
                }
            }
            ApiError::Unauthorized.into_response()
        })
    }

    fn too_many_requests(&self) -> Response {
        ApiError::Code {
            code: CODE_TOO_MANY_REQUESTS,
            message: MSG_TOO_MANY_REQUESTS.to_owned(),
        }
        .into_response()
    }
}

/// The `/123pan` router: every route behind its fault/stats guard, all but the token route behind auth.
pub(crate) fn router(p: Arc<Pan123>, shared: &GuardShared) -> Router {
    let provider: Arc<dyn ProviderFaults> = p.clone();
    let guarded = |name: &'static str, route: MethodRouter<Arc<Pan123>>| {
        let guard = RouteGuard::new(name, shared, Arc::clone(&provider));
        route.layer(from_fn_with_state(guard, faults::guard))
    };
    let authed = |route: MethodRouter<Arc<Pan123>>| route.layer(from_fn_with_state(Arc::clone(&p), auth::require_auth));
    // Slices and single-step uploads are bigger than axum's 2 MB body cap allows; the handlers enforce the
    // protocol's own limits instead.
    let unbounded = |route: MethodRouter<Arc<Pan123>>| route.layer(DefaultBodyLimit::disable());

    Router::new()
        .route("/api/v1/access_token", guarded(ROUTE_ACCESS_TOKEN, post(routes::token::issue)))
        .route(
            "/upload/v2/file/create",
            guarded(ROUTE_CREATE, authed(post(routes::create::create))),
        )
        .route(
            "/upload/v2/file/slice",
            guarded(ROUTE_SLICE, authed(unbounded(post(routes::slice::slice)))),
        )
        .route(
            "/upload/v2/file/upload_complete",
            guarded(ROUTE_UPLOAD_COMPLETE, authed(post(routes::complete::complete))),
        )
        .route("/upload/v2/file/domain", guarded(ROUTE_DOMAIN, authed(get(routes::create::domain))))
        .route(
            "/upload/v2/file/single/create",
            guarded(ROUTE_SINGLE_CREATE, authed(unbounded(post(routes::single::single_create)))),
        )
        .route("/upload/v1/file/mkdir", guarded(ROUTE_MKDIR, authed(post(routes::folders::mkdir))))
        .route("/api/v2/file/list", guarded(ROUTE_LIST, authed(get(routes::folders::list))))
        .with_state(p)
}

/// Every stored 123pan file, for `GET /_admin/files`. Blocking.
pub(crate) fn admin_files(conn: &Connection) -> Result<Vec<AdminFile>, FakeCloudError> {
    tree::all_files(conn)
}
