//! The shared HTTP machinery: one client, bounded retries with backoff and jitter, capped response bodies,
//! and the global upload byte rate.

mod pace;
mod rate;
mod retry;
mod secure_hosts;

pub use pace::{PROBE_AFTER, Pace, PaceRule};
pub use rate::ByteRate;
pub use retry::{RetryPolicy, retry};
pub use secure_hosts::{PROBE_TIMEOUT, prefer_https};

use std::time::Duration;

use crate::error::{Error, Result};

/// Appends `path` to a base URL that may or may not end in `/` (a base may carry a path prefix).
pub(crate) fn join_url(provider: &'static str, base: &url::Url, path: &str) -> Result<url::Url> {
    let mut text = base.as_str().trim_end_matches('/').to_owned();
    text.push('/');
    text.push_str(path);
    url::Url::parse(&text).map_err(|e| Error::Protocol {
        provider,
        detail: format!("bad URL: {e}"),
    })
}

/// Accepts an upload host a server named only if it is plain HTTP(S) with a host (never `file:` or another
/// scheme).
pub(crate) fn upload_host_url(provider: &'static str, text: &str) -> Result<url::Url> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(Error::Protocol {
            provider,
            detail: format!("upload host {} is not an http(s) URL", crate::error::shown(text)),
        }),
    }
}

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

/// Longest time reading one reply body may take once its headers are in. The read timeout alone would let a
/// server that drips a byte now and then hold a call for days.
pub const MAX_REPLY_TIME: Duration = Duration::from_secs(120);

/// Reads a reply body, refusing more than [`MAX_REPLY_BYTES`], a body that takes longer than
/// [`MAX_REPLY_TIME`], and redirects (the client follows none, see [`client`]).
pub async fn read_capped(provider: &'static str, resp: reqwest::Response) -> Result<Vec<u8>> {
    read_capped_within(provider, resp, MAX_REPLY_TIME).await
}

/// [`read_capped`] with a chosen time limit.
pub(crate) async fn read_capped_within(provider: &'static str, mut resp: reqwest::Response, limit: Duration) -> Result<Vec<u8>> {
    let status = resp.status();
    if status.is_redirection() {
        // The target is not named: a redirect URL may carry anything, tokens included.
        return Err(Error::Protocol {
            provider,
            detail: format!(
                "the server answered a redirect (HTTP {}), which PanDrop does not follow",
                status.as_u16()
            ),
        });
    }
    if resp.content_length().is_some_and(|n| n > MAX_REPLY_BYTES as u64) {
        return Err(too_large(provider));
    }
    let read = async {
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| Error::from_transport(provider, e))? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(too_large(provider));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(limit, read).await.unwrap_or_else(|_| {
        Err(Error::Timeout {
            provider,
            what: format!("a reply body that was still coming after {} s", limit.as_secs_f32()),
        })
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-connection server that sends `head`, then a byte of `drip` every 50 ms for ever.
    async fn server(head: &'static str, drip: bool) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            if !drip {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if sock.write_all(b"1\r\n \r\n").await.is_err() {
                    return;
                }
            }
        });
        (format!("http://{addr}/"), task)
    }

    #[tokio::test]
    async fn a_dripping_body_is_given_up_on() {
        let (url, task) = server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n", true).await;
        let resp = client().get(url).send().await.expect("headers");
        let started = std::time::Instant::now();
        let err = read_capped_within("t", resp, Duration::from_millis(400))
            .await
            .expect_err("bounded");
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        task.abort();
    }

    #[tokio::test]
    async fn redirects_are_refused_without_naming_the_target() {
        let (url, task) = server(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/?token=secret\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .await;
        let resp = client().get(url).send().await.expect("not followed");
        let err = read_capped("t", resp).await.expect_err("refused");
        assert!(matches!(err, Error::Protocol { .. }), "{err}");
        assert!(err.to_string().contains("redirect") && !err.to_string().contains("secret"), "{err}");
        task.abort();
    }
}
