//! Upload callbacks from the WCS host to 6pan, form uploads and instant uploads.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::sixpan::{BLOCK, MIB, Six, bytes, etag};

fn policy_of(token: &str) -> Value {
    let encoded = token.rsplit(':').next().unwrap();
    serde_json::from_slice(&URL_SAFE.decode(encoded).unwrap()).unwrap()
}

#[tokio::test]
async fn v1_upload_and_callback() {
    let six = Six::start().await;
    let mut s = six.login(false).await;
    let data = bytes(BLOCK + 5000, 20);
    let hash = etag(&data);
    let r = six
        .call(
            &mut s,
            "/v1/store/token",
            json!({ "path": "/v1dir", "name": "f.bin", "hash": hash }),
        )
        .await;
    let miss = r.ok().clone();
    let policy = policy_of(miss["token"].as_str().unwrap());
    assert!(
        policy["scope"].as_str().unwrap().starts_with("other-storage:user-upload/"),
        "{policy}"
    );
    assert!(policy["deadline"].is_string(), "deadline is ms as a string: {policy}");
    assert_eq!(policy["callbackUrl"], format!("{}/6pan/v1/store/callback/wcs", six.base));
    let body = policy["callbackBody"].as_str().unwrap();
    assert!(
        body.contains("size=$(fsize)&hash=$(hash)&key=$(key)") && body.contains("@qzyfilestart"),
        "{body}"
    );

    let done = six
        .slice_upload(miss["uploadUrl"].as_str().unwrap(), miss["token"].as_str().unwrap(), &data, 2 * MIB)
        .await;
    assert_eq!(done.body["hash"], hash);
    let response: Value = serde_json::from_str(done.body["response"].as_str().unwrap()).unwrap();
    assert_eq!(
        (response["status"].as_i64(), response["success"].as_bool()),
        (Some(200), Some(true)),
        "{response}"
    );
    let file = &response["result"];
    assert_eq!(
        (file["path"].as_str(), file["storeId"].as_str(), file["name"].as_str()),
        (Some("/v1dir/f.bin"), Some(hash.as_str()), Some("f.bin"))
    );
    let page = six.call(&mut s, "/v1/files/page", json!({ "path": "/v1dir" })).await.ok().clone();
    assert_eq!(page["list"][0]["uuid"], file["uuid"]);

    // Now the content is known: v1 and v2 token requests are instant uploads.
    let hit = six
        .call(
            &mut s,
            "/v1/store/token",
            json!({ "path": "/v1dir", "name": "copy.bin", "hash": hash }),
        )
        .await;
    assert_eq!(hit.ok()["storeId"], hash);
    let mut v2 = six.login(true).await;
    let hit = six
        .call(
            &mut v2,
            "/v2/upload/token",
            json!({ "path": "/v2dir", "name": "copy.bin", "hash": hash }),
        )
        .await;
    assert_eq!(hit.ok()["hashCached"], true);
    assert_eq!(six.files().await.len(), 3);
}

#[tokio::test]
async fn callback_failure_is_579_then_the_hash_is_an_instant_hit() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    for (i, action) in [json!({ "kind": "status", "status": 500 }), json!({ "kind": "reset" })]
        .into_iter()
        .enumerate()
    {
        let data = bytes(3000, 30 + i as u32);
        let hash = etag(&data);
        let r = six
            .call(
                &mut s,
                "/v2/upload/token",
                json!({ "path": "/cb", "name": format!("f{i}"), "hash": hash }),
            )
            .await;
        let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
        six.add_faults(json!([{ "route": "6pan/callback", "action": action }])).await;
        let done = six.slice_upload(&six.wcs(), &token, &data, MIB).await;
        done.wcs_err(579);
        assert!(six.files().await.iter().all(|f| f["path"] != format!("/cb/f{i}")));
        // The bytes are stored: asking again is an instant upload.
        let r = six
            .call(
                &mut s,
                "/v2/upload/token",
                json!({ "path": "/cb", "name": format!("f{i}"), "hash": hash }),
            )
            .await;
        let hit = r.ok().clone();
        assert_eq!(hit["hashCached"], true, "{hit}");
        assert_eq!(hit["file"]["path"], format!("/cb/f{i}"));
    }
    assert_eq!(six.admin("stats").await["routes"]["6pan/callback"]["requests"], 2);
}

