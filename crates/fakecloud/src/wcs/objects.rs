//! Stored WCS objects: `(bucket, key)` → content, and etag → blob.
//!
//! The bytes themselves live in the shared content-addressed blob store (`blobs/<md5>`), so a file uploaded
//! to 6pan and to 123pan is stored once. `wcs_blobs` maps each etag to the MD5 of its blob: a 6pan token
//! request with a known `hash` is an instant upload ("秒传").

use rusqlite::{Connection, OptionalExtension, params};
use tempfile::TempPath;

use super::blocks::now_ms;
use super::error::{EXISTS, WcsError};
use crate::error::FakeCloudError;
use crate::store::{Store, to_i64};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS wcs_blobs (
    etag TEXT PRIMARY KEY NOT NULL,
    md5  TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wcs_objects (
    bucket     TEXT NOT NULL,
    key        TEXT NOT NULL,
    etag       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    mime       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
);
";

/// A stored blob known by its etag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlobRef {
    /// MD5 of the content (the blob's name), lower-case hex.
    pub(crate) md5: String,
    /// Bytes.
    pub(crate) size: u64,
}

/// The blob with this etag, if stored (and still present on disk).
pub(crate) fn blob_by_etag(store: &Store, conn: &Connection, etag: &str) -> Result<Option<BlobRef>, FakeCloudError> {
    let row: Option<(String, i64)> = conn
        .query_row("SELECT md5, size FROM wcs_blobs WHERE etag = ?1", params![etag], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(md5, size)| {
        let size = u64::try_from(size).ok()?;
        (Store::has_blob(conn, &md5, size).ok()? && store.blob_path(&md5).exists()).then_some(BlobRef { md5, size })
    }))
}

/// What is being stored.
#[derive(Debug, Clone)]
pub(crate) struct NewObject {
    /// Bucket.
    pub(crate) bucket: String,
    /// Key.
    pub(crate) key: String,
    /// Etag of the content.
    pub(crate) etag: String,
    /// MD5 of the content.
    pub(crate) md5: String,
    /// Bytes.
    pub(crate) size: u64,
    /// MIME type.
    pub(crate) mime: String,
}

/// 406 when `key` exists and overwriting is not allowed (`same_etag_ok`: unless it already holds `etag`).
pub(crate) fn check_overwrite(conn: &Connection, bucket: &str, key: &str, overwrite: bool, same: Option<&str>) -> Result<(), WcsError> {
    if overwrite {
        return Ok(());
    }
    let existing: Option<String> = conn
        .query_row(
            "SELECT etag FROM wcs_objects WHERE bucket = ?1 AND key = ?2",
            params![bucket, key],
            |r| r.get(0),
        )
        .optional()?;
    match existing {
        None => Ok(()),
        Some(etag) if same == Some(etag.as_str()) => Ok(()),
        Some(_) => Err(WcsError::new(EXISTS, format!("file exists: {bucket}:{key}"))),
    }
}

/// Stores `object`: the bytes in `temp` (unless already stored) and the key. `repeated` marks a repeated
/// mkfile, which may find its own earlier result under the key. Blocking.
pub(crate) fn put(store: &Store, temp: Option<TempPath>, object: &NewObject, overwrite: bool, repeated: bool) -> Result<(), WcsError> {
    let conn = store.db();
    let same = repeated.then_some(object.etag.as_str());
    check_overwrite(&conn, &object.bucket, &object.key, overwrite, same)?;
    match temp {
        Some(temp) => store.put_blob(&conn, &object.md5, object.size, temp)?,
        None if Store::has_blob(&conn, &object.md5, object.size)? => {}
        None => return Err(WcsError::bad_ctx("the assembled file is no longer stored; upload it again")),
    }
    conn.execute(
        "INSERT INTO wcs_blobs (etag, md5, size) VALUES (?1, ?2, ?3)
         ON CONFLICT (etag) DO UPDATE SET md5 = excluded.md5, size = excluded.size",
        params![object.etag, object.md5, to_i64(object.size)?],
    )?;
    conn.execute(
        "INSERT INTO wcs_objects (bucket, key, etag, size, mime, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (bucket, key) DO UPDATE SET etag = excluded.etag, size = excluded.size, mime = excluded.mime,
             created_ms = excluded.created_ms",
        params![object.bucket, object.key, object.etag, to_i64(object.size)?, object.mime, now_ms()],
    )?;
    Ok(())
}
