//! A `.torrent` queued for HalalCloud's offline download: uploaded to the torrent folder, then sent as the
//! magnet link built from it (its info-hash, name and tracker), into the folder asked for.

use pandrop_engine::accounts::ProfileInput;
use pandrop_engine::queue::Limits;
use pandrop_engine::secret::secret;
use pandrop_engine::secrets::MemoryStore;
use pandrop_engine::store::{ProviderKind, TaskState};
use pandrop_engine::{Engine, EngineConfig};
use sha1::Digest;
use std::sync::Arc;

use crate::common::{cloud, torrent};

#[tokio::test]
async fn a_torrent_becomes_a_magnet_link_for_the_offline_download() {
    let cloud = cloud().await;
    let engine = Engine::open(EngineConfig {
        store_path: cloud.dir.path().join("queue.db"),
        secrets: Arc::new(MemoryStore::default()),
        limits: Box::new(|_| Ok(Limits::default())),
        providers: None,
    })
    .await
    .expect("engine");
    let account = engine
        .accounts()
        .save(ProfileInput {
            id: None,
            provider: ProviderKind::HALALCLOUD,
            name: "halal".into(),
            endpoint: Some(cloud.running.halalcloud_url()),
            default_dir: "/".into(),
            fields: [("client_id".to_owned(), "demo".to_owned())].into(),
            secret: Some(secret("demo-secret")),
        })
        .expect("profile");
    let bytes = torrent("lucky-star.mkv");
    let path = cloud.dir.path().join("lucky.torrent");
    std::fs::write(&path, &bytes).expect("write");
    let (ids, _) = engine
        .add_torrents(vec![path], &account.profile.id, "/downloads/anime")
        .await
        .expect("add");
    crate::queue::support::wait_state(engine.queue(), ids[0], |s| s.is_finished()).await;
    let task = engine.store().task(ids[0]).expect("read").expect("there");
    assert_eq!(task.state, TaskState::Done, "{task:?}");
    assert_eq!(task.target.dir, pandrop_engine::provider::halalcloud::TORRENT_DIR);
    assert_eq!(task.offline.as_ref().map(|o| o.tasks), Some(1), "{task:?}");

    // The info-hash is the SHA-1 of the bencoded `info` dictionary: the bytes after `4:info`, less the
    // torrent's closing `e`.
    let at = bytes.windows(6).position(|w| w == b"4:info").expect("info") + 6;
    let expected = hex::encode(sha1::Sha1::digest(&bytes[at..bytes.len() - 1]));
    let offline = cloud.admin("offline").await;
    let halal: Vec<_> = offline
        .as_array()
        .expect("array")
        .iter()
        .filter(|t| t["provider"] == "halalcloud")
        .collect();
    assert_eq!(halal.len(), 1, "{offline}");
    assert_eq!(halal[0]["info_hash"], expected, "{offline}");
    assert_eq!(halal[0]["save_path"], "/downloads/anime");
    assert!(
        halal[0]["url"].as_str().is_some_and(|u| u.contains("dn=lucky-star.mkv")),
        "{offline}"
    );
    engine.shutdown().await;
}
