//! Tokens: issuing, the 3-token cap, expiry and the header rules.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{CLIENT_ID, CLIENT_SECRET, Harness, bytes};

#[tokio::test]
async fn token_shape_and_lifetime() {
    let h = Harness::start().await;
    let a = h.token_answer(CLIENT_ID, CLIENT_SECRET).await;
    let data = a.ok();
    let token = data["accessToken"].as_str().unwrap();
    assert!(token.len() > 40, "{token}");
    let expired_at = data["expiredAt"].as_str().unwrap();
    assert!(expired_at.ends_with("+08:00"), "{expired_at}");
    let expires = chrono::DateTime::parse_from_rfc3339(expired_at).unwrap();
    let left = expires.signed_duration_since(chrono::Utc::now());
    assert!(left > chrono::Duration::days(29) && left <= chrono::Duration::days(30), "{left}");
    // The token works.
    let domain = h.get("/upload/v2/file/domain", token).await;
    assert_eq!(domain.ok(), &json!([h.api()]));
}

#[tokio::test]
async fn a_fourth_token_retires_the_oldest() {
    let mut h = Harness::start().await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(h.token().await);
    }
    assert_eq!(h.stats().await["123pan"]["retired_token_uses"], 0);
    // The retired token gets the documented "too many logins" message, not the generic one.
    let first = h.create(&tokens[0], 0, "a.bin", &bytes(10, 1), json!({})).await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(first.err(401), "tokens number has exceeded the limit");
    assert!(first.body["x-traceID"].is_string());
    for (i, t) in tokens[1..].iter().enumerate() {
        h.create(t, 0, &format!("b{i}.bin"), &bytes(10, 2), json!({})).await.ok();
        h.get("/upload/v2/file/domain", t).await.ok();
    }
    assert_eq!(h.stats().await["123pan"]["retired_token_uses"], 1);
    // Unknown tokens keep the generic answer and are not counted.
    let unknown = h.create("never-issued", 0, "c.bin", &bytes(10, 3), json!({})).await;
    assert_eq!(unknown.err(401), "access_token无效");
    assert_eq!(h.stats().await["123pan"]["retired_token_uses"], 1);

    // A restart remembers which token was retired.
    h.restart().await;
    let first = h.get("/upload/v2/file/domain", &tokens[0]).await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(first.err(401), "tokens number has exceeded the limit");
    h.get("/upload/v2/file/domain", &tokens[3]).await.ok();
}

#[tokio::test]
async fn a_retired_token_answers_the_generic_401_once_it_would_have_expired() {
    let h = Harness::start_with(|c| c.token_lifetime = Duration::from_secs(2)).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(h.token().await);
    }
    assert_eq!(
        h.get("/upload/v2/file/domain", &tokens[0]).await.err(401),
        "tokens number has exceeded the limit"
    );
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let a = h.get("/upload/v2/file/domain", &tokens[0]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.err(401), "access_token无效");
    assert_eq!(h.stats().await["123pan"]["retired_token_uses"], 1);
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let h = Harness::start().await;
    let a = h.token_answer(CLIENT_ID, "nope").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.err(401).is_empty());
    let a = h.token_answer("someone", CLIENT_SECRET).await;
    a.err(401);
}

#[tokio::test]
async fn platform_header_is_required() {
    let h = Harness::start().await;
    let resp = h
        .http
        .post(h.url("/api/v1/access_token"))
        .json(&json!({ "clientID": CLIENT_ID, "clientSecret": CLIENT_SECRET }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 1, "{body}");
    assert!(body["data"].is_null());

    let token = h.token().await;
    let resp = h
        .http
        .get(h.url("/upload/v2/file/domain"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 1, "{body}");
    let resp = h
        .http
        .get(h.url("/upload/v2/file/domain"))
        .header("Platform", "web")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 1, "{body}");
}

#[tokio::test]
async fn bad_authorization_headers_are_401() {
    let h = Harness::start().await;
    let token = h.token().await;
    let cases: Vec<Option<String>> = vec![
        None,
        Some(format!("Bearer  {token}")),
        Some(format!("bearer {token}")),
        Some(token.clone()),
        Some("Bearer not-a-token".to_owned()),
    ];
    for auth in cases {
        let mut req = h.http.get(h.url("/upload/v2/file/domain")).header("Platform", "open_platform");
        if let Some(auth) = &auth {
            req = req.header("Authorization", auth);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], 401);
        assert_eq!(body["message"], "access_token无效");
        assert!(body["data"].is_null());
    }
    // Every protected route is guarded, not only the domain route.
    let a = h.post("/upload/v2/file/create", "bogus", json!({})).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = h.get("/api/v2/file/list?parentFileId=0&limit=10", "bogus").await;
    a.err(401);
}

#[tokio::test]
async fn tokens_expire() {
    let h = Harness::start_with(|c| c.token_lifetime = Duration::from_secs(1)).await;
    let token = h.token().await;
    h.get("/upload/v2/file/domain", &token).await.ok();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let a = h.get("/upload/v2/file/domain", &token).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    a.err(401);
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let h = Harness::start().await;
    for path in ["/123pan/upload/v2/file/nope", "/nothing", "/123pan"] {
        let resp = h.http.get(format!("{}{path}", h.base)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
