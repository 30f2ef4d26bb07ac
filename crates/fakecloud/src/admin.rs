//! Test-only admin endpoints, under the server root (not under any provider prefix).
//!
//! | request | answer |
//! |---|---|
//! | `GET /_admin/files` | JSON array of every stored file of every provider: `{"provider":"123pan","path":"/dir/name.ext","size":N,"md5":"<hex>","etag":null}` (`etag` is the Qiniu/WCS etag of clouds that use one: `null` for 123pan and HalalCloud, set for 6pan), in the order 123pan, 6pan, `halalcloud`, each sorted by path; 6pan's torrent folder shows as `/:torrent/<name>` |
//! | `GET /_admin/offline` | JSON array of every recorded 6pan offline-download task: `{"provider":"6pan","api":"v1"\|"v2","id","name","save_path","files":[{"path","size","index"}],"torrent_etag","info_hash"}`, then every HalalCloud offline task: `{"provider":"halalcloud","id","name","save_path","url","info_hash"}` (`info_hash` lower-case hex for a magnet, `""` for http) |
//! | `POST /_admin/halalcloud/approve` | body `{"user_code":"XXXX-XXXX"}`: approves that HalalCloud device code, as the user would on the website (case and the dash do not matter); answers `{"ok":true}`, or HTTP 404 `{"ok":false,…}` when no live, unused code has it |
//! | `GET /_admin/stats` | `{"routes":{"123pan/slice":{"requests":N,"bytes":B},…},"throttled":{"123pan/create":N,…},"slices":{"<preuploadID>":{"1":N,…}},"wcs_blocks":{"<UploadBatch>":{"0":{"mkblk":N,"bput":M},…}},"123pan":{"retired_token_uses":N},"6pan":{"superseded_token_uses":N},"halalcloud":{"blocks_probed":N,"probe_hits":N,"blocks_received":N,"block_bytes":B,"tasks":{"<task>":{"probes":N,"probe_hits":N,"blocks":N,"bytes":B}}}}`: requests per route (every request, counted before rate limits and faults apply, so refused ones too), how many of them a rate limit refused (only routes with refusals appear), file-part bytes received (upload routes), per 123pan upload how many slice requests named each `sliceNo`, per WCS upload batch how many mkblk/bput requests named each block, how often a 123pan token retired by the 3-token cap was used, how often a superseded 6pan session token was used, and HalalCloud upload-host probes and blocks, in total and per upload task |
//! | `POST /_admin/stats/reset` | zeroes the stats; answers `{"ok":true}` |
//! | `GET /_admin/faults` | the fault rules still pending |
//! | `POST /_admin/faults` | appends rules (see [`crate::faults`]); answers `{"ok":true,"pending":N}`, or HTTP 400 `{"ok":false,"error":…}` |
//! | `DELETE /_admin/faults` | clears every rule; answers `{"ok":true}` |
//! | `GET /_admin/rate-limits` | the per-route rate limits in force, `{"123pan/create":2,…}` |
//! | `PUT /_admin/rate-limits` | replaces every limit with the body `{"ROUTE":N,…}` (route names as in [`crate::faults`], N ≥ 1 requests per sliding second, see [`crate::throttle`]); `{}` lifts them all; answers `{"ok":true,"rate_limits":{…}}`, or HTTP 400 `{"ok":false,"error":…}` naming an unknown route or a bad N, and then nothing changes |
//! | `DELETE /_admin/rate-limits` | lifts every limit; answers `{"ok":true}` |

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::FakeCloudError;
use crate::faults::{self, FaultPlan, FaultRule};
use crate::listing::AdminFile;
use crate::rate_limits::RateLimits;
use crate::stats::Stats;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::{halalcloud, pan6, pan123};

/// What the admin endpoints need.
#[derive(Clone)]
pub(crate) struct AdminState {
    /// The data dir.
    pub(crate) store: Arc<Store>,
    /// Request counters.
    pub(crate) stats: Arc<Stats>,
    /// Fault plan.
    pub(crate) faults: Arc<FaultPlan>,
    /// Rate limits in force.
    pub(crate) throttle: Arc<Throttle>,
}

/// The `/_admin` routes.
pub(crate) fn router(state: AdminState) -> Router {
    Router::new()
        .route("/_admin/files", get(files))
        .route("/_admin/offline", get(offline))
        .route("/_admin/halalcloud/approve", post(halalcloud_approve))
        .route("/_admin/stats", get(stats))
        .route("/_admin/stats/reset", post(reset_stats))
        .route("/_admin/faults", get(list_faults).post(add_faults).delete(clear_faults))
        .route(
            "/_admin/rate-limits",
            put(set_rate_limits).get(list_rate_limits).delete(clear_rate_limits),
        )
        .with_state(state)
}

async fn files(State(state): State<AdminState>) -> Response {
    let listed = state
        .store
        .blocking(|store| -> Result<Vec<AdminFile>, FakeCloudError> {
            let conn = store.db();
            let mut files = pan123::admin_files(&conn)?;
            files.extend(pan6::admin_files(&conn)?);
            files.extend(halalcloud::admin_files(&conn)?);
            Ok(files)
        })
        .await;
    listing(listed)
}

