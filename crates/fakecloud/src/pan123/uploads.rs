//! Open chunked uploads in memory, and storing their slices.
//!
//! The first request that names an upload loads its session and stored-slice list from the database into
//! an [`Upload`]; later slices of that upload need no database read, and each costs one database write
//! (the stored-slice record that lets a restart know which slices are there). Slices are written in place
//! into the session file. A slice is recorded only once its bytes are written, and a re-sent slice's
//! record is deleted before its bytes are overwritten, so after a crash the database never counts a slice
//! whose bytes are not all there.
//!
//! Blocking code, like `sessions`. Lock order: the registry, then an upload's state, then the database.
//! An upload's MD5 worker takes no lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::params;

use super::digest::{Digester, Stored};
use super::envelope::ApiError;
use super::session_file::{SessionFile, SliceWriter};
use super::sessions::{ReceivedSlice, Session, SliceBody, open_session, stored_slices};
use crate::hashing::is_md5_hex;
use crate::store::Store;

/// Message for a slice of an upload that has been completed.
pub(crate) const MSG_ALREADY_COMPLETED: &str = "该文件已上传完成,不能再上传分片";

/// The open uploads this process has seen, the `upload_complete` poll counts and the slice writer.
#[derive(Default)]
pub(crate) struct Uploads {
    open: Mutex<HashMap<String, Arc<Upload>>>,
    polls: Mutex<HashMap<String, u32>>,
    writer: SliceWriter,
}

/// One open upload.
pub(crate) struct Upload {
    file: SessionFile,
    state: Mutex<UploadState>,
}

/// What changes while an upload is open.
pub(super) struct UploadState {
    /// The stored slices and their MD5 (what `pan123_slices` holds for this upload).
    pub(super) slices: BTreeMap<u32, String>,
    /// The running MD5 worker, started by the first slice stored after the upload was loaded.
    pub(super) digester: Option<Digester>,
    /// Once the upload has been completed or discarded: the answer to a late slice.
    pub(super) closed: Option<&'static str>,
}

pub(super) fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Upload {
    /// The session.
    pub(crate) fn session(&self) -> &Session {
        &self.file.session
    }

    /// The session and its file.
    pub(super) fn file(&self) -> &SessionFile {
        &self.file
    }

    /// Locks the state.
    pub(super) fn lock(&self) -> MutexGuard<'_, UploadState> {
        relock(&self.state)
    }
}

impl Uploads {
    /// Upload `id` if it is already in memory; never blocks on the database, so async code may call it.
    pub(crate) fn cached(&self, id: &str) -> Option<Arc<Upload>> {
        relock(&self.open).get(id).cloned()
    }

    /// Upload `id`, loaded on first use; an error when it is unknown or already completed. Blocking.
    pub(crate) fn open(&self, store: &Store, id: &str) -> Result<Arc<Upload>, ApiError> {
        let mut open = relock(&self.open);
        if let Some(upload) = open.get(id) {
            return Ok(Arc::clone(upload));
        }
        let (session, slices) = {
            let conn = store.db();
            (open_session(&conn, id)?, stored_slices(&conn, id)?)
        };
        let upload = Arc::new(Upload {
            file: SessionFile {
                path: store.session_file(id),
                session,
            },
            state: Mutex::new(UploadState {
                slices,
                digester: None,
                closed: None,
            }),
        });
        open.insert(id.to_owned(), Arc::clone(&upload));
        Ok(upload)
    }

    /// Drops upload `id` from memory (stopping its MD5 worker unless a request still holds it).
    pub(super) fn forget(&self, id: &str) {
        let (upload, none_open) = {
            let mut open = relock(&self.open);
            (open.remove(id), open.is_empty())
        };
        relock(&self.polls).remove(id);
        drop(upload);
        if none_open {
            self.writer.release_buffers();
        }
    }

    /// Counts one `upload_complete` poll of session `id`; returns its 1-based number.
    pub(crate) fn next_poll(&self, id: &str) -> u32 {
        let mut polls = relock(&self.polls);
        let n = polls.entry(id.to_owned()).or_default();
        *n = n.saturating_add(1);
        *n
    }
}

