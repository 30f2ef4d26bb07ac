//! Single-step upload (`upload/v2/file/single/create`).

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::harness::{Answer, Harness, bytes, md5_hex};

/// Sends the form with the file part FIRST, to check that field order does not matter.
async fn single(h: &Harness, token: &str, fields: &[(&str, String)], file: Vec<u8>) -> Answer {
    let mut form = Form::new().part("file", Part::bytes(file).file_name("upload.bin"));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.clone());
    }
    let domain = h.get("/upload/v2/file/domain", token).await;
    let host = domain.ok()[0].as_str().unwrap().to_owned();
    let resp = h
        .http
        .post(format!("{host}/upload/v2/file/single/create"))
        .header("Platform", "open_platform")
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    Answer {
        status,
        body: resp.json::<Value>().await.unwrap(),
    }
}

fn fields(parent: i64, name: &str, data: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("parentFileID", parent.to_string()),
        ("filename", name.to_owned()),
        ("etag", md5_hex(data)),
        ("size", data.len().to_string()),
    ]
}

#[tokio::test]
async fn single_create_stores_the_file() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(5000, 20);
    let a = single(&h, &token, &fields(0, "small.jpg", &data), data.clone()).await;
    let d = a.ok();
    assert_eq!(d["completed"], true);
    let file_id = d["fileID"].as_i64().unwrap();
    assert!(file_id > 0);
    let files = h.admin_files().await;
    assert_eq!(
        files,
        vec![json!({"provider":"123pan","path":"/small.jpg","size":5000,"md5":md5_hex(&data),"etag":null})]
    );
    let stats = h.stats().await;
    assert_eq!(stats["routes"]["123pan/single_create"]["bytes"], 5000);

    // Instant reuse still reads the body and creates a second entry; the name clash rules apply.
    let a = single(&h, &token, &fields(0, "small.jpg", &data), data.clone()).await;
    assert_eq!(a.err(1), "当前目录有重名文件");
    let mut f = fields(0, "small.jpg", &data);
    f.push(("duplicate", "1".into()));
    let a = single(&h, &token, &f, data.clone()).await;
    assert!(a.ok()["fileID"].as_i64().unwrap() > file_id);
    let mut f = fields(0, "/deep/er/small.jpg", &data);
    f.push(("containDir", "true".into()));
    single(&h, &token, &f, data.clone()).await.ok();
    let paths: Vec<Value> = h.admin_files().await.iter().map(|f| f["path"].clone()).collect();
    assert_eq!(
        paths,
        vec![json!("/deep/er/small.jpg"), json!("/small(1).jpg"), json!("/small.jpg")]
    );
}

#[tokio::test]
async fn single_create_verifies_the_body() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(3000, 21);
    let mut tampered = data.clone();
    tampered[10] ^= 1;
    let a = single(&h, &token, &fields(0, "x.bin", &data), tampered).await;
    assert!(a.err(1).contains("etag"), "{}", a.message());
    let a = single(&h, &token, &fields(0, "x.bin", &data), data[..2999].to_vec()).await;
    assert!(a.err(1).contains("size"), "{}", a.message());
    // Over the 1 GB limit of this endpoint.
    let mut f = fields(0, "x.bin", &data);
    f[3].1 = "1073741825".into();
    let a = single(&h, &token, &f, data.clone()).await;
    assert!(a.err(1).contains("1GB"), "{}", a.message());
    // Missing field, bad parent.
    let a = single(&h, &token, &fields(0, "x.bin", &data)[..3], data.clone()).await;
    assert!(a.err(1).contains("size"), "{}", a.message());
    let a = single(&h, &token, &fields(777, "x.bin", &data), data.clone()).await;
    assert_eq!(a.err(1), "parentFileID不存在");
    assert!(h.admin_files().await.is_empty());
}
