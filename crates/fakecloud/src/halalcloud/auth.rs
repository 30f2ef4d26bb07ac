//! Checking the HL6-HMAC-SHA256 signature of every API call (spec §4).
//!
//! The server recomputes the signature from what it received: the method, the full URL path as sent
//! (with the `/halalcloud` prefix), the query, each signed header's value as received, and the body's
//! SHA-256. Everything below is answered HTTP 401, code 16:
//!
//! * `Authorization` not of the form `HL6-HMAC-SHA256 Credential=<client_id>/<D>/<token>/hl6_request,
//!   SignedHeaders=<names>, Signature=<64 hex>` (the three parts in this order, separated by `,` with or
//!   without a following space);
//! * SignedHeaders not lower-case, sorted and unique, or missing `host`, `x-hl-nonce` or `x-hl-timestamp`
//!   (and `content-type` when the body is not empty), or naming a header that was not sent (or sent twice);
//! * `x-hl-timestamp` not exactly `YYYY-MM-DDTHH:MM:SSZ`, or further than
//!   [`crate::HalalCloudConfig::clock_skew`] (15 min) from the server clock, either way;
//! * the scope date not equal to the timestamp's date;
//! * an unknown client_id;
//! * a token that is neither empty (personal key) nor a live access token of this client (see below);
//! * a wrong signature;
//! * a nonce seen before within the skew window (a replay). Nonces are remembered in memory only, for
//!   twice the skew window, and only once the signature has been found good; all clients share one nonce
//!   space.
//!
//! Tokens: the personal key signs every call with the empty token and may not run the OAuth routes
//! (`/v6/oauth/*`). The app key must sign API calls with a live access token it was issued; on the OAuth
//! routes it signs with the empty token or with any access token it was ever issued (the SDK signs
//! `refresh_token` with the old, possibly expired, access token). H4's `*` placeholder token is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::Halal;
use super::signer::{self, ALGORITHM, CanonicalInput, TERMINATOR};
use super::status::{HalalError, failure};
use super::tokens::{self, AccessState};

/// Largest API request body read (the API takes small JSON messages only).
const MAX_BODY: usize = 4 << 20;

/// Headers every signature must cover.
const REQUIRED: [&str; 3] = ["host", "x-hl-nonce", "x-hl-timestamp"];

/// Who made a verified call; put in the request extensions for the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The client_id of the credential.
    pub(crate) client_id: String,
    /// The access token of the scope (`None` for the empty token).
    pub(crate) token: Option<String>,
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub(crate) client_id: String,
    pub(crate) date: String,
    pub(crate) token: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
}

fn bad(message: impl Into<String>) -> HalalError {
    HalalError::unauthenticated(message)
}

