//! Fault injection: make chosen requests fail in chosen, real ways.
//!
//! A *plan* is a list of rules, posted as JSON to `POST /_admin/faults` (a bare array of rules,
//! `{"rules": [...]}`, or a single rule object); posting appends to the rules already in force. `GET /_admin/faults` shows the
//! rules still pending and `DELETE /_admin/faults` clears them all.
//!
//! ```json
//! [{"route": "123pan/slice", "skip": 2, "times": 1, "action": {"kind": "reset"}},
//!  {"route": "*", "action": {"kind": "latency", "ms": 300}}]
//! ```
//!
//! # Route names
//!
//! | name | endpoint |
//! |---|---|
//! | `123pan/access_token` | `POST /123pan/api/v1/access_token` |
//! | `123pan/create` | `POST /123pan/upload/v2/file/create` |
//! | `123pan/slice` | `POST /123pan/upload/v2/file/slice` |
//! | `123pan/upload_complete` | `POST /123pan/upload/v2/file/upload_complete` |
//! | `123pan/domain` | `GET /123pan/upload/v2/file/domain` |
//! | `123pan/single_create` | `POST /123pan/upload/v2/file/single/create` |
//! | `123pan/mkdir` | `POST /123pan/upload/v1/file/mkdir` |
//! | `123pan/list` | `GET /123pan/api/v2/file/list` |
//! | `6pan/v1/login` | `POST /6pan/v1/user/login` |
//! | `6pan/v2/login` | `POST /6pan/v2/user/login` |
//! | `6pan/v1/store_token` | `POST /6pan/v1/store/token` |
//! | `6pan/v2/upload_token` | `POST /6pan/v2/upload/token` |
//! | `6pan/v1/files` | `POST /6pan/v1/files/createDirectory`, `POST /6pan/v1/files/page` |
//! | `6pan/v2/files` | `POST /6pan/v2/files/createDirectory`, `POST /6pan/v2/files/page` |
//! | `6pan/callback` | `POST /6pan/v1/store/callback/wcs`, `POST /6pan/v2/upload/wcsCallback` (called by the WCS host) |
//! | `6pan/offline` | every `POST /6pan/v1/offline/…` and `POST /6pan/v2/offline/…` route |
//! | `wcs/mkblk` | `POST /wcs/mkblk/{blockSize}/{blockOrder}` |
//! | `wcs/bput` | `POST /wcs/bput/{ctx}/{nextChunkOffset}` |
//! | `wcs/mkfile` | `POST /wcs/mkfile/{fileSize}[/…]` |
//! | `wcs/form` | `POST /wcs/file/upload` |
//! | `halalcloud/<service>/<method>` | `POST /halalcloud/v6/<service>/<method>` (see [`crate::halalcloud`] for the list) |
//! | `halalcloud/device` | `GET`/`POST /halalcloud/device` |
//! | `halalcloud/upload/probe`, `halalcloud/upload/block`, `halalcloud/upload/finish` | the HalalCloud upload host |
//! | `*` | any of the above |
//!
//! # How rules are consumed
//!
//! For each request, the *first* rule (in plan order) whose route matches and that has calls left
//! decides: if its `skip` (default 0) is not yet used up, one skip is spent and the request goes through
//! untouched; otherwise one of its `times` (default 1) is spent and its action is applied. A rule whose
//! `times` reach 0 is removed, so later rules for the same route take over: rules form a script per route.
//! Faults are checked before authentication, and every request is counted in the stats first.
//!
//! # Order of the checks in the route guard
//!
//! 1. The request is counted (`requests` in the stats counts every request, refused or not).
//! 2. The route's rate limit, if one is set (see [`crate::throttle`]): a refused request gets the
//!    provider's "too many requests" answer, is counted under `throttled` in the stats and goes no further;
//!    in particular it uses up no fault rule.
//! 3. The fault plan, as above.
//! 4. The route itself (authentication first, then the handler).
//!
//! # Actions (`"action": {"kind": ...}`)
//!
//! | kind | effect |
//! |---|---|
//! | `reset` | the request is not handled; the TCP connection is closed with an RST, no response at all |
//! | `status`, `"status": N` | HTTP status N (200..=599) with a short `text/plain` body; not handled |
//! | `code`, `"code": C`, `"message": M` | the protocol's own error answer, not handled: 123pan → HTTP 200 envelope `{code: C, message: M, data: null}` (C must be a number); 6pan → HTTP 200 v1/v2 error envelope with `code` C as a string (a number is written in decimal); WCS → `{code: C, message: M}` with HTTP status C (C must be a number in 100..=999). These are checked when the rule names one route; a `*` rule whose code a protocol cannot carry falls back to 123pan code 1 with C as message, or WCS 500; HalalCloud → the gateway body `{code: C, message: M, details: []}` with C's HTTP status (C must be a gRPC code 1..=16; a `*` rule with another C answers code 13, HTTP 500) |
//! | `pending` | the protocol's "busy, try again": 123pan → HTTP 200 envelope code 20103 `文件正在校验中,请间隔1秒后再试` (meant for `upload_complete`); 6pan → HTTP 200 error envelope code `SERVER_BUSY`; WCS → HTTP 599 `{code: 599}`; HalalCloud → HTTP 503 code 14; not handled |
//! | `expired_token` | 123pan and 6pan: the session token of the request is really invalidated, then the auth failure is answered (HTTP 401); WCS: HTTP 401 `{code: 401}` as for an expired upload token (upload tokens are stateless, nothing is invalidated); HalalCloud: the access token of the signature scope (if any) is revoked, then HTTP 401 code 16 |
//! | `latency`, `"ms": N` | waits N ms, then handles the request normally |
//! | `cut_body`, `"after": K` | **response side**: the request *is* handled (its effects stay), then the status line, the headers (with the full `Content-Length`) and only the first K body bytes are sent and the connection is closed, so the client sees a truncated body |
//! | `respond`, `"status"`, `"headers"`, `"body"`, `"pad"`, `"chunked"`, `"endless"` | a hand-made answer, not handled: HTTP `status` (default 200, 200..=599, so a 3xx with a `Location` header is a redirect), the `headers` object (name → value, added last, so they override the defaults), and `body`: a JSON string is sent as it is (`text/plain`), any other JSON value as its JSON text (`application/json`), absent or `null` sends no body. `pad: N` appends N spaces (still valid JSON: the reply is big, not malformed); `chunked: true` leaves out `Content-Length`; `endless: true` sends spaces after the body until the client goes away |
//! | `rewrite`, `"merge": {...}` | **response side**: the request *is* handled, then `merge` is applied to its JSON answer as a JSON merge patch (RFC 7396: objects merge key by key, `null` removes a key, any other value replaces), keeping the status and headers; an answer that is not JSON is sent unchanged. E.g. `{"merge": {"data": {"servers": ["file:///etc/passwd"]}}}` on `123pan/create` |

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::connection::ConnectionKill;
use crate::stats::Stats;
use crate::throttle::Throttle;
use crate::{halalcloud, pan6, pan123, wcs};

