//! Starting and stopping the server, and the connection loop.
//!
//! `axum::serve` offers no handle on a single connection, and fault injection must be able to drop one
//! connection with a real TCP reset. So this module accepts connections itself and serves each with
//! hyper's HTTP/1 connection, racing it against a per-connection [`ConnectionKill`] switch that handlers
//! find in the request extensions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::Config;
use crate::connection::ConnectionKill;
use crate::error::FakeCloudError;
use crate::faults::{FaultPlan, GuardShared};
use crate::rate_limits::RateLimits;
use crate::stats::Stats;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::{admin, halalcloud, pan6, pan123, wcs};

/// How long a graceful shutdown waits for in-flight requests before cutting connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Starts a fake cloud listening on `addr` (use port 0 for any free port) with its data in
/// `config.data_dir`.
///
/// The server runs on the current tokio runtime until [`RunningCloud::shutdown`] is awaited or the
/// [`RunningCloud`] is dropped.
pub async fn serve(addr: SocketAddr, config: Config) -> Result<RunningCloud, FakeCloudError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| FakeCloudError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(FakeCloudError::Net)?;
    let base_url = base_url_for(local);

    let data_dir = config.data_dir.clone();
    let store = Arc::new(tokio::task::spawn_blocking(move || Store::open(&data_dir)).await??);
    let stats = Arc::new(Stats::default());
    let faults = Arc::new(FaultPlan::default());
    let throttle = Arc::new(Throttle::new(config.rate_limits));
    let shared = GuardShared {
        faults: Arc::clone(&faults),
        stats: Arc::clone(&stats),
        throttle: Arc::clone(&throttle),
    };

    let pan123_url = format!("{base_url}/123pan");
    let pan123 = pan123::Pan123::open(Arc::clone(&store), config.pan123, pan123_url, Arc::clone(&stats)).await?;
    let wcs = wcs::Wcs::open(Arc::clone(&store), &config.pan6, format!("{base_url}/wcs"), Arc::clone(&stats)).await?;
    let pan6 = pan6::Pan6::open(Arc::clone(&store), config.pan6, base_url.clone(), Arc::clone(&stats)).await?;
    let halal = halalcloud::Halal::open(Arc::clone(&store), config.halalcloud, base_url.clone(), Arc::clone(&stats)).await?;

    let app = Router::new()
        .nest("/123pan", pan123::router(pan123, &shared))
        .nest("/6pan", pan6::router(pan6, &shared))
        .nest("/wcs", wcs::router(wcs, &shared))
        .nest("/halalcloud", halalcloud::router(Arc::clone(&halal), &shared))
        .nest("/halalcloud-upload", halalcloud::upload_router(halal, &shared))
        .merge(admin::router(admin::AdminState {
            store,
            stats,
            faults,
            throttle: Arc::clone(&throttle),
        }));

    let cancel = CancellationToken::new();
    let task = tokio::spawn(accept_loop(listener, app, cancel.clone()));
    tracing::info!(%base_url, "fake cloud listening");
    Ok(RunningCloud {
        addr: local,
        base_url,
        throttle,
        cancel,
        task: Some(task),
    })
}

/// A running fake cloud. Dropping it stops the server (in the background); [`RunningCloud::shutdown`]
/// stops it and waits until it has stopped.
#[derive(Debug)]
pub struct RunningCloud {
    addr: SocketAddr,
    base_url: String,
    throttle: Arc<Throttle>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl RunningCloud {
    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, with an unspecified bind address replaced by loopback.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The base URL a 123pan client is configured with: `base_url() + "/123pan"`.
    pub fn pan123_url(&self) -> String {
        format!("{}/123pan", self.base_url)
    }

    /// The base URL a 6pan client is configured with: `base_url() + "/6pan"`.
    pub fn pan6_url(&self) -> String {
        format!("{}/6pan", self.base_url)
    }

    /// The WCS upload host that 6pan hands out: `base_url() + "/wcs"`.
    pub fn wcs_url(&self) -> String {
        format!("{}/wcs", self.base_url)
    }

    /// The API base URL a HalalCloud client is configured with: `base_url() + "/halalcloud"` (calls go to
    /// `…/halalcloud/v6/<service>/<method>`).
    pub fn halalcloud_url(&self) -> String {
        format!("{}/halalcloud", self.base_url)
    }

    /// The HalalCloud upload host that `create_upload_task` hands out as `upload_address`:
    /// `base_url() + "/halalcloud-upload"`.
    pub fn halalcloud_upload_url(&self) -> String {
        format!("{}/halalcloud-upload", self.base_url)
    }

    /// Replaces every per-route rate limit at once (an empty set lifts them all), as
    /// `PUT /_admin/rate-limits` does. Takes effect for the next request; recent admissions of a route that
    /// stays limited still count.
    pub fn set_rate_limits(&self, limits: RateLimits) {
        self.throttle.set_limits(limits);
    }

    /// The per-route rate limits in force.
    pub fn rate_limits(&self) -> RateLimits {
        self.throttle.limits()
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a few seconds) and waits for
    /// the server task to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "server task ended abnormally");
        }
    }
}

impl Drop for RunningCloud {
    fn drop(&mut self) {
        // The task owns the listener and every connection; cancelling makes it wind down on its own.
        self.cancel.cancel();
    }
}

fn base_url_for(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

async fn accept_loop(listener: TcpListener, app: Router, cancel: CancellationToken) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Err(e) = spawn_connection(stream, peer, &app, &graceful, &mut connections) {
                        tracing::warn!(error = %e, "could not set up a connection");
                    }
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("graceful shutdown timed out; cutting connections"),
    }
    connections.shutdown().await;
    tracing::info!("fake cloud stopped");
}

fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: &Router,
    graceful: &GracefulShutdown,
    connections: &mut JoinSet<()>,
) -> Result<(), FakeCloudError> {
    stream.set_nodelay(true).map_err(FakeCloudError::Net)?;
    // Keep a duplicate descriptor of the socket: after hyper's copy is dropped it lets us set
    // SO_LINGER=0 so that closing sends an RST (a real "connection reset") rather than a FIN.
    let std_stream = stream.into_std().map_err(FakeCloudError::Net)?;
    let twin = std_stream.try_clone().map_err(FakeCloudError::Net)?;
    let stream = TcpStream::from_std(std_stream).map_err(FakeCloudError::Net)?;

    let kill = CancellationToken::new();
    let app = app.clone();
    let switch = ConnectionKill::new(kill.clone());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(switch.clone());
        // The WCS host needs the uploader's address for `$(ip)`.
        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    connections.spawn(async move {
        tokio::select! {
            result = conn => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            () = kill.cancelled() => {
                if let Err(e) = socket2::SockRef::from(&twin).set_linger(Some(Duration::ZERO)) {
                    tracing::warn!(error = %e, "cannot arm the reset; the connection closes normally");
                }
                tracing::debug!("connection reset by fault injection");
            }
        }
        // Dropping the last descriptor closes the socket (with an RST when lingering was disabled).
        drop(twin);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_replaces_unspecified_addresses() {
        assert_eq!(base_url_for("0.0.0.0:8080".parse().unwrap()), "http://127.0.0.1:8080");
        assert_eq!(base_url_for("127.0.0.1:80".parse().unwrap()), "http://127.0.0.1:80");
        assert_eq!(base_url_for("[::]:9".parse().unwrap()), "http://[::1]:9");
    }
}
