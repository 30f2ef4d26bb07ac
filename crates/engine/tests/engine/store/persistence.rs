//! Opening, reopening, WAL, and files that are not (or no longer) ours.

use pandrop_engine::ErrorCode;
use pandrop_engine::store::{Store, TaskState};
use rusqlite::Connection;

use super::support::{add, db, profile};

#[test]
fn everything_survives_close_and_reopen() {
    let db = db();
    let ids = add(&db.store, &["a", "b", "c"]);
    db.store.set_state(ids[0], TaskState::Uploading, None).unwrap();
    db.store.set_progress(ids[0], 300).unwrap();
    db.store.ack_part(ids[0], 1, Some("ctx")).unwrap();
    db.store
        .save_resume(ids[0], "6pan", &serde_json::json!({"batch": "b"}), Some(77))
        .unwrap();
    db.store.finish(ids[1], TaskState::Instant, "remote-b").unwrap();
    let tasks = db.store.tasks().unwrap();

    let db = db.reopen();
    assert_eq!(db.store.tasks().unwrap(), tasks);
    assert_eq!(db.store.profiles().unwrap(), [profile("p1")]);
    assert_eq!(db.store.acked_parts(ids[0]).unwrap(), [(1, Some("ctx".to_string()))]);
    assert_eq!(db.store.load_resume(ids[0]).unwrap().unwrap().expires_at, Some(77));
    assert_eq!(db.store.history(5).unwrap()[0].remote_id, "remote-b");

    // Ids are never reused, even for the last task after it was removed.
    db.store.remove_tasks(&[ids[2]]).unwrap();
    let db = db.reopen();
    let next = add(&db.store, &["d"])[0];
    assert!(next.0 > ids[2].0, "{next} reuses a removed id");
}

#[test]
fn the_database_is_in_wal_mode_with_foreign_keys_on() {
    let db = db();
    let conn = Connection::open(&db.path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // The store's own connection enforces foreign keys: a part for a missing task is refused.
    assert_eq!(
        db.store.ack_part(pandrop_engine::store::TaskId(1), 0, None).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
    // And a new file is made to shrink when pruned.
    let auto_vacuum: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).unwrap();
    assert_eq!(auto_vacuum, 2, "incremental");
}

#[test]
fn a_corrupted_file_gives_a_store_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..8192_u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Store);
    assert!(!err.is_retryable());
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a database"), "{message}");
    // The file is left as it was, for the user to look at.
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_database_from_a_newer_version_is_refused_not_downgraded() {
    let db = db();
    let path = db.path.clone();
    drop(db.store);
    let future = Store::latest_schema_version() + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", future)
        .unwrap();

    let err = Store::open(&path).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Store);
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("newer"), "{message}");
    let version: u32 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, future);
}

#[test]
fn a_path_that_cannot_be_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be.
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Store, "{err}");
    // A file where a parent folder should be.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::open(&file.join("pandrop.db")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
}

#[test]
fn an_in_memory_store_works_and_keeps_nothing() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.schema_version().unwrap(), Store::latest_schema_version());
    store.upsert_profile(&profile("p1")).unwrap();
    let ids = add(&store, &["a"]);
    store.ack_part(ids[0], 0, None).unwrap();
    store.remove_tasks(&ids).unwrap();
    assert!(store.acked_parts(ids[0]).unwrap().is_empty());
    let again = Store::open_in_memory().unwrap();
    assert!(again.profiles().unwrap().is_empty());
}
