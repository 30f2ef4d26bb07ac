//! Every integration test of the engine, in one binary: one link instead of one per suite.

mod common;

mod accounts;
mod conformance;
mod corpus;
mod halalcloud;
mod hash_vectors;
mod keyring;
mod pan123;
mod pan6;
mod queue;
mod store;
