//! The access token: one per clientID, shared by every connection and every PanDrop process, minted rarely.
//!
//! A clientID may hold at most three live tokens; a fourth logs out the oldest (spec §2.2). So the token is
//! kept as a secret ([`SharedTokens`]: the keyring, or a token file the user allowed) under a key naming the
//! endpoint and the clientID, read before a new one is asked for, and minted under a lock that spans
//! processes. The rules:
//!
//! * a token is used until a tenth of its life (at most five minutes) is left, then replaced;
//! * a token the cloud rejects is never used again; the shared one is read first (another process may have
//!   replaced it), and only then is one minted;
//! * a rejected token is replaced at once, but at most once a minute: when the replacement is rejected too,
//!   the next one waits out the rest of the minute (a cloud that keeps refusing fresh tokens has another
//!   client taking them, and minting in a loop would log that client out in turn);
//! * a refused clientID/clientSecret stops this connection's minting for good;
//! * a changed clientSecret never adopts the old secret's token.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::Mutex;

use super::PROVIDER;
use crate::error::{Error, Result};
use crate::secrets::{SecretKey, SharedTokens};

/// The longest we refresh ahead of expiry (spec §7.1: five minutes).
const MAX_EARLY_REFRESH: Duration = Duration::from_secs(300);
/// Shortest time between two tokens minted because one was rejected (spec §7.1, after restic-123pan).
pub const MIN_REMINT: Duration = Duration::from_secs(60);

/// A token and the generation it belongs to, so a caller that saw it rejected invalidates only that one.
#[derive(Clone)]
pub(super) struct IssuedToken {
    pub value: SecretString,
    pub generation: u64,
}

/// The token as it is kept for every process: JSON in the secret store.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    access_token: String,
    expired_at: DateTime<Utc>,
    minted_at: DateTime<Utc>,
    /// A digest of the clientID and clientSecret it was minted with.
    credentials: String,
    /// Minted to replace a token the cloud rejected.
    #[serde(default)]
    replacement: bool,
}

impl Record {
    fn parse(text: &SecretString) -> Option<Self> {
        serde_json::from_str(text.expose_secret()).ok()
    }

    /// When to replace it: a tenth of its lifetime early, at most five minutes. A 30-day token is renewed
    /// five minutes ahead; a short-lived one (as some test servers issue) is still used for most of its life.
    fn refresh_at(&self) -> DateTime<Utc> {
        let lifetime = (self.expired_at - self.minted_at).to_std().unwrap_or_default();
        let early = (lifetime / 10).min(MAX_EARLY_REFRESH);
        self.expired_at - chrono::Duration::from_std(early).unwrap_or_default()
    }
}

struct Current {
    token: IssuedToken,
    refresh_at: DateTime<Utc>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    generation: u64,
    /// The digest of the last token the cloud rejected: never adopted again.
    rejected: Option<String>,
    /// Why minting was refused: the credentials are wrong, and asking again would not help.
    refused: Option<String>,
}

/// Where one account's token comes from.
pub(super) struct TokenSource {
    shared: SharedTokens,
    key: SecretKey,
    credentials: String,
    min_remint: Duration,
    state: Mutex<State>,
}

impl TokenSource {
    /// The token source of `client_id` at `endpoint`; tokens minted with another secret are not used.
    pub(super) fn new(
        shared: SharedTokens,
        endpoint: &url::Url,
        client_id: &str,
        client_secret: &SecretString,
        min_remint: Duration,
    ) -> Self {
        let credentials = crate::secrets::digest(&format!("{client_id}\n{}", client_secret.expose_secret()));
        Self {
            shared,
            key: SecretKey::new(&format!("{PROVIDER} access token {client_id}"), endpoint.as_str()),
            credentials,
            min_remint,
            state: Mutex::default(),
        }
    }

