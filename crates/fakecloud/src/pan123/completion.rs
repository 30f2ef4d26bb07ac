//! Completing chunked uploads: the readiness check, whole-file verification, storing the session file as
//! the blob and the file entry; plus the start-up tidying of session files.
//!
//! Blocking code, like `uploads`; the same lock order applies (upload state, then database).

use rusqlite::{Connection, params};

use super::digest::{Digester, RunningDigest};
use super::envelope::ApiError;
use super::session_file::SessionFile;
use super::sessions::{MSG_NO_SESSION, Session, load, stored_slices};
use super::tree;
use super::uploads::{MSG_ALREADY_COMPLETED, Uploads};
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
    let upload = match uploads.open(store, id) {
        Ok(upload) => upload,
        // Unknown, or completed (maybe a moment ago by a concurrent call).
        Err(e) => return completed_id(store, id)?.ok_or(e),
    };
    let mut state = upload.lock();
    if state.closed.is_some() {
        drop(state);
        return completed_id(store, id)?.ok_or_else(|| ApiError::failed(MSG_NO_SESSION));
    }
    let file = upload.file();
    let session = &file.session;
    let missing = session
        .slice_count()
        .saturating_sub(u32::try_from(state.slices.len()).unwrap_or(u32::MAX));
    if missing > 0 {
        return Err(ApiError::failed(format!(
            "还有{missing}个分片未上传,共{}个分片",
            session.slice_count()
        )));
    }
    // The worker has hashed all but (at most) the slices still in its queue; without one (after a restart
    // or a failure) the digest is built here from the session file.
    let mut digest = match state.digester.take().and_then(Digester::finish) {
        Some(digest) => digest,
        None => RunningDigest::new()?,
    };
    digest.catch_up(file, &state.slices)?;
    if !digest.covers(file) {
        return Err(FakeCloudError::Corrupt(format!("session {id} digest stopped short")).into());
    }
    let actual = digest.finish_hex()?;
    if actual != session.md5 {
        tracing::info!(expected = %session.md5, %actual, "upload discarded: whole-file MD5 mismatch");
        state.closed = Some(MSG_NO_SESSION);
        drop(state);
        discard(store, uploads, id)?;
        return Err(ApiError::failed(MSG_UPLOAD_FAILED));
    }

    let placed = {
        let mut conn = store.db();
        let tx = conn.transaction()?;
        match tree::place_file(&tx, session.parent_id, &session.name, session.size, &session.md5, session.policy)? {
            // Dropping the transaction rolls it back.
            Err(_) => None,
            Ok(file_id) => {
                if !Store::has_blob(&tx, &session.md5, session.size)? {
                    check_length(file)?;
                    // The session file is the whole file already: a rename, no copy.
                    store.put_blob_from(&tx, &session.md5, session.size, &file.path)?;
                }
                tx.execute("UPDATE pan123_sessions SET file_id = ?1 WHERE id = ?2", params![file_id, id])?;
                tx.execute("DELETE FROM pan123_slices WHERE session_id = ?1", params![id])?;
                tx.commit()?;
                Some(file_id)
            }
        }
    };
    let Some(file_id) = placed else {
        // The verified content is stored all the same (creating it again is then instant), while the
        // upload stays open with its own file; a later call rebuilds the digest from it.
        keep_copy(store, file)?;
        return Err(ApiError::failed(tree::MSG_FILE_CLASH));
    };
    state.closed = Some(MSG_ALREADY_COMPLETED);
    drop(state);
    remove_quietly(store, id);
    uploads.forget(id);
    Ok(file_id)
}

/// The file id of session `id` if it has been completed.
fn completed_id(store: &Store, id: &str) -> Result<Option<i64>, FakeCloudError> {
    Ok(load(&store.db(), id)?.and_then(|s| s.file_id))
}

/// Stores a copy of the verified session file as its blob, unless that blob exists.
fn keep_copy(store: &Store, file: &SessionFile) -> Result<(), FakeCloudError> {
    let session = &file.session;
    if Store::has_blob(&store.db(), &session.md5, session.size)? {
        return Ok(());
    }
    check_length(file)?;
    let (mut out, temp) = store.temp_file()?;
    let mut from = std::fs::File::open(&file.path).map_err(|e| FakeCloudError::io(&file.path, e))?;
    // An in-kernel copy (`copy_file_range`) on Linux.
    std::io::copy(&mut from, &mut out).map_err(|e| FakeCloudError::io(&*temp, e))?;
    store.put_blob(&store.db(), &session.md5, session.size, temp)
}

/// Checks that the session file holds exactly the announced size.
fn check_length(file: &SessionFile) -> Result<(), FakeCloudError> {
    let len = std::fs::metadata(&file.path).map_err(|e| FakeCloudError::io(&file.path, e))?.len();
    if len != file.session.size {
        return Err(FakeCloudError::Corrupt(format!(
            "session {} holds {len} of {} bytes",
            file.session.id, file.session.size
        )));
    }
    Ok(())
}

/// Deletes session `id` with its file.
fn discard(store: &Store, uploads: &Uploads, id: &str) -> Result<(), FakeCloudError> {
    {
        let conn = store.db();
        conn.execute("DELETE FROM pan123_slices WHERE session_id = ?1", params![id])?;
        conn.execute("DELETE FROM pan123_sessions WHERE id = ?1", params![id])?;
    }
    remove_quietly(store, id);
    uploads.forget(id);
    Ok(())
}

/// Removes the session file of `id` (a folder of slices in data dirs of earlier versions).
fn remove_quietly(store: &Store, id: &str) {
    let path = store.session_file(id);
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(&path)
    } else {
        std::fs::remove_file(&path)
    };
    if let Err(e) = removed
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "could not remove the session file of a finished upload");
    }
}

/// Run at start-up: removes session files that belong to no open session (left behind by a crash), and
/// turns the slice folders of open sessions written by earlier versions (`sessions/<id>/<sliceNo>`) into
/// session files.
pub(crate) fn tidy_sessions(store: &Store) -> Result<(), FakeCloudError> {
    let root = store.sessions_root();
    let entries = std::fs::read_dir(&root).map_err(|e| FakeCloudError::io(&root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| FakeCloudError::io(&root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Bound first: a temporary database guard in the `match` head would live through the arms.
        let open = load(&store.db(), &name)?.filter(|s| s.file_id.is_none());
        match open {
            None => remove_quietly(store, &name),
            Some(session) if entry.path().is_dir() => adopt_slice_folder(store, session)?,
            Some(_) => {}
        }
    }
    Ok(())
}

/// Gathers the slice files of an earlier version's session folder into a session file. A slice whose file
/// is missing is un-recorded, so the client sends it again.
fn adopt_slice_folder(store: &Store, session: Session) -> Result<(), FakeCloudError> {
    let folder = store.session_file(&session.id);
    let slices = stored_slices(&store.db(), &session.id)?;
    let (staged, temp) = store.temp_file()?;
    drop(staged);
    let staged = SessionFile {
        session,
        path: temp.to_path_buf(),
    };
    for no in slices.keys().copied() {
        let part = folder.join(no.to_string());
        if part.is_file() {
            staged.write_from(no, &part)?;
        } else {
            store.db().execute(
                "DELETE FROM pan123_slices WHERE session_id = ?1 AND slice_no = ?2",
                params![staged.session.id, no],
            )?;
        }
    }
    std::fs::remove_dir_all(&folder).map_err(|e| FakeCloudError::io(&folder, e))?;
    temp.persist(&folder).map_err(|e| FakeCloudError::io(&folder, e.error))?;
    Ok(())
}
