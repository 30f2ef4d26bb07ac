//! The demo user's drive: files and folders in SQLite, and the stored contents they point at.
//!
//! Paths are absolute and `/`-separated. A path is accepted only in canonical form: it starts with `/`,
//! has no empty, `.` or `..` segment and no trailing `/` (except the root `/`); a name is 1..=255 bytes
//! without `/` or a control character. Anything else is code 3 (HTTP 400). Names are case-sensitive. The
//! root is not stored; its identity is [`ROOT_IDENTITY`].
//!
//! A *content* is one stored byte sequence: `content_identity` (a random id, so a client cannot compute it
//! — spec §6.7 \[I\]), size, MD5 (the shared blob store's key) and SHA-256 (to find it again when the same
//! bytes are uploaded twice).

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::proto::Obj;
use super::status::HalalError;
use super::tokens::now_ms;
use crate::error::FakeCloudError;
use crate::listing::AdminFile;
use crate::store::to_i64;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS halal_files (
    identity         TEXT PRIMARY KEY NOT NULL,
    parent           TEXT NOT NULL,
    name             TEXT NOT NULL,
    path             TEXT NOT NULL UNIQUE,
    dir              INTEGER NOT NULL,
    size             INTEGER NOT NULL DEFAULT 0,
    content_identity TEXT NOT NULL DEFAULT '',
    create_ts        INTEGER NOT NULL,
    update_ts        INTEGER NOT NULL,
    UNIQUE (parent, name)
);
CREATE TABLE IF NOT EXISTS halal_contents (
    content_identity TEXT PRIMARY KEY NOT NULL,
    size             INTEGER NOT NULL,
    md5              TEXT NOT NULL,
    sha256           TEXT NOT NULL UNIQUE
);
";

/// Identity of the root folder.
pub(crate) const ROOT_IDENTITY: &str = "root";
/// The demo user's identity.
pub(crate) const USER_IDENTITY: &str = "u-demo-0001";
/// Longest name, in bytes.
const MAX_NAME: usize = 255;

/// One file or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) identity: String,
    pub(crate) parent: String,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) dir: bool,
    pub(crate) size: u64,
    pub(crate) content_identity: String,
    pub(crate) create_ts: i64,
    pub(crate) update_ts: i64,
}

const COLUMNS: &str = "identity, parent, name, path, dir, size, content_identity, create_ts, update_ts";

impl Entry {
    fn root() -> Self {
        Self {
            identity: ROOT_IDENTITY.to_owned(),
            parent: String::new(),
            name: String::new(),
            path: "/".to_owned(),
            dir: true,
            size: 0,
            content_identity: String::new(),
            create_ts: 0,
            update_ts: 0,
        }
    }

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            identity: r.get(0)?,
            parent: r.get(1)?,
            name: r.get(2)?,
            path: r.get(3)?,
            dir: r.get(4)?,
            size: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            content_identity: r.get(6)?,
            create_ts: r.get(7)?,
            update_ts: r.get(8)?,
        })
    }

    /// The `File` message.
    pub(crate) fn json(&self) -> Value {
        Obj::new()
            .str("identity", &self.identity)
            .str("parent", &self.parent)
            .str("name", &self.name)
            .str("path", &self.path)
            .str("mime_type", if self.dir { "" } else { "application/octet-stream" })
            .int64("size", i64::try_from(self.size).unwrap_or(i64::MAX))
            .int64("create_ts", self.create_ts)
            .int64("update_ts", self.update_ts)
            .bool("dir", self.dir)
            .str("content_identity", &self.content_identity)
            .into_value()
    }
}

