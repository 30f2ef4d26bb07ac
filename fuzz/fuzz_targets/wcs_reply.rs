//! WCS replies (spec §3.5, §3.6, §6): `mkblk` / `bput` receipts, `mkfile` results (`{hash, response}`, the
//! response being 6pan's callback body), the error body `{code, message}` of every call, and the put policy
//! inside an upload token.
//!
//! Asserts, besides "never panics":
//! - the reaction to a failure follows spec §6: "send the file again" only at mkfile, "token expired" only
//!   as an `Auth` error, a stored-but-callback-failed (579) never retried blindly, `Server` only for 5xx
//!   codes;
//! - mkfile finishes only when its `hash` is the local etag and its `response` names a file; the file's id
//!   is the callback's;
//! - error messages stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pandrop_engine::Error;
use pandrop_engine::fuzzing::{self, WcsCall, WcsReaction};
use pandrop_fuzz::{SEED_ETAG, SEED_SIZE, check_error, json_view, stated_size, status_and_body};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (status, body) = status_and_body(data);
    for call in [WcsCall::Chunk, WcsCall::Mkfile, WcsCall::Form] {
        let (reaction, err) = fuzzing::wcs_failure(call, status, body);
        check_error(&err, body.len());
        match reaction {
            WcsReaction::RedoFile => assert_eq!(call, WcsCall::Mkfile, "send the file again after a {call:?} failure"),
            WcsReaction::Expired => assert!(matches!(err, Error::Auth { .. }), "expired token as {err:?}"),
            WcsReaction::CallbackFailed => assert!(!err.is_retryable(), "a failed callback retried blindly"),
            WcsReaction::RedoBlock | WcsReaction::Other => {}
        }
        if let Error::Server { status: code, .. } = err {
            assert!((500..600).contains(&code), "Server error with code {code}");
        }
    }

    if let Ok(receipt) = fuzzing::wcs_chunk_receipt(body) {
        let _ = (receipt.ctx.len(), receipt.checksum, receipt.crc32, receipt.offset);
    }

    let json = json_view(body);
    let hash = json.as_ref().and_then(|v| v.get("hash")).and_then(Value::as_str);
    let response = json.as_ref().and_then(|v| v.get("response")).and_then(Value::as_str);
    // With the seeds' etag and size, then with the reply's own hash and the size its callback states, so
    // the fuzzer reaches the callback checks without guessing a 28-character etag.
    let callback_size = response
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|cb| stated_size(cb.get("result").and_then(|r| r.get("size"))));
    let mut tries = vec![(SEED_ETAG, SEED_SIZE)];
    if let Some(hash) = hash {
        tries.push((hash, callback_size.unwrap_or(SEED_SIZE)));
    }
    for (etag, size) in tries {
        match fuzzing::wcs_mkfile(body, etag, size) {
            // Without a JSON view of the reply (see `json_view`) there is nothing to compare with.
            Ok(file) if json.is_some() => {
                assert_eq!(hash, Some(etag), "mkfile finished with another hash");
                let response = response.expect("mkfile finished without a callback response");
                let (remote, _) = fuzzing::pan6_callback(response).expect("mkfile finished on a callback 6pan refuses");
                assert_eq!(file.id, remote.id, "mkfile finished as another file");
            }
            Ok(_) => {}
            Err(err) => check_error(&err, body.len()),
        }
    }

    let _ = fuzzing::wcs_token_deadline(&String::from_utf8_lossy(body));
});
