//! `POST /v1/user/login` and `POST /v2/user/login` with `{value, password, countryCode?}`.
//!
//! `value` is the account name (or its phone number, which is all digits); `password` is the lower-case
//! MD5 hex of the password (upper-case hex is accepted too). Failures are business errors (HTTP 200):
//! `VALUE_REQUIRED`, `PASSWORD_REQUIRED`, `USER_NOT_FOUND`, `PASSWORD_NOT_MATCH`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::{Value, json};

use super::Pan6;
use super::auth::{V2_HEADER, with_v1_token};
use super::envelope::{Api, Pan6Error, failure, success};
use super::input::{self, required};
use super::tree::{USER_ID, now_ms};
use crate::hashing::Md5;

/// The demo account's phone number (also accepted as `value`).
pub(crate) const DEMO_PHONE: &str = "13800138000";

fn check(p: &Pan6, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let fields = input::parse(headers, body)?;
    let value = fields.text("value").ok_or_else(|| required("value"))?;
    let password = fields.text("password").ok_or_else(|| required("password"))?;
    if value != p.config.login_value && value != DEMO_PHONE {
        return Err(Pan6Error::business("USER_NOT_FOUND", "no such user"));
    }
    let mut md5 = Md5::new()?;
    md5.update(p.config.password.as_bytes())?;
    if !password.eq_ignore_ascii_case(&md5.finish_hex()?) {
        tracing::info!("6pan login refused: wrong password");
        return Err(Pan6Error::business("PASSWORD_NOT_MATCH", "wrong password"));
    }
    let now = now_ms();
    Ok(json!({
        "uuid": USER_ID, "name": p.config.login_value, "phone": DEMO_PHONE, "countryCode": "86",
        "email": "demo@example.invalid", "icon": "", "type": 0, "spaceUsed": 0, "spaceCapacity": 1_u64 << 40,
        "lastLoginTime": now, "createTime": 0, "version": 1,
    }))
}

/// `POST /v1/user/login`: the token is the envelope's `token` (and header `Authorization: Bearer …`).
pub(crate) async fn v1(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    match check(&p, &headers, &body) {
        Ok(user) => {
            let token = p.sessions.issue(Api::V1, None, &p.config.login_value);
            with_v1_token(success(Api::V1, user), &token).await
        }
        Err(e) => failure(e),
    }
}

/// `POST /v2/user/login`: the token is the response header `qingzhen-token`.
pub(crate) async fn v2(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    match check(&p, &headers, &body) {
        Ok(user) => {
            let token = p.sessions.issue(Api::V2, None, &p.config.login_value);
            let mut resp = success(Api::V2, user);
            if let Ok(v) = HeaderValue::from_str(&token) {
                resp.headers_mut().insert(V2_HEADER, v);
            }
            resp
        }
        Err(e) => failure(e),
    }
}
