//! 6pan v1 naming rules (seed 001), instant uploads, folders and listings of both versions.

use serde_json::{Value, json};

use crate::sixpan::{Session, Six, bytes};

async fn token(six: &Six, s: &mut Session, body: Value) -> Value {
    six.call(s, "/v1/store/token", body).await.ok().clone()
}

#[tokio::test]
async fn v1_naming_rules_of_seed_001() {
    let six = Six::start().await;
    let mut s = six.login(false).await;
    let hash = six.store_blob(&bytes(100, 1)).await;

    // name + path → ${path}/${name} (folders created).
    let f = token(&six, &mut s, json!({ "path": "/d/e/f/g", "name": "5系标轴2.0.pdf", "hash": hash })).await;
    assert_eq!(f["path"], "/d/e/f/g/5系标轴2.0.pdf");
    assert_eq!(
        (f["storeId"].as_str(), f["ext"].as_str(), f["size"].as_u64()),
        (Some(hash.as_str()), Some(".pdf"), Some(100))
    );
    assert_eq!(f["uuid"].as_str().unwrap().len(), 32);
    // name and path empty → /${originalFilename}.
    let f = token(&six, &mut s, json!({ "originalFilename": "orig.txt", "hash": hash })).await;
    assert_eq!(f["path"], "/orig.txt");
    // everything empty → /qzy-upload-noname.<ms>.tmp.
    let f = token(&six, &mut s, json!({ "hash": hash })).await;
    let name = f["name"].as_str().unwrap();
    let ms = name
        .strip_prefix("qzy-upload-noname.")
        .and_then(|r| r.strip_suffix(".tmp"))
        .unwrap();
    assert!(ms.parse::<u64>().is_ok(), "{name}");
    assert_eq!(f["path"], format!("/{name}"));
    // no name, path is a folder → originalFilename inside it.
    let f = token(
        &six,
        &mut s,
        json!({ "path": "/d/e", "originalFilename": "inside.bin", "hash": hash }),
    )
    .await;
    assert_eq!(f["path"], "/d/e/inside.bin");
    // no name, path is a file → nothing is created, the file is answered.
    let before = six.files().await.len();
    let same = token(&six, &mut s, json!({ "path": "/d/e/inside.bin", "hash": hash })).await;
    assert_eq!(same["uuid"], f["uuid"]);
    assert_eq!(six.files().await.len(), before);
    // no name, path absent → the file `path` itself.
    let f = token(
        &six,
        &mut s,
        json!({ "path": "/x/y/z.bin", "originalFilename": "ignored", "hash": hash }),
    )
    .await;
    assert_eq!(f["path"], "/x/y/z.bin");
    // name + parent id.
    let dir = six
        .call(&mut s, "/v1/files/createDirectory", json!({ "path": "/p" }))
        .await
        .ok()
        .clone();
    let f = token(
        &six,
        &mut s,
        json!({ "parent": dir["uuid"], "name": "in-parent.txt", "fileHash": hash }),
    )
    .await;
    assert_eq!(
        (f["path"].as_str(), f["parent"].as_str()),
        (Some("/p/in-parent.txt"), dir["uuid"].as_str())
    );

    // Misses answer an upload token, with the same naming rules.
    let miss = token(&six, &mut s, json!({ "path": "/d/e", "originalFilename": "up.bin" })).await;
    assert_eq!(miss["name"], "up.bin");
    assert_eq!(miss["type"], 0);
    assert_eq!(miss["version"], 1);
    assert_eq!(miss["userId"], 1);
    assert_eq!(miss["uploadUrl"], six.wcs());
    assert_eq!(miss["token"].as_str().unwrap().split(':').count(), 3);
    let miss = token(
        &six,
        &mut s,
        json!({ "path": "/d/e/nothing-here/", "hash": "Fob35Df6paf84V0d3Lnq6uo3dme4" }),
    )
    .await;
    assert_eq!(miss["name"], "nothing-here");

    // A clash without override; override replaces (new uuid).
    let r = six
        .call(
            &mut s,
            "/v1/store/token",
            json!({ "path": "/d/e/f/g", "name": "5系标轴2.0.pdf", "hash": hash }),
        )
        .await;
    r.err("FILE_AREADY_EXISTS");
    assert!(r.body["token"].is_string(), "v1 errors carry the token too");
    let again = token(
        &six,
        &mut s,
        json!({ "path": "/d/e/f/g", "name": "5系标轴2.0.pdf", "hash": hash, "override": "yes" }),
    )
    .await;
    assert_eq!(again["path"], "/d/e/f/g/5系标轴2.0.pdf");
    let paths: Vec<String> = six.files().await.iter().map(|f| f["path"].as_str().unwrap().to_owned()).collect();
    assert_eq!(paths.iter().filter(|p| p.ends_with("5系标轴2.0.pdf")).count(), 1, "{paths:?}");
    // A folder is never replaced.
    six.call(&mut s, "/v1/store/token", json!({ "path": "/d", "name": "e", "override": 1 }))
        .await
        .err("FILE_AREADY_EXISTS");
}

