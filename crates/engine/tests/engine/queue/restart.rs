//! A queue stopped mid-upload (or crashed) continues after a restart; a lost network is waited out.

use pandrop_engine::queue::Limits;
use pandrop_engine::store::TaskState;
use serde_json::json;

use super::support::{MIB, cloud_with, md5_of, pan123_at, queue, store_at, stored, task, wait_parts, wait_state};

#[tokio::test]
async fn a_restarted_queue_continues_the_half_sent_file() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    cloud
        .faults(json!([{"route": "123pan/slice", "times": 100000, "action": {"kind": "latency", "ms": 60}}]))
        .await;
    let db = cloud.dir.path().join("queue.db");
    let path = cloud.file("r.bin", 16 * MIB, 7);
    let store = store_at(&db);
    let first = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let id = first.add(vec![task(&path, "/r")]).await.expect("add")[0];
    wait_parts(&store, id, 5).await;
    first.shutdown().await;
    // As after a crash: the task was left mid-transfer.
    store.set_state(id, TaskState::Uploading, None).expect("as if crashed");
    let acked = store.acked_parts(id).expect("parts").len();
    drop(store);

    let store = store_at(&db);
    let second = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    wait_state(&second, id, |s| s == TaskState::Done).await;
    assert_eq!(stored(&cloud, "/r/r.bin").await.expect("stored")["md5"], md5_of(&path));
    let stats = cloud.stats().await;
    let per_slice = stats["slices"].as_object().expect("sessions");
    assert_eq!(per_slice.len(), 1, "one session from start to end: {stats}");
    let total: u64 = per_slice
        .values()
        .next()
        .expect("one")
        .as_object()
        .expect("counts")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    // Sixteen slices; at most the three that were in flight at the stop went twice.
    assert!(
        total <= 16 + 3,
        "{total} slice requests for 16 slices ({acked} acknowledged before the stop)"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn tasks_wait_for_the_network_and_go_on_when_it_returns() {
    // A port nothing listens on yet: every request fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::TempDir::new().expect("tempdir");
    let store = store_at(&dir.path().join("queue.db"));
    let limits = Limits {
        max_attempts: 2,
        ..Limits::default()
    };
    let q = queue(&store, pan123_at(&format!("http://127.0.0.1:{port}/123pan")), limits).await;
    let path = dir.path().join("n.bin");
    std::fs::write(&path, vec![7u8; 2 * MIB]).expect("write");
    let id = q.add(vec![task(&path, "/n")]).await.expect("add")[0];
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let waiting = q.tasks().await.expect("tasks").into_iter().find(|t| t.id == id).expect("task");
    assert_eq!(
        waiting.state,
        TaskState::Queued,
        "waiting, not failed, after several tries: {waiting:?}"
    );
    assert_eq!(waiting.attempts, 0, "waiting for the network spends no attempts");

    // The network comes back.
    let config = pandrop_fakecloud::Config::new(dir.path().join("cloud"));
    let cloud = pandrop_fakecloud::serve(([127, 0, 0, 1], port).into(), config)
        .await
        .expect("fakecloud");
    wait_state(&q, id, |s| s == TaskState::Done).await;
    q.shutdown().await;
    cloud.shutdown().await;
}
