//! The 6pan envelope (`{status, result, code, success, message, token}`, spec §9.2 and §10.1) and its errors.

use serde::Deserialize;
use serde_json::Value;

use super::PROVIDER;
use crate::error::{Error, Result};

/// Codes that mean the session token is missing, expired or refused (spec §9.1; v2's are not documented).
const AUTH_CODES: [&str; 7] = [
    "INVALID_TOKEN",
    "CREDENTIALS_REQUIRED",
    "TOKEN_EXPIRED",
    "TOKEN_INVALID",
    "USER_VERSION_NOT_MATCH",
    "BEARER_AUTHORIZATION_HEADER_INVALID",
    "UNAUTHORIZED",
];
/// Name clash codes (the 2018 server's spelling and the later one).
const EXISTS_CODES: [&str; 2] = ["FILE_AREADY_EXISTS", "FILE_ALREADY_EXISTS"];

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
}

/// The `result` of a successful envelope, or the error it describes. `subject` names what was asked for.
pub(crate) fn decode(http_status: u16, body: &[u8], subject: &str) -> Result<Value> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if http_status == 401 => return Err(auth("the session token was refused (HTTP 401)".into())),
        Err(_) if !(200..300).contains(&http_status) => return Err(Error::from_status(PROVIDER, http_status, None)),
        Err(e) => {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: format!("reply is not a 6pan envelope: {e}"),
            });
        }
    };
    if envelope.success && (200..300).contains(&http_status) {
        return Ok(envelope.result.unwrap_or(Value::Null));
    }
    let code = match &envelope.code {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => format!("HTTP_{http_status}"),
    };
    let message = envelope.message.map_or_else(|| code.clone(), |m| crate::error::server_text(&m));
    if http_status == 401 || AUTH_CODES.contains(&code.as_str()) {
        return Err(auth(format!("{message} ({code}); log in again")));
    }
    if EXISTS_CODES.contains(&code.as_str()) {
        return Err(Error::Conflict {
            provider: PROVIDER,
            name: subject.to_owned(),
        });
    }
    if (500..600).contains(&http_status) {
        return Err(Error::Server {
            provider: PROVIDER,
            status: http_status,
        });
    }
    // A server-side fault (`status: 500`, `INTERNAL_ERROR`) may pass; a business error will not.
    let status = envelope.status.as_ref().and_then(Value::as_u64).unwrap_or(0);
    let retryable = code == "INTERNAL_ERROR" || status >= 500;
    Err(Error::Api {
        provider: PROVIDER,
        code,
        message,
        retryable,
    })
}

/// The body's rotated session token (v1 only).
pub(crate) fn body_token(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct WithToken {
        token: Option<String>,
    }
    serde_json::from_slice::<WithToken>(body).ok()?.token.filter(|t| !t.is_empty())
}

fn auth(message: String) -> Error {
    Error::Auth {
        provider: PROVIDER,
        message,
    }
}

/// A string or number field of a JSON object, as text.
pub(super) fn text_field(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_errors() {
        let ok = br#"{"status":0,"result":{"a":1},"code":"OK","success":true}"#;
        assert_eq!(decode(200, ok, "f").expect("ok")["a"], 1);
        let clash = br#"{"success":false,"message":"exists","code":"FILE_AREADY_EXISTS","status":400}"#;
        assert!(matches!(decode(200, clash, "/a/f.txt"), Err(Error::Conflict { name, .. }) if name == "/a/f.txt"));
        let expired = br#"{"success":false,"message":"jwt expired","code":"INVALID_TOKEN","status":401}"#;
        assert!(matches!(decode(401, expired, "f"), Err(Error::Auth { .. })));
        let internal = br#"{"success":false,"code":"INTERNAL_ERROR","status":500}"#;
        assert!(decode(200, internal, "f").unwrap_err().is_retryable());
        let business = br#"{"success":false,"code":"UNSUPPORTED_FILE","message":"not a torrent","status":400}"#;
        assert!(!decode(200, business, "f").unwrap_err().is_retryable());
        assert!(matches!(decode(502, b"<html>", "f"), Err(Error::Server { .. })));
        assert!(matches!(decode(200, b"{oops", "f"), Err(Error::Protocol { .. })));
    }

    #[test]
    fn rotated_token_is_read_from_the_body() {
        assert_eq!(body_token(br#"{"success":true,"token":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(body_token(br#"{"success":true}"#), None);
    }
}
