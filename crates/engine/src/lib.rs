//! PanDrop's upload engine.
//!
//! Everything that is not UI lives here: one-pass hashing ([`hash`]), the cloud providers behind one small
//! trait ([`provider`]), the shared HTTP machinery with retries ([`http`]) and the upload driver that moves a
//! local file to a cloud ([`transfer`]). The desktop shell and the CLI only call into this crate.

pub mod accounts;
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

pub use error::{Error, ErrorCode, Result};
