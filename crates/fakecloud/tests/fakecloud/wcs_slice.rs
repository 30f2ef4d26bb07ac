//! The WCS slice upload: blocks, chunks, ctx checks, mkfile assembly and the token checks.

use serde_json::{Value, json};

use crate::sixpan::{BLOCK, MIB, Six, bytes, check_chunk, deadline_in, etag, md5_hex, wcs_token};

/// A token without callback whose scope pins `key` (or bucket-only when `key` is empty).
fn plain_token(six: &Six, key: &str, extra: Value) -> String {
    let scope = if key.is_empty() {
        "other-storage".to_owned()
    } else {
        format!("other-storage:{key}")
    };
    let mut policy = json!({ "scope": scope, "deadline": deadline_in(600) });
    if let (Some(p), Some(e)) = (policy.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    wcs_token(&six.config, &policy)
}

#[tokio::test]
async fn parallel_blocks_with_a_short_last_block_through_6pan() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    let data = bytes(2 * BLOCK + 777_777, 10);
    let hash = etag(&data);
    let r = six
        .call(
            &mut s,
            "/v2/upload/token",
            json!({ "path": "/lol-test", "name": "test.bin", "hash": hash }),
        )
        .await;
    let info = r.ok()["uploadInfo"].clone();
    assert_eq!(info["type"], "WCS/Splite");
    assert_eq!(info["filePath"], "${UPLOAD_TIME_RND}");
    let host = info["uploadUrl"].as_str().unwrap();
    let token = info["uploadToken"].as_str().unwrap();

    let done = six.slice_upload(host, token, &data, MIB).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["hash"], hash);
    let response: Value = serde_json::from_str(done.body["response"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            response["status"].as_i64(),
            response["success"].as_bool(),
            response["code"].as_str()
        ),
        (Some(0), Some(true), Some("OK"))
    );
    assert_eq!(response["result"]["path"], "/lol-test/test.bin");
    assert_eq!(response["result"]["hash"], hash);
    assert_eq!(response["result"]["mime"], "application/octet-stream");

    // The callback really created the file: it is listed by 6pan and by the admin view.
    let page = six
        .call(&mut s, "/v2/files/page", json!({ "path": "/lol-test" }))
        .await
        .ok()
        .clone();
    assert_eq!(page["list"][0]["identity"], response["result"]["identity"]);
    let files = six.files().await;
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0],
        json!({ "provider": "6pan", "path": "/lol-test/test.bin", "size": data.len(), "md5": md5_hex(&data), "etag": hash })
    );

    let stats = six.admin("stats").await;
    let batches = stats["wcs_blocks"].as_object().unwrap();
    assert_eq!(batches.len(), 1);
    let blocks = batches.values().next().unwrap();
    assert_eq!(blocks["0"], json!({ "mkblk": 1, "bput": 3 }));
    assert_eq!(blocks["2"], json!({ "mkblk": 1, "bput": 0 }));
    assert_eq!(stats["routes"]["wcs/mkblk"]["requests"], 3);
    let received = stats["routes"]["wcs/mkblk"]["bytes"].as_u64().unwrap() + stats["routes"]["wcs/bput"]["bytes"].as_u64().unwrap();
    assert_eq!(received, data.len() as u64);
}

#[tokio::test]
async fn block_boundaries_and_published_etags() {
    let six = Six::start().await;
    let cases: [(Vec<u8>, usize, &str); 4] = [
        (vec![0; BLOCK], MIB, "FivMvS848VwT631aif2dhfWV4jvD"),
        (vec![0; BLOCK + 1], MIB, "lhCFgki5yzon0rjN9uJusf6qtsF6"),
        (vec![0; BLOCK - 1], BLOCK, "FojtiN9WHTdzhzAV4wrBC76RaWV0"),
        (
            (0..10 * MIB).map(|i| (i % 251) as u8).collect(),
            BLOCK,
            "lpWW94Kd7uuN_TCTi_xpbr4WtvSz",
        ),
    ];
    for (i, (data, chunk, expected)) in cases.iter().enumerate() {
        let token = plain_token(&six, &format!("bounds/{i}"), json!({}));
        let done = six.slice_upload(&six.wcs(), &token, data, *chunk).await;
        assert_eq!(done.status, 200, "{:?}", done.body);
        assert_eq!(done.body, json!({ "hash": expected, "key": format!("bounds/{i}") }));
    }
}

