//! Torrent upload to the system folder, then offline download tasks (v1 and v2).

use serde_json::{Value, json};

use crate::sixpan::{MIB, Six, etag};

/// A small valid .torrent: a multi-file info dictionary, bencoded by hand.
fn torrent() -> Vec<u8> {
    fn s(text: &str) -> String {
        format!("{}:{text}", text.len())
    }
    let file = |len: u64, path: &[&str]| {
        format!(
            "d{}i{len}e{}l{}ee",
            s("length"),
            s("path"),
            path.iter().map(|p| s(p)).collect::<String>()
        )
    };
    let info = format!(
        "d{}l{}{}{}e{}{}{}i16384e{}{}e",
        s("files"),
        file(1000, &["a.mkv"]),
        file(20, &["sub", "b.srt"]),
        file(7, &["c.nfo"]),
        s("name"),
        s("幸运星"),
        s("piece length"),
        s("pieces"),
        s(&"P".repeat(20)),
    );
    format!("d{}{}{}{info}e", s("announce"), s("http://tracker.invalid/announce"), s("info")).into_bytes()
}

async fn upload_v1(six: &Six, s: &mut crate::sixpan::Session, data: &[u8], name: &str) -> Value {
    let r = six
        .call(
            s,
            "/v1/store/token",
            json!({ "path": ":torrent", "name": name, "hash": etag(data) }),
        )
        .await;
    let miss = r.ok().clone();
    let done = six
        .slice_upload(miss["uploadUrl"].as_str().unwrap(), miss["token"].as_str().unwrap(), data, MIB)
        .await;
    let response: Value = serde_json::from_str(done.body["response"].as_str().unwrap()).unwrap();
    response["result"].clone()
}

#[tokio::test]
async fn v1_parse_torrent_and_start() {
    let six = Six::start().await;
    let mut s = six.login(false).await;
    let data = torrent();
    let file = upload_v1(&six, &mut s, &data, "幸运星.torrent").await;
    assert_eq!(file["path"], "/:torrent/幸运星.torrent");
    assert!(
        six.files()
            .await
            .iter()
            .any(|f| f["path"] == "/:torrent/幸运星.torrent" && f["etag"] == etag(&data))
    );
    // Asking again with the hash is an instant hit answering a file object.
    let hit = six
        .call(
            &mut s,
            "/v1/store/token",
            json!({ "path": ":torrent", "name": "again.torrent", "hash": etag(&data) }),
        )
        .await;
    assert_eq!(hit.ok()["parent"], ":torrent");

    let parsed = six
        .call(&mut s, "/v1/offline/parseTorrent", json!({ "uuid": file["uuid"] }))
        .await
        .ok()
        .clone();
    assert_eq!((parsed["name"].as_str(), parsed["server"].as_bool()), (Some("幸运星"), Some(false)));
    assert_eq!(
        parsed["files"],
        json!([{ "path": "a.mkv", "size": 1000, "order": 0 }, { "path": "sub/b.srt", "size": 20, "order": 1 }, { "path": "c.nfo", "size": 7, "order": 2 }])
    );
    let by_path = six
        .call(&mut s, "/v1/offline/parseTorrent", json!({ "path": "/:torrent/幸运星.torrent" }))
        .await;
    assert_eq!(by_path.ok()["taskHash"], parsed["taskHash"]);

    let task = six
        .call(
            &mut s,
            "/v1/offline/start",
            json!({ "taskHash": parsed["taskHash"], "copyFile": "0,2", "savePath": "/downloads" }),
        )
        .await
        .ok()
        .clone();
    assert_eq!(
        (task["name"].as_str(), task["savePath"].as_str(), task["type"].as_i64()),
        (Some("幸运星"), Some("/downloads"), Some(20))
    );
    let page = six
        .call(&mut s, "/v1/offline/page", json!({ "page": 1, "pageSize": 10 }))
        .await
        .ok()
        .clone();
    assert_eq!(page["list"][0]["taskId"], task["taskId"]);

    let tasks = six.admin("offline").await;
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    let t = &tasks[0];
    assert_eq!(
        (t["provider"].as_str(), t["api"].as_str(), t["name"].as_str()),
        (Some("6pan"), Some("v1"), Some("幸运星"))
    );
    assert_eq!(
        (t["save_path"].as_str(), t["torrent_etag"].as_str()),
        (Some("/downloads"), Some(etag(&data).as_str()))
    );
    assert_eq!(
        t["files"],
        json!([{ "path": "a.mkv", "size": 1000, "index": 0 }, { "path": "c.nfo", "size": 7, "index": 2 }])
    );

    // Errors.
    six.call(&mut s, "/v1/offline/start", json!({ "copyFile": "*" }))
        .await
        .err("TASK_HASH_REQUIRED");
    six.call(&mut s, "/v1/offline/start", json!({ "taskHash": "bm9wZQ" }))
        .await
        .err("TASK_HASH_NOT_VALID");
    six.call(
        &mut s,
        "/v1/offline/start",
        json!({ "taskHash": parsed["taskHash"], "copyFile": "3" }),
    )
    .await
    .err("COPY_FILE_NOT_VALID");
    let plain = upload_v1(&six, &mut s, b"not a torrent at all", "fake.torrent").await;
    six.call(&mut s, "/v1/offline/parseTorrent", json!({ "uuid": plain["uuid"] }))
        .await
        .err("UNSUPPORTED_FILE");
}

