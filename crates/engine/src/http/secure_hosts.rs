//! Upload hosts a cloud names as `http://…` are reached over HTTPS where the host offers it.
//!
//! 123pan's `create` and upload-domain answers may list `http://` hosts (spec §3.1, §3.4), and every slice
//! carries the account's bearer token. So before the first request to such a host, its `https://` twin (same
//! host and port, or 443 for the default port) is asked for anything at all, without credentials:
//!
//! * any HTTP answer: TLS is offered, and the host is used over `https://`;
//! * a certificate that does not verify: TLS is offered but cannot be trusted, and nothing is sent (falling
//!   back to plain HTTP there is exactly what a man in the middle would want);
//! * no TLS (the port is closed, or answers in plain HTTP, or does not answer within [`PROBE_TIMEOUT`]): the
//!   host is used as named, over `http://`.
//!
//! The answer is remembered per host for the life of the process, so a host is probed once.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;
use url::Url;

use crate::error::{Error, Result};

/// How long the probe of one host may take: a host that drops packets to its HTTPS port costs this once.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What each probed host (`host:port` of its `http://` form) answered: `true` when it takes HTTPS.
static DECIDED: LazyLock<Mutex<HashMap<String, bool>>> = LazyLock::new(Mutex::default);

/// The URL to use for `url`: itself unless it is `http://` on a host that offers HTTPS, then its
/// `https://` twin. Fails when the host offers HTTPS with a certificate that does not verify.
pub async fn prefer_https(http: &reqwest::Client, provider: &'static str, url: &Url) -> Result<Url> {
    if url.scheme() != "http" {
        return Ok(url.clone());
    }
    let origin = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let known = DECIDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&origin)
        .copied();
    let secure = match known {
        Some(secure) => secure,
        None => {
            let secure = probe(http, provider, &twin(url)).await?;
            tracing::info!(host = %origin, https = secure, "upload host checked for HTTPS");
            DECIDED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(origin, secure);
            secure
        }
    };
    Ok(if secure { twin(url) } else { url.clone() })
}

/// The `https://` form of an `http://` URL: the same host, path and query; an explicit port is kept, the
/// default one becomes 443.
fn twin(url: &Url) -> Url {
    let mut secure = url.clone();
    let port = url.port();
    // Both are special schemes, so the change cannot fail; the port is set again because `set_scheme` keeps
    // an explicit one and drops the default.
    let _ = secure.set_scheme("https");
    let _ = secure.set_port(port);
    secure
}

/// Asks the `https://` origin of `url` for anything, without credentials.
async fn probe(http: &reqwest::Client, provider: &'static str, url: &Url) -> Result<bool> {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    match http.head(origin).timeout(PROBE_TIMEOUT).send().await {
        Ok(_) => Ok(true),
        Err(e) => match untrusted_certificate(&e) {
            Some(why) => Err(Error::Protocol {
                provider,
                detail: format!(
                    "the upload host {} offers HTTPS with a certificate that does not verify ({why}); \
                     PanDrop does not send the access token to it, over HTTPS or in clear text",
                    url.host_str().unwrap_or_default()
                ),
            }),
            None => Ok(false),
        },
    }
}

/// The certificate problem behind a failed request, if that is what it was. TLS libraries report it in
/// words ("invalid peer certificate: UnknownIssuer"), so the error chain is read for them.
fn untrusted_certificate(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        let text = e.to_string();
        if text.to_ascii_lowercase().contains("certificate") {
            return Some(text);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twin_keeps_host_path_and_an_explicit_port() {
        let cases = [
            ("http://openapi-upload.123242.com", "https://openapi-upload.123242.com/"),
            ("http://openapi-upload.123242.com:80/x", "https://openapi-upload.123242.com/x"),
            ("http://127.0.0.1:8123/123pan", "https://127.0.0.1:8123/123pan"),
        ];
        for (plain, secure) in cases {
            assert_eq!(twin(&Url::parse(plain).expect("url")).as_str(), secure, "{plain}");
        }
    }

    #[tokio::test]
    async fn a_plain_http_host_is_used_as_named_and_https_as_it_is() {
        // A loopback server speaking plain HTTP only, as the sandbox does.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        let http = crate::http::client();
        let plain = Url::parse(&format!("http://127.0.0.1:{port}/123pan")).expect("url");
        assert_eq!(prefer_https(&http, "test", &plain).await.expect("plain"), plain);
        // Remembered: a second call does not probe (the server is gone).
        server.abort();
        assert_eq!(prefer_https(&http, "test", &plain).await.expect("again"), plain);
        let secure = Url::parse("https://openapi-upload.123pan.com").expect("url");
        assert_eq!(prefer_https(&http, "test", &secure).await.expect("https"), secure);
    }
}
