//! The demo user's drive: files and folders in SQLite.
//!
//! Files and folders share one name space per folder. The root has the id `""` (as v1 `parent` defaults
//! to it) and is not stored. The system torrent folder is a folder named `:torrent` in the root whose id is
//! also `:torrent`, so `parent: ":torrent"` and `path: ":torrent"` both reach it; it is created on demand.
//! Entries never move (no rename/move routes), so each row keeps its absolute path.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Value, json};

use crate::error::FakeCloudError;
use crate::listing::AdminFile;
use crate::store::to_i64;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pan6_entries (
    uuid     TEXT PRIMARY KEY NOT NULL,
    parent   TEXT NOT NULL,
    name     TEXT NOT NULL,
    path     TEXT NOT NULL,
    is_dir   INTEGER NOT NULL,
    size     INTEGER NOT NULL DEFAULT 0,
    etag     TEXT NOT NULL DEFAULT '',
    md5      TEXT NOT NULL DEFAULT '',
    mime     TEXT NOT NULL DEFAULT '',
    ctime_ms INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    UNIQUE (parent, name)
);
CREATE INDEX IF NOT EXISTS pan6_entries_by_path ON pan6_entries (path);
";

/// Id of the root folder.
pub(crate) const ROOT: &str = "";
/// Id and name of the system torrent folder.
pub(crate) const TORRENT_DIR: &str = ":torrent";
/// The demo user's id.
pub(crate) const USER_ID: i64 = 1;

/// One file or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Id (`uuid` in v1, `identity` in v2).
    pub(crate) uuid: String,
    /// Id of the parent folder.
    pub(crate) parent: String,
    /// Name.
    pub(crate) name: String,
    /// Absolute path, `/` for the root.
    pub(crate) path: String,
    /// Folder?
    pub(crate) is_dir: bool,
    /// Bytes (0 for folders).
    pub(crate) size: u64,
    /// Qiniu/WCS etag of the content (`storeId`/`hash`); empty for folders.
    pub(crate) etag: String,
    /// MD5 of the content; empty for folders.
    pub(crate) md5: String,
    /// MIME type.
    pub(crate) mime: String,
    /// Creation time, Unix ms.
    pub(crate) ctime_ms: i64,
    /// Modification time, Unix ms.
    pub(crate) mtime_ms: i64,
}

/// A name that is taken (by a folder, or by a file that may not be replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clash {
    /// Absolute path of the taken name.
    pub(crate) path: String,
}

/// The current time, Unix ms.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The dotted extension of a name (`.pdf`), or `""`.
pub(crate) fn ext_of(name: &str) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => name[dot..].to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn join(parent_path: &str, name: &str) -> String {
    if parent_path == "/" {
        format!("/{name}")
    } else {
        format!("{parent_path}/{name}")
    }
}

impl Entry {
    /// The root folder.
    pub(crate) fn root() -> Self {
        Self {
            uuid: ROOT.to_owned(),
            parent: ROOT.to_owned(),
            name: String::new(),
            path: "/".to_owned(),
            is_dir: true,
            size: 0,
            etag: String::new(),
            md5: String::new(),
            mime: String::new(),
            ctime_ms: 0,
            mtime_ms: 0,
        }
    }

    pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            uuid: r.get(0)?,
            parent: r.get(1)?,
            name: r.get(2)?,
            path: r.get(3)?,
            is_dir: r.get(4)?,
            size: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            etag: r.get(6)?,
            md5: r.get(7)?,
            mime: r.get(8)?,
            ctime_ms: r.get(9)?,
            mtime_ms: r.get(10)?,
        })
    }

    /// The v1 file object (times in ms).
    pub(crate) fn v1_json(&self) -> Value {
        json!({
            "uuid": self.uuid, "storeId": self.etag, "userId": USER_ID,
            "pathId": crate::hashing::md5_hex_of(self.path.as_bytes()),
            "path": self.path, "name": self.name, "ext": if self.is_dir { String::new() } else { ext_of(&self.name) },
            "mime": self.mime, "size": self.size, "parent": self.parent,
            "type": i64::from(self.is_dir), "directory": self.is_dir,
            "atime": self.mtime_ms, "ctime": self.ctime_ms, "mtime": self.mtime_ms,
            "version": 0, "locking": false, "alias": "", "preview": "", "flag": 0, "recycle": 0,
        })
    }

    /// The v2 file object (times in seconds).
    pub(crate) fn v2_json(&self) -> Value {
        json!({
            "identity": self.uuid, "hash": self.etag, "userIdentity": USER_ID,
            "path": self.path, "name": self.name, "ext": if self.is_dir { String::new() } else { ext_of(&self.name) },
            "mime": self.mime, "size": self.size, "parent": self.parent,
            "type": i64::from(self.is_dir), "directory": self.is_dir,
            "atime": self.mtime_ms / 1000, "ctime": self.ctime_ms / 1000, "mtime": self.mtime_ms / 1000,
            "version": 0, "locking": false, "op": 0,
        })
    }
}

