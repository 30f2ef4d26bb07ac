//! The engine as the apps open it: one runner per store, paths planned and queued, the lock let go at the end.

use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::queue::Limits;
use pandrop_engine::secrets::MemoryStore;
use pandrop_engine::store::TaskState;
use pandrop_engine::{Engine, EngineConfig};
use std::sync::Arc;

use super::support::{Accounts, PROFILE, cloud_with, pan123_at, store_at, wait_state};

fn config(path: &std::path::Path, cloud: &super::support::Cloud) -> EngineConfig {
    EngineConfig {
        store_path: path.to_path_buf(),
        secrets: Arc::new(MemoryStore::default()),
        limits: Box::new(|_| Ok(Limits::default())),
        providers: Some(Arc::new(Accounts(pan123_at(&cloud.running.pan123_url())))),
    }
}

#[tokio::test]
async fn one_engine_per_store_plans_and_uploads_and_lets_go() {
    let cloud = cloud_with(|_| {}).await;
    let path = cloud.dir.path().join("queue.db");
    drop(store_at(&path)); // the test profile
    let engine = Engine::open(config(&path, &cloud)).await.expect("engine");
    let second = Engine::open(config(&path, &cloud)).await.expect_err("a second runner is refused");
    assert!(second.to_string().contains("another process"), "{second}");

    let folder = cloud.dir.path().join("album");
    std::fs::create_dir_all(folder.join("2026")).expect("mkdir");
    std::fs::write(folder.join("2026/a.jpg"), b"aaaa").expect("write");
    let missing = cloud.dir.path().join("missing.jpg");
    let (ids, walk) = engine
        .add_paths(vec![folder, missing], PROFILE, "/up", DuplicatePolicy::Fail)
        .await
        .expect("add");
    assert_eq!((ids.len(), walk.refused.len()), (1, 1), "{walk:?}");
    wait_state(engine.queue(), ids[0], |s| s == TaskState::Done).await;
    let task = engine.store().task(ids[0]).expect("read").expect("there");
    assert_eq!(task.target.full_path(), "/up/album/2026/a.jpg");

    engine.shutdown().await;
    let again = Engine::open(config(&path, &cloud)).await.expect("free after shutdown");
    again.shutdown().await;
}

/// A torrent is one queued task: its upload, then the cloud's offline download, recorded with the task.
#[tokio::test]
async fn a_torrent_is_one_task_that_uploads_then_downloads_offline() {
    let cloud = cloud_with(|_| {}).await;
    let endpoint = url::Url::parse(&cloud.running.pan6_url()).expect("url");
    let token = pandrop_engine::provider::pan6::login(
        &pandrop_engine::http::client(),
        &endpoint,
        pandrop_engine::provider::pan6::Pan6Api::V2,
        "demo",
        &pandrop_engine::secret::secret("demo-secret"),
    )
    .await
    .expect("login");
    let engine = Engine::open(EngineConfig {
        providers: None,
        ..config(&cloud.dir.path().join("queue.db"), &cloud)
    })
    .await
    .expect("engine");
    let profile = engine
        .accounts()
        .save(crate::common::pan6_profile(&endpoint, token))
        .expect("profile");
    let torrent = cloud.dir.path().join("lucky.torrent");
    std::fs::write(&torrent, super::support::torrent("lucky-star.mkv")).expect("write");
    let other = cloud.file("notes.txt", 10, 1);
    let (ids, walk) = engine
        .add_torrents(vec![torrent, other], &profile.profile.id, "/dl")
        .await
        .expect("add");
    assert_eq!(ids.len(), 1);
    assert!(walk.refused[0].message.contains("not a .torrent file"), "{walk:?}");
    wait_state(engine.queue(), ids[0], |s| s.is_finished()).await;
    let task = engine.store().task(ids[0]).expect("read").expect("there");
    assert_eq!(task.state, TaskState::Done, "{task:?}");
    assert_eq!(task.target.dir, ":torrent");
    assert_eq!(task.offline.as_ref().map(|o| o.tasks), Some(1), "{task:?}");
    let offline = cloud.admin("offline").await;
    assert_eq!(offline[0]["save_path"], "/dl", "{offline}");
    engine.shutdown().await;
}