#[tokio::test]
async fn torrent_folder_on_demand() {
    let six = Six::start().await;
    let mut s = six.login(false).await;
    let hash = six.store_blob(&bytes(10, 2)).await;
    let miss = token(&six, &mut s, json!({ "path": ":torrent" })).await;
    assert_eq!(miss["parent"], ":torrent");
    assert!(miss["name"].as_str().unwrap().starts_with("qzy-upload-noname."));
    let f = token(
        &six,
        &mut s,
        json!({ "parent": ":torrent", "name": "幸运星.torrent", "hash": hash }),
    )
    .await;
    assert_eq!(
        (f["path"].as_str(), f["parent"].as_str()),
        (Some("/:torrent/幸运星.torrent"), Some(":torrent"))
    );
    assert!(six.files().await.iter().any(|f| f["path"] == "/:torrent/幸运星.torrent"));
}

#[tokio::test]
async fn v1_folders_and_pages() {
    let six = Six::start().await;
    let mut s = six.login(false).await;
    let ab = six
        .call(&mut s, "/v1/files/createDirectory", json!({ "path": "/a/b" }))
        .await
        .ok()
        .clone();
    assert_eq!(
        (ab["path"].as_str(), ab["directory"].as_bool(), ab["type"].as_i64()),
        (Some("/a/b"), Some(true), Some(1))
    );
    let c = six
        .call(&mut s, "/v1/files/createDirectory", json!({ "parent": ab["uuid"], "name": "c" }))
        .await
        .ok()
        .clone();
    assert_eq!(c["path"], "/a/b/c");
    // Existing folders are answered as they are.
    let again = six
        .call(&mut s, "/v1/files/createDirectory", json!({ "path": "/a", "name": "b" }))
        .await
        .ok()
        .clone();
    assert_eq!(again["uuid"], ab["uuid"]);
    six.call(&mut s, "/v1/files/createDirectory", json!({ "name": "top" })).await.ok();
    six.call(&mut s, "/v1/files/createDirectory", json!({})).await.err("NAME_REQUIRED");

    let page = six
        .call(&mut s, "/v1/files/page", json!({ "path": "/a/b", "page": 1, "pageSize": 10 }))
        .await
        .ok()
        .clone();
    assert_eq!(page["info"]["uuid"], ab["uuid"]);
    assert_eq!(page["list"].as_array().unwrap().len(), 1);
    assert_eq!(page["list"][0]["name"], "c");
    let root = six.call(&mut s, "/v1/files/page", json!({ "parent": "" })).await.ok().clone();
    assert_eq!(root["totalCount"], 2);
    let by_uuid = six.call(&mut s, "/v1/files/page", json!({ "uuid": ab["uuid"] })).await.ok().clone();
    assert_eq!(by_uuid["totalCount"], 1);
    six.call(&mut s, "/v1/files/page", json!({ "pageSize": 1000 }))
        .await
        .err("PAGE_SIZE_NOT_VALID");
    six.call(&mut s, "/v1/files/page", json!({ "path": "/missing" }))
        .await
        .err("FILE_NOT_FOUND");
}

