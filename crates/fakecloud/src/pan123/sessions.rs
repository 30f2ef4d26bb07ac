//! Chunked upload sessions: their records, slices on disk and a running whole-file MD5 (completion is in
//! `completion`).
//!
//! Each session keeps, in memory, an MD5 state fed with the longest run of slices `1..next` received so
//! far: when slice `k == next` arrives it is fed, then any already-stored slices after it. So by the time
//! `upload_complete` comes, at most the tail is left to hash. An OpenSSL hash state cannot
//! be saved, so after a restart the state is rebuilt from the slice files on first use. A re-sent slice
//! with different content inside the hashed run invalidates the state (it is rebuilt the same way).
//!
//! All functions here block (file I/O, hashing, SQLite): call them through `Store::blocking`. Lock order is
//! always session digest first, then the database, and the database lock is never held while hashing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension, params};
use tempfile::TempPath;

use super::envelope::ApiError;
use super::tree::{self, Duplicate};
use crate::error::FakeCloudError;
use crate::hashing::{Md5, is_md5_hex};
use crate::store::{Store, to_i64};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pan123_sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    parent_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    md5        TEXT NOT NULL,
    size       INTEGER NOT NULL,
    slice_size INTEGER NOT NULL,
    duplicate  INTEGER NOT NULL,
    file_id    INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pan123_slices (
    session_id TEXT NOT NULL,
    slice_no   INTEGER NOT NULL,
    md5        TEXT NOT NULL,
    PRIMARY KEY (session_id, slice_no)
);
";

/// Message when `preuploadID` names no open or completed session.
pub(crate) const MSG_NO_SESSION: &str = "preuploadID不存在";

/// One chunked upload, as stored.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The `preuploadID`.
    pub(crate) id: String,
    /// Folder the file goes to (folders of a `containDir` path were created at create time).
    pub(crate) parent_id: i64,
    /// File name inside that folder, before the duplicate policy.
    pub(crate) name: String,
    /// Announced MD5 (`etag`), lower-case hex.
    pub(crate) md5: String,
    /// Announced size in bytes.
    pub(crate) size: u64,
    /// Slice length for this upload.
    pub(crate) slice_size: u64,
    /// Name-clash policy decided at create.
    pub(crate) policy: Duplicate,
    /// Set once completed.
    pub(crate) file_id: Option<i64>,
}

impl Session {
    /// `ceil(size / slice_size)`.
    pub(crate) fn slice_count(&self) -> u32 {
        u32::try_from(self.size.div_ceil(self.slice_size)).unwrap_or(u32::MAX)
    }

    /// Exact length slice `no` must have: `slice_size`, except the last one which holds the remainder.
    pub(crate) fn slice_len(&self, no: u32) -> u64 {
        let start = u64::from(no - 1) * self.slice_size;
        self.slice_size.min(self.size - start)
    }
}

/// A long opaque `preuploadID`, safe as a directory name.
pub(crate) fn new_upload_id() -> String {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&rand::random::<[u8; 32]>());
    bytes[32..].copy_from_slice(&rand::random::<[u8; 32]>());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Stores a new session.
pub(crate) fn insert(conn: &Connection, s: &Session) -> Result<(), FakeCloudError> {
    conn.execute(
        "INSERT INTO pan123_sessions (id, parent_id, name, md5, size, slice_size, duplicate, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            s.id,
            s.parent_id,
            s.name,
            s.md5,
            to_i64(s.size)?,
            to_i64(s.slice_size)?,
            s.policy.code(),
            tree::now_text()
        ],
    )?;
    Ok(())
}

/// Loads session `id`.
pub(crate) fn load(conn: &Connection, id: &str) -> Result<Option<Session>, FakeCloudError> {
    let row = conn
        .query_row(
            "SELECT parent_id, name, md5, size, slice_size, duplicate, file_id FROM pan123_sessions WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((parent_id, name, md5, size, slice_size, dup, file_id)) = row else {
        return Ok(None);
    };
    let corrupt = || FakeCloudError::Corrupt(format!("session {id} has invalid numbers"));
    let policy = u64::try_from(dup).ok().and_then(Duplicate::from_code).ok_or_else(corrupt)?;
    let size = u64::try_from(size).map_err(|_| corrupt())?;
    let slice_size = u64::try_from(slice_size).ok().filter(|s| *s > 0).ok_or_else(corrupt)?;
    Ok(Some(Session {
        id: id.to_owned(),
        parent_id,
        name,
        md5,
        size,
        slice_size,
        policy,
        file_id,
    }))
}

