//! WCS failures the client recovers from (§6): a bad ctx, a failed assembly, a failed callback, an expired
//! upload token, transient errors, and receipts that do not match the bytes sent.

use pandrop_engine::hash::etag_of;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::provider::pan6::Pan6Api;
use pandrop_engine::transfer::Outcome;
use serde_json::json;

use super::support::{BLOCK, Cloud, cloud, pattern, stored, target, upload};

async fn recovers(api: Pan6Api, plan: serde_json::Value) -> Cloud {
    let cloud = cloud().await;
    cloud.faults(plan).await;
    let provider = cloud.pan6(api).await;
    let len = 2 * BLOCK + 77;
    let path = cloud.file("f.bin", len, 31);
    let report = upload(&provider, &path, &target("/r", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect("recovers");
    assert!(matches!(report.outcome, Outcome::Uploaded | Outcome::Instant));
    assert_eq!(
        stored(&cloud, "/r/f.bin").await.expect("stored")["etag"],
        etag_of(&pattern(len, 31))
    );
    cloud
}

#[tokio::test]
async fn error_701_redoes_the_block() {
    let cloud = recovers(
        Pan6Api::V2,
        json!([{"route": "wcs/bput", "skip": 1, "action": {"kind": "code", "code": 701, "message": "ctx invalid"}}]),
    )
    .await;
    let stats = cloud.stats().await;
    // The failed block starts again from mkblk: three blocks, one of them twice.
    assert_eq!(stats["routes"]["wcs/mkblk"]["requests"], 4, "{stats}");
}

#[tokio::test]
async fn error_412_at_mkfile_resends_the_file() {
    let cloud = recovers(
        Pan6Api::V1,
        json!([{"route": "wcs/mkfile", "action": {"kind": "code", "code": 412, "message": "block verification failed"}}]),
    )
    .await;
    let stats = cloud.stats().await;
    assert_eq!(stats["routes"]["wcs/mkblk"]["requests"], 6, "{stats}");
    assert_eq!(stats["routes"]["wcs/mkfile"]["requests"], 2, "{stats}");
}

#[tokio::test]
async fn error_579_asks_the_token_again_instead_of_repeating_mkfile() {
    for api in [Pan6Api::V1, Pan6Api::V2] {
        let cloud = recovers(
            api,
            json!([{"route": "6pan/callback", "action": {"kind": "status", "status": 500}}]),
        )
        .await;
        let stats = cloud.stats().await;
        assert_eq!(
            stats["routes"]["wcs/mkfile"]["requests"], 1,
            "{api:?}: mkfile must not be repeated: {stats}"
        );
    }
}

#[tokio::test]
async fn an_expired_upload_token_is_renewed() {
    let cloud = recovers(
        Pan6Api::V2,
        json!([{"route": "wcs/bput", "skip": 2, "action": {"kind": "expired_token"}}]),
    )
    .await;
    let stats = cloud.stats().await;
    assert_eq!(stats["routes"]["6pan/v2/upload_token"]["requests"], 2, "{stats}");
}

#[tokio::test]
async fn transient_errors_are_retried() {
    recovers(
        Pan6Api::V1,
        json!([
            {"route": "wcs/mkblk", "action": {"kind": "status", "status": 503}},
            {"route": "wcs/bput", "action": {"kind": "reset"}},
            {"route": "wcs/mkfile", "action": {"kind": "code", "code": 599, "message": "busy"}},
            {"route": "6pan/v1/store_token", "action": {"kind": "status", "status": 502}}
        ]),
    )
    .await;
}

#[tokio::test]
async fn a_bad_request_is_final() {
    let cloud = cloud().await;
    cloud
        .faults(json!([{"route": "wcs/mkblk", "times": 10, "action": {"kind": "code", "code": 400, "message": "malformed"}}]))
        .await;
    let provider = cloud.pan6(Pan6Api::V2).await;
    let path = cloud.file("f.bin", BLOCK + 1, 40);
    let err = upload(&provider, &path, &target("/", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("final");
    assert!(err.to_string().contains("malformed"), "{err}");
    assert!(stored(&cloud, "/f.bin").await.is_none());
}

/// A WCS host that sheds load answers 429: the block waits and goes again, like after a 5xx, and the file
/// arrives (it used to fail at once).
#[tokio::test]
async fn a_host_answering_too_many_requests_is_waited_out() {
    let cloud = cloud().await;
    cloud
        .running
        .set_rate_limits(pandrop_fakecloud::RateLimits::new().with("wcs/mkblk", 1).expect("limit"));
    let provider = cloud
        .pan6_with(Pan6Api::V2, |c| {
            c.retry = pandrop_engine::http::RetryPolicy {
                max_retries: 10,
                min_delay: std::time::Duration::from_millis(100),
                max_delay: std::time::Duration::from_millis(800),
                max_total_delay: std::time::Duration::from_secs(20),
            };
        })
        .await;
    let len = 2 * BLOCK + 77;
    let path = cloud.file("busy.bin", len, 33);
    upload(&provider, &path, &target("/busy", "busy.bin"), DuplicatePolicy::Fail)
        .await
        .expect("waited out");
    assert_eq!(
        stored(&cloud, "/busy/busy.bin").await.expect("stored")["etag"],
        etag_of(&pattern(len, 33))
    );
    let stats = cloud.stats().await;
    assert!(
        stats["throttled"]["wcs/mkblk"].as_u64().unwrap_or(0) >= 1,
        "the host did refuse: {stats}"
    );
}

/// 401 at mkfile is asked again with the same blocks, as the official WCS SDKs do, before the upload token is
/// renewed; it used to renew the token and send every block again.
#[tokio::test]
async fn a_refused_mkfile_is_asked_again_with_the_same_blocks() {
    let cloud = recovers(
        Pan6Api::V2,
        json!([{"route": "wcs/mkfile", "times": 1, "action": {"kind": "status", "status": 401}}]),
    )
    .await;
    let stats = cloud.stats().await;
    assert_eq!(stats["routes"]["wcs/mkblk"]["requests"], 3, "no block went twice: {stats}");
    assert_eq!(stats["routes"]["wcs/mkfile"]["requests"], 2, "{stats}");
    assert_eq!(stats["routes"]["6pan/v2/upload_token"]["requests"], 1, "no new token: {stats}");
}

/// A mkfile refused again and again means the token is gone: a new one is asked for, once, and the file
/// still arrives.
#[tokio::test]
async fn a_mkfile_refused_every_time_renews_the_token_once() {
    let cloud = recovers(
        Pan6Api::V2,
        json!([{"route": "wcs/mkfile", "times": 4, "action": {"kind": "status", "status": 401}}]),
    )
    .await;
    let stats = cloud.stats().await;
    assert_eq!(stats["routes"]["6pan/v2/upload_token"]["requests"], 2, "one renewal: {stats}");
    assert_eq!(stats["routes"]["wcs/mkfile"]["requests"], 5, "{stats}");
}
