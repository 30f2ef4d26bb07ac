//! WCS error answers: `{"code": N, "message": "…"}` with HTTP status N.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::FakeCloudError;

/// Malformed request.
pub(crate) const BAD_REQUEST: u16 = 400;
/// Bad or expired upload token, `fsizeLimit` exceeded.
pub(crate) const UNAUTHORIZED: u16 = 401;
/// The key exists and the policy does not allow overwriting.
pub(crate) const EXISTS: u16 = 406;
/// A rate limit refused the request (see [`crate::throttle`]).
pub(crate) const TOO_MANY_REQUESTS: u16 = 429;
/// Block assembly failed at mkfile.
pub(crate) const ASSEMBLY_FAILED: u16 = 412;
/// Stored, but the callback failed.
pub(crate) const CALLBACK_FAILED: u16 = 579;
/// "Network or server error, retry" (also the `pending` fault).
pub(crate) const RETRY: u16 = 599;
/// The bucket of the scope does not exist.
pub(crate) const NO_BUCKET: u16 = 631;
/// A ctx that was not issued by this host or does not match what is stored.
pub(crate) const BAD_CTX: u16 = 701;

/// Why a WCS request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WcsError {
    /// A protocol error answered with this code as both HTTP status and body `code`.
    #[error("{code} {message}")]
    Status {
        /// The code (100..=999).
        code: u16,
        /// Human-readable cause.
        message: String,
    },
    /// A server-side failure: HTTP 500.
    #[error(transparent)]
    Internal(#[from] FakeCloudError),
}

impl WcsError {
    /// An error with this code and message.
    pub(crate) fn new(code: u16, message: impl Into<String>) -> Self {
        Self::Status {
            code,
            message: message.into(),
        }
    }

    /// 400.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(BAD_REQUEST, message)
    }

    /// 401.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(UNAUTHORIZED, message)
    }

    /// 412.
    pub(crate) fn assembly(message: impl Into<String>) -> Self {
        Self::new(ASSEMBLY_FAILED, message)
    }

    /// 701.
    pub(crate) fn bad_ctx(message: impl Into<String>) -> Self {
        Self::new(BAD_CTX, message)
    }
}

impl From<rusqlite::Error> for WcsError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// The error body with `code` as HTTP status (hyper accepts 100..=999).
pub(crate) fn error_response(code: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "code": status.as_u16(), "message": message }))).into_response()
}

impl IntoResponse for WcsError {
    fn into_response(self) -> Response {
        match self {
            Self::Status { code, message } => {
                tracing::debug!(code, %message, "WCS error answer");
                error_response(code, &message)
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error while handling a WCS request");
                error_response(500, "internal server error")
            }
        }
    }
}

/// What WCS handlers return.
pub(crate) type WcsResult = Result<Response, WcsError>;
