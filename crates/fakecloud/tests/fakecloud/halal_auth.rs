//! HalalCloud: the HL6-HMAC-SHA256 signature, the two keys and the OAuth device-code flow.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::halal::{Halal, ToSign, nonce, sign, timestamp};

#[test]
fn signer_reproduces_the_worked_example_of_the_spec() {
    let headers = [
        ("content-type", "application/json; charset=utf-8".to_owned()),
        ("host", "openapi.2dland.cn".to_owned()),
        ("other-header", "other-value".to_owned()),
        ("x-hl-nonce", "1a2b3c4d5e6f".to_owned()),
        ("x-hl-timestamp", "2025-01-02T03:04:05Z".to_owned()),
    ];
    let (canonical, to_sign, auth) = sign(&ToSign {
        client_id: "strict-id",
        secret: "strict-secret",
        token: "",
        path: "/v6/userfile/create_upload_task",
        headers: &headers,
        timestamp: "2025-01-02T03:04:05Z",
        body: br#"{"path":"/PanDrop/a.bin","size":"5242880"}"#,
    });
    assert!(canonical.ends_with(
        "x-hl-timestamp:2025-01-02T03:04:05Z\n\ncontent-type;host;other-header;x-hl-nonce;x-hl-timestamp\n\
         3c12d2500e334adf034fcea5656edfa98cad879ec75a22aea155c3b772572667"
    ));
    assert_eq!(
        to_sign,
        "HL6-HMAC-SHA256\n2025-01-02T03:04:05Z\n2025-01-02//hl6_request\n\
         78796d7c530dcd252fc7274f69697ca2de2c99101edb210c953c9bd5bb6e337e"
    );
    assert!(auth.ends_with("Signature=cdbd6e1c2a96197abf1f45803eb32ae991e8a4d2895a37a08f0fbc0e9aa10929"));
    assert!(auth.starts_with("HL6-HMAC-SHA256 Credential=strict-id/2025-01-02//hl6_request, SignedHeaders="));
}

