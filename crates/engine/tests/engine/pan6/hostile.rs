//! Broken or hostile 6pan and WCS servers: truncated and mistyped replies, huge bodies, upload URLs that are
//! not HTTP, redirects, an assembled file or a callback that names other bytes, an instant hit for another
//! file, and a host that is busy for ever. The client never takes any of them for a success: it fails with a
//! typed, clear error or recovers, and every wait is bounded.

use std::future::Future;
use std::time::{Duration, Instant};

use pandrop_engine::hash::etag_of;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::provider::pan6::Pan6Api;
use pandrop_engine::transfer::Outcome;
use pandrop_engine::{Error, ErrorCode};
use serde_json::{Value, json};

use super::support::{APIS, BLOCK, Cloud, MIB, cloud, pattern, stored, target, upload};

/// Every test here ends well within this, or fails instead of hanging.
const BOUND: Duration = Duration::from_secs(60);
/// Three blocks, the last one short.
const LEN: usize = 2 * BLOCK + 77;

async fn bounded<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, work)
        .await
        .expect("the client gave up within the bound")
}

fn token_route(api: Pan6Api) -> &'static str {
    match api {
        Pan6Api::V1 => "6pan/v1/store_token",
        Pan6Api::V2 => "6pan/v2/upload_token",
    }
}

/// The token reply's `result` patch that sets the upload URL, for either API's shape.
fn upload_url_patch(api: Pan6Api, url: &str) -> Value {
    match api {
        Pan6Api::V1 => json!({"result": {"uploadUrl": url}}),
        Pan6Api::V2 => json!({"result": {"uploadInfo": {"uploadUrl": url}}}),
    }
}

/// Uploads a fresh file of `len` bytes named `name` over `api` under `plan` (blocks unless `form`) and returns
/// the error it must end with.
async fn refused_with(cloud: &Cloud, api: Pan6Api, plan: Value, name: &str, seed: u64, form: bool) -> Error {
    cloud.faults(plan).await;
    let provider = cloud
        .pan6_with(api, |c| {
            if form {
                c.form_upload_max = 64 * MIB as u64;
            }
        })
        .await;
    let path = cloud.file(name, LEN, seed);
    match bounded(upload(&provider, &path, &target("/h", name), DuplicatePolicy::Fail)).await {
        Ok(report) => panic!("{api:?} {name}: a lying server was taken for a success: {:?}", report.outcome),
        Err(err) => err,
    }
}

async fn refused(cloud: &Cloud, api: Pan6Api, plan: Value, name: &str, seed: u64) -> Error {
    refused_with(cloud, api, plan, name, seed, false).await
}

fn assert_kind(err: &Error, kind: ErrorCode, words: &str) {
    assert_eq!(err.code(), kind, "{err}");
    assert!(err.to_string().contains(words), "{err:?} should mention {words:?}");
}

async fn wcs_requests(cloud: &Cloud) -> u64 {
    let mut n = 0;
    for route in ["wcs/mkblk", "wcs/bput", "wcs/mkfile", "wcs/form"] {
        n += cloud.requests(route).await;
    }
    n
}