#[tokio::test]
async fn callbacks_must_be_signed_and_are_idempotent() {
    let six = Six::start().await;
    for path in ["/6pan/v2/upload/wcsCallback", "/6pan/v1/store/callback/wcs"] {
        let r = six
            .http
            .post(format!("{}{path}", six.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("callbackBody=hash%3Dx")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "CALLBACK_UNAUTHORIZED");
    }
    // A repeated mkfile re-delivers the callback; the same file is answered, not a second one.
    let mut s = six.login(true).await;
    let r = six
        .call(&mut s, "/v2/upload/token", json!({ "path": "/", "name": "once.bin" }))
        .await;
    let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    let ctx = six.mkblk(&six.wcs(), &token, "b", 4, 0, b"once").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = six.mkfile(&six.wcs(), &token, "b", 4, "", std::slice::from_ref(&ctx)).await;
    let second = six.mkfile(&six.wcs(), &token, "b", 4, "", &[ctx]).await;
    let id = |r: &crate::sixpan::Reply| {
        serde_json::from_str::<Value>(r.body["response"].as_str().unwrap()).unwrap()["result"]["identity"].clone()
    };
    assert_eq!(id(&first), id(&second));
    assert_eq!(six.files().await.len(), 1);
}

#[tokio::test]
async fn name_clash_at_callback_time_is_in_the_response() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    let token_for = |r: crate::sixpan::Reply| r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    let a = token_for(six.call(&mut s, "/v2/upload/token", json!({ "path": "/c", "name": "same" })).await);
    let b = token_for(six.call(&mut s, "/v2/upload/token", json!({ "path": "/c", "name": "same" })).await);
    assert_eq!(six.slice_upload(&six.wcs(), &a, b"one", MIB).await.status, 200);
    let done = six.slice_upload(&six.wcs(), &b, b"two", MIB).await;
    assert_eq!(done.status, 200, "the callback itself was delivered");
    let response: Value = serde_json::from_str(done.body["response"].as_str().unwrap()).unwrap();
    assert_eq!(
        (response["success"].as_bool(), response["code"].as_str()),
        (Some(false), Some("FILE_ALREADY_EXISTS"))
    );
}

#[tokio::test]
async fn form_upload_of_a_small_file() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    let data = b"hello form upload".to_vec();
    for (i, file_first) in [false, true].into_iter().enumerate() {
        let dir = format!("/form{i}");
        let r = six.call(&mut s, "/v2/upload/token", json!({ "path": dir })).await;
        let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
        let answer = six
            .form_upload(&format!("{}/file/upload", six.wcs()), &token, &data, "hello.txt", file_first)
            .await;
        // The reply is the callback's answer itself: the 6pan envelope as raw JSON.
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["content-type"], "application/json");
        let file = answer.ok();
        assert_eq!(
            (file["path"].as_str(), file["hash"].as_str()),
            (Some(format!("{dir}/hello.txt").as_str()), Some(etag(&data).as_str()))
        );
        assert_eq!(file["mime"], "text/plain");
    }
}

#[tokio::test]
async fn v1_2018_style_form_upload_url() {
    let six = Six::start_with(|c| c.v1_form_upload_url = true).await;
    let mut s = six.login(false).await;
    let r = six.call(&mut s, "/v1/store/token", json!({ "name": "old.bin" })).await;
    let miss = r.ok().clone();
    let url = miss["uploadUrl"].as_str().unwrap();
    assert_eq!(url, format!("{}/file/upload", six.wcs()));
    let policy = policy_of(miss["token"].as_str().unwrap());
    assert_eq!(policy["scope"], "other-storage");
    assert!(policy["saveKey"].as_str().unwrap().starts_with("user-upload/"));
    let data = bytes(5000, 40);
    let answer = six
        .form_upload(url, miss["token"].as_str().unwrap(), &data, "local-name.bin", false)
        .await;
    let file = answer.ok();
    assert_eq!(
        (file["path"].as_str(), file["storeId"].as_str()),
        (Some("/old.bin"), Some(etag(&data).as_str()))
    );
    assert_eq!(answer.body["status"], 200);
}
