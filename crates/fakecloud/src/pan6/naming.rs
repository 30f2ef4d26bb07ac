//! Names, paths and the v1 naming rules of `store/token` (seed 001).
//!
//! v1 rules, with `parent` (folder id), `path` (absolute; `:torrent` as first segment is the torrent
//! folder), `name` and `originalFilename`:
//!
//! * name and path → `${path}/${name}` (missing folders of `path` are created);
//! * name, no path → `name` in `parent` (default: the root);
//! * no name, path is an existing folder → `originalFilename` in it;
//! * no name, path is an existing file → nothing is created: the token (or hit) answers that file;
//! * no name, path does not exist → the file `path` itself (missing folders created);
//! * neither name nor path → `originalFilename` in `parent` (default: the root, so `/${originalFilename}`);
//! * and wherever `originalFilename` is needed but empty → `qzy-upload-noname.<ms>.tmp`.
//!
//! When both `path` and `parent` are given, `path` wins.

use rusqlite::Connection;

use super::envelope::{Api, Pan6Error};
use super::tree::{self, Entry, ROOT, TORRENT_DIR};

/// Longest accepted path segment (and file name) of v2, in characters (seed 002).
pub(crate) const V2_MAX_SEGMENT: usize = 128;
/// Longest accepted name of v1, in characters.
pub(crate) const V1_MAX_NAME: usize = 255;

/// Texts that delimit fields of the upload callback bodies, or that WCS would expand as a variable; names
/// may not contain them.
const RESERVED: [&str; 7] = [
    "@qzyfilestart",
    "@qzyfileend",
    "@qzyurlstart",
    "@qzyurlend",
    "|@qzy_inner@|",
    "$$$!QZSPLIT$!$$",
    "$(",
];

/// The random name of an upload nobody named.
pub(crate) fn noname(now_ms: i64) -> String {
    format!("qzy-upload-noname.{now_ms}.tmp")
}

/// `/a//b/` → `["a", "b"]`.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The last segment of a client-side file name (either separator).
pub(crate) fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name).trim()
}

/// Checks one file or folder name.
pub(crate) fn check_name(api: Api, name: &str) -> Result<(), Pan6Error> {
    let invalid = |why: &str| Pan6Error::business("FILE_NAME_INVALID", format!("invalid name {name:?}: {why}"));
    if name.is_empty() || name == "." || name == ".." {
        return Err(invalid("empty, '.' or '..'"));
    }
    if name.contains('/') || name.chars().any(char::is_control) {
        return Err(invalid("contains '/' or a control character"));
    }
    if RESERVED.iter().any(|r| name.contains(r)) {
        return Err(invalid("contains a reserved marker"));
    }
    let chars = name.chars().count();
    match api {
        Api::V2 if chars > V2_MAX_SEGMENT => Err(Pan6Error::business(
            "PATH_TOO_LONG",
            format!("a path segment may have at most {V2_MAX_SEGMENT} characters"),
        )),
        Api::V1 if chars > V1_MAX_NAME => Err(invalid("too long")),
        _ => Ok(()),
    }
}

/// Checks every segment of a path.
pub(crate) fn check_segments(api: Api, segments: &[String]) -> Result<(), Pan6Error> {
    segments.iter().try_for_each(|s| check_name(api, s))
}

/// The folder named by a `parent` id (`""`/absent → root, `:torrent` → the torrent folder).
pub(crate) fn parent_dir(conn: &Connection, parent: Option<&str>) -> Result<Entry, Pan6Error> {
    match parent.unwrap_or(ROOT) {
        ROOT => Ok(Entry::root()),
        TORRENT_DIR => Ok(tree::torrent_dir(conn)?),
        id => match tree::get(conn, id)? {
            Some(e) if e.is_dir => Ok(e),
            Some(_) => Err(Pan6Error::business("FILE_NOT_FOUND", format!("{id} is not a folder"))),
            None => Err(Pan6Error::business("FILE_NOT_FOUND", format!("folder {id} does not exist"))),
        },
    }
}

/// Creates the folders of `segments`; a file in the way is a clash.
pub(crate) fn ensure_dirs(conn: &Connection, api: Api, segments: &[String]) -> Result<Entry, Pan6Error> {
    check_segments(api, segments)?;
    tree::ensure_dirs(conn, segments)?.map_err(|c| Pan6Error::business(api.exists_code(), format!("{} is a file", c.path)))
}

/// A v1 `store/token` request.
#[derive(Debug, Clone, Default)]
pub(crate) struct V1Request {
    /// `name`.
    pub(crate) name: Option<String>,
    /// `parent`.
    pub(crate) parent: Option<String>,
    /// `path`.
    pub(crate) path: Option<String>,
    /// `originalFilename`.
    pub(crate) original: Option<String>,
}

