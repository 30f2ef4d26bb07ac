//! History and pruning.

use pandrop_engine::hash::{HashRequest, hash_bytes};
use pandrop_engine::store::FileKey;
use pandrop_engine::store::{PruneReport, PruneRule, TaskId, TaskState};
use std::time::Duration;

use super::support::{add, db, db_with_clock, order};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[test]
fn history_is_newest_first_and_limited() {
    let (db, clock) = db_with_clock(1_000);
    let names = ["a", "b", "c", "d"];
    let ids = add(&db.store, &names);
    for id in &ids {
        clock.advance(10);
        db.store.finish(*id, TaskState::Done, &format!("r{id}")).unwrap();
    }
    let history = db.store.history(3).unwrap();
    let tasks: Vec<i64> = history.iter().map(|h| h.task_id).collect();
    assert_eq!(tasks, [ids[3].0, ids[2].0, ids[1].0]);
    assert_eq!(history[0].finished_at, 1_040);
    assert!(db.store.history(0).unwrap().is_empty());
    assert_eq!(db.store.history(usize::MAX).unwrap().len(), 4);
    // History outlives the queue.
    db.store.clear_finished().unwrap();
    assert!(db.store.tasks().unwrap().is_empty());
    assert_eq!(db.store.history(10).unwrap().len(), 4);
}

#[test]
fn the_default_rule_is_the_documented_one() {
    let rule = PruneRule::default();
    assert_eq!(rule.keep_finished_tasks, 1000);
    assert_eq!(rule.keep_history, 10_000);
    assert_eq!(rule.max_history_age, Some(Duration::from_secs(180 * 24 * 3600)));
    assert_eq!(rule.max_hash_cache_entries, 50_000);
    // Serialized settings may name only what they change.
    let partial: PruneRule = serde_json::from_str(r#"{"keep_history": 5}"#).unwrap();
    assert_eq!(
        partial,
        PruneRule {
            keep_history: 5,
            ..PruneRule::default()
        }
    );
}

#[test]
fn pruning_keeps_the_newest_finished_tasks_and_never_unfinished_ones() {
    let (db, clock) = db_with_clock(0);
    let names = ["f1", "f2", "f3", "f4", "f5", "queued", "paused", "uploading"];
    let ids = add(&db.store, &names);
    // Finished in order f1..f5, each a little later.
    for (i, id) in ids[..5].iter().enumerate() {
        clock.advance(100);
        match i {
            0 => db.store.set_state(*id, TaskState::Failed, None).unwrap(),
            1 => db.store.set_state(*id, TaskState::Cancelled, None).unwrap(),
            2 => db.store.finish(*id, TaskState::Instant, "r").unwrap(),
            _ => db.store.finish(*id, TaskState::Done, "r").unwrap(),
        };
    }
    db.store.set_state(ids[6], TaskState::Paused, None).unwrap();
    db.store.set_state(ids[7], TaskState::Uploading, None).unwrap();
    db.store.ack_part(ids[0], 0, None).unwrap();

    let rule = PruneRule {
        keep_finished_tasks: 2,
        keep_history: 100,
        max_history_age: None,
        max_hash_cache_entries: 100,
    };
    let report = db.store.prune(&rule).unwrap();
    assert_eq!(
        report,
        PruneReport {
            tasks: 3,
            history: 0,
            hash_cache: 0
        }
    );
    assert_eq!(order(&db.store), ["f4", "f5", "queued", "paused", "uploading"]);
    assert!(db.store.acked_parts(ids[0]).unwrap().is_empty());
    assert_eq!(db.store.prune(&rule).unwrap(), PruneReport::default(), "nothing more to do");

    let none = PruneRule {
        keep_finished_tasks: 0,
        ..rule
    };
    assert_eq!(db.store.prune(&none).unwrap().tasks, 2);
    assert_eq!(order(&db.store), ["queued", "paused", "uploading"]);
}

#[test]
fn pruning_history_by_count_and_by_age() {
    let (db, clock) = db_with_clock(0);
    let ids: Vec<TaskId> = add(&db.store, &["d0", "d1", "d2", "d3", "d4", "d5"]);
    // One finish a day, days 0..=5.
    for (day, id) in ids.iter().enumerate() {
        clock.set(day as i64 * DAY_MS);
        db.store.finish(*id, TaskState::Done, "r").unwrap();
    }
    clock.set(5 * DAY_MS + 1);

    let by_count = PruneRule {
        keep_finished_tasks: 1000,
        keep_history: 4,
        max_history_age: None,
        max_hash_cache_entries: 100,
    };
    assert_eq!(db.store.prune(&by_count).unwrap().history, 2);
    let left: Vec<i64> = db.store.history(100).unwrap().iter().map(|h| h.task_id).collect();
    assert_eq!(left, [ids[5].0, ids[4].0, ids[3].0, ids[2].0]);

    // Older than 2.5 days, at day 5: days 2 goes, days 3, 4, 5 stay.
    let by_age = PruneRule {
        max_history_age: Some(Duration::from_millis((2.5 * DAY_MS as f64) as u64)),
        ..by_count
    };
    assert_eq!(db.store.prune(&by_age).unwrap().history, 1);
    let left: Vec<i64> = db.store.history(100).unwrap().iter().map(|h| h.task_id).collect();
    assert_eq!(left, [ids[5].0, ids[4].0, ids[3].0]);
    // The tasks themselves are governed by keep_finished_tasks only.
    assert_eq!(db.store.tasks().unwrap().len(), 6);
}

#[test]
fn pruning_the_hash_cache_drops_the_least_recently_used() {
    let (db, clock) = db_with_clock(0);
    let request = HashRequest {
        md5: true,
        ..HashRequest::default()
    };
    let digest = hash_bytes(b"x", request);
    let key = |ino| FileKey {
        dev: 1,
        ino,
        size: 1,
        mtime_ns: 0,
    };
    for ino in 0..5 {
        clock.advance(1);
        db.store.cache_digest(&key(ino), &digest).unwrap();
    }
    // Entry 0 is the oldest written but the most recently used.
    clock.advance(1);
    assert!(db.store.cached_digest(&key(0), &request).unwrap().is_some());

    let rule = PruneRule {
        keep_finished_tasks: 10,
        keep_history: 10,
        max_history_age: None,
        max_hash_cache_entries: 2,
    };
    assert_eq!(db.store.prune(&rule).unwrap().hash_cache, 3);
    let kept: Vec<u64> = (0..5)
        .filter(|ino| db.store.cached_digest(&key(*ino), &request).unwrap().is_some())
        .collect();
    assert_eq!(kept, [0, 4]);
}

#[test]
fn pruning_with_the_default_rule_on_a_small_database_removes_nothing() {
    let db = db();
    let ids = add(&db.store, &["a", "b"]);
    db.store.finish(ids[0], TaskState::Done, "r").unwrap();
    assert_eq!(db.store.prune(&PruneRule::default()).unwrap(), PruneReport::default());
    assert_eq!(db.store.history(10).unwrap().len(), 1);
}
