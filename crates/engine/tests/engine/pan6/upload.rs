//! Instant hits by etag, block uploads of every shape, the form upload, and token rotation.

use pandrop_engine::hash::etag_of;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::provider::pan6::Pan6Api;
use pandrop_engine::secret::ExposeSecret;
use pandrop_engine::transfer::Outcome;

use super::support::{APIS, BLOCK, MIB, cloud, cloud_with, pattern, stored, target, upload};

/// Uploads `len` bytes with each API, checks the stored etag, then uploads again and expects an instant hit.
async fn round_trip(len: usize, seed: u64, form: bool) {
    for api in APIS {
        let cloud = cloud().await;
        let provider = cloud
            .pan6_with(api, |c| c.form_upload_max = if form { BLOCK as u64 } else { 0 })
            .await;
        let path = cloud.file("f.bin", len, seed);
        let etag = etag_of(&pattern(len, seed));
        let first = upload(&provider, &path, &target("/up/load", "f.bin"), DuplicatePolicy::Fail)
            .await
            .expect("upload");
        assert_eq!(first.outcome, Outcome::Uploaded, "{api:?} {len}");
        assert_eq!(first.digest.etag.as_deref(), Some(etag.as_str()));
        let file = stored(&cloud, "/up/load/f.bin")
            .await
            .unwrap_or_else(|| panic!("{api:?}: not stored"));
        assert_eq!(file["etag"], etag, "{api:?}");
        assert_eq!(file["size"], len as u64);
        assert_eq!(file["provider"], "6pan");

        let again = upload(&provider, &path, &target("/other", "g.bin"), DuplicatePolicy::Fail)
            .await
            .expect("instant");
        assert_eq!((again.outcome, again.bytes_sent), (Outcome::Instant, 0), "{api:?}");
        assert!(
            stored(&cloud, "/other/g.bin").await.is_some(),
            "{api:?}: instant hit creates the file"
        );
    }
}

#[tokio::test]
async fn multi_block_upload_with_a_short_last_block() {
    round_trip(3 * BLOCK + 123_457, 1, false).await;
}

#[tokio::test]
async fn exactly_one_block() {
    round_trip(BLOCK, 2, false).await;
}

#[tokio::test]
async fn one_block_and_one_byte() {
    round_trip(BLOCK + 1, 3, false).await;
}

#[tokio::test]
async fn small_files_use_the_form_upload() {
    round_trip(300_000, 4, true).await;
}

