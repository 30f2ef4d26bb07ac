//! 6pan login, envelopes and session-token rotation (v1 and v2).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::sixpan::{Session, Six};

#[tokio::test]
async fn v1_login_rotates_the_token_on_every_answer() {
    let six = Six::start().await;
    let r = six.login_raw(false, "demo", "demo-secret").await;
    let user = r.ok();
    assert_eq!(user["name"], "demo");
    assert_eq!(r.body["status"], 200);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "JWT-shaped");
    assert_eq!(r.headers["authorization"].to_str().unwrap(), format!("Bearer {token}"));

    let mut s = Session { v2: false, token };
    let first = s.token.clone();
    for _ in 0..3 {
        // `call` checks that body token == header token and that it changed.
        let page = six.call(&mut s, "/v1/files/page", json!({})).await;
        assert_eq!(page.ok()["info"]["path"], "/");
        assert_eq!(page.body["status"], 200);
    }
    assert_eq!(six.admin("stats").await["6pan"]["superseded_token_uses"], 0);

    // An older token still works (JWT-like), but using it after a newer one is counted.
    let old = six.call_with(false, &first, "/v1/files/page", json!({})).await;
    old.ok();
    assert_eq!(six.admin("stats").await["6pan"]["superseded_token_uses"], 1);
}

#[tokio::test]
async fn v1_auth_failures() {
    let six = Six::start().await;
    let r = six.call_with(false, "not-a-token", "/v1/files/page", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({"success": false, "code": "INVALID_TOKEN", "status": 401, "message": r.body["message"]})
    );
    let r = six
        .http
        .post(format!("{}/6pan/v1/store/token", six.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "CREDENTIALS_REQUIRED");
    let r = six
        .http
        .post(format!("{}/6pan/v1/store/token", six.base))
        .header("Authorization", "Basic abc")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "BEARER_AUTHORIZATION_HEADER_INVALID"
    );

    six.login_raw(false, "demo", "wrong").await.err("PASSWORD_NOT_MATCH");
    six.login_raw(false, "nobody", "demo-secret").await.err("USER_NOT_FOUND");
    let r = six
        .http
        .post(format!("{}/6pan/v1/user/login", six.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "VALUE_REQUIRED");
    // The phone number is accepted as `value`.
    six.login_raw(true, "13800138000", "demo-secret").await.ok();
    // Unknown routes.
    let r = six.http.post(format!("{}/6pan/v1/nope", six.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn v2_login_uses_the_qingzhen_token_header() {
    let six = Six::start().await;
    let r = six.login_raw(true, "demo", "demo-secret").await;
    assert_eq!(r.ok()["name"], "demo");
    assert_eq!(r.body["status"], 0);
    assert!(r.body.get("token").is_none(), "v2 carries no body token");
    let mut s = six.login(true).await;
    let first = s.token.clone();
    let page = six.call(&mut s, "/v2/files/page", json!({ "path": "/" })).await;
    assert_eq!(page.ok()["parent"]["path"], "/");
    six.call(&mut s, "/v2/files/page", json!({ "path": "/" })).await.ok();
    six.call_with(true, &first, "/v2/files/page", json!({})).await.ok();
    assert_eq!(six.admin("stats").await["6pan"]["superseded_token_uses"], 1);

    let r = six.call_with(true, "garbage", "/v2/files/page", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (r.body["code"].as_str(), r.body["status"].as_i64(), r.body["success"].as_bool()),
        (Some("TOKEN_INVALID"), Some(401), Some(false))
    );
    // A v1 token is not a v2 token, and back.
    let v1 = six.login(false).await;
    assert_eq!(
        six.call_with(true, &v1.token, "/v2/files/page", json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        six.call_with(false, &s.token, "/v1/files/page", json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn session_tokens_expire() {
    let six = Six::start_with(|c| c.session_token_lifetime = Duration::from_millis(800)).await;
    let s = six.login(true).await;
    six.call_with(true, &s.token, "/v2/files/page", json!({})).await.ok();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = six.call_with(true, &s.token, "/v2/files/page", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "TOKEN_INVALID");
}

#[tokio::test]
async fn faults_use_the_6pan_shapes() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    six.add_faults(json!([
        { "route": "6pan/v2/files", "action": { "kind": "expired_token" } },
        { "route": "6pan/v1/store_token", "action": { "kind": "code", "code": "SERVER_BUSY", "message": "slow down" } },
        { "route": "6pan/v1/login", "action": { "kind": "pending" } }
    ]))
    .await;
    let r = six.call_with(true, &s.token, "/v2/files/page", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "TOKEN_INVALID");
    // Really revoked: the same token keeps failing; a new login works.
    assert_eq!(
        six.call_with(true, &s.token, "/v2/files/page", json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );
    s = six.login(true).await;
    six.call(&mut s, "/v2/files/page", json!({})).await.ok();

    six.login_raw(false, "demo", "demo-secret").await.err("SERVER_BUSY");
    let mut v1 = six.login(false).await;
    let r = six.call_with(false, &v1.token, "/v1/store/token", json!({ "name": "a" })).await;
    r.err("SERVER_BUSY");
    assert_eq!(r.body["message"], "slow down");
    six.call(&mut v1, "/v1/store/token", json!({ "name": "a" })).await.ok();
}
