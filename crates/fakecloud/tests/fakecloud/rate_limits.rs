//! Per-route rate limits: the 123pan code-429 answer, the sliding window over real HTTP, the stats, the
//! admin route and the other providers' answers.

use std::time::Duration;

use pandrop_fakecloud::RateLimits;
use pandrop_fakecloud::pan123::{ROUTE_CREATE, ROUTE_MKDIR};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Answer, Harness, bytes};
use crate::sixpan::Six;

/// Creates `n` different files at once and returns the answers.
async fn burst_of_creates(h: &Harness, token: &str, first: usize, n: usize) -> Vec<Answer> {
    let data = bytes(10, 40);
    let creates = (first..first + n).map(|i| {
        let name = format!("burst-{i}.bin");
        let data = &data;
        async move { h.create(token, 0, &name, data, json!({})).await }
    });
    futures::future::join_all(creates).await
}

/// Asserts the exact 123pan rate-limit answer.
#[track_caller]
fn assert_throttled(a: &Answer) {
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.err(429), "请求太频繁");
    let keys: Vec<&str> = a.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{:?}", a.body);
    assert!(a.body["x-traceID"].as_str().is_some_and(|t| !t.is_empty()), "{:?}", a.body);
}

#[tokio::test]
async fn a_burst_over_the_limit_is_answered_code_429() {
    let h = Harness::start_limited(RateLimits::new().with(ROUTE_CREATE, 2).unwrap()).await;
    let token = h.token().await;

    let answers = burst_of_creates(&h, &token, 0, 10).await;
    let admitted: Vec<&Answer> = answers.iter().filter(|a| a.code() == 0).collect();
    assert_eq!(admitted.len(), 2, "{answers:?}");
    for a in &admitted {
        a.ok();
    }
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.code() != 0).collect();
    assert_eq!(refused.len(), 8);
    refused.iter().for_each(|a| assert_throttled(a));
    // Other routes are not limited.
    for _ in 0..5 {
        h.get("/upload/v2/file/domain", &token).await.ok();
        h.list(&token, "parentFileId=0&limit=10").await.ok();
    }

    // Once the window has moved past the burst, two more are admitted.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = burst_of_creates(&h, &token, 10, 3).await;
    assert_eq!(later.iter().filter(|a| a.code() == 0).count(), 2, "{later:?}");
    assert_eq!(later.iter().filter(|a| a.code() == 429).count(), 1, "{later:?}");

    let stats = h.stats().await;
    // `requests` counts every request, refused or not; `throttled` the refused ones.
    assert_eq!(stats["routes"]["123pan/create"]["requests"], 13, "{stats}");
    assert_eq!(stats["throttled"], json!({ "123pan/create": 9 }), "{stats}");
    assert_eq!(stats["routes"]["123pan/domain"]["requests"], 5, "{stats}");
}

#[tokio::test]
async fn the_limit_is_checked_before_authentication_and_faults() {
    let h = Harness::start_limited(RateLimits::new().with(ROUTE_MKDIR, 1).unwrap()).await;
    h.add_faults(json!([{ "route": "123pan/mkdir", "action": { "kind": "status", "status": 503 } }]))
        .await;
    // Admitted: the fault answers it.
    let first = h
        .post_raw("/upload/v1/file/mkdir", "bogus", json!({ "name": "d", "parentID": 0 }))
        .await;
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Refused before the (bad) token is even looked at.
    let second = h
        .post("/upload/v1/file/mkdir", "bogus", json!({ "name": "d", "parentID": 0 }))
        .await;
    assert_throttled(&second);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The refusal used up no fault rule and did not count in the window: this one reaches auth.
    let third = h
        .post("/upload/v1/file/mkdir", "bogus", json!({ "name": "d", "parentID": 0 }))
        .await;
    assert_eq!(third.status, StatusCode::UNAUTHORIZED);
    third.err(401);
}

#[tokio::test]
async fn limits_are_set_and_cleared_at_runtime() {
    let h = Harness::start().await;
    let token = h.token().await;
    assert_eq!(h.rate_limits().await, json!({}));
    for i in 0..5 {
        h.post(
            "/upload/v1/file/mkdir",
            &token,
            json!({ "name": format!("free-{i}"), "parentID": 0 }),
        )
        .await
        .ok();
    }

    let r = h.put_rate_limits(json!({ "123pan/mkdir": 1, "123pan/list": 3 })).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({ "ok": true, "rate_limits": { "123pan/mkdir": 1, "123pan/list": 3 } }));
    assert_eq!(h.rate_limits().await, json!({ "123pan/list": 3, "123pan/mkdir": 1 }));
    assert_eq!(
        h.cloud().rate_limits(),
        RateLimits::new().with(ROUTE_MKDIR, 1).unwrap().with("123pan/list", 3).unwrap()
    );
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "a", "parentID": 0 }))
        .await
        .ok();
    assert_throttled(&h.post("/upload/v1/file/mkdir", &token, json!({ "name": "b", "parentID": 0 })).await);

    // An unknown route is refused by name and changes nothing.
    let r = h.put_rate_limits(json!({ "123pan/create": 1, "123pan/nope": 2 })).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert!(body["error"].as_str().unwrap().contains("\"123pan/nope\""), "{body}");
    let r = h.put_rate_limits(json!({ "123pan/create": 0 })).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(h.rate_limits().await, json!({ "123pan/list": 3, "123pan/mkdir": 1 }));

    // `{}` lifts every limit.
    let r = h.put_rate_limits(json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(h.rate_limits().await, json!({}));
    for i in 0..5 {
        h.post("/upload/v1/file/mkdir", &token, json!({ "name": format!("c-{i}"), "parentID": 0 }))
            .await
            .ok();
    }

    // The embedding API does the same.
    h.cloud().set_rate_limits(RateLimits::new().with(ROUTE_MKDIR, 1).unwrap());
    assert_eq!(h.rate_limits().await, json!({ "123pan/mkdir": 1 }));
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "e", "parentID": 0 }))
        .await
        .ok();
    assert_throttled(&h.post("/upload/v1/file/mkdir", &token, json!({ "name": "f", "parentID": 0 })).await);
    let r = h.http.delete(format!("{}/_admin/rate-limits", h.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(h.cloud().rate_limits().is_empty());
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "f", "parentID": 0 }))
        .await
        .ok();
    assert_eq!(h.stats().await["throttled"], json!({ "123pan/mkdir": 2 }));
}

#[tokio::test]
async fn sixpan_and_wcs_answer_http_429() {
    let six = Six::start().await;
    let r = six
        .http
        .put(format!("{}/_admin/rate-limits", six.base))
        .json(&json!({ "6pan/v2/login": 1, "wcs/mkblk": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    six.login_raw(true, "demo", "demo-secret").await.ok();
    let r = six.login_raw(true, "demo", "demo-secret").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.body,
        json!({ "success": false, "code": "TOO_MANY_REQUESTS", "status": 429, "message": "too many requests" })
    );
    // v1 login has its own route name and no limit.
    six.login_raw(false, "demo", "demo-secret").await.ok();
    six.login_raw(false, "demo", "demo-secret").await.ok();

    // The first mkblk is admitted (and refused for its bad token), the second is throttled.
    six.mkblk(&six.wcs(), "bad-token", "b", 1, 0, b"x").await.wcs_err(401);
    six.mkblk(&six.wcs(), "bad-token", "b", 1, 0, b"x").await.wcs_err(429);

    let stats = six.admin("stats").await;
    assert_eq!(stats["throttled"], json!({ "6pan/v2/login": 1, "wcs/mkblk": 1 }), "{stats}");
}
