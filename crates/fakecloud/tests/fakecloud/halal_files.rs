//! HalalCloud: folders (one level per call), references and paged listings.

use serde_json::{Value, json};

use crate::halal::Halal;

#[tokio::test]
async fn folders_are_made_one_level_at_a_time() {
    let h = Halal::start().await;
    let key = h.personal();
    let a = h.mkdir("/a").await;
    assert_eq!(
        (a["path"].as_str(), a["name"].as_str(), a["dir"].as_bool()),
        (Some("/a"), Some("a"), Some(true))
    );
    assert!(a.get("size").is_none(), "zero size is omitted: {a:?}");
    assert!(a["create_ts"].is_string(), "int64 as a string: {a:?}");
    // {path, name} form.
    let b = h.call(&key, "userfile/create", json!({ "path": "/a", "name": "b" })).await;
    assert_eq!(b.ok()["path"], "/a/b");
    assert_eq!(b.body["parent"], a["identity"]);
    // A missing parent: 404, nothing created.
    let msg = h
        .call(&key, "userfile/create", json!({ "path": "/x/y" }))
        .await
        .err(404, 5)
        .to_owned();
    assert!(msg.contains("/x"), "{msg}");
    h.call(&key, "userfile/get", json!({ "path": "/x" })).await.err(404, 5);
    // An existing name: 409, for both forms.
    h.call(&key, "userfile/create", json!({ "path": "/a/b" })).await.err(409, 6);
    h.call(&key, "userfile/create", json!({ "path": "/a", "name": "b" }))
        .await
        .err(409, 6);
    // Non-canonical paths and bad names.
    for bad in [
        json!({ "path": "a" }),
        json!({ "path": "/a/" }),
        json!({ "path": "/a//c" }),
        json!({ "path": "/" }),
        json!({ "path": "/a", "name": "x/y" }),
        json!({}),
    ] {
        h.call(&key, "userfile/create", bad).await.err(400, 3);
    }

    // get by path and by identity; both or neither is 400; a missing one 404.
    let by_path = h.call(&key, "userfile/get", json!({ "path": "/a/b" })).await;
    let by_id = h.call(&key, "userfile/get", json!({ "identity": by_path.ok()["identity"] })).await;
    assert_eq!(by_id.ok(), by_path.ok());
    h.call(&key, "userfile/get", json!({ "path": "/a/b", "identity": "x" }))
        .await
        .err(400, 3);
    h.call(&key, "userfile/get", json!({})).await.err(400, 3);
    h.call(&key, "userfile/get", json!({ "identity": "nope" })).await.err(404, 5);
    let root = h.call(&key, "userfile/get", json!({ "path": "/" })).await;
    assert_eq!(root.ok()["dir"], true);
}

#[tokio::test]
async fn listings_are_paged_with_a_continuation_token() {
    let h = Halal::start().await;
    let key = h.personal();
    h.mkdir("/d").await;
    let names = ["e", "a", "c", "b", "d"];
    for n in names {
        h.mkdir(&format!("/d/{n}")).await;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut info = json!({ "limit": "2" });
        if let Some(t) = &token {
            info["token"] = json!(t);
        }
        let page = h
            .call(&key, "userfile/list", json!({ "parent": { "path": "/d" }, "list_info": info }))
            .await;
        let page = page.ok().clone();
        pages += 1;
        for f in page["files"].as_array().unwrap_or(&Vec::new()) {
            seen.push(f["name"].as_str().unwrap().to_owned());
        }
        assert!(page["list_info"].is_object(), "{page:?}");
        match page["list_info"].get("token").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
        // The token belongs to this folder.
        if pages == 1 {
            let other = h
                .call(
                    &key,
                    "userfile/list",
                    json!({ "parent": { "path": "/" }, "list_info": { "limit": "2", "token": token } }),
                )
                .await;
            other.err(400, 3);
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(pages, 3);
    // An empty folder: no files, empty list_info.
    let empty = h.call(&key, "userfile/list", json!({ "parent": { "path": "/d/a" } })).await;
    assert_eq!(empty.ok(), &json!({ "list_info": {} }));
    // Limits above 100, a missing parent, a file as parent.
    h.call(
        &key,
        "userfile/list",
        json!({ "parent": { "path": "/d" }, "list_info": { "limit": "101" } }),
    )
    .await
    .err(400, 3);
    h.call(&key, "userfile/list", json!({ "parent": { "path": "/nope" } }))
        .await
        .err(404, 5);
    h.call(&key, "userfile/list", json!({})).await.err(400, 3);
}

#[tokio::test]
async fn files_tasks_and_tokens_survive_a_restart() {
    let mut h = Halal::start_with(|c| c.block_size = 1000).await;
    let (access, _) = h.device_login().await;
    h.mkdir("/keep").await;
    let data = crate::halal::bytes(1500, 9);
    let (done, _) = h.upload("/keep/a.bin", &data).await;
    let t = h.create_task("/keep/b.bin", 10).await;
    h.restart().await;
    // A new port: the upload address of the old task is stale, the task itself is not.
    let address = h.cloud().halalcloud_upload_url();
    let block = crate::halal::bytes(10, 1);
    let c = crate::halal::cid(&block);
    assert_eq!(h.probe(&address, t["task"].as_str().unwrap(), &c).await.ok(), &json!(false));
    let file = h.call(&h.app(&access), "userfile/get", json!({ "path": "/keep/a.bin" })).await;
    assert_eq!(file.ok()["identity"], done["identity"]);
    // Blocks stored before the restart still deduplicate.
    let (_, sent) = h.upload("/keep/c.bin", &data).await;
    assert_eq!(sent, 0);
}

#[tokio::test]
async fn trash_takes_files_and_folders_with_what_they_hold() {
    let h = Halal::start().await;
    let key = h.personal();
    h.mkdir("/t").await;
    h.mkdir("/t/inner").await;
    h.mkdir("/t_sibling").await;
    let affected = h.call(&key, "userfile/trash", json!({ "source": [{ "path": "/t" }] })).await;
    assert_eq!(affected.ok()["affected"], "2", "the folder and its child");
    h.call(&key, "userfile/get", json!({ "path": "/t/inner" })).await.err(404, 5);
    // A name that only starts like the folder is not under it.
    h.call(&key, "userfile/get", json!({ "path": "/t_sibling" })).await.ok();
    h.call(&key, "userfile/trash", json!({ "source": [{ "path": "/nope" }] }))
        .await
        .err(404, 5);
    h.call(&key, "userfile/trash", json!({ "source": [] })).await.err(400, 3);
    h.call(&key, "userfile/trash", json!({ "source": [{ "path": "/" }] }))
        .await
        .err(400, 3);
}