/// Parses `Authorization` (see the module docs).
pub(crate) fn parse_authorization(value: &str) -> Result<Authorization, HalalError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| bad(format!("Authorization must start with \"{ALGORITHM} \"")))?;
    let parts: Vec<&str> = rest.split(',').map(|p| p.strip_prefix(' ').unwrap_or(p)).collect();
    let [credential, signed, signature] = parts[..] else {
        return Err(bad(
            "Authorization must have Credential, SignedHeaders and Signature, comma-separated",
        ));
    };
    let credential = credential
        .strip_prefix("Credential=")
        .ok_or_else(|| bad("Authorization: Credential= expected first"))?;
    let signed = signed
        .strip_prefix("SignedHeaders=")
        .ok_or_else(|| bad("Authorization: SignedHeaders= expected second"))?;
    let signature = signature
        .strip_prefix("Signature=")
        .ok_or_else(|| bad("Authorization: Signature= expected third"))?;
    let scope = credential
        .strip_suffix(&format!("/{TERMINATOR}"))
        .ok_or_else(|| bad(format!("the credential scope must end in /{TERMINATOR}")))?;
    let mut fields = scope.splitn(3, '/');
    let (Some(client_id), Some(date), Some(token)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad("the credential must be <client_id>/<date>/<token>/hl6_request"));
    };
    if client_id.is_empty() || token.contains('/') {
        return Err(bad("malformed credential"));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(bad("the signature must be 64 lower-case hex digits"));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    Ok(Authorization {
        client_id: client_id.to_owned(),
        date: date.to_owned(),
        token: token.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// The signed headers with their values as received, checked against the rules of the module docs.
fn signed_headers(auth: &Authorization, headers: &HeaderMap, body_len: usize) -> Result<Vec<(String, String)>, HalalError> {
    let names = &auth.signed_headers;
    if names.iter().any(|n| n.is_empty() || n.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err(bad("SignedHeaders must be lower-case names"));
    }
    if names.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad("SignedHeaders must be sorted and unique"));
    }
    for required in REQUIRED.iter().chain((body_len > 0).then_some(&"content-type")) {
        if !names.iter().any(|n| n == required) {
            return Err(bad(format!("SignedHeaders must include {required}")));
        }
    }
    names
        .iter()
        .map(|name| {
            let mut values = headers.get_all(name.as_str()).iter();
            match (values.next(), values.next()) {
                (Some(v), None) => v
                    .to_str()
                    .map(|v| (name.clone(), v.to_owned()))
                    .map_err(|_| bad(format!("signed header {name} is not visible ASCII"))),
                (None, _) => Err(bad(format!("signed header {name} was not sent"))),
                (Some(_), Some(_)) => Err(bad(format!("signed header {name} was sent more than once"))),
            }
        })
        .collect()
}

/// Nonces seen recently, with when they may be forgotten (Unix s).
#[derive(Debug, Default)]
pub(crate) struct Nonces(Mutex<HashMap<String, i64>>);

impl Nonces {
    /// Records `nonce`; `false` if it was seen and is still remembered.
    fn first_use(&self, nonce: &str, now: i64, keep_secs: i64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 4096 {
            seen.retain(|_, until| *until > now);
        }
        match seen.get(nonce) {
            Some(until) if *until > now => false,
            _ => {
                seen.insert(nonce.to_owned(), now + keep_secs);
                true
            }
        }
    }
}

/// The timestamp, parsed strictly.
fn parse_timestamp(t: &str) -> Option<DateTime<Utc>> {
    if t.len() != 20 {
        return None;
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%SZ").ok().map(|n| n.and_utc())
}

/// Where an API route sits for the token rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    /// `/v6/oauth/*`.
    OAuth,
    /// Every other API route.
    Api,
}

/// Verifies one call; answers the caller, or why it is refused.
async fn verify(
    h: &Arc<Halal>,
    kind: RouteKind,
    method: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, HalalError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| bad("missing Authorization"))?
        .to_str()
        .map_err(|_| bad("Authorization is not visible ASCII"))?;
    let auth = parse_authorization(value)?;
    let signed = signed_headers(&auth, headers, body.len())?;
    let header_value = |name: &str| signed.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("");
    let timestamp = header_value("x-hl-timestamp").to_owned();
    let nonce = header_value("x-hl-nonce").to_owned();
    let when = parse_timestamp(&timestamp).ok_or_else(|| bad("x-hl-timestamp must be YYYY-MM-DDTHH:MM:SSZ"))?;
    if auth.date != timestamp[..10] {
        return Err(bad("the credential scope date is not the date of x-hl-timestamp"));
    }
    if nonce.is_empty() {
        return Err(bad("x-hl-nonce is empty"));
    }
    let config = &h.config;
    let (secret, is_app) = if auth.client_id == config.client_id {
        (config.client_secret.clone(), false)
    } else if auth.client_id == config.app_client_id {
        (config.app_client_secret.clone(), true)
    } else {
        return Err(bad(format!("unknown client_id {:?}", auth.client_id)));
    };
    match (is_app, kind, auth.token.is_empty()) {
        (false, RouteKind::OAuth, _) => return Err(bad("the personal key cannot use the OAuth routes; use the app key")),
        (false, RouteKind::Api, true) | (true, RouteKind::OAuth, true) => {}
        (false, RouteKind::Api, false) => return Err(bad("personal-key calls are signed with the empty token")),
        (true, RouteKind::Api, true) => return Err(bad("the app key must sign with an access token")),
        (true, _, false) => {
            let (client, token) = (auth.client_id.clone(), auth.token.clone());
            let state = h.store.blocking(move |s| tokens::access_state(&s.db(), &client, &token)).await?;
            match (state, kind) {
                (AccessState::Live, _) | (AccessState::Dead, RouteKind::OAuth) => {}
                (AccessState::Dead, RouteKind::Api) => return Err(bad("the access token has expired")),
                (AccessState::Unknown, _) => return Err(bad("unknown access token")),
            }
        }
    }
    let query = signer::canonical_query(uri.query().unwrap_or(""));
    let canonical = signer::canonical_request(&CanonicalInput {
        method,
        path: uri.path(),
        query: &query,
        headers: &signed,
        body,
    });
    let to_sign = signer::string_to_sign(&timestamp, &signer::scope(&auth.date, &auth.token), &canonical);
    let expected = signer::signature(&secret, &auth.date, &auth.token, &to_sign);
    if !signer::same_signature(&expected, &auth.signature) {
        tracing::debug!(%canonical, "HalalCloud signature mismatch");
        return Err(bad("signature mismatch"));
    }
    let now = Utc::now();
    let skew = chrono::Duration::from_std(config.clock_skew).unwrap_or(chrono::Duration::MAX);
    if (now - when).abs() > skew {
        return Err(bad(format!(
            "x-hl-timestamp {timestamp} is more than {} s away from the server clock",
            config.clock_skew.as_secs()
        )));
    }
    let keep = i64::try_from(config.clock_skew.as_secs()).unwrap_or(i64::MAX / 4).saturating_mul(2);
    if !h.nonces.first_use(&nonce, now.timestamp(), keep) {
        return Err(bad("x-hl-nonce was already used (replay)"));
    }
    Ok(Caller {
        client_id: auth.client_id,
        token: (!auth.token.is_empty()).then_some(auth.token),
    })
}

