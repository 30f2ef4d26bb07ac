//! 123pan specifics on top of the shared harness.

pub(crate) use crate::common::*;

use pandrop_engine::http::{self, RetryPolicy};
use pandrop_engine::provider::pan123::{Pan123, Pan123Config};
use pandrop_engine::secret::secret;
use std::time::Duration;

impl Cloud {
    pub(crate) fn config(&self) -> Pan123Config {
        let endpoint = url::Url::parse(&self.running.pan123_url()).expect("url");
        let mut config = Pan123Config::new(endpoint, "demo", secret("demo-secret"));
        config.retry = RetryPolicy::quick();
        config.poll_interval = Duration::from_millis(50);
        config.single_step_max = 0;
        config
    }

    pub(crate) fn provider(&self) -> Pan123 {
        self.provider_with(|_| {})
    }

    pub(crate) fn provider_with(&self, tune: impl FnOnce(&mut Pan123Config)) -> Pan123 {
        let mut config = self.config();
        tune(&mut config);
        Pan123::new(http::client(), config).expect("provider")
    }
}
