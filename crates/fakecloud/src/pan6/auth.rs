//! Session tokens of both API generations: issuing, checking, rotating and revoking.
//!
//! A token is a JWT (HS256, signed with a random key kept in the data dir), so it survives a restart and
//! needs no lookup. Its claims name a *session* (`sid`, one per login) and a sequence number (`seq`).
//! Every authenticated answer carries a fresh token of the same session with the next `seq` (v1: body
//! `token` and header `Authorization: Bearer …`; v2: header `qingzhen-token`). Older tokens stay valid
//! until their own expiry, like real JWTs, but using one is counted in `/_admin/stats` under
//! `6pan.superseded_token_uses` when either
//!
//! * a request with a newer token of the same session was already seen (the client went back), or
//! * the next token of the session was issued at least [`SUPERSEDE_GRACE`] earlier (the client ignores
//!   rotation; the grace keeps requests that were already in flight when the newer token went out from
//!   counting).
//!
//! Auth failures answer HTTP 401: v1 code `CREDENTIALS_REQUIRED` (no `Authorization`),
//! `BEARER_AUTHORIZATION_HEADER_INVALID` (another scheme) or `INVALID_TOKEN`; v2 code `TOKEN_INVALID`
//! (missing, unknown, expired or revoked `Qingzhen-Token`). A v1 token is not accepted by v2 and back.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Pan6;
use super::envelope::{Api, Pan6Error, failure};
use super::tree::{USER_ID, now_ms};
use crate::error::FakeCloudError;
use crate::stats::Stats;

type HmacSha256 = Hmac<Sha256>;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pan6_meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pan6_revoked (
    jti    TEXT PRIMARY KEY NOT NULL,
    exp_ms INTEGER NOT NULL
);
";

/// How long after a newer token went out an older one may still arrive without counting as superseded.
pub(crate) const SUPERSEDE_GRACE: Duration = Duration::from_secs(1);

/// Response header (and v2 request header) carrying the v2 token.
pub(crate) const V2_HEADER: &str = "qingzhen-token";

/// The claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    uuid: Value,
    name: String,
    version: i64,
    api: String,
    /// Session (one per login).
    pub(crate) sid: String,
    /// Position in the session's rotation.
    pub(crate) seq: u64,
    iat: i64,
    exp: i64,
    #[serde(rename = "expMs")]
    exp_ms: i64,
    jti: String,
}

#[derive(Debug, Default)]
struct Chain {
    latest: u64,
    issued: BTreeMap<u64, Instant>,
    max_used: u64,
}

