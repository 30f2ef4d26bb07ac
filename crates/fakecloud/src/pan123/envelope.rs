//! The 123pan JSON envelope `{"code", "message", "data", "x-traceID"}` and the error answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::error::FakeCloudError;

/// Body `code` of an invalid, expired or missing access token.
pub(crate) const CODE_UNAUTHORIZED: i64 = 401;
/// Body `code` of a generic business error; `message` tells the cause.
pub(crate) const CODE_FAILED: i64 = 1;
/// Body `code` while the server still verifies a completed upload.
pub(crate) const CODE_VERIFYING: i64 = 20103;
/// Message that goes with [`CODE_VERIFYING`].
pub(crate) const MSG_VERIFYING: &str = "文件正在校验中,请间隔1秒后再试";
/// Message of [`CODE_UNAUTHORIZED`].
pub(crate) const MSG_TOKEN_INVALID: &str = "access_token无效";
/// Message of [`CODE_UNAUTHORIZED`] for a token that the 3-token cap retired (documented in the FAQ).
pub(crate) const MSG_TOKENS_EXCEEDED: &str = "tokens number has exceeded the limit";
/// Body `code` of a request refused by a rate limit.
pub(crate) const CODE_TOO_MANY_REQUESTS: i64 = 429;
/// Message that goes with [`CODE_TOO_MANY_REQUESTS`].
pub(crate) const MSG_TOO_MANY_REQUESTS: &str = "请求太频繁";

#[derive(Serialize)]
struct Envelope<T> {
    code: i64,
    message: String,
    data: T,
    #[serde(rename = "x-traceID")]
    trace_id: String,
}

fn trace_id() -> String {
    format!("{}_fakecloud", uuid::Uuid::new_v4())
}

fn envelope<T: Serialize>(status: StatusCode, code: i64, message: &str, data: T) -> Response {
    let body = Envelope {
        code,
        message: message.to_owned(),
        data,
        trace_id: trace_id(),
    };
    (status, Json(body)).into_response()
}

/// A success answer: HTTP 200, `code` 0, `message` "ok".
pub(crate) fn ok<T: Serialize>(data: T) -> Response {
    envelope(StatusCode::OK, 0, "ok", data)
}

/// Why a 123pan request failed, and how that is answered.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// Token missing, unknown or expired.
    ///
    /// Answered with HTTP status 401 *and* body `code` 401 (message `access_token无效`). The docs only
    /// promise the body code and leave the status open; real clients are seen checking either, so this
    /// server uses both and a client must treat either one as "refresh the token". (Wrong credentials at
    /// the token endpoint are a business answer instead: HTTP 200 with body code 401.)
    Unauthorized,
    /// A token that was valid but was retired because its clientID got a 4th one (the 3-token cap).
    ///
    /// Answered like [`ApiError::Unauthorized`] (HTTP 401, body `code` 401) but with the message the
    /// service documents for this case, `tokens number has exceeded the limit`, so that a client can tell
    /// "someone else logged in with these credentials" from an expired token.
    TokenRetired,
    /// An envelope error answered with HTTP 200 (the normal 123pan style).
    Code {
        /// Body `code`.
        code: i64,
        /// Body `message`.
        message: String,
    },
    /// A server-side failure: HTTP 500 with envelope code 1.
    Internal(FakeCloudError),
}

impl ApiError {
    /// A `code: 1` business error with this message.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self::Code {
            code: CODE_FAILED,
            message: message.into(),
        }
    }
}

impl From<FakeCloudError> for ApiError {
    fn from(e: FakeCloudError) -> Self {
        Self::Internal(e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized => envelope(StatusCode::UNAUTHORIZED, CODE_UNAUTHORIZED, MSG_TOKEN_INVALID, Value::Null),
            Self::TokenRetired => envelope(StatusCode::UNAUTHORIZED, CODE_UNAUTHORIZED, MSG_TOKENS_EXCEEDED, Value::Null),
            Self::Code { code, message } => envelope(StatusCode::OK, code, &message, Value::Null),
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error while handling a 123pan request");
                envelope(StatusCode::INTERNAL_SERVER_ERROR, CODE_FAILED, "服务器内部错误", Value::Null)
            }
        }
    }
}

/// What handlers return.
pub(crate) type ApiResult = Result<Response, ApiError>;
