//! Every integration test of `pandrop-cli`, in one binary: one link instead of one per suite. Each module runs
//! the real binary as a user would.

mod common;

mod cli;
mod corpus_cli;
mod halalcloud_cli;
mod login_keyring;
mod pacing;
mod pan6_cli;
mod queue_cli;
mod queue_kill;
mod secrets_audit;
mod token_sharing;
