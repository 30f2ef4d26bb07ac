//! OAuth state in SQLite: device codes (spec §5.1) and the access/refresh token pairs they lead to.
//!
//! Tokens are 64 random hex characters (they go between `/` in the credential scope, so they must not
//! hold one). A pair is bound to the app client_id it was issued to. Refreshing revokes the old refresh
//! token *and* the old access token (stricter than needed: a client that keeps using the old access token
//! after a refresh fails) and issues a new pair.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::status::{Code, HalalError};
use crate::error::FakeCloudError;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS halal_tokens (
    token      TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    pair       TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS halal_device_codes (
    device_code  TEXT PRIMARY KEY NOT NULL,
    user_code    TEXT NOT NULL UNIQUE,
    client_id    TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL,
    approved     INTEGER NOT NULL DEFAULT 0,
    consumed     INTEGER NOT NULL DEFAULT 0,
    last_poll_ms INTEGER NOT NULL
);
";

const ACCESS: &str = "access";
const REFRESH: &str = "refresh";

/// The current time, Unix ms.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A freshly issued token pair.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    /// The access token (goes into the signature scope).
    pub(crate) access_token: String,
    /// The refresh token.
    pub(crate) refresh_token: String,
    /// Seconds the access token lives.
    pub(crate) expires_in: i32,
    /// When the access token expires, Unix ms.
    pub(crate) expires_at_ms: i64,
}

/// Lifetimes of the two tokens of a pair.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetimes {
    /// Access token.
    pub(crate) access: Duration,
    /// Refresh token.
    pub(crate) refresh: Duration,
}

/// Issues a new pair to `client_id`. Blocking.
pub(crate) fn issue_pair(conn: &Connection, client_id: &str, life: Lifetimes) -> Result<Pair, FakeCloudError> {
    let pair = uuid::Uuid::new_v4().simple().to_string();
    let now = now_ms();
    let access = random_token();
    let refresh = random_token();
    let access_exp = now.saturating_add(millis(life.access));
    conn.execute(
        "INSERT INTO halal_tokens (token, kind, client_id, pair, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5), (?6, ?7, ?3, ?4, ?8)",
        params![
            access,
            ACCESS,
            client_id,
            pair,
            access_exp,
            refresh,
            REFRESH,
            now.saturating_add(millis(life.refresh))
        ],
    )?;
    Ok(Pair {
        access_token: access,
        refresh_token: refresh,
        expires_in: i32::try_from(life.access.as_secs()).unwrap_or(i32::MAX),
        expires_at_ms: access_exp,
    })
}

/// What is known of an access token presented by `client_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessState {
    /// Never issued to this client.
    Unknown,
    /// Valid.
    Live,
    /// Issued, but expired or revoked.
    Dead,
}

/// The state of `token` as an access token of `client_id`. Blocking.
pub(crate) fn access_state(conn: &Connection, client_id: &str, token: &str) -> Result<AccessState, FakeCloudError> {
    let row: Option<(i64, bool)> = conn
        .query_row(
            "SELECT expires_ms, revoked FROM halal_tokens WHERE token = ?1 AND kind = ?2 AND client_id = ?3",
            params![token, ACCESS, client_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        None => AccessState::Unknown,
        Some((exp, revoked)) if revoked || exp <= now_ms() => AccessState::Dead,
        Some(_) => AccessState::Live,
    })
}

/// Revokes one token (the `expired_token` fault). Blocking.
pub(crate) fn revoke(conn: &Connection, token: &str) -> Result<(), FakeCloudError> {
    conn.execute("UPDATE halal_tokens SET revoked = 1 WHERE token = ?1", params![token])?;
    Ok(())
}