/// The token issuer and checker.
pub(crate) struct Sessions {
    key: [u8; 32],
    lifetime: Duration,
    revoked: Mutex<HashMap<String, i64>>,
    chains: Mutex<HashMap<String, Chain>>,
    stats: Arc<Stats>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sessions {
    /// Loads (or creates) the signing key and the revocations. Blocking.
    pub(crate) fn load(conn: &Connection, lifetime: Duration, stats: Arc<Stats>) -> Result<Self, FakeCloudError> {
        let stored: Option<String> = conn
            .query_row("SELECT value FROM pan6_meta WHERE name = 'jwt_key'", [], |r| r.get(0))
            .optional()?;
        let key = match stored.and_then(|k| hex::decode(k).ok()).and_then(|k| <[u8; 32]>::try_from(k).ok()) {
            Some(key) => key,
            None => {
                let key: [u8; 32] = rand::random();
                conn.execute(
                    "INSERT OR REPLACE INTO pan6_meta (name, value) VALUES ('jwt_key', ?1)",
                    params![hex::encode(key)],
                )?;
                key
            }
        };
        conn.execute("DELETE FROM pan6_revoked WHERE exp_ms <= ?1", params![now_ms()])?;
        let revoked = {
            let mut stmt = conn.prepare("SELECT jti, exp_ms FROM pan6_revoked")?;
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<HashMap<_, _>, _>>()?
        };
        Ok(Self {
            key,
            lifetime,
            revoked: Mutex::new(revoked),
            chains: Mutex::default(),
            stats,
        })
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// Issues a token: the first of a new session when `sid` is `None`, else the next of that session.
    pub(crate) fn issue(&self, api: Api, sid: Option<&str>, name: &str) -> String {
        let sid = sid.map_or_else(|| hex::encode(rand::random::<[u8; 16]>()), str::to_owned);
        let seq = {
            let mut chains = relock(&self.chains);
            let chain = chains.entry(sid.clone()).or_default();
            chain.latest += 1;
            chain.issued.insert(chain.latest, Instant::now());
            while chain.issued.len() > 256 {
                chain.issued.pop_first();
            }
            chain.latest
        };
        let now = now_ms();
        let lifetime = i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX / 4);
        let exp_ms = now.saturating_add(lifetime);
        let claims = Claims {
            uuid: json!({ "high": 0, "low": USER_ID }),
            name: name.to_owned(),
            version: 1,
            api: api.name().to_owned(),
            sid,
            seq,
            iat: now / 1000,
            exp: exp_ms / 1000,
            exp_ms,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signed = format!("{head}.{body}");
        let sig = URL_SAFE_NO_PAD.encode(self.sign(signed.as_bytes()));
        format!("{signed}.{sig}")
    }

    /// The claims of a token with a valid signature (expiry not checked).
    fn decode(&self, token: &str) -> Option<Claims> {
        let (signed, sig) = token.rsplit_once('.')?;
        let (_, body) = signed.split_once('.')?;
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(signed.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }

    /// Checks a token presented to an `api` route, counting superseded uses.
    pub(crate) fn check(&self, api: Api, token: &str) -> Result<Claims, Pan6Error> {
        let invalid = || Pan6Error::unauthorized(api.invalid_token_code(), "the session token is invalid or expired; log in again");
        let claims = self.decode(token).ok_or_else(invalid)?;
        if claims.api != api.name() || claims.exp_ms <= now_ms() || relock(&self.revoked).contains_key(&claims.jti) {
            return Err(invalid());
        }
        let mut chains = relock(&self.chains);
        let chain = chains.entry(claims.sid.clone()).or_insert_with(|| Chain {
            latest: claims.seq,
            ..Chain::default()
        });
        if claims.seq < chain.latest {
            let newer_since = chain.issued.get(&(claims.seq + 1));
            if chain.max_used > claims.seq || newer_since.is_none_or(|t| t.elapsed() >= SUPERSEDE_GRACE) {
                self.stats.superseded_token_use();
            }
        }
        chain.max_used = chain.max_used.max(claims.seq);
        Ok(claims)
    }

    /// Revokes `token` for good (the `expired_token` fault). Blocking.
    pub(crate) fn revoke(&self, conn: &Connection, token: &str) -> Result<(), FakeCloudError> {
        if let Some(claims) = self.decode(token) {
            relock(&self.revoked).insert(claims.jti.clone(), claims.exp_ms);
            conn.execute(
                "INSERT OR REPLACE INTO pan6_revoked (jti, exp_ms) VALUES (?1, ?2)",
                params![claims.jti, claims.exp_ms],
            )?;
        }
        Ok(())
    }
}

/// The v1 token of `Authorization: Bearer <token>`, or the v1 auth failure.
pub(crate) fn v1_token(headers: &HeaderMap) -> Result<&str, Pan6Error> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Pan6Error::unauthorized("CREDENTIALS_REQUIRED", "no authorization token was found"));
    };
    let value = value.to_str().unwrap_or("");
    let parts: Vec<&str> = value.split_whitespace().collect();
    match parts[..] {
        [scheme, token] if scheme.eq_ignore_ascii_case("bearer") => Ok(token),
        [_, _] => Err(Pan6Error::unauthorized(
            "BEARER_AUTHORIZATION_HEADER_INVALID",
            "format is Authorization: Bearer [token]",
        )),
        _ => Err(Pan6Error::unauthorized("INVALID_TOKEN", "format is Authorization: Bearer [token]")),
    }
}

/// The v2 token of `Qingzhen-Token`.
pub(crate) fn v2_token(headers: &HeaderMap) -> Result<&str, Pan6Error> {
    headers
        .get(V2_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Pan6Error::unauthorized(Api::V2.invalid_token_code(), "missing Qingzhen-Token header"))
}

