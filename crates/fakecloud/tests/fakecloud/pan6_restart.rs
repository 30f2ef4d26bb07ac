//! 6pan and WCS state lives in the data dir: files, session tokens and blocks in progress survive a restart.

use serde_json::json;

use crate::sixpan::{BLOCK, MIB, Six, bytes, etag};

#[tokio::test]
async fn files_tokens_and_blocks_survive_a_restart() {
    let mut six = Six::start().await;
    let mut s = six.login(true).await;
    let done = bytes(1000, 50);
    let r = six
        .call(&mut s, "/v2/upload/token", json!({ "path": "/keep", "name": "done.bin" }))
        .await;
    let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    assert_eq!(six.slice_upload(&six.wcs(), &token, &done, MIB).await.status, 200);

    // An upload left half-way: block 0 complete, block 1 with one chunk of two.
    let pending = bytes(BLOCK + 2 * MIB, 51);
    let r = six
        .call(&mut s, "/v2/upload/token", json!({ "path": "/keep", "name": "pending.bin" }))
        .await;
    let token = r.ok()["uploadInfo"]["uploadToken"].as_str().unwrap().to_owned();
    let c0 = six.block(&six.wcs(), &token, "resume", &pending, 0, 2 * MIB).await;
    let half = six
        .mkblk(&six.wcs(), &token, "resume", 2 * MIB, 1, &pending[BLOCK..BLOCK + MIB])
        .await;
    let half_ctx = half.body["ctx"].as_str().unwrap().to_owned();

    six.restart().await;

    assert_eq!(six.files().await[0]["path"], "/keep/done.bin");
    // The session token is still valid, and the content is still known.
    let r = six
        .call(
            &mut s,
            "/v2/upload/token",
            json!({ "path": "/keep", "name": "copy.bin", "hash": etag(&done) }),
        )
        .await;
    assert_eq!(r.ok()["hashCached"], true);
    // The upload goes on where it stopped.
    let last = six
        .bput(&six.wcs(), &token, "resume", &half_ctx, MIB as u64, &pending[BLOCK + MIB..])
        .await;
    let c1 = last.body["ctx"].as_str().unwrap().to_owned();
    let finished = six.mkfile(&six.wcs(), &token, "resume", pending.len(), "", &[c0, c1]).await;
    assert_eq!(finished.body["hash"], etag(&pending));
    // Block files are gone once assembled.
    assert_eq!(std::fs::read_dir(six.dir.path().join("wcs-blocks")).unwrap().count(), 0);
    if let Some(cloud) = six.cloud.take() {
        cloud.shutdown().await;
    }
}