#[tokio::test]
async fn personal_key_calls_and_everything_that_is_refused() {
    let h = Halal::start().await;
    let key = h.personal();
    let user = h.call(&key, "user/get", json!({})).await;
    assert_eq!(user.ok()["name"], "demo");
    assert!(user.body["identity"].is_string());
    let quota = h.call(&key, "user/get_statistics_and_quota", json!({})).await;
    assert!(quota.ok()["disk_statistics_quota"]["bytes_quota"].is_string(), "{:?}", quota.body);

    // H4's separator (`,` without a space) is accepted too.
    let t = timestamp(0);
    let mut headers = h.signed_headers(&key, "user/get", b"{}", &t, &nonce());
    let auth = headers.last_mut().unwrap();
    auth.1 = auth.1.replace(", ", ",");
    h.send("user/get", &headers, b"{}".to_vec()).await.ok();

    // A replayed request (same nonce, same signature) is refused.
    let headers = h.signed_headers(&key, "user/get", b"{}", &t, &nonce());
    h.send("user/get", &headers, b"{}".to_vec()).await.ok();
    let msg = h.send("user/get", &headers, b"{}".to_vec()).await.err(401, 16).to_owned();
    assert!(msg.contains("nonce"), "{msg}");

    // A wrong signature: the body changed after signing.
    let headers = h.signed_headers(&key, "user/get", b"{}", &t, &nonce());
    h.send("user/get", &headers, b"{ }".to_vec()).await.err(401, 16);
    // Signed for another path.
    let headers = h.signed_headers(&key, "user/get_statistics_and_quota", b"{}", &t, &nonce());
    h.send("user/get", &headers, b"{}".to_vec()).await.err(401, 16);
    // Wrong secret.
    let mut wrong = key.clone();
    wrong.secret.push('x');
    h.call(&wrong, "user/get", json!({})).await.err(401, 16);
    // Unknown client.
    wrong = key.clone();
    wrong.id = "stranger".to_owned();
    let msg = h.call(&wrong, "user/get", json!({})).await.err(401, 16).to_owned();
    assert!(msg.contains("client_id"), "{msg}");
    // A stale and a future timestamp (beyond ±15 min), correctly signed.
    for offset in [-16 * 60, 16 * 60] {
        let headers = h.signed_headers(&key, "user/get", b"{}", &timestamp(offset), &nonce());
        let msg = h.send("user/get", &headers, b"{}".to_vec()).await.err(401, 16).to_owned();
        assert!(msg.contains("x-hl-timestamp"), "{msg}");
    }
    // ... within the window is fine.
    let headers = h.signed_headers(&key, "user/get", b"{}", &timestamp(-10 * 60), &nonce());
    h.send("user/get", &headers, b"{}".to_vec()).await.ok();
    // The personal key signs with the empty token only, and cannot use the OAuth routes.
    let mut with_token = key.clone();
    with_token.token = "abc".to_owned();
    h.call(&with_token, "user/get", json!({})).await.err(401, 16);
    h.call(&key, "oauth/device_code", json!({ "client_id": key.id })).await.err(401, 16);
    // H4's `*` placeholder token is refused.
    with_token.token = "*".to_owned();
    h.call(&with_token, "user/get", json!({})).await.err(401, 16);

    // Headers left out of SignedHeaders: no x-hl-nonce, no content-type with a body.
    let sign_only = |skip: &str| {
        let headers: Vec<(&str, String)> = h.signed_headers(&key, "user/get", b"{}", &timestamp(0), &nonce());
        let kept: Vec<(&str, String)> = headers[..headers.len() - 1].iter().filter(|(n, _)| *n != skip).cloned().collect();
        let (_, _, auth) = sign(&ToSign {
            client_id: &key.id,
            secret: &key.secret,
            token: "",
            path: "/halalcloud/v6/user/get",
            headers: &kept,
            timestamp: &headers.iter().find(|(n, _)| *n == "x-hl-timestamp").unwrap().1,
            body: b"{}",
        });
        let mut all = headers[..headers.len() - 1].to_vec();
        all.push(("authorization", auth));
        all
    };
    for skip in ["x-hl-nonce", "content-type", "host", "x-hl-timestamp"] {
        let msg = h.send("user/get", &sign_only(skip), b"{}".to_vec()).await.err(401, 16).to_owned();
        assert!(msg.contains(skip), "{skip}: {msg}");
    }
    // other-header is optional.
    h.send("user/get", &sign_only("other-header"), b"{}".to_vec()).await.ok();
    // No Authorization at all.
    h.send("user/get", &[], b"{}".to_vec()).await.err(401, 16);

    // The scope date must be the timestamp's date.
    let t = timestamp(0);
    let mut headers = h.signed_headers(&key, "user/get", b"{}", &t, &nonce());
    let auth = headers.last_mut().unwrap();
    auth.1 = auth.1.replace(&format!("/{}/", &t[..10]), "/2001-01-01/");
    h.send("user/get", &headers, b"{}".to_vec()).await.err(401, 16);

    // Every refusal was counted on the route, before the signature check.
    assert!(
        h.admin("stats").await["routes"]["halalcloud/user/get"]["requests"]
            .as_u64()
            .unwrap()
            >= 20
    );
}

#[tokio::test]
async fn int64_fields_must_be_json_strings() {
    let h = Halal::start().await;
    let key = h.personal();
    let r = h
        .call(&key, "userfile/create_upload_task", json!({ "path": "/a.bin", "size": 5 }))
        .await;
    let msg = r.err(400, 3).to_owned();
    assert!(msg.contains("size"), "{msg}");
    let r = h
        .call(
            &key,
            "userfile/list",
            json!({ "parent": { "path": "/" }, "list_info": { "limit": 10 } }),
        )
        .await;
    r.err(400, 3);
    let r = h
        .call(&key, "userfile/create_upload_task", json!({ "path": "/a.bin", "size": "5" }))
        .await;
    let task = r.ok();
    assert_eq!(task["block_size"], "4194304");
    assert_eq!(
        (task["block_hash_type"].as_i64(), task["block_codec"].as_i64()),
        (Some(18), Some(85))
    );
    assert!(task.get("created").is_none(), "false is omitted: {task:?}");
    // A body that is not JSON, or not sent as JSON.
    let body = b"{}".to_vec();
    let mut headers = h.signed_headers(&key, "user/get", &body, &timestamp(0), &nonce());
    headers[0].1 = "text/plain".to_owned();
    let resigned = {
        let t = headers.iter().find(|(n, _)| *n == "x-hl-timestamp").unwrap().1.clone();
        let mut kept: Vec<(&str, String)> = headers[..headers.len() - 1].to_vec();
        let (_, _, auth) = sign(&ToSign {
            client_id: &key.id,
            secret: &key.secret,
            token: "",
            path: "/halalcloud/v6/user/get",
            headers: &kept,
            timestamp: &t,
            body: &body,
        });
        kept.push(("authorization", auth));
        kept
    };
    h.send("user/get", &resigned, body).await.err(400, 3);
    let raw = b"{nope".to_vec();
    let headers = h.signed_headers(&key, "user/get", &raw, &timestamp(0), &nonce());
    h.send("user/get", &headers, raw).await.err(400, 3);
}

