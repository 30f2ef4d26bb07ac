//! Retries with exponential backoff and jitter, bounded by attempts and by elapsed time.
//!
//! Cancellation is by dropping the future: every caller runs inside a task whose owner can drop it.

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// How hard to try before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First delay.
    pub min_delay: Duration,
    /// Longest single delay.
    pub max_delay: Duration,
    /// Total time spent sleeping between attempts, at most.
    pub max_total_delay: Duration,
}

impl Default for RetryPolicy {
    /// [`RetryPolicy::STANDARD`].
    fn default() -> Self {
        Self::STANDARD
    }
}

impl RetryPolicy {
    /// 1 s, 2 s, 4 s … capped at 30 s, six retries, two minutes of waiting at most.
    pub const STANDARD: Self = Self {
        max_retries: 6,
        min_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        max_total_delay: Duration::from_secs(120),
    };

    /// A fast policy for tests against a local server.
    pub fn quick() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_total_delay: Duration::from_secs(5),
        }
    }

    /// How long to wait before try number `retry + 1` of something that has failed `retry + 1` times, on the
    /// same curve as [`retry`] (with jitter), for callers that schedule the next try themselves (the queue does,
    /// so a waiting task holds no slot). Grows up to [`RetryPolicy::max_delay`] however many tries there were.
    pub fn delay(&self, retry: u32) -> Duration {
        // The curve reaches its cap long before 32 doublings; walking further would only cost time.
        let nth = usize::try_from(retry.min(32)).unwrap_or(32);
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(nth.saturating_add(1))
            .with_jitter()
            .build()
            .nth(nth)
            .unwrap_or(self.max_delay)
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_total_delay(Some(self.max_total_delay))
            .with_jitter()
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or the policy runs out.
///
/// A server's `Retry-After` lengthens the next delay (never shortens it).
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    op.retry(policy.backoff())
        .when(Error::is_retryable)
        .adjust(|err, delay| match err {
            Error::RateLimited {
                retry_after: Some(wait), ..
            } => delay.map(|d| d.max(*wait)),
            _ => delay,
        })
        .notify(|err, delay| tracing::debug!(error = %err, ?delay, "retrying"))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_transient_errors_then_succeeds() {
        let calls = AtomicU32::new(0);
        let out = retry(&RetryPolicy::quick(), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(Error::Server {
                    provider: "t",
                    status: 503,
                })
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(out.ok(), Some(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let out: Result<()> = retry(&RetryPolicy::quick(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::invalid("x", "bad"))
        })
        .await;
        assert!(matches!(out, Err(Error::InvalidInput { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn delays_grow_and_stay_within_the_cap() {
        let policy = RetryPolicy::STANDARD;
        let first = policy.delay(0);
        assert!(first >= policy.min_delay && first <= policy.min_delay * 2, "{first:?}");
        assert!(policy.delay(3) >= policy.min_delay * 8, "{:?}", policy.delay(3));
        for retry in [10, 100, u32::MAX] {
            assert!(policy.delay(retry) <= policy.max_delay * 2, "{retry}: {:?}", policy.delay(retry));
        }
    }

    #[tokio::test]
    async fn gives_up_after_the_retry_budget() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::quick()
        };
        let out: Result<()> = retry(&policy, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::Server {
                provider: "t",
                status: 500,
            })
        })
        .await;
        assert!(matches!(out, Err(Error::Server { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
