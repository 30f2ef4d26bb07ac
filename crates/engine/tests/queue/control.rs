//! Per-item control: pause and resume keep what was sent, cancel drops the session, order is obeyed.

use pandrop_engine::queue::Limits;
use pandrop_engine::store::{MoveTo, TaskState};
use serde_json::json;

use crate::support::{MIB, cloud_with, md5_of, pan123_at, queue, states_until_idle, store_at, stored, task, wait_parts, wait_state};

/// Slows every slice so a test can act while a file is half sent; generous, because CI machines are loaded.
async fn slow_slices(cloud: &crate::support::Cloud) {
    cloud
        .faults(json!([{"route": "123pan/slice", "times": 100000, "action": {"kind": "latency", "ms": 100}}]))
        .await;
}

/// Waits until the cloud has acknowledged a part of any of `ids`.
async fn wait_any_part(store: &std::sync::Arc<pandrop_engine::store::Store>, ids: &[pandrop_engine::store::TaskId]) {
    for _ in 0..1200 {
        if ids.iter().any(|id| !store.acked_parts(*id).expect("parts").is_empty()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no task acknowledged a part");
}

#[tokio::test]
async fn pause_keeps_sent_slices_and_resume_sends_the_rest() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    slow_slices(&cloud).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let path = cloud.file("big.bin", 24 * MIB, 5);
    let id = q.add(vec![task(&path, "/p")]).await.expect("add")[0];
    wait_parts(&store, id, 4).await;
    q.pause(&[id]);
    wait_state(&q, id, |s| s == TaskState::Paused).await;
    let kept = store.acked_parts(id).expect("parts").len();
    assert!(kept >= 4, "sent slices are kept while paused: {kept}");

    q.resume(&[id]);
    wait_state(&q, id, |s| s == TaskState::Done).await;
    assert_eq!(stored(&cloud, "/p/big.bin").await.expect("stored")["md5"], md5_of(&path));
    let stats = cloud.stats().await;
    let counts = stats["slices"].as_object().expect("sessions");
    assert_eq!(counts.len(), 1, "resumed the same session: {stats}");
    for (slice, n) in counts.values().next().expect("one").as_object().expect("counts") {
        assert!(n.as_u64().unwrap_or(0) <= 2, "slice {slice} sent {n} times");
    }
    q.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_and_forgets_the_session() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    slow_slices(&cloud).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let path = cloud.file("c.bin", 20 * MIB, 6);
    let id = q.add(vec![task(&path, "/")]).await.expect("add")[0];
    wait_parts(&store, id, 2).await;
    q.cancel(&[id]);
    wait_state(&q, id, |s| s == TaskState::Cancelled).await;
    assert!(store.load_resume(id).expect("resume").is_none());
    assert!(stored(&cloud, "/c.bin").await.is_none());
    // Retry starts it again, to the end.
    q.retry(&[id]);
    wait_state(&q, id, |s| s == TaskState::Done).await;
    q.shutdown().await;
}

#[tokio::test]
async fn tasks_start_in_queue_order() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let files: Vec<_> = (0..3).map(|i| cloud.file(&format!("o{i}.bin"), MIB + i, 10 + i as u64)).collect();
    // Queued before the queue runs, then reordered: o2 first, o0 last.
    let ids = store
        .add_tasks(&files.iter().map(|f| task(f, "/o")).collect::<Vec<_>>())
        .expect("add");
    store.move_task(ids[2], MoveTo::Top).expect("top");
    store.move_task(ids[0], MoveTo::Bottom).expect("bottom");
    let limits = Limits {
        files: 1,
        hashing: 1,
        ..Limits::default()
    };
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), limits).await;
    let states = states_until_idle(&q).await;
    let started: Vec<_> = states.iter().filter(|(_, s)| *s == TaskState::Hashing).map(|(id, _)| *id).collect();
    assert_eq!(started, [ids[2], ids[1], ids[0]]);
    q.shutdown().await;
}

#[tokio::test]
async fn pause_all_and_resume_all() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    slow_slices(&cloud).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let files: Vec<_> = (0..4).map(|i| cloud.file(&format!("all{i}.bin"), 24 * MIB, 20 + i)).collect();
    let ids = q.add(files.iter().map(|f| task(f, "/all")).collect()).await.expect("add");
    // Any task may win the first hashing slot and with it an upload slot, so wait for the first part of any
    // of them: no file of 24 slow slices can finish before the pause arrives.
    wait_any_part(&store, &ids).await;
    q.pause_all();
    for id in &ids {
        wait_state(&q, *id, |s| s == TaskState::Paused).await;
    }
    q.resume_all();
    q.wait_idle().await;
    for (id, f) in ids.iter().zip(&files) {
        assert_eq!(
            q.tasks().await.expect("tasks").iter().find(|t| t.id == *id).map(|t| t.state),
            Some(TaskState::Done)
        );
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(stored(&cloud, &format!("/all/{name}")).await.expect("stored")["md5"], md5_of(f));
    }
    q.shutdown().await;
}

#[tokio::test]
async fn a_file_changed_while_paused_is_hashed_again() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    slow_slices(&cloud).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let path = cloud.file("edit.bin", 24 * MIB, 30);
    let id = q.add(vec![task(&path, "/e")]).await.expect("add")[0];
    wait_parts(&store, id, 2).await;
    q.pause(&[id]);
    wait_state(&q, id, |s| s == TaskState::Paused).await;
    // The user edits the file: same size, different bytes, newer mtime.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[5 * MIB] ^= 0xff;
    std::fs::write(&path, &bytes).expect("edit");
    q.resume(&[id]);
    wait_state(&q, id, |s| s == TaskState::Done).await;
    assert_eq!(
        stored(&cloud, "/e/edit.bin").await.expect("stored")["md5"],
        md5_of(&path),
        "never uploaded with a stale hash"
    );
    q.shutdown().await;
}
