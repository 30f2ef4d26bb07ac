//! 6pan specifics on top of the shared harness: a logged-in provider for either API generation.

pub(crate) use crate::common::*;

use pandrop_engine::http::{self, RetryPolicy};
use pandrop_engine::provider::pan6::{self, Pan6, Pan6Api, Pan6Config};
use pandrop_engine::secret::secret;

pub(crate) const MIB: usize = 1024 * 1024;
pub(crate) const BLOCK: usize = 4 * MIB;

impl Cloud {
    pub(crate) fn pan6_endpoint(&self) -> url::Url {
        url::Url::parse(&format!("{}/6pan", self.running.base_url())).expect("url")
    }

    /// Logs in to the sandbox account and builds a provider; `tune` adjusts the configuration.
    pub(crate) async fn pan6_with(&self, api: Pan6Api, tune: impl FnOnce(&mut Pan6Config)) -> Pan6 {
        let endpoint = self.pan6_endpoint();
        let token = pan6::login(&http::client(), &endpoint, api, "demo", &secret("demo-secret"))
            .await
            .expect("demo login");
        let mut config = Pan6Config::new(endpoint, api, token);
        config.retry = RetryPolicy::quick();
        // Blocks, not the form upload, unless a test asks for it.
        config.form_upload_max = 0;
        tune(&mut config);
        Pan6::new(http::client(), config)
    }

    pub(crate) async fn pan6(&self, api: Pan6Api) -> Pan6 {
        self.pan6_with(api, |_| {}).await
    }
}

/// Both API generations, for tests that must hold for each.
pub(crate) const APIS: [Pan6Api; 2] = [Pan6Api::V1, Pan6Api::V2];
