//! The callback body 6pan returns through WCS: mkfile's `response` string (spec §3.6, §10.3) and the form
//! upload's reply, which may be the JSON itself or URL-safe base64 of it (spec §4, Q5).
//!
//! The input is the callback body. Asserts, besides "never panics":
//! - a mkfile whose `response` is this body finishes only if 6pan's callback parser accepts the body, as
//!   the same file, and with a hash that is the local etag (when it states one);
//! - the form upload reads the body the same way whether it comes as JSON or as URL-safe base64 of it
//!   (with or without padding);
//! - error messages stay bounded.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use pandrop_engine::fuzzing;
use pandrop_fuzz::{SEED_ETAG, SEED_SIZE, check_error, stated_size};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let json: Option<Value> = serde_json::from_slice(data).ok();
    let size = stated_size(json.as_ref().and_then(|v| v.get("result")).and_then(|r| r.get("size"))).unwrap_or(SEED_SIZE);

    let plain = fuzzing::wcs_form(data, SEED_ETAG, size);
    if let Err(err) = &plain {
        check_error(err, data.len());
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let callback = fuzzing::pan6_callback(text);
    if let Err(err) = &callback {
        check_error(err, data.len());
    }

    let mkfile = serde_json::json!({"hash": SEED_ETAG, "response": text}).to_string();
    match fuzzing::wcs_mkfile(mkfile.as_bytes(), SEED_ETAG, size) {
        Ok(file) => {
            let (remote, hash) = callback.as_ref().expect("mkfile finished on a callback 6pan refuses");
            assert_eq!(file.id, remote.id, "mkfile finished as another file");
            assert!(hash.as_deref().is_none_or(|h| h == SEED_ETAG), "mkfile finished with another hash");
        }
        Err(err) => check_error(&err, mkfile.len()),
    }

    // A JSON body reads the same plain or wrapped in base64.
    if text.trim_start().starts_with('{') {
        for engine in [URL_SAFE, URL_SAFE_NO_PAD] {
            let wrapped = engine.encode(text);
            let unwrapped = fuzzing::wcs_form(wrapped.as_bytes(), SEED_ETAG, size);
            match (&plain, &unwrapped) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "base64 changed the file"),
                (Err(_), Err(_)) => {}
                _ => panic!("plain {plain:?} but base64 {unwrapped:?}"),
            }
        }
    }
});