/// State of the [`require_signed`] middleware.
#[derive(Clone)]
pub(crate) struct SignedRoute {
    pub(crate) h: Arc<Halal>,
    pub(crate) kind: RouteKind,
}

/// Middleware of every API route: buffers the body, verifies the signature, then hands the request on
/// with a [`Caller`] in its extensions. Also requires `Content-Type: application/json` when there is a body.
pub(crate) async fn require_signed(State(route): State<SignedRoute>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return failure(HalalError::invalid("the request body is too large or broken")),
    };
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
    let caller = match verify(&route.h, route.kind, parts.method.as_str(), &uri, &parts.headers, &body).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    if !body.is_empty() {
        let json = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return failure(HalalError::invalid("the body must be sent as Content-Type: application/json"));
        }
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// The access token in the scope of a request's `Authorization`, if any (for the `expired_token` fault).
pub(crate) fn scope_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    parse_authorization(value).ok().map(|a| a.token).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "cdbd6e1c2a96197abf1f45803eb32ae991e8a4d2895a37a08f0fbc0e9aa10929";

    #[test]
    fn authorization_shapes() {
        let with_space = format!("HL6-HMAC-SHA256 Credential=id/2025-01-02//hl6_request, SignedHeaders=host;x-hl-nonce, Signature={SIG}");
        let a = parse_authorization(&with_space).unwrap();
        assert_eq!((a.client_id.as_str(), a.date.as_str(), a.token.as_str()), ("id", "2025-01-02", ""));
        assert_eq!(a.signed_headers, ["host", "x-hl-nonce"]);
        let without = with_space.replace(", ", ",");
        assert_eq!(parse_authorization(&without).unwrap(), a);
        let token = with_space.replace("//", "/tok/");
        assert_eq!(parse_authorization(&token).unwrap().token, "tok");
        for broken in [
            with_space.replace("HL6-HMAC-SHA256", "AWS4-HMAC-SHA256"),
            with_space.replace("hl6_request", "aws4_request"),
            with_space.replace(SIG, &SIG.to_uppercase()),
            with_space.replace(SIG, &SIG[1..]),
            with_space.replace("Credential=", "Cred="),
            with_space.replace(", SignedHeaders", ",  SignedHeaders"),
            with_space.replace("//", "/a/b/"),
        ] {
            assert!(parse_authorization(&broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn timestamps_and_nonces() {
        assert!(parse_timestamp("2025-01-02T03:04:05Z").is_some());
        for bad in [
            "2025-01-02T03:04:05",
            "2025-01-02 03:04:05Z",
            "2025-01-02T03:04:05.1Z",
            "2025-1-02T03:04:05Z",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
        let n = Nonces::default();
        assert!(n.first_use("a", 100, 10));
        assert!(!n.first_use("a", 105, 10));
        assert!(n.first_use("a", 111, 10), "forgotten after the window");
    }
}
