//! The OAuth device-code flow (spec §5.1) and the human approval page at the `verification_uri`.
//!
//! `device_code` `{client_id, device?}` answers `{user_code, device_code, expires_in, verification_uri,
//! interval, expires_in_ts}`; `get_device_code_state` `{device_code}` answers
//! `{status: "AUTHORIZATION_PENDING", interval}` until the user code is approved (by
//! `POST /_admin/halalcloud/approve {"user_code"}` or the form at `GET /halalcloud/device`), then once
//! `{status: "AUTHORIZATION_SUCCESS", access_token, refresh_token, expires_in, expires_in_ts}`;
//! `refresh_token` `{refresh_token, grant_type: "refresh_token", client_id}` rotates the pair and answers
//! `{access_token, refresh_token, expires_in, token_type: "Bearer", expires_in_ts}`. See `tokens` for the
//! rules and the module docs of [`super`] for the decisions.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::Halal;
use super::auth::Caller;
use super::files::with_db;
use super::proto::{Msg, Obj};
use super::status::HalalError;
use super::tokens::{self, Lifetimes, Pair, PollState};

/// Status of a device code that was not approved yet.
pub(crate) const PENDING: &str = "AUTHORIZATION_PENDING";
/// Status of an approved device code.
pub(crate) const SUCCESS: &str = "AUTHORIZATION_SUCCESS";

fn lifetimes(h: &Halal) -> Lifetimes {
    Lifetimes {
        access: h.config.access_token_lifetime,
        refresh: h.config.refresh_token_lifetime,
    }
}

/// The body's `client_id` must be the signing one.
fn same_client(msg: &Msg, caller: &Caller) -> Result<(), HalalError> {
    match msg.str("client_id")? {
        Some(id) if id == caller.client_id => Ok(()),
        Some(id) => Err(HalalError::invalid(format!("client_id {id:?} is not the signing client_id"))),
        None => Err(HalalError::invalid("field client_id is required")),
    }
}

fn interval(h: &Halal) -> i32 {
    i32::try_from(h.config.device_poll_interval_secs).unwrap_or(i32::MAX)
}

/// `POST /v6/oauth/device_code`, signed with the app key and the empty token.
pub(crate) async fn device_code(State(h): State<Arc<Halal>>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    with_db(&h, body, move |h, conn, msg| {
        same_client(&msg, &caller)?;
        if caller.token.is_some() {
            return Err(HalalError::unauthenticated("device_code is signed with the empty token"));
        }
        let code = tokens::new_device_code(conn, &caller.client_id, h.config.device_code_lifetime)?;
        Ok(Obj::new()
            .str("user_code", &code.user_code)
            .str("device_code", &code.device_code)
            .int32(
                "expires_in",
                i32::try_from(h.config.device_code_lifetime.as_secs()).unwrap_or(i32::MAX),
            )
            .str("verification_uri", &h.verification_uri())
            .int32("interval", interval(h))
            .int64("expires_in_ts", code.expires_ms)
            .into_value())
    })
    .await
}

fn token_fields(obj: Obj, pair: &Pair) -> Obj {
    obj.str("access_token", &pair.access_token)
        .str("refresh_token", &pair.refresh_token)
        .int32("expires_in", pair.expires_in)
        .int64("expires_in_ts", pair.expires_at_ms)
}

/// `POST /v6/oauth/get_device_code_state`.
pub(crate) async fn device_code_state(State(h): State<Arc<Halal>>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    with_db(&h, body, move |h, conn, msg| {
        let device_code = msg.required_str("device_code")?;
        let every = Duration::from_secs(u64::from(h.config.device_poll_interval_secs));
        Ok(match tokens::poll(conn, &caller.client_id, &device_code, every, lifetimes(h))? {
            PollState::Pending => Obj::new().str("status", PENDING).int32("interval", interval(h)),
            PollState::Approved(pair) => token_fields(Obj::new().str("status", SUCCESS), &pair),
        }
        .into_value())
    })
    .await
}

/// `POST /v6/oauth/refresh_token`.
pub(crate) async fn refresh_token(State(h): State<Arc<Halal>>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    with_db(&h, body, move |h, conn, msg| {
        same_client(&msg, &caller)?;
        if msg.str("grant_type")?.as_deref() != Some("refresh_token") {
            return Err(HalalError::invalid("grant_type must be \"refresh_token\""));
        }
        let refresh = msg.required_str("refresh_token")?;
        let pair = tokens::rotate(conn, &caller.client_id, &refresh, lifetimes(h))?;
        Ok(token_fields(Obj::new(), &pair).str("token_type", "Bearer").into_value())
    })
    .await
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HalalCloud (fake) device login</title></head>
<body>
<h1>Connect a device</h1>
<p>{message}</p>
<form method="post" action="device">
<label>Code shown on the device: <input name="user_code" autofocus required></label>
<button type="submit">Approve</button>
</form>
</body></html>
"#;

fn page(status: StatusCode, message: &str) -> Response {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    (status, Html(PAGE.replace("{message}", &escaped))).into_response()
}

/// `GET /halalcloud/device`: the form.
pub(crate) async fn device_page() -> Response {
    page(StatusCode::OK, "Enter the code your device shows to let it use this drive.")
}

/// `POST /halalcloud/device` (form `user_code=…`): approves the code.
pub(crate) async fn device_form(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    let code = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "user_code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let shown = code.clone();
    match h.store.blocking(move |s| tokens::approve(&s.db(), &code)).await {
        Ok(true) => page(StatusCode::OK, &format!("Code {shown} approved: the device is now signed in.")),
        Ok(false) => page(StatusCode::NOT_FOUND, &format!("Code {shown} is unknown, expired or already used.")),
        Err(e) => {
            tracing::error!(error = %e, "could not approve a device code");
            page(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.")
        }
    }
}
