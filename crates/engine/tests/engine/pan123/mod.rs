//! 123pan conformance: the engine's client against fakecloud over real HTTP on loopback.

mod support;

mod auth;
mod faults;
mod hostile;
mod resume;
mod rules;
mod transport;
mod upload;
