//! HalalCloud offline tasks: parse and add a magnet link, list the tasks, see them in the admin view.

use serde_json::json;

use crate::halal::Halal;

const HASH: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

#[tokio::test]
async fn magnet_links_are_parsed_added_and_listed() {
    let h = Halal::start().await;
    let key = h.personal();
    let magnet = format!("magnet:?xt=urn:btih:{HASH}&dn=Big%20Buck%20Bunny&tr=udp%3A%2F%2Ftracker.example%3A80");
    let parsed = h.call(&key, "offline_task/parse", json!({ "url": magnet })).await;
    let meta = &parsed.ok()["meta"];
    assert_eq!(meta["name"], "Big Buck Bunny");
    assert_eq!(meta["identity"], format!("{HASH}_otp_btv1"));
    let http = h
        .call(&key, "offline_task/parse", json!({ "url": "https://example.com/files/a.iso" }))
        .await;
    assert_eq!(http.ok()["meta"]["name"], "a.iso");
    for bad in ["ftp://example.com/a", "magnet:?dn=x", "magnet:?xt=urn:btih:1234", "hello"] {
        h.call(&key, "offline_task/parse", json!({ "url": bad })).await.err(400, 3);
    }

    // The save folder must exist.
    h.call(&key, "offline_task/add", json!({ "url": magnet, "save_path": "/dl" }))
        .await
        .err(404, 5);
    h.mkdir("/dl").await;
    let callback = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, r#"{"url":"https://example.com/cb"}"#);
    let added = h
        .call(
            &key,
            "offline_task/add",
            json!({ "url": magnet, "save_path": "/dl", "callbacks": [callback] }),
        )
        .await;
    let task = added.ok().clone();
    assert!(task["identity"].is_string(), "{task:?}");
    assert_eq!(task["name"], "Big Buck Bunny");
    h.call(
        &key,
        "offline_task/add",
        json!({ "url": magnet, "save_path": "/dl", "callbacks": ["%%%"] }),
    )
    .await
    .err(400, 3);
    let named = json!({ "url": "http://example.com/x.bin", "save_path": "/dl", "name": "mine.bin" });
    h.call(&key, "offline_task/add", named).await.ok();

    let page = h.call(&key, "offline_task/list", json!({ "list_info": { "limit": "1" } })).await;
    let page = page.ok().clone();
    assert_eq!(page["tasks"][0]["identity"], task["identity"]);
    let token = page["list_info"]["token"].as_str().unwrap();
    let rest = h
        .call(&key, "offline_task/list", json!({ "list_info": { "limit": "1", "token": token } }))
        .await;
    assert_eq!(rest.ok()["tasks"][0]["name"], "mine.bin");
    assert_eq!(rest.body["list_info"], json!({}));

    let admin = h.admin("offline").await;
    let ours: Vec<_> = admin.as_array().unwrap().iter().filter(|t| t["provider"] == "halalcloud").collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(
        (ours[0]["info_hash"].as_str(), ours[0]["save_path"].as_str()),
        (Some(HASH), Some("/dl"))
    );
}