    /// The token to use: this connection's, the shared one, or one minted by `mint` (which answers the token
    /// and its expiry). Concurrent callers wait for one answer.
    pub(super) async fn get<F, Fut>(&self, mint: F) -> Result<IssuedToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(SecretString, DateTime<Utc>)>>,
    {
        let mut state = self.state.lock().await;
        if let Some(reason) = &state.refused {
            return Err(Error::Auth {
                provider: PROVIDER,
                message: reason.clone(),
            });
        }
        if let Some(current) = &state.current
            && Utc::now() < current.refresh_at
        {
            return Ok(current.token.clone());
        }
        if let Some(record) = self.shared_record().await.filter(|r| self.usable(&state, r)) {
            return Ok(self.adopt(&mut state, &record));
        }
        let _lock = self.shared.lock(self.key.account()).await?;
        // Whoever held the lock may have just minted one.
        let last = self.shared_record().await;
        if let Some(record) = last.as_ref().filter(|r| self.usable(&state, r)) {
            return Ok(self.adopt(&mut state, record));
        }
        // Still valid by its expiry, so the cloud rejected it.
        let rejected = last
            .as_ref()
            .filter(|r| r.credentials == self.credentials && Utc::now() < r.refresh_at());
        if let Some(last) = rejected.filter(|r| r.replacement) {
            // A replacement rejected in turn: the next one no sooner than a minute after it. Everyone of this
            // account waits here; that is the point.
            let age = (Utc::now() - last.minted_at).to_std().unwrap_or_default();
            if let Some(wait) = self.min_remint.checked_sub(age).filter(|w| !w.is_zero()) {
                tracing::info!(
                    wait_secs = wait.as_secs_f32(),
                    "the cloud rejected a fresh 123pan access token; asking for another after the minute is up"
                );
                tokio::time::sleep(wait).await;
            }
        }
        let (value, expired_at) = match mint().await {
            Ok(minted) => minted,
            Err(Error::Auth { message, .. }) => {
                let reason = format!("the clientID/clientSecret pair was refused: {message}");
                state.refused = Some(reason.clone());
                return Err(Error::Auth {
                    provider: PROVIDER,
                    message: reason,
                });
            }
            Err(other) => return Err(other),
        };
        let record = Record {
            access_token: value.expose_secret().to_owned(),
            expired_at,
            minted_at: Utc::now(),
            credentials: self.credentials.clone(),
            replacement: rejected.is_some(),
        };
        match serde_json::to_string(&record) {
            Ok(text) => {
                if let Err(e) = self.shared.write(&self.key, SecretString::from(text)).await {
                    tracing::warn!(error = %e, "cannot keep the 123pan access token for other processes");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot encode the 123pan access token record"),
        }
        tracing::info!(%expired_at, kept_in = %self.shared.describe(), "got a new 123pan access token");
        Ok(self.adopt(&mut state, &record))
    }

    /// Forgets the token of `generation` after the cloud rejected it; a newer token is left alone.
    pub(super) async fn rejected(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if let Some(current) = state.current.take_if(|c| c.token.generation == generation) {
            state.rejected = Some(crate::secrets::digest(current.token.value.expose_secret()));
        }
    }

    /// The shared record, if there is a readable one. A keyring that fails to answer is reported and treated
    /// as empty: the upload can go on with a token of its own.
    async fn shared_record(&self) -> Option<Record> {
        match self.shared.read(&self.key).await {
            Ok(text) => text.as_ref().and_then(Record::parse),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the shared 123pan access token");
                None
            }
        }
    }

    fn usable(&self, state: &State, record: &Record) -> bool {
        record.credentials == self.credentials
            && Utc::now() < record.refresh_at()
            && state.rejected.as_deref() != Some(crate::secrets::digest(&record.access_token).as_str())
    }

    fn adopt(&self, state: &mut State, record: &Record) -> IssuedToken {
        state.generation += 1;
        let token = IssuedToken {
            value: SecretString::from(record.access_token.clone()),
            generation: state.generation,
        };
        state.current = Some(Current {
            token: token.clone(),
            refresh_at: record.refresh_at(),
        });
        token
    }
}

/// The `Authorization` header value for a token.
pub(super) fn bearer(token: &IssuedToken) -> String {
    format!("Bearer {}", token.value.expose_secret())
}

/// Parses `expiredAt` (RFC 3339 with offset, spec §2.2).
pub(crate) fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn endpoint() -> url::Url {
        url::Url::parse("http://127.0.0.1:9/123pan").expect("url")
    }

    const REMINT: Duration = Duration::from_millis(300);

    fn source(shared: &SharedTokens, secret: &str) -> TokenSource {
        TokenSource::new(shared.clone(), &endpoint(), "cid", &SecretString::from(secret.to_owned()), REMINT)
    }

    fn shared() -> (tempfile::TempDir, SharedTokens) {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = SharedTokens::new(Arc::new(MemoryStore::default()), dir.path());
        (dir, tokens)
    }

