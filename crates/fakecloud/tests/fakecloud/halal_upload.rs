//! HalalCloud uploads: create_upload_task, the upload host (probe, block, finish), dedup and faults.

use std::time::Duration;

use serde_json::{Value, json};

use crate::halal::{Halal, MIB, bytes, cid, sha256_hex};

fn md5_hex(data: &[u8]) -> String {
    hex::encode(openssl::hash::hash(openssl::hash::MessageDigest::md5(), data).unwrap())
}

async fn admin_file(h: &Halal, path: &str) -> Value {
    let files = h.admin("files").await;
    files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["provider"] == "halalcloud" && f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {files:?}"))
        .clone()
}

#[tokio::test]
async fn a_9_mib_upload_then_the_same_bytes_again() {
    let h = Halal::start().await;
    let key = h.personal();
    h.mkdir("/PanDrop").await;
    let data = bytes(9 * MIB, 7);

    let t = h.create_task("/PanDrop/a.bin", data.len()).await;
    assert_eq!(t["upload_address"], h.cloud().halalcloud_upload_url());
    let (task, address) = (t["task"].as_str().unwrap(), t["upload_address"].as_str().unwrap());
    let blocks: Vec<&[u8]> = data.chunks(4 * MIB).collect();
    assert_eq!(blocks.len(), 3);
    let cids: Vec<String> = blocks.iter().map(|b| cid(b)).collect();
    for (block, c) in blocks.iter().zip(&cids) {
        assert_eq!(h.probe(address, task, c).await.ok(), &json!(false));
        h.post_block(address, task, c, block.to_vec()).await.ok();
        assert_eq!(h.probe(address, task, c).await.ok(), &json!(true));
    }
    let done = h.finish(address, task, &cids).await;
    let done = done.ok().clone();
    assert_eq!(done["path"], "/PanDrop/a.bin");
    assert_eq!(done["size"], json!(9 * MIB), "size is a JSON number");
    assert!(done["identity"].is_string() && done["user_identity"].is_string() && done["content_identity"].is_string());
    // A repeated finish (a lost answer) answers the same file.
    assert_eq!(h.finish(address, task, &cids).await.ok(), &done);
    // The task is used up for anything else.
    let msg = h.probe(address, task, &cids[0]).await.err(404, 5).to_owned();
    assert!(msg.contains("not found"), "{msg}");

    let stored = admin_file(&h, "/PanDrop/a.bin").await;
    assert_eq!(
        (stored["size"].as_u64(), stored["md5"].as_str()),
        (Some(data.len() as u64), Some(md5_hex(&data).as_str()))
    );
    let file = h.call(&key, "userfile/get", json!({ "path": "/PanDrop/a.bin" })).await;
    assert_eq!(file.ok()["size"], (9 * MIB).to_string());
    assert_eq!(file.body["content_identity"], done["content_identity"]);
    let stats = h.admin("stats").await;
    let per_task = &stats["halalcloud"]["tasks"][task];
    assert_eq!((per_task["probes"].as_u64(), per_task["probe_hits"].as_u64()), (Some(6), Some(3)));
    assert_eq!(
        (per_task["blocks"].as_u64(), per_task["bytes"].as_u64()),
        (Some(3), Some(data.len() as u64))
    );
    assert_eq!(stats["routes"]["halalcloud/upload/block"]["bytes"], data.len());

    // The same bytes elsewhere: every probe says true, no block is sent.
    let (again, sent) = h.upload("/PanDrop/b.bin", &data).await;
    assert_eq!(sent, 0);
    assert_eq!(again["content_identity"], done["content_identity"]);
    assert_eq!(admin_file(&h, "/PanDrop/b.bin").await["md5"], md5_hex(&data));
    let stats = h.admin("stats").await;
    assert_eq!(stats["halalcloud"]["blocks_received"], 3);
    assert_eq!(stats["halalcloud"]["probe_hits"], 6);

    // Known content: created:true only with that content_identity at the same path; else 409.
    let same = json!({ "path": "/PanDrop/a.bin", "size": data.len().to_string(), "content_identity": done["content_identity"] });
    assert_eq!(
        h.call(&key, "userfile/create_upload_task", same).await.ok(),
        &json!({ "created": true })
    );
    let taken = json!({ "path": "/PanDrop/a.bin", "size": data.len().to_string() });
    h.call(&key, "userfile/create_upload_task", taken).await.err(409, 6);
    // create {path, content_identity} places a file of known content.
    let c = h
        .call(
            &key,
            "userfile/create",
            json!({ "path": "/PanDrop/c.bin", "content_identity": done["content_identity"] }),
        )
        .await;
    assert_eq!(c.ok()["size"], (9 * MIB).to_string());
    assert_eq!(admin_file(&h, "/PanDrop/c.bin").await["md5"], md5_hex(&data));
    h.call(
        &key,
        "userfile/create",
        json!({ "path": "/PanDrop/d.bin", "content_identity": "nope" }),
    )
    .await
    .err(404, 5);
}