#[tokio::test]
async fn v2_folders_pages_and_token_rules() {
    let six = Six::start().await;
    let mut s = six.login(true).await;
    let dir = six
        .call(&mut s, "/v2/files/createDirectory", json!({ "path": "/lol-test/sub" }))
        .await
        .ok()
        .clone();
    assert_eq!(
        (dir["path"].as_str(), dir["directory"].as_bool()),
        (Some("/lol-test/sub"), Some(true))
    );
    assert_eq!(dir["identity"].as_str().unwrap().len(), 32);
    let x = six
        .call(
            &mut s,
            "/v2/files/createDirectory",
            json!({ "parent": dir["identity"], "name": "x" }),
        )
        .await
        .ok()
        .clone();
    assert_eq!(x["path"], "/lol-test/sub/x");
    six.call(&mut s, "/v2/files/createDirectory", json!({ "path": "/lol-test", "name": "y" }))
        .await
        .ok();
    let long = "l".repeat(129);
    six.call(&mut s, "/v2/files/createDirectory", json!({ "path": format!("/{long}") }))
        .await
        .err("PATH_TOO_LONG");
    six.call(&mut s, "/v2/upload/token", json!({ "path": format!("/ok/{long}") }))
        .await
        .err("PATH_TOO_LONG");
    six.call(&mut s, "/v2/upload/token", json!({ "path": "/ok", "name": long }))
        .await
        .err("PATH_TOO_LONG");
    six.call(&mut s, "/v2/upload/token", json!({ "name": "a" }))
        .await
        .err("PATH_REQUIRED");
    six.call(&mut s, "/v2/upload/token", json!({ "identity": "nope", "name": "a" }))
        .await
        .err("FILE_NOT_FOUND");

    let hash = six.store_blob(&bytes(1397, 3)).await;
    let hit = six
        .call(
            &mut s,
            "/v2/upload/token",
            json!({ "path": "/lol-test", "name": "lol.txt", "hash": hash }),
        )
        .await;
    let hit = hit.ok().clone();
    assert_eq!(hit["hashCached"], true);
    let f = &hit["file"];
    assert_eq!(
        (f["path"].as_str(), f["hash"].as_str(), f["size"].as_u64()),
        (Some("/lol-test/lol.txt"), Some(hash.as_str()), Some(1397))
    );
    assert_eq!((f["directory"].as_bool(), f["userIdentity"].as_i64()), (Some(false), Some(1)));
    assert!(f["ctime"].as_i64().unwrap() < 10_000_000_000, "v2 times are seconds");
    // Same name again: refused unless override.
    six.call(
        &mut s,
        "/v2/upload/token",
        json!({ "path": "/lol-test", "name": "lol.txt", "hash": hash }),
    )
    .await
    .err("FILE_ALREADY_EXISTS");
    six.call(&mut s, "/v2/upload/token", json!({ "path": "/lol-test", "name": "lol.txt" }))
        .await
        .err("FILE_ALREADY_EXISTS");
    let r = six
        .call(
            &mut s,
            "/v2/upload/token",
            json!({ "path": "/lol-test", "name": "lol.txt", "override": true }),
        )
        .await;
    assert_eq!(r.ok()["hashCached"], false);
    let by_id = six
        .call(
            &mut s,
            "/v2/upload/token",
            json!({ "identity": dir["identity"], "name": "n.bin", "hash": hash }),
        )
        .await;
    assert_eq!(by_id.ok()["file"]["path"], "/lol-test/sub/n.bin");

    let page = six
        .call(
            &mut s,
            "/v2/files/page",
            json!({ "path": "/lol-test", "page": 1, "pageSize": 1, "orderBy": 0, "type": -1 }),
        )
        .await
        .ok()
        .clone();
    assert_eq!(
        (page["totalCount"].as_u64(), page["totalPage"].as_u64(), page["pageSize"].as_u64()),
        (Some(3), Some(3), Some(1))
    );
    assert_eq!(page["list"][0]["name"], "sub", "folders first, then by name");
    assert_eq!(page["parent"]["path"], "/lol-test");
    let files_only = six
        .call(&mut s, "/v2/files/page", json!({ "path": "/lol-test", "type": 0 }))
        .await
        .ok()
        .clone();
    assert_eq!(files_only["list"].as_array().unwrap().len(), 1);
    let by_identity = six
        .call(&mut s, "/v2/files/page", json!({ "identity": dir["identity"] }))
        .await
        .ok()
        .clone();
    assert_eq!(by_identity["totalCount"], 2);
    let missing = six.call(&mut s, "/v2/files/page", json!({ "path": "/missing" })).await.ok().clone();
    assert_eq!((missing["parent"].clone(), missing["totalCount"].as_u64()), (Value::Null, Some(0)));
}