pub(crate) const COLUMNS: &str = "uuid, parent, name, path, is_dir, size, etag, md5, mime, ctime_ms, mtime_ms";

/// The entry with this id (`""` is the root).
pub(crate) fn get(conn: &Connection, uuid: &str) -> Result<Option<Entry>, FakeCloudError> {
    if uuid == ROOT {
        return Ok(Some(Entry::root()));
    }
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pan6_entries WHERE uuid = ?1"),
            params![uuid],
            Entry::from_row,
        )
        .optional()?)
}

/// The child `name` of folder `parent`.
pub(crate) fn child(conn: &Connection, parent: &str, name: &str) -> Result<Option<Entry>, FakeCloudError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pan6_entries WHERE parent = ?1 AND name = ?2"),
            params![parent, name],
            Entry::from_row,
        )
        .optional()?)
}

/// The entry at `segments` below the root, if it exists.
pub(crate) fn at(conn: &Connection, segments: &[String]) -> Result<Option<Entry>, FakeCloudError> {
    let mut current = Entry::root();
    for seg in segments {
        if !current.is_dir {
            return Ok(None);
        }
        match child(conn, &current.uuid, seg)? {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

fn insert(conn: &Connection, entry: &Entry) -> Result<(), FakeCloudError> {
    conn.execute(
        &format!("INSERT INTO pan6_entries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
        params![
            entry.uuid,
            entry.parent,
            entry.name,
            entry.path,
            entry.is_dir,
            to_i64(entry.size)?,
            entry.etag,
            entry.md5,
            entry.mime,
            entry.ctime_ms,
            entry.mtime_ms
        ],
    )?;
    Ok(())
}

fn new_dir(parent: &Entry, name: &str, uuid: String) -> Entry {
    let now = now_ms();
    Entry {
        uuid,
        parent: parent.uuid.clone(),
        name: name.to_owned(),
        path: join(&parent.path, name),
        is_dir: true,
        size: 0,
        etag: String::new(),
        md5: String::new(),
        mime: String::new(),
        ctime_ms: now,
        mtime_ms: now,
    }
}

/// Folder `name` in `parent`: the existing one, or a new one. A file of that name is a clash.
pub(crate) fn mkdir(conn: &Connection, parent: &Entry, name: &str) -> Result<Result<Entry, Clash>, FakeCloudError> {
    match child(conn, &parent.uuid, name)? {
        Some(e) if e.is_dir => Ok(Ok(e)),
        Some(e) => Ok(Err(Clash { path: e.path })),
        None => {
            let uuid = if parent.uuid == ROOT && name == TORRENT_DIR {
                TORRENT_DIR.to_owned()
            } else {
                uuid::Uuid::new_v4().simple().to_string()
            };
            let dir = new_dir(parent, name, uuid);
            insert(conn, &dir)?;
            Ok(Ok(dir))
        }
    }
}

/// Walks `segments` from the root, creating missing folders (`mkdir -p`).
pub(crate) fn ensure_dirs(conn: &Connection, segments: &[String]) -> Result<Result<Entry, Clash>, FakeCloudError> {
    let mut current = Entry::root();
    for seg in segments {
        current = match mkdir(conn, &current, seg)? {
            Ok(dir) => dir,
            Err(clash) => return Ok(Err(clash)),
        };
    }
    Ok(Ok(current))
}

/// The system torrent folder, created when missing.
pub(crate) fn torrent_dir(conn: &Connection) -> Result<Entry, FakeCloudError> {
    mkdir(conn, &Entry::root(), TORRENT_DIR)?.map_err(|c| FakeCloudError::Corrupt(format!("a file occupies {}", c.path)))
}

/// Content of a file being placed.
#[derive(Debug, Clone)]
pub(crate) struct Content {
    /// Bytes.
    pub(crate) size: u64,
    /// Etag.
    pub(crate) etag: String,
    /// MD5.
    pub(crate) md5: String,
    /// MIME type.
    pub(crate) mime: String,
}

/// Creates file `name` in folder `parent`. An existing folder of that name is always a clash; an existing
/// file is replaced (new id) when `overwrite`, else a clash. Call inside a transaction.
pub(crate) fn place_file(
    conn: &Connection,
    parent: &Entry,
    name: &str,
    content: &Content,
    overwrite: bool,
) -> Result<Result<Entry, Clash>, FakeCloudError> {
    if let Some(existing) = child(conn, &parent.uuid, name)? {
        if existing.is_dir || !overwrite {
            return Ok(Err(Clash { path: existing.path }));
        }
        conn.execute("DELETE FROM pan6_entries WHERE uuid = ?1", params![existing.uuid])?;
    }
    let now = now_ms();
    let file = Entry {
        uuid: uuid::Uuid::new_v4().simple().to_string(),
        parent: parent.uuid.clone(),
        name: name.to_owned(),
        path: join(&parent.path, name),
        is_dir: false,
        size: content.size,
        etag: content.etag.clone(),
        md5: content.md5.clone(),
        mime: content.mime.clone(),
        ctime_ms: now,
        mtime_ms: now,
    };
    insert(conn, &file)?;
    Ok(Ok(file))
}

/// Every file, for `GET /_admin/files`.
pub(crate) fn all_files(conn: &Connection) -> Result<Vec<AdminFile>, FakeCloudError> {
    let mut stmt = conn.prepare("SELECT path, size, md5, etag FROM pan6_entries WHERE is_dir = 0 ORDER BY path")?;
    let rows = stmt.query_map([], |r| {
        Ok(AdminFile {
            provider: "6pan",
            path: r.get(0)?,
            size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            md5: r.get(2)?,
            etag: Some(r.get(3)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pan6::listing::{Kind, Order};

    fn segs(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tree_operations() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let dir = ensure_dirs(&conn, &segs(&["a", "b"])).unwrap().unwrap();
        assert_eq!(dir.path, "/a/b");
        assert_eq!(ensure_dirs(&conn, &segs(&["a", "b"])).unwrap().unwrap(), dir);
        let content = Content {
            size: 3,
            etag: "e".into(),
            md5: "m".into(),
            mime: "text/plain".into(),
        };
        let f = place_file(&conn, &dir, "x.TXT", &content, false).unwrap().unwrap();
        assert_eq!(f.path, "/a/b/x.TXT");
        assert_eq!(ext_of(&f.name), ".txt");
        assert!(place_file(&conn, &dir, "x.TXT", &content, false).unwrap().is_err());
        let g = place_file(&conn, &dir, "x.TXT", &content, true).unwrap().unwrap();
        assert_ne!(f.uuid, g.uuid);
        assert!(ensure_dirs(&conn, &segs(&["a", "b", "x.TXT", "c"])).unwrap().is_err());
        assert_eq!(at(&conn, &segs(&["a", "b", "x.TXT"])).unwrap().unwrap().uuid, g.uuid);
        assert_eq!(torrent_dir(&conn).unwrap().uuid, TORRENT_DIR);
        assert_eq!(get(&conn, TORRENT_DIR).unwrap().unwrap().path, "/:torrent");
        let (page, total) = crate::pan6::listing::list(&conn, ROOT, Kind::Both, Order::Name, 1, 10).unwrap();
        assert_eq!((page.len(), total), (2, 2));
        assert_eq!(all_files(&conn).unwrap().len(), 1);
        assert_eq!(g.v1_json()["storeId"], "e");
        assert_eq!(g.v2_json()["directory"], false);
    }
}
