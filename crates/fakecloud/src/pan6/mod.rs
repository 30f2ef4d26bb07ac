//! The 6pan API (v1 and v2), served under `/6pan`. Uploads go to the WCS host under `/wcs` (see
//! [`crate::wcs`]), which calls back into the routes here.
//!
//! | method and path (after `/6pan`) | route name | auth |
//! |---|---|---|
//! | `POST /v1/user/login` | `6pan/v1/login` | none |
//! | `POST /v1/store/token` | `6pan/v1/store_token` | v1 |
//! | `POST /v1/files/createDirectory`, `POST /v1/files/page` | `6pan/v1/files` | v1 |
//! | `POST /v1/offline/{parseTorrent,start,page}` | `6pan/offline` | v1 |
//! | `POST /v1/store/callback/wcs` | `6pan/callback` | WCS callback signature |
//! | `POST /v2/user/login` | `6pan/v2/login` | none |
//! | `POST /v2/upload/token` | `6pan/v2/upload_token` | v2 |
//! | `POST /v2/files/createDirectory`, `POST /v2/files/page` | `6pan/v2/files` | v2 |
//! | `POST /v2/offline/{parseTorrent,add,page}` | `6pan/offline` | v2 |
//! | `POST /v2/upload/wcsCallback` | `6pan/callback` | WCS callback signature |
//!
//! One demo account (`Pan6Config::login_value` / `password`), user id 1. Envelopes: see `envelope`;
//! tokens and their rotation: see `auth`; v1 naming rules: see `naming`; upload policies: see `upload`;
//! callbacks: see `callback`; offline download: see `offline`. Unknown paths answer HTTP 404 with code
//! `RESOURCE_NOT_FOUND`.
//!
//! Decisions where the documents are silent or open:
//! * v1 `override`/`rewrite` (1/true/yes) replaces a file of the same name; without it a clash is
//!   `FILE_AREADY_EXISTS` (sic). v2: `override: true` or `op: 2`, else `FILE_ALREADY_EXISTS`. A folder of that
//!   name always clashes. The same rule is applied again when the callback creates the file.
//! * `createDirectory` answers an existing folder as is (`mkdir -p`).
//! * A hash hit is detected by the etag alone (no size is sent); the content must be stored by WCS.
//! * File objects carry `ext` as the dotted lower-case extension (seed 002 shows `""`; do not rely on it).
//! * A request refused by a rate limit (none by default, see [`crate::throttle`]) gets HTTP 429 with the
//!   error envelope of its API version, `status` 429 and code `TOO_MANY_REQUESTS`.

mod auth;
mod callback;
mod envelope;
mod input;
mod listing;
mod login;
mod naming;
mod offline;
mod torrent;
mod tree;
mod upload;
mod v1;
mod v2;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use futures::future::BoxFuture;
use rusqlite::Connection;
use serde_json::Value;

use crate::config::Pan6Config;
use crate::error::FakeCloudError;
use crate::faults::{self, FaultCode, GuardShared, ProviderFaults, RouteGuard};
use crate::listing::AdminFile;
use crate::stats::Stats;
use crate::store::Store;
use crate::wcs::token::Keys;
use envelope::{Api, Pan6Error, error_body, failure};

/// Route names used by the stats and the fault plans.
pub const ROUTES: &[&str] = &[
    ROUTE_V1_LOGIN,
    ROUTE_V2_LOGIN,
    ROUTE_V1_STORE_TOKEN,
    ROUTE_V2_UPLOAD_TOKEN,
    ROUTE_V1_FILES,
    ROUTE_V2_FILES,
    ROUTE_CALLBACK,
    ROUTE_OFFLINE,
];
/// `POST /6pan/v1/user/login`.
pub const ROUTE_V1_LOGIN: &str = "6pan/v1/login";
/// `POST /6pan/v2/user/login`.
pub const ROUTE_V2_LOGIN: &str = "6pan/v2/login";
/// `POST /6pan/v1/store/token`.
pub const ROUTE_V1_STORE_TOKEN: &str = "6pan/v1/store_token";
/// `POST /6pan/v2/upload/token`.
pub const ROUTE_V2_UPLOAD_TOKEN: &str = "6pan/v2/upload_token";
/// `POST /6pan/v1/files/{createDirectory,page}`.
pub const ROUTE_V1_FILES: &str = "6pan/v1/files";
/// `POST /6pan/v2/files/{createDirectory,page}`.
pub const ROUTE_V2_FILES: &str = "6pan/v2/files";
/// The upload callbacks of both versions.
pub const ROUTE_CALLBACK: &str = "6pan/callback";
/// Every offline-download route of both versions.
pub const ROUTE_OFFLINE: &str = "6pan/offline";

/// Shared state of the 6pan routes.
pub(crate) struct Pan6 {
    store: Arc<Store>,
    config: Pan6Config,
    sessions: auth::Sessions,
    keys: Keys,
    /// `http://HOST:PORT`.
    base_url: String,
}

impl Pan6 {
    /// Creates the 6pan tables and loads the token key.
    pub(crate) async fn open(
        store: Arc<Store>,
        config: Pan6Config,
        base_url: String,
        stats: Arc<Stats>,
    ) -> Result<Arc<Self>, FakeCloudError> {
        if config.login_value.is_empty() {
            return Err(FakeCloudError::InvalidConfig("pan6.login_value must not be empty".to_owned()));
        }
        let lifetime = config.session_token_lifetime;
        let sessions = store
            .blocking(move |store| {
                let conn = store.db();
                for schema in [tree::SCHEMA, auth::SCHEMA, callback::SCHEMA, offline::SCHEMA] {
                    conn.execute_batch(schema)?;
                }
                auth::Sessions::load(&conn, lifetime, stats)
            })
            .await?;
        let keys = Keys {
            access_key: config.access_key.clone(),
            secret_key: config.secret_key.clone(),
        };
        Ok(Arc::new(Self {
            store,
            config,
            sessions,
            keys,
            base_url,
        }))
    }
}