/// Wildcard route name matching every route.
pub const ANY_ROUTE: &str = "*";

/// Every route name of every provider (without the wildcard).
pub(crate) fn known_routes() -> Vec<&'static str> {
    [pan123::ROUTES, pan6::ROUTES, wcs::ROUTES, halalcloud::ROUTES].concat()
}

/// One rule of a fault plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Route name (see the module docs) or `"*"`.
    pub route: String,
    /// How many matching calls get the action (after the skipped ones).
    #[serde(default = "default_times")]
    pub times: u32,
    /// How many matching calls to let through before acting.
    #[serde(default)]
    pub skip: u32,
    /// What to do.
    pub action: FaultAction,
}

fn default_times() -> u32 {
    1
}

/// What a fault rule does to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Close the connection with a TCP reset, without any response.
    Reset,
    /// Answer this HTTP status with a small text body.
    Status {
        /// HTTP status code, 200..=599.
        status: u16,
    },
    /// Answer the protocol's error shape with this code.
    Code {
        /// Envelope `code` (or WCS status).
        code: FaultCode,
        /// Envelope `message`.
        #[serde(default)]
        message: String,
    },
    /// Answer the provider's "still verifying, poll again" code.
    Pending,
    /// Invalidate the request's token and answer the auth failure.
    ExpiredToken,
    /// Delay the request, then handle it normally.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Handle the request, then send only part of the response body and close the connection.
    CutBody {
        /// Body bytes sent before closing.
        after: usize,
    },
    /// Answer a hand-made response without handling the request.
    Respond {
        /// HTTP status, 200..=599.
        #[serde(default = "default_status")]
        status: u16,
        /// Extra headers, name → value; they replace the defaults of the same name.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// A string is sent verbatim; any other JSON value as JSON text; `None` sends no body.
        #[serde(default)]
        body: Option<serde_json::Value>,
        /// Spaces appended after the body.
        #[serde(default)]
        pad: u64,
        /// Send the body without `Content-Length` (chunked).
        #[serde(default)]
        chunked: bool,
        /// Keep sending spaces after the body until the client hangs up (implies `chunked`).
        #[serde(default)]
        endless: bool,
    },
    /// Handle the request, then apply a JSON merge patch (RFC 7396) to its JSON answer.
    Rewrite {
        /// The patch.
        merge: serde_json::Value,
    },
}