#[tokio::test]
async fn empty_file_is_one_empty_block() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    let r = six
        .call(&mut s, "/v2/upload/token", json!({ "path": "/e", "name": "empty.txt" }))
        .await;
    let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    let done = six.slice_upload(&six.wcs(), &token, &[], MIB).await;
    assert_eq!(done.body["hash"], "Fto5o-5ea0sNMlW_75VgGJCv2AcJ", "{:?}", done.body);
    let files = six.files().await;
    assert_eq!(
        (files[0]["path"].as_str(), files[0]["size"].as_u64()),
        (Some("/e/empty.txt"), Some(0))
    );
    // A slice upload carries no file name; the MIME type comes from the 6pan name.
    let page = six.call(&mut s, "/v2/files/page", json!({ "path": "/e" })).await.ok().clone();
    assert_eq!(page["list"][0]["mime"], "text/plain");
    // A non-empty block may not be empty, and an empty block only stands for the empty file.
    let token = plain_token(&six, "", json!({}));
    six.mkblk(&six.wcs(), &token, "b", 10, 0, &[]).await.wcs_err(400);
    let r = six.mkblk(&six.wcs(), &token, "b", 0, 1, &[]).await;
    let ctx = r.body["ctx"].as_str().unwrap().to_owned();
    let full = six.block(&six.wcs(), &token, "b", &vec![1; BLOCK], 0, BLOCK).await;
    six.mkfile(&six.wcs(), &token, "b", BLOCK, "", &[full, ctx]).await.wcs_err(412);
}

#[tokio::test]
async fn chunk_replies_and_resent_chunks() {
    let six = Six::start().await;
    let token = plain_token(&six, "chunks", json!({}));
    let host = six.wcs();
    let r = six.mkblk(&host, &token, "batch", 3, 0, b"a").await;
    check_chunk(&r, b"a", 1);
    assert_eq!(
        (r.body["crc32"].as_u64(), r.body["checksum"].as_str()),
        (Some(3_904_355_907), Some("0cc175b9c0f1b6a831c399e269772661"))
    );
    let ctx = r.body["ctx"].as_str().unwrap().to_owned();
    // A re-sent chunk (lost reply) replaces itself and answers the same.
    let first = six.bput(&host, &token, "batch", &ctx, 1, b"b").await;
    let again = six.bput(&host, &token, "batch", &ctx, 1, b"b").await;
    check_chunk(&again, b"b", 2);
    assert_eq!(first.body["ctx"], again.body["ctx"]);
    let last = six.bput(&host, &token, "batch", again.body["ctx"].as_str().unwrap(), 2, b"c").await;
    check_chunk(&last, b"c", 3);
    // The block is complete: no more chunks.
    six.bput(&host, &token, "batch", last.body["ctx"].as_str().unwrap(), 3, b"d")
        .await
        .wcs_err(400);
    let done = six
        .mkfile(&host, &token, "batch", 3, "", &[last.body["ctx"].as_str().unwrap().to_owned()])
        .await;
    assert_eq!(done.body["hash"], etag(b"abc"));
    // A repeated mkfile (lost reply) answers again.
    let repeated = six
        .mkfile(&host, &token, "batch", 3, "", &[last.body["ctx"].as_str().unwrap().to_owned()])
        .await;
    assert_eq!(repeated.body, done.body);
}

