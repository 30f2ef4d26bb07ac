//! HalalCloud v6 (spec `halalcloud.md`): every answer the provider reads into a type of its own
//! (`create_upload_task`'s `UploadTask`, the upload host's finish answer `UploadedFile`, `File`, a `list` page,
//! `User`, the device-code answer and its state, the token refresh, offline `parse` and `add`) through
//! `api::decode`, and the block probe's answer; the same input is also read as a `.torrent` made into a
//! magnet link (spec §5.4) and, when it is UTF-8, as a block CID (spec §6.4).
//!
//! Asserts, besides "never panics":
//! - an answer is accepted only with an HTTP 2xx status, and only as a JSON object (or the array serde also
//!   reads a struct from); the probe only with HTTP 200 and a body of exactly JSON `true` or `false`
//!   (white space around it as JSON allows), and then it is that value;
//! - error kinds follow the status map of spec §2: `Auth` exactly for HTTP 401 / 403, `RateLimited` for 429,
//!   `Conflict` for 409, `Server` (with that status) for 5xx other than 501; a 2xx answer that is refused is a
//!   `Protocol` error;
//! - an upload task's `checked_block_size()` refuses exactly a `block_size` of 0 and otherwise gives it back,
//!   `block_size` is the JSON's (string or number), and `cid_params()` has no zeros left; a list page's
//!   continuation is the JSON's `list_info.token` when not empty; a device-code poll interval is at least a
//!   second, and only `AUTHORIZATION_SUCCESS` is authorised;
//! - a torrent's btih is 40 lower-case hex digits, the hex SHA-1 of a `d…e` span of the input that follows a
//!   `4:info` key (the `info` dictionary's own bytes), and the magnet link is
//!   `magnet:?xt=urn:btih:<btih>`, then `&dn=` exactly when there is a name and one `&tr=` a tracker, all
//!   ASCII; the name is not empty, the trackers are trimmed, not empty and not repeated; a refused torrent
//!   is `InvalidInput`;
//! - a CID that `parse_cid` accepts uses SHA-256 and `block_cid` writes the very same text back from its
//!   parts (only the canonical form is accepted); a refused one is `InvalidInput`;
//! - error messages stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pandrop_engine::Error;
use pandrop_engine::fuzzing::{self, HalalRead, HalalReply};
use pandrop_fuzz::{check_error, is_success, json_view, status_and_body};
use serde_json::{Map, Value};
use sha1::{Digest as _, Sha1};
use std::time::Duration;

/// The magnet link's fixed start (spec §5.4).
const MAGNET_PREFIX: &str = "magnet:?xt=urn:btih:";

/// Multihash `sha2-256`, the only block hash type (spec §6 step 4).
const SHA2_256: u64 = 0x12;

/// The kinds of error spec §2 maps statuses to: exactly these statuses give them, whatever the body.
fn check_status_map(err: &Error, status: u16, input_len: usize) {
    check_error(err, input_len);
    let shown = err.to_string();
    assert_eq!(
        matches!(err, Error::Auth { .. }),
        matches!(status, 401 | 403),
        "HTTP {status} read as {shown}"
    );
    assert_eq!(
        matches!(err, Error::RateLimited { .. }),
        status == 429,
        "HTTP {status} read as {shown}"
    );
    assert_eq!(
        matches!(err, Error::Conflict { .. }),
        status == 409,
        "HTTP {status} read as {shown}"
    );
    let server = (500..600).contains(&status) && status != 501;
    match err {
        Error::Server { status: s, .. } => assert!(server && *s == status, "Server({s}) for HTTP {status}"),
        _ => assert!(!server, "HTTP {status} read as {shown}"),
    }
    if is_success(status) {
        assert!(
            matches!(err, Error::Protocol { .. }),
            "a refused HTTP {status} answer read as {shown}"
        );
    }
}

/// The integer an int64 field holds in the JSON (a number or a string of digits), `Some(0)` when absent.
fn int64_field(map: &Map<String, Value>, key: &str) -> Option<u64> {
    match map.get(key) {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        Some(_) => None,
    }
}

fn check_read(kind: HalalReply, read: &HalalRead, json: Option<&Value>) {
    let map = json.and_then(Value::as_object);
    match read {
        HalalRead::UploadTask {
            created: _,
            block_size,
            checked_block_size,
            cid_params,
        } => {
            assert_eq!(kind, HalalReply::UploadTask);
            match checked_block_size {
                Ok(size) => assert!(*size == *block_size && *size > 0, "checked_block_size {size} of {block_size}"),
                Err(err) => {
                    assert_eq!(*block_size, 0, "checked_block_size refused {block_size}: {err}");
                    check_error(err, 0);
                }
            }
            assert!(cid_params.0 != 0 && cid_params.1 != 0, "cid_params {cid_params:?} keeps a zero");
            if let Some(map) = map {
                assert_eq!(int64_field(map, "block_size"), Some(*block_size), "block_size changed on the way");
            }
        }
        HalalRead::List { files, next_token } => {
            assert_eq!(kind, HalalReply::List);
            if let Some(token) = next_token {
                assert!(!token.is_empty(), "an empty continuation");
            }
            if let Some(map) = map {
                // `list_info` read from an array of its fields has no `token` key to compare with.
                match map.get("list_info") {
                    None | Some(Value::Null) => assert_eq!(*next_token, None, "a continuation from nowhere"),
                    Some(Value::Object(info)) => {
                        let token = info.get("token").and_then(Value::as_str).filter(|t| !t.is_empty());
                        assert_eq!(next_token.as_deref(), token, "the continuation is not the answer's");
                    }
                    Some(_) => {}
                }
                if let Some(Value::Array(entries)) = map.get("files") {
                    assert_eq!(*files, entries.len(), "entries lost");
                }
            }
        }
        HalalRead::DeviceFlow { poll_interval, authorized } => {
            assert!(matches!(kind, HalalReply::DeviceCode | HalalReply::DeviceCodeState));
            assert!(*poll_interval >= Duration::from_secs(1), "polls {poll_interval:?} apart");
            if kind == HalalReply::DeviceCode {
                assert!(!authorized, "a device code read as authorised");
            }
            if let Some(map) = map {
                let success = map.get("status").and_then(Value::as_str) == Some("AUTHORIZATION_SUCCESS");
                assert!(!authorized || success, "authorised without AUTHORIZATION_SUCCESS");
                if kind == HalalReply::DeviceCodeState {
                    assert_eq!(*authorized, success, "AUTHORIZATION_SUCCESS not read as authorised");
                }
            }
        }
        HalalRead::Other => {}
    }
}

