//! Broken or hostile 123pan servers: truncated and mistyped replies, huge bodies, upload hosts that are not
//! HTTP, redirects, a merge that fails its MD5, `reuse: true` without a file, and a verification that never
//! ends. The client never takes any of them for a success: it fails with a typed, clear error or recovers,
//! and every wait is bounded.

use std::future::Future;
use std::time::{Duration, Instant};

use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::transfer::Outcome;
use pandrop_engine::{Error, ErrorCode};
use serde_json::{Value, json};

use super::support::{Cloud, cloud_with, md5_of, stored, target, upload};

const MIB: usize = 1024 * 1024;
/// Every test here ends well within this, or fails instead of hanging.
const BOUND: Duration = Duration::from_secs(60);

async fn bounded<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, work)
        .await
        .expect("the client gave up within the bound")
}

/// A sandbox cutting files into 1 MiB slices.
async fn sliced() -> Cloud {
    cloud_with(|c| c.pan123.slice_size = MIB as u64).await
}

/// Uploads a fresh 2 MiB + 1 file named `name` under `plan` and returns the error it must end with.
async fn refused(cloud: &Cloud, plan: Value, name: &str, seed: u64) -> Error {
    cloud.faults(plan).await;
    let provider = cloud.provider();
    let path = cloud.file(name, 2 * MIB + 1, seed);
    let outcome = bounded(upload(&provider, &path, &target("/h", name), DuplicatePolicy::Fail)).await;
    match outcome {
        Ok(report) => panic!("{name}: a lying server was taken for a success: {:?}", report.outcome),
        Err(err) => err,
    }
}

fn assert_kind(err: &Error, kind: ErrorCode, words: &str) {
    assert_eq!(err.code(), kind, "{err}");
    assert!(err.to_string().contains(words), "{err:?} should mention {words:?}");
}

#[tokio::test]
async fn truncated_json_is_a_protocol_error_and_a_cut_reply_is_retried() {
    let cloud = sliced().await;
    // A complete HTTP reply whose JSON stops short: the server's fault, not the wire's; nothing is retried.
    let create = r#"{"code":0,"message":"ok","data":{"fileID":0,"reuse":fa"#;
    let err = refused(
        &cloud,
        json!([{"route": "123pan/create", "action": {"kind": "respond", "body": create}}]),
        "a.bin",
        1,
    )
    .await;
    assert_kind(&err, ErrorCode::Protocol, "not a 123pan envelope");
    assert_eq!(cloud.requests("123pan/create").await, 1);

    let token = r#"{"code":0,"message":"ok","data":{"accessToken":"abc"#;
    let fresh = sliced().await;
    let err = refused(
        &fresh,
        json!([{"route": "123pan/access_token", "action": {"kind": "respond", "body": token}}]),
        "b.bin",
        2,
    )
    .await;
    assert_kind(&err, ErrorCode::Protocol, "not a 123pan envelope");
    assert!(stored(&fresh, "/h/b.bin").await.is_none());

    // The same replies cut on the wire (Content-Length not reached) are a network fault: retried, then done.
    let cut = sliced().await;
    cut.faults(json!([
        {"route": "123pan/access_token", "action": {"kind": "cut_body", "after": 20}},
        {"route": "123pan/create", "action": {"kind": "cut_body", "after": 30}}
    ]))
    .await;
    let provider = cut.provider();
    let path = cut.file("c.bin", 2 * MIB + 1, 3);
    let report = bounded(upload(&provider, &path, &target("/h", "c.bin"), DuplicatePolicy::Fail))
        .await
        .expect("recovers");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(stored(&cut, "/h/c.bin").await.expect("stored")["md5"], md5_of(&path));
    assert_eq!(cut.requests("123pan/create").await, 2);
}

