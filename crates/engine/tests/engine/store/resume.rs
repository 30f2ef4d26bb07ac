//! Acknowledged parts and provider resume state.

use pandrop_engine::ErrorCode;
use pandrop_engine::store::{ResumeRecord, TaskId};
use serde_json::json;

use super::support::{add, db, rows_of_task};

#[test]
fn parts_are_idempotent_and_ordered() {
    let db = db();
    let id = add(&db.store, &["a"])[0];
    assert!(db.store.acked_parts(id).unwrap().is_empty());
    db.store.ack_part(id, 3, Some("ctx-3")).unwrap();
    db.store.ack_part(id, 0, None).unwrap();
    db.store.ack_part(id, 1, Some("ctx-1")).unwrap();
    db.store.ack_part(id, 1, Some("ctx-1")).unwrap();
    assert_eq!(
        db.store.acked_parts(id).unwrap(),
        [(0, None), (1, Some("ctx-1".to_string())), (3, Some("ctx-3".to_string()))]
    );
    // A block sent again gets a new context: the latest one counts.
    db.store.ack_part(id, 3, Some("ctx-3b")).unwrap();
    assert_eq!(db.store.acked_parts(id).unwrap()[2], (3, Some("ctx-3b".to_string())));
    assert_eq!(rows_of_task(&db, "parts", id), 3);
    db.store.ack_part(id, u32::MAX, None).unwrap();
    assert_eq!(db.store.acked_parts(id).unwrap().last().unwrap().0, u32::MAX);
}

#[test]
fn parts_and_resume_state_need_an_existing_task() {
    let db = db();
    let err = db.store.ack_part(TaskId(404), 0, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("404"), "{err}");
    let err = db.store.save_resume(TaskId(404), "123pan", &json!({}), None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(db.store.load_resume(TaskId(404)).unwrap(), None);
    db.store.clear_resume(TaskId(404)).unwrap();
}

#[test]
fn resume_state_round_trips_and_is_replaced() {
    let db = db();
    let ids = add(&db.store, &["a", "b"]);
    assert_eq!(db.store.load_resume(ids[0]).unwrap(), None);

    let pan123 = json!({"preuploadID": "pre-123", "sliceSize": 16_777_216_u64, "server": "http://upload", "size": 1000, "md5": "abc"});
    db.store.save_resume(ids[0], "123pan", &pan123, None).unwrap();
    let wcs = json!({"batch": "batch-1", "url": "http://wcs", "size": 1000, "etag": "Fx"});
    db.store.save_resume(ids[1], "6pan", &wcs, Some(1_900_000_000_000)).unwrap();

    assert_eq!(
        db.store.load_resume(ids[0]).unwrap(),
        Some(ResumeRecord {
            provider: "123pan".into(),
            state: pan123.clone(),
            expires_at: None
        })
    );
    let record = db.store.load_resume(ids[1]).unwrap().unwrap();
    assert_eq!((record.state, record.expires_at), (wcs.clone(), Some(1_900_000_000_000)));

    // The same session saved again (a renewed deadline) keeps its parts.
    db.store.ack_part(ids[1], 0, Some("ctx")).unwrap();
    db.store.save_resume(ids[1], "6pan", &wcs, Some(1_900_000_500_000)).unwrap();
    assert_eq!(db.store.load_resume(ids[1]).unwrap().unwrap().expires_at, Some(1_900_000_500_000));
    assert_eq!(db.store.acked_parts(ids[1]).unwrap().len(), 1);

    // A different session replaces the old one, and the old session's parts with it.
    let fresh = json!({"batch": "batch-2", "url": "http://wcs", "size": 1000, "etag": "Fx"});
    db.store.save_resume(ids[1], "6pan", &fresh, None).unwrap();
    assert_eq!(db.store.load_resume(ids[1]).unwrap().unwrap().state, fresh);
    assert!(db.store.acked_parts(ids[1]).unwrap().is_empty());
}

#[test]
fn parts_acknowledged_before_the_first_save_are_kept() {
    let db = db();
    let id = add(&db.store, &["a"])[0];
    db.store.ack_part(id, 0, None).unwrap();
    db.store.save_resume(id, "123pan", &json!({"preuploadID": "p"}), None).unwrap();
    assert_eq!(db.store.acked_parts(id).unwrap(), [(0, None)]);
}

#[test]
fn clear_resume_forgets_the_session_and_its_parts() {
    let db = db();
    let ids = add(&db.store, &["a", "b"]);
    for id in &ids {
        db.store.save_resume(*id, "123pan", &json!({"preuploadID": "p"}), None).unwrap();
        db.store.ack_part(*id, 0, None).unwrap();
    }
    db.store.clear_resume(ids[0]).unwrap();
    assert_eq!(db.store.load_resume(ids[0]).unwrap(), None);
    assert!(db.store.acked_parts(ids[0]).unwrap().is_empty());
    // The other task is untouched, and the task itself stays queued.
    assert!(db.store.load_resume(ids[1]).unwrap().is_some());
    assert_eq!(db.store.acked_parts(ids[1]).unwrap().len(), 1);
    assert!(db.store.task(ids[0]).unwrap().is_some());
    db.store.clear_resume(ids[0]).unwrap();
}

#[test]
fn resume_state_with_a_credential_field_is_refused() {
    let db = db();
    let id = add(&db.store, &["a"])[0];
    for state in [
        json!({"preuploadID": "p", "accessToken": "x"}),
        json!({"batch": "b", "uploadToken": "ak:sign:policy"}),
        json!({"nested": [{"client_secret": "s"}]}),
    ] {
        let err = db.store.save_resume(id, "6pan", &state, None).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{state}");
    }
    assert_eq!(db.store.load_resume(id).unwrap(), None);
    // Describing a token (its deadline) is fine.
    db.store
        .save_resume(id, "6pan", &json!({"batch": "b", "tokenDeadline": 1}), Some(1))
        .unwrap();
}