/// Whether `btih` is the hex SHA-1 of a `d…e` span of `data` right after a `4:info` key.
fn is_info_hash(data: &[u8], btih: &str) -> bool {
    const KEY: &[u8] = b"4:info";
    (0..data.len().saturating_sub(KEY.len()))
        .filter(|&at| data[at..].starts_with(KEY))
        .any(|at| {
            let start = at + KEY.len();
            if data.get(start) != Some(&b'd') {
                return false;
            }
            // One pass from `start`, finishing a copy of the running hash at every `e`.
            let mut hasher = Sha1::new();
            let mut hashed = start;
            (start..data.len()).filter(|&i| data[i] == b'e').any(|end| {
                hasher.update(&data[hashed..=end]);
                hashed = end + 1;
                hex(&hasher.clone().finalize()) == btih
            })
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_torrent(data: &[u8]) {
    match fuzzing::torrent_magnet(data) {
        Ok(magnet) => {
            let btih = &magnet.btih;
            assert!(
                btih.len() == 40 && btih.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "btih {btih:?}"
            );
            assert!(
                is_info_hash(data, btih),
                "btih {btih} is the SHA-1 of no info dictionary in the input"
            );
            let rest = magnet.uri.strip_prefix(MAGNET_PREFIX).and_then(|r| r.strip_prefix(btih.as_str()));
            let rest = rest.unwrap_or_else(|| panic!("magnet {:?} does not start with the btih", magnet.uri));
            assert!(magnet.uri.is_ascii(), "magnet {:?} is not escaped", magnet.uri);
            assert_eq!(rest.matches("&dn=").count(), usize::from(magnet.name.is_some()), "dn in {rest:?}");
            assert_eq!(rest.matches("&tr=").count(), magnet.trackers.len(), "tr in {rest:?}");
            assert_eq!(
                rest.matches('&').count(),
                usize::from(magnet.name.is_some()) + magnet.trackers.len()
            );
            if let Some(name) = &magnet.name {
                assert!(!name.is_empty(), "an empty name");
            }
            for (i, tracker) in magnet.trackers.iter().enumerate() {
                assert!(!tracker.is_empty() && tracker.trim() == tracker, "tracker {tracker:?}");
                assert!(!magnet.trackers[..i].contains(tracker), "tracker {tracker:?} repeated");
            }
        }
        Err(err) => {
            assert!(matches!(err, Error::InvalidInput { .. }), "a refused torrent as {err:?}");
            check_error(&err, data.len());
        }
    }
}

fn check_cid(text: &str) {
    match fuzzing::cid_round_trip(text) {
        Ok(read) => {
            assert_eq!(read.hash_type, SHA2_256, "CID {text:?} read with hash type {:#x}", read.hash_type);
            match &read.rewritten {
                Ok(again) => assert_eq!(again, text, "CID {text:?} (codec {:#x}) written back differently", read.codec),
                Err(err) => panic!("CID {text:?} read but not written again: {err}"),
            }
        }
        Err(err) => {
            assert!(matches!(err, Error::InvalidInput { .. }), "a refused CID as {err:?}");
            check_error(&err, text.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (status, body) = status_and_body(data);
    // `None` when the reply is not JSON, or JSON a `Value` cannot hold; the checks that need it are skipped.
    let json = json_view(body);
    for kind in HalalReply::ALL {
        match fuzzing::halalcloud_reply(kind, status, body) {
            Ok(read) => {
                assert!(is_success(status), "{kind:?}: HTTP {status} read as a success");
                if let Some(value) = &json {
                    assert!(value.is_object() || value.is_array(), "{kind:?} read from {value}");
                }
                check_read(kind, &read, json.as_ref());
            }
            Err(err) => check_status_map(&err, status, body.len()),
        }
    }

    // serde_json's white space is these four bytes only (no form feed, no Unicode spaces).
    let json_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = body.iter().position(|b| !json_space(b)).unwrap_or(body.len());
    let end = body.iter().rposition(|b| !json_space(b)).map_or(start, |last| last + 1);
    let expected = match &body[start..end] {
        b"true" if status == 200 => Some(true),
        b"false" if status == 200 => Some(false),
        _ => None,
    };
    match fuzzing::halalcloud_probe(status, body) {
        Ok(held) => assert_eq!(Some(held), expected, "probe answer {body:?} with HTTP {status} read as {held}"),
        Err(err) => {
            check_status_map(&err, status, body.len());
            assert_eq!(expected, None, "probe answer {body:?} with HTTP {status} refused: {err}");
        }
    }

    check_torrent(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_cid(text);
    }
});
