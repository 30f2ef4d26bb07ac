//! HalalCloud's v6 open API (the current 6pan, spec `halalcloud.md`), served under `/halalcloud`, and its
//! upload host, served under `/halalcloud-upload`.
//!
//! | method and path | route name | auth |
//! |---|---|---|
//! | `POST /halalcloud/v6/oauth/device_code` | `halalcloud/oauth/device_code` | app key, empty token |
//! | `POST /halalcloud/v6/oauth/get_device_code_state` | `halalcloud/oauth/get_device_code_state` | app key |
//! | `POST /halalcloud/v6/oauth/refresh_token` | `halalcloud/oauth/refresh_token` | app key |
//! | `POST /halalcloud/v6/user/get` | `halalcloud/user/get` | signed |
//! | `POST /halalcloud/v6/user/get_statistics_and_quota` | `halalcloud/user/get_statistics_and_quota` | signed |
//! | `POST /halalcloud/v6/userfile/get` | `halalcloud/userfile/get` | signed |
//! | `POST /halalcloud/v6/userfile/list` | `halalcloud/userfile/list` | signed |
//! | `POST /halalcloud/v6/userfile/create` | `halalcloud/userfile/create` | signed |
//! | `POST /halalcloud/v6/userfile/trash` (`{source: [ref]}`; a folder goes with what it holds) | `halalcloud/userfile/trash` | signed |
//! | `POST /halalcloud/v6/userfile/create_upload_task` | `halalcloud/userfile/create_upload_task` | signed |
//! | `POST /halalcloud/v6/offline_task/parse` | `halalcloud/offline_task/parse` | signed |
//! | `POST /halalcloud/v6/offline_task/add` | `halalcloud/offline_task/add` | signed |
//! | `POST /halalcloud/v6/offline_task/list` | `halalcloud/offline_task/list` | signed |
//! | `GET`/`POST /halalcloud/device` (the `verification_uri`: a form approving a user code) | `halalcloud/device` | none |
//! | `GET /halalcloud-upload/{task}/{cid}` (probe) | `halalcloud/upload/probe` | none |
//! | `POST /halalcloud-upload/{task}/{cid}` (one block) | `halalcloud/upload/block` | none |
//! | `POST /halalcloud-upload/{task}` (finish) | `halalcloud/upload/finish` | none |
//!
//! Signing and the credentials: see `auth` and `signer`; the JSON dialect: `proto`; errors: `status`; the
//! drive: `tree`; OAuth: `oauth` and `tokens`; uploads: `upload` (the task) and `host` (the upload host);
//! offline tasks: `offline`. One demo user. Other `/halalcloud/…` paths answer HTTP 404, code 5.
//!
//! Decisions where the spec is silent or only inferred (\[I\]); each picks the stricter side, so that a
//! client relying on an unconfirmed assumption fails a test:
//! * **int64 as strings only.** int64 request fields must be JSON strings; a number is HTTP 400 code 3
//!   (the real service probably accepts both). (No int32 or bool request field is read.) Field names
//!   are snake_case only (lowerCamelCase keys are unknown fields, ignored). Unknown fields are ignored.
//! * **Zero fields are omitted** in every answer (protojson default: no `created` when false, no `size`
//!   for an empty file or a folder, `list_info: {}` on the last page).
//! * **Errors** are the grpc-gateway body `{"code","message","details":[]}` with the HTTP status of §2;
//!   the upload host uses the same shape.
//! * **Signatures** (see `auth`): timestamps within ±15 min ([`crate::HalalCloudConfig::clock_skew`]); a nonce
//!   is single-use within twice that window (replay → 401); the scope date must be the timestamp's date;
//!   `SignedHeaders` must be sorted lower-case names including `host`, `x-hl-nonce`, `x-hl-timestamp` and,
//!   with a body, `content-type` (`other-header` is allowed, not required); the path signed is the full
//!   path as sent, `/halalcloud/v6/…`; a body must be `Content-Type: application/json`.
//! * **Two keys.** The personal key ([`crate::HalalCloudConfig::client_id`]) signs API calls with the empty
//!   token and may not use `/v6/oauth/*`; the app key ([`crate::HalalCloudConfig::app_client_id`]) runs the
//!   device-code flow and must sign API calls with a live access token. The `client_id` in an OAuth body
//!   must be the signing client_id.
//! * **Device flow.** `get_device_code_state` answers `status: "AUTHORIZATION_PENDING"` until approved,
//!   then `AUTHORIZATION_SUCCESS` with the tokens *once* (the device code is then used up: 404); polling
//!   sooner than `interval` after the previous poll (or the issue) is HTTP 429 code 8; an unknown or expired
//!   code is HTTP 404. Refreshing revokes the old refresh *and* access token.
//! * **References.** `{path}` or `{identity}`; both set is 400; paths must be canonical (see `tree`).
//!   `userfile/get` of a missing entry is 404. `list` needs `parent`; `list_info.limit` is 1..=100 (absent
//!   means 100, more is 400); the continuation token is opaque and bound to its folder.
//! * **Create** makes one level: a missing parent is 404, a parent that is a file 400 (code 9), an existing
//!   name (file or folder) 409. `{path, content_identity}` creates a file of known content (unknown
//!   content: 404).
//! * **create_upload_task** (`{path, size}`): `size` is required (an int64 string, "0" for an empty file —
//!   protojson omits it, so absent means 0); a missing parent is 404; an entry already at `path` is 409
//!   (the real duplicate policy is unknown, §9 U1) — except that when the request also names a
//!   `content_identity` and the file at `path` has exactly that content, the answer is `created: true` and
//!   nothing else (this is the only case; PanDrop never sends it, so it never sees `created`). A size
//!   beyond the free quota is 429 code 8. The answer always carries `task`, `upload_address`,
//!   `block_size` (string), `block_hash_type` 18 and `block_codec` 85.
//! * **Upload host** (see `host`): no auth. Probes need `Accept: application/json`; blocks need
//!   `Content-Type: application/octet-stream`, 1..=`block_size` bytes and the right CID; the finish needs
//!   every CID stored, every block but the last exactly `block_size`, and sizes adding up. Dedup scope: a
//!   probe answers `true` for a block stored by any task of the cloud (content-addressed). A task expires
//!   after [`crate::HalalCloudConfig::upload_task_lifetime`] (then 404 `upload task … not found`); a
//!   finished task answers a repeated identical finish with the same file, and 404 to anything else.
//! * **Offline** (see `offline`): `parse` knows magnet links and http(s) URLs only; `add` needs an existing
//!   `save_path` folder (404). Tasks are recorded, never downloaded.
//! * A request refused by a rate limit gets HTTP 429 code 8 `too many requests`. Fault `code` actions take
//!   a gRPC code 1..=16 and answer it with its HTTP status; `pending` is HTTP 503 code 14.