#[tokio::test]
async fn wrong_types_are_protocol_errors_never_an_instant_upload() {
    let ok = |data: Value| json!({"code": 0, "message": "ok", "data": data, "x-traceID": "t"});
    let cases = [
        ("fileID as a string", ok(json!({"fileID": "12", "reuse": true}))),
        ("data as an array", ok(json!([]))),
        ("data as a string", ok(json!("reuse"))),
        ("reuse as a string", ok(json!({"fileID": 12, "reuse": "yes"}))),
        ("a negative fileID", ok(json!({"fileID": -1, "reuse": true}))),
        (
            "code as a string",
            json!({"code": "0", "message": "ok", "data": {"fileID": 12, "reuse": true}}),
        ),
        ("no code at all", json!({"data": {"fileID": 12, "reuse": true}})),
        ("an array", json!([{"code": 0}])),
    ];
    let cloud = sliced().await;
    for (i, (what, body)) in cases.into_iter().enumerate() {
        let name = format!("t{i}.bin");
        let plan = json!([{"route": "123pan/create", "action": {"kind": "respond", "body": body}}]);
        let err = refused(&cloud, plan, &name, 10 + i as u64).await;
        assert_eq!(err.code(), ErrorCode::Protocol, "{what}: {err}");
    }
    assert_eq!(
        cloud.requests("123pan/slice").await,
        0,
        "nothing was sent on a reply that made no sense"
    );
    assert!(cloud.admin_files().await.is_empty());

    // The token's own fields.
    for (i, data) in [
        json!({"accessToken": 5, "expiredAt": "2099-01-01T00:00:00+08:00"}),
        json!({"accessToken": "abc", "expiredAt": "tomorrow"}),
        json!({"accessToken": "abc"}),
    ]
    .into_iter()
    .enumerate()
    {
        let fresh = sliced().await;
        let plan = json!([{"route": "123pan/access_token", "action": {"kind": "respond", "body": ok(data)}}]);
        let err = refused(&fresh, plan, "tok.bin", 20 + i as u64).await;
        assert_eq!(err.code(), ErrorCode::Protocol, "{err}");
    }

    // upload_complete: the merge is handled, but its answer is mistyped; it is not taken for a finished file.
    for (i, data) in [json!({"completed": "true"}), json!({"fileID": "7"})].into_iter().enumerate() {
        let fresh = sliced().await;
        let plan = json!([{"route": "123pan/upload_complete", "action": {"kind": "rewrite", "merge": {"data": data}}}]);
        let err = refused(&fresh, plan, "done.bin", 30 + i as u64).await;
        assert_eq!(err.code(), ErrorCode::Protocol, "{err}");
    }
    // An empty array carries no `completed: true`: it reads as "not yet", and the next poll finds the file.
    let fresh = sliced().await;
    fresh
        .faults(json!([{"route": "123pan/upload_complete", "action": {"kind": "rewrite", "merge": {"data": []}}}]))
        .await;
    let provider = fresh.provider();
    let path = fresh.file("later.bin", 2 * MIB + 1, 33);
    let report = bounded(upload(&provider, &path, &target("/h", "later.bin"), DuplicatePolicy::Fail))
        .await
        .expect("polled again");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(stored(&fresh, "/h/later.bin").await.expect("stored")["md5"], md5_of(&path));
    assert_eq!(fresh.requests("123pan/upload_complete").await, 2);
}

#[tokio::test]
async fn huge_bodies_are_refused_without_reading_them_all() {
    let cloud = sliced().await;
    let envelope = json!({"code": 0, "message": "ok", "data": {"fileID": 0, "reuse": false}});
    // 64 MiB announced, 64 MiB without a length, and a body that never ends: each valid JSON padded with spaces.
    let plans = [
        json!({"kind": "respond", "body": envelope, "pad": 64 * MIB}),
        json!({"kind": "respond", "body": envelope, "pad": 64 * MIB, "chunked": true}),
        json!({"kind": "respond", "body": envelope, "endless": true}),
    ];
    for (i, action) in plans.into_iter().enumerate() {
        let started = Instant::now();
        let err = refused(
            &cloud,
            json!([{"route": "123pan/create", "action": action}]),
            &format!("big{i}.bin"),
            40 + i as u64,
        )
        .await;
        assert_kind(&err, ErrorCode::Protocol, "reply larger than");
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    }
    // A huge body on the slice route too: the slice is refused, not acknowledged.
    let err = refused(
        &cloud,
        json!([{"route": "123pan/slice", "action": {"kind": "respond", "body": {"code": 0}, "endless": true}}]),
        "big-slice.bin",
        43,
    )
    .await;
    assert_kind(&err, ErrorCode::Protocol, "reply larger than");
}

