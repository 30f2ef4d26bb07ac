//! The upload host (spec §6.4–7), under `/halalcloud-upload`, without auth.
//!
//! | request | answer |
//! |---|---|
//! | `GET /{task}/{cid}`, `Accept: application/json` | 200 `true` when a block with this CID is stored (by any task: dedup is content-addressed across the cloud), else `false` |
//! | `POST /{task}/{cid}`, `Content-Type: application/octet-stream`, the block | 200 `{}` once stored under `<data_dir>/halal-blocks/<cid>` |
//! | `POST /{task}`, `Content-Type: application/json`, the CIDs in file order | 200 `{identity, user_identity, path, size: <number>, content_identity}` |
//!
//! Errors (gateway shape): an unknown, expired or finished task → 404 `upload task … not found`; a
//! malformed CID, a block whose CID does not match its bytes, an empty block, one larger than the task's
//! `block_size`, a missing `Accept`/`Content-Type` → 400. Block lengths are checked at the finish, when the
//! order is known: every block but the last exactly `block_size`, the last 1..=`block_size`, the sum equal
//! to the task's size (else 400 code 3); a CID that was never uploaded → 400 code 9 (its message avoids the
//! words "not found", which clients read as "task gone"). The folder must still exist (404) and the path
//! be free (409). A repeated finish with the same list answers the same file.

use std::io::{Read, Write};
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::cid::{cid_of, is_valid};
use super::status::{HalalError, failure, reply};
use super::tree::{self, USER_IDENTITY};
use super::upload::{self, Task};
use super::{Halal, ROUTE_UPLOAD_BLOCK};
use crate::error::FakeCloudError;
use crate::hashing::Md5;
use crate::store::{Store, to_i64};

fn media_type_is(headers: &HeaderMap, name: header::HeaderName, wanted: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| m.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(wanted)))
}

fn check_cid(cid: &str) -> Result<(), HalalError> {
    if is_valid(cid) {
        Ok(())
    } else {
        Err(HalalError::invalid(format!(
            "{cid:?} is not a CIDv1 raw/sha2-256 in lower-case base32 (b…, 59 characters)"
        )))
    }
}

fn block_size(conn: &Connection, cid: &str) -> Result<Option<u64>, FakeCloudError> {
    let size: Option<i64> = conn
        .query_row("SELECT size FROM halal_blocks WHERE cid = ?1", params![cid], |r| r.get(0))
        .optional()?;
    Ok(size.and_then(|s| u64::try_from(s).ok()))
}