async fn offline(State(state): State<AdminState>) -> Response {
    let listed = state
        .store
        .blocking(|store| -> Result<Vec<Value>, FakeCloudError> {
            let conn = store.db();
            let mut tasks = pan6::admin_offline(&conn)?;
            tasks.extend(halalcloud::admin_offline(&conn)?);
            Ok(tasks)
        })
        .await;
    listing(listed)
}

/// Stands in for the user typing the device's code on the HalalCloud website.
async fn halalcloud_approve(State(state): State<AdminState>, body: Bytes) -> Response {
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("user_code").and_then(Value::as_str).map(str::to_owned));
    let Some(code) = code else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error": "expected {\"user_code\": \"…\"}"})),
        )
            .into_response();
    };
    match state
        .store
        .blocking(move |store| halalcloud::admin_approve(&store.db(), &code))
        .await
    {
        Ok(true) => Json(json!({"ok": true})).into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "error": "no live, unused device code has this user code"})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

fn listing<T: Serialize>(listed: Result<Vec<T>, FakeCloudError>) -> Response {
    match listed {
        Ok(items) => Json(items).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "listing for the admin view failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"ok": false, "error": e.to_string()})),
            )
                .into_response()
        }
    }
}

async fn stats(State(state): State<AdminState>) -> Response {
    Json(state.stats.snapshot()).into_response()
}

async fn reset_stats(State(state): State<AdminState>) -> Response {
    state.stats.reset();
    Json(json!({"ok": true})).into_response()
}

async fn list_faults(State(state): State<AdminState>) -> Response {
    Json(state.faults.pending()).into_response()
}

async fn add_faults(State(state): State<AdminState>, body: Bytes) -> Response {
    let rejected = |msg: String| (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "error": msg}))).into_response();
    let rules = match parse_plan(&body) {
        Ok(rules) => rules,
        Err(e) => return rejected(e),
    };
    match state.faults.add(rules, &faults::known_routes()) {
        Ok(pending) => Json(json!({"ok": true, "pending": pending})).into_response(),
        Err(e) => rejected(e),
    }
}

async fn clear_faults(State(state): State<AdminState>) -> Response {
    state.faults.clear();
    Json(json!({"ok": true})).into_response()
}

async fn list_rate_limits(State(state): State<AdminState>) -> Response {
    Json(state.throttle.limits()).into_response()
}

async fn set_rate_limits(State(state): State<AdminState>, body: Bytes) -> Response {
    match parse_rate_limits(&body) {
        Ok(limits) => {
            state.throttle.set_limits(limits.clone());
            Json(json!({"ok": true, "rate_limits": limits})).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "error": e}))).into_response(),
    }
}

async fn clear_rate_limits(State(state): State<AdminState>) -> Response {
    state.throttle.set_limits(RateLimits::new());
    Json(json!({"ok": true})).into_response()
}

/// Accepts a JSON object of route name → whole number ≥ 1; every entry is checked before any is used.
fn parse_rate_limits(body: &[u8]) -> Result<RateLimits, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err(r#"expected an object of route name → requests per second, e.g. {"123pan/create": 2}"#.to_owned());
    };
    let mut limits = RateLimits::new();
    for (route, n) in map {
        let n = n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("the limit of route {route:?} must be a whole number of requests per second, not {n}"))?;
        limits.set(&route, n).map_err(|e| e.to_string())?;
    }
    Ok(limits)
}

/// Accepts a bare array of rules, `{"rules": [...]}` or one rule object.
fn parse_plan(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let rules = match value {
        Value::Array(_) => serde_json::from_value(value),
        Value::Object(mut map) if map.contains_key("rules") => serde_json::from_value(map.remove("rules").unwrap_or(Value::Null)),
        Value::Object(_) => serde_json::from_value(value).map(|rule| vec![rule]),
        _ => return Err("expected an array of rules".to_owned()),
    };
    rules.map_err(|e| format!("invalid fault rule: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_shapes() {
        let one = r#"{"route":"*","action":{"kind":"reset"}}"#;
        assert_eq!(parse_plan(one.as_bytes()).unwrap().len(), 1);
        assert_eq!(parse_plan(format!("[{one},{one}]").as_bytes()).unwrap().len(), 2);
        assert_eq!(parse_plan(format!(r#"{{"rules":[{one}]}}"#).as_bytes()).unwrap().len(), 1);
        assert!(parse_plan(b"3").is_err());
        assert!(parse_plan(br#"[{"route":"*"}]"#).is_err());
    }

    #[test]
    fn rate_limit_shapes() {
        let limits = parse_rate_limits(br#"{"123pan/create": 2, "wcs/bput": 7}"#).unwrap();
        assert_eq!(limits.get("123pan/create"), Some(2));
        assert_eq!(limits.get("wcs/bput"), Some(7));
        assert!(parse_rate_limits(b"{}").unwrap().is_empty());
        for bad in [
            r#"{"123pan/nope": 2}"#,
            r#"{"123pan/create": 0}"#,
            r#"{"123pan/create": -1}"#,
            r#"{"123pan/create": 1.5}"#,
            r#"{"123pan/create": "2"}"#,
            r#"{"123pan/create": 4294967296}"#,
            r#"[]"#,
            "nope",
        ] {
            assert!(parse_rate_limits(bad.as_bytes()).is_err(), "{bad}");
        }
        let err = parse_rate_limits(br#"{"123pan/create": 2, "123pan/nope": 2}"#).unwrap_err();
        assert!(err.contains("\"123pan/nope\""), "{err}");
    }
}
