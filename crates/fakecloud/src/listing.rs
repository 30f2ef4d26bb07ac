//! What the admin view lists of a stored file. Each cloud's folder builds these from its own tables; the
//! admin routes only serve them, so neither side imports the other.

use serde::Serialize;

/// One stored file as listed by `GET /_admin/files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AdminFile {
    /// Which cloud holds it (`"123pan"`, `"6pan"`).
    pub(crate) provider: &'static str,
    /// Absolute path inside that cloud's drive, `/`-separated.
    pub(crate) path: String,
    /// Bytes.
    pub(crate) size: u64,
    /// MD5 of the content, lower-case hex.
    pub(crate) md5: String,
    /// Qiniu/WCS etag for clouds that use one (6pan); `None` for 123pan.
    pub(crate) etag: Option<String>,
}