/// `GET /{task}/{cid}`.
pub(crate) async fn probe(State(h): State<Arc<Halal>>, Path((task, cid)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if !media_type_is(&headers, header::ACCEPT, "application/json") {
        return failure(HalalError::invalid("a probe must send Accept: application/json"));
    }
    if let Err(e) = check_cid(&cid) {
        return failure(e);
    }
    let id = task.clone();
    let found = h
        .store
        .blocking(move |s| -> Result<bool, HalalError> {
            let conn = s.db();
            upload::open_task(&conn, &id)?;
            Ok(block_size(&conn, &cid)?.is_some())
        })
        .await;
    match found {
        Ok(hit) => {
            h.stats.halal_probe(&task, hit);
            Json(hit).into_response()
        }
        Err(e) => failure(e),
    }
}

/// `POST /{task}/{cid}`.
pub(crate) async fn block(
    State(h): State<Arc<Halal>>,
    Path((task, cid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !media_type_is(&headers, header::CONTENT_TYPE, "application/octet-stream") {
        return failure(HalalError::invalid(
            "a block must be sent as Content-Type: application/octet-stream",
        ));
    }
    if let Err(e) = check_cid(&cid) {
        return failure(e);
    }
    let id = task.clone();
    let limit = match h.store.blocking(move |s| upload::open_task(&s.db(), &id)).await {
        Ok(t) => t.block_size,
        Err(e) => return failure(e),
    };
    let data = match axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await {
        Ok(d) => d,
        Err(_) => {
            return failure(HalalError::invalid(format!(
                "the block is larger than block_size {limit} (or was cut)"
            )));
        }
    };
    if data.is_empty() {
        return failure(HalalError::invalid("a block must not be empty"));
    }
    let len = data.len() as u64;
    // Counted where it is stored: the blocking store finishes even when the client goes away (a killed
    // upload) and this handler is dropped, and a stored block must show in the counters.
    let stored = h.store.blocking({
        let h = Arc::clone(&h);
        move |s| {
            store_block(s, &h, &cid, &data)?;
            h.stats.halal_block(&task, len);
            h.stats.bytes(ROUTE_UPLOAD_BLOCK, len);
            Ok::<_, HalalError>(())
        }
    });
    match stored.await {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => failure(e),
    }
}

/// Checks the CID of `data` and stores it (once per CID). Blocking.
fn store_block(store: &Store, h: &Halal, cid: &str, data: &[u8]) -> Result<(), HalalError> {
    let actual = cid_of(data);
    if actual != cid {
        return Err(HalalError::invalid(format!("the CID of the block is {actual}, not {cid}")));
    }
    let target = h.blocks_dir.join(cid);
    if block_size(&store.db(), cid)?.is_some() && target.exists() {
        return Ok(());
    }
    let (mut file, temp) = store.temp_file()?;
    file.write_all(data).map_err(|e| FakeCloudError::io(&temp, e))?;
    drop(file);
    temp.persist(&target).map_err(|e| FakeCloudError::io(&target, e.error))?;
    store.db().execute(
        "INSERT OR REPLACE INTO halal_blocks (cid, size) VALUES (?1, ?2)",
        params![cid, to_i64(data.len() as u64)?],
    )?;
    Ok(())
}

/// `POST /{task}`.
pub(crate) async fn finish(State(h): State<Arc<Halal>>, Path(task): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if !media_type_is(&headers, header::CONTENT_TYPE, "application/json") {
        return failure(HalalError::invalid("the finish must be sent as Content-Type: application/json"));
    }
    let cids: Vec<String> = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return failure(HalalError::invalid(format!("the body must be a JSON array of CID strings: {e}"))),
    };
    let h2 = Arc::clone(&h);
    reply(h.store.blocking(move |s| finish_task(s, &h2, &task, &cids)).await)
}

/// Checks the block list and places the file. Blocking.
fn finish_task(store: &Store, h: &Halal, id: &str, cids: &[String]) -> Result<Value, HalalError> {
    let listed = serde_json::to_string(cids).map_err(|e| FakeCloudError::Corrupt(e.to_string()))?;
    let t = upload::task(&store.db(), id)?;
    if !t.result.is_empty() {
        if t.finish_cids == listed {
            return serde_json::from_str(&t.result).map_err(|e| FakeCloudError::Corrupt(e.to_string()).into());
        }
        return Err(HalalError::not_found(format!("upload task {id} not found (already finished)")));
    }
    let sizes = check_blocks(&store.db(), &t, cids)?;
    let (temp, md5, sha256) = assemble(store, h, cids, &sizes)?;
    let mut conn = store.db();
    let tx = conn.transaction()?;
    let (parent_path, name) = tree::split(&t.path)?;
    let parent = tree::folder(&tx, &parent_path)?;
    let content = tree::content_for(&tx, t.size, &md5, &sha256)?;
    let entry = tree::create(&tx, &parent, &name, Some(&content))?;
    store.put_blob(&tx, &md5, t.size, temp)?;
    let answer = json!({
        "identity": entry.identity, "user_identity": USER_IDENTITY, "path": entry.path,
        "size": t.size, "content_identity": content.identity,
    });
    upload::mark_finished(&tx, id, &listed, &answer.to_string())?;
    tx.commit()?;
    Ok(answer)
}

/// The size of every listed block, checked against the task (see the module docs).
fn check_blocks(conn: &Connection, t: &Task, cids: &[String]) -> Result<Vec<u64>, HalalError> {
    let mut sizes = Vec::with_capacity(cids.len());
    for (i, cid) in cids.iter().enumerate() {
        check_cid(cid)?;
        let size = block_size(conn, cid)?.ok_or_else(|| HalalError::precondition(format!("block {i} ({cid}) was never uploaded")))?;
        let last = i + 1 == cids.len();
        if (!last && size != t.block_size) || size > t.block_size {
            return Err(HalalError::invalid(format!(
                "block {i} has {size} bytes; every block but the last must have block_size {} bytes",
                t.block_size
            )));
        }
        sizes.push(size);
    }
    let total: u64 = sizes.iter().sum();
    if total != t.size {
        return Err(HalalError::invalid(format!(
            "the blocks hold {total} bytes, the task was created for {} bytes",
            t.size
        )));
    }
    Ok(sizes)
}

/// Concatenates the blocks into a temp file; answers it with its MD5 and SHA-256 (hex).
fn assemble(store: &Store, h: &Halal, cids: &[String], sizes: &[u64]) -> Result<(tempfile::TempPath, String, String), HalalError> {
    let (mut out, temp) = store.temp_file()?;
    let mut md5 = Md5::new()?;
    let mut sha = Sha256::new();
    let mut buf = Vec::new();
    for (cid, size) in cids.iter().zip(sizes) {
        let path = h.blocks_dir.join(cid);
        buf.clear();
        std::fs::File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| FakeCloudError::io(&path, e))?;
        if buf.len() as u64 != *size {
            return Err(FakeCloudError::Corrupt(format!("block file {} has the wrong size", path.display())).into());
        }
        md5.update(&buf)?;
        sha.update(&buf);
        out.write_all(&buf).map_err(|e| FakeCloudError::io(&temp, e))?;
    }
    drop(out);
    Ok((temp, md5.finish_hex()?, hex::encode(sha.finalize())))
}
