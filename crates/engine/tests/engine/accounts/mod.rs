//! Accounts: profiles in the store, secrets in a (memory) secret store, providers connected against an
//! in-process fakecloud.

mod profiles;
mod providers;