/// Where a v1 upload goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum V1Target {
    /// A new file `name` in folder `dir`.
    New {
        /// The folder.
        dir: Entry,
        /// The file name.
        name: String,
    },
    /// `path` named an existing file: nothing is created.
    Existing(Entry),
}

fn fallback_name(original: Option<&str>, now_ms: i64) -> String {
    match original.map(base_name).filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None => noname(now_ms),
    }
}

/// Applies the v1 naming rules (module docs). Creates missing folders. Blocking.
pub(crate) fn resolve_v1(conn: &Connection, req: &V1Request, now_ms: i64) -> Result<V1Target, Pan6Error> {
    let segments = req.path.as_deref().map(split_path).filter(|s| !s.is_empty());
    if segments.as_ref().and_then(|s| s.first()).is_some_and(|first| first == TORRENT_DIR) {
        // The system folder exists on demand, so `path: ":torrent"` always names a folder.
        tree::torrent_dir(conn)?;
    }
    let target = match (&req.name, segments) {
        (Some(name), Some(segs)) => V1Target::New {
            dir: ensure_dirs(conn, Api::V1, &segs)?,
            name: name.clone(),
        },
        (Some(name), None) => V1Target::New {
            dir: parent_dir(conn, req.parent.as_deref())?,
            name: name.clone(),
        },
        (None, Some(segs)) => {
            check_segments(Api::V1, &segs)?;
            match tree::at(conn, &segs)? {
                Some(e) if e.is_dir => V1Target::New {
                    dir: e,
                    name: fallback_name(req.original.as_deref(), now_ms),
                },
                Some(file) => V1Target::Existing(file),
                None => {
                    let (last, dirs) = segs.split_last().expect("segments are not empty");
                    V1Target::New {
                        dir: ensure_dirs(conn, Api::V1, dirs)?,
                        name: last.clone(),
                    }
                }
            }
        }
        (None, None) => V1Target::New {
            dir: parent_dir(conn, req.parent.as_deref())?,
            name: fallback_name(req.original.as_deref(), now_ms),
        },
    };
    if let V1Target::New { name, .. } = &target {
        check_name(Api::V1, name)?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(split_path("/a//b/"), ["a", "b"]);
        assert_eq!(split_path(":torrent"), [":torrent"]);
        assert_eq!(base_name("C:\\x\\y.txt"), "y.txt");
        assert!(check_name(Api::V1, "a b.txt").is_ok());
        assert!(check_name(Api::V1, "..").is_err());
        assert!(check_name(Api::V1, "a@qzyfileendb").is_err());
        assert!(check_name(Api::V2, &"x".repeat(128)).is_ok());
        assert!(matches!(check_name(Api::V2, &"x".repeat(129)), Err(Pan6Error::Business { code, .. }) if code == "PATH_TOO_LONG"));
        assert!(check_name(Api::V1, &"x".repeat(129)).is_ok());
    }

    #[test]
    fn v1_rules() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(tree::SCHEMA).unwrap();
        let req = |name: Option<&str>, path: Option<&str>, original: Option<&str>| V1Request {
            name: name.map(str::to_owned),
            parent: None,
            path: path.map(str::to_owned),
            original: original.map(str::to_owned),
        };
        let new = |t: V1Target| match t {
            V1Target::New { dir, name } => format!("{}|{name}", dir.path),
            V1Target::Existing(e) => format!("existing {}", e.path),
        };
        assert_eq!(new(resolve_v1(&conn, &req(Some("n"), Some("/d/e"), None), 5).unwrap()), "/d/e|n");
        assert_eq!(new(resolve_v1(&conn, &req(None, None, Some("o.txt")), 5).unwrap()), "/|o.txt");
        assert_eq!(
            new(resolve_v1(&conn, &req(None, None, None), 5).unwrap()),
            "/|qzy-upload-noname.5.tmp"
        );
        assert_eq!(new(resolve_v1(&conn, &req(None, Some("/d/e"), Some("o"),), 5).unwrap()), "/d/e|o");
        assert_eq!(
            new(resolve_v1(&conn, &req(None, Some("/d/new/f.bin"), Some("o")), 5).unwrap()),
            "/d/new|f.bin"
        );
        assert_eq!(
            new(resolve_v1(&conn, &req(None, Some(":torrent"), None), 7).unwrap()),
            "/:torrent|qzy-upload-noname.7.tmp"
        );
        let dir = tree::at(&conn, &split_path("/d/e")).unwrap().unwrap();
        let content = tree::Content {
            size: 1,
            etag: String::new(),
            md5: String::new(),
            mime: String::new(),
        };
        tree::place_file(&conn, &dir, "file", &content, false).unwrap().unwrap();
        assert_eq!(
            new(resolve_v1(&conn, &req(None, Some("/d/e/file"), None), 5).unwrap()),
            "existing /d/e/file"
        );
    }
}
