//! HL6-HMAC-SHA256 request signing (spec §4).
//!
//! Like AWS SigV4: a canonical request (method, path, query, the signed headers, the body's SHA-256) is
//! hashed into a string to sign, which is MACed with a key derived from the client secret, the day and the
//! access token. The steps are separate functions so each can be checked against the spec's worked example.
//!
//! The access token is part of the credential scope, so the `Authorization` header carries it in clear: the
//! header is marked sensitive, and nothing here logs or formats it.

use chrono::{DateTime, Utc};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, Ordering};
use url::Url;

use super::PROVIDER;
use super::escape::rfc3986;
use crate::error::{Error, Result};

/// The algorithm name, first in the string to sign and in `Authorization`.
pub(crate) const ALGORITHM: &str = "HL6-HMAC-SHA256";
/// Prefixed to the client secret to make the first HMAC key (spec §4 step 7).
const KEY_PREFIX: &str = "HL6";
/// The last element of the credential scope and of the key derivation.
const SCOPE_TERMINATOR: &str = "hl6_request";
/// The content type of every API body; signed, so it must be sent exactly like this (no `.json()`, which
/// would replace it with a bare `application/json`).
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// The SDK's fixed extra header. H4 omits it; PanDrop sends and signs it as the SDK and OpenList do, since
/// whether the server requires it is unknown (spec §9 U10).
const OTHER_HEADER: (&str, &str) = ("other-header", "other-value");
/// The nonce header.
const NONCE_HEADER: &str = "x-hl-nonce";
/// The timestamp header.
const TIMESTAMP_HEADER: &str = "x-hl-timestamp";

/// Signs requests for one client ID.
pub(crate) struct Signer {
    client_id: String,
    secret: SecretString,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// The headers one signing produced.
///
/// `Debug` is safe: the `Authorization` value is marked sensitive, which `HeaderValue` prints as `Sensitive`.
#[derive(Debug)]
pub(crate) struct Signed {
    /// The `Host` value that was signed. reqwest sets `Host` itself from the URL (port omitted for the
    /// scheme's default), and this is built the same way, so it is not in [`Signed::headers`]; it is kept
    /// so callers and tests can check the two agree.
    pub host: String,
    /// Everything else to send: `x-hl-nonce`, `x-hl-timestamp`, `other-header`, `content-type` (non-empty
    /// body only) and `authorization`.
    pub headers: HeaderMap,
}

/// The canonical request and the list of header names it signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Canonical {
    /// Lower-case header names, sorted, `;`-joined.
    pub signed_headers: String,
    /// The `\n`-joined canonical request text.
    pub request: String,
}

impl Signer {
    /// A signer for `client_id` with its `secret`.
    ///
    /// The client ID travels in `Authorization` as `Credential=<id>/<scope>`, so it must be printable ASCII
    /// without the characters that delimit that header (space, `,`, `/`).
    pub(crate) fn new(client_id: impl Into<String>, secret: SecretString) -> Result<Self> {
        let client_id = client_id.into();
        if client_id.is_empty() || !client_id.bytes().all(|b| b.is_ascii_graphic() && b != b',' && b != b'/') {
            return Err(Error::invalid(
                "HalalCloud client ID",
                "must be non-empty printable ASCII without spaces, commas or slashes",
            ));
        }
        Ok(Self { client_id, secret })
    }

    /// The client ID this signer names in `Authorization`.
    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Signs a request now, with a fresh nonce: what every attempt (retries included) must do, since the
    /// server may reject a reused nonce or a stale timestamp (spec §4, last paragraph).
    pub(crate) fn sign_now(&self, method: &Method, url: &Url, body: &[u8], token: Option<&SecretString>) -> Result<Signed> {
        self.sign(method, url, body, token, Utc::now(), &fresh_nonce())
    }

