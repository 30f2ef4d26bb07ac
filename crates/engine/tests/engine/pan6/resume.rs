//! A half-sent WCS upload continues: a fresh upload token by hash, the same batch, only the missing blocks.

use pandrop_engine::hash::etag_of;
use pandrop_engine::provider::pan6::Pan6Api;
use pandrop_engine::transfer::Outcome;
use serde_json::json;

use super::support::{BLOCK, MemoryJournal, cloud, pattern, stored, target, upload_journaled};

#[tokio::test]
async fn an_interrupted_block_upload_continues_with_the_missing_blocks() {
    for api in [Pan6Api::V1, Pan6Api::V2] {
        let cloud = cloud().await;
        let len = 5 * BLOCK + 99;
        let path = cloud.file("blocks.bin", len, 71);
        let journal = MemoryJournal::default();
        // mkblk starts a block; after three blocks have started, every further mkblk is refused for good.
        cloud
            .faults(
                json!([{"route": "wcs/mkblk", "skip": 3, "times": 1000, "action": {"kind": "code", "code": 400, "message": "refused"}}]),
            )
            .await;
        let first = cloud.pan6_with(api, |c| c.retry.max_retries = 0).await;
        upload_journaled(&first, &path, &target("/w", "blocks.bin"), &journal)
            .await
            .expect_err("interrupted");
        let acked = journal.parts.lock().expect("lock").clone();
        assert!(!acked.is_empty() && acked.len() <= 3, "{api:?}: {acked:?}");
        assert!(acked.iter().all(|(_, r)| r.0.is_some()), "every acknowledged block kept its ctx");

        cloud.clear_faults().await;
        let mkblk_before = cloud.requests("wcs/mkblk").await;
        let second = cloud.pan6(api).await;
        let report = upload_journaled(&second, &path, &target("/w", "blocks.bin"), &journal)
            .await
            .expect("resumed");
        assert_eq!(report.outcome, Outcome::Uploaded, "{api:?}");
        assert_eq!(
            stored(&cloud, "/w/blocks.bin").await.expect("stored")["etag"],
            etag_of(&pattern(len, 71))
        );
        let sent_again = cloud.requests("wcs/mkblk").await - mkblk_before;
        assert_eq!(sent_again, 6 - acked.len() as u64, "{api:?}: only the missing blocks were sent");
    }
}
