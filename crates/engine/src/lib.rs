//! PanDrop's upload engine.
//!
//! Everything that is not UI lives here: one-pass hashing ([`hash`]), the cloud providers behind one small
//! trait and their registry ([`provider`]), the shared HTTP machinery with retries ([`http`]), the upload
//! driver that moves a local file to a cloud ([`transfer`]), and the durable queue ([`queue`], [`store`]).
//! The desktop shell and the CLI start from [`Engine::open`].

pub mod accounts;
mod engine;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hash;
pub mod http;
pub mod provider;
pub mod queue;
pub mod secret;
pub mod secrets;
pub mod store;
pub mod transfer;

pub use engine::{Engine, EngineConfig, LimitsFrom};
pub use error::{Error, ErrorCode, Result, StoreFault};