    /// Signs `method url` with `body` at time `at` with `nonce`; `token` is the access token, `None` (or
    /// empty) for a personal key (spec §3).
    ///
    /// The body must be sent byte for byte as given, with the returned `content-type`.
    pub(crate) fn sign(
        &self,
        method: &Method,
        url: &Url,
        body: &[u8],
        token: Option<&SecretString>,
        at: DateTime<Utc>,
        nonce: &str,
    ) -> Result<Signed> {
        let nonce_value = HeaderValue::from_str(nonce).map_err(|_| Error::invalid("request nonce", "must be printable ASCII"))?;
        let token = token.map(ExposeSecret::expose_secret).unwrap_or_default();
        let host = canonical_host(url)?;
        let timestamp = format_timestamp(at);
        let date = &timestamp[..10];

        let mut headers = vec![
            ("host", host.as_str()),
            (NONCE_HEADER, nonce),
            (TIMESTAMP_HEADER, timestamp.as_str()),
            OTHER_HEADER,
        ];
        if !body.is_empty() {
            headers.push(("content-type", JSON_CONTENT_TYPE));
        }
        let canonical = canonical_request(method.as_str(), url.path(), &canonical_query(url), &headers, body);
        let scope = credential_scope(date, token);
        let to_sign = string_to_sign(&timestamp, &scope, &canonical.request);
        let key = signing_key(self.secret.expose_secret(), date, token);
        let signature = signature(&key, &to_sign);
        let authorization = authorization(&self.client_id, &scope, &canonical.signed_headers, &signature);

        let mut out = HeaderMap::with_capacity(5);
        out.insert(HeaderName::from_static(NONCE_HEADER), nonce_value);
        // The timestamp is built from digits, `-`, `:`, `T` and `Z` only.
        out.insert(
            HeaderName::from_static(TIMESTAMP_HEADER),
            HeaderValue::from_str(&timestamp).expect("timestamp is ASCII"),
        );
        out.insert(HeaderName::from_static(OTHER_HEADER.0), HeaderValue::from_static(OTHER_HEADER.1));
        if !body.is_empty() {
            out.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
        }
        // The client ID was checked in `new`, so only the cloud's token can make this fail.
        let mut authorization = HeaderValue::from_str(&authorization).map_err(|_| Error::Protocol {
            provider: PROVIDER,
            detail: "the access token holds characters an HTTP header cannot carry".into(),
        })?;
        authorization.set_sensitive(true);
        out.insert(AUTHORIZATION, authorization);
        Ok(Signed { host, headers: out })
    }
}

/// `T`: `at` in UTC as `YYYY-MM-DDTHH:MM:SSZ` (Go's `time.RFC3339` of a UTC time, whole seconds).
pub(crate) fn format_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A fresh nonce: the Unix time in nanoseconds in lower-case base 36, as the SDK makes it (H1 signer.go).
///
/// Two calls in the same nanosecond (or on a coarse clock) would collide, so the value is kept strictly
/// increasing within the process: a reading not above the last one becomes the last one plus one.
pub(crate) fn fresh_nonce() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = Utc::now().timestamp_nanos_opt().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last.wrapping_add(1));
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return base36(next),
            Err(seen) => last = seen,
        }
    }
}

/// `n` in lower-case base 36 (Go's `strconv.FormatInt(n, 36)` for non-negative `n`).
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(13);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("base-36 digits are ASCII")
}

/// The signed `host`: the URL's host, with `:port` only when the port is not the scheme's default. The `url`
/// crate already drops a default port, and reqwest builds `Host` the same way, so the two agree.
pub(crate) fn canonical_host(url: &Url) -> Result<String> {
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::invalid(format!("endpoint {}", url.scheme()), "the URL has no host"))?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// The canonical query: empty without one; else each pair decoded, RFC 3986-escaped as `k=v`, sorted (by
/// key, then value for repeated keys) and `&`-joined (spec §4 step 4).
///
/// Pairs are decoded as `application/x-www-form-urlencoded`, so a literal `+` reads as a space; the v6 API
/// takes no query at all (spec §2), so this only matters for tests.
pub(crate) fn canonical_query(url: &Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (rfc3986(k.as_bytes()), rfc3986(v.as_bytes())))
        .collect();
    pairs.sort();
    let parts: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join("&")
}