fn default_status() -> u16 {
    200
}

/// The `code` of a [`FaultAction::Code`]: 123pan and WCS use numbers, 6pan strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FaultCode {
    /// A numeric code.
    Number(i64),
    /// A string code.
    Text(String),
}

impl FaultCode {
    /// The numeric value, when there is one (a string of digits counts).
    pub fn as_number(&self) -> Option<i64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(t) => t.trim().parse().ok(),
        }
    }

    /// The code as text (numbers in decimal).
    pub fn as_text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// The rules currently in force.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultPlan {
    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks `rules` against the known route names; on success appends them to the plan.
    pub(crate) fn add(&self, rules: Vec<FaultRule>, known_routes: &[&str]) -> Result<usize, String> {
        for rule in &rules {
            if rule.route != ANY_ROUTE && !known_routes.contains(&rule.route.as_str()) {
                return Err(format!("unknown route {:?}; known: {known_routes:?} or \"*\"", rule.route));
            }
            if let FaultAction::Status { status } = rule.action
                && !(200..=599).contains(&status)
            {
                return Err(format!("status {status} is outside 200..=599"));
            }
            if let FaultAction::Code { code, .. } = &rule.action {
                check_code(&rule.route, code)?;
            }
            if let FaultAction::Respond { status, headers, .. } = &rule.action {
                if !(200..=599).contains(status) {
                    return Err(format!("status {status} is outside 200..=599"));
                }
                for (name, value) in headers {
                    HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header name {name:?}: {e}"))?;
                    HeaderValue::from_str(value).map_err(|e| format!("header {name:?} value {value:?}: {e}"))?;
                }
            }
        }
        let mut current = self.rules();
        current.extend(rules.into_iter().filter(|r| r.times > 0));
        Ok(current.len())
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        self.rules().clear();
    }

    /// The rules still pending, with their remaining `skip` and `times`.
    pub(crate) fn pending(&self) -> Vec<FaultRule> {
        self.rules().clone()
    }

    /// Decides the fate of one call to `route` (see the module docs).
    pub(crate) fn next_action(&self, route: &str) -> Option<FaultAction> {
        let mut rules = self.rules();
        let idx = rules
            .iter()
            .position(|r| r.times > 0 && (r.route == ANY_ROUTE || r.route == route))?;
        let rule = &mut rules[idx];
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        rule.times -= 1;
        let action = rule.action.clone();
        if rule.times == 0 {
            rules.remove(idx);
        }
        Some(action)
    }
}

/// Refuses a `code` action that the protocol of `route` cannot express.
fn check_code(route: &str, code: &FaultCode) -> Result<(), String> {
    let numeric = route.starts_with("123pan/") || route.starts_with("wcs/");
    if numeric && code.as_number().is_none() {
        return Err(format!("route {route} needs a numeric code, not {code:?}"));
    }
    if route.starts_with("wcs/") && !code.as_number().is_some_and(|n| (100..=999).contains(&n)) {
        return Err(format!("a WCS code is also the HTTP status and must be in 100..=999, not {code:?}"));
    }
    if route.starts_with("halalcloud/") && !code.as_number().is_some_and(|n| (1..=16).contains(&n)) {
        return Err(format!("a HalalCloud code is a gRPC status code in 1..=16, not {code:?}"));
    }
    Ok(())
}