/// Removes an entry and, for a folder, everything under it; the bytes stay (content-addressed, they may be
/// shared). Returns how many entries went.
pub(crate) fn remove(conn: &Connection, entry: &Entry) -> Result<i64, FakeCloudError> {
    let under = format!("{}/%", entry.path.trim_end_matches('/'));
    let n = conn.execute(
        "DELETE FROM halal_files WHERE identity = ?1 OR path LIKE ?2 ESCAPE '\\'",
        rusqlite::params![entry.identity, escape_like(&under)],
    )?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Escapes `%` and `_` of a LIKE pattern except the trailing `%` that makes it a prefix match.
fn escape_like(pattern: &str) -> String {
    let (body, tail) = pattern.split_at(pattern.len() - 1);
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in body.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str(tail);
    out
}

/// Checks a name.
pub(crate) fn check_name(name: &str) -> Result<(), HalalError> {
    if name.is_empty() || name.len() > MAX_NAME || name == "." || name == ".." || name.contains('/') || name.chars().any(char::is_control) {
        return Err(HalalError::invalid(format!("invalid name {name:?}")));
    }
    Ok(())
}

/// The segments of a canonical absolute path (empty for the root).
pub(crate) fn segments(path: &str) -> Result<Vec<&str>, HalalError> {
    if path == "/" {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| HalalError::invalid(format!("path {path:?} must start with /")))?;
    let segs: Vec<&str> = rest.split('/').collect();
    for seg in &segs {
        check_name(seg).map_err(|_| HalalError::invalid(format!("path {path:?} is not canonical")))?;
    }
    Ok(segs)
}

/// Splits a canonical path into its parent path and last name.
pub(crate) fn split(path: &str) -> Result<(String, String), HalalError> {
    let segs = segments(path)?;
    let Some((name, parents)) = segs.split_last() else {
        return Err(HalalError::invalid("the root has no name"));
    };
    Ok((format!("/{}", parents.join("/")), (*name).to_owned()))
}

fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The entry at `path`.
pub(crate) fn by_path(conn: &Connection, path: &str) -> Result<Option<Entry>, HalalError> {
    segments(path)?;
    if path == "/" {
        return Ok(Some(Entry::root()));
    }
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM halal_files WHERE path = ?1"),
            params![path],
            Entry::from_row,
        )
        .optional()?)
}

/// The entry with this identity.
pub(crate) fn by_identity(conn: &Connection, identity: &str) -> Result<Option<Entry>, FakeCloudError> {
    if identity == ROOT_IDENTITY {
        return Ok(Some(Entry::root()));
    }
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM halal_files WHERE identity = ?1"),
            params![identity],
            Entry::from_row,
        )
        .optional()?)
}

/// The folder at `path`, which must exist (404) and be a folder (400).
pub(crate) fn folder(conn: &Connection, path: &str) -> Result<Entry, HalalError> {
    match by_path(conn, path)? {
        Some(e) if e.dir => Ok(e),
        Some(_) => Err(HalalError::precondition(format!("{path} is a file, not a folder"))),
        None => Err(HalalError::not_found(format!("folder {path} not found"))),
    }
}

fn insert(conn: &Connection, e: &Entry) -> Result<(), FakeCloudError> {
    conn.execute(
        &format!("INSERT INTO halal_files ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            e.identity,
            e.parent,
            e.name,
            e.path,
            e.dir,
            to_i64(e.size)?,
            e.content_identity,
            e.create_ts,
            e.update_ts
        ],
    )?;
    Ok(())
}

/// Creates the folder or file `name` in `parent`; an existing entry of that name is code 6 (HTTP 409).
pub(crate) fn create(conn: &Connection, parent: &Entry, name: &str, content: Option<&Content>) -> Result<Entry, HalalError> {
    check_name(name)?;
    let path = join(&parent.path, name);
    if by_path(conn, &path)?.is_some() {
        return Err(HalalError::exists(format!("{path} already exists")));
    }
    let now = now_ms();
    let entry = Entry {
        identity: uuid::Uuid::new_v4().simple().to_string(),
        parent: parent.identity.clone(),
        name: name.to_owned(),
        path,
        dir: content.is_none(),
        size: content.map_or(0, |c| c.size),
        content_identity: content.map(|c| c.identity.clone()).unwrap_or_default(),
        create_ts: now,
        update_ts: now,
    };
    insert(conn, &entry)?;
    Ok(entry)
}