mod auth;
mod cid;
mod files;
mod host;
mod oauth;
mod offline;
mod proto;
mod signer;
mod status;
mod tokens;
mod tree;
mod upload;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use futures::future::BoxFuture;
use rusqlite::Connection;
use serde_json::Value;

use crate::config::HalalCloudConfig;
use crate::error::FakeCloudError;
use crate::faults::{self, FaultCode, GuardShared, ProviderFaults, RouteGuard};
use crate::listing::AdminFile;
use crate::stats::Stats;
use crate::store::Store;
use auth::{RouteKind, SignedRoute};
use status::{Code, error_body};

/// Route names used by the stats, the fault plans and the rate limits.
pub const ROUTES: &[&str] = &[
    ROUTE_OAUTH_DEVICE_CODE,
    ROUTE_OAUTH_DEVICE_CODE_STATE,
    ROUTE_OAUTH_REFRESH_TOKEN,
    ROUTE_USER_GET,
    ROUTE_USER_QUOTA,
    ROUTE_FILE_GET,
    ROUTE_FILE_LIST,
    ROUTE_FILE_CREATE,
    ROUTE_FILE_TRASH,
    ROUTE_CREATE_UPLOAD_TASK,
    ROUTE_OFFLINE_PARSE,
    ROUTE_OFFLINE_ADD,
    ROUTE_OFFLINE_LIST,
    ROUTE_DEVICE_PAGE,
    ROUTE_UPLOAD_PROBE,
    ROUTE_UPLOAD_BLOCK,
    ROUTE_UPLOAD_FINISH,
];
/// `POST /halalcloud/v6/oauth/device_code`.
pub const ROUTE_OAUTH_DEVICE_CODE: &str = "halalcloud/oauth/device_code";
/// `POST /halalcloud/v6/oauth/get_device_code_state`.
pub const ROUTE_OAUTH_DEVICE_CODE_STATE: &str = "halalcloud/oauth/get_device_code_state";
/// `POST /halalcloud/v6/oauth/refresh_token`.
pub const ROUTE_OAUTH_REFRESH_TOKEN: &str = "halalcloud/oauth/refresh_token";
/// `POST /halalcloud/v6/user/get`.
pub const ROUTE_USER_GET: &str = "halalcloud/user/get";
/// `POST /halalcloud/v6/user/get_statistics_and_quota`.
pub const ROUTE_USER_QUOTA: &str = "halalcloud/user/get_statistics_and_quota";
/// `POST /halalcloud/v6/userfile/get`.
pub const ROUTE_FILE_GET: &str = "halalcloud/userfile/get";
/// `POST /halalcloud/v6/userfile/list`.
pub const ROUTE_FILE_LIST: &str = "halalcloud/userfile/list";
/// `POST /halalcloud/v6/userfile/create`.
pub const ROUTE_FILE_CREATE: &str = "halalcloud/userfile/create";
/// `POST /v6/userfile/trash`.
pub const ROUTE_FILE_TRASH: &str = "halalcloud/userfile/trash";
/// `POST /halalcloud/v6/userfile/create_upload_task`.
pub const ROUTE_CREATE_UPLOAD_TASK: &str = "halalcloud/userfile/create_upload_task";
/// `POST /halalcloud/v6/offline_task/parse`.
pub const ROUTE_OFFLINE_PARSE: &str = "halalcloud/offline_task/parse";
/// `POST /halalcloud/v6/offline_task/add`.
pub const ROUTE_OFFLINE_ADD: &str = "halalcloud/offline_task/add";
/// `POST /halalcloud/v6/offline_task/list`.
pub const ROUTE_OFFLINE_LIST: &str = "halalcloud/offline_task/list";
/// `GET`/`POST /halalcloud/device`, the human approval page.
pub const ROUTE_DEVICE_PAGE: &str = "halalcloud/device";
/// `GET /halalcloud-upload/{task}/{cid}`.
pub const ROUTE_UPLOAD_PROBE: &str = "halalcloud/upload/probe";
/// `POST /halalcloud-upload/{task}/{cid}`.
pub const ROUTE_UPLOAD_BLOCK: &str = "halalcloud/upload/block";
/// `POST /halalcloud-upload/{task}`.
pub const ROUTE_UPLOAD_FINISH: &str = "halalcloud/upload/finish";

