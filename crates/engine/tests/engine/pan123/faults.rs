//! Transient failures are retried with backoff; permanent ones surface; the bytes stay right.

use pandrop_engine::Error;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::transfer::Outcome;
use serde_json::json;

use super::support::{cloud_with, md5_of, stored, target, upload};

const MIB: usize = 1024 * 1024;

async fn upload_through(plan: serde_json::Value) -> (super::support::Cloud, std::path::PathBuf) {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    cloud.faults(plan).await;
    let provider = cloud.provider();
    let path = cloud.file("f.bin", 3 * MIB + 3, 11);
    let report = upload(&provider, &path, &target("/", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect("recovers");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(stored(&cloud, "/f.bin").await.expect("stored")["md5"], md5_of(&path));
    (cloud, path)
}

#[tokio::test]
async fn rate_limit_code_then_success() {
    let (cloud, _) =
        upload_through(json!([{"route": "123pan/create", "action": {"kind": "code", "code": 429, "message": "请求太频繁"}}])).await;
    assert_eq!(cloud.requests("123pan/create").await, 2);
}

#[tokio::test]
async fn http_429_and_5xx_on_slices_are_retried() {
    let (cloud, _) = upload_through(json!([
        {"route": "123pan/slice", "action": {"kind": "status", "status": 429}},
        {"route": "123pan/slice", "skip": 1, "action": {"kind": "status", "status": 500}}
    ]))
    .await;
    assert_eq!(cloud.requests("123pan/slice").await, 6);
}

#[tokio::test]
async fn load_shedding_message_is_retried() {
    upload_through(
        json!([{"route": "123pan/create", "times": 2, "action": {"kind": "code", "code": 1, "message": "秒传队列繁忙,请慢一点"}}]),
    )
    .await;
}

#[tokio::test]
async fn connection_reset_and_truncated_reply_are_retried() {
    upload_through(json!([
        {"route": "123pan/slice", "skip": 1, "action": {"kind": "reset"}},
        {"route": "123pan/upload_complete", "action": {"kind": "cut_body", "after": 10}}
    ]))
    .await;
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    cloud
        .faults(json!([{"route": "123pan/create", "action": {"kind": "code", "code": 1, "message": "文件名包含非法字符"}}]))
        .await;
    let provider = cloud.provider();
    let path = cloud.file("f.bin", MIB + 1, 12);
    let err = upload(&provider, &path, &target("/", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("permanent");
    assert!(matches!(err, Error::Api { retryable: false, .. }), "{err}");
    assert_eq!(cloud.requests("123pan/create").await, 1);
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_given_up_on() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    cloud
        .faults(json!([{"route": "123pan/slice", "times": 1000, "action": {"kind": "status", "status": 503}}]))
        .await;
    let provider = cloud.provider();
    let path = cloud.file("f.bin", MIB + 1, 13);
    let err = upload(&provider, &path, &target("/", "f.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("gives up");
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err}");
}

#[tokio::test]
async fn a_stalled_slice_is_aborted_and_sent_again() {
    // 16 MiB slices: far more than the socket buffers hold, so a server that stops reading stalls the body.
    let cloud = super::support::cloud().await;
    cloud
        .faults(json!([{"route": "123pan/slice", "action": {"kind": "latency", "ms": 4000}}]))
        .await;
    let provider = cloud.provider();
    let path = cloud.file("stall.bin", 20 * MIB, 14);
    let options = pandrop_engine::transfer::TransferOptions {
        stall_timeout: std::time::Duration::from_millis(800),
        ..Default::default()
    };
    let report = pandrop_engine::transfer::upload_file(
        &provider,
        &path,
        &target("/", "stall.bin"),
        &options,
        std::sync::Arc::new(|_| {}),
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("recovers from the stall");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(stored(&cloud, "/stall.bin").await.expect("stored")["md5"], md5_of(&path));
    assert_eq!(cloud.requests("123pan/slice").await, 3, "the stalled slice was sent once more");
}

#[tokio::test]
async fn the_byte_rate_paces_an_upload() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider();
    let path = cloud.file("slow.bin", 3 * MIB, 15);
    let rate = pandrop_engine::http::ByteRate::unlimited();
    rate.set(Some(MIB as u64));
    let options = pandrop_engine::transfer::TransferOptions {
        rate,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    pandrop_engine::transfer::upload_file(
        &provider,
        &path,
        &target("/", "slow.bin"),
        &options,
        std::sync::Arc::new(|_| {}),
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("upload");
    // 3 MiB at 1 MiB/s, less the initial burst of 256 KiB: well over two seconds.
    assert!(start.elapsed() >= std::time::Duration::from_millis(2200), "{:?}", start.elapsed());
}
