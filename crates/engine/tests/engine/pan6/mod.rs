//! 6pan v1/v2 over WCS: the engine's client against fakecloud over real HTTP on loopback.

mod support;

mod hostile;
mod offline;
mod recovery;
mod resume;
mod upload;