#[tokio::test]
async fn v2_parse_torrent_and_add() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    let data = torrent();
    let hash = etag(&data);
    let r = six
        .call(
            &mut s,
            "/v2/upload/token",
            json!({ "path": "/:torrent", "name": "t.torrent", "hash": hash }),
        )
        .await;
    let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    assert_eq!(six.slice_upload(&six.wcs(), &token, &data, MIB).await.status, 200);

    let parsed = six
        .call(&mut s, "/v2/offline/parseTorrent", json!({ "hash": [hash] }))
        .await
        .ok()
        .clone();
    let item = &parsed[0];
    assert_eq!((item["name"].as_str(), item["size"].as_u64()), (Some("幸运星"), Some(1027)));
    let files = item["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(
        (files[1]["name"].as_str(), files[1]["path"].as_str(), files[1]["fileIndex"].as_u64()),
        (Some("b.srt"), Some("sub/b.srt"), Some(1))
    );

    let added = six
        .call(
            &mut s,
            "/v2/offline/add",
            json!({ "path": "/dl", "task": [
            { "identity": item["identity"], "iginreFiles": [files[0]["pathIdentity"]] },
            { "identity": "bogus" }
        ] }),
        )
        .await
        .ok()
        .clone();
    assert_eq!(added, json!({ "success": 1, "count": 2 }));
    let page = six
        .call(&mut s, "/v2/offline/page", json!({ "page": 1, "pageSize": 10 }))
        .await
        .ok()
        .clone();
    assert_eq!(page["totalCount"], 1);

    let tasks = six.admin("offline").await;
    let t = &tasks[0];
    assert_eq!(
        (t["api"].as_str(), t["save_path"].as_str(), t["torrent_etag"].as_str()),
        (Some("v2"), Some("/dl"), Some(hash.as_str()))
    );
    assert_eq!(
        t["files"],
        json!([{ "path": "sub/b.srt", "size": 20, "index": 1 }, { "path": "c.nfo", "size": 7, "index": 2 }])
    );
    six.call(&mut s, "/v2/offline/parseTorrent", json!({ "hash": [] }))
        .await
        .err("HASH_REQUIRED");
    six.call(
        &mut s,
        "/v2/offline/parseTorrent",
        json!({ "hash": ["Fob35Df6paf84V0d3Lnq6uo3dme4"] }),
    )
    .await
    .err("FILE_NOT_FOUND_ON_STORE");
}
