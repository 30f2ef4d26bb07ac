//! How slices are stored and folded into the whole-file MD5: field order, re-sent slices inside the part
//! already hashed, a lot of slices out of order.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::harness::{Answer, Harness, TEST_SLICE, bytes, md5_hex};

/// Sends a slice with the bytes FIRST, before `preuploadID` says which upload (and so which bound) it is.
async fn slice_part_first(h: &Harness, token: &str, id: &str, no: u32, data: Vec<u8>) -> Answer {
    let form = Form::new()
        .part("slice", Part::bytes(data.clone()).file_name("x.part"))
        .text("sliceMD5", md5_hex(&data))
        .text("sliceNo", no.to_string())
        .text("preuploadID", id.to_owned());
    let resp = h
        .http
        .post(format!("{}/upload/v2/file/slice", h.api()))
        .header("Platform", "open_platform")
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    Answer {
        status,
        body: resp.json().await.unwrap(),
    }
}

fn cut(data: &[u8], no: u32) -> Vec<u8> {
    let start = (no as usize - 1) * TEST_SLICE as usize;
    data[start..(start + TEST_SLICE as usize).min(data.len())].to_vec()
}

#[tokio::test]
async fn field_order_does_not_matter() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(3200, 20);
    let created = h.create(&token, 0, "order.bin", &data, json!({})).await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    slice_part_first(&h, &token, &id, 2, cut(&data, 2)).await.ok();
    h.slice_of(&h.api(), &token, &id, &data, TEST_SLICE, 1).await.ok();
    slice_part_first(&h, &token, &id, 4, cut(&data, 4)).await.ok();
    h.slice_of(&h.api(), &token, &id, &data, TEST_SLICE, 3).await.ok();
    // The checks are the same whichever way the bytes came in.
    let a = slice_part_first(&h, &token, &id, 4, cut(&data, 3)).await;
    assert!(a.err(1).contains("大小"), "{}", a.message());
    h.complete(&token, &id).await.ok();
    assert_eq!(h.admin_files().await[0]["md5"], md5_hex(&data));
}

#[tokio::test]
async fn right_bytes_resent_inside_the_hashed_run_are_used() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(4500, 21);
    let created = h.create(&token, 0, "fixed.bin", &data, json!({})).await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    let server = h.api();
    // Slice 2 first comes with other (self-consistent) bytes, and slices 1..=4 are hashed with them...
    let wrong = bytes(1000, 98);
    for no in [1, 3, 4] {
        h.slice_of(&server, &token, &id, &data, TEST_SLICE, no).await.ok();
    }
    h.send_slice(&server, &token, &id, 2, &md5_hex(&wrong), wrong).await.ok();
    // ...then the right bytes replace them (and a repeat of an unchanged slice changes nothing).
    h.slice_of(&server, &token, &id, &data, TEST_SLICE, 2).await.ok();
    h.slice_of(&server, &token, &id, &data, TEST_SLICE, 1).await.ok();
    h.slice_of(&server, &token, &id, &data, TEST_SLICE, 5).await.ok();
    h.complete(&token, &id).await.ok();
    let files = h.admin_files().await;
    assert_eq!(files[0]["md5"], md5_hex(&data));
    let blob = std::fs::read(h.dir.path().join("blobs").join(md5_hex(&data))).unwrap();
    assert_eq!(blob, data);
}

#[tokio::test]
async fn wrong_bytes_resent_inside_the_hashed_run_fail_the_upload() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(3000, 22);
    let created = h.create(&token, 0, "spoiled.bin", &data, json!({})).await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    let server = h.api();
    for no in [1, 2] {
        h.slice_of(&server, &token, &id, &data, TEST_SLICE, no).await.ok();
    }
    // The last copy wins, even when it is not the content announced at create.
    let wrong = bytes(1000, 97);
    h.send_slice(&server, &token, &id, 1, &md5_hex(&wrong), wrong).await.ok();
    h.slice_of(&server, &token, &id, &data, TEST_SLICE, 3).await.ok();
    assert_eq!(h.complete(&token, &id).await.err(1), "文件上传失败");
    assert!(h.admin_files().await.is_empty());
    assert_eq!(std::fs::read_dir(h.dir.path().join("sessions")).unwrap().count(), 0);
}

#[tokio::test]
async fn many_slices_in_reverse_then_repeated() {
    let h = Harness::start().await;
    let token = h.token().await;
    // Slices arriving in reverse all wait for slice 1 before any can be hashed.
    let data = bytes(149_500, 23);
    let created = h.create(&token, 0, "many.bin", &data, json!({})).await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    let count = data.len().div_ceil(TEST_SLICE as usize) as u32;
    for no in (1..=count).rev() {
        h.slice_of(&h.api(), &token, &id, &data, TEST_SLICE, no).await.ok();
    }
    for no in [count, 1, count / 2] {
        h.slice_of(&h.api(), &token, &id, &data, TEST_SLICE, no).await.ok();
    }
    h.complete(&token, &id).await.ok();
    assert_eq!(h.admin_files().await[0]["md5"], md5_hex(&data));
}

#[tokio::test]
async fn block_aligned_slices() {
    // Slices of 8 KiB are written bypassing the page cache where the file system allows it.
    const SLICE: u64 = 8192;
    let h = Harness::start_with(|c| c.slice_size = SLICE).await;
    let token = h.token().await;
    let data = bytes(5 * SLICE as usize + 100, 24);
    let created = h.create(&token, 0, "aligned.bin", &data, json!({})).await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    let server = h.api();
    let wrong = bytes(SLICE as usize, 96);
    h.send_slice(&server, &token, &id, 2, &md5_hex(&wrong), wrong).await.ok();
    for no in [6, 3, 1, 4] {
        h.slice_of(&server, &token, &id, &data, SLICE, no).await.ok();
    }
    h.slice_of(&server, &token, &id, &data, SLICE, 2).await.ok();
    h.slice_of(&server, &token, &id, &data, SLICE, 5).await.ok();
    h.complete(&token, &id).await.ok();
    let blob = std::fs::read(h.dir.path().join("blobs").join(md5_hex(&data))).unwrap();
    assert_eq!(blob, data);
}

#[tokio::test]
async fn a_name_taken_before_completion_keeps_the_content_and_the_upload() {
    let h = Harness::start().await;
    let token = h.token().await;
    let data = bytes(2500, 25);
    let created = h.create(&token, 0, "same.bin", &data, json!({})).await;
    let id = created.ok()["preuploadID"].as_str().unwrap().to_owned();
    for no in 1..=3 {
        h.slice_of(&h.api(), &token, &id, &data, TEST_SLICE, no).await.ok();
    }
    // Another upload takes the name first.
    h.upload(&token, 0, "same.bin", &bytes(1200, 26), json!({})).await;
    assert!(h.complete(&token, &id).await.err(1).contains("重名"));
    // The verified content is kept, so creating it again is instant; the upload itself stays open.
    assert_eq!(h.create(&token, 0, "other.bin", &data, json!({})).await.ok()["reuse"], true);
    assert!(h.complete(&token, &id).await.err(1).contains("重名"));
    assert!(h.dir.path().join("sessions").join(&id).is_file());
}
