//! Access tokens: one fetch shared by all, refreshed when it expires mid-upload, bad credentials reported.

use pandrop_engine::Error;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::secret::secret;
use pandrop_engine::transfer::Outcome;
use serde_json::json;
use std::time::Duration;

use super::support::{cloud, cloud_with, md5_of, stored, target, upload};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn one_token_serves_many_requests() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider();
    let path = cloud.file("f.bin", 4 * MIB, 1);
    upload(&provider, &path, &target("/a/b", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(cloud.requests("123pan/access_token").await, 1);
}

#[tokio::test]
async fn token_expiring_in_the_middle_of_an_upload_is_refreshed() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider_with(|c| c.retry.max_retries = 0);
    // The third slice request finds its token expired (and the server really forgets it).
    cloud
        .faults(json!([{"route": "123pan/slice", "skip": 2, "action": {"kind": "expired_token"}}]))
        .await;
    let path = cloud.file("f.bin", 6 * MIB, 2);
    let report = upload(&provider, &path, &target("/", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(cloud.requests("123pan/access_token").await, 2, "exactly one refresh");
    assert_eq!(stored(&cloud, "/f.bin").await.expect("stored")["md5"], md5_of(&path));
}

#[tokio::test]
async fn short_lived_tokens_are_renewed_before_they_expire() {
    let cloud = cloud_with(|c| {
        c.pan123.slice_size = MIB as u64;
        c.pan123.token_lifetime = Duration::from_secs(2);
    })
    .await;
    let provider = cloud.provider();
    let a = cloud.file("a.bin", 2 * MIB, 3);
    upload(&provider, &a, &target("/", "a.bin"), DuplicatePolicy::Fail)
        .await
        .expect("first");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let b = cloud.file("b.bin", 2 * MIB, 4);
    upload(&provider, &b, &target("/", "b.bin"), DuplicatePolicy::Fail)
        .await
        .expect("second after expiry");
    assert_eq!(cloud.requests("123pan/access_token").await, 2);
}

#[tokio::test]
async fn wrong_credentials_fail_clearly_and_leak_nothing() {
    let cloud = cloud().await;
    let provider = cloud.provider_with(|c| c.client_secret = secret("not-the-SECRET-value-42"));
    let path = cloud.file("f.bin", 3 * MIB, 5);
    let err = upload(&provider, &path, &target("/", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Auth { .. }), "{err}");
    assert!(err.to_string().contains("clientID/clientSecret"), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("not-the-SECRET-value-42"), "secret leaked: {shown}");
}

/// What another client of the same clientID does: takes a token of its own.
async fn mint_elsewhere(cloud: &super::support::Cloud) {
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/access_token", cloud.running.pan123_url()))
        .header("Platform", "open_platform")
        .json(&json!({"clientID": "demo", "clientSecret": "demo-secret"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(reply["code"], 0, "{reply}");
}

#[tokio::test]
async fn connections_sharing_a_token_store_mint_once_and_follow_a_replacement() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let tokens = pandrop_engine::secrets::SharedTokens::in_memory();
    let connect = || cloud.provider_with(|c| c.shared_tokens = tokens.clone());
    let (a, b) = (connect(), connect());
    for (i, provider) in [&a, &b].into_iter().enumerate() {
        let path = cloud.file(&format!("s{i}.bin"), 2 * MIB, 30 + i as u64);
        upload(provider, &path, &target("/s", &format!("s{i}.bin")), DuplicatePolicy::Fail)
            .await
            .expect("upload");
    }
    assert_eq!(cloud.requests("123pan/access_token").await, 1, "one token for both");
    // The cloud forgets the token under `a`: `a` gets a new one, and `b`, rejected in turn, takes that one.
    cloud
        .faults(json!([{"route": "123pan/create", "action": {"kind": "expired_token"}}]))
        .await;
    for (i, provider) in [&a, &b].into_iter().enumerate() {
        let path = cloud.file(&format!("t{i}.bin"), 2 * MIB, 40 + i as u64);
        upload(provider, &path, &target("/s", &format!("t{i}.bin")), DuplicatePolicy::Fail)
            .await
            .expect("upload after the token was forgotten");
    }
    assert_eq!(cloud.requests("123pan/access_token").await, 2, "one replacement, shared");
    assert_eq!(cloud.stats().await["123pan"]["retired_token_uses"], 0);
}

#[tokio::test]
async fn a_token_logged_out_by_the_cap_fails_that_upload_clearly_and_the_next_one_gets_a_new_token() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider_with(|c| c.retry.max_retries = 0);
    let first = cloud.file("first.bin", 2 * MIB, 50);
    upload(&provider, &first, &target("/cap", "first.bin"), DuplicatePolicy::Fail)
        .await
        .expect("first");
    // Three sign-ins elsewhere: PanDrop's token is the fourth oldest, logged out.
    for _ in 0..3 {
        mint_elsewhere(&cloud).await;
    }
    let second = cloud.file("second.bin", 2 * MIB, 51);
    let err = upload(&provider, &second, &target("/cap", "second.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("logged out");
    assert!(matches!(err, Error::Auth { .. }), "{err}");
    assert!(err.to_string().contains("more than three are in use"), "{err}");
    assert_eq!(cloud.requests("123pan/access_token").await, 4, "no token minted on the spot");
    // Retried (by the user or the queue), the upload gets a new token and goes through.
    let report = upload(&provider, &second, &target("/cap", "second.bin"), DuplicatePolicy::Fail)
        .await
        .expect("retried");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(cloud.requests("123pan/access_token").await, 5);
}