#[tokio::test]
async fn upload_hosts_that_are_not_http_are_refused() {
    let cloud = sliced().await;
    for (i, server) in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/upload",
        "javascript:alert(1)",
        "",
        "/etc/passwd",
    ]
    .into_iter()
    .enumerate()
    {
        let plan = json!([{"route": "123pan/create", "action": {"kind": "rewrite", "merge": {"data": {"servers": [server]}}}}]);
        let err = refused(&cloud, plan, &format!("s{i}.bin"), 50 + i as u64).await;
        assert_kind(&err, ErrorCode::Protocol, "http(s)");
    }
    // The wrong type for the list itself.
    let plan = json!([{"route": "123pan/create", "action": {"kind": "rewrite", "merge": {"data": {"servers": "http://x"}}}}]);
    let err = refused(&cloud, plan, "s-text.bin", 56).await;
    assert_eq!(err.code(), ErrorCode::Protocol, "{err}");
    assert_eq!(cloud.requests("123pan/slice").await, 0);

    // A bad entry next to a good one: the good one is used.
    let good = cloud.running.pan123_url();
    cloud
        .faults(json!([{"route": "123pan/create", "action": {"kind": "rewrite",
            "merge": {"data": {"servers": ["file:///etc/passwd", "ftp://x", good]}}}}]))
        .await;
    let provider = cloud.provider();
    let path = cloud.file("mixed.bin", 2 * MIB + 1, 57);
    let report = bounded(upload(&provider, &path, &target("/h", "mixed.bin"), DuplicatePolicy::Fail))
        .await
        .expect("the http server is used");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(stored(&cloud, "/h/mixed.bin").await.expect("stored")["md5"], md5_of(&path));

    // No servers, and the upload domain list names a local file.
    let bare = cloud_with(|c| {
        c.pan123.slice_size = MIB as u64;
        c.pan123.advertise_servers = false;
    })
    .await;
    let plan = json!([{"route": "123pan/domain", "action": {"kind": "rewrite", "merge": {"data": ["file:///etc/passwd"]}}}]);
    let err = refused(&bare, plan, "d.bin", 58).await;
    assert_kind(&err, ErrorCode::Protocol, "http(s)");
    assert_eq!(bare.requests("123pan/slice").await, 0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let cloud = sliced().await;
    let elsewhere = super::support::cloud().await;
    // To another host: the bearer token must not travel there.
    let location = format!("{}/upload/v2/file/create", elsewhere.running.pan123_url());
    let plan = json!([{"route": "123pan/create", "action": {"kind": "respond", "status": 307, "headers": {"Location": location}}}]);
    let err = refused(&cloud, plan, "r.bin", 60).await;
    assert_kind(&err, ErrorCode::Protocol, "redirect");
    assert!(!err.to_string().contains("127.0.0.1"), "the target is not repeated: {err}");
    assert_eq!(elsewhere.total_requests().await, 0, "nothing reached the redirect target");

    // Within the same server, on a slice: refused too, and the slice is not counted as sent.
    let location = format!("{}/upload/v2/file/slice", cloud.running.pan123_url());
    let plan = json!([{"route": "123pan/slice", "action": {"kind": "respond", "status": 302, "headers": {"Location": location}}}]);
    let before = cloud.requests("123pan/slice").await;
    let err = refused(&cloud, plan, "r2.bin", 61).await;
    assert_kind(&err, ErrorCode::Protocol, "redirect");
    assert!(stored(&cloud, "/h/r2.bin").await.is_none());
    assert!(cloud.requests("123pan/slice").await - before <= 3, "the redirect was not followed");

    // On the token.
    let fresh = sliced().await;
    let plan = json!([{"route": "123pan/access_token", "action": {"kind": "respond", "status": 301, "headers": {"Location": "http://127.0.0.1:9/"}}}]);
    let err = refused(&fresh, plan, "r3.bin", 62).await;
    assert_kind(&err, ErrorCode::Protocol, "redirect");
}

#[tokio::test]
async fn slices_acknowledged_but_the_merge_fails_its_md5() {
    // The server's own answer when the assembled file does not match the declared MD5 (spec §3.3).
    let cloud = sliced().await;
    let plan = json!([{"route": "123pan/upload_complete", "action": {"kind": "code", "code": 1, "message": "文件上传失败"}}]);
    let err = refused(&cloud, plan, "m.bin", 70).await;
    assert_kind(&err, ErrorCode::Integrity, "MD5");
    assert_eq!(cloud.requests("123pan/slice").await, 3, "every slice was acknowledged first");

    // A slice acknowledged without being kept: the merge names the missing slice; no success is reported.
    let fresh = sliced().await;
    let plan = json!([{"route": "123pan/slice", "skip": 1,
        "action": {"kind": "respond", "body": {"code": 0, "message": "ok", "data": null, "x-traceID": "t"}}}]);
    let err = refused(&fresh, plan, "lost.bin", 71).await;
    assert_kind(&err, ErrorCode::Api, "分片");
    assert!(stored(&fresh, "/h/lost.bin").await.is_none());
}

