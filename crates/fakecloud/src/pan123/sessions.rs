//! Chunked upload sessions: their records, the stored-slice table and the bytes of a slice as received.
//! The in-memory state of open uploads is in `uploads`, their files in `session_file`, the running
//! whole-file MD5 in `digest`, completion in `completion`.
//!
//! The database functions here block: call them through `Store::blocking`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use tempfile::TempPath;

use super::envelope::ApiError;
use super::tree::{self, Duplicate};
use crate::error::FakeCloudError;
use crate::hashing::Md5;
use crate::store::to_i64;

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

    /// Where slice `no` (1-based) starts in the file.
    pub(crate) fn slice_offset(&self, no: u32) -> u64 {
        u64::from(no.saturating_sub(1)) * self.slice_size
    }

    /// Exact length slice `no` must have: `slice_size`, except the last one which holds the remainder.
    pub(crate) fn slice_len(&self, no: u32) -> u64 {
        self.slice_size.min(self.size.saturating_sub(self.slice_offset(no)))
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

/// The bytes of one slice held in memory, as the network chunks they arrived in (gathering them into one
/// buffer would cost a copy of every slice for nothing: hashing and writing take them piece by piece).
#[derive(Default)]
pub(crate) struct SliceBytes {
    chunks: Vec<Bytes>,
    len: u64,
}

impl SliceBytes {
    /// Appends a chunk.
    pub(crate) fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len() as u64;
        self.chunks.push(chunk);
    }

    /// How many bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The chunks, in order.
    pub(crate) fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// Feeds every byte to `md5`.
    pub(crate) fn hash_into(&self, md5: &mut Md5) -> Result<(), FakeCloudError> {
        self.chunks.iter().try_for_each(|c| md5.update(c))
    }

    /// Their MD5, lower-case hex.
    pub(crate) fn md5_hex(&self) -> Result<String, FakeCloudError> {
        let mut md5 = Md5::new()?;
        self.hash_into(&mut md5)?;
        md5.finish_hex()
    }
}

/// Where the bytes of a received slice are.
pub(crate) enum SliceBody {
    /// In memory, not hashed yet (the normal case: a slice is bounded by its session's slice size).
    Memory(SliceBytes),
    /// In a temp file, hashed while it was written: for a slice part that came before `preuploadID` (its
    /// bound is then unknown) or a session whose slice size is too big to hold in memory.
    Spooled {
        /// The bytes (deleted when dropped).
        temp: TempPath,
        /// How many bytes.
        len: u64,
        /// Their MD5, lower-case hex.
        md5: String,
    },
}

impl SliceBody {
    /// How many bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Memory(bytes) => bytes.len(),
            Self::Spooled { len, .. } => *len,
        }
    }
}

/// A received slice request, not yet checked.
pub(crate) struct ReceivedSlice {
    /// The `preuploadID` field.
    pub(crate) upload_id: String,
    /// The `sliceNo` field.
    pub(crate) slice_no: u32,
    /// The `sliceMD5` field, as sent.
    pub(crate) claimed_md5: String,
    /// The bytes.
    pub(crate) body: SliceBody,
}

/// The session a slice names, if it can still take slices.
pub(crate) fn open_session(conn: &Connection, id: &str) -> Result<Session, ApiError> {
    match load(conn, id)? {
        None => Err(ApiError::failed(MSG_NO_SESSION)),
        Some(s) if s.file_id.is_some() => Err(ApiError::failed("该文件已上传完成,不能再上传分片")),
        Some(s) => Ok(s),
    }
}
