//! The corpus harness: a 123pan provider on the shared fakecloud harness, a time bound for every case, and
//! checks on what a refusal must say.

pub(crate) use crate::common::*;

use pandrop_engine::Error;
use pandrop_engine::http::{self, RetryPolicy};
use pandrop_engine::provider::pan123::{Pan123, Pan123Config};
use pandrop_engine::secret::secret;
use std::future::Future;
use std::time::Duration;

/// The longest any one case may take; a hang fails the test instead of blocking CI.
pub(crate) const BOUND: Duration = Duration::from_secs(60);

/// Runs `fut`, failing the test if it takes longer than [`BOUND`].
pub(crate) async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(BOUND, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: no answer within {BOUND:?}"),
    }
}

/// A 123pan account at the test cloud: quick retries, short polls, chunked uploads only unless tuned.
pub(crate) fn pan123(cloud: &Cloud, tune: impl FnOnce(&mut Pan123Config)) -> Pan123 {
    let endpoint = url::Url::parse(&cloud.running.pan123_url()).expect("url");
    let mut config = Pan123Config::new(endpoint, "demo", secret("demo-secret"));
    config.retry = RetryPolicy::quick();
    config.poll_interval = Duration::from_millis(50);
    config.single_step_max = 0;
    tune(&mut config);
    Pan123::new(http::client(), config).expect("provider")
}

/// Asserts that `err` is a refusal of bad input naming `file` (a path or a name) and saying `rule`.
pub(crate) fn assert_refused(err: &Error, file: &str, rule: &str) {
    assert!(matches!(err, Error::InvalidInput { .. }), "not an input refusal: {err:?}");
    let text = err.to_string();
    assert!(text.contains(file), "{text:?} should name {file:?}");
    assert!(text.contains(rule), "{text:?} should say {rule:?}");
}

/// Asserts that `err` is a local read failure naming `file`.
pub(crate) fn assert_unreadable(err: &Error, file: &str) {
    assert!(matches!(err, Error::Io { .. }), "not a read failure: {err:?}");
    assert!(err.to_string().contains(file), "{err} should name {file:?}");
}
