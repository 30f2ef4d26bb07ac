//! Fault injection, one test per action kind plus the plan mechanics.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, TEST_SLICE, bytes};

async fn domain_raw(h: &Harness, token: &str) -> Result<reqwest::Response, reqwest::Error> {
    h.http
        .get(h.url("/upload/v2/file/domain"))
        .header("Platform", "open_platform")
        .bearer_auth(token)
        .send()
        .await
}

#[tokio::test]
async fn reset_drops_the_connection() {
    let h = Harness::start().await;
    let token = h.token().await;
    let r = h
        .add_faults(json!([{ "route": "123pan/domain", "action": { "kind": "reset" } }]))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let err = domain_raw(&h, &token).await.expect_err("the connection must be dropped");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    // One-shot: the next call goes through, and the broken one was counted.
    h.get("/upload/v2/file/domain", &token).await.ok();
    assert_eq!(h.stats().await["routes"]["123pan/domain"]["requests"], 2);
}

#[tokio::test]
async fn reset_during_a_slice_upload_leaves_the_slice_unstored() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(2000, 30);
    let created = h.create(&token, 0, "r.bin", &data, json!({})).await;
    let d = created.ok().clone();
    let id = d["preuploadID"].as_str().unwrap();
    let server = d["servers"][0].as_str().unwrap();
    h.add_faults(json!({ "rules": [{ "route": "123pan/slice", "skip": 1, "action": { "kind": "reset" } }] }))
        .await;
    h.slice_of(server, &token, id, &data, TEST_SLICE, 1).await.ok();
    let part = data[1000..].to_vec();
    let form = reqwest::multipart::Form::new()
        .text("preuploadID", id.to_owned())
        .text("sliceNo", "2")
        .text("sliceMD5", crate::harness::md5_hex(&part))
        .part("slice", reqwest::multipart::Part::bytes(part));
    let sent = h
        .http
        .post(format!("{server}/upload/v2/file/slice"))
        .header("Platform", "open_platform")
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await;
    assert!(sent.is_err(), "{sent:?}");
    assert!(h.complete(&token, id).await.err(1).contains("1个分片"));
    h.slice_of(server, &token, id, &data, TEST_SLICE, 2).await.ok();
    h.complete(&token, id).await.ok();
}

#[tokio::test]
async fn status_answers_that_http_status() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_faults(json!([
        { "route": "123pan/domain", "action": { "kind": "status", "status": 500 } },
        { "route": "123pan/domain", "action": { "kind": "status", "status": 429 } }
    ]))
    .await;
    assert_eq!(domain_raw(&h, &token).await.unwrap().status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(domain_raw(&h, &token).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(domain_raw(&h, &token).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn code_answers_an_envelope_error() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_faults(json!([{ "route": "123pan/mkdir", "times": 2,
        "action": { "kind": "code", "code": 429, "message": "请求太频繁" } }]))
        .await;
    for _ in 0..2 {
        let a = h.post("/upload/v1/file/mkdir", &token, json!({ "name": "d", "parentID": 0 })).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.err(429), "请求太频繁");
    }
    // Not handled while faulted: the folder is created only now.
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "d", "parentID": 0 }))
        .await
        .ok();
}

#[tokio::test]
async fn pending_makes_complete_answer_20103() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(500, 31);
    let created = h.create(&token, 0, "p.bin", &data, json!({})).await;
    let d = created.ok().clone();
    let id = d["preuploadID"].as_str().unwrap();
    h.slice_of(d["servers"][0].as_str().unwrap(), &token, id, &data, TEST_SLICE, 1)
        .await
        .ok();
    h.add_faults(json!([{ "route": "123pan/upload_complete", "action": { "kind": "pending" } }]))
        .await;
    h.complete(&token, id).await.err(20103);
    assert_eq!(h.complete(&token, id).await.ok()["completed"], true);
}

#[tokio::test]
async fn expired_token_really_invalidates_the_token() {
    let h = Harness::start().await;
    let token = h.token().await;
    let other = h.token().await;
    h.add_faults(json!([{ "route": "123pan/create", "action": { "kind": "expired_token" } }]))
        .await;
    let a = h.create(&token, 0, "e.bin", &bytes(10, 32), json!({})).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.err(401), "access_token无效");
    let a = h.get("/upload/v2/file/domain", &token).await;
    a.err(401);
    h.get("/upload/v2/file/domain", &other).await.ok();
    let fresh = h.token().await;
    h.create(&fresh, 0, "e.bin", &bytes(10, 32), json!({})).await.ok();
}

#[tokio::test]
async fn latency_delays_then_handles() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_faults(json!([{ "route": "*", "action": { "kind": "latency", "ms": 400 } }]))
        .await;
    let started = Instant::now();
    h.get("/upload/v2/file/domain", &token).await.ok();
    assert!(started.elapsed() >= Duration::from_millis(400));
    let started = Instant::now();
    h.get("/upload/v2/file/domain", &token).await.ok();
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn cut_body_truncates_the_answer_after_handling() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_faults(json!([{ "route": "123pan/mkdir", "action": { "kind": "cut_body", "after": 5 } }]))
        .await;
    let resp = h
        .post_raw("/upload/v1/file/mkdir", &token, json!({ "name": "cut", "parentID": 0 }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.is_err(), "the body must be cut");
    // The request was handled: the folder exists.
    let a = h
        .post("/upload/v1/file/mkdir", &token, json!({ "name": "cut", "parentID": 0 }))
        .await;
    assert_eq!(a.err(1), "该目录下已经有同名文件夹,无法进行创建");
}

