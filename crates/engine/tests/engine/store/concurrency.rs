//! One store shared by threads, and two stores (two processes, say the app and the CLI) on one file.

use pandrop_engine::store::{Store, TaskId, TaskState};
use std::collections::HashSet;
use std::sync::Arc;
use std::thread;

use super::support::{db, new_task};

const THREADS: usize = 4;
const PER_THREAD: usize = 25;

/// Adds tasks one by one and works on them the way a queue worker would.
fn worker(store: &Store, thread_index: usize) -> Vec<TaskId> {
    (0..PER_THREAD)
        .map(|i| {
            let id = store.add_tasks(&[new_task(&format!("t{thread_index}-{i:02}"))]).unwrap()[0];
            store.set_state(id, TaskState::Uploading, None).unwrap();
            store.ack_part(id, 0, Some("ctx")).unwrap();
            store.set_progress(id, 500).unwrap();
            store.bump_attempts(id).unwrap();
            if i % 2 == 0 {
                store.finish(id, TaskState::Done, "r").unwrap();
            }
            store.tasks().unwrap();
            id
        })
        .collect()
}

fn check(store: &Store) {
    let tasks = store.tasks().unwrap();
    assert_eq!(tasks.len(), THREADS * PER_THREAD);
    let positions: HashSet<i64> = tasks.iter().map(|t| t.position).collect();
    assert_eq!(positions.len(), tasks.len(), "every task has its own place in the queue");
    // Each thread's tasks kept the order it added them in.
    for thread_index in 0..THREADS {
        let prefix = format!("t{thread_index}-");
        let names: Vec<&str> = tasks
            .iter()
            .map(|t| t.target.name.as_str())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), PER_THREAD);
    }
    assert_eq!(store.history(1000).unwrap().len(), THREADS * PER_THREAD.div_ceil(2));
    assert!(tasks.iter().all(|t| t.attempts == 1));
}

#[test]
fn one_store_shared_by_threads() {
    let db = db();
    let store = Arc::new(db.store);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || worker(&store, t))
        })
        .collect();
    let ids: HashSet<TaskId> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(ids.len(), THREADS * PER_THREAD);
    check(&store);
}

#[test]
fn two_stores_on_one_file() {
    let db = db();
    let path = db.path.clone();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let path = path.clone();
            // Each thread opens its own connection, as separate processes would.
            thread::spawn(move || worker(&Store::open(&path).unwrap(), t))
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    check(&db.store);
}

#[test]
fn the_store_can_be_shared() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Store>();
}