/// The stored slices of session `id`: slice number → MD5.
pub(super) fn stored_slices(conn: &Connection, id: &str) -> Result<BTreeMap<u32, String>, FakeCloudError> {
    let mut stmt = conn.prepare("SELECT slice_no, md5 FROM pan123_slices WHERE session_id = ?1")?;
    let rows = stmt.query_map(params![id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The running MD5 over slices `1..next`.
#[derive(Default)]
pub(super) struct PrefixDigest {
    pub(super) md5: Option<Md5>,
    pub(super) next: u32,
}

/// In-memory state of the open sessions: running digests and `upload_complete` poll counts.
#[derive(Default)]
pub(crate) struct Uploads {
    digests: Mutex<HashMap<String, Arc<Mutex<PrefixDigest>>>>,
    polls: Mutex<HashMap<String, u32>>,
}

pub(super) fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Uploads {
    pub(super) fn digest(&self, id: &str) -> Arc<Mutex<PrefixDigest>> {
        Arc::clone(relock(&self.digests).entry(id.to_owned()).or_default())
    }

    pub(super) fn forget(&self, id: &str) {
        relock(&self.digests).remove(id);
        relock(&self.polls).remove(id);
    }

    /// Counts one `upload_complete` poll of session `id`; returns its 1-based number.
    pub(crate) fn next_poll(&self, id: &str) -> u32 {
        let mut polls = relock(&self.polls);
        let n = polls.entry(id.to_owned()).or_default();
        *n = n.saturating_add(1);
        *n
    }
}

pub(super) fn slice_path(store: &Store, id: &str, no: u32) -> PathBuf {
    store.session_dir(id).join(no.to_string())
}

/// Feeds every stored slice that extends the hashed run, (re)starting the digest when needed.
pub(super) fn advance(
    digest: &mut PrefixDigest,
    store: &Store,
    session: &Session,
    stored: &BTreeMap<u32, String>,
) -> Result<(), FakeCloudError> {
    if digest.md5.is_none() {
        *digest = PrefixDigest {
            md5: Some(Md5::new()?),
            next: 1,
        };
    }
    while digest.next <= session.slice_count() && stored.contains_key(&digest.next) {
        let fed = match digest.md5.as_mut() {
            Some(md5) => md5.update_from_file(&slice_path(store, &session.id, digest.next)),
            None => break,
        };
        if let Err(e) = fed {
            *digest = PrefixDigest::default();
            return Err(e);
        }
        digest.next += 1;
    }
    Ok(())
}

/// A slice that has been received into a temp file, with its MD5 computed on the way.
pub(crate) struct ReceivedSlice {
    /// The `preuploadID` field.
    pub(crate) upload_id: String,
    /// The `sliceNo` field.
    pub(crate) slice_no: u32,
    /// The `sliceMD5` field, as sent.
    pub(crate) claimed_md5: String,
    /// The bytes.
    pub(crate) temp: TempPath,
    /// How many bytes.
    pub(crate) len: u64,
    /// Their MD5, lower-case hex.
    pub(crate) md5: String,
}

/// The session a slice names, if it can still take slices.
pub(crate) fn open_session(conn: &Connection, id: &str) -> Result<Session, ApiError> {
    match load(conn, id)? {
        None => Err(ApiError::failed(MSG_NO_SESSION)),
        Some(s) if s.file_id.is_some() => Err(ApiError::failed("该文件已上传完成,不能再上传分片")),
        Some(s) => Ok(s),
    }
}

/// Validates a received slice and stores it under its number (overwriting an earlier copy).
pub(crate) fn commit_slice(store: &Store, uploads: &Uploads, slice: ReceivedSlice) -> Result<(), ApiError> {
    let session = open_session(&store.db(), &slice.upload_id)?;
    let count = session.slice_count();
    let no = slice.slice_no;
    if !(1..=count).contains(&no) {
        return Err(ApiError::failed(format!("sliceNo {no} 超出范围,应为1到{count}")));
    }
    let expected = session.slice_len(no);
    if slice.len != expected {
        return Err(ApiError::failed(format!(
            "分片{no}大小错误:应为{expected}字节,实际收到{}字节",
            slice.len
        )));
    }
    if !is_md5_hex(&slice.claimed_md5) {
        return Err(ApiError::failed("sliceMD5格式错误,应为32位十六进制MD5"));
    }
    if !slice.claimed_md5.eq_ignore_ascii_case(&slice.md5) {
        return Err(ApiError::failed(format!(
            "分片{no}的MD5校验失败:sliceMD5为{},收到的数据为{}",
            slice.claimed_md5, slice.md5
        )));
    }

    let digest = uploads.digest(&session.id);
    let mut digest = relock(&digest);
    // A concurrent completion may have won the race while this slice was checked.
    if let Err(e) = open_session(&store.db(), &session.id) {
        uploads.forget(&session.id);
        return Err(e);
    }
    let dir = store.session_dir(&session.id);
    std::fs::create_dir_all(&dir).map_err(|e| FakeCloudError::io(&dir, e))?;
    let target = slice_path(store, &session.id, no);
    slice.temp.persist(&target).map_err(|e| FakeCloudError::io(&target, e.error))?;
    let stored = {
        let conn = store.db();
        let previous: Option<String> = conn
            .query_row(
                "SELECT md5 FROM pan123_slices WHERE session_id = ?1 AND slice_no = ?2",
                params![session.id, no],
                |r| r.get(0),
            )
            .optional()?;
        conn.execute(
            "INSERT INTO pan123_slices (session_id, slice_no, md5) VALUES (?1, ?2, ?3)
             ON CONFLICT (session_id, slice_no) DO UPDATE SET md5 = excluded.md5",
            params![session.id, no, slice.md5],
        )?;
        if previous.is_some_and(|p| p != slice.md5) && no < digest.next {
            *digest = PrefixDigest::default();
        }
        stored_slices(&conn, &session.id)?
    };
    advance(&mut digest, store, &session, &stored)?;
    Ok(())
}