/// Rotates the pair of `refresh_token`: both old tokens stop working, a new pair is issued. Blocking.
pub(crate) fn rotate(conn: &mut Connection, client_id: &str, refresh_token: &str, life: Lifetimes) -> Result<Pair, HalalError> {
    let tx = conn.transaction()?;
    let row: Option<(String, i64, bool)> = tx
        .query_row(
            "SELECT pair, expires_ms, revoked FROM halal_tokens WHERE token = ?1 AND kind = ?2 AND client_id = ?3",
            params![refresh_token, REFRESH, client_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let pair = match row {
        Some((pair, exp, false)) if exp > now_ms() => pair,
        Some(_) => return Err(HalalError::unauthenticated("the refresh token was already used or has expired")),
        None => return Err(HalalError::unauthenticated("unknown refresh token")),
    };
    tx.execute("UPDATE halal_tokens SET revoked = 1 WHERE pair = ?1", params![pair])?;
    let fresh = issue_pair(&tx, client_id, life)?;
    tx.commit()?;
    Ok(fresh)
}

/// A new device code.
#[derive(Debug, Clone)]
pub(crate) struct DeviceCode {
    /// What the device polls with.
    pub(crate) device_code: String,
    /// What the user types on the website (`XXXX-XXXX`).
    pub(crate) user_code: String,
    /// Expiry, Unix ms.
    pub(crate) expires_ms: i64,
}

/// Letters a user can read aloud without confusion.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ23456789";

fn user_code() -> String {
    let raw: [u8; 8] = rand::random();
    let chars: String = raw
        .iter()
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// Creates a device code for `client_id`. Blocking.
pub(crate) fn new_device_code(conn: &Connection, client_id: &str, lifetime: Duration) -> Result<DeviceCode, FakeCloudError> {
    let now = now_ms();
    let code = DeviceCode {
        device_code: random_token(),
        user_code: user_code(),
        expires_ms: now.saturating_add(millis(lifetime)),
    };
    conn.execute(
        "INSERT INTO halal_device_codes (device_code, user_code, client_id, expires_ms, last_poll_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![code.device_code, code.user_code, client_id, code.expires_ms, now],
    )?;
    Ok(code)
}

/// Approves the live, unapproved device code with this user code (case-insensitive, the dash optional);
/// `false` when there is none. Blocking.
pub(crate) fn approve(conn: &Connection, user_code: &str) -> Result<bool, FakeCloudError> {
    let mut wanted: String = user_code.trim().to_ascii_uppercase().chars().filter(|c| *c != '-').collect();
    if wanted.len() == 8 {
        wanted.insert(4, '-');
    }
    let n = conn.execute(
        "UPDATE halal_device_codes SET approved = 1 WHERE user_code = ?1 AND expires_ms > ?2 AND consumed = 0",
        params![wanted, now_ms()],
    )?;
    Ok(n > 0)
}

/// What a poll of a device code finds.
#[derive(Debug, Clone)]
pub(crate) enum PollState {
    /// Not approved yet.
    Pending,
    /// Approved: the tokens (issued now; the code is used up).
    Approved(Pair),
}

/// Polls `device_code` for `client_id`: unknown, expired or already used → 404; sooner than `interval`
/// after the previous poll (or the issue) → 429; approved → a new pair. Blocking.
pub(crate) fn poll(
    conn: &mut Connection,
    client_id: &str,
    device_code: &str,
    interval: Duration,
    life: Lifetimes,
) -> Result<PollState, HalalError> {
    let tx = conn.transaction()?;
    let row: Option<(i64, bool, bool, i64)> = tx
        .query_row(
            "SELECT expires_ms, approved, consumed, last_poll_ms FROM halal_device_codes WHERE device_code = ?1 AND client_id = ?2",
            params![device_code, client_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let now = now_ms();
    let (approved, last_poll) = match row {
        Some((exp, approved, false, last)) if exp > now => (approved, last),
        Some((_, _, true, _)) => return Err(HalalError::not_found("device code not found: it was already used")),
        Some(_) => return Err(HalalError::not_found("device code not found: it has expired")),
        None => return Err(HalalError::not_found("device code not found")),
    };
    if now - last_poll < millis(interval) {
        return Err(HalalError::new(
            Code::ResourceExhausted,
            format!("slow down: poll at most every {} s", interval.as_secs()),
        ));
    }
    tx.execute(
        "UPDATE halal_device_codes SET last_poll_ms = ?2, consumed = ?3 WHERE device_code = ?1",
        params![device_code, now, approved],
    )?;
    let state = if approved {
        PollState::Approved(issue_pair(&tx, client_id, life)?)
    } else {
        PollState::Pending
    };
    tx.commit()?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn
    }

    const LIFE: Lifetimes = Lifetimes {
        access: Duration::from_secs(60),
        refresh: Duration::from_secs(600),
    };

    #[test]
    fn device_flow_and_rotation() {
        let mut conn = db();
        let code = new_device_code(&conn, "app", Duration::from_secs(60)).unwrap();
        assert_eq!(code.user_code.len(), 9);
        assert!(matches!(
            poll(&mut conn, "app", &code.device_code, Duration::ZERO, LIFE),
            Ok(PollState::Pending)
        ));
        assert!(poll(&mut conn, "other", &code.device_code, Duration::ZERO, LIFE).is_err());
        assert!(!approve(&conn, "NOPE-NOPE").unwrap());
        assert!(approve(&conn, &code.user_code.to_lowercase().replace('-', "")).unwrap());
        let Ok(PollState::Approved(pair)) = poll(&mut conn, "app", &code.device_code, Duration::ZERO, LIFE) else {
            panic!("approved");
        };
        assert!(poll(&mut conn, "app", &code.device_code, Duration::ZERO, LIFE).is_err(), "used up");
        assert_eq!(access_state(&conn, "app", &pair.access_token).unwrap(), AccessState::Live);
        assert_eq!(access_state(&conn, "x", &pair.access_token).unwrap(), AccessState::Unknown);
        let next = rotate(&mut conn, "app", &pair.refresh_token, LIFE).unwrap();
        assert_eq!(access_state(&conn, "app", &pair.access_token).unwrap(), AccessState::Dead);
        assert!(rotate(&mut conn, "app", &pair.refresh_token, LIFE).is_err());
        assert_eq!(access_state(&conn, "app", &next.access_token).unwrap(), AccessState::Live);
        revoke(&conn, &next.access_token).unwrap();
        assert_eq!(access_state(&conn, "app", &next.access_token).unwrap(), AccessState::Dead);
    }

    #[test]
    fn polling_too_fast_is_refused() {
        let mut conn = db();
        let code = new_device_code(&conn, "app", Duration::from_secs(60)).unwrap();
        let err = poll(&mut conn, "app", &code.device_code, Duration::from_secs(5), LIFE).unwrap_err();
        assert!(matches!(
            err,
            HalalError::Rpc {
                code: Code::ResourceExhausted,
                ..
            }
        ));
    }
}
