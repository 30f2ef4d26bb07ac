//! Everything lives in the data dir: files, tokens and uploads in progress survive a restart.

use serde_json::json;

use crate::harness::{Harness, TEST_SLICE, bytes, md5_hex};

#[tokio::test]
async fn files_tokens_and_sessions_survive_a_restart() {
    let mut h = Harness::start().await;
    let token = h.token().await;
    let done = bytes(2500, 40);
    let done_id = h.upload(&token, 0, "done.bin", &done, json!({})).await;

    // An upload left half-way: slices 1 and 3 of 4 (2 feeds the running digest only after the restart).
    let pending = bytes(3300, 41);
    let created = h
        .create(&token, 0, "later/pending.bin", &pending, json!({ "containDir": true }))
        .await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    for no in [1, 3] {
        h.slice_of(&h.api(), &token, &id, &pending, TEST_SLICE, no).await.ok();
    }

    h.restart().await;

    // Same token, same files.
    let files = h.admin_files().await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["path"], "/done.bin");
    assert_eq!(files[0]["md5"], md5_hex(&done));
    let listed = h.list(&token, "parentFileId=0&limit=100").await;
    assert!(listed.ok()["fileList"].as_array().unwrap().iter().any(|e| e["fileId"] == done_id));

    // Instant reuse knows the stored content.
    assert_eq!(h.create(&token, 0, "copy.bin", &done, json!({})).await.ok()["reuse"], true);

    // The session goes on where it stopped.
    let a = h.complete(&token, &id).await;
    assert!(a.err(1).contains("2个分片"), "{}", a.message());
    for no in [2, 4] {
        h.slice_of(&h.api(), &token, &id, &pending, TEST_SLICE, no).await.ok();
    }
    let a = h.complete(&token, &id).await;
    assert_eq!(a.ok()["completed"], true);
    let files = h.admin_files().await;
    let f = files.iter().find(|f| f["path"] == "/later/pending.bin").unwrap();
    assert_eq!(f["md5"], md5_hex(&pending));
    assert_eq!(f["size"], 3300);

    // Session files of finished uploads are cleaned up.
    assert_eq!(std::fs::read_dir(h.dir.path().join("sessions")).unwrap().count(), 0);
    if let Some(cloud) = h.cloud.take() {
        cloud.shutdown().await;
    }
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let mut h = Harness::start().await;
    let addr = h.cloud.as_ref().unwrap().addr();
    drop(h.cloud.take());
    // Give the server task a moment to close its listener.
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "the listener should be closed after drop");
}

#[tokio::test]
async fn slice_folders_of_earlier_versions_are_adopted() {
    let mut h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(3300, 42);
    let created = h.create(&token, 0, "legacy.bin", &data, json!({})).await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    for no in [1, 3] {
        h.slice_of(&h.api(), &token, &id, &data, TEST_SLICE, no).await.ok();
    }
    if let Some(cloud) = h.cloud.take() {
        cloud.shutdown().await;
    }

    // Lay the upload out as earlier versions did, one file per slice in a folder; and leave a stray
    // session file of no open upload.
    let sessions = h.dir.path().join("sessions");
    let folder = sessions.join(&id);
    std::fs::remove_file(&folder).unwrap();
    std::fs::create_dir(&folder).unwrap();
    let slice = TEST_SLICE as usize;
    std::fs::write(folder.join("1"), &data[..slice]).unwrap();
    std::fs::write(folder.join("3"), &data[2 * slice..3 * slice]).unwrap();
    std::fs::write(sessions.join("stray"), b"left by a crash").unwrap();
    h.restart().await;

    assert!(folder.is_file());
    assert!(!sessions.join("stray").exists());
    for no in [2, 4] {
        h.slice_of(&h.api(), &token, &id, &data, TEST_SLICE, no).await.ok();
    }
    h.complete(&token, &id).await.ok();
    assert_eq!(h.admin_files().await[0]["md5"], md5_hex(&data));
    if let Some(cloud) = h.cloud.take() {
        cloud.shutdown().await;
    }
}
