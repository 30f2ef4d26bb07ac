//! HalalCloud specifics beyond the conformance suite: the sign-in by code and its refreshes, held blocks.

mod duplicates;
mod names;
mod offline;
mod signin;

use pandrop_engine::provider::CloudProvider;
use pandrop_engine::provider::registry::{self, ConnectOptions, ConnectRequest};
use pandrop_engine::secrets::SharedTokens;
use pandrop_engine::store::ProviderKind;
use std::sync::Arc;

use crate::common::Cloud;

/// A HalalCloud account on `cloud` with the sandbox's personal key, connected through the registry.
pub(crate) async fn provider(cloud: &Cloud) -> Arc<dyn CloudProvider> {
    let factory = registry::factory(ProviderKind::HALALCLOUD);
    let endpoint = url::Url::parse(&cloud.running.halalcloud_url()).expect("url");
    let http = pandrop_engine::http::client();
    let credentials = factory.sandbox_credentials(&http, &endpoint).await.expect("demo key");
    factory
        .connect(ConnectRequest {
            http,
            endpoint,
            credentials,
            tokens: SharedTokens::in_memory(),
            options: ConnectOptions::STANDARD,
        })
        .await
        .expect("connect")
}