#[tokio::test]
async fn the_upload_host_checks_cids_sizes_and_completeness() {
    let h = Halal::start_with(|c| c.block_size = 1000).await;
    let key = h.personal();
    // Missing parent → 404.
    h.call(&key, "userfile/create_upload_task", json!({ "path": "/no/x.bin", "size": "1" }))
        .await
        .err(404, 5);
    let data = bytes(2500, 3);
    let t = h.create_task("/x.bin", data.len()).await;
    assert_eq!(t["block_size"], "1000");
    let (task, address) = (
        t["task"].as_str().unwrap().to_owned(),
        t["upload_address"].as_str().unwrap().to_owned(),
    );
    let blocks: Vec<Vec<u8>> = data.chunks(1000).map(<[u8]>::to_vec).collect();
    let cids: Vec<String> = blocks.iter().map(|b| cid(b)).collect();

    // A wrong CID (another block's), a malformed one, an oversized block, an empty one.
    h.post_block(&address, &task, &cids[1], blocks[0].clone()).await.err(400, 3);
    h.post_block(&address, &task, &cids[0].to_uppercase(), blocks[0].clone())
        .await
        .err(400, 3);
    h.post_block(&address, &task, &cid(&data[..1001]), data[..1001].to_vec())
        .await
        .err(400, 3);
    h.post_block(&address, &task, &cid(b""), Vec::new()).await.err(400, 3);
    // A probe without Accept: application/json.
    let r = h.http.get(format!("{address}/{task}/{}", cids[0])).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(h.admin("stats").await["halalcloud"]["blocks_received"], 0);

    h.post_block(&address, &task, &cids[0], blocks[0].clone()).await.ok();
    h.post_block(&address, &task, &cids[2], blocks[2].clone()).await.ok();
    // Finish with a block that was never sent.
    let r = h.finish(&address, &task, &cids).await;
    let msg = r.err(400, 9).to_owned();
    assert!(msg.contains("never uploaded") && !msg.contains("not found"), "{msg}");
    h.post_block(&address, &task, &cids[1], blocks[1].clone()).await.ok();
    // Wrong order (the short block in the middle), a missing tail, then right.
    h.finish(&address, &task, &[cids[0].clone(), cids[2].clone(), cids[1].clone()])
        .await
        .err(400, 3);
    h.finish(&address, &task, &cids[..2]).await.err(400, 3);
    h.finish(&address, &task, &cids).await.ok();
    assert_eq!(admin_file(&h, "/x.bin").await["md5"], md5_hex(&data));

    // An unknown task.
    let msg = h.probe(&address, "nope", &cids[0]).await.err(404, 5).to_owned();
    assert!(msg.contains("not found"), "{msg}");
    // The empty file: no blocks, `[]`.
    let (empty, _) = h.upload("/empty.bin", b"").await;
    assert_eq!(empty["size"], 0);
    assert_eq!(admin_file(&h, "/empty.bin").await["md5"], md5_hex(b""));
    let _ = sha256_hex(b"");
}

#[tokio::test]
async fn an_expired_task_is_not_found() {
    let h = Halal::start_with(|c| c.upload_task_lifetime = Duration::ZERO).await;
    let t = h.create_task("/late.bin", 3).await;
    let (task, address) = (t["task"].as_str().unwrap(), t["upload_address"].as_str().unwrap());
    let c = cid(b"abc");
    assert_eq!(c, "bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu");
    for r in [
        h.probe(address, task, &c).await,
        h.post_block(address, task, &c, b"abc".to_vec()).await,
        h.finish(address, task, std::slice::from_ref(&c)).await,
    ] {
        let msg = r.err(404, 5);
        assert!(msg.contains("not found"), "{msg}");
    }
}

#[tokio::test]
async fn fault_rules_apply_to_the_halalcloud_routes() {
    let h = Halal::start_with(|c| c.block_size = 1000).await;
    let plan = json!([
        { "route": "halalcloud/upload/block", "action": { "kind": "status", "status": 503 } },
        { "route": "halalcloud/userfile/create", "action": { "kind": "code", "code": 14, "message": "busy" } }
    ]);
    let r = h.http.post(format!("{}/_admin/faults", h.base)).json(&plan).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bad = json!([{ "route": "halalcloud/user/get", "action": { "kind": "code", "code": 404 } }]);
    let r = h.http.post(format!("{}/_admin/faults", h.base)).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400, "a HalalCloud code is a gRPC code");

    let r = h.call(&h.personal(), "userfile/create", json!({ "path": "/f" })).await;
    assert_eq!(r.err(503, 14), "busy");
    h.mkdir("/f").await;
    let t = h.create_task("/f/x.bin", 10).await;
    let (task, address) = (t["task"].as_str().unwrap(), t["upload_address"].as_str().unwrap());
    let data = bytes(10, 1);
    let first = h.post_block(address, task, &cid(&data), data.clone()).await;
    assert_eq!(first.status, 503);
    h.post_block(address, task, &cid(&data), data.clone()).await.ok();
    h.finish(address, task, &[cid(&data)]).await.ok();
    let stats = h.admin("stats").await;
    assert_eq!(stats["routes"]["halalcloud/upload/block"]["requests"], 2);
    assert_eq!(
        stats["halalcloud"]["tasks"][task]["blocks"], 1,
        "the faulted request was not handled"
    );
}
