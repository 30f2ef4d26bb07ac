//! Access tokens: issuing (with the 3-live-tokens cap), checking and revoking.
//!
//! Tokens are persisted in SQLite so that they survive a restart, and mirrored in memory so that checking
//! one on every request costs no database round trip.
//!
//! A token retired by the cap is remembered (in `pan123_retired_tokens`, and in memory) until it would
//! have expired, so that using it answers the service's own `tokens number has exceeded the limit` rather
//! than the generic invalid-token message; after its expiry it is forgotten and answers the generic one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, params};

use super::Pan123;
use super::envelope::ApiError;
use super::tree::china_now;
use crate::error::FakeCloudError;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pan123_tokens (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    token         TEXT NOT NULL UNIQUE,
    client_id     TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pan123_retired_tokens (
    token         TEXT PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL
);
";

/// How many tokens one clientID may have alive at once; issuing one more retires the oldest.
pub(crate) const MAX_LIVE_TOKENS: usize = 3;

/// The value every request must carry in its `Platform` header.
pub(crate) const PLATFORM: &str = "open_platform";

/// A freshly issued token, as answered by the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    /// The bearer token.
    pub(crate) token: String,
    /// RFC 3339 expiry with the +08:00 offset.
    pub(crate) expired_at: String,
}

/// What a bearer token is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenState {
    /// Issued and not expired.
    Live,
    /// Retired by the 3-token cap before it expired.
    Retired,
    /// Unknown, expired or revoked.
    Invalid,
}

/// Token → expiry in ms since the epoch.
type Expiries = HashMap<String, i64>;