/// Shared state of the HalalCloud routes.
pub(crate) struct Halal {
    store: Arc<Store>,
    config: HalalCloudConfig,
    stats: Arc<Stats>,
    nonces: auth::Nonces,
    /// `http://HOST:PORT`.
    base_url: String,
    /// `<data_dir>/halal-blocks`: uploaded blocks, one file per CID.
    blocks_dir: PathBuf,
}

impl Halal {
    /// Creates the HalalCloud tables and the block folder.
    pub(crate) async fn open(
        store: Arc<Store>,
        config: HalalCloudConfig,
        base_url: String,
        stats: Arc<Stats>,
    ) -> Result<Arc<Self>, FakeCloudError> {
        if config.block_size == 0 {
            return Err(FakeCloudError::InvalidConfig("halalcloud.block_size must not be 0".to_owned()));
        }
        if config.client_id.is_empty() || config.app_client_id.is_empty() || config.client_id == config.app_client_id {
            return Err(FakeCloudError::InvalidConfig(
                "halalcloud.client_id and app_client_id must be set and differ".to_owned(),
            ));
        }
        let blocks_dir = store
            .blocking(|store| {
                let conn = store.db();
                for schema in [tree::SCHEMA, tokens::SCHEMA, upload::SCHEMA, offline::SCHEMA] {
                    conn.execute_batch(schema)?;
                }
                store.subdir("halal-blocks")
            })
            .await?;
        Ok(Arc::new(Self {
            store,
            config,
            stats,
            nonces: auth::Nonces::default(),
            base_url,
            blocks_dir,
        }))
    }

    fn upload_address(&self) -> String {
        format!("{}/halalcloud-upload", self.base_url)
    }

    fn verification_uri(&self) -> String {
        format!("{}/halalcloud/device", self.base_url)
    }
}

impl ProviderFaults for Halal {
    fn code_error(&self, code: &FaultCode, message: &str) -> Response {
        let code = code.as_number().and_then(Code::from_number).unwrap_or(Code::Internal);
        error_body(code, if message.is_empty() { "injected error" } else { message })
    }

    fn pending(&self) -> Response {
        error_body(Code::Unavailable, "the service is busy, try again later")
    }

    fn expire_token<'a>(&'a self, headers: &'a HeaderMap) -> BoxFuture<'a, Response> {
        Box::pin(async move {
            if let Some(token) = auth::scope_token(headers) {
                let revoked = self.store.blocking(move |s| tokens::revoke(&s.db(), &token)).await;
                if let Err(e) = revoked {
                    tracing::warn!(error = %e, "could not revoke a HalalCloud access token");
                }
            }
            error_body(Code::Unauthenticated, "the access token has expired")
        })
    }