#[tokio::test]
async fn bad_ctx_is_701_and_bad_layout_is_412() {
    let six = Six::start().await;
    let token = plain_token(&six, "", json!({}));
    let host = six.wcs();
    let r = six.mkblk(&host, &token, "batch", 10, 0, b"01234").await;
    let ctx = r.body["ctx"].as_str().unwrap().to_owned();

    let mut forged: Vec<char> = ctx.chars().collect();
    forged[20] = if forged[20] == 'x' { 'y' } else { 'x' };
    let forged: String = forged.into_iter().collect();
    six.bput(&host, &token, "batch", &forged, 5, b"56789").await.wcs_err(701);
    six.bput(&host, &token, "batch", "not-a-ctx", 5, b"56789").await.wcs_err(701);
    six.bput(&host, &token, "batch", &ctx, 4, b"56789").await.wcs_err(701);
    six.bput(&host, &token, "other-batch", &ctx, 5, b"56789").await.wcs_err(701);
    six.bput(&host, &token, "batch", &ctx, 5, b"56789-too-long").await.wcs_err(400);
    // An incomplete block, then a forged ctx, at mkfile.
    six.mkfile(&host, &token, "batch", 10, "", std::slice::from_ref(&ctx))
        .await
        .wcs_err(412);
    six.mkfile(&host, &token, "batch", 10, "", &[forged]).await.wcs_err(701);
    let done = six.bput(&host, &token, "batch", &ctx, 5, b"56789").await;
    let last = done.body["ctx"].as_str().unwrap().to_owned();
    six.mkfile(&host, &token, "batch", 11, "", std::slice::from_ref(&last))
        .await
        .wcs_err(412);
    six.mkfile(&host, &token, "other-batch", 10, "", std::slice::from_ref(&last))
        .await
        .wcs_err(701);

    // Blocks out of order, and a short block that is not the last.
    let data = bytes(BLOCK + 10, 11);
    let c0 = six.block(&host, &token, "two", &data, 0, 2 * MIB).await;
    let c1 = six.block(&host, &token, "two", &data, 1, MIB).await;
    six.mkfile(&host, &token, "two", data.len(), "", &[c1.clone(), c0.clone()])
        .await
        .wcs_err(412);
    let short = six.mkblk(&host, &token, "two", 10, 0, &data[..10]).await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    six.mkfile(&host, &token, "two", 20, "", &[short, c1.clone()]).await.wcs_err(412);
    // A ctx that a later re-sent chunk made stale no longer matches the stored bytes.
    let fork = six.mkblk(&host, &token, "fork", 2, 0, b"x").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = six.bput(&host, &token, "fork", &fork, 1, b"a").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    six.bput(&host, &token, "fork", &fork, 1, b"b").await;
    six.mkfile(&host, &token, "fork", 2, "", &[a]).await.wcs_err(701);
    // And the good order works.
    let done = six.mkfile(&host, &token, "two", data.len(), "", &[c0, c1]).await;
    assert_eq!(done.body["hash"], etag(&data));
    assert_eq!(done.body["key"], etag(&data), "without any key the etag is the key");
}

#[tokio::test]
async fn token_checks_on_every_request() {
    let six = Six::start().await;
    let host = six.wcs();
    let expired = wcs_token(&six.config, &json!({ "scope": "other-storage", "deadline": deadline_in(-1) }));
    six.mkblk(&host, &expired, "b", 1, 0, b"x").await.wcs_err(401);
    let r = six.http.post(format!("{host}/mkblk/1/0")).body("x").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let wrong_bucket = wcs_token(&six.config, &json!({ "scope": "nope", "deadline": deadline_in(60) }));
    six.mkblk(&host, &wrong_bucket, "b", 1, 0, b"x").await.wcs_err(631);
    let mut other = six.config.clone();
    other.secret_key = "another-secret".into();
    let unsigned = wcs_token(&other, &json!({ "scope": "other-storage", "deadline": deadline_in(60) }));
    six.mkblk(&host, &unsigned, "b", 1, 0, b"x").await.wcs_err(401);

    // `UpToken <token>` is accepted as well.
    let token = plain_token(&six, "", json!({ "fsizeLimit": 100 }));
    let r = six
        .http
        .post(format!("{host}/mkblk/5/0"))
        .header("Authorization", format!("UpToken {token}"))
        .body("12345")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // fsizeLimit: at mkblk (block beyond the limit), at mkfile (fileSize) and in form uploads.
    six.mkblk(&host, &token, "b", 101, 0, &[0; 101]).await.wcs_err(401);
    let ctx = six.mkblk(&host, &token, "b", 100, 0, &[0; 100]).await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    six.mkfile(&host, &token, "b", 101, "", &[ctx]).await.wcs_err(401);
    six.form_upload(&format!("{host}/file/upload"), &token, &[0; 101], "f", false)
        .await
        .wcs_err(401);
    // Block size limits.
    six.mkblk(&host, &token, "b", BLOCK + 1, 0, b"x").await.wcs_err(400);
    six.mkblk(&host, &token, "b", 3, 0, b"xxxx").await.wcs_err(400);
}

