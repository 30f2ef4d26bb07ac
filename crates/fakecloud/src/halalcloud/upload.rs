//! `POST /v6/userfile/create_upload_task` (spec §6.1–2) and the upload tasks it records.
//!
//! A task remembers its target path, size and block size and expires after
//! [`crate::HalalCloudConfig::upload_task_lifetime`]. Its bytes come through the upload host (`host`);
//! the folder is checked again when the task is finished.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use rusqlite::{Connection, OptionalExtension, params};

use super::Halal;
use super::cid::{CODEC_RAW, HASH_SHA2_256};
use super::files::with_db;
use super::proto::Obj;
use super::status::{Code, HalalError};
use super::tokens::now_ms;
use super::tree;
use crate::store::to_i64;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS halal_upload_tasks (
    task        TEXT PRIMARY KEY NOT NULL,
    path        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    block_size  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    finish_cids TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS halal_blocks (
    cid  TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL
);
";

/// One upload task.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) block_size: u64,
    pub(crate) expires_ms: i64,
    /// The CID list of the finish that completed it (JSON text), or `""`.
    pub(crate) finish_cids: String,
    /// The answer of that finish (JSON text), or `""`.
    pub(crate) result: String,
}

/// The task `task`; unknown or expired → 404 whose message says `not found`.
pub(crate) fn task(conn: &Connection, task: &str) -> Result<Task, HalalError> {
    let row = conn
        .query_row(
            "SELECT path, size, block_size, expires_ms, finish_cids, result FROM halal_upload_tasks WHERE task = ?1",
            params![task],
            |r| {
                Ok(Task {
                    path: r.get(0)?,
                    size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    block_size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    expires_ms: r.get(3)?,
                    finish_cids: r.get(4)?,
                    result: r.get(5)?,
                })
            },
        )
        .optional()?;
    match row {
        Some(t) if t.expires_ms > now_ms() => Ok(t),
        Some(_) => Err(HalalError::not_found(format!("upload task {task} not found (expired)"))),
        None => Err(HalalError::not_found(format!("upload task {task} not found"))),
    }
}

/// The task `task`, which must not be finished yet (else 404 as well).
pub(crate) fn open_task(conn: &Connection, id: &str) -> Result<Task, HalalError> {
    let t = task(conn, id)?;
    if t.result.is_empty() {
        Ok(t)
    } else {
        Err(HalalError::not_found(format!("upload task {id} not found (already finished)")))
    }
}

/// Records the answer of a successful finish.
pub(crate) fn mark_finished(conn: &Connection, id: &str, cids: &str, result: &str) -> Result<(), HalalError> {
    conn.execute(
        "UPDATE halal_upload_tasks SET finish_cids = ?2, result = ?3 WHERE task = ?1",
        params![id, cids, result],
    )?;
    Ok(())
}

/// `POST /v6/userfile/create_upload_task` `{path, size, content_identity?}`.
pub(crate) async fn create_upload_task(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |h, conn, msg| {
        let path = msg.required_str("path")?;
        let size = msg.int64("size")?.unwrap_or(0);
        let size = u64::try_from(size).map_err(|_| HalalError::invalid("size must not be negative"))?;
        let content_identity = msg.str("content_identity")?;
        let (parent_path, _) = tree::split(&path)?;
        let tx = conn.transaction()?;
        tree::folder(&tx, &parent_path)?;
        if let Some(existing) = tree::by_path(&tx, &path)? {
            if !existing.dir && existing.size == size && content_identity.as_deref() == Some(existing.content_identity.as_str()) {
                return Ok(Obj::new().bool("created", true).into_value());
            }
            return Err(HalalError::exists(format!("{path} already exists")));
        }
        let (used, _) = tree::usage(&tx)?;
        let free = h.config.quota_bytes.saturating_sub(u64::try_from(used).unwrap_or(0));
        if size > free {
            return Err(HalalError::new(
                Code::ResourceExhausted,
                format!("not enough space: {size} bytes asked, {free} free"),
            ));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let lifetime = i64::try_from(h.config.upload_task_lifetime.as_millis()).unwrap_or(i64::MAX / 4);
        tx.execute(
            "INSERT INTO halal_upload_tasks (task, path, size, block_size, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                path,
                to_i64(size)?,
                to_i64(h.config.block_size)?,
                now_ms().saturating_add(lifetime)
            ],
        )?;
        tx.commit()?;
        Ok(Obj::new()
            .str("task", &id)
            .str("upload_address", &h.upload_address())
            .int64("block_size", to_i64(h.config.block_size)?)
            .int32("block_hash_type", i32::from(HASH_SHA2_256))
            .int32("block_codec", i32::from(CODEC_RAW))
            .into_value())
    })
    .await
}
