//! The 6pan envelopes and error answers.
//!
//! | | success | business error (HTTP 200) | auth failure (HTTP 401) |
//! |---|---|---|---|
//! | v1 | `{"status":200,"result":…,"code":"OK","success":true,"token":…}` | `{"success":false,"message":…,"code":"<CODE>","status":400,"token":…}` | same shape, `status` 401, no `token` |
//! | v2 | `{"status":0,"result":…,"code":"OK","success":true}` | `{"success":false,"code":"<CODE>","message":…,"status":400}` | same shape, `status` 401 |
//!
//! The v1 `token` member is added by the v1 auth middleware (`auth`), which also sets the response header
//! `Authorization: Bearer <token>`. Unexpected server errors are HTTP 200 with `status` 500 and code
//! `INTERNAL_ERROR`, as the v1 server does.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::FakeCloudError;

/// Which generation of the 6pan API a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `/v1/…`: `Authorization: Bearer`, token in every body.
    V1,
    /// `/v2/…`: `Qingzhen-Token` header.
    V2,
}

impl Api {
    /// The error code of a name clash (the 2018 v1 server spells it `AREADY`).
    pub(crate) fn exists_code(self) -> &'static str {
        match self {
            Self::V1 => "FILE_AREADY_EXISTS",
            Self::V2 => "FILE_ALREADY_EXISTS",
        }
    }

    /// The code of a missing, unknown, expired or revoked session token.
    pub(crate) fn invalid_token_code(self) -> &'static str {
        match self {
            Self::V1 => "INVALID_TOKEN",
            Self::V2 => "TOKEN_INVALID",
        }
    }

    /// `"v1"` or `"v2"`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

/// Why a 6pan request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Pan6Error {
    /// A business error: HTTP 200, `status` 400.
    #[error("{code}: {message}")]
    Business {
        /// Upper-case code.
        code: String,
        /// Human-readable cause.
        message: String,
    },
    /// An authentication failure: HTTP 401, `status` 401.
    #[error("{code}: {message}")]
    Unauthorized {
        /// Upper-case code.
        code: String,
        /// Human-readable cause.
        message: String,
    },
    /// A server-side failure.
    #[error(transparent)]
    Internal(#[from] FakeCloudError),
}

impl Pan6Error {
    /// A business error.
    pub(crate) fn business(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Business {
            code: code.into(),
            message: message.into(),
        }
    }

    /// An authentication failure.
    pub(crate) fn unauthorized(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<rusqlite::Error> for Pan6Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// A success envelope.
pub(crate) fn success(api: Api, result: Value) -> Response {
    let status = match api {
        Api::V1 => 200,
        Api::V2 => 0,
    };
    Json(json!({ "status": status, "result": result, "code": "OK", "success": true })).into_response()
}

/// An error envelope with this HTTP status and body `status`.
pub(crate) fn error_body(http: StatusCode, status: u16, code: &str, message: &str) -> Response {
    (
        http,
        Json(json!({ "success": false, "message": message, "code": code, "status": status })),
    )
        .into_response()
}

/// The answer to a failed request.
pub(crate) fn failure(err: Pan6Error) -> Response {
    match err {
        Pan6Error::Business { code, message } => error_body(StatusCode::OK, 400, &code, &message),
        Pan6Error::Unauthorized { code, message } => error_body(StatusCode::UNAUTHORIZED, 401, &code, &message),
        Pan6Error::Internal(e) => {
            tracing::error!(error = %e, "internal error while handling a 6pan request");
            error_body(StatusCode::OK, 500, "INTERNAL_ERROR", "internal server error")
        }
    }
}

/// The answer of a handler.
pub(crate) fn reply(api: Api, result: Result<Value, Pan6Error>) -> Response {
    match result {
        Ok(value) => success(api, value),
        Err(e) => failure(e),
    }
}