/// The canonical request (spec §4 steps 2–4) from lower-case header `(name, value)` pairs, in any order.
pub(crate) fn canonical_request(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Canonical {
    let mut headers = headers.to_vec();
    headers.sort_unstable();
    let canonical_headers: String = headers.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let signed_headers = headers.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(";");
    let body_hash = hex::encode(openssl::sha::sha256(body));
    // `canonical_headers` ends in `\n`, so a blank line precedes the signed header list.
    let request = [method, path, query, &canonical_headers, &signed_headers, &body_hash].join("\n");
    Canonical { signed_headers, request }
}

/// The credential scope `D/<token>/hl6_request` (an empty token gives `D//hl6_request`).
pub(crate) fn credential_scope(date: &str, token: &str) -> String {
    format!("{date}/{token}/{SCOPE_TERMINATOR}")
}

/// The string to sign: algorithm, `T`, scope and the hex SHA-256 of the canonical request, one per line.
pub(crate) fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    let digest = hex::encode(openssl::sha::sha256(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{timestamp}\n{scope}\n{digest}")
}

/// The signing key: HMAC chained over the day, the token and `hl6_request`, starting from `"HL6" + secret`.
pub(crate) fn signing_key(secret: &str, date: &str, token: &str) -> [u8; 32] {
    let k1 = hmac_sha256(format!("{KEY_PREFIX}{secret}").as_bytes(), date.as_bytes());
    let k2 = hmac_sha256(&k1, token.as_bytes());
    hmac_sha256(&k2, SCOPE_TERMINATOR.as_bytes())
}

/// The hex signature of `string_to_sign` under `key`.
pub(crate) fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(key, string_to_sign.as_bytes()))
}

/// The `Authorization` value, fields separated by `, ` as the SDK sends them (H4 uses a bare `,`).
pub(crate) fn authorization(client_id: &str, scope: &str, signed_headers: &str, signature: &str) -> String {
    format!("{ALGORITHM} Credential={client_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}")
}

