//! mkdir and list.

use serde_json::{Value, json};

use crate::harness::{Harness, bytes};

fn ids(list: &Value) -> Vec<i64> {
    list["fileList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fileId"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn mkdir_and_its_clash() {
    let h = Harness::start().await;
    let token = h.token().await;
    let a = h
        .post("/upload/v1/file/mkdir", &token, json!({ "name": "photos", "parentID": 0 }))
        .await;
    let dir = a.ok()["dirID"].as_i64().unwrap();
    assert!(dir > 0);
    let a = h
        .post("/upload/v1/file/mkdir", &token, json!({ "name": "photos", "parentID": 0 }))
        .await;
    assert_eq!(a.err(1), "该目录下已经有同名文件夹,无法进行创建");
    // parentID as a string, nested.
    let a = h
        .post(
            "/upload/v1/file/mkdir",
            &token,
            json!({ "name": "2024", "parentID": dir.to_string() }),
        )
        .await;
    let inner = a.ok()["dirID"].as_i64().unwrap();
    assert_ne!(inner, dir);
    // Same name elsewhere is fine.
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "photos", "parentID": inner }))
        .await
        .ok();
    for bad in ["", "  ", "a/b", "a?"] {
        h.post("/upload/v1/file/mkdir", &token, json!({ "name": bad, "parentID": 0 }))
            .await
            .err(1);
    }
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "x", "parentID": 999 }))
        .await
        .err(1);
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "x" })).await.err(1);

    // A file cannot act as a parent folder.
    let file = h.upload(&token, 0, "f.bin", &bytes(10, 1), json!({})).await;
    h.post("/upload/v1/file/mkdir", &token, json!({ "name": "x", "parentID": file }))
        .await
        .err(1);
}

#[tokio::test]
async fn list_pages_and_searches() {
    let h = Harness::start().await;
    let token = h.token().await;
    let mut made = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        let a = h
            .post("/upload/v1/file/mkdir", &token, json!({ "name": name, "parentID": 0 }))
            .await;
        made.push(a.ok()["dirID"].as_i64().unwrap());
    }
    let sub = made[0];
    h.upload(&token, sub, "Report-2024.PDF", &bytes(20, 2), json!({})).await;
    h.upload(&token, 0, "report.txt", &bytes(20, 3), json!({})).await;

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let q = match cursor {
            None => "parentFileId=0&limit=2".to_owned(),
            Some(c) => format!("parentFileId=0&limit=2&lastFileId={c}"),
        };
        let page = h.list(&token, &q).await.ok().clone();
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2);
        seen.extend(page_ids);
        let last = page["lastFileId"].as_i64().unwrap();
        if last == -1 {
            break;
        }
        assert_eq!(Some(&last), seen.last());
        cursor = Some(last);
    }
    assert_eq!(seen.len(), 6);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(&seen[..5], &made[..]);

    // Search covers the whole drive; fuzzy is case-insensitive, exact is not fuzzy.
    let found = h.list(&token, "parentFileId=0&limit=100&searchData=report").await;
    assert_eq!(ids(found.ok()).len(), 2);
    let found = h.list(&token, "parentFileId=0&limit=100&searchData=report.txt&searchMode=1").await;
    let entries = found.ok()["fileList"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["filename"], "report.txt");
    let found = h.list(&token, "parentFileId=0&limit=100&searchData=report&searchMode=1").await;
    assert!(ids(found.ok()).is_empty());
    let found = h.list(&token, &format!("parentFileId={sub}&limit=100")).await;
    let entries = found.ok()["fileList"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["parentFileId"], sub);
    assert_eq!(entries[0]["size"], 20);
    assert!(entries[0]["createAt"].as_str().unwrap().len() == 19);

    // limit is required and bounded.
    for q in [
        "parentFileId=0",
        "parentFileId=0&limit=0",
        "parentFileId=0&limit=101",
        "limit=10",
        "parentFileId=0&limit=x",
    ] {
        h.list(&token, q).await.err(1);
    }
    h.list(&token, "parentFileId=0&limit=100").await.ok();
}
