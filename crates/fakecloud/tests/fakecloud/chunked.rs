//! The chunked flow: create, slices, upload_complete; instant reuse; duplicate policies; containDir.

use serde_json::{Value, json};

use crate::harness::{Harness, TEST_SLICE, bytes, md5_hex};

fn admin_entry<'a>(files: &'a [Value], path: &str) -> &'a Value {
    files
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {files:?}"))
}

#[tokio::test]
async fn slices_out_of_order_repeated_and_short_last() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(3500, 1); // slices of 1000, 1000, 1000, 500
    let created = h.create(&token, 0, "movie.mp4", &data, json!({})).await;
    let d = created.ok().clone();
    assert_eq!(d["fileID"], 0);
    assert_eq!(d["reuse"], false);
    assert_eq!(d["sliceSize"], TEST_SLICE);
    assert_eq!(d["servers"], json!([h.api()]));
    let id = d["preuploadID"].as_str().unwrap();
    assert!(id.len() >= 64, "{id}");
    let server = d["servers"][0].as_str().unwrap();

    for no in [3, 1, 4, 2, 1] {
        h.slice_of(server, &token, id, &data, TEST_SLICE, no).await.ok();
    }
    let done = h.complete(&token, id).await;
    let d = done.ok();
    assert_eq!(d["completed"], true);
    let file_id = d["fileID"].as_i64().unwrap();
    assert!(file_id > 0);

    // Completing again is idempotent.
    assert_eq!(h.complete(&token, id).await.ok()["fileID"], file_id);

    let files = h.admin_files().await;
    let f = admin_entry(&files, "/movie.mp4");
    assert_eq!(f["provider"], "123pan");
    assert_eq!(f["size"], 3500);
    assert_eq!(f["md5"], md5_hex(&data));
    assert!(f["etag"].is_null());
    // The stored blob really holds the bytes.
    let blob = std::fs::read(h.dir.path().join("blobs").join(md5_hex(&data))).unwrap();
    assert_eq!(blob, data);

    let stats = h.stats().await;
    assert_eq!(stats["slices"][id]["1"], 2);
    assert_eq!(stats["slices"][id]["4"], 1);
    assert_eq!(stats["routes"]["123pan/slice"]["requests"], 5);
    assert_eq!(stats["routes"]["123pan/slice"]["bytes"], 4500);

    let listed = h.list(&token, "parentFileId=0&limit=100").await;
    let entry = listed.ok()["fileList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fileId"] == file_id)
        .cloned()
        .unwrap();
    assert_eq!(entry["filename"], "movie.mp4");
    assert_eq!(entry["type"], 0);
    assert_eq!(entry["size"], 3500);
    assert_eq!(entry["etag"], md5_hex(&data));
    assert_eq!(entry["parentFileId"], 0);
    assert_eq!(entry["trashed"], 0);
}

#[tokio::test]
async fn bad_slices_are_rejected() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(2500, 2);
    let created = h.create(&token, 0, "a.bin", &data, json!({})).await;
    let d = created.ok().clone();
    let id = d["preuploadID"].as_str().unwrap();
    let server = d["servers"][0].as_str().unwrap();

    // Wrong MD5.
    let part = data[..1000].to_vec();
    let a = h.send_slice(server, &token, id, 1, &md5_hex(b"other"), part.clone()).await;
    assert!(a.err(1).contains("MD5"), "{}", a.message());
    // Upper-case MD5 is fine.
    h.send_slice(server, &token, id, 1, &md5_hex(&part).to_uppercase(), part.clone())
        .await
        .ok();
    // Wrong length (slice 1 must be exactly sliceSize; the last one exactly the remainder).
    let short = data[..999].to_vec();
    let a = h.send_slice(server, &token, id, 2, &md5_hex(&short), short).await;
    assert!(a.err(1).contains("大小"), "{}", a.message());
    let long = data[2000..].iter().chain(b"x").copied().collect::<Vec<u8>>();
    let a = h.send_slice(server, &token, id, 3, &md5_hex(&long), long).await;
    a.err(1);
    // Out of range.
    for no in [0, 4] {
        let a = h.send_slice(server, &token, id, no, &md5_hex(&part), part.clone()).await;
        assert!(a.err(1).contains("sliceNo"), "{}", a.message());
    }
    // Unknown upload.
    let a = h.send_slice(server, &token, "nope", 1, &md5_hex(&part), part.clone()).await;
    assert!(a.err(1).contains("preuploadID"), "{}", a.message());

    // Missing slices are named at completion.
    let a = h.complete(&token, id).await;
    assert!(a.err(1).contains("2个分片"), "{}", a.message());
    h.slice_of(server, &token, id, &data, TEST_SLICE, 2).await.ok();
    h.slice_of(server, &token, id, &data, TEST_SLICE, 3).await.ok();
    h.complete(&token, id).await.ok();
}

