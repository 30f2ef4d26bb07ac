//! The sign-in by a code entered at the website (OAuth device flow): the code is shown, the user approves it,
//! the account's secret is the tokens; an expired access token is refreshed once, and the newest tokens are
//! what the account keeps.

use pandrop_engine::provider::registry::{self, ConnectOptions, ConnectRequest, Credentials};
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy};
use pandrop_engine::secret::ExposeSecret;
use pandrop_engine::secrets::SharedTokens;
use pandrop_engine::store::ProviderKind;
use pandrop_engine::transfer::Outcome;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Cloud, cloud_with, md5_of, stored, target, upload};

async fn approve(cloud: &Cloud, user_code: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_admin/halalcloud/approve", cloud.running.base_url()))
        .json(&json!({"user_code": user_code}))
        .send()
        .await
        .expect("approve");
    assert!(resp.status().is_success(), "approval refused: {}", resp.status());
}

async fn connect(cloud: &Cloud, secret: pandrop_engine::secret::SecretString) -> Arc<dyn CloudProvider> {
    let factory = registry::factory(ProviderKind::HALALCLOUD);
    let mut credentials = Credentials::default();
    credentials.set("client_secret", secret);
    factory
        .connect(ConnectRequest {
            http: pandrop_engine::http::client(),
            endpoint: url::Url::parse(&cloud.running.halalcloud_url()).expect("url"),
            credentials,
            tokens: SharedTokens::in_memory(),
            options: ConnectOptions {
                retry: pandrop_engine::http::RetryPolicy::quick(),
                ..ConnectOptions::STANDARD
            },
        })
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_code_entered_at_the_website_signs_in_and_the_tokens_refresh_when_they_expire() {
    let cloud = cloud_with(|c| {
        c.halalcloud.device_poll_interval_secs = 1;
        c.halalcloud.access_token_lifetime = Duration::from_secs(2);
    })
    .await;
    let factory = registry::factory(ProviderKind::HALALCLOUD);
    assert!(factory.signs_in_by_device());
    let http = pandrop_engine::http::client();
    let endpoint = url::Url::parse(&cloud.running.halalcloud_url()).expect("url");
    let sign_in = factory.device_sign_in(&http, &endpoint).await.expect("a code");
    assert!(
        !sign_in.user_code.is_empty() && sign_in.verification_uri.starts_with("http"),
        "{sign_in:?}"
    );
    let wait = factory.device_sign_in_wait(&http, &endpoint, &sign_in);
    let (secret, ()) = tokio::join!(wait, async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        approve(&cloud, &sign_in.user_code).await;
    });
    let secret = secret.expect("signed in");
    assert!(!format!("{sign_in:?}").contains(secret.expose_secret()));

    let provider = connect(&cloud, secret.clone()).await;
    let path = cloud.file("signed.bin", 5 * 1024 * 1024, 3);
    let report = upload(provider.as_ref(), &path, &target("/code", "signed.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(stored(&cloud, "/code/signed.bin").await.expect("stored")["md5"], md5_of(&path));
    assert_eq!(provider.current_secret().expect("tokens").expose_secret(), secret.expose_secret());

    // The access token expires: the next call refreshes once, and the account's secret is the new tokens.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let again = cloud.file("later.bin", 1000, 4);
    upload(provider.as_ref(), &again, &target("/code", "later.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload after a refresh");
    let renewed = provider.current_secret().expect("tokens");
    assert_ne!(renewed.expose_secret(), secret.expose_secret(), "the rotated tokens are kept");
    assert_eq!(cloud.requests("halalcloud/oauth/refresh_token").await, 1);

    // The old tokens are spent: a connection that still holds them is told to sign in again.
    let stale = connect(&cloud, secret).await;
    let err = stale.probe("/code").await.expect_err("spent");
    assert!(err.to_string().contains("sign in again"), "{err}");
}

#[tokio::test]
async fn a_code_nobody_enters_expires_with_a_clear_message() {
    let cloud = cloud_with(|c| {
        c.halalcloud.device_poll_interval_secs = 1;
        c.halalcloud.device_code_lifetime = Duration::from_secs(2);
    })
    .await;
    let factory = registry::factory(ProviderKind::HALALCLOUD);
    let http = pandrop_engine::http::client();
    let endpoint = url::Url::parse(&cloud.running.halalcloud_url()).expect("url");
    let sign_in = factory.device_sign_in(&http, &endpoint).await.expect("a code");
    let err = factory.device_sign_in_wait(&http, &endpoint, &sign_in).await.expect_err("expired");
    assert!(err.to_string().contains(&sign_in.user_code), "{err}");
}

/// The app's way: the engine's accounts start the sign-in, wait, and save an account with no key fields; an
/// edit that renames it keeps it signed in by code; a bad input is refused before the wait.
#[tokio::test]
async fn the_app_saves_an_account_signed_in_by_code() {
    use pandrop_engine::accounts::{Accounts, ProfileInput};
    use pandrop_engine::secrets::{MemoryStore, SecretStore};

    let cloud = cloud_with(|c| c.halalcloud.device_poll_interval_secs = 1).await;
    let store = Arc::new(pandrop_engine::store::Store::open(&cloud.dir.path().join("app.db")).expect("store"));
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
    let accounts = Accounts::new(store, secrets, pandrop_engine::http::client());
    let endpoint = cloud.running.halalcloud_url();
    let input = |name: &str| ProfileInput {
        id: None,
        provider: ProviderKind::HALALCLOUD,
        name: name.into(),
        endpoint: Some(endpoint.clone()),
        default_dir: "/app".into(),
        fields: Default::default(),
        secret: None,
    };
    let sign_in = accounts
        .start_device_sign_in(ProviderKind::HALALCLOUD, Some(&endpoint))
        .await
        .expect("a code");
    let err = accounts.finish_device_sign_in(input(" "), &sign_in).await.expect_err("no name");
    assert_eq!(err.code(), pandrop_engine::ErrorCode::InvalidInput, "{err}");
    assert_eq!(
        cloud.requests("halalcloud/oauth/get_device_code_state").await,
        0,
        "refused before the wait"
    );

    let (saved, ()) = tokio::join!(accounts.finish_device_sign_in(input("Halal"), &sign_in), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        approve(&cloud, &sign_in.user_code).await;
    });
    let saved = saved.expect("saved");
    assert!(saved.signed_in_by_code && saved.has_secret && saved.fields.is_empty(), "{saved:?}");
    let report = accounts.test(&saved.profile.id).await.expect("test");
    assert!(report.ok, "{}", report.message);

    let renamed = accounts
        .save(ProfileInput {
            id: Some(saved.profile.id.clone()),
            ..input("Halal at home")
        })
        .expect("renamed");
    assert!(renamed.signed_in_by_code, "{renamed:?}");
}
