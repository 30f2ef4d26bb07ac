//! HL6-HMAC-SHA256, the request signature of the v6 API (spec §4), written from the spec alone. The server
//! recomputes it from what it received (see `auth`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The algorithm name at the head of `Authorization` and of the string to sign.
pub(crate) const ALGORITHM: &str = "HL6-HMAC-SHA256";
/// The last element of every credential scope.
pub(crate) const TERMINATOR: &str = "hl6_request";

/// What goes into a canonical request.
#[derive(Debug, Clone)]
pub(crate) struct CanonicalInput<'a> {
    /// `POST`.
    pub(crate) method: &'a str,
    /// The URL path as sent.
    pub(crate) path: &'a str,
    /// The canonical query string (see [`canonical_query`]); empty when there is none.
    pub(crate) query: &'a str,
    /// The signed headers, lower-case name and value exactly as sent, sorted by name.
    pub(crate) headers: &'a [(String, String)],
    /// The body bytes.
    pub(crate) body: &'a [u8],
}

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request (step 4): METHOD, PATH, QUERY, the canonical headers (each `name:value\n`), the
/// signed header names `;`-joined, and the hex SHA-256 of the body, joined by `\n`.
pub(crate) fn canonical_request(input: &CanonicalInput<'_>) -> String {
    let canonical_headers: String = input.headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed: Vec<&str> = input.headers.iter().map(|(n, _)| n.as_str()).collect();
    [
        input.method,
        input.path,
        input.query,
        &canonical_headers,
        &signed.join(";"),
        &sha256_hex(input.body),
    ]
    .join("\n")
}

/// The credential scope (step 5): `D/<token>/hl6_request`.
pub(crate) fn scope(date: &str, token: &str) -> String {
    format!("{date}/{token}/{TERMINATOR}")
}

/// The string to sign (step 6).
pub(crate) fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{timestamp}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The signature (step 7): hex HMAC chain over `"HL6"+secret`, the date, the token and `hl6_request`.
pub(crate) fn signature(secret: &str, date: &str, token: &str, string_to_sign: &str) -> String {
    let k1 = hmac(format!("HL6{secret}").as_bytes(), date.as_bytes());
    let k2 = hmac(&k1, token.as_bytes());
    let k3 = hmac(&k2, TERMINATOR.as_bytes());
    hex::encode(hmac(&k3, string_to_sign.as_bytes()))
}

/// Whether two hex signatures are equal, in time independent of where they differ.
pub(crate) fn same_signature(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 3986 escaping: unreserved characters stay, every other byte becomes `%XX` (upper-case hex).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query (step 4): the received query decoded, each `k=v` RFC 3986-escaped, sorted by key
/// (then value), `&`-joined; empty for no query.
pub(crate) fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (escape(&k), escape(&v)))
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of spec §4, exactly.
    #[test]
    fn worked_example_of_the_spec() {
        let headers: Vec<(String, String)> = [
            ("content-type", "application/json; charset=utf-8"),
            ("host", "openapi.2dland.cn"),
            ("other-header", "other-value"),
            ("x-hl-nonce", "1a2b3c4d5e6f"),
            ("x-hl-timestamp", "2025-01-02T03:04:05Z"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        let body = br#"{"path":"/PanDrop/a.bin","size":"5242880"}"#;
        assert_eq!(body.len(), 42);
        let input = CanonicalInput {
            method: "POST",
            path: "/v6/userfile/create_upload_task",
            query: "",
            headers: &headers,
            body,
        };
        let canonical = canonical_request(&input);
        let expected = "POST\n/v6/userfile/create_upload_task\n\n\
content-type:application/json; charset=utf-8\n\
host:openapi.2dland.cn\n\
other-header:other-value\n\
x-hl-nonce:1a2b3c4d5e6f\n\
x-hl-timestamp:2025-01-02T03:04:05Z\n\
\n\
content-type;host;other-header;x-hl-nonce;x-hl-timestamp\n\
3c12d2500e334adf034fcea5656edfa98cad879ec75a22aea155c3b772572667";
        assert_eq!(canonical, expected);
        let scope = scope("2025-01-02", "");
        assert_eq!(scope, "2025-01-02//hl6_request");
        let to_sign = string_to_sign("2025-01-02T03:04:05Z", &scope, &canonical);
        assert_eq!(
            to_sign,
            "HL6-HMAC-SHA256\n2025-01-02T03:04:05Z\n2025-01-02//hl6_request\n\
78796d7c530dcd252fc7274f69697ca2de2c99101edb210c953c9bd5bb6e337e"
        );
        assert_eq!(
            signature("strict-secret", "2025-01-02", "", &to_sign),
            "cdbd6e1c2a96197abf1f45803eb32ae991e8a4d2895a37a08f0fbc0e9aa10929"
        );
    }

    #[test]
    fn query_is_escaped_and_sorted() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=x%20y&c=%2F~"), "a=x%20y&b=2&c=%2F~");
        assert!(same_signature("ab", "ab"));
        assert!(!same_signature("ab", "ac"));
        assert!(!same_signature("ab", "abc"));
    }
}