#[tokio::test]
async fn wrong_whole_md5_fails_the_upload() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(1500, 3);
    let mut claimed = data.clone();
    claimed[1400] ^= 0xff;
    let created = h.create(&token, 0, "bad.bin", &claimed, json!({})).await;
    let d = created.ok().clone();
    let id = d["preuploadID"].as_str().unwrap();
    let server = d["servers"][0].as_str().unwrap();
    for no in [1, 2] {
        h.slice_of(server, &token, id, &data, TEST_SLICE, no).await.ok();
    }
    let a = h.complete(&token, id).await;
    assert_eq!(a.err(1), "文件上传失败");
    // The session is gone.
    let a = h.complete(&token, id).await;
    a.err(1);
    assert!(h.admin_files().await.is_empty());
}

#[tokio::test]
async fn instant_reuse() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(1200, 4);
    let first = h.upload(&token, 0, "one.bin", &data, json!({})).await;
    let again = h
        .create(&token, 0, "two.bin", &data, json!({ "etag": md5_hex(&data).to_uppercase() }))
        .await;
    let d = again.ok();
    assert_eq!(d["reuse"], true);
    let second = d["fileID"].as_i64().unwrap();
    assert!(second > 0 && second != first);
    assert!(d.get("preuploadID").is_none(), "{d}");
    let files = h.admin_files().await;
    assert_eq!(files.len(), 2);
    assert_eq!(admin_entry(&files, "/two.bin")["md5"], md5_hex(&data));
    // Same MD5 claimed with another size is not reused.
    let a = h
        .post(
            "/upload/v2/file/create",
            &token,
            json!({ "parentFileID": 0, "filename": "three.bin", "etag": md5_hex(&data), "size": 1201 }),
        )
        .await;
    assert_eq!(a.ok()["reuse"], false);
}

#[tokio::test]
async fn complete_can_ask_to_poll() {
    let h = Harness::start_with(|c| c.complete_pending_polls = 3).await;
    let token = h.token().await;
    let data = bytes(800, 5);
    let created = h.create(&token, 0, "poll.bin", &data, json!({})).await;
    let d = created.ok().clone();
    let id = d["preuploadID"].as_str().unwrap();
    h.slice_of(d["servers"][0].as_str().unwrap(), &token, id, &data, TEST_SLICE, 1)
        .await
        .ok();

    let a = h.complete(&token, id).await;
    assert_eq!(a.ok(), &json!({ "completed": false, "fileID": 0 }));
    let a = h.complete(&token, id).await;
    assert_eq!(a.err(20103), "文件正在校验中,请间隔1秒后再试");
    let a = h.complete(&token, id).await;
    assert_eq!(a.ok()["completed"], false);
    let a = h.complete(&token, id).await;
    let file_id = a.ok()["fileID"].as_i64().unwrap();
    assert_eq!(a.ok()["completed"], true);
    assert!(file_id > 0);
    assert_eq!(h.complete(&token, id).await.ok()["fileID"], file_id);
}

#[tokio::test]
async fn duplicate_policies() {
    let h = Harness::start().await;
    let token = h.token().await;
    let v1 = bytes(1100, 6);
    let v2 = bytes(1300, 7);
    let v3 = bytes(900, 8);
    let original = h.upload(&token, 0, "doc.txt", &v1, json!({})).await;

    // No policy: refused, both for instant reuse and for a real upload, and with an explicit 0.
    for (data, extra) in [(&v1, json!({})), (&v2, json!({})), (&v2, json!({ "duplicate": 0 }))] {
        let a = h.create(&token, 0, "doc.txt", data, extra).await;
        assert_eq!(a.err(1), "当前目录有重名文件");
    }
    let a = h.create(&token, 0, "doc.txt", &v2, json!({ "duplicate": 3 })).await;
    a.err(1);

    // Keep both.
    h.upload(&token, 0, "doc.txt", &v2, json!({ "duplicate": 1 })).await;
    h.upload(&token, 0, "doc.txt", &v1, json!({ "duplicate": 1 })).await; // via instant reuse
    let files = h.admin_files().await;
    assert_eq!(admin_entry(&files, "/doc(1).txt")["md5"], md5_hex(&v2));
    assert_eq!(admin_entry(&files, "/doc(2).txt")["md5"], md5_hex(&v1));

    // Overwrite: one doc.txt with the new content, under a new id.
    let replaced = h.upload(&token, 0, "doc.txt", &v3, json!({ "duplicate": 2 })).await;
    assert_ne!(replaced, original);
    let files = h.admin_files().await;
    assert_eq!(files.iter().filter(|f| f["path"] == "/doc.txt").count(), 1);
    assert_eq!(admin_entry(&files, "/doc.txt")["md5"], md5_hex(&v3));
    assert_eq!(admin_entry(&files, "/doc.txt")["size"], 900);
    assert_eq!(files.len(), 3);
}