#[tokio::test]
async fn fsize_limit_from_the_6pan_config() {
    let six = Six::start_with(|c| c.fsize_limit = 1000).await;
    let mut s = six.login(true).await;
    let r = six.call(&mut s, "/v2/upload/token", json!({ "path": "/", "name": "big" })).await;
    let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    six.mkblk(&six.wcs(), &token, "b", 1001, 0, &bytes(1001, 1)).await.wcs_err(401);
    assert_eq!(six.slice_upload(&six.wcs(), &token, &bytes(1000, 1), MIB).await.status, 200);
}

#[tokio::test]
async fn expired_6pan_upload_token_is_401() {
    let six = Six::start_with(|c| c.upload_token_lifetime = std::time::Duration::from_millis(500)).await;
    let mut s = six.login(true).await;
    let r = six.call(&mut s, "/v2/upload/token", json!({ "path": "/", "name": "late" })).await;
    let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    let ctx = six.mkblk(&six.wcs(), &token, "b", 1, 0, b"x").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let r = six.mkfile(&six.wcs(), &token, "b", 1, "", &[ctx]).await;
    r.wcs_err(401);
    assert!(r.body["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn overwrite_0_and_an_existing_key_is_406() {
    let six = Six::start().await;
    let host = six.wcs();
    let token = plain_token(&six, "fixed/key.bin", json!({ "overwrite": 0 }));
    assert_eq!(six.slice_upload(&host, &token, b"first", MIB).await.status, 200);
    six.slice_upload(&host, &token, b"second", MIB).await.wcs_err(406);
    six.form_upload(&format!("{host}/file/upload"), &token, b"third", "t", false)
        .await
        .wcs_err(406);
    let token = plain_token(&six, "fixed/key.bin", json!({ "overwrite": 1 }));
    let done = six.slice_upload(&host, &token, b"second", MIB).await;
    assert_eq!(done.body, json!({ "hash": etag(b"second"), "key": "fixed/key.bin" }));
    // The policy key wins over a Key header and a path key.
    let token = plain_token(&six, "policy/key", json!({}));
    let ctx = six.mkblk(&host, &token, "k", 1, 0, b"k").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    let path_key = format!(
        "/key/{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, "client/key")
    );
    assert_eq!(six.mkfile(&host, &token, "k", 1, &path_key, &[ctx]).await.body["key"], "policy/key");
    // Without a scope key the client's key is used.
    let token = plain_token(&six, "", json!({ "returnBody": "k=$(key)&size=$(fsize)&x=$(x:note)" }));
    let ctx = six.mkblk(&host, &token, "k", 1, 0, b"k").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    let note = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, "hi");
    let done = six
        .mkfile(&host, &token, "k", 1, &format!("{path_key}/x:note/{note}"), &[ctx])
        .await;
    assert_eq!(
        done.body,
        json!({ "k": "client/key", "size": "1", "x": "hi", "key": "client/key", "hash": etag(b"k") })
    );
}

#[tokio::test]
async fn wcs_faults_answer_in_the_wcs_shape() {
    let six = Six::start().await;
    let token = plain_token(&six, "", json!({}));
    let host = six.wcs();
    six.add_faults(json!([
        { "route": "wcs/bput", "action": { "kind": "code", "code": 701, "message": "ctx verification failed" } },
        { "route": "wcs/mkblk", "action": { "kind": "pending" } },
        { "route": "wcs/mkfile", "action": { "kind": "expired_token" } }
    ]))
    .await;
    six.mkblk(&host, &token, "f", 2, 0, b"a").await.wcs_err(599);
    let ctx = six.mkblk(&host, &token, "f", 2, 0, b"a").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = six.bput(&host, &token, "f", &ctx, 1, b"b").await;
    r.wcs_err(701);
    assert_eq!(r.body["message"], "ctx verification failed");
    let last = six.bput(&host, &token, "f", &ctx, 1, b"b").await.body["ctx"]
        .as_str()
        .unwrap()
        .to_owned();
    six.mkfile(&host, &token, "f", 2, "", std::slice::from_ref(&last))
        .await
        .wcs_err(401);
    assert_eq!(six.mkfile(&host, &token, "f", 2, "", &[last]).await.status, 200);
    // A WCS code must be a valid status.
    let r = six
        .http
        .post(format!("{}/_admin/faults", six.base))
        .json(&json!({ "route": "wcs/bput", "action": { "kind": "code", "code": "SLOW" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