/// Checks a received slice and stores it under its number (the last copy wins). Blocking: the slice MD5
/// is computed here, in one pass over the memory.
pub(crate) fn commit_slice(store: &Store, uploads: &Uploads, slice: ReceivedSlice) -> Result<(), ApiError> {
    let upload = uploads.open(store, &slice.upload_id)?;
    let session = upload.session();
    let count = session.slice_count();
    let no = slice.slice_no;
    if !(1..=count).contains(&no) {
        return Err(ApiError::failed(format!("sliceNo {no} 超出范围,应为1到{count}")));
    }
    let expected = session.slice_len(no);
    let len = slice.body.len();
    if len != expected {
        return Err(ApiError::failed(format!("分片{no}大小错误:应为{expected}字节,实际收到{len}字节")));
    }
    if !is_md5_hex(&slice.claimed_md5) {
        return Err(ApiError::failed("sliceMD5格式错误,应为32位十六进制MD5"));
    }
    let md5 = match &slice.body {
        SliceBody::Memory(bytes) => bytes.md5_hex()?,
        SliceBody::Spooled { md5, .. } => md5.clone(),
    };
    if !slice.claimed_md5.eq_ignore_ascii_case(&md5) {
        return Err(ApiError::failed(format!(
            "分片{no}的MD5校验失败:sliceMD5为{},收到的数据为{md5}",
            slice.claimed_md5
        )));
    }

    // Held while the slice is written, so that two copies of one slice cannot interleave on disk and the
    // worker learns of the copies in the order they were written.
    let mut state = upload.lock();
    if let Some(why) = state.closed {
        return Err(ApiError::failed(why));
    }
    let previous = state.slices.remove(&no);
    let written = store_slice(store, &uploads.writer, upload.file(), no, &slice.body, &md5, previous.is_some());
    if let Err(e) = written {
        if previous.is_some() {
            // The run the worker hashed may hold bytes that are now partly overwritten.
            state.digester = None;
        }
        return Err(e);
    }
    let replaced = previous.is_some_and(|p| p != md5);
    state.slices.insert(no, md5);
    let bytes = match slice.body {
        SliceBody::Memory(bytes) => Some(bytes),
        SliceBody::Spooled { .. } => None,
    };
    feed(&mut state, upload.file(), Stored { no, bytes, replaced });
    Ok(())
}

/// Writes slice `no` and records it, un-recording an earlier copy first.
fn store_slice(
    store: &Store,
    writer: &SliceWriter,
    file: &SessionFile,
    no: u32,
    body: &SliceBody,
    md5: &str,
    had_copy: bool,
) -> Result<(), ApiError> {
    let id = &file.session.id;
    if had_copy {
        store
            .db()
            .execute("DELETE FROM pan123_slices WHERE session_id = ?1 AND slice_no = ?2", params![id, no])?;
    }
    writer.write(file, no, body)?;
    store.db().execute(
        "INSERT INTO pan123_slices (session_id, slice_no, md5) VALUES (?1, ?2, ?3)
         ON CONFLICT (session_id, slice_no) DO UPDATE SET md5 = excluded.md5",
        params![id, no, md5],
    )?;
    Ok(())
}

/// Hands a stored slice to the upload's MD5 worker, starting one when there is none or it has ended (then
/// from the digest it handed back). Without a worker (it could not start) completion rebuilds the digest
/// from the session file.
fn feed(state: &mut UploadState, file: &SessionFile, stored: Stored) {
    let stored = match &state.digester {
        Some(digester) => match digester.send(stored) {
            Ok(()) => return,
            Err(stored) => stored,
        },
        None => stored,
    };
    let digest = state.digester.take().and_then(Digester::finish);
    let earlier = state.slices.keys().copied().filter(|n| *n != stored.no).collect();
    let digester = match Digester::spawn(file.clone(), digest, earlier) {
        Ok(digester) => digester,
        Err(e) => {
            tracing::warn!(error = %e, "no MD5 worker for an upload; completion will hash it");
            return;
        }
    };
    // A new worker takes slices until it has waited for one for a while.
    if digester.send(stored).is_ok() {
        state.digester = Some(digester);
    }
}
