//! A `.torrent` goes to `:torrent`, then becomes an offline download task (spec §11).

use pandrop_engine::hash::etag_of;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::provider::pan6::TORRENT_DIR;

use super::support::{APIS, cloud, target, torrent, upload};

#[tokio::test]
async fn torrent_upload_creates_an_offline_task() {
    for api in APIS {
        let cloud = cloud().await;
        let provider = cloud.pan6(api).await;
        let bytes = torrent("lucky-star.mkv");
        let path = cloud.dir.path().join("lucky.torrent");
        std::fs::write(&path, &bytes).expect("write");
        let report = upload(&provider, &path, &target(TORRENT_DIR, "lucky.torrent"), DuplicatePolicy::Fail)
            .await
            .expect("upload");
        let started = provider
            .offline_download(&report.remote, &etag_of(&bytes), "/dl")
            .await
            .expect("offline");
        assert_eq!(started.tasks, 1, "{api:?}");
        let tasks = cloud.admin("offline").await;
        let task = tasks
            .as_array()
            .and_then(|t| t.first())
            .unwrap_or_else(|| panic!("{api:?}: no task: {tasks}"));
        assert_eq!(task["name"], "lucky-star.mkv", "{api:?}");
        assert_eq!(task["save_path"], "/dl", "{api:?}");
    }
}