/// One page of the children of `parent` in name order, starting after `after`; `limit + 1` are read so the
/// caller knows whether more follow.
pub(crate) fn children(conn: &Connection, parent: &str, after: &str, limit: i64) -> Result<Vec<Entry>, FakeCloudError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM halal_files WHERE parent = ?1 AND name > ?2 ORDER BY name LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![parent, after, limit + 1], Entry::from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Bytes and files used.
pub(crate) fn usage(conn: &Connection) -> Result<(i64, i64), FakeCloudError> {
    Ok(
        conn.query_row("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM halal_files WHERE dir = 0", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?,
    )
}

/// A stored content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Content {
    pub(crate) identity: String,
    pub(crate) size: u64,
    pub(crate) md5: String,
    pub(crate) sha256: String,
}

/// The content with this identity.
pub(crate) fn content(conn: &Connection, identity: &str) -> Result<Option<Content>, FakeCloudError> {
    Ok(conn
        .query_row(
            "SELECT content_identity, size, md5, sha256 FROM halal_contents WHERE content_identity = ?1",
            params![identity],
            |r| {
                Ok(Content {
                    identity: r.get(0)?,
                    size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    md5: r.get(2)?,
                    sha256: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// The content with these bytes: the known one, or a new record.
pub(crate) fn content_for(conn: &Connection, size: u64, md5: &str, sha256: &str) -> Result<Content, FakeCloudError> {
    let known: Option<String> = conn
        .query_row(
            "SELECT content_identity FROM halal_contents WHERE sha256 = ?1",
            params![sha256],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(identity) = known {
        return Ok(Content {
            identity,
            size,
            md5: md5.to_owned(),
            sha256: sha256.to_owned(),
        });
    }
    let c = Content {
        identity: uuid::Uuid::new_v4().simple().to_string(),
        size,
        md5: md5.to_owned(),
        sha256: sha256.to_owned(),
    };
    conn.execute(
        "INSERT INTO halal_contents (content_identity, size, md5, sha256) VALUES (?1, ?2, ?3, ?4)",
        params![c.identity, to_i64(size)?, c.md5, c.sha256],
    )?;
    Ok(c)
}

/// Every file, for `GET /_admin/files`.
pub(crate) fn all_files(conn: &Connection) -> Result<Vec<AdminFile>, FakeCloudError> {
    let mut stmt = conn.prepare(
        "SELECT f.path, f.size, c.md5 FROM halal_files f JOIN halal_contents c ON c.content_identity = f.content_identity \
         WHERE f.dir = 0 ORDER BY f.path",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AdminFile {
            provider: "halalcloud",
            path: r.get(0)?,
            size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            md5: r.get(2)?,
            etag: None,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_canonical() {
        assert_eq!(segments("/").unwrap(), Vec::<&str>::new());
        assert_eq!(segments("/a/b").unwrap(), ["a", "b"]);
        for bad in ["", "a", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/a\u{0}b"] {
            assert!(segments(bad).is_err(), "{bad:?}");
        }
        assert_eq!(split("/a/b").unwrap(), ("/a".to_owned(), "b".to_owned()));
        assert_eq!(split("/b").unwrap(), ("/".to_owned(), "b".to_owned()));
        assert!(split("/").is_err());
    }

    #[test]
    fn create_list_and_contents() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let root = folder(&conn, "/").unwrap();
        let a = create(&conn, &root, "a", None).unwrap();
        assert!(matches!(
            create(&conn, &root, "a", None),
            Err(HalalError::Rpc {
                code: super::super::status::Code::AlreadyExists,
                ..
            })
        ));
        let c = content_for(&conn, 3, "m", "s").unwrap();
        assert_eq!(content_for(&conn, 3, "m", "s").unwrap().identity, c.identity);
        let f = create(&conn, &a, "f.bin", Some(&c)).unwrap();
        assert_eq!(f.path, "/a/f.bin");
        assert_eq!(f.json()["size"], "3");
        assert!(a.json().get("size").is_none());
        assert!(folder(&conn, "/a/f.bin").is_err());
        assert!(folder(&conn, "/nope").is_err());
        for n in ["c", "b", "d"] {
            create(&conn, &root, n, None).unwrap();
        }
        let page = children(&conn, ROOT_IDENTITY, "", 2).unwrap();
        assert_eq!(page.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(children(&conn, ROOT_IDENTITY, "c", 2).unwrap().len(), 1);
        assert_eq!(usage(&conn).unwrap(), (3, 1));
        assert_eq!(all_files(&conn).unwrap()[0].md5, "m");
    }
}
