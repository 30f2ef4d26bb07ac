//! How fast each 123pan endpoint is called: one [`Pace`] per endpoint for each account (API base and
//! clientID), shared by every connection of that account in this process.
//!
//! The cloud answers code 429 beyond its limits, and the limits grow with the account's membership level
//! (spec §6.3: the official table has changed twice; no limit is published for the upload v2 endpoints). The
//! defaults are what the peer clients use; the pace adapts from there (see [`crate::http::Pace`]), halving
//! for everyone at the first refusal and probing upwards while the cloud accepts, up to the VIP column of the
//! official table. Slices are not paced: each file keeps its own slice concurrency.
//!
//! The access token is not paced here: the token source mints at most one a minute after a rejection, a rule
//! it checks against the shared token's mint time, so it holds across processes too.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use url::Url;

use crate::http::{Pace, PaceRule};

/// `upload/v2/file/create`: 2/s as OpenList paces it, up to 20/s.
pub const CREATE: PaceRule = PaceRule::adaptive(2.0, 20.0);
/// `upload/v2/file/single/create`: no published limit; treated as a create.
pub const SINGLE_CREATE: PaceRule = PaceRule::adaptive(2.0, 20.0);
/// `upload/v1/file/mkdir`: 2/s as OpenList paces it; the official table allows 5 (free) to 20 (VIP).
pub const MKDIR: PaceRule = PaceRule::adaptive(2.0, 20.0);
/// `api/v2/file/list`: 3/s as OpenList paces it; the official table allows 5 to 15.
pub const LIST: PaceRule = PaceRule::adaptive(3.0, 15.0);
/// `upload/v2/file/upload_complete`: no published limit for v2 (v1's is 20/s for mount apps); each upload
/// polls it once a second on top.
pub const UPLOAD_COMPLETE: PaceRule = PaceRule::adaptive(5.0, 20.0);

/// The paces of one account.
pub(super) struct Paces {
    pub create: Pace,
    pub single_create: Pace,
    pub mkdir: Pace,
    pub list: Pace,
    pub upload_complete: Pace,
}

impl Paces {
    fn new() -> Self {
        Self {
            create: Pace::new(CREATE),
            single_create: Pace::new(SINGLE_CREATE),
            mkdir: Pace::new(MKDIR),
            list: Pace::new(LIST),
            upload_complete: Pace::new(UPLOAD_COMPLETE),
        }
    }
}

/// An account: its API base (without a trailing `/`) and clientID.
type Account = (String, String);

/// The live accounts' paces; an account's go when its last connection does.
static ACCOUNTS: LazyLock<Mutex<HashMap<Account, Weak<Paces>>>> = LazyLock::new(Mutex::default);

/// The paces of `client_id` at `endpoint`, the same ones for every connection of this process.
pub(super) fn for_account(endpoint: &Url, client_id: &str) -> Arc<Paces> {
    let mut accounts = ACCOUNTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    accounts.retain(|_, paces| paces.strong_count() > 0);
    let key = (endpoint.as_str().trim_end_matches('/').to_owned(), client_id.to_owned());
    if let Some(paces) = accounts.get(&key).and_then(Weak::upgrade) {
        return paces;
    }
    let paces = Arc::new(Paces::new());
    accounts.insert(key, Arc::downgrade(&paces));
    paces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_one_set_of_paces() {
        let endpoint = Url::parse("http://127.0.0.1:9/123pan").expect("url");
        let a = for_account(&endpoint, "cid");
        let b = for_account(&Url::parse("http://127.0.0.1:9/123pan/").expect("url"), "cid");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &for_account(&endpoint, "other")));
        a.create.throttled();
        assert!((b.create.rate() - 1.0).abs() < 1e-9);
    }
}
