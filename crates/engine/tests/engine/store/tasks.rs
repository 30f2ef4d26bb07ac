//! The queue: adding, reading, state changes, ordering, removal, retry and crash recovery.

use pandrop_engine::ErrorCode;
use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};
use pandrop_engine::store::{MoveTo, NewTask, TaskError, TaskId, TaskState};
use std::path::PathBuf;

use super::support::{add, db, db_with_clock, new_task, new_task_for, order, profile, rows_of_task};

#[test]
fn added_tasks_come_back_whole_and_in_order() {
    let (db, clock) = db_with_clock(1_000);
    let first = NewTask {
        profile_id: "p1".into(),
        local_path: PathBuf::from("/data/视频/a b.mkv"),
        target: RemoteTarget {
            dir: "/备份/2024".into(),
            name: "a b.mkv".into(),
        },
        duplicate: DuplicatePolicy::Overwrite,
        size: 5 * 1024 * 1024 * 1024,
        after: None,
    };
    let ids = db.store.add_tasks(&[first.clone(), new_task("b"), new_task("c")]).unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids[0].0 < ids[1].0 && ids[1].0 < ids[2].0);

    let task = db.store.task(ids[0]).unwrap().expect("stored");
    assert_eq!(task.id, ids[0]);
    assert_eq!(task.profile_id, "p1");
    assert_eq!(task.local_path, first.local_path);
    assert_eq!(task.target, first.target);
    assert_eq!(task.duplicate, DuplicatePolicy::Overwrite);
    assert_eq!(task.size, 5 * 1024 * 1024 * 1024);
    assert_eq!(task.state, TaskState::Queued);
    assert_eq!(task.bytes_done, 0);
    assert_eq!(task.error, None);
    assert_eq!(task.remote_id, None);
    assert_eq!(task.attempts, 0);
    assert_eq!((task.created_at, task.updated_at), (1_000, 1_000));

    // A later batch goes below the first, in its own order.
    clock.advance(10);
    let more = add(&db.store, &["d", "e"]);
    assert_eq!(order(&db.store), ["a b.mkv", "b", "c", "d", "e"]);
    assert_eq!(db.store.task(more[1]).unwrap().unwrap().created_at, 1_010);
    let positions: Vec<i64> = db.store.tasks().unwrap().iter().map(|t| t.position).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    assert_eq!(db.store.task(TaskId(9_999)).unwrap(), None);
    assert_eq!(db.store.add_tasks(&[]).unwrap(), []);
}

#[test]
fn a_batch_with_an_unknown_profile_adds_nothing() {
    let db = db();
    let err = db.store.add_tasks(&[new_task("a"), new_task_for("ghost", "b")]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("ghost"), "{err}");
    assert!(db.store.tasks().unwrap().is_empty(), "all or nothing");
}

#[test]
fn next_queued_takes_queued_tasks_in_queue_order() {
    let db = db();
    let ids = add(&db.store, &["a", "b", "c", "d", "e"]);
    db.store.set_state(ids[0], TaskState::Uploading, None).unwrap();
    db.store.set_state(ids[2], TaskState::Paused, None).unwrap();
    db.store.move_task(ids[4], MoveTo::Top).unwrap();
    let next: Vec<TaskId> = db.store.next_queued(2).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(next, [ids[4], ids[1]]);
    let all: Vec<TaskId> = db.store.next_queued(100).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(all, [ids[4], ids[1], ids[3]]);
    assert!(db.store.next_queued(0).unwrap().is_empty());
}

#[test]
fn set_state_records_and_clears_errors() {
    let (db, clock) = db_with_clock(5_000);
    let id = add(&db.store, &["a"])[0];
    let error = TaskError {
        code: "network".into(),
        message: "connection reset".into(),
    };
    clock.advance(1);
    db.store.set_state(id, TaskState::Failed, Some(&error)).unwrap();
    let task = db.store.task(id).unwrap().unwrap();
    assert_eq!(task.state, TaskState::Failed);
    assert_eq!(task.error, Some(error));
    assert_eq!(task.updated_at, 5_001);

    clock.advance(1);
    db.store.set_state(id, TaskState::Queued, None).unwrap();
    let task = db.store.task(id).unwrap().unwrap();
    assert_eq!((task.state, task.error, task.updated_at), (TaskState::Queued, None, 5_002));

    for state in [TaskState::Done, TaskState::Instant] {
        let err = db.store.set_state(id, state, None).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{state} goes through finish()");
    }
    let err = db.store.set_state(TaskId(424_242), TaskState::Paused, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("424242"), "{err}");
}

