//! The access token: fetched from clientID/clientSecret, cached with its expiry, refreshed single-flight.
//!
//! A client id may hold at most three live tokens (spec §2.2): fetching one per request or per task would
//! log other sessions out, so every caller shares one cached token and only one refresh runs at a time.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tokio::sync::Mutex;

/// The longest we refresh ahead of expiry (spec §7.1: five minutes).
const MAX_EARLY_REFRESH: Duration = Duration::from_secs(300);

/// A token and the generation it belongs to, so a caller that saw it rejected invalidates only that one.
#[derive(Clone)]
pub(super) struct IssuedToken {
    pub value: SecretString,
    pub generation: u64,
}

struct Cached {
    token: IssuedToken,
    refresh_at: DateTime<Utc>,
}

/// The shared token cache.
#[derive(Default)]
pub(super) struct TokenCache {
    slot: Mutex<(Option<Cached>, u64)>,
}

impl TokenCache {
    /// Returns the cached token, or runs `fetch` (under the lock, so concurrent callers wait for one fetch).
    pub(super) async fn get<F, Fut>(&self, fetch: F) -> crate::Result<IssuedToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::Result<(SecretString, DateTime<Utc>)>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = &slot.0
            && Utc::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let (value, expires_at) = fetch().await?;
        slot.1 += 1;
        let token = IssuedToken { value, generation: slot.1 };
        let now = Utc::now();
        // Refresh a tenth of the lifetime early, at most five minutes: a 30-day token is renewed five minutes
        // ahead, a short-lived one (as some test servers issue) is still used for most of its life.
        let lifetime = (expires_at - now).to_std().unwrap_or_default();
        let early = (lifetime / 10).min(MAX_EARLY_REFRESH);
        let refresh_at = expires_at - chrono::Duration::from_std(early).unwrap_or_default();
        slot.0 = Some(Cached {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    /// Forgets the token of `generation` after the server rejected it; a newer token is left alone.
    pub(super) async fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if slot.0.as_ref().is_some_and(|c| c.token.generation == generation) {
            slot.0 = None;
        }
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
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = TokenCache::default();
        let fetches = AtomicU32::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok((SecretString::from("t".to_owned()), Utc::now() + chrono::Duration::days(30)))
        };
        let (a, b) = tokio::join!(cache.get(fetch), cache.get(fetch));
        assert_eq!(a.expect("a").generation, b.expect("b").generation);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidating_an_old_generation_keeps_the_new_token() {
        let cache = TokenCache::default();
        let fetch = || async { Ok((SecretString::from("t".to_owned()), Utc::now() + chrono::Duration::days(30))) };
        let first = cache.get(fetch).await.expect("first");
        cache.invalidate(first.generation).await;
        let second = cache.get(fetch).await.expect("second");
        assert_ne!(first.generation, second.generation);
        cache.invalidate(first.generation).await;
        assert_eq!(cache.get(fetch).await.expect("third").generation, second.generation);
    }

    #[test]
    fn parses_offset_timestamps() {
        let t = parse_expiry("2025-03-23T15:48:37+08:00").expect("parse");
        assert_eq!(t.to_rfc3339(), "2025-03-23T07:48:37+00:00");
    }
}
