//! The durable queue against the sandbox cloud over real HTTP, with a real SQLite store.

pub(crate) mod support;

mod control;
mod engine;
mod restart;
mod runs;
