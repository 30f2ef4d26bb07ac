//! The engine as the apps open it: one runner per store, paths planned and queued, the lock let go at the end.

use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::queue::Limits;
use pandrop_engine::secrets::MemoryStore;
use pandrop_engine::store::TaskState;
use pandrop_engine::{Engine, EngineConfig};
use std::sync::Arc;

use crate::support::{Accounts, PROFILE, cloud_with, pan123_at, store_at, wait_state};

fn config(path: &std::path::Path, cloud: &crate::support::Cloud) -> EngineConfig {
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
