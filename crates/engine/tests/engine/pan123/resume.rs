//! A half-sent file continues with the slices the cloud does not have; a session the cloud forgot starts over.

use pandrop_engine::provider::ResumeState;
use pandrop_engine::transfer::Outcome;
use serde_json::json;

use super::support::{MemoryJournal, cloud_with, md5_of, stored, target, upload_journaled};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn an_interrupted_upload_continues_with_the_missing_slices() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let path = cloud.file("half.bin", 10 * MIB + 5, 61);
    let journal = MemoryJournal::default();
    // The first run loses the cloud after four slices.
    cloud
        .faults(json!([{"route": "123pan/slice", "skip": 4, "times": 1000, "action": {"kind": "status", "status": 400}}]))
        .await;
    let first = cloud.provider_with(|c| c.retry.max_retries = 0);
    upload_journaled(&first, &path, &target("/r", "half.bin"), &journal)
        .await
        .expect_err("interrupted");
    let acked: Vec<u32> = journal.parts.lock().expect("lock").iter().map(|(i, _)| *i).collect();
    // Four slices reached the cloud. With three in flight, the fifth starts only after two acknowledgements;
    // the others may still have been in flight when it failed, and an unacknowledged slice is sent again.
    assert!((2..=4).contains(&acked.len()), "{acked:?}");
    assert!(acked.iter().all(|i| *i < 10), "only full slices were acknowledged: {acked:?}");
    assert!(journal.saved.lock().expect("lock").is_some());

    // A later run (a new provider, as after a restart) sends only what is missing, never hashing again.
    cloud.clear_faults().await;
    let before = cloud.stats().await["slices"].clone();
    let second = cloud.provider();
    let report = upload_journaled(&second, &path, &target("/r", "half.bin"), &journal)
        .await
        .expect("resumed");
    assert_eq!(report.outcome, Outcome::Uploaded);
    let missing = (10 * MIB + 5 - acked.len() * MIB) as u64;
    assert_eq!(report.bytes_sent, missing, "only the missing slices were sent");
    assert_eq!(stored(&cloud, "/r/half.bin").await.expect("stored")["md5"], md5_of(&path));
    let after = cloud.stats().await["slices"].clone();
    assert_eq!(
        after.as_object().map(|m| m.len()),
        Some(1),
        "the same preuploadID was used: {after}"
    );
    let counts = |v: &serde_json::Value| v.as_object().and_then(|m| m.values().next()).cloned().unwrap_or_default();
    let (before, after) = (counts(&before), counts(&after));
    for index in acked {
        let slice_no = (index + 1).to_string();
        assert_eq!(after[&slice_no], before[&slice_no], "slice {slice_no} was sent again");
    }
    assert!(
        journal.saved.lock().expect("lock").is_none(),
        "a finished upload leaves no saved session"
    );
}

#[tokio::test]
async fn a_session_the_cloud_forgot_starts_over() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let path = cloud.file("gone.bin", 3 * MIB, 62);
    let journal = MemoryJournal::default();
    let md5 = md5_of(&path);
    *journal.saved.lock().expect("lock") = Some(ResumeState {
        provider: "123pan".into(),
        state: json!({"preuploadID": "no-such-upload", "sliceSize": MIB, "server": cloud.running.pan123_url(), "size": 3 * MIB, "md5": md5}),
        expires_at: None,
    });
    journal.parts.lock().expect("lock").push((0, Default::default()));
    let report = upload_journaled(&cloud.provider(), &path, &target("/", "gone.bin"), &journal)
        .await
        .expect("starts over");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(report.bytes_sent, 3 * MIB as u64);
    assert_eq!(stored(&cloud, "/gone.bin").await.expect("stored")["md5"], md5);
    assert_eq!(cloud.requests("123pan/create").await, 1);
}

#[tokio::test]
async fn a_saved_session_for_other_bytes_is_not_used() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let path = cloud.file("changed.bin", 2 * MIB, 63);
    let journal = MemoryJournal::default();
    *journal.saved.lock().expect("lock") = Some(ResumeState {
        provider: "123pan".into(),
        state: json!({"preuploadID": "x", "sliceSize": MIB, "server": cloud.running.pan123_url(), "size": 2 * MIB, "md5": "0123456789abcdef0123456789abcdef"}),
        expires_at: None,
    });
    upload_journaled(&cloud.provider(), &path, &target("/", "changed.bin"), &journal)
        .await
        .expect("fresh");
    assert_eq!(cloud.requests("123pan/slice").await, 2, "no slice went to the stale session");
}