/// Adds a fresh v1 token to an answer: header `Authorization: Bearer …` and, for a JSON object body,
/// the member `token`.
pub(crate) async fn with_v1_token(resp: Response, token: &str) -> Response {
    let (mut parts, body) = resp.into_parts();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        parts.headers.insert(header::AUTHORIZATION, v);
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let bytes = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not buffer a v1 answer");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if is_json && let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&bytes) {
        map.insert("token".to_owned(), Value::String(token.to_owned()));
        parts.headers.remove(header::CONTENT_LENGTH);
        let body = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
        return Response::from_parts(parts, Body::from(body));
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Middleware of the authenticated v1 routes.
pub(crate) async fn require_v1(State(p): State<Arc<Pan6>>, req: Request, next: Next) -> Response {
    let claims = match v1_token(req.headers()).and_then(|t| p.sessions.check(Api::V1, t)) {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let fresh = p.sessions.issue(Api::V1, Some(&claims.sid), &claims.name);
    let resp = next.run(req).await;
    with_v1_token(resp, &fresh).await
}

/// Middleware of the authenticated v2 routes.
pub(crate) async fn require_v2(State(p): State<Arc<Pan6>>, req: Request, next: Next) -> Response {
    let claims = match v2_token(req.headers()).and_then(|t| p.sessions.check(Api::V2, t)) {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    let fresh = p.sessions.issue(Api::V2, Some(&claims.sid), &claims.name);
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&fresh) {
        resp.headers_mut().insert(V2_HEADER, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(lifetime: Duration) -> (Connection, Sessions, Arc<Stats>) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let stats = Arc::new(Stats::default());
        let s = Sessions::load(&conn, lifetime, Arc::clone(&stats)).unwrap();
        (conn, s, stats)
    }

    #[test]
    fn rotation_and_superseded_uses() {
        let (conn, s, stats) = sessions(Duration::from_secs(60));
        let t1 = s.issue(Api::V1, None, "demo");
        let c1 = s.check(Api::V1, &t1).unwrap();
        assert!(s.check(Api::V2, &t1).is_err(), "a v1 token is not a v2 token");
        let t2 = s.issue(Api::V1, Some(&c1.sid), "demo");
        // Within the grace period and before t2 was used: not counted.
        s.check(Api::V1, &t1).unwrap();
        assert_eq!(stats.snapshot().pan6.superseded_token_uses, 0);
        s.check(Api::V1, &t2).unwrap();
        // Going back to t1 after t2 was used: counted, but still valid.
        s.check(Api::V1, &t1).unwrap();
        assert_eq!(stats.snapshot().pan6.superseded_token_uses, 1);
        s.revoke(&conn, &t2).unwrap();
        assert!(s.check(Api::V1, &t2).is_err());
        // The key and the revocation survive a reload.
        let reloaded = Sessions::load(&conn, Duration::from_secs(60), stats).unwrap();
        assert!(reloaded.check(Api::V1, &t1).is_ok());
        assert!(reloaded.check(Api::V1, &t2).is_err());
        assert!(reloaded.check(Api::V1, &format!("{t1}x")).is_err());
    }

    #[test]
    fn expiry_and_header_parsing() {
        let (_conn, s, _) = sessions(Duration::ZERO);
        assert!(s.check(Api::V2, &s.issue(Api::V2, None, "demo")).is_err());
        let mut h = HeaderMap::new();
        assert!(matches!(v1_token(&h), Err(Pan6Error::Unauthorized { code, .. }) if code == "CREDENTIALS_REQUIRED"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(matches!(v1_token(&h), Err(Pan6Error::Unauthorized { code, .. }) if code == "BEARER_AUTHORIZATION_HEADER_INVALID"));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(v1_token(&h).unwrap(), "abc");
        assert!(v2_token(&h).is_err());
        h.insert(V2_HEADER, "t".parse().unwrap());
        assert_eq!(v2_token(&h).unwrap(), "t");
    }
}
