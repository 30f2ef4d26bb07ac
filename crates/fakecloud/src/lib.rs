//! A fake cloud drive on loopback, speaking the real wire protocols of the 123pan open platform, of 6pan, of
//! the Wangsu (WCS) upload host and of HalalCloud's v6 open API with its upload host.
//!
//! It is a real HTTP server (axum on hyper) with a persistent data dir, used by the engine's tests, by
//! benchmarks and as the product's built-in sandbox cloud. It is written from the protocol documents only
//! and shares no types with any client, so that a client and this server cannot be wrong in the same way.
//!
//! # Layout of the URL space
//!
//! | prefix | what |
//! |---|---|
//! | `/123pan/…` | the 123pan open API *and* its upload host (see [`pan123`]) |
//! | `/6pan/…` | the 6pan API, v1 and v2 (see [`pan6`]) |
//! | `/wcs/…` | the Wangsu Cloud Storage upload host that 6pan hands out (see [`wcs`]) |
//! | `/halalcloud/v6/<service>/<method>` | HalalCloud's v6 open API, HL6-HMAC-SHA256 signed (see [`halalcloud`]); the client's API base is `/halalcloud` |
//! | `/halalcloud/device` | the device-code `verification_uri`: a form approving a user code |
//! | `/halalcloud-upload/{task}[/{cid}]` | the HalalCloud upload host that `create_upload_task` hands out as `upload_address` |
//! | `/_admin/…` | test-only inspection, fault injection and rate limits (see [`admin`], [`faults`] and [`throttle`]) |
//!
//! Everything else answers 404.
//!
//! # Embedding
//!
//! ```no_run
//! # async fn demo() -> Result<(), pandrop_fakecloud::FakeCloudError> {
//! use pandrop_fakecloud::{serve, Config};
//! let cloud = serve("127.0.0.1:0".parse().unwrap(), Config::new("/tmp/fakecloud-data")).await?;
//! println!("client base URL: {}", cloud.pan123_url());
//! cloud.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
mod config;
mod connection;
mod error;
pub mod faults;
pub mod halalcloud;
mod hashing;
mod listing;
pub mod pan123;
pub mod pan6;
mod rate_limits;
mod server;
mod stats;
mod store;
pub mod throttle;
pub mod wcs;

pub use config::{Config, FormReply, HalalCloudConfig, Pan6Config, Pan123Config};
pub use error::FakeCloudError;
pub use rate_limits::{RateLimit, RateLimitError, RateLimits};
pub use server::{RunningCloud, serve};
