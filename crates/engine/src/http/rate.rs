//! A global upload byte rate, shared by every transfer and changeable while they run.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

/// Bytes are metered in cells of this size, so one quota covers rates from a few KiB/s to many GiB/s.
const CELL: u64 = 1024;

/// The upload rate limit. Cheap to clone; clones share the limit.
#[derive(Clone, Default)]
pub struct ByteRate {
    limiter: Arc<RwLock<Option<Arc<DefaultDirectRateLimiter>>>>,
}

impl std::fmt::Debug for ByteRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteRate").field("limited", &self.current().is_some()).finish()
    }
}

impl ByteRate {
    /// No limit.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Sets the limit in bytes per second (`None` removes it). Requests already waiting finish under the old
    /// limit; every later chunk uses the new one.
    pub fn set(&self, bytes_per_sec: Option<u64>) {
        let limiter = bytes_per_sec.map(|rate| {
            let cells = u32::try_from((rate / CELL).max(1)).unwrap_or(u32::MAX);
            let per_sec = NonZeroU32::new(cells).unwrap_or(NonZeroU32::MIN);
            // A burst of a tenth of a second (at least one body chunk) keeps the pace smooth.
            let burst = NonZeroU32::new((cells / 10).max(MAX_CHUNK_CELLS)).unwrap_or(NonZeroU32::MIN);
            Arc::new(RateLimiter::direct(Quota::per_second(per_sec).allow_burst(burst)))
        });
        *self.limiter.write().unwrap_or_else(|p| p.into_inner()) = limiter;
    }

    /// Waits until `bytes` more may be sent.
    pub async fn take(&self, bytes: usize) {
        let Some(limiter) = self.current() else {
            return;
        };
        let mut cells = (bytes as u64).div_ceil(CELL);
        while cells > 0 {
            let now = cells.min(u64::from(MAX_CHUNK_CELLS));
            let n = NonZeroU32::new(u32::try_from(now).unwrap_or(MAX_CHUNK_CELLS)).unwrap_or(NonZeroU32::MIN);
            // The burst is at least MAX_CHUNK_CELLS, so the request always fits.
            let _ = limiter.until_n_ready(n).await;
            cells -= now;
        }
    }

    fn current(&self) -> Option<Arc<DefaultDirectRateLimiter>> {
        self.limiter.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The largest request for cells at once: one 256 KiB body chunk.
const MAX_CHUNK_CELLS: u32 = 256;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn unlimited_does_not_wait() {
        let rate = ByteRate::unlimited();
        let start = Instant::now();
        rate.take(100 << 20).await;
        assert!(start.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn a_limit_paces_bytes_and_can_be_lifted() {
        let rate = ByteRate::unlimited();
        rate.set(Some(1 << 20));
        let start = Instant::now();
        // The burst allows 256 KiB at once; the next MiB takes about a second.
        rate.take(256 << 10).await;
        rate.take(1 << 20).await;
        assert!(start.elapsed() >= Duration::from_millis(800), "{:?}", start.elapsed());
        rate.set(None);
        let lifted = Instant::now();
        rate.take(64 << 20).await;
        assert!(lifted.elapsed() < Duration::from_millis(50));
    }
}
