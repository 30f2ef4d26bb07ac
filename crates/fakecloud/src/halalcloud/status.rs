//! Errors the way grpc-gateway answers them: a non-2xx HTTP status and the body
//! `{"code": <gRPC code>, "message": "…", "details": []}` (spec §2). The upload host answers its errors in the
//! same shape (the spec documents none of its own).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::FakeCloudError;

/// The gRPC status codes the gateway maps to HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// 1, HTTP 499.
    Cancelled,
    /// 2, HTTP 500.
    Unknown,
    /// 3, HTTP 400.
    InvalidArgument,
    /// 4, HTTP 504.
    DeadlineExceeded,
    /// 5, HTTP 404.
    NotFound,
    /// 6, HTTP 409.
    AlreadyExists,
    /// 7, HTTP 403.
    PermissionDenied,
    /// 8, HTTP 429.
    ResourceExhausted,
    /// 9, HTTP 400.
    FailedPrecondition,
    /// 10, HTTP 409.
    Aborted,
    /// 11, HTTP 400.
    OutOfRange,
    /// 12, HTTP 501.
    Unimplemented,
    /// 13, HTTP 500.
    Internal,
    /// 14, HTTP 503.
    Unavailable,
    /// 15, HTTP 500.
    DataLoss,
    /// 16, HTTP 401.
    Unauthenticated,
}

impl Code {
    const ALL: [Self; 16] = [
        Self::Cancelled,
        Self::Unknown,
        Self::InvalidArgument,
        Self::DeadlineExceeded,
        Self::NotFound,
        Self::AlreadyExists,
        Self::PermissionDenied,
        Self::ResourceExhausted,
        Self::FailedPrecondition,
        Self::Aborted,
        Self::OutOfRange,
        Self::Unimplemented,
        Self::Internal,
        Self::Unavailable,
        Self::DataLoss,
        Self::Unauthenticated,
    ];

    /// The numeric gRPC code.
    pub(crate) fn number(self) -> i64 {
        Self::ALL.iter().position(|c| *c == self).map_or(2, |i| i as i64 + 1)
    }

    /// The code with this number (1..=16).
    pub(crate) fn from_number(n: i64) -> Option<Self> {
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The HTTP status grpc-gateway answers for this code (the map of spec §2).
    pub(crate) fn http(self) -> StatusCode {
        match self {
            Self::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            Self::InvalidArgument | Self::FailedPrecondition | Self::OutOfRange => StatusCode::BAD_REQUEST,
            Self::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::AlreadyExists | Self::Aborted => StatusCode::CONFLICT,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Unknown | Self::Internal | Self::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Why a HalalCloud request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HalalError {
    /// An error answered to the client with this gRPC code.
    #[error("{code:?}: {message}")]
    Rpc {
        /// gRPC code.
        code: Code,
        /// Human-readable cause.
        message: String,
    },
    /// A server-side failure (answered as code 13 without details).
    #[error(transparent)]
    Internal(#[from] FakeCloudError),
}

impl From<rusqlite::Error> for HalalError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl HalalError {
    /// An error with this code.
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self::Rpc {
            code,
            message: message.into(),
        }
    }

    /// Code 3, HTTP 400.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    /// Code 5, HTTP 404.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    /// Code 6, HTTP 409.
    pub(crate) fn exists(message: impl Into<String>) -> Self {
        Self::new(Code::AlreadyExists, message)
    }

    /// Code 9, HTTP 400.
    pub(crate) fn precondition(message: impl Into<String>) -> Self {
        Self::new(Code::FailedPrecondition, message)
    }

    /// Code 16, HTTP 401.
    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, message)
    }
}

/// The gateway error answer.
pub(crate) fn error_body(code: Code, message: &str) -> Response {
    (
        code.http(),
        Json(json!({ "code": code.number(), "message": message, "details": [] })),
    )
        .into_response()
}

/// The answer to a failed request.
pub(crate) fn failure(err: HalalError) -> Response {
    match err {
        HalalError::Rpc { code, message } => error_body(code, &message),
        HalalError::Internal(e) => {
            tracing::error!(error = %e, "internal error while handling a HalalCloud request");
            error_body(Code::Internal, "internal server error")
        }
    }
}

/// The answer of a handler: HTTP 200 with the JSON value, or the error.
pub(crate) fn reply(result: Result<Value, HalalError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_map_to_http() {
        for n in 1..=16 {
            assert_eq!(Code::from_number(n).unwrap().number(), n);
        }
        assert!(Code::from_number(0).is_none());
        assert!(Code::from_number(17).is_none());
        assert_eq!(Code::Unauthenticated.number(), 16);
        assert_eq!(Code::NotFound.http(), StatusCode::NOT_FOUND);
        assert_eq!(Code::AlreadyExists.http(), StatusCode::CONFLICT);
        assert_eq!(Code::ResourceExhausted.http(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(Code::Cancelled.http().as_u16(), 499);
    }
}
