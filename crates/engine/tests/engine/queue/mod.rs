//! The durable queue against the sandbox cloud over real HTTP, with a real SQLite store.

mod support;

mod control;
mod engine;
mod restart;
mod runs;
