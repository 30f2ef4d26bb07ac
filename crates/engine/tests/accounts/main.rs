//! Accounts: profiles in the store, secrets in a (memory) secret store, providers connected against an
//! in-process fakecloud.

#[path = "../common/mod.rs"]
mod common;

mod profiles;
mod providers;
