//! Completing chunked uploads: the readiness check, whole-file verification, blob assembly and the file
//! entry; plus the start-up clean-up of slice folders nobody will complete.
//!
//! Blocking code, like `sessions`; the same lock order applies (session digest, then database).

use rusqlite::{Connection, params};
use tempfile::TempPath;

use super::envelope::ApiError;
use super::sessions::{MSG_NO_SESSION, Session, Uploads, advance, load, relock, slice_path, stored_slices};
use super::tree;
use crate::error::FakeCloudError;
use crate::store::Store;

/// Message when the assembled file's MD5 differs from the create's `etag`.
pub(crate) const MSG_UPLOAD_FAILED: &str = "文件上传失败";

/// Where a session stands when `upload_complete` is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Every slice is stored; completing can start.
    Ready,
    /// Already completed as this file id.
    Completed(i64),
}

/// Checks that session `id` exists and has all its slices.
pub(crate) fn readiness(conn: &Connection, id: &str) -> Result<Readiness, ApiError> {
    let session = load(conn, id)?.ok_or_else(|| ApiError::failed(MSG_NO_SESSION))?;
    if let Some(file_id) = session.file_id {
        return Ok(Readiness::Completed(file_id));
    }
    let have: u32 = conn.query_row("SELECT COUNT(*) FROM pan123_slices WHERE session_id = ?1", params![id], |r| {
        r.get(0)
    })?;
    let missing = session.slice_count().saturating_sub(have);
    if missing > 0 {
        return Err(ApiError::failed(format!(
            "还有{missing}个分片未上传,共{}个分片",
            session.slice_count()
        )));
    }
    Ok(Readiness::Ready)
}

/// Completes session `id`: verifies the whole MD5, stores the blob and creates the file entry. Returns
/// the file id; calling it again after success returns the same id.
pub(crate) fn finish(store: &Store, uploads: &Uploads, id: &str) -> Result<i64, ApiError> {
    let digest = uploads.digest(id);
    let mut digest = relock(&digest);
    let (session, stored) = {
        let conn = store.db();
        (
            load(&conn, id)?.ok_or_else(|| ApiError::failed(MSG_NO_SESSION))?,
            stored_slices(&conn, id)?,
        )
    };
    if let Some(file_id) = session.file_id {
        return Ok(file_id);
    }
    let missing = session
        .slice_count()
        .saturating_sub(u32::try_from(stored.len()).unwrap_or(u32::MAX));
    if missing > 0 {
        return Err(ApiError::failed(format!(
            "还有{missing}个分片未上传,共{}个分片",
            session.slice_count()
        )));
    }
    advance(&mut digest, store, &session, &stored)?;
    let whole = std::mem::take(&mut *digest)
        .md5
        .ok_or_else(|| FakeCloudError::Corrupt("digest vanished".into()))?;
    let actual = whole.finish_hex()?;
    if actual != session.md5 {
        tracing::info!(expected = %session.md5, %actual, "upload discarded: whole-file MD5 mismatch");
        drop(digest);
        discard(store, uploads, id)?;
        return Err(ApiError::failed(MSG_UPLOAD_FAILED));
    }

    if !Store::has_blob(&store.db(), &session.md5, session.size)? {
        let temp = assemble(store, &session)?;
        store.put_blob(&store.db(), &session.md5, session.size, temp)?;
    }

    let file_id = {
        let mut conn = store.db();
        let tx = conn.transaction()?;
        let placed = tree::place_file(&tx, session.parent_id, &session.name, session.size, &session.md5, session.policy)?;
        let Ok(file_id) = placed else {
            return Err(ApiError::failed(tree::MSG_FILE_CLASH));
        };
        tx.execute("UPDATE pan123_sessions SET file_id = ?1 WHERE id = ?2", params![file_id, id])?;
        tx.execute("DELETE FROM pan123_slices WHERE session_id = ?1", params![id])?;
        tx.commit()?;
        file_id
    };
    remove_dir_quietly(store, id);
    drop(digest);
    uploads.forget(id);
    Ok(file_id)
}

/// Concatenates the slices into a temp file. `std::io::copy` between two files uses in-kernel copying
/// (`copy_file_range`) on Linux, so this costs no user-space buffer.
fn assemble(store: &Store, session: &Session) -> Result<TempPath, FakeCloudError> {
    let (mut out, temp) = store.temp_file()?;
    let mut total = 0u64;
    for no in 1..=session.slice_count() {
        let path = slice_path(store, &session.id, no);
        let mut part = std::fs::File::open(&path).map_err(|e| FakeCloudError::io(&path, e))?;
        total += std::io::copy(&mut part, &mut out).map_err(|e| FakeCloudError::io(&path, e))?;
    }
    if total != session.size {
        return Err(FakeCloudError::Corrupt(format!(
            "session {} assembled {total} of {} bytes",
            session.id, session.size
        )));
    }
    Ok(temp)
}

/// Deletes session `id` with its slices.
fn discard(store: &Store, uploads: &Uploads, id: &str) -> Result<(), FakeCloudError> {
    {
        let conn = store.db();
        conn.execute("DELETE FROM pan123_slices WHERE session_id = ?1", params![id])?;
        conn.execute("DELETE FROM pan123_sessions WHERE id = ?1", params![id])?;
    }
    remove_dir_quietly(store, id);
    uploads.forget(id);
    Ok(())
}

fn remove_dir_quietly(store: &Store, id: &str) {
    let dir = store.session_dir(id);
    if let Err(e) = std::fs::remove_dir_all(&dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "could not remove the slices of a finished upload");
    }
}

/// Removes slice folders that belong to no open session (left behind by a crash). Run at start-up.
pub(crate) fn remove_orphans(store: &Store) -> Result<(), FakeCloudError> {
    let root = store.sessions_root();
    let entries = std::fs::read_dir(&root).map_err(|e| FakeCloudError::io(&root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| FakeCloudError::io(&root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let open = load(&store.db(), &name)?.is_some_and(|s| s.file_id.is_none());
        if !open {
            remove_dir_quietly(store, &name);
        }
    }
    Ok(())
}
