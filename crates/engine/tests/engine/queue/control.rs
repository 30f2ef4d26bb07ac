//! Per-item control: pause and resume keep what was sent, cancel drops the session, order is obeyed.

use pandrop_engine::queue::Limits;
use pandrop_engine::store::{MoveTo, TaskState};
use serde_json::json;

use super::support::{MIB, cloud_with, md5_of, pan123_at, queue, states_until_idle, store_at, stored, task, wait_parts, wait_state};

/// Slows every slice so a test can act while a file is half sent; generous, because CI machines are loaded.
async fn slow_slices(cloud: &super::support::Cloud) {
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

/// A retry by hand, after the task used up its automatic attempts, gets the whole budget again: the first
/// transient failure after it is retried, not fatal.
#[tokio::test]
async fn a_retry_by_hand_gives_a_fresh_attempt_budget() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    // Each attempt asks `create` twice (the provider retries once): two attempts fail, then the first attempt
    // after the retry fails too, and the one after it goes through.
    cloud
        .faults(json!([{"route": "123pan/create", "times": 6, "action": {"kind": "status", "status": 503}}]))
        .await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let limits = Limits {
        max_attempts: 2,
        ..Limits::default()
    };
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), limits).await;
    let path = cloud.file("r.bin", MIB, 8);
    let id = q.add(vec![task(&path, "/r")]).await.expect("add")[0];
    wait_state(&q, id, |s| s == TaskState::Failed).await;
    assert_eq!(store.task(id).expect("task").expect("there").attempts, 2);

    q.retry(&[id]);
    wait_state(&q, id, |s| s != TaskState::Failed).await;
    wait_state(&q, id, TaskState::is_finished).await;
    let task = store.task(id).expect("task").expect("there");
    assert_eq!(task.state, TaskState::Done, "the retried task had attempts left: {task:?}");
    assert_eq!(stored(&cloud, "/r/r.bin").await.expect("stored")["md5"], md5_of(&path));
    q.shutdown().await;
}

/// Work is woken by events: a queue with nothing to do, and one holding only paused and finished tasks,
/// leaves the store alone.
#[tokio::test]
async fn an_idle_queue_does_not_read_the_store() {
    let cloud = cloud_with(|_| {}).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let done = cloud.file("d.bin", 1000, 1);
    let held = cloud.file("h.bin", 1000, 2);
    let ids = q.add(vec![task(&done, "/i")]).await.expect("add");
    wait_state(&q, ids[0], |s| s == TaskState::Done).await;
    let paused = store.add_tasks(&[task(&held, "/i")]).expect("add")[0];
    store.transition(paused, pandrop_engine::store::TaskAction::Pause).expect("pause");
    q.wait_idle().await;

    let before = store.uses();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(store.uses() - before, 0, "store uses while idle for 5 s");
    q.shutdown().await;
}

/// Every state change is announced with the task as it now stands, so no subscriber reads the store again.
#[tokio::test]
async fn state_events_carry_the_changed_task() {
    let cloud = cloud_with(|_| {}).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let mut events = q.subscribe();
    let path = cloud.file("e.bin", 3000, 3);
    let id = q.add(vec![task(&path, "/e")]).await.expect("add")[0];
    wait_state(&q, id, |s| s == TaskState::Done).await;
    let mut last = None;
    while let Ok(event) = events.try_recv() {
        if let pandrop_engine::queue::QueueEvent::State { task } = event {
            assert_eq!(task.id, id);
            last = Some(*task);
        }
    }
    let last = last.expect("state events");
    assert_eq!(
        last,
        store.task(id).expect("task").expect("there"),
        "the last event is the stored row"
    );
    assert_eq!((last.bytes_done, last.remote_id.is_some()), (3000, true));
    q.shutdown().await;
}