#[tokio::test]
async fn blocks_are_sent_in_parallel_chunks_in_order() {
    let cloud = cloud().await;
    let provider = cloud.pan6(Pan6Api::V2).await;
    let path = cloud.file("p.bin", 5 * BLOCK + 10, 5);
    upload(&provider, &path, &target("/", "p.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    let stats = cloud.stats().await;
    // Six blocks: six mkblk; each full block has three more 1 MiB chunks, the short one none.
    assert_eq!(stats["routes"]["wcs/mkblk"]["requests"], 6, "{stats}");
    assert_eq!(stats["routes"]["wcs/bput"]["requests"], 15, "{stats}");
    assert_eq!(stats["routes"]["wcs/mkfile"]["requests"], 1, "{stats}");
}

#[tokio::test]
async fn the_session_token_rotates_and_the_newest_is_kept() {
    for api in APIS {
        let cloud = cloud().await;
        let provider = cloud.pan6(api).await;
        let first = provider.session_token().expose_secret().to_owned();
        for i in 0..3 {
            let path = cloud.file(&format!("r{i}.bin"), MIB + i, 10 + i as u64);
            upload(&provider, &path, &target("/rot", &format!("r{i}.bin")), DuplicatePolicy::Fail)
                .await
                .expect("upload");
        }
        assert_ne!(provider.session_token().expose_secret(), first, "{api:?}: the token never rotated");
        let stats = cloud.stats().await;
        assert_eq!(
            stats["6pan"]["superseded_token_uses"], 0,
            "{api:?}: a superseded token was used: {stats}"
        );
    }
}

#[tokio::test]
async fn name_clashes_fail_unless_overwriting() {
    let cloud = cloud().await;
    let provider = cloud.pan6(Pan6Api::V1).await;
    let a = cloud.file("a.bin", MIB, 20);
    let b = cloud.file("b.bin", MIB + 1, 21);
    let to = target("/c", "same.bin");
    upload(&provider, &a, &to, DuplicatePolicy::Fail).await.expect("first");
    let err = upload(&provider, &b, &to, DuplicatePolicy::Fail).await.expect_err("clash");
    assert!(matches!(err, pandrop_engine::Error::Conflict { .. }), "{err}");
    upload(&provider, &b, &to, DuplicatePolicy::Overwrite).await.expect("overwrite");
    assert_eq!(
        stored(&cloud, "/c/same.bin").await.expect("stored")["etag"],
        etag_of(&pattern(MIB + 1, 21))
    );
}

/// 6pan cannot rename on a clash: "keep both" (the app's default) uploads new names and, on a clash,
/// fails like `Fail` instead of replacing the file already there.
#[tokio::test]
async fn keep_both_never_replaces_and_uploads_new_names() {
    let cloud = cloud().await;
    let provider = cloud.pan6(Pan6Api::V2).await;
    let a = cloud.file("a.bin", MIB, 22);
    let b = cloud.file("b.bin", MIB + 1, 23);
    let to = target("/k", "same.bin");
    let first = upload(&provider, &a, &to, DuplicatePolicy::KeepBoth)
        .await
        .expect("a new name uploads");
    assert_eq!(first.outcome, Outcome::Uploaded);
    let err = upload(&provider, &b, &to, DuplicatePolicy::KeepBoth).await.expect_err("clash");
    assert!(matches!(err, pandrop_engine::Error::Conflict { .. }), "{err}");
    assert_eq!(
        stored(&cloud, "/k/same.bin").await.expect("stored")["etag"],
        etag_of(&pattern(MIB, 22)),
        "the first file stays"
    );
}

/// The form upload's reply in every shape WCS documents or peers have seen: the callback's body plain or in
/// base64, or `{hash, response}` around it (response plain or base64). The small file arrives in each, and a
/// wrapper naming another hash fails the file instead of taking it for ours.
#[tokio::test]
async fn every_shape_of_the_form_reply_is_read() {
    use pandrop_fakecloud::FormReply;
    for shape in [FormReply::Raw, FormReply::Base64, FormReply::Wrapped, FormReply::WrappedBase64] {
        for api in APIS {
            let cloud = cloud_with(|c| c.pan6.form_reply = shape).await;
            let provider = cloud.pan6_with(api, |c| c.form_upload_max = BLOCK as u64).await;
            let path = cloud.file("small.bin", 300_000, 6);
            upload(&provider, &path, &target("/shapes", "small.bin"), DuplicatePolicy::Fail)
                .await
                .unwrap_or_else(|e| panic!("{shape:?} {api:?}: {e}"));
            assert_eq!(cloud.requests("wcs/form").await, 1, "{shape:?} {api:?}");
            assert!(stored(&cloud, "/shapes/small.bin").await.is_some(), "{shape:?} {api:?}");
        }
    }
    // A wrapper naming another file's hash.
    let cloud = cloud_with(|c| c.pan6.form_reply = FormReply::Wrapped).await;
    cloud
        .faults(
            serde_json::json!([{"route": "wcs/form", "action": {"kind": "rewrite", "merge": {"hash": "FtheWrongHashOfAnotherFile000"}}}]),
        )
        .await;
    let provider = cloud.pan6_with(Pan6Api::V2, |c| c.form_upload_max = BLOCK as u64).await;
    let path = cloud.file("other.bin", 300_000, 7);
    let err = upload(&provider, &path, &target("/shapes", "other.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("not ours");
    assert_eq!(err.code(), pandrop_engine::ErrorCode::Integrity, "{err}");
}
