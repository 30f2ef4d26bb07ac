//! 123pan replies: the `{code, message, data, x-traceID}` envelope (spec §2.4) and the typed `data` of every
//! call the provider makes (access_token, create, slice, upload_complete, domain, single/create, mkdir, list).
//!
//! Asserts, besides "never panics":
//! - a reply decodes as a success only with an HTTP 2xx status and an integer `code` of 0, and its `data`
//!   comes out unchanged (`null` and absent both mean none);
//! - error kinds follow the codes and statuses of spec §6.1: `Server` only for HTTP 5xx, `Auth` only for
//!   code 401 / 40140116 or HTTP 401 / 403, `RateLimited` only for code or HTTP 429, `Conflict` only for
//!   code 1;
//! - a typed reply is accepted only when its envelope is;
//! - error messages stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pandrop_engine::Error;
use pandrop_engine::fuzzing::{self, Pan123Reply};
use pandrop_fuzz::{check_error, is_success, json_view, status_and_body};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (status, body) = status_and_body(data);
    // `None` when the reply is not JSON, or JSON a `Value` cannot hold; the checks that need it are skipped.
    let json = json_view(body);
    let viewed = json.is_some();
    // Serde also reads a struct from an array of its fields in order (`[code, message, data]`).
    let code = match &json {
        Some(Value::Object(map)) => map.get("code").and_then(Value::as_i64),
        Some(Value::Array(items)) => items.first().and_then(Value::as_i64),
        _ => None,
    };
    let envelope = fuzzing::pan123_envelope(status, body);
    match &envelope {
        Ok(data) => {
            assert!(is_success(status), "HTTP {status} read as a success");
            if viewed {
                assert_eq!(code, Some(0), "a success needs code 0");
            }
            if let Some(Value::Object(map)) = &json {
                assert_eq!(data.as_ref(), map.get("data").filter(|d| !d.is_null()), "data changed on the way");
            }
        }
        Err(err) => {
            check_error(err, body.len());
            match err {
                Error::Server { status: s, .. } => assert!(*s == status && (500..600).contains(&status), "Server for HTTP {status}"),
                Error::Auth { .. } => assert!(
                    !viewed || matches!(code, Some(401 | 40_140_116)) || matches!(status, 401 | 403),
                    "Auth for code {code:?}, HTTP {status}"
                ),
                Error::RateLimited { .. } => assert!(
                    !viewed || code == Some(429) || status == 429,
                    "RateLimited for code {code:?}, HTTP {status}"
                ),
                Error::Conflict { .. } => assert!(!viewed || code == Some(1), "Conflict for code {code:?}"),
                _ => {}
            }
        }
    }
    for kind in Pan123Reply::ALL {
        match fuzzing::pan123_reply(kind, status, body) {
            Ok(()) => assert!(envelope.is_ok(), "{kind:?} accepted a reply whose envelope is an error"),
            Err(err) => check_error(&err, body.len()),
        }
    }
});
