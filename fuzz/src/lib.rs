//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use pandrop_engine::Error;

/// The etag of `abc` (protocol doc `wcs-6pan.md` §7), the one the seed replies name.
pub const SEED_ETAG: &str = "FqmZPjZHBoFquj4lcXhQwmyc0Nid";

/// The size of the file the seed replies describe.
pub const SEED_SIZE: u64 = 3;

/// HTTP statuses worth trying: success, the documented error statuses of both clouds, and odd ones.
const STATUSES: [u16; 24] = [
    200, 201, 204, 299, 0, 100, 199, 300, 304, 400, 401, 403, 404, 405, 406, 408, 412, 429, 500, 502, 503, 579, 599, 701,
];

/// Splits a fuzz input into an HTTP status and a reply body.
///
/// An input that starts like JSON (`{`, `[`, `"` or white space) is a body answered with 200, so seed files
/// are plain replies. Otherwise the first byte picks a status from a table, except `0xFF`, after which two
/// bytes give any status (big-endian); the rest is the body.
pub fn status_and_body(data: &[u8]) -> (u16, &[u8]) {
    match data {
        [] => (200, data),
        [b'{' | b'[' | b'"' | b' ' | b'\t' | b'\r' | b'\n', ..] => (200, data),
        [0xFF, hi, lo, body @ ..] => (u16::from_be_bytes([*hi, *lo]), body),
        [first, body @ ..] => (STATUSES[usize::from(*first) % STATUSES.len()], body),
    }
}

/// Whether an HTTP status is a success.
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Uses every accessor of an error a caller would use (message, closed code, retryability), so a panic in
/// any of them shows up, and checks that the message stays bounded whatever the server sent.
pub fn check_error(err: &Error, input_len: usize) {
    let message = err.to_string();
    let _ = err.code().as_str();
    let _ = err.is_retryable();
    // Server text may be quoted (and escaped) in a message, but never repeated without bound.
    assert!(
        message.len() <= 8 * input_len + 1024,
        "a {}-byte reply made a {}-byte error message",
        input_len,
        message.len()
    );
}

/// A size a callback or reply states (a number, or a string of digits), when it is small enough to build an
/// upload session for; `None` otherwise.
pub fn stated_size(value: Option<&serde_json::Value>) -> Option<u64> {
    let size = match value? {
        serde_json::Value::Number(n) => n.as_u64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (size <= 64 << 30).then_some(size)
}

/// The reply as JSON, for checking what the parsers made of it. Invalid UTF-8 is replaced first: serde skips
/// the fields a struct does not name without checking their text, so a reply the engine rightly accepts may
/// carry bytes a `Value` would refuse. Numbers out of range in such fields are skipped unchecked too; then
/// there is no view (`None`) and the checks that need one are left out.
pub fn json_view(body: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_str(&String::from_utf8_lossy(body)).ok()
}
