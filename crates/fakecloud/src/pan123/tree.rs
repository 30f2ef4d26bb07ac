//! The drive's folder tree (files and folders) in SQLite.
//!
//! Files and folders live in separate name spaces inside a folder: a clash is a file against a file or a
//! folder against a folder (the 123pan mkdir message speaks of "同名文件夹" only). Ids come from an
//! AUTOINCREMENT sequence seeded at 10,000,000 so that they look like real ids and never collide with the
//! root folder id 0.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::names;
use crate::error::FakeCloudError;
use crate::listing::AdminFile;
use crate::store::to_i64;

/// Id of the root folder.
pub(crate) const ROOT_ID: i64 = 0;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pan123_entries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    is_dir     INTEGER NOT NULL,
    size       INTEGER NOT NULL DEFAULT 0,
    md5        TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pan123_entries_by_parent ON pan123_entries (parent_id, is_dir, name);
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'pan123_entries', 10000000
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'pan123_entries');
";

/// What to do when the target folder already has a file of that name (`duplicate` of create).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Duplicate {
    /// Absent or 0: refuse with `当前目录有重名文件`.
    Reject,
    /// 1: keep both; the new file gets the first free name `name(1).ext`, `name(2).ext`, ….
    KeepBoth,
    /// 2: overwrite. The old entry is removed and the new file gets a new id (the blob stays stored).
    Overwrite,
}

impl Duplicate {
    /// Decodes the wire value.
    pub(crate) fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Self::Reject),
            1 => Some(Self::KeepBoth),
            2 => Some(Self::Overwrite),
            _ => None,
        }
    }

    /// Encodes for storage.
    pub(crate) fn code(self) -> i64 {
        match self {
            Self::Reject => 0,
            Self::KeepBoth => 1,
            Self::Overwrite => 2,
        }
    }
}

/// A name clash that the duplicate policy does not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clash;

/// Message of a file-name clash.
pub(crate) const MSG_FILE_CLASH: &str = "当前目录有重名文件";
/// Message of a folder-name clash on mkdir.
pub(crate) const MSG_DIR_CLASH: &str = "该目录下已经有同名文件夹,无法进行创建";

/// The current time in China (UTC+8), the zone of every 123pan timestamp.
pub(crate) fn china_now() -> chrono::DateTime<chrono::FixedOffset> {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    chrono::Utc::now().with_timezone(&china)
}