#[tokio::test]
async fn truncated_json_is_a_protocol_error_and_a_cut_reply_is_retried() {
    for api in APIS {
        let cloud = cloud().await;
        let body = r#"{"status":0,"success":true,"result":{"uploadInfo":{"uploadTo"#;
        let plan = json!([{"route": token_route(api), "action": {"kind": "respond", "body": body}}]);
        let err = refused(&cloud, api, plan, "t.bin", 1).await;
        assert_kind(&err, ErrorCode::Protocol, "not a 6pan envelope");
        assert_eq!(cloud.requests(token_route(api)).await, 1, "{api:?}: not retried");

        let plan = json!([{"route": "wcs/mkfile", "action": {"kind": "respond", "body": r#"{"hash":"Fto5o-5ea0s"#}}]);
        let err = refused(&cloud, api, plan, "m.bin", 2).await;
        assert_kind(&err, ErrorCode::Protocol, "unreadable reply");

        // Cut on the wire instead: retried, then done.
        let cut = super::support::cloud().await;
        cut.faults(json!([
            {"route": token_route(api), "action": {"kind": "cut_body", "after": 15}},
            {"route": "wcs/mkblk", "action": {"kind": "cut_body", "after": 5}}
        ]))
        .await;
        let provider = cut.pan6(api).await;
        let path = cut.file("c.bin", LEN, 3);
        let report = bounded(upload(&provider, &path, &target("/h", "c.bin"), DuplicatePolicy::Fail))
            .await
            .expect("recovers");
        assert!(matches!(report.outcome, Outcome::Uploaded | Outcome::Instant));
        assert_eq!(stored(&cut, "/h/c.bin").await.expect("stored")["etag"], etag_of(&pattern(LEN, 3)));
    }
}

#[tokio::test]
async fn wrong_types_are_protocol_errors_never_an_instant_upload() {
    let cases = |api: Pan6Api| {
        let id = match api {
            Pan6Api::V1 => "uuid",
            Pan6Api::V2 => "identity",
        };
        vec![
            ("success as a string", json!({"status": 0, "success": "true", "result": {}})),
            ("result as an array", json!({"status": 0, "success": true, "result": []})),
            ("result as a number", json!({"status": 0, "success": true, "result": 7})),
            ("a bare array", json!([{"success": true}])),
            (
                "a hit whose id is a number",
                json!({"success": true, "result": {"hashCached": true, "uuid": 0, "file": {id: 0}}}),
            ),
            (
                "a hit whose id is empty",
                json!({"success": true, "result": {"hashCached": true, "uuid": "", "file": {id: ""}}}),
            ),
            (
                "an upload token as an object",
                json!({"success": true, "result": {"token": {}, "uploadInfo": {"uploadToken": {}, "uploadUrl": "http://127.0.0.1:9"}, "uploadUrl": "http://127.0.0.1:9"}}),
            ),
        ]
    };
    for api in APIS {
        let cloud = cloud().await;
        for (i, (what, body)) in cases(api).into_iter().enumerate() {
            let plan = json!([{"route": token_route(api), "action": {"kind": "respond", "body": body}}]);
            let err = refused(&cloud, api, plan, &format!("w{i}.bin"), 10 + i as u64).await;
            assert_eq!(err.code(), ErrorCode::Protocol, "{api:?} {what}: {err}");
        }
        assert_eq!(wcs_requests(&cloud).await, 0, "{api:?}: nothing was sent");

        // A chunk receipt with the wrong types is not an acknowledgement.
        let plan = json!([{"route": "wcs/mkblk", "times": 100, "action": {"kind": "respond", "body": {"ctx": 5, "offset": "all"}}}]);
        let err = refused(&cloud, api, plan, "receipt.bin", 20).await;
        assert_kind(&err, ErrorCode::Protocol, "unreadable reply");
        assert!(cloud.admin_files().await.is_empty(), "{api:?}");
    }
}

#[tokio::test]
async fn huge_bodies_are_refused_without_reading_them_all() {
    let cloud = cloud().await;
    let envelope = json!({"status": 0, "success": true, "result": {}});
    let cases = [
        (
            "6pan/v2/upload_token",
            json!({"kind": "respond", "body": envelope, "pad": 64 * MIB}),
        ),
        (
            "6pan/v2/upload_token",
            json!({"kind": "respond", "body": envelope, "endless": true}),
        ),
        (
            "wcs/mkblk",
            json!({"kind": "respond", "body": {"ctx": "x"}, "pad": 64 * MIB, "chunked": true}),
        ),
        ("wcs/mkfile", json!({"kind": "respond", "body": {"hash": "x"}, "endless": true})),
    ];
    for (i, (route, action)) in cases.into_iter().enumerate() {
        let started = Instant::now();
        let plan = json!([{"route": route, "action": action}]);
        let err = refused(&cloud, Pan6Api::V2, plan, &format!("big{i}.bin"), 30 + i as u64).await;
        assert_kind(&err, ErrorCode::Protocol, "reply larger than");
        assert!(started.elapsed() < Duration::from_secs(20), "{route}: {:?}", started.elapsed());
    }
    let err = refused(
        &cloud,
        Pan6Api::V1,
        json!([{"route": "6pan/v1/store_token", "action": {"kind": "respond", "body": envelope, "endless": true}}]),
        "big-v1.bin",
        35,
    )
    .await;
    assert_kind(&err, ErrorCode::Protocol, "reply larger than");
}

#[tokio::test]
async fn upload_urls_that_are_not_http_are_refused() {
    for api in APIS {
        let cloud = cloud().await;
        for (i, url) in [
            "file:///etc/passwd",
            "ftp://127.0.0.1/wcs",
            "javascript:alert(1)",
            "wcs.example.com",
        ]
        .into_iter()
        .enumerate()
        {
            let plan = json!([{"route": token_route(api), "action": {"kind": "rewrite", "merge": upload_url_patch(api, url)}}]);
            let err = refused(&cloud, api, plan, &format!("u{i}.bin"), 40 + i as u64).await;
            assert_kind(&err, ErrorCode::Protocol, "http(s)");
            assert!(!err.to_string().contains("upload token"), "{err}");
        }
        // An empty URL is no URL at all.
        let plan = json!([{"route": token_route(api), "action": {"kind": "rewrite", "merge": upload_url_patch(api, "")}}]);
        let err = refused(&cloud, api, plan, "empty.bin", 45).await;
        assert_kind(&err, ErrorCode::Protocol, "neither a file nor an upload token");
        assert_eq!(wcs_requests(&cloud).await, 0, "{api:?}: no byte left for a non-HTTP host");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let cloud = cloud().await;
    let elsewhere = super::support::cloud().await;
    // The token request carries the session token: it must not travel to the redirect target.
    let location = format!("{}/v2/upload/token", elsewhere.running.pan6_url());
    let plan = json!([{"route": "6pan/v2/upload_token", "action": {"kind": "respond", "status": 307, "headers": {"Location": location}}}]);
    let err = refused(&cloud, Pan6Api::V2, plan, "r.bin", 50).await;
    assert_kind(&err, ErrorCode::Protocol, "redirect");
    assert_eq!(elsewhere.total_requests().await, 0);

    // A WCS block carries the upload token likewise.
    let location = format!("{}/mkblk/4194304/0", elsewhere.running.wcs_url());
    let plan = json!([{"route": "wcs/mkblk", "action": {"kind": "respond", "status": 302, "headers": {"Location": location}}}]);
    let err = refused(&cloud, Pan6Api::V1, plan, "r2.bin", 51).await;
    assert_kind(&err, ErrorCode::Protocol, "redirect");
    assert_eq!(elsewhere.total_requests().await, 0);
    assert!(stored(&cloud, "/h/r2.bin").await.is_none());
}

#[tokio::test]
async fn an_assembled_file_or_a_callback_naming_other_bytes_is_an_integrity_error() {
    for api in APIS {
        let cloud = cloud().await;
        // mkfile's hash is not our etag.
        let plan = json!([{"route": "wcs/mkfile", "action": {"kind": "rewrite", "merge": {"hash": "FmDZwqovpavQ6lEmqAT3jZBQDD-y"}}}]);
        let err = refused(&cloud, api, plan, "h.bin", 60).await;
        assert_kind(&err, ErrorCode::Integrity, "not the local etag");

        // The callback (mkfile's `response`) names another size, or another hash.
        let plan = json!([{"route": "6pan/callback", "action": {"kind": "rewrite", "merge": {"result": {"size": 1}}}}]);
        let err = refused(&cloud, api, plan, "s.bin", 61).await;
        assert_kind(&err, ErrorCode::Integrity, "bytes");
        let other = json!({"result": {"hash": "Fother", "storeId": "Fother"}});
        let plan = json!([{"route": "6pan/callback", "action": {"kind": "rewrite", "merge": other}}]);
        let err = refused(&cloud, api, plan, "o.bin", 62).await;
        assert_kind(&err, ErrorCode::Integrity, "Fother");

        // The same through the form upload, whose reply is the callback's body.
        let plan = json!([{"route": "6pan/callback", "action": {"kind": "rewrite", "merge": {"result": {"size": "5"}}}}]);
        let err = refused_with(&cloud, api, plan, "f.bin", 63, true).await;
        assert_kind(&err, ErrorCode::Integrity, "bytes");
        assert!(cloud.requests("wcs/form").await >= 1, "{api:?}: the form upload was used");
    }
}

#[tokio::test]
async fn an_instant_hit_for_another_file_is_not_a_success() {
    let hit = |api: Pan6Api, hash: &str, size: u64| match api {
        Pan6Api::V1 => json!({"result": {"uuid": "u-1", "storeId": hash, "size": size}}),
        Pan6Api::V2 => json!({"result": {"hashCached": true, "file": {"identity": "i-1", "hash": hash, "size": size}}}),
    };
    for api in APIS {
        let cloud = cloud().await;
        let etag = etag_of(&pattern(LEN, 70));
        let plan = json!([{"route": token_route(api), "action": {"kind": "rewrite", "merge": hit(api, "Fother", LEN as u64)}}]);
        let err = refused(&cloud, api, plan, "a.bin", 70).await;
        assert_kind(&err, ErrorCode::Integrity, "instant upload");
        let plan = json!([{"route": token_route(api), "action": {"kind": "rewrite", "merge": hit(api, &etag, 3)}}]);
        let err = refused(&cloud, api, plan, "a.bin", 70).await;
        assert_kind(&err, ErrorCode::Integrity, "3 bytes");
        assert_eq!(wcs_requests(&cloud).await, 0);

        // A hit that states the very hash and size is taken as it is.
        let plan = json!([{"route": token_route(api), "action": {"kind": "rewrite", "merge": hit(api, &etag, LEN as u64)}}]);
        cloud.faults(plan).await;
        let provider = cloud.pan6(api).await;
        let path = cloud.file("a.bin", LEN, 70);
        let report = bounded(upload(&provider, &path, &target("/h", "a.bin"), DuplicatePolicy::Fail))
            .await
            .expect("a matching hit");
        assert_eq!(report.outcome, Outcome::Instant);
        assert_eq!(report.remote.size, LEN as u64);
    }
}

#[tokio::test]
async fn a_host_busy_for_ever_is_given_up_on_in_bounded_time() {
    let cloud = cloud().await;
    let started = Instant::now();
    let plan = json!([{"route": "wcs/mkblk", "times": 1_000_000, "action": {"kind": "pending"}}]);
    let err = refused(&cloud, Pan6Api::V2, plan, "busy.bin", 80).await;
    assert_eq!(err.code(), ErrorCode::Api, "{err}");
    assert!(
        err.is_retryable(),
        "busy is transient: the queue may try the file again later: {err}"
    );
    // The quick policy sleeps at most 5 s between attempts in all.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());

    let started = Instant::now();
    let plan = json!([{"route": "6pan/v1/store_token", "times": 1_000_000, "action": {"kind": "pending"}}]);
    let err = refused(&cloud, Pan6Api::V1, plan, "busy1.bin", 81).await;
    assert_kind(&err, ErrorCode::Api, "SERVER_BUSY");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}
