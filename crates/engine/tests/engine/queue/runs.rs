//! Whole batches: uploads, instant hits, a bad file among good ones, progress events.

use pandrop_engine::queue::{Limits, QueueEvent};
use pandrop_engine::store::TaskState;

use super::support::{MIB, cloud_with, md5_of, pan123_at, queue, store_at, stored, task};

#[tokio::test]
async fn a_batch_finishes_with_uploads_and_instant_hits() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    // Slow enough that progress ticks (ten a second) see the transfer.
    cloud
        .faults(serde_json::json!([{"route": "123pan/slice", "times": 1000, "action": {"kind": "latency", "ms": 80}}]))
        .await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let a = cloud.file("a.bin", 3 * MIB + 1, 1);
    let b = cloud.file("b.bin", 2 * MIB, 2);
    let a_copy = cloud.dir.path().join("a-copy.bin");
    std::fs::copy(&a, &a_copy).expect("copy");
    let mut events = q.subscribe();
    let ids = q.add(vec![task(&a, "/q"), task(&b, "/q")]).await.expect("add");
    q.wait_idle().await;
    // The same bytes under another name: instant, and it never took an upload slot.
    let copy = q.add(vec![task(&a_copy, "/q")]).await.expect("add copy");
    q.wait_idle().await;

    let tasks = q.tasks().await.expect("tasks");
    let state = |id| tasks.iter().find(|t| t.id == id).map(|t| t.state);
    assert_eq!(state(ids[0]), Some(TaskState::Done));
    assert_eq!(state(ids[1]), Some(TaskState::Done));
    assert_eq!(state(copy[0]), Some(TaskState::Instant));
    assert_eq!(stored(&cloud, "/q/a.bin").await.expect("a")["md5"], md5_of(&a));
    assert_eq!(stored(&cloud, "/q/a-copy.bin").await.expect("copy")["md5"], md5_of(&a));
    assert_eq!(store.history(10).expect("history").len(), 3);

    let mut saw_progress = false;
    while let Ok(event) = events.try_recv() {
        if let QueueEvent::Progress { tasks } = event {
            saw_progress |= tasks.iter().any(|p| p.total == 3 * MIB as u64 + 1 && p.done <= p.total);
        }
    }
    assert!(saw_progress, "absolute progress was published");
    q.shutdown().await;
}

#[tokio::test]
async fn a_bad_file_fails_alone_with_a_clear_message() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), Limits::default()).await;
    let bad = cloud.file("what?.txt", 10, 3);
    let good = cloud.file("good.bin", MIB + 3, 4);
    let missing = cloud.dir.path().join("vanished.bin");
    std::fs::write(&missing, b"soon gone").expect("write");
    let ids = q
        .add(vec![task(&bad, "/"), task(&missing, "/"), task(&good, "/")])
        .await
        .expect("add");
    std::fs::remove_file(&missing).expect("delete before its turn");
    q.wait_idle().await;
    let tasks = q.tasks().await.expect("tasks");
    let bad_task = tasks.iter().find(|t| t.id == ids[0]).expect("bad");
    assert_eq!(bad_task.state, TaskState::Failed);
    let message = &bad_task.error.as_ref().expect("error").message;
    assert!(message.contains("what?.txt") && message.contains("'?'"), "{message}");
    let gone = tasks.iter().find(|t| t.id == ids[1]).expect("missing");
    assert_eq!(gone.state, TaskState::Failed);
    assert!(gone.error.as_ref().expect("error").message.contains("vanished.bin"));
    assert_eq!(tasks.iter().find(|t| t.id == ids[2]).expect("good").state, TaskState::Done);
    q.shutdown().await;
}

#[tokio::test]
async fn a_permanent_cloud_error_fails_one_task_and_the_rest_finish() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    cloud
        .faults(serde_json::json!([{"route": "123pan/create", "action": {"kind": "code", "code": 1, "message": "文件名包含敏感词"}}]))
        .await;
    let store = store_at(&cloud.dir.path().join("queue.db"));
    let limits = Limits {
        files: 1,
        hashing: 1,
        ..Limits::default()
    };
    let q = queue(&store, pan123_at(&cloud.running.pan123_url()), limits).await;
    let files: Vec<_> = (0..3).map(|i| cloud.file(&format!("p{i}.bin"), MIB + i, 40 + i as u64)).collect();
    let ids = q.add(files.iter().map(|f| task(f, "/p")).collect()).await.expect("add");
    q.wait_idle().await;
    let tasks: Vec<_> = q
        .tasks()
        .await
        .expect("tasks")
        .into_iter()
        .filter(|t| ids.contains(&t.id))
        .collect();
    // Whichever task asked first met the fault: it alone failed, with the cloud's message, and no retry.
    let failed: Vec<_> = tasks.iter().filter(|t| t.state == TaskState::Failed).collect();
    assert_eq!(failed.len(), 1, "{tasks:?}");
    assert!(
        failed[0].error.as_ref().expect("error").message.contains("文件名包含敏感词"),
        "{:?}",
        failed[0]
    );
    assert_eq!(failed[0].attempts, 0, "a permanent error is not retried");
    for t in tasks.iter().filter(|t| t.state != TaskState::Failed) {
        assert_eq!(t.state, TaskState::Done, "{t:?}");
        let name = t.local_path.file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(
            stored(&cloud, &format!("/p/{name}")).await.expect("stored")["md5"],
            md5_of(&t.local_path)
        );
    }
    q.shutdown().await;
}