#[tokio::test]
async fn plan_mechanics() {
    let h = Harness::start().await;
    let token = h.token().await;
    // Unknown route names and malformed rules are refused.
    let r = h
        .add_faults(json!([{ "route": "123pan/nope", "action": { "kind": "reset" } }]))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = h.add_faults(json!([{ "route": "*", "action": { "kind": "explode" } }])).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // skip then times, wildcard, and rules queued per route.
    h.add_faults(json!([
        { "route": "123pan/access_token", "skip": 1, "times": 2, "action": { "kind": "status", "status": 503 } },
        { "route": "*", "action": { "kind": "status", "status": 502 } }
    ]))
    .await;
    let pending: Value = h
        .http
        .get(format!("{}/_admin/faults", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 2);
    // access_token: through, 503, 503, then the wildcard's 502, then through.
    let statuses = {
        let mut s = Vec::new();
        for _ in 0..5 {
            let resp = h
                .http
                .post(h.url("/api/v1/access_token"))
                .header("Platform", "open_platform")
                .json(&json!({ "clientID": "demo", "clientSecret": "demo-secret" }))
                .send()
                .await
                .unwrap();
            s.push(resp.status().as_u16());
        }
        s
    };
    assert_eq!(statuses, [200, 503, 503, 502, 200]);

    // DELETE clears.
    h.add_faults(json!([{ "route": "*", "times": 100, "action": { "kind": "status", "status": 500 } }]))
        .await;
    let r = h.http.delete(format!("{}/_admin/faults", h.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    h.get("/upload/v2/file/domain", &token).await.ok();

    // Stats reset.
    assert!(h.stats().await["routes"]["123pan/access_token"]["requests"].as_u64().unwrap() >= 6);
    h.http.post(format!("{}/_admin/stats/reset", h.base)).send().await.unwrap();
    let stats = h.stats().await;
    assert_eq!(stats["routes"], json!({}));
    assert_eq!(stats["slices"], json!({}));
}

#[tokio::test]
async fn respond_answers_a_hand_made_reply_without_handling() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_faults(json!([
        { "route": "123pan/mkdir", "action": { "kind": "respond",
            "body": { "code": 0, "message": "ok", "data": { "dirID": "12" } }, "headers": { "X-Extra": "1" } } },
        { "route": "123pan/domain", "action": { "kind": "respond", "body": "{\"code\":0,\"data\":[\"ht" } },
        { "route": "123pan/domain", "action": { "kind": "respond", "status": 302,
            "headers": { "Location": "http://127.0.0.1:9/elsewhere" } } }
    ]))
    .await;
    let resp = h
        .post_raw("/upload/v1/file/mkdir", &token, json!({ "name": "hand", "parentID": 0 }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-extra"], "1");
    assert_eq!(resp.headers()[reqwest::header::CONTENT_TYPE], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["dirID"], "12");
    // Not handled: the folder can still be made.
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "hand", "parentID": 0 }))
        .await
        .ok();
    let text = domain_raw(&h, &token).await.unwrap().text().await.unwrap();
    assert_eq!(text, "{\"code\":0,\"data\":[\"ht");
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_follow
        .get(h.url("/upload/v2/file/domain"))
        .header("Platform", "open_platform")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.headers()[reqwest::header::LOCATION], "http://127.0.0.1:9/elsewhere");
}

#[tokio::test]
async fn respond_pads_chunks_and_streams_without_end() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_faults(json!([
        { "route": "123pan/domain", "action": { "kind": "respond", "body": { "code": 0 }, "pad": 1_000_000 } },
        { "route": "123pan/domain", "action": { "kind": "respond", "body": { "code": 0 }, "pad": 100, "chunked": true } },
        { "route": "123pan/domain", "action": { "kind": "respond", "body": { "code": 0 }, "endless": true } }
    ]))
    .await;
    let resp = domain_raw(&h, &token).await.unwrap();
    assert_eq!(resp.content_length(), Some(1_000_010));
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), 1_000_010);
    let parsed: Value = serde_json::from_slice(&body).expect("padding keeps the JSON valid");
    assert_eq!(parsed["code"], 0);

    let resp = domain_raw(&h, &token).await.unwrap();
    assert!(resp.headers().get(reqwest::header::CONTENT_LENGTH).is_none());
    assert_eq!(resp.bytes().await.unwrap().len(), 110);

    let mut resp = domain_raw(&h, &token).await.unwrap();
    let mut seen = 0usize;
    while seen < 8 << 20 {
        seen += resp.chunk().await.unwrap().expect("the body never ends").len();
    }
    drop(resp);
    // The server is still fine after the client hung up.
    h.get("/upload/v2/file/domain", &token).await.ok();
}

#[tokio::test]
async fn rewrite_merges_into_the_handled_answer() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_faults(json!([
        { "route": "123pan/mkdir", "action": { "kind": "rewrite", "merge": { "data": { "dirID": "x", "extra": [1] }, "message": null } } }
    ]))
    .await;
    let a = h
        .post("/upload/v1/file/mkdir", &token, json!({ "name": "rw", "parentID": 0 }))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["data"]["dirID"], "x");
    assert_eq!(a.body["data"]["extra"], json!([1]));
    assert!(a.body.get("message").is_none(), "{:?}", a.body);
    // Handled: the folder exists now.
    let again = h
        .post("/upload/v1/file/mkdir", &token, json!({ "name": "rw", "parentID": 0 }))
        .await;
    assert_eq!(again.err(1), "该目录下已经有同名文件夹,无法进行创建");
}
