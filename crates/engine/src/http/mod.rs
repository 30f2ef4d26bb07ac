//! The shared HTTP machinery: one client, bounded retries with backoff and jitter, capped response bodies,
//! and the global upload byte rate.

mod rate;
mod retry;

pub use rate::ByteRate;
pub use retry::{RetryPolicy, retry};

use std::time::Duration;

use crate::error::{Error, Result};

/// Largest JSON reply we accept; anything bigger is a broken or hostile server.
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// Builds the client every provider shares (connection pool, rustls, sane timeouts).
///
/// There is no overall request timeout: a large slice on a slow link may take minutes. Stalls are caught by
/// the read timeout instead.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("PanDrop/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(60))
        // Redirects could carry a bearer token to another host; the clouds do not use them on these APIs.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Reads a reply body, refusing more than [`MAX_REPLY_BYTES`].
pub async fn read_capped(provider: &'static str, mut resp: reqwest::Response) -> Result<Vec<u8>> {
    if resp.content_length().is_some_and(|n| n > MAX_REPLY_BYTES as u64) {
        return Err(too_large(provider));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| Error::from_transport(provider, e))? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(too_large(provider));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a `Retry-After` header given in seconds.
pub fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let value = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn too_large(provider: &'static str) -> Error {
    Error::Protocol {
        provider,
        detail: format!("reply larger than {MAX_REPLY_BYTES} bytes"),
    }
}