    fn too_many_requests(&self) -> Response {
        error_body(Code::ResourceExhausted, "too many requests")
    }
}

async fn not_found() -> Response {
    error_body(Code::NotFound, "Not Found")
}

fn guarded<S: Clone + Send + Sync + 'static>(
    name: &'static str,
    shared: &GuardShared,
    provider: &Arc<dyn ProviderFaults>,
    route: MethodRouter<S>,
) -> MethodRouter<S> {
    route.layer(from_fn_with_state(
        RouteGuard::new(name, shared, Arc::clone(provider)),
        faults::guard,
    ))
}

/// The `/halalcloud` router (the API and the device page).
pub(crate) fn router(h: Arc<Halal>, shared: &GuardShared) -> Router {
    let provider: Arc<dyn ProviderFaults> = h.clone();
    let signed = |name: &'static str, kind: RouteKind, route: MethodRouter<Arc<Halal>>| {
        let state = SignedRoute { h: Arc::clone(&h), kind };
        guarded(
            name,
            shared,
            &provider,
            route.layer(from_fn_with_state(state, auth::require_signed)),
        )
    };
    let api = |name, route| signed(name, RouteKind::Api, route);
    Router::new()
        .route(
            "/v6/oauth/device_code",
            signed(ROUTE_OAUTH_DEVICE_CODE, RouteKind::OAuth, post(oauth::device_code)),
        )
        .route(
            "/v6/oauth/get_device_code_state",
            signed(ROUTE_OAUTH_DEVICE_CODE_STATE, RouteKind::OAuth, post(oauth::device_code_state)),
        )
        .route(
            "/v6/oauth/refresh_token",
            signed(ROUTE_OAUTH_REFRESH_TOKEN, RouteKind::OAuth, post(oauth::refresh_token)),
        )
        .route("/v6/user/get", api(ROUTE_USER_GET, post(files::user_get)))
        .route("/v6/user/get_statistics_and_quota", api(ROUTE_USER_QUOTA, post(files::user_quota)))
        .route("/v6/userfile/get", api(ROUTE_FILE_GET, post(files::get)))
        .route("/v6/userfile/list", api(ROUTE_FILE_LIST, post(files::list)))
        .route("/v6/userfile/create", api(ROUTE_FILE_CREATE, post(files::create)))
        .route("/v6/userfile/trash", api(ROUTE_FILE_TRASH, post(files::trash)))
        .route(
            "/v6/userfile/create_upload_task",
            api(ROUTE_CREATE_UPLOAD_TASK, post(upload::create_upload_task)),
        )
        .route("/v6/offline_task/parse", api(ROUTE_OFFLINE_PARSE, post(offline::parse)))
        .route("/v6/offline_task/add", api(ROUTE_OFFLINE_ADD, post(offline::add)))
        .route("/v6/offline_task/list", api(ROUTE_OFFLINE_LIST, post(offline::list)))
        .route(
            "/device",
            guarded(
                ROUTE_DEVICE_PAGE,
                shared,
                &provider,
                get(oauth::device_page).post(oauth::device_form),
            ),
        )
        .fallback(not_found)
        .with_state(h)
}

/// The `/halalcloud-upload` router (the upload host).
pub(crate) fn upload_router(h: Arc<Halal>, shared: &GuardShared) -> Router {
    let provider: Arc<dyn ProviderFaults> = h.clone();
    Router::new()
        .route(
            "/{task}/{cid}",
            guarded(ROUTE_UPLOAD_PROBE, shared, &provider, get(host::probe)).merge(guarded(
                ROUTE_UPLOAD_BLOCK,
                shared,
                &provider,
                // Blocks are read with their own limit (block_size), answered in the gateway shape.
                post(host::block).layer(DefaultBodyLimit::disable()),
            )),
        )
        .route("/{task}", guarded(ROUTE_UPLOAD_FINISH, shared, &provider, post(host::finish)))
        .fallback(not_found)
        .with_state(h)
}

/// Every HalalCloud file, for `GET /_admin/files`. Blocking.
pub(crate) fn admin_files(conn: &Connection) -> Result<Vec<AdminFile>, FakeCloudError> {
    tree::all_files(conn)
}

/// Every recorded offline task, for `GET /_admin/offline`. Blocking.
pub(crate) fn admin_offline(conn: &Connection) -> Result<Vec<Value>, FakeCloudError> {
    offline::admin_tasks(conn)
}

/// Approves the device code with this user code, for `POST /_admin/halalcloud/approve`; `false` when no
/// live code has it. Blocking.
pub(crate) fn admin_approve(conn: &Connection, user_code: &str) -> Result<bool, FakeCloudError> {
    tokens::approve(conn, user_code)
}