#[tokio::test]
async fn device_code_flow_refresh_rotation_and_expiry() {
    let h = Halal::start().await;
    let app = h.app("");
    let code = h.call(&app, "oauth/device_code", json!({ "client_id": app.id })).await;
    let code = code.ok().clone();
    assert_eq!(code["verification_uri"], format!("{}/halalcloud/device", h.base));
    assert_eq!(code["expires_in"], 600);
    assert!(code.get("interval").is_none(), "interval 0 is omitted: {code:?}");
    assert!(code["expires_in_ts"].is_string());
    // The body's client_id must be the signer's.
    h.call(&app, "oauth/device_code", json!({ "client_id": "demo" })).await.err(400, 3);
    // The app key cannot call the API without a token.
    h.call(&app, "user/get", json!({})).await.err(401, 16);

    let poll = || h.call(&app, "oauth/get_device_code_state", json!({ "device_code": code["device_code"] }));
    assert_eq!(poll().await.ok()["status"], "AUTHORIZATION_PENDING");
    assert_eq!(h.approve("WRNG-CODE").await, StatusCode::NOT_FOUND);
    // The human page approves too (lower case, no dash).
    let page = h.http.get(format!("{}/halalcloud/device", h.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form"));
    let typed = code["user_code"].as_str().unwrap().replace('-', "").to_lowercase();
    let done = h
        .http
        .post(format!("{}/halalcloud/device", h.base))
        .form(&[("user_code", typed)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let state = poll().await;
    let state = state.ok();
    assert_eq!(state["status"], "AUTHORIZATION_SUCCESS");
    assert_eq!(state["expires_in"], 7200);
    let (access, refresh) = (state["access_token"].as_str().unwrap(), state["refresh_token"].as_str().unwrap());
    // The code is used up.
    poll().await.err(404, 5);

    h.call(&h.app(access), "user/get", json!({})).await.ok();
    h.call(&h.app("0123"), "user/get", json!({})).await.err(401, 16);
    // The access token belongs to the app key only.
    let mut personal = h.personal();
    personal.token = access.to_owned();
    h.call(&personal, "user/get", json!({})).await.err(401, 16);

    // Refresh (signed with the old access token, as the SDK does) rotates both tokens.
    let body = json!({ "refresh_token": refresh, "grant_type": "refresh_token", "client_id": app.id });
    let fresh = h.call(&h.app(access), "oauth/refresh_token", body.clone()).await;
    let fresh = fresh.ok().clone();
    assert_eq!(fresh["token_type"], "Bearer");
    let (access2, refresh2) = (fresh["access_token"].as_str().unwrap(), fresh["refresh_token"].as_str().unwrap());
    assert_ne!((access2, refresh2), (access, refresh));
    h.call(&h.app(access), "user/get", json!({})).await.err(401, 16);
    h.call(&h.app(access2), "user/get", json!({})).await.ok();
    h.call(&h.app(access2), "oauth/refresh_token", body).await.err(401, 16);
    let body = json!({ "refresh_token": refresh2, "grant_type": "authorization_code", "client_id": app.id });
    h.call(&h.app(""), "oauth/refresh_token", body).await.err(400, 3);
    let body = json!({ "refresh_token": refresh2, "grant_type": "refresh_token", "client_id": app.id });
    h.call(&h.app(""), "oauth/refresh_token", body).await.ok();
}

#[tokio::test]
async fn expired_access_tokens_and_fast_polling_are_refused() {
    let h = Halal::start_with(|c| c.access_token_lifetime = Duration::ZERO).await;
    let (access, refresh) = h.device_login().await;
    let msg = h.call(&h.app(&access), "user/get", json!({})).await.err(401, 16).to_owned();
    assert!(msg.contains("expired"), "{msg}");
    // Refreshing with the expired token in the scope still works.
    let body = json!({ "refresh_token": refresh, "grant_type": "refresh_token", "client_id": h.config.app_client_id });
    h.call(&h.app(&access), "oauth/refresh_token", body).await.ok();

    let h = Halal::start_with(|c| c.device_poll_interval_secs = 5).await;
    let app = h.app("");
    let code = h.call(&app, "oauth/device_code", json!({ "client_id": app.id })).await;
    assert_eq!(code.ok()["interval"], 5);
    let r = h
        .call(
            &app,
            "oauth/get_device_code_state",
            json!({ "device_code": code.body["device_code"] }),
        )
        .await;
    r.err(429, 8);
}
