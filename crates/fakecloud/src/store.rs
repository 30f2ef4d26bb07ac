//! The data dir: SQLite metadata plus byte files, shared by every provider.
//!
//! Layout:
//!
//! ```text
//! <data_dir>/meta.sqlite3            metadata (WAL mode)
//! <data_dir>/blobs/<md5>             stored file contents, content-addressed (one copy per MD5)
//! <data_dir>/sessions/<id>           in-progress chunked uploads (123pan), slices written at their offsets
//! <data_dir>/wcs-blocks/<id>         blocks of in-progress WCS slice uploads
//! <data_dir>/tmp/                    files being written; emptied at start-up
//! ```
//!
//! Bytes are written to a temp file under `tmp/` (same file system), or for a 123pan upload to its session
//! file, and renamed into place, so a crash never leaves a half-written blob under its final name. (A
//! 123pan slice is recorded in SQLite only once its bytes are in the session file.)

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use tempfile::TempPath;

use crate::error::FakeCloudError;

const SHARED_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blobs (
    md5        TEXT PRIMARY KEY NOT NULL,
    size       INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
";

/// Handle on the data dir. Cheap to share behind an [`Arc`].
pub(crate) struct Store {
    root: PathBuf,
    db: Mutex<Connection>,
}

impl Store {
    /// Opens (creating when needed) the data dir at `root`.
    pub(crate) fn open(root: &Path) -> Result<Self, FakeCloudError> {
        for dir in [root.to_path_buf(), root.join("blobs"), root.join("sessions")] {
            std::fs::create_dir_all(&dir).map_err(|e| FakeCloudError::io(&dir, e))?;
        }
        // Anything left in tmp/ belongs to a request that died with the previous process.
        let tmp = root.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| FakeCloudError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| FakeCloudError::io(&tmp, e))?;

        let conn = Connection::open(root.join("meta.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL is durable across process crashes, which is all a test server needs.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SHARED_SCHEMA)?;
        Ok(Self {
            root: root.to_path_buf(),
            db: Mutex::new(conn),
        })
    }

    /// Locks the database connection. Only call this from blocking code (see [`Store::blocking`]).
    pub(crate) fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite itself inconsistent (transactions roll
        // back), so a poisoned lock is still usable.
        self.db.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on tokio's blocking pool, so SQLite calls and bulk hashing stay off the reactor threads.
    pub(crate) async fn blocking<T, E, F>(self: &Arc<Self>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<FakeCloudError> + Send + 'static,
        F: FnOnce(&Store) -> Result<T, E> + Send + 'static,
    {
        let store = Arc::clone(self);
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(result) => result,
            Err(join) => Err(E::from(FakeCloudError::Worker(join))),
        }
    }

    /// The file receiving the slices of upload session `id`.
    pub(crate) fn session_file(&self, id: &str) -> PathBuf {
        self.root.join("sessions").join(id)
    }

    /// The folder holding every upload session.
    pub(crate) fn sessions_root(&self) -> PathBuf {
        self.root.join("sessions")
    }

    /// The folder `<data_dir>/<name>`, created when missing (used by providers for their own byte files).
    pub(crate) fn subdir(&self, name: &str) -> Result<PathBuf, FakeCloudError> {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| FakeCloudError::io(&dir, e))?;
        Ok(dir)
    }

    /// Where the blob with this MD5 lives.
    pub(crate) fn blob_path(&self, md5: &str) -> PathBuf {
        self.root.join("blobs").join(md5)
    }

    /// Creates an empty temp file under `tmp/`; it is deleted when the returned path is dropped unless
    /// it is persisted (renamed into place) first.
    pub(crate) fn temp_file(&self) -> Result<(std::fs::File, TempPath), FakeCloudError> {
        let dir = self.root.join("tmp");
        let named = tempfile::Builder::new()
            .prefix("part-")
            .tempfile_in(&dir)
            .map_err(|e| FakeCloudError::io(&dir, e))?;
        Ok(named.into_parts())
    }

    /// Whether a blob with exactly this MD5 and size is stored.
    pub(crate) fn has_blob(conn: &Connection, md5: &str, size: u64) -> Result<bool, FakeCloudError> {
        let stored: Option<i64> = conn
            .query_row("SELECT size FROM blobs WHERE md5 = ?1", params![md5], |r| r.get(0))
            .optional()?;
        Ok(stored.is_some_and(|s| u64::try_from(s).ok() == Some(size)))
    }

    /// Stores the bytes in `temp` as the blob `md5`, unless that blob already exists (then `temp` is
    /// simply dropped: content addressing makes the copies interchangeable).
    pub(crate) fn put_blob(&self, conn: &Connection, md5: &str, size: u64, temp: TempPath) -> Result<(), FakeCloudError> {
        let target = self.blob_path(md5);
        if Self::has_blob(conn, md5, size)? && target.exists() {
            return Ok(());
        }
        temp.persist(&target).map_err(|e| FakeCloudError::io(&target, e.error))?;
        Self::record_blob(conn, md5, size)
    }

    /// Stores the file at `path` (in the data dir) as the blob `md5` by renaming it, unless that blob
    /// already exists (then `path` is left for the caller to delete).
    pub(crate) fn put_blob_from(&self, conn: &Connection, md5: &str, size: u64, path: &Path) -> Result<(), FakeCloudError> {
        let target = self.blob_path(md5);
        if Self::has_blob(conn, md5, size)? && target.exists() {
            return Ok(());
        }
        std::fs::rename(path, &target).map_err(|e| FakeCloudError::io(path, e))?;
        Self::record_blob(conn, md5, size)
    }

    fn record_blob(conn: &Connection, md5: &str, size: u64) -> Result<(), FakeCloudError> {
        conn.execute(
            "INSERT INTO blobs (md5, size) VALUES (?1, ?2) ON CONFLICT(md5) DO UPDATE SET size = excluded.size",
            params![md5, to_i64(size)?],
        )?;
        Ok(())
    }
}

/// Converts a byte count or id to SQLite's integer type.
pub(crate) fn to_i64(v: u64) -> Result<i64, FakeCloudError> {
    i64::try_from(v).map_err(|_| FakeCloudError::Corrupt(format!("value {v} does not fit in SQLite")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn blobs_are_deduplicated_and_tmp_is_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (mut f, path) = store.temp_file().unwrap();
        f.write_all(b"abc").unwrap();
        drop(f);
        let md5 = "900150983cd24fb0d6963f7d28e17f72";
        {
            let conn = store.db();
            assert!(!Store::has_blob(&conn, md5, 3).unwrap());
            store.put_blob(&conn, md5, 3, path).unwrap();
            assert!(Store::has_blob(&conn, md5, 3).unwrap());
            assert!(!Store::has_blob(&conn, md5, 4).unwrap());
        }
        assert_eq!(std::fs::read(store.blob_path(md5)).unwrap(), b"abc");

        // A leftover temp file disappears on the next open.
        let (_f, leftover) = store.temp_file().unwrap();
        let leftover = leftover.keep().unwrap();
        drop(store);
        let _store = Store::open(dir.path()).unwrap();
        assert!(!leftover.exists());
    }
}