/// The provider-specific answers some actions need (envelope shapes and token handling differ per cloud).
pub(crate) trait ProviderFaults: Send + Sync + 'static {
    /// The protocol's error answer carrying `code`.
    fn code_error(&self, code: &FaultCode, message: &str) -> Response;
    /// The provider's "still processing, poll again" answer.
    fn pending(&self) -> Response;
    /// Invalidates the token carried by `headers` (if any) and answers the auth failure.
    fn expire_token<'a>(&'a self, headers: &'a HeaderMap) -> BoxFuture<'a, Response>;
    /// The provider's answer to a request refused by a rate limit.
    fn too_many_requests(&self) -> Response;
}

/// Per-route context of the [`guard`] middleware.
#[derive(Clone)]
pub(crate) struct RouteGuard {
    route: &'static str,
    faults: Arc<FaultPlan>,
    stats: Arc<Stats>,
    throttle: Arc<Throttle>,
    provider: Arc<dyn ProviderFaults>,
}

/// What every route guard of a server shares: the fault plan, the stats and the rate limits.
#[derive(Clone)]
pub(crate) struct GuardShared {
    /// Fault plan.
    pub(crate) faults: Arc<FaultPlan>,
    /// Request counters.
    pub(crate) stats: Arc<Stats>,
    /// Rate limits in force.
    pub(crate) throttle: Arc<Throttle>,
}

impl RouteGuard {
    /// Context for the route named `route`.
    pub(crate) fn new(route: &'static str, shared: &GuardShared, provider: Arc<dyn ProviderFaults>) -> Self {
        Self {
            route,
            faults: Arc::clone(&shared.faults),
            stats: Arc::clone(&shared.stats),
            throttle: Arc::clone(&shared.throttle),
            provider,
        }
    }
}