    /// A mint that counts and answers `t<n>` valid for `days`.
    fn minter(count: &AtomicU32, days: i64) -> impl Fn() -> std::future::Ready<Result<(SecretString, DateTime<Utc>)>> + '_ {
        move || {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(Ok((SecretString::from(format!("t{n}")), Utc::now() + chrono::Duration::days(days))))
        }
    }

    #[tokio::test]
    async fn connections_of_one_account_share_one_minted_token() {
        let (_dir, tokens) = shared();
        let minted = AtomicU32::new(0);
        let (a, b) = (source(&tokens, "s"), source(&tokens, "s"));
        let (x, y) = tokio::join!(a.get(minter(&minted, 30)), b.get(minter(&minted, 30)));
        assert_eq!(x.expect("a").value.expose_secret(), y.expect("b").value.expose_secret());
        assert_eq!(minted.load(Ordering::SeqCst), 1);
        // A later connection (a later run) reads it too.
        source(&tokens, "s").get(minter(&minted, 30)).await.expect("c");
        assert_eq!(minted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_changed_secret_gets_its_own_token() {
        let (_dir, tokens) = shared();
        let minted = AtomicU32::new(0);
        source(&tokens, "old").get(minter(&minted, 30)).await.expect("old");
        let new = source(&tokens, "new").get(minter(&minted, 30)).await.expect("new");
        assert_eq!(new.value.expose_secret(), "t2");
    }

    #[tokio::test]
    async fn a_rejected_token_is_replaced_at_once_and_its_replacement_no_sooner_than_a_minute() {
        let (_dir, tokens) = shared();
        let minted = AtomicU32::new(0);
        let (a, b) = (source(&tokens, "s"), source(&tokens, "s"));
        let first = a.get(minter(&minted, 30)).await.expect("first");
        assert_eq!(b.get(minter(&minted, 30)).await.expect("b").value.expose_secret(), "t1");
        a.rejected(first.generation).await;
        let started = std::time::Instant::now();
        let second = a.get(minter(&minted, 30)).await.expect("second");
        assert_eq!(second.value.expose_secret(), "t2");
        assert!(
            started.elapsed() < REMINT / 2,
            "the first replacement is at once: {:?}",
            started.elapsed()
        );
        // The other connection keeps t1 until the cloud rejects it, then moves to the shared t2.
        let b_first = b.get(minter(&minted, 30)).await.expect("b still has t1");
        assert_eq!(b_first.value.expose_secret(), "t1");
        b.rejected(b_first.generation).await;
        assert_eq!(b.get(minter(&minted, 30)).await.expect("b").value.expose_secret(), "t2");
        assert_eq!(minted.load(Ordering::SeqCst), 2);
        // The replacement rejected too: the next one comes when the "minute" is up.
        a.rejected(second.generation).await;
        let started = std::time::Instant::now();
        assert_eq!(a.get(minter(&minted, 30)).await.expect("third").value.expose_secret(), "t3");
        assert!(started.elapsed() >= REMINT - Duration::from_millis(50), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_refused_pair_stops_minting() {
        let (_dir, tokens) = shared();
        let calls = AtomicU32::new(0);
        let refuse = || {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Err(Error::Auth {
                provider: PROVIDER,
                message: "clientSecret错误".into(),
            }))
        };
        let a = source(&tokens, "s");
        for _ in 0..3 {
            let err = a.get(refuse).await.err().expect("refused");
            assert!(err.to_string().contains("was refused"), "{err}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_expiring_token_is_replaced_without_waiting_a_minute() {
        let (_dir, tokens) = shared();
        let minted = AtomicU32::new(0);
        let a = source(&tokens, "s");
        // A token that is already inside its last tenth.
        let short = || {
            minted.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok((
                SecretString::from("short".to_owned()),
                Utc::now() + chrono::Duration::milliseconds(50),
            )))
        };
        a.get(short).await.expect("short");
        tokio::time::sleep(Duration::from_millis(60)).await;
        let next = a.get(minter(&minted, 30)).await.expect("next");
        assert_eq!(next.value.expose_secret(), "t2");
    }

    #[test]
    fn parses_offset_timestamps() {
        let t = parse_expiry("2025-03-23T15:48:37+08:00").expect("parse");
        assert_eq!(t.to_rfc3339(), "2025-03-23T07:48:37+00:00");
    }
}
