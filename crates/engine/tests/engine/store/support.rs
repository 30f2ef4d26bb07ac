//! Shared fixtures: a store in a temporary folder, a profile, new tasks.

use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};
use pandrop_engine::store::{NewTask, Profile, ProviderKind, Store, TaskId};
use std::path::PathBuf;
use tempfile::TempDir;

/// A store on a real file; the folder is removed when this is dropped.
pub(crate) struct Db {
    pub store: Store,
    pub path: PathBuf,
    pub dir: TempDir,
}

impl Db {
    /// Closes the store and opens the same file again.
    pub(crate) fn reopen(self) -> Db {
        let Db { store, path, dir } = self;
        drop(store);
        let store = Store::open(&path).expect("reopen");
        Db { store, path, dir }
    }
}

/// A fresh database file in a new temporary folder (in a sub-folder that does not exist yet, so `open` has
/// to create it), with the profile `p1` already saved.
pub(crate) fn db() -> Db {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("state").join("pandrop.db");
    let store = Store::open(&path).expect("open");
    store.upsert_profile(&profile("p1")).expect("profile");
    Db { store, path, dir }
}

pub(crate) fn profile(id: &str) -> Profile {
    Profile {
        id: id.into(),
        provider: ProviderKind::PAN123,
        name: format!("account {id}"),
        endpoint: "https://open-api.123pan.com".into(),
        default_dir: "/uploads".into(),
        settings: serde_json::json!({ "clientId": "abc", "parallel": 4 }),
    }
}

pub(crate) fn new_task(name: &str) -> NewTask {
    new_task_for("p1", name)
}

pub(crate) fn new_task_for(profile_id: &str, name: &str) -> NewTask {
    NewTask {
        profile_id: profile_id.into(),
        local_path: PathBuf::from("/home/me/files").join(name),
        target: RemoteTarget {
            dir: "/uploads".into(),
            name: name.into(),
        },
        duplicate: DuplicatePolicy::KeepBoth,
        size: 1000,
        after: None,
    }
}

/// Adds tasks named after `names` and returns their ids.
pub(crate) fn add(store: &Store, names: &[&str]) -> Vec<TaskId> {
    let tasks: Vec<NewTask> = names.iter().map(|n| new_task(n)).collect();
    store.add_tasks(&tasks).expect("add tasks")
}

/// The remote names of all tasks, in queue order.
pub(crate) fn order(store: &Store) -> Vec<String> {
    store.tasks().expect("tasks").into_iter().map(|t| t.target.name).collect()
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub(crate) struct Clock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl Clock {
    pub(crate) fn at(ms: i64) -> Clock {
        Clock(std::sync::Arc::new(std::sync::atomic::AtomicI64::new(ms)))
    }

    pub(crate) fn set(&self, ms: i64) {
        self.0.store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn now(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Like [`db`], with the store's clock under the test's control (starting at `start` ms).
pub(crate) fn db_with_clock(start: i64) -> (Db, Clock) {
    let Db { store, path, dir } = db();
    let clock = Clock::at(start);
    let handle = clock.clone();
    let store = store.with_clock(move || handle.now());
    (Db { store, path, dir }, clock)
}

/// Rows of `table` belonging to task `id`, counted straight from the file.
pub(crate) fn rows_of_task(db: &Db, table: &str, id: TaskId) -> i64 {
    let conn = rusqlite::Connection::open(&db.path).expect("open raw");
    conn.query_row(&format!("SELECT COUNT(*) FROM {table} WHERE task_id = ?1"), [id.0], |r| r.get(0))
        .expect("count")
}