/// The fault answers of one API generation.
struct Pan6Faults {
    p: Arc<Pan6>,
    api: Api,
}

impl ProviderFaults for Pan6Faults {
    fn code_error(&self, code: &FaultCode, message: &str) -> Response {
        let code = code.as_text();
        let message = if message.is_empty() { "injected error" } else { message };
        failure(Pan6Error::business(code, message))
    }

    fn pending(&self) -> Response {
        failure(Pan6Error::business("SERVER_BUSY", "the server is busy, try again later"))
    }

    fn expire_token<'a>(&'a self, headers: &'a HeaderMap) -> BoxFuture<'a, Response> {
        Box::pin(async move {
            let token = match self.api {
                Api::V1 => auth::v1_token(headers).ok(),
                Api::V2 => auth::v2_token(headers).ok(),
            };
            if let Some(token) = token.map(str::to_owned) {
                let p = Arc::clone(&self.p);
                let revoked = self.p.store.blocking(move |s| p.sessions.revoke(&s.db(), &token)).await;
                if let Err(e) = revoked {
                    tracing::warn!(error = %e, "could not revoke a session token");
                }
            }
            failure(Pan6Error::unauthorized(
                self.api.invalid_token_code(),
                "the session token has expired",
            ))
        })
    }

    fn too_many_requests(&self) -> Response {
        // The 6pan documents name no rate-limit answer: HTTP 429 in the error envelope of both API versions.
        error_body(StatusCode::TOO_MANY_REQUESTS, 429, "TOO_MANY_REQUESTS", "too many requests")
    }
}

async fn not_found() -> Response {
    error_body(StatusCode::NOT_FOUND, 404, "RESOURCE_NOT_FOUND", "resource not found")
}

/// The `/6pan` router.
pub(crate) fn router(p: Arc<Pan6>, shared: &GuardShared) -> Router {
    let providers = [Api::V1, Api::V2].map(|api| -> Arc<dyn ProviderFaults> { Arc::new(Pan6Faults { p: Arc::clone(&p), api }) });
    let guarded = |name: &'static str, api: Api, route: MethodRouter<Arc<Pan6>>| {
        let provider = Arc::clone(&providers[usize::from(api == Api::V2)]);
        let guard = RouteGuard::new(name, shared, provider);
        route.layer(from_fn_with_state(guard, faults::guard))
    };
    let v1 =
        |name, route: MethodRouter<Arc<Pan6>>| guarded(name, Api::V1, route.layer(from_fn_with_state(Arc::clone(&p), auth::require_v1)));
    let v2 =
        |name, route: MethodRouter<Arc<Pan6>>| guarded(name, Api::V2, route.layer(from_fn_with_state(Arc::clone(&p), auth::require_v2)));

    Router::new()
        .route("/v1/user/login", guarded(ROUTE_V1_LOGIN, Api::V1, post(login::v1)))
        .route("/v1/store/token", v1(ROUTE_V1_STORE_TOKEN, post(v1::store_token)))
        .route("/v1/store/callback/wcs", guarded(ROUTE_CALLBACK, Api::V1, post(callback::v1)))
        .route("/v1/files/createDirectory", v1(ROUTE_V1_FILES, post(v1::create_directory_route)))
        .route("/v1/files/page", v1(ROUTE_V1_FILES, post(v1::page)))
        .route("/v1/offline/parseTorrent", v1(ROUTE_OFFLINE, post(offline::v1_parse_torrent)))
        .route("/v1/offline/start", v1(ROUTE_OFFLINE, post(offline::v1_start_task)))
        .route("/v1/offline/page", v1(ROUTE_OFFLINE, post(offline::v1_page)))
        .route("/v2/user/login", guarded(ROUTE_V2_LOGIN, Api::V2, post(login::v2)))
        .route("/v2/upload/token", v2(ROUTE_V2_UPLOAD_TOKEN, post(v2::upload_token)))
        .route("/v2/upload/wcsCallback", guarded(ROUTE_CALLBACK, Api::V2, post(callback::v2)))
        .route("/v2/files/createDirectory", v2(ROUTE_V2_FILES, post(v2::create_directory_route)))
        .route("/v2/files/page", v2(ROUTE_V2_FILES, post(v2::page)))
        .route("/v2/offline/parseTorrent", v2(ROUTE_OFFLINE, post(offline::v2_parse_torrent)))
        .route("/v2/offline/add", v2(ROUTE_OFFLINE, post(offline::v2_add_tasks)))
        .route("/v2/offline/page", v2(ROUTE_OFFLINE, post(offline::v2_page)))
        .fallback(not_found)
        .with_state(p)
}

/// Every 6pan file, for `GET /_admin/files`. Blocking.
pub(crate) fn admin_files(conn: &Connection) -> Result<Vec<AdminFile>, FakeCloudError> {
    tree::all_files(conn)
}

/// Every recorded offline task, for `GET /_admin/offline`. Blocking.
pub(crate) fn admin_offline(conn: &Connection) -> Result<Vec<Value>, FakeCloudError> {
    offline::admin_tasks(conn)
}