/// HMAC-SHA256 of `data` under `key`.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // OpenSSL fails here only when it cannot allocate, as with MD5 in `crate::hash::md5`.
    let pkey = PKey::hmac(key).expect("OpenSSL makes an HMAC key");
    let mut mac = openssl::sign::Signer::new(MessageDigest::sha256(), &pkey).expect("OpenSSL provides HMAC-SHA256");
    mac.update(data).expect("OpenSSL HMAC update");
    let mut out = [0u8; 32];
    let written = mac.sign(&mut out).expect("OpenSSL HMAC finish");
    debug_assert_eq!(written, out.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const EXAMPLE_BODY: &[u8] = br#"{"path":"/PanDrop/a.bin","size":"5242880"}"#;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("valid time")
    }

    fn header<'a>(signed: &'a Signed, name: &str) -> &'a str {
        signed.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// RFC 4231 test case 2, so the HMAC itself is known good before the vectors build on it.
    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// The spec's worked example (§4), step by step and end to end.
    #[test]
    fn spec_worked_example() {
        let url = Url::parse("https://openapi.2dland.cn/v6/userfile/create_upload_task").unwrap();
        let when = at(2025, 1, 2, 3, 4, 5);
        assert_eq!(format_timestamp(when), "2025-01-02T03:04:05Z");
        assert_eq!(canonical_host(&url).unwrap(), "openapi.2dland.cn");
        assert_eq!(canonical_query(&url), "");

        let headers = [
            ("x-hl-timestamp", "2025-01-02T03:04:05Z"),
            ("host", "openapi.2dland.cn"),
            ("x-hl-nonce", "1a2b3c4d5e6f"),
            ("other-header", "other-value"),
            ("content-type", JSON_CONTENT_TYPE),
        ];
        let canonical = canonical_request("POST", url.path(), "", &headers, EXAMPLE_BODY);
        let expected = "POST\n\
            /v6/userfile/create_upload_task\n\
            \n\
            content-type:application/json; charset=utf-8\n\
            host:openapi.2dland.cn\n\
            other-header:other-value\n\
            x-hl-nonce:1a2b3c4d5e6f\n\
            x-hl-timestamp:2025-01-02T03:04:05Z\n\
            \n\
            content-type;host;other-header;x-hl-nonce;x-hl-timestamp\n\
            3c12d2500e334adf034fcea5656edfa98cad879ec75a22aea155c3b772572667";
        assert_eq!(canonical.request, expected);
        assert_eq!(canonical.signed_headers, "content-type;host;other-header;x-hl-nonce;x-hl-timestamp");

        let scope = credential_scope("2025-01-02", "");
        assert_eq!(scope, "2025-01-02//hl6_request");
        let to_sign = string_to_sign("2025-01-02T03:04:05Z", &scope, &canonical.request);
        assert_eq!(
            to_sign,
            "HL6-HMAC-SHA256\n2025-01-02T03:04:05Z\n2025-01-02//hl6_request\n\
             78796d7c530dcd252fc7274f69697ca2de2c99101edb210c953c9bd5bb6e337e"
        );
        let key = signing_key("strict-secret", "2025-01-02", "");
        assert_eq!(hex::encode(key), "d2786c87e34a313aef4d6c119fe0473d36d09e00cbbfb60519bd39b090f4e176");
        let sig = signature(&key, &to_sign);
        assert_eq!(sig, "cdbd6e1c2a96197abf1f45803eb32ae991e8a4d2895a37a08f0fbc0e9aa10929");

        let signer = Signer::new("strict-id", SecretString::from("strict-secret")).unwrap();
        let signed = signer.sign(&Method::POST, &url, EXAMPLE_BODY, None, when, "1a2b3c4d5e6f").unwrap();
        assert_eq!(signed.host, "openapi.2dland.cn");
        assert_eq!(header(&signed, "x-hl-nonce"), "1a2b3c4d5e6f");
        assert_eq!(header(&signed, "x-hl-timestamp"), "2025-01-02T03:04:05Z");
        assert_eq!(header(&signed, "content-type"), JSON_CONTENT_TYPE);
        assert_eq!(header(&signed, "other-header"), "other-value");
        assert_eq!(
            header(&signed, "authorization"),
            "HL6-HMAC-SHA256 Credential=strict-id/2025-01-02//hl6_request, \
             SignedHeaders=content-type;host;other-header;x-hl-nonce;x-hl-timestamp, \
             Signature=cdbd6e1c2a96197abf1f45803eb32ae991e8a4d2895a37a08f0fbc0e9aa10929"
        );
        assert!(signed.headers.get("host").is_none(), "reqwest sets Host itself");
        // An empty token signs exactly like no token.
        let empty = SecretString::from("");
        let again = signer
            .sign(&Method::POST, &url, EXAMPLE_BODY, Some(&empty), when, "1a2b3c4d5e6f")
            .unwrap();
        assert_eq!(header(&again, "authorization"), header(&signed, "authorization"));
    }

    // Vectors with a token, a query and a port, computed independently with Python 3's hashlib/hmac/urllib:
    //
    //   import hashlib, hmac, urllib.parse
    //   def sign(cid, secret, token, T, nonce, method, host, path, params, body):
    //       D = T[:10]
    //       h = {"host": host, "x-hl-nonce": nonce, "x-hl-timestamp": T, "other-header": "other-value"}
    //       if body: h["content-type"] = "application/json; charset=utf-8"
    //       names = sorted(h)
    //       ch = "".join(f"{n}:{h[n]}\n" for n in names); sh = ";".join(names)
    //       enc = lambda s: urllib.parse.quote(s, safe="-_.~")
    //       q = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in params))
    //       cr = "\n".join([method, path, q, ch, sh, hashlib.sha256(body).hexdigest()])
    //       scope = f"{D}/{token}/hl6_request"
    //       sts = f"HL6-HMAC-SHA256\n{T}\n{scope}\n" + hashlib.sha256(cr.encode()).hexdigest()
    //       H = lambda k, m: hmac.new(k, m.encode(), hashlib.sha256).digest()
    //       k = H(H(H(("HL6" + secret).encode(), D), token), "hl6_request")
    //       return cr, sts, k.hex(), hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    //
    //   sign("pandrop-app", "s3cr3t/Key+=", "tok-123.abc", "2025-06-30T23:59:59Z", "m5q0abc", "POST",
    //        "openapi.example.test:8443", "/v6/userfile/list",
    //        [("b", "x y"), ("a", "1/2"), ("c", ""), ("z", "文")], b'{"parent":{"path":"/"}}')
    //   sign("pandrop-app", "s3cr3t/Key+=", "tok-123.abc", "2025-06-30T23:59:59Z", "m5q0abd", "GET",
    //        "127.0.0.1:9000", "/v6/user/get", [], b"")

    #[test]
    fn token_query_and_port_vector() {
        let url = Url::parse("https://openapi.example.test:8443/v6/userfile/list?b=x%20y&a=1%2F2&c=&z=%E6%96%87").unwrap();
        assert_eq!(canonical_host(&url).unwrap(), "openapi.example.test:8443");
        assert_eq!(canonical_query(&url), "a=1%2F2&b=x%20y&c=&z=%E6%96%87");
        let signer = Signer::new("pandrop-app", SecretString::from("s3cr3t/Key+=")).unwrap();
        let token = SecretString::from("tok-123.abc");
        let body = br#"{"parent":{"path":"/"}}"#;
        let when = at(2025, 6, 30, 23, 59, 59);

        let headers = [
            ("host", "openapi.example.test:8443"),
            ("x-hl-nonce", "m5q0abc"),
            ("x-hl-timestamp", "2025-06-30T23:59:59Z"),
            ("other-header", "other-value"),
            ("content-type", JSON_CONTENT_TYPE),
        ];
        let canonical = canonical_request("POST", url.path(), &canonical_query(&url), &headers, body);
        assert!(
            canonical
                .request
                .ends_with("accede1afb60ea67d091fb517b18e0e23743403f2bda3ffd9fa32470c6ea0160")
        );
        let to_sign = string_to_sign("2025-06-30T23:59:59Z", "2025-06-30/tok-123.abc/hl6_request", &canonical.request);
        assert!(to_sign.ends_with("\n850ad12363279e5ac075366cb40ef0d119319dee879572d3320e2c6bea8f6dfa"));
        assert_eq!(
            hex::encode(signing_key("s3cr3t/Key+=", "2025-06-30", "tok-123.abc")),
            "9d8686089b270bc2ab3b879028f9856af764d72a7785b6b7c4580747541dd27c"
        );

        let signed = signer.sign(&Method::POST, &url, body, Some(&token), when, "m5q0abc").unwrap();
        assert_eq!(signed.host, "openapi.example.test:8443");
        assert_eq!(
            header(&signed, "authorization"),
            "HL6-HMAC-SHA256 Credential=pandrop-app/2025-06-30/tok-123.abc/hl6_request, \
             SignedHeaders=content-type;host;other-header;x-hl-nonce;x-hl-timestamp, \
             Signature=6c870ec425ce6efd8fcdbe928a88c70c2b0c032c253fc7a16d79ce8973649967"
        );
    }

    #[test]
    fn empty_body_signs_no_content_type() {
        let url = Url::parse("http://127.0.0.1:9000/v6/user/get").unwrap();
        let signer = Signer::new("pandrop-app", SecretString::from("s3cr3t/Key+=")).unwrap();
        let token = SecretString::from("tok-123.abc");
        let signed = signer
            .sign(&Method::GET, &url, b"", Some(&token), at(2025, 6, 30, 23, 59, 59), "m5q0abd")
            .unwrap();
        assert_eq!(signed.host, "127.0.0.1:9000");
        assert!(signed.headers.get("content-type").is_none());
        assert_eq!(
            header(&signed, "authorization"),
            "HL6-HMAC-SHA256 Credential=pandrop-app/2025-06-30/tok-123.abc/hl6_request, \
             SignedHeaders=host;other-header;x-hl-nonce;x-hl-timestamp, \
             Signature=195c99be96817a1e72339b395b1d3f3cf22b892942ff5d24dcbb399393fd0e0a"
        );
    }

    #[test]
    fn default_ports_are_left_out_of_host() {
        for (text, host) in [
            ("https://openapi.2dland.cn:443/v6/user/get", "openapi.2dland.cn"),
            ("http://openapi.2dland.cn:80/v6/user/get", "openapi.2dland.cn"),
            ("http://openapi.2dland.cn:443/v6/user/get", "openapi.2dland.cn:443"),
            ("https://OpenAPI.2dland.CN:8443/x", "openapi.2dland.cn:8443"),
            ("http://[::1]:9000/x", "[::1]:9000"),
        ] {
            assert_eq!(canonical_host(&Url::parse(text).unwrap()).unwrap(), host, "{text}");
        }
        let err = canonical_host(&Url::parse("data:text/plain,x").unwrap()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }));
    }

    #[test]
    fn re_signing_takes_a_new_nonce_and_time() {
        let url = Url::parse("https://openapi.2dland.cn/v6/user/get").unwrap();
        let signer = Signer::new("strict-id", SecretString::from("strict-secret")).unwrap();
        let before = Utc::now() - chrono::Duration::seconds(2);
        let first = signer.sign_now(&Method::POST, &url, b"{}", None).unwrap();
        let second = signer.sign_now(&Method::POST, &url, b"{}", None).unwrap();
        let after = Utc::now() + chrono::Duration::seconds(1);
        assert_ne!(header(&first, "x-hl-nonce"), header(&second, "x-hl-nonce"));
        assert_ne!(header(&first, "authorization"), header(&second, "authorization"));
        for signed in [&first, &second] {
            let t = DateTime::parse_from_rfc3339(header(signed, "x-hl-timestamp")).unwrap();
            assert!(t >= before && t <= after, "{t}");
        }
    }

    #[test]
    fn nonces_are_base36_and_increase() {
        let mut last = 0u64;
        for _ in 0..1000 {
            let nonce = fresh_nonce();
            assert!(nonce.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()), "{nonce}");
            let value = u64::from_str_radix(&nonce, 36).unwrap();
            assert!(value > last);
            last = value;
        }
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(u64::MAX), "3w5e11264sgsf");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let signer = Signer::new("strict-id", SecretString::from("strict-secret")).unwrap();
        assert!(!format!("{signer:?}").contains("strict-secret"));
        let url = Url::parse("https://openapi.2dland.cn/v6/user/get").unwrap();
        let token = SecretString::from("tok-very-secret");
        let signed = signer.sign_now(&Method::POST, &url, b"{}", Some(&token)).unwrap();
        assert!(!format!("{signed:?}").contains("tok-very-secret"));
    }

    #[test]
    fn bad_client_ids_are_refused() {
        for id in ["", "a b", "a,b", "a/b", "身份"] {
            assert!(matches!(Signer::new(id, SecretString::from("s")), Err(Error::InvalidInput { .. })));
        }
    }
}