#[tokio::test]
async fn contain_dir_creates_folders() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(1500, 9);
    h.upload(&token, 0, "/你好/123/测试文件.mp4", &data, json!({ "containDir": true }))
        .await;
    h.upload(&token, 0, "你好/other.bin", &bytes(10, 10), json!({ "containDir": true }))
        .await;
    let files = h.admin_files().await;
    assert_eq!(admin_entry(&files, "/你好/123/测试文件.mp4")["size"], 1500);
    admin_entry(&files, "/你好/other.bin");

    // Exactly one folder 你好 at the root, holding folder 123.
    let root = h.list(&token, "parentFileId=0&limit=100").await;
    let root = root.ok()["fileList"].as_array().unwrap().clone();
    let folders: Vec<&Value> = root.iter().filter(|e| e["type"] == 1).collect();
    assert_eq!(folders.len(), 1);
    assert_eq!(folders[0]["filename"], "你好");
    assert_eq!(folders[0]["etag"], "");
    let inner = h.list(&token, &format!("parentFileId={}&limit=100", folders[0]["fileId"])).await;
    let names: Vec<String> = inner.ok()["fileList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["filename"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["123", "other.bin"]);

    // Without containDir a slash is a forbidden character; with it, components still follow the rules.
    h.create(&token, 0, "a/b.txt", &data, json!({})).await.err(1);
    h.create(&token, 0, "a/b?.txt", &data, json!({ "containDir": true })).await.err(1);
    h.create(&token, 0, "a//b.txt", &data, json!({ "containDir": true })).await.err(1);
}

#[tokio::test]
async fn create_validates_its_input() {
    let h = Harness::start_with(|c| c.advertise_servers = false).await;
    let token = h.token().await;
    let data = bytes(100, 11);
    let long = "名".repeat(256);
    for bad in ["", "   ", "a:b", "a*b", "a|b", "a\"b", "a<b", "a>b", "a\\b", long.as_str()] {
        let a = h.create(&token, 0, bad, &data, json!({})).await;
        assert!(!a.err(1).is_empty(), "{bad:?}");
    }
    h.create(&token, 0, &"名".repeat(255), &data, json!({})).await.ok();
    h.create(&token, 0, "x", &data, json!({ "etag": "abc" })).await.err(1);
    h.create(&token, 0, "x", &data, json!({ "size": 0 })).await.err(1);
    let a = h.create(&token, 0, "x", &data, json!({ "size": 10_737_418_241u64 })).await;
    assert!(a.err(1).contains("10GB"), "{}", a.message());
    h.create(&token, 0, "x", &data, json!({ "size": 10_737_418_240u64 })).await.ok();
    let a = h.create(&token, 424242, "x", &data, json!({})).await;
    assert_eq!(a.err(1), "parentFileID不存在");
    h.post(
        "/upload/v2/file/create",
        &token,
        json!({ "filename": "x", "etag": md5_hex(&data), "size": 100 }),
    )
    .await
    .err(1);

    // servers may be empty: clients then use the domain endpoint.
    let a = h.create(&token, 0, "y", &data, json!({})).await;
    assert_eq!(a.ok()["servers"], json!([]));
    assert_eq!(h.get("/upload/v2/file/domain", &token).await.ok(), &json!([h.api()]));

    // JSON bodies must be declared as such.
    let resp = h
        .http
        .post(h.url("/upload/v2/file/create"))
        .header("Platform", "open_platform")
        .bearer_auth(&token)
        .body(json!({ "parentFileID": 0, "filename": "z", "etag": md5_hex(&data), "size": 100 }).to_string())
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 1, "{body}");
}

#[tokio::test]
async fn a_resent_slice_replaces_the_earlier_copy() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(2600, 12);
    let created = h.create(&token, 0, "fixed.bin", &data, json!({})).await;
    let d = created.ok().clone();
    let id = d["preuploadID"].as_str().unwrap();
    let server = d["servers"][0].as_str().unwrap();
    // Slice 1 first arrives with other (self-consistent) bytes and is hashed into the running digest...
    let wrong = bytes(1000, 99);
    h.send_slice(server, &token, id, 1, &md5_hex(&wrong), wrong).await.ok();
    h.slice_of(server, &token, id, &data, TEST_SLICE, 2).await.ok();
    // ...then the right bytes replace it; the digest must notice.
    h.slice_of(server, &token, id, &data, TEST_SLICE, 1).await.ok();
    h.slice_of(server, &token, id, &data, TEST_SLICE, 3).await.ok();
    h.complete(&token, id).await.ok();
    assert_eq!(h.admin_files().await[0]["md5"], md5_hex(&data));
}

#[tokio::test]
async fn parallel_slices() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(24_321, 13);
    let created = h.create(&token, 0, "parallel.bin", &data, json!({})).await;
    let d = created.ok().clone();
    let id = d["preuploadID"].as_str().unwrap();
    let server = d["servers"][0].as_str().unwrap();
    let count = data.len().div_ceil(TEST_SLICE as usize) as u32;
    // Highest numbers first, all at once.
    let sends = (1..=count).rev().map(|no| h.slice_of(server, &token, id, &data, TEST_SLICE, no));
    for answer in futures::future::join_all(sends).await {
        answer.ok();
    }
    let a = h.complete(&token, id).await;
    assert_eq!(a.ok()["completed"], true);
    let files = h.admin_files().await;
    assert_eq!(files[0]["md5"], md5_hex(&data));
    assert_eq!(files[0]["size"], 24_321);
}
