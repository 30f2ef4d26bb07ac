//! Connecting profiles to a fakecloud: the sandbox profile, a 123pan account, a 6pan account whose
//! rotating token goes back to the secret store.

use pandrop_engine::accounts::{SANDBOX_PROFILE_ID, secret_key};
use pandrop_engine::http;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::provider::pan6::{self, Pan6Api};
use pandrop_engine::queue::{Limits, Queue};
use pandrop_engine::secret::{ExposeSecret, secret};
use pandrop_engine::secrets::SecretStore;
use pandrop_engine::store::{NewTask, TaskState};
use std::sync::Arc;

use super::profiles::{accounts, pan123_input};
use crate::common::cloud;

fn url(text: &str) -> url::Url {
    url::Url::parse(text).unwrap()
}

#[tokio::test]
async fn a_queue_uploads_through_the_sandbox_profile() {
    let cloud = cloud().await;
    let (accounts, store, _) = accounts();
    accounts.ensure_sandbox_profile().unwrap();
    accounts.set_sandbox_url(Some(url(&cloud.running.base_url())));

    let report = accounts.test(SANDBOX_PROFILE_ID).await.unwrap();
    assert!(report.ok, "{report:?}");

    let path = cloud.file("hello.bin", 3000, 7);
    let queue = Queue::start(Arc::clone(&store), Arc::new(accounts.clone()), Limits::default())
        .await
        .unwrap();
    let ids = queue
        .add(vec![NewTask {
            profile_id: SANDBOX_PROFILE_ID.into(),
            local_path: path,
            target: pandrop_engine::provider::RemoteTarget {
                dir: "/PanDrop".into(),
                name: "hello.bin".into(),
            },
            duplicate: DuplicatePolicy::Fail,
            size: 3000,
            after: None,
        }])
        .await
        .unwrap();
    queue.wait_idle().await;
    let task = store.task(ids[0]).unwrap().unwrap();
    assert_eq!(task.state, TaskState::Done, "{task:?}");
    queue.shutdown().await;

    // The sandbox stopped: its cached connection is gone with it.
    accounts.set_sandbox_url(None);
    assert!(accounts.connect(SANDBOX_PROFILE_ID).await.is_err());
}

#[tokio::test]
async fn a_123pan_profile_is_tested_against_its_cloud() {
    let cloud = cloud().await;
    let (accounts, _, _) = accounts();
    let good = accounts
        .save(pan123_input("Good", Some(cloud.running.pan123_url()), Some("demo-secret")))
        .unwrap();
    let report = accounts.test(&good.profile.id).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert!(report.message.contains("/backup"), "{report:?}");

    let bad = accounts
        .save(pan123_input("Bad", Some(cloud.running.pan123_url()), Some("wrong-secret")))
        .unwrap();
    let report = accounts.test(&bad.profile.id).await.unwrap();
    assert!(!report.ok, "{report:?}");
    assert!(!report.message.contains("wrong-secret"), "{report:?}");

    // A changed secret is used at once: the cached connection was dropped.
    let mut fix = pan123_input("Bad", Some(cloud.running.pan123_url()), Some("demo-secret"));
    fix.id = Some(bad.profile.id.clone());
    accounts.save(fix).unwrap();
    assert!(accounts.test(&bad.profile.id).await.unwrap().ok);
    assert!(accounts.test("missing").await.is_err());
}

#[tokio::test]
async fn the_rotated_6pan_token_goes_back_to_the_secret_store() {
    let cloud = cloud().await;
    let (accounts, store, secrets) = accounts();
    let endpoint = url(&cloud.running.pan6_url());
    let first = pan6::login(&http::client(), &endpoint, Pan6Api::V2, "demo", &secret("demo-secret"))
        .await
        .unwrap();
    let saved = accounts.save(crate::common::pan6_profile(&endpoint, first.clone())).unwrap();
    assert!(saved.fields.is_empty() && saved.has_secret);
    let provider = accounts.connect(&saved.profile.id).await.unwrap();
    assert!(provider.offline().is_some(), "6pan downloads torrents offline");

    let path = cloud.file("six.bin", 5000, 3);
    let queue = Queue::start(Arc::clone(&store), Arc::new(accounts.clone()), Limits::default())
        .await
        .unwrap();
    let ids = queue
        .add(vec![NewTask {
            profile_id: saved.profile.id.clone(),
            local_path: path,
            target: pandrop_engine::provider::RemoteTarget {
                dir: "/".into(),
                name: "six.bin".into(),
            },
            duplicate: DuplicatePolicy::Fail,
            size: 5000,
            after: None,
        }])
        .await
        .unwrap();
    queue.wait_idle().await;
    queue.shutdown().await;
    assert_eq!(store.task(ids[0]).unwrap().unwrap().state, TaskState::Done);

    accounts.save_rotated_tokens().unwrap();
    let now = secrets.get(&secret_key(&saved.profile.id)).unwrap().unwrap();
    assert_ne!(now.expose_secret(), first.expose_secret(), "the newest token was stored");
    let report = accounts.test(&saved.profile.id).await.unwrap();
    assert!(report.ok, "{report:?}");
}
