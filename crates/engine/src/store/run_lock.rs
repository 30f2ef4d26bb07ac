//! One queue runner per store file: a lock held for as long as a process works the queue.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Proof that this process is the only one working the queue of a store file.
///
/// Two runners on one store would each take the other's tasks (a starting queue puts tasks left mid-way back
/// in line) and send the same files twice. The lock is SQLite's exclusive lock on a small file next to the
/// store, so the operating system releases it when the process ends, even when it is killed.
pub struct RunLock {
    _conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for RunLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunLock").field("path", &self.path).finish_non_exhaustive()
    }
}

impl RunLock {
    /// Takes the runner lock of the store at `store_path`, without waiting.
    ///
    /// Fails with [`Error::Store`] naming the store when another process holds it, or when the lock file next
    /// to the store cannot be created (a read-only or full folder).
    pub fn acquire(store_path: &Path) -> Result<RunLock> {
        let mut name = store_path.as_os_str().to_owned();
        name.push(".run-lock");
        let path = PathBuf::from(name);
        let failed = |what: &str, e: rusqlite::Error| Error::Store {
            message: format!("{what} {}: {e}", path.display()),
            fault: super::fault_of(&e),
        };
        let conn = Connection::open(&path).map_err(|e| failed("cannot create the lock file", e))?;
        // Ask once: rusqlite would otherwise wait out its default busy timeout for the other runner.
        conn.busy_timeout(std::time::Duration::ZERO).map_err(|e| failed("cannot lock", e))?;
        match conn.execute_batch("BEGIN EXCLUSIVE") {
            Ok(()) => Ok(RunLock { _conn: conn, path }),
            Err(rusqlite::Error::SqliteFailure(code, _))
                if matches!(code.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
            {
                Err(Error::Store {
                    message: format!(
                        "the queue of {} is being worked by another process; wait for it to finish or stop it first",
                        store_path.display()
                    ),
                    fault: crate::error::StoreFault::Busy,
                })
            }
            Err(e) => Err(failed("cannot lock", e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_runner_is_refused_until_the_first_lets_go() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let store = dir.path().join("queue.db");
        let first = RunLock::acquire(&store).expect("first");
        let err = RunLock::acquire(&store).expect_err("second refused");
        assert!(err.to_string().contains("another process"), "{err}");
        assert!(err.to_string().contains("queue.db"), "{err}");
        drop(first);
        RunLock::acquire(&store).expect("free again");
    }
}