#[test]
fn progress_and_attempts_are_counted() {
    let db = db();
    let id = add(&db.store, &["a"])[0];
    db.store.set_progress(id, 640).unwrap();
    assert_eq!(db.store.task(id).unwrap().unwrap().bytes_done, 640);
    assert_eq!(db.store.bump_attempts(id).unwrap(), 1);
    assert_eq!(db.store.bump_attempts(id).unwrap(), 2);
    assert_eq!(db.store.task(id).unwrap().unwrap().attempts, 2);
    assert_eq!(db.store.set_progress(TaskId(77), 1).unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(db.store.bump_attempts(TaskId(77)).unwrap_err().code(), ErrorCode::InvalidInput);
}

#[test]
fn finish_completes_the_task_writes_history_and_drops_resume_state() {
    let (db, clock) = db_with_clock(100);
    let ids = add(&db.store, &["a", "b"]);
    db.store.set_state(ids[0], TaskState::Uploading, None).unwrap();
    db.store.set_progress(ids[0], 10).unwrap();
    db.store
        .save_resume(ids[0], "123pan", &serde_json::json!({"preuploadID": "x"}), None)
        .unwrap();
    db.store.ack_part(ids[0], 0, None).unwrap();

    clock.set(200);
    db.store.finish(ids[0], TaskState::Done, "remote-1").unwrap();
    clock.set(300);
    db.store.finish(ids[1], TaskState::Instant, "remote-2").unwrap();

    let task = db.store.task(ids[0]).unwrap().unwrap();
    assert_eq!(task.state, TaskState::Done);
    assert_eq!(task.remote_id.as_deref(), Some("remote-1"));
    assert_eq!(task.bytes_done, task.size);
    assert_eq!(task.updated_at, 200);
    assert_eq!(db.store.load_resume(ids[0]).unwrap(), None);
    assert!(db.store.acked_parts(ids[0]).unwrap().is_empty());
    assert_eq!(db.store.task(ids[1]).unwrap().unwrap().state, TaskState::Instant);

    let history = db.store.history(10).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!((history[0].task_id, history[0].outcome.as_str()), (ids[1].0, "instant"));
    assert_eq!(history[1].task_id, ids[0].0);
    assert_eq!(history[1].outcome, "uploaded");
    assert_eq!(history[1].remote_path, "/uploads/a");
    assert_eq!(history[1].remote_id, "remote-1");
    assert_eq!(history[1].local_path, PathBuf::from("/home/me/files/a"));
    assert_eq!(history[1].profile_id, "p1");
    assert_eq!((history[1].size, history[1].finished_at), (1000, 200));

    // Finishing again is a no-op: no second history row, the first outcome stands.
    db.store.finish(ids[0], TaskState::Instant, "other").unwrap();
    assert_eq!(db.store.history(10).unwrap().len(), 2);
    assert_eq!(db.store.task(ids[0]).unwrap().unwrap().remote_id.as_deref(), Some("remote-1"));

    let err = db.store.finish(ids[0], TaskState::Failed, "x").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(
        db.store.finish(TaskId(55), TaskState::Done, "x").unwrap_err().code(),
        ErrorCode::InvalidInput
    );
}

/// Queue of five tasks a..e; moves `name` and returns the new order.
fn after_move(name: &str, to: MoveTo) -> Vec<String> {
    let db = db();
    let names = ["a", "b", "c", "d", "e"];
    let ids = add(&db.store, &names);
    let index = names.iter().position(|n| *n == name).unwrap();
    db.store.move_task(ids[index], to).unwrap();
    let result = order(&db.store);
    // Queue order stays a strict order on positions.
    let positions: Vec<i64> = db.store.tasks().unwrap().iter().map(|t| t.position).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    result
}

#[test]
fn move_to_top() {
    assert_eq!(after_move("a", MoveTo::Top), ["a", "b", "c", "d", "e"]);
    assert_eq!(after_move("c", MoveTo::Top), ["c", "a", "b", "d", "e"]);
    assert_eq!(after_move("e", MoveTo::Top), ["e", "a", "b", "c", "d"]);
}

#[test]
fn move_up() {
    assert_eq!(after_move("a", MoveTo::Up), ["a", "b", "c", "d", "e"]);
    assert_eq!(after_move("c", MoveTo::Up), ["a", "c", "b", "d", "e"]);
    assert_eq!(after_move("e", MoveTo::Up), ["a", "b", "c", "e", "d"]);
}

#[test]
fn move_down() {
    assert_eq!(after_move("a", MoveTo::Down), ["b", "a", "c", "d", "e"]);
    assert_eq!(after_move("c", MoveTo::Down), ["a", "b", "d", "c", "e"]);
    assert_eq!(after_move("e", MoveTo::Down), ["a", "b", "c", "d", "e"]);
}

#[test]
fn move_to_bottom() {
    assert_eq!(after_move("a", MoveTo::Bottom), ["b", "c", "d", "e", "a"]);
    assert_eq!(after_move("c", MoveTo::Bottom), ["a", "b", "d", "e", "c"]);
    assert_eq!(after_move("e", MoveTo::Bottom), ["a", "b", "c", "d", "e"]);
}

#[test]
fn moves_compose_and_new_tasks_still_go_last() {
    let db = db();
    let ids = add(&db.store, &["a", "b", "c"]);
    db.store.move_task(ids[2], MoveTo::Top).unwrap();
    db.store.move_task(ids[2], MoveTo::Top).unwrap();
    db.store.move_task(ids[0], MoveTo::Bottom).unwrap();
    db.store.move_task(ids[2], MoveTo::Down).unwrap();
    assert_eq!(order(&db.store), ["b", "c", "a"]);
    add(&db.store, &["d"]);
    assert_eq!(order(&db.store), ["b", "c", "a", "d"]);
    let single = super::support::db();
    let only = add(&single.store, &["x"])[0];
    for to in [MoveTo::Top, MoveTo::Up, MoveTo::Down, MoveTo::Bottom] {
        single.store.move_task(only, to).unwrap();
    }
    assert_eq!(order(&single.store), ["x"]);
    assert_eq!(
        db.store.move_task(TaskId(999), MoveTo::Up).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
}

#[test]
fn removing_tasks_removes_their_parts_and_resume_state() {
    let db = db();
    let ids = add(&db.store, &["a", "b", "c"]);
    for id in &ids {
        db.store.ack_part(*id, 0, Some("ctx-0")).unwrap();
        db.store.ack_part(*id, 1, Some("ctx-1")).unwrap();
        db.store
            .save_resume(*id, "6pan", &serde_json::json!({"batch": "b"}), Some(9))
            .unwrap();
    }
    db.store.remove_tasks(&[ids[0], ids[2], TaskId(12_345)]).unwrap();
    assert_eq!(order(&db.store), ["b"]);
    for gone in [ids[0], ids[2]] {
        assert_eq!(rows_of_task(&db, "parts", gone), 0);
        assert_eq!(rows_of_task(&db, "resume_states", gone), 0);
        assert!(db.store.acked_parts(gone).unwrap().is_empty());
        assert_eq!(db.store.load_resume(gone).unwrap(), None);
    }
    assert_eq!(rows_of_task(&db, "parts", ids[1]), 2);
    assert_eq!(rows_of_task(&db, "resume_states", ids[1]), 1);
    db.store.remove_tasks(&[]).unwrap();
}

#[test]
fn clear_finished_keeps_failed_and_unfinished_tasks_and_the_history() {
    let db = db();
    let ids = add(&db.store, &["done", "instant", "cancelled", "failed", "queued", "paused"]);
    db.store.finish(ids[0], TaskState::Done, "r0").unwrap();
    db.store.finish(ids[1], TaskState::Instant, "r1").unwrap();
    db.store.set_state(ids[2], TaskState::Cancelled, None).unwrap();
    db.store.set_state(ids[3], TaskState::Failed, None).unwrap();
    db.store.set_state(ids[5], TaskState::Paused, None).unwrap();
    assert_eq!(db.store.clear_finished().unwrap(), 3);
    assert_eq!(order(&db.store), ["failed", "queued", "paused"]);
    assert_eq!(db.store.history(10).unwrap().len(), 2);
    assert_eq!(db.store.clear_finished().unwrap(), 0);
}

#[test]
fn retry_failed_requeues_with_a_clean_slate() {
    let db = db();
    let ids = add(&db.store, &["a", "b", "c", "d"]);
    let error = TaskError {
        code: "server".into(),
        message: "HTTP 502".into(),
    };
    for id in [ids[3], ids[1]] {
        db.store.bump_attempts(id).unwrap();
        db.store.set_state(id, TaskState::Failed, Some(&error)).unwrap();
    }
    db.store.ack_part(ids[1], 0, None).unwrap();
    db.store.set_state(ids[2], TaskState::Cancelled, None).unwrap();

    assert_eq!(db.store.retry_failed().unwrap(), [ids[1], ids[3]]);
    for id in [ids[1], ids[3]] {
        let task = db.store.task(id).unwrap().unwrap();
        assert_eq!((task.state, task.error, task.attempts), (TaskState::Queued, None, 0));
    }
    assert_eq!(db.store.task(ids[2]).unwrap().unwrap().state, TaskState::Cancelled);
    assert_eq!(db.store.acked_parts(ids[1]).unwrap(), [(0, None)], "parts are kept for the retry");
    assert!(db.store.retry_failed().unwrap().is_empty());
}

#[test]
fn recovery_requeues_interrupted_tasks_and_keeps_their_progress() {
    let db = db();
    let names = [
        "queued",
        "hashing",
        "preparing",
        "uploading",
        "completing",
        "paused",
        "failed",
        "done",
    ];
    let ids = add(&db.store, &names);
    let states = [
        TaskState::Hashing,
        TaskState::Preparing,
        TaskState::Uploading,
        TaskState::Completing,
        TaskState::Paused,
        TaskState::Failed,
    ];
    for (id, state) in ids[1..7].iter().zip(states) {
        db.store.set_state(*id, state, None).unwrap();
    }
    db.store.finish(ids[7], TaskState::Done, "r").unwrap();
    let uploading = ids[3];
    db.store.set_progress(uploading, 600).unwrap();
    db.store.ack_part(uploading, 0, Some("c0")).unwrap();
    db.store.ack_part(uploading, 2, Some("c2")).unwrap();
    let state = serde_json::json!({"preuploadID": "pre-1", "sliceSize": 16_777_216, "server": "http://up"});
    db.store.save_resume(uploading, "123pan", &state, Some(12_345)).unwrap();

    // A crash: the process is gone, the file stays.
    let db = db.reopen();
    let recovered = db.store.recover_after_restart().unwrap();
    assert_eq!(recovered, ids[1..5]);

    let by_name: Vec<(String, TaskState)> = db.store.tasks().unwrap().into_iter().map(|t| (t.target.name, t.state)).collect();
    let expected = [
        ("queued", TaskState::Queued),
        ("hashing", TaskState::Queued),
        ("preparing", TaskState::Queued),
        ("uploading", TaskState::Queued),
        ("completing", TaskState::Queued),
        ("paused", TaskState::Paused),
        ("failed", TaskState::Failed),
        ("done", TaskState::Done),
    ];
    assert_eq!(by_name, expected.map(|(n, s)| (n.to_string(), s)));

    let task = db.store.task(uploading).unwrap().unwrap();
    assert_eq!(task.bytes_done, 600);
    assert_eq!(
        db.store.acked_parts(uploading).unwrap(),
        [(0, Some("c0".into())), (2, Some("c2".into()))]
    );
    let resume = db.store.load_resume(uploading).unwrap().unwrap();
    assert_eq!(
        (resume.provider.as_str(), &resume.state, resume.expires_at),
        ("123pan", &state, Some(12_345))
    );

    assert!(db.store.recover_after_restart().unwrap().is_empty(), "nothing left to recover");
}

#[test]
fn deleting_a_profile_deletes_its_tasks_but_not_its_history() {
    let db = db();
    db.store.upsert_profile(&profile("p2")).unwrap();
    let mine = add(&db.store, &["a"]);
    let theirs = db.store.add_tasks(&[new_task_for("p2", "b"), new_task_for("p2", "c")]).unwrap();
    db.store.ack_part(theirs[1], 0, None).unwrap();
    db.store.finish(theirs[0], TaskState::Done, "r").unwrap();
    db.store.delete_profile("p2").unwrap();
    assert_eq!(order(&db.store), ["a"]);
    assert_eq!(db.store.task(mine[0]).unwrap().unwrap().profile_id, "p1");
    assert_eq!(rows_of_task(&db, "parts", theirs[1]), 0);
    assert_eq!(db.store.history(5).unwrap()[0].profile_id, "p2");
    db.store.delete_profile("p2").unwrap();
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_round_trip() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let db = db();
    let raw: &[u8] = b"/data/\xff\xfe caf\xe9.bin";
    let path = PathBuf::from(OsStr::from_bytes(raw));
    assert!(path.to_str().is_none(), "the fixture must not be UTF-8");
    let mut task = new_task("x.bin");
    task.local_path = path.clone();
    let id = db.store.add_tasks(&[task]).unwrap()[0];

    let db = db.reopen();
    assert_eq!(db.store.task(id).unwrap().unwrap().local_path.as_os_str().as_bytes(), raw);
    db.store.finish(id, TaskState::Done, "r").unwrap();
    assert_eq!(db.store.history(1).unwrap()[0].local_path.as_os_str().as_bytes(), raw);
}