/// Middleware put in front of every provider route: counts the request, applies the rate limit and then
/// the fault plan (see "Order of the checks" in the module docs).
pub(crate) async fn guard(State(g): State<RouteGuard>, req: Request, next: Next) -> Response {
    g.stats.request(g.route);
    tracing::debug!(route = g.route, method = %req.method(), "request");
    if !g.throttle.admit(g.route) {
        g.stats.throttled(g.route);
        tracing::debug!(route = g.route, "refused by the rate limit");
        return g.provider.too_many_requests();
    }
    let Some(action) = g.faults.next_action(g.route) else {
        return next.run(req).await;
    };
    tracing::info!(route = g.route, ?action, "injecting fault");
    match action {
        FaultAction::Reset => match req.extensions().get::<ConnectionKill>() {
            Some(kill) => {
                kill.kill();
                // The connection task drops this future together with the connection.
                std::future::pending::<Response>().await
            }
            None => (StatusCode::INTERNAL_SERVER_ERROR, "reset requested outside a connection").into_response(),
        },
        FaultAction::Status { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = format!("{} {}\n", status.as_u16(), status.canonical_reason().unwrap_or("injected"));
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        FaultAction::Code { code, message } => g.provider.code_error(&code, &message),
        FaultAction::Pending => g.provider.pending(),
        FaultAction::ExpiredToken => g.provider.expire_token(req.headers()).await,
        FaultAction::Latency { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        FaultAction::CutBody { after } => cut_body(next.run(req).await, after).await,
        FaultAction::Respond {
            status,
            headers,
            body,
            pad,
            chunked,
            endless,
        } => respond(status, &headers, body, pad, chunked || endless, endless),
        FaultAction::Rewrite { merge } => rewrite(next.run(req).await, &merge).await,
    }
}

/// Spaces sent per chunk of padding.
const PAD_CHUNK: usize = 64 * 1024;

/// Builds a hand-made answer (see [`FaultAction::Respond`]); padding is streamed, never held in memory.
fn respond(
    status: u16,
    headers: &BTreeMap<String, String>,
    body: Option<serde_json::Value>,
    pad: u64,
    chunked: bool,
    endless: bool,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (content_type, text) = match body {
        None | Some(serde_json::Value::Null) => (None, Vec::new()),
        Some(serde_json::Value::String(s)) => (Some("text/plain; charset=utf-8"), s.into_bytes()),
        Some(value) => (Some("application/json"), value.to_string().into_bytes()),
    };
    let announced = text.len() as u64 + pad;
    let spaces = Bytes::from(vec![b' '; PAD_CHUNK]);
    let padding = {
        let spaces = spaces.clone();
        futures::stream::unfold(pad, move |left| {
            let spaces = spaces.clone();
            async move {
                let n = left.min(PAD_CHUNK as u64);
                (n > 0).then(|| (Ok::<Bytes, std::io::Error>(spaces.slice(..n as usize)), left - n))
            }
        })
    };
    let head = futures::stream::iter((!text.is_empty()).then_some(Ok::<Bytes, std::io::Error>(Bytes::from(text))));
    let stream = head.chain(padding);
    let body = if endless {
        let forever = futures::stream::repeat_with(move || Ok::<Bytes, std::io::Error>(spaces.clone()));
        Body::from_stream(stream.chain(forever))
    } else {
        Body::from_stream(stream)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Some(ct) = content_type {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if !chunked {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    }
    for (name, value) in headers {
        // Checked when the rule was added.
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            h.insert(name, value);
        }
    }
    resp
}

/// Applies `patch` to the JSON answer `resp` (see [`FaultAction::Rewrite`]).
async fn rewrite(resp: Response, patch: &serde_json::Value) -> Response {
    let (mut parts, body) = resp.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&full) else {
        tracing::warn!("rewrite: the answer is not JSON; sent unchanged");
        return Response::from_parts(parts, Body::from(full));
    };
    merge_patch(&mut value, patch);
    let text = value.to_string();
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    Response::from_parts(parts, Body::from(text))
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(fields) = target {
        for (key, change) in changes {
            if change.is_null() {
                fields.remove(key);
            } else {
                merge_patch(fields.entry(key.clone()).or_insert(serde_json::Value::Null), change);
            }
        }
    }
}

/// Re-emits `resp` with its full `Content-Length` but only `after` body bytes, then fails the body stream,
/// which makes hyper close the connection.
async fn cut_body(resp: Response, after: usize) -> Response {
    let (mut parts, body) = resp.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let kept = full.slice(..after.min(full.len()));
    // Announce at least one byte more than is sent, so the cut is visible even when `after` covers the
    // whole body.
    let announced = full.len().max(after + 1);
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    let head = futures::stream::iter((!kept.is_empty()).then_some(Ok::<Bytes, std::io::Error>(kept)));
    let tail = futures::stream::once(async {
        // Pausing first lets hyper flush the head and the kept bytes before it sees the error.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "body cut by fault injection",
        ))
    });
    Response::from_parts(parts, Body::from_stream(head.chain(tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> FaultRule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rules_parse_with_defaults() {
        let r = rule(r#"{"route":"123pan/slice","action":{"kind":"cut_body","after":3}}"#);
        assert_eq!(r.times, 1);
        assert_eq!(r.skip, 0);
        assert_eq!(r.action, FaultAction::CutBody { after: 3 });
        let r = rule(r#"{"route":"*","times":2,"action":{"kind":"code","code":429,"message":"请求太频繁"}}"#);
        assert_eq!(
            r.action,
            FaultAction::Code {
                code: FaultCode::Number(429),
                message: "请求太频繁".into()
            }
        );
        let r = rule(r#"{"route":"6pan/offline","action":{"kind":"code","code":"UNSUPPORTED_FILE"}}"#);
        assert_eq!(
            r.action,
            FaultAction::Code {
                code: FaultCode::Text("UNSUPPORTED_FILE".into()),
                message: String::new()
            }
        );
        assert!(serde_json::from_str::<FaultRule>(r#"{"route":"*","action":{"kind":"nope"}}"#).is_err());
        assert!(serde_json::from_str::<FaultRule>(r#"{"route":"*","tims":1,"action":{"kind":"reset"}}"#).is_err());
    }

    #[test]
    fn rules_are_a_script_per_route() {
        let plan = FaultPlan::default();
        let known = ["a", "b"];
        plan.add(
            vec![
                rule(r#"{"route":"a","skip":1,"action":{"kind":"reset"}}"#),
                rule(r#"{"route":"a","times":2,"action":{"kind":"pending"}}"#),
                rule(r#"{"route":"b","action":{"kind":"latency","ms":1}}"#),
            ],
            &known,
        )
        .unwrap();
        assert_eq!(plan.next_action("a"), None); // skipped
        assert_eq!(plan.next_action("b"), Some(FaultAction::Latency { ms: 1 }));
        assert_eq!(plan.next_action("a"), Some(FaultAction::Reset));
        assert_eq!(plan.next_action("a"), Some(FaultAction::Pending));
        assert_eq!(plan.next_action("a"), Some(FaultAction::Pending));
        assert_eq!(plan.next_action("a"), None);
        assert!(plan.pending().is_empty());
        assert!(plan.add(vec![rule(r#"{"route":"c","action":{"kind":"reset"}}"#)], &known).is_err());
        assert!(
            plan.add(vec![rule(r#"{"route":"a","action":{"kind":"status","status":99}}"#)], &known)
                .is_err()
        );
        let known = ["wcs/bput", "123pan/list", "6pan/offline"];
        let code = |route: &str, code: &str| {
            let json = format!(r#"{{"route":"{route}","action":{{"kind":"code","code":{code}}}}}"#);
            plan.add(vec![rule(&json)], &known)
        };
        assert!(code("wcs/bput", "701").is_ok());
        assert!(code("wcs/bput", "1000").is_err());
        assert!(code("wcs/bput", r#""BAD""#).is_err());
        assert!(code("123pan/list", r#""BAD""#).is_err());
        assert!(code("6pan/offline", r#""BAD""#).is_ok());
        assert!(code("6pan/offline", "5").is_ok());
    }

    #[test]
    fn respond_and_rewrite_parse_and_are_checked() {
        let r = rule(r#"{"route":"123pan/create","action":{"kind":"respond","body":{"code":0}}}"#);
        assert_eq!(
            r.action,
            FaultAction::Respond {
                status: 200,
                headers: BTreeMap::new(),
                body: Some(serde_json::json!({"code": 0})),
                pad: 0,
                chunked: false,
                endless: false,
            }
        );
        let r = rule(r#"{"route":"wcs/mkfile","action":{"kind":"rewrite","merge":{"hash":"x"}}}"#);
        assert_eq!(
            r.action,
            FaultAction::Rewrite {
                merge: serde_json::json!({"hash": "x"})
            }
        );
        let plan = FaultPlan::default();
        let known = ["a"];
        let bad_header = r#"{"route":"a","action":{"kind":"respond","headers":{"Bad Name":"x"}}}"#;
        assert!(plan.add(vec![rule(bad_header)], &known).is_err());
        let bad_status = r#"{"route":"a","action":{"kind":"respond","status":600}}"#;
        assert!(plan.add(vec![rule(bad_status)], &known).is_err());
        let redirect = r#"{"route":"a","action":{"kind":"respond","status":302,"headers":{"Location":"http://x/"}}}"#;
        assert!(plan.add(vec![rule(redirect)], &known).is_ok());
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = serde_json::json!({"code": 0, "data": {"fileID": 7, "reuse": false, "servers": ["http://a"]}});
        merge_patch(
            &mut doc,
            &serde_json::json!({"data": {"reuse": true, "fileID": 0, "servers": null, "extra": {"x": 1}}}),
        );
        assert_eq!(
            doc,
            serde_json::json!({"code": 0, "data": {"fileID": 0, "reuse": true, "extra": {"x": 1}}})
        );
        merge_patch(&mut doc, &serde_json::json!({"data": []}));
        assert_eq!(doc, serde_json::json!({"code": 0, "data": []}));
    }
}
