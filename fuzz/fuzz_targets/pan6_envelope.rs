//! 6pan v1 and v2 replies: the envelope `{status, result, code, success, message, token}` (spec §9.2, §10.1),
//! v1's rotated body token, and the `result` of the token request (v1: the file, or `{token, uploadUrl}`;
//! v2: `{hashCached, file}` or `{uploadInfo: {uploadToken, uploadUrl}}`, spec §9.3, §10.2).
//!
//! Asserts, besides "never panics":
//! - an envelope is a success only with an HTTP 2xx status and `success: true`, and its `result` comes out
//!   unchanged;
//! - HTTP 401 is always an `Auth` error, `Server` comes only with HTTP 5xx, `Conflict` only with the
//!   "already exists" codes;
//! - a rotated token is never empty and is the body's `token`;
//! - a token reply yields either a file with a non-empty id or an http(s) upload host;
//! - error messages stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pandrop_engine::Error;
use pandrop_engine::fuzzing::{self, Pan6Token};
use pandrop_fuzz::{check_error, is_success, json_view, status_and_body};
use serde_json::Value;

fn check_token_reply(result: &Value, input_len: usize) {
    match fuzzing::pan6_token_reply(result) {
        Ok(Pan6Token::Done(file)) => assert!(!file.id.trim().is_empty(), "an instant hit without a file id"),
        Ok(Pan6Token::Grant { url, deadline_ms: _ }) => {
            assert!(
                matches!(url.scheme(), "http" | "https") && url.host().is_some(),
                "upload host {url}"
            );
        }
        Err(err) => check_error(&err, input_len),
    }
}

fuzz_target!(|data: &[u8]| {
    let (status, body) = status_and_body(data);
    // `None` when the reply is not JSON, or JSON a `Value` cannot hold; the checks that need it are skipped.
    let json = json_view(body);
    match fuzzing::pan6_envelope(status, body) {
        Ok(result) => {
            assert!(is_success(status), "HTTP {status} read as a success");
            match &json {
                Some(Value::Object(map)) => {
                    assert_eq!(map.get("success"), Some(&Value::Bool(true)), "a success needs success: true");
                    assert_eq!(&result, map.get("result").unwrap_or(&Value::Null), "result changed on the way");
                }
                // Serde also reads a struct from an array of its fields in order.
                Some(Value::Array(items)) => assert_eq!(items.first(), Some(&Value::Bool(true)), "a success needs success: true"),
                // Serde skips the fields a struct does not name without checking them (text, number range).
                _ => {}
            }
            check_token_reply(&result, body.len());
        }
        Err(err) => {
            check_error(&err, body.len());
            if status == 401 {
                assert!(matches!(err, Error::Auth { .. }), "HTTP 401 read as {err:?}");
            }
            match &err {
                Error::Server { status: s, .. } => assert!(*s == status && (500..600).contains(&status), "Server for HTTP {status}"),
                Error::Conflict { .. } if json.is_some() => {
                    // `code` is the second field when serde reads the envelope from an array.
                    let code = match &json {
                        Some(Value::Array(items)) => items.get(1),
                        other => other.as_ref().and_then(|v| v.get("code")),
                    };
                    let code = code.and_then(Value::as_str);
                    assert!(
                        matches!(code, Some("FILE_AREADY_EXISTS" | "FILE_ALREADY_EXISTS")),
                        "Conflict for code {code:?}"
                    );
                }
                _ => {}
            }
        }
    }
    if let Some(token) = fuzzing::pan6_body_token(body) {
        assert!(!token.is_empty(), "an empty rotated token");
        if let Some(Value::Object(map)) = &json {
            assert_eq!(
                map.get("token").and_then(Value::as_str),
                Some(token.as_str()),
                "the rotated token is not the body's"
            );
        }
    }
    // The token reply's `result` on its own, so the fuzzer need not wrap it in an envelope to reach it.
    if let Some(value) = &json {
        check_token_reply(value, body.len());
    }
});
