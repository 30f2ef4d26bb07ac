//! Handlers of the 123pan endpoints, one file per step of the protocol.

pub(crate) mod complete;
pub(crate) mod create;
pub(crate) mod folders;
pub(crate) mod input;
pub(crate) mod single;
pub(crate) mod slice;
pub(crate) mod token;