/// Local time in China, formatted like 123pan's `createAt` (`2024-04-30 11:58:36`).
pub(crate) fn now_text() -> String {
    china_now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Whether `id` is an existing folder (the root always is).
pub(crate) fn is_folder(conn: &Connection, id: i64) -> Result<bool, FakeCloudError> {
    if id == ROOT_ID {
        return Ok(true);
    }
    let found: Option<i64> = conn
        .query_row("SELECT is_dir FROM pan123_entries WHERE id = ?1", params![id], |r| r.get(0))
        .optional()?;
    Ok(found == Some(1))
}

/// The id of the child `name` of `parent` that is a folder (`is_dir`) or a file.
pub(crate) fn child(conn: &Connection, parent: i64, name: &str, is_dir: bool) -> Result<Option<i64>, FakeCloudError> {
    Ok(conn
        .query_row(
            "SELECT id FROM pan123_entries WHERE parent_id = ?1 AND is_dir = ?2 AND name = ?3 ORDER BY id LIMIT 1",
            params![parent, is_dir, name],
            |r| r.get(0),
        )
        .optional()?)
}

fn insert(conn: &Connection, parent: i64, name: &str, is_dir: bool, size: u64, md5: &str) -> Result<i64, FakeCloudError> {
    let now = now_text();
    conn.execute(
        "INSERT INTO pan123_entries (parent_id, name, is_dir, size, md5, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![parent, name, is_dir, to_i64(size)?, md5, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Creates folder `name` in `parent` (which must exist).
pub(crate) fn mkdir(conn: &Connection, parent: i64, name: &str) -> Result<Result<i64, Clash>, FakeCloudError> {
    if child(conn, parent, name, true)?.is_some() {
        return Ok(Err(Clash));
    }
    Ok(Ok(insert(conn, parent, name, true, 0, "")?))
}

/// Walks `dirs` down from `parent`, creating missing folders; returns the last folder's id.
pub(crate) fn ensure_folders(conn: &Connection, parent: i64, dirs: &[String]) -> Result<i64, FakeCloudError> {
    let mut current = parent;
    for dir in dirs {
        current = match child(conn, current, dir, true)? {
            Some(id) => id,
            None => insert(conn, current, dir, true, 0, "")?,
        };
    }
    Ok(current)
}

/// Whether placing a file `name` in `parent` under `policy` would be refused.
pub(crate) fn would_clash(conn: &Connection, parent: i64, name: &str, policy: Duplicate) -> Result<bool, FakeCloudError> {
    Ok(policy == Duplicate::Reject && child(conn, parent, name, false)?.is_some())
}

/// Creates the file entry `name` in `parent`, applying `policy` to a name clash. Call inside a
/// transaction: overwriting deletes and inserts.
pub(crate) fn place_file(
    conn: &Connection,
    parent: i64,
    name: &str,
    size: u64,
    md5: &str,
    policy: Duplicate,
) -> Result<Result<i64, Clash>, FakeCloudError> {
    if child(conn, parent, name, false)?.is_none() {
        return Ok(Ok(insert(conn, parent, name, false, size, md5)?));
    }
    match policy {
        Duplicate::Reject => Ok(Err(Clash)),
        Duplicate::KeepBoth => {
            let mut n = 1u32;
            while child(conn, parent, &names::numbered(name, n), false)?.is_some() {
                n += 1;
            }
            Ok(Ok(insert(conn, parent, &names::numbered(name, n), false, size, md5)?))
        }
        Duplicate::Overwrite => {
            conn.execute(
                "DELETE FROM pan123_entries WHERE parent_id = ?1 AND is_dir = 0 AND name = ?2",
                params![parent, name],
            )?;
            Ok(Ok(insert(conn, parent, name, false, size, md5)?))
        }
    }
}

/// A `GET /api/v2/file/list` request, already validated.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    /// Folder to list (ignored when searching).
    pub(crate) parent: i64,
    /// Page size, 1..=100.
    pub(crate) limit: u32,
    /// Only entries with a larger id.
    pub(crate) after: i64,
    /// Search the whole drive: (text, exact match).
    pub(crate) search: Option<(String, bool)>,
}

/// One `fileList` item.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListedEntry {
    file_id: i64,
    filename: String,
    r#type: i64,
    size: i64,
    etag: String,
    status: i64,
    parent_file_id: i64,
    category: i64,
    trashed: i64,
    punish_flag: i64,
    s3_key_flag: String,
    storage_node: String,
    create_at: String,
    update_at: String,
}

/// One page of a listing and the cursor for the next (`-1` when this is the last page).
pub(crate) fn list(conn: &Connection, q: &ListQuery) -> Result<(Vec<ListedEntry>, i64), FakeCloudError> {
    const COLUMNS: &str = "id, parent_id, name, is_dir, size, md5, created_at, updated_at";
    let fetch = i64::from(q.limit) + 1;
    let (sql, filter): (String, String) = match &q.search {
        None => (
            format!("SELECT {COLUMNS} FROM pan123_entries WHERE parent_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
            q.parent.to_string(),
        ),
        Some((text, true)) => (
            format!("SELECT {COLUMNS} FROM pan123_entries WHERE name = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
            text.clone(),
        ),
        Some((text, false)) => (
            format!(
                "SELECT {COLUMNS} FROM pan123_entries WHERE instr(lower(name), lower(?1)) > 0 AND id > ?2
                 ORDER BY id LIMIT ?3"
            ),
            text.clone(),
        ),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![filter, q.after, fetch], |r| {
        let is_dir: bool = r.get(3)?;
        let name: String = r.get(2)?;
        Ok(ListedEntry {
            file_id: r.get(0)?,
            parent_file_id: r.get(1)?,
            r#type: i64::from(is_dir),
            size: r.get(4)?,
            etag: r.get(5)?,
            status: 2,
            category: if is_dir { 0 } else { names::category(&name) },
            filename: name,
            trashed: 0,
            punish_flag: 0,
            s3_key_flag: String::new(),
            storage_node: "m0".to_owned(),
            create_at: r.get(6)?,
            update_at: r.get(7)?,
        })
    })?;
    let mut entries = rows.collect::<Result<Vec<_>, _>>()?;
    let more = entries.len() > q.limit as usize;
    entries.truncate(q.limit as usize);
    let cursor = match (more, entries.last()) {
        (true, Some(last)) => last.file_id,
        _ => -1,
    };
    Ok((entries, cursor))
}

/// Every stored file with its absolute path, for the admin view.
pub(crate) fn all_files(conn: &Connection) -> Result<Vec<AdminFile>, FakeCloudError> {
    let mut folders: HashMap<i64, (i64, String)> = HashMap::new();
    let mut files = Vec::new();
    let mut stmt = conn.prepare("SELECT id, parent_id, name, is_dir, size, md5 FROM pan123_entries")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (id, parent, name, is_dir): (i64, i64, String, bool) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        if is_dir {
            folders.insert(id, (parent, name));
        } else {
            let size: i64 = r.get(4)?;
            files.push((parent, name, u64::try_from(size).unwrap_or(0), r.get::<_, String>(5)?));
        }
    }
    let mut out = Vec::with_capacity(files.len());
    for (parent, name, size, md5) in files {
        let mut parts = vec![name];
        let mut cursor = parent;
        // Bounded walk: a cycle would be corruption, not a reason to hang.
        for _ in 0..=folders.len() {
            match folders.get(&cursor) {
                Some((up, dir)) => {
                    parts.push(dir.clone());
                    cursor = *up;
                }
                None => break,
            }
        }
        if cursor != ROOT_ID {
            return Err(FakeCloudError::Corrupt(format!("folder {cursor} is missing from the tree")));
        }
        parts.reverse();
        out.push(AdminFile {
            provider: "123pan",
            path: format!("/{}", parts.join("/")),
            size,
            md5,
            etag: None,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