#[tokio::test]
async fn reuse_without_a_file_id_is_not_an_instant_upload() {
    let cloud = sliced().await;
    for (i, data) in [
        json!({"reuse": true, "fileID": 0}),
        json!({"reuse": true, "fileID": null}),
        json!({"reuse": true, "fileID": 0, "preuploadID": null}),
    ]
    .into_iter()
    .enumerate()
    {
        let plan = json!([{"route": "123pan/create", "action": {"kind": "rewrite", "merge": {"data": data}}}]);
        let err = refused(&cloud, plan, &format!("z{i}.bin"), 80 + i as u64).await;
        assert_kind(&err, ErrorCode::Protocol, "without a file id");
    }
    assert_eq!(cloud.requests("123pan/slice").await, 0);
    assert!(cloud.admin_files().await.is_empty());

    // The single-step upload answering without a file id, or `completed: false` (which the document gives
    // no way to poll), is not a success either, and says the cloud has not confirmed the file.
    for (i, data) in [json!({"fileID": 0}), json!({"completed": false})].into_iter().enumerate() {
        let single = sliced().await;
        single
            .faults(json!([{"route": "123pan/single_create", "action": {"kind": "rewrite", "merge": {"data": data}}}]))
            .await;
        let provider = single.provider_with(|c| c.single_step_max = MIB as u64);
        let path = single.file("one.txt", 1000, 83 + i as u64);
        let err = bounded(upload(&provider, &path, &target("/h", "one.txt"), DuplicatePolicy::Fail))
            .await
            .expect_err("unconfirmed, no success");
        assert_kind(&err, ErrorCode::Protocol, "has not confirmed the file");
        assert_eq!(single.requests("123pan/single_create").await, 1, "not sent again");
    }
}

#[tokio::test]
async fn an_endless_verification_gives_up_at_the_deadline() {
    let deadline = Duration::from_millis(1500);
    for (what, action) in [
        ("20103", json!({"kind": "pending"})),
        (
            "completed: false",
            json!({"kind": "respond", "body": {"code": 0, "message": "ok", "data": {"completed": false, "fileID": 0}}}),
        ),
        (
            "completed without a file id",
            json!({"kind": "respond", "body": {"code": 0, "message": "ok", "data": {"completed": true, "fileID": 0}}}),
        ),
    ] {
        let cloud = sliced().await;
        cloud
            .faults(json!([{"route": "123pan/upload_complete", "times": 1_000_000, "action": action}]))
            .await;
        let provider = cloud.provider_with(|c| c.completion_deadline = Some(deadline));
        let path = cloud.file("slow.bin", 2 * MIB + 1, 90);
        let started = Instant::now();
        let err = bounded(upload(&provider, &path, &target("/h", "slow.bin"), DuplicatePolicy::Fail))
            .await
            .expect_err("never verified");
        let waited = started.elapsed();
        assert_kind(&err, ErrorCode::Timeout, "verifying");
        assert!(
            // The last poll is skipped when the next one would fall after the deadline.
            waited >= deadline - Duration::from_millis(100) && waited < deadline + Duration::from_secs(5),
            "{what}: {waited:?}"
        );
        assert!(cloud.requests("123pan/upload_complete").await >= 5, "{what}: polled meanwhile");
        assert!(stored(&cloud, "/h/slow.bin").await.is_none());
    }
}

#[tokio::test]
async fn a_flood_of_words_in_an_error_is_cut_short() {
    let cloud = sliced().await;
    let message = "错".repeat(200_000);
    let body = json!({"code": 1, "message": message, "data": null, "x-traceID": "t"});
    let err = refused(
        &cloud,
        json!([{"route": "123pan/create", "action": {"kind": "respond", "body": body}}]),
        "flood.bin",
        9,
    )
    .await;
    assert_eq!(err.code(), ErrorCode::Api, "{err}");
    let shown = err.to_string();
    assert!(
        shown.chars().count() < 400 && shown.contains("错…"),
        "{} characters",
        shown.chars().count()
    );
}