/// The live and the retired tokens, in memory. Every change goes to SQLite first.
#[derive(Debug, Default)]
pub(crate) struct TokenBook {
    live: Mutex<Expiries>,
    /// Tokens retired by the cap, kept until they would have expired.
    retired: Mutex<Expiries>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl TokenBook {
    fn live(&self) -> std::sync::MutexGuard<'_, Expiries> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn retired(&self) -> std::sync::MutexGuard<'_, Expiries> {
        self.retired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads the unexpired live and retired tokens from the database (and forgets the expired ones).
    pub(crate) fn load(conn: &Connection) -> Result<Self, FakeCloudError> {
        forget_expired(conn)?;
        let read = |table: &str| -> Result<Expiries, FakeCloudError> {
            let mut stmt = conn.prepare(&format!("SELECT token, expires_at_ms FROM {table}"))?;
            let tokens = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<Expiries, _>>()?;
            Ok(tokens)
        };
        Ok(Self {
            live: Mutex::new(read("pan123_tokens")?),
            retired: Mutex::new(read("pan123_retired_tokens")?),
        })
    }

    /// Issues a token for `client_id` valid for `lifetime`, retiring that client's oldest tokens beyond
    /// [`MAX_LIVE_TOKENS`]. Blocking (SQLite).
    pub(crate) fn issue(&self, conn: &Connection, client_id: &str, lifetime: Duration) -> Result<Issued, FakeCloudError> {
        let issued_at = china_now();
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::days(36500));
        let expires = issued_at + lifetime;
        let token = new_token(issued_at.timestamp(), expires.timestamp());
        let expires_ms = expires.timestamp_millis();

        forget_expired(conn)?;
        conn.execute(
            "INSERT INTO pan123_tokens (token, client_id, expires_at_ms) VALUES (?1, ?2, ?3)",
            params![token, client_id, expires_ms],
        )?;
        let retired: Vec<(String, i64)> = {
            let mut stmt = conn.prepare("SELECT token, expires_at_ms FROM pan123_tokens WHERE client_id = ?1 ORDER BY seq DESC")?;
            stmt.query_map(params![client_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .skip(MAX_LIVE_TOKENS)
                .collect::<Result<_, _>>()?
        };
        for (old, old_expires_ms) in &retired {
            conn.execute("DELETE FROM pan123_tokens WHERE token = ?1", params![old])?;
            conn.execute(
                "INSERT OR REPLACE INTO pan123_retired_tokens (token, expires_at_ms) VALUES (?1, ?2)",
                params![old, old_expires_ms],
            )?;
        }

        let now = now_ms();
        {
            let mut gone = self.retired();
            gone.retain(|_, exp| *exp > now);
            gone.extend(retired.iter().cloned());
        }
        let mut live = self.live();
        live.retain(|_, exp| *exp > now);
        for (old, _) in &retired {
            live.remove(old);
        }
        live.insert(token.clone(), expires_ms);
        Ok(Issued {
            token,
            expired_at: expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        })
    }

    /// Whether `token` is live, was retired by the cap (and has not expired since), or neither.
    pub(crate) fn check(&self, token: &str) -> TokenState {
        let now = now_ms();
        if self.live().get(token).is_some_and(|exp| *exp > now) {
            TokenState::Live
        } else if self.retired().get(token).is_some_and(|exp| *exp > now) {
            TokenState::Retired
        } else {
            TokenState::Invalid
        }
    }

    /// Whether `token` is known and not expired.
    #[cfg(test)]
    pub(crate) fn is_valid(&self, token: &str) -> bool {
        self.check(token) == TokenState::Live
    }

    /// Forgets `token` (live or retired) in memory at once; the caller then deletes it from SQLite with
    /// [`TokenBook::forget`].
    pub(crate) fn revoke_in_memory(&self, token: &str) {
        self.live().remove(token);
        self.retired().remove(token);
    }

    /// Deletes `token` (live or retired) from SQLite. Blocking.
    pub(crate) fn forget(conn: &Connection, token: &str) -> Result<(), FakeCloudError> {
        conn.execute("DELETE FROM pan123_tokens WHERE token = ?1", params![token])?;
        conn.execute("DELETE FROM pan123_retired_tokens WHERE token = ?1", params![token])?;
        Ok(())
    }
}

/// Deletes the expired live and retired tokens. Blocking.
fn forget_expired(conn: &Connection) -> Result<(), FakeCloudError> {
    let now = now_ms();
    conn.execute("DELETE FROM pan123_tokens WHERE expires_at_ms <= ?1", params![now])?;
    conn.execute("DELETE FROM pan123_retired_tokens WHERE expires_at_ms <= ?1", params![now])?;
    Ok(())
}

/// A JWT-shaped opaque token: some clients read the `exp` claim to schedule a refresh. The signature part is
/// random, which is what makes the token unguessable.
fn new_token(iat: i64, exp: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({ "iat": iat, "exp": exp, "jti": uuid::Uuid::new_v4().to_string() });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    format!("{header}.{claims}.{signature}")
}

/// Checks the `Platform: open_platform` header that every 123pan request must carry.
pub(crate) fn check_platform(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("platform").and_then(|v| v.to_str().ok()) {
        Some(PLATFORM) => Ok(()),
        Some(_) => Err(ApiError::failed("Platform请求头错误,应为open_platform")),
        None => Err(ApiError::failed("缺少Platform请求头,应为open_platform")),
    }
}

/// The token of an `Authorization: Bearer <token>` header (exactly one space, case-sensitive `Bearer`).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?;
    (!token.is_empty() && !token.contains(' ')).then_some(token)
}

/// Middleware of every route but the token endpoint: `Platform` first (code 1), then the bearer token
/// (HTTP 401 + code 401; a token retired by the cap gets its own message and is counted in the stats).
pub(crate) async fn require_auth(State(p): State<Arc<Pan123>>, req: Request, next: Next) -> Response {
    if let Err(e) = check_platform(req.headers()) {
        return e.into_response();
    }
    let state = bearer_token(req.headers()).map_or(TokenState::Invalid, |token| p.tokens.check(token));
    match state {
        TokenState::Live => next.run(req).await,
        TokenState::Retired => {
            p.stats.retired_token_use();
            ApiError::TokenRetired.into_response()
        }
        TokenState::Invalid => ApiError::Unauthorized.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> (Connection, TokenBook) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let book = TokenBook::load(&conn).unwrap();
        (conn, book)
    }

    #[test]
    fn fourth_token_retires_the_first() {
        let (conn, book) = book();
        let day = Duration::from_secs(86400);
        let t: Vec<Issued> = (0..4).map(|_| book.issue(&conn, "demo", day).unwrap()).collect();
        assert_eq!(book.check(&t[0].token), TokenState::Retired);
        assert!(t[1..].iter().all(|i| book.is_valid(&i.token)));
        assert_eq!(book.check("never-issued"), TokenState::Invalid);
        // Another client has its own quota.
        book.issue(&conn, "other", day).unwrap();
        assert!(book.is_valid(&t[1].token));
        // The database agrees with memory.
        let reloaded = TokenBook::load(&conn).unwrap();
        assert_eq!(reloaded.check(&t[0].token), TokenState::Retired);
        assert!(reloaded.is_valid(&t[3].token));
        assert!(t[3].expired_at.ends_with("+08:00"), "{}", t[3].expired_at);
        assert!(chrono::DateTime::parse_from_rfc3339(&t[3].expired_at).is_ok());
    }

    #[test]
    fn a_retired_token_is_forgotten_when_it_would_have_expired() {
        let (conn, book) = book();
        let t: Vec<Issued> = (0..4)
            .map(|_| book.issue(&conn, "demo", Duration::from_millis(300)).unwrap())
            .collect();
        assert_eq!(book.check(&t[0].token), TokenState::Retired);
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(book.check(&t[0].token), TokenState::Invalid);
        assert_eq!(book.check(&t[3].token), TokenState::Invalid);
        TokenBook::load(&conn).unwrap();
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM pan123_retired_tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn bearer_parsing_is_strict() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("abc"));
        for bad in ["Bearer  abc", "bearer abc", "Bearerabc", "Bearer ", "abc"] {
            h.insert("authorization", bad.parse().unwrap());
            assert_eq!(bearer_token(&h), None, "{bad}");
        }
    }
}
