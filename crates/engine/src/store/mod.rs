//! The durable store: what makes the upload queue survive crashes and restarts.
//!
//! One SQLite file (bundled SQLite through rusqlite, in WAL mode) holds
//!
//! - **profiles** ([`Profile`]): which cloud account a task goes to, *without* its secret (that lives in the OS
//!   keyring under the profile id, see [`crate::secrets`]);
//! - **tasks** ([`Task`]): the queue, in the user's order, with each task's state and progress;
//! - **parts and resume state** ([`Store::ack_part`], [`Store::save_resume`]): which parts the cloud has
//!   acknowledged and what a provider needs to continue its session (123pan's `preuploadID` and slice size, a
//!   WCS batch and its block contexts), so a restart does not send acknowledged bytes again;
//! - **a hash cache** ([`FileKey`]): digests keyed by device, inode, size and modification time, so a retry or
//!   a re-upload of an unchanged file never reads it twice;
//! - **history** ([`HistoryEntry`]): every finished upload, kept after its task is cleared from the queue;
//! - **application settings** ([`Store::app_setting`]): small JSON values by name, such as the active profile.
//!
//! Finished things are pruned by a [`PruneRule`] so the file stays small.
//!
//! # No secrets
//!
//! Client secrets, access tokens, session tokens and upload tokens never reach this file: no table has a
//! column for them, and the free-form JSON the store accepts (profile settings, resume state) is refused
//! when one of its field names looks like a credential (`token`, `secret`, `password`, …).
//!
//! # Blocking
//!
//! Every method blocks on SQLite; async callers go through `tokio::task::spawn_blocking`. A [`Store`] owns one
//! connection behind a mutex held only for one statement or one short transaction, so it can be shared
//! between threads (`Arc<Store>`). Writes take SQLite's write lock up front (`BEGIN IMMEDIATE`), so two
//! processes on the same file wait for each other (up to [`BUSY_TIMEOUT`]) instead of failing half-way.

mod app_settings;
mod hash_cache;
mod history;
pub mod lifecycle;
mod migrations;
mod parts;
mod profiles;
mod prune;
mod reorder;
mod run_lock;
mod tasks;

pub use hash_cache::FileKey;
pub use history::HistoryEntry;
pub use lifecycle::{TaskAction, allowed_actions};
pub use parts::ResumeRecord;
pub use profiles::{Profile, ProviderKind};
pub use prune::{PruneReport, PruneRule};
pub use run_lock::RunLock;
pub use tasks::{AfterUpload, Finished, MoveTo, NewTask, Task, TaskError, TaskId, TaskState, Transition};

use rusqlite::types::{Type, Value, ValueRef};
use rusqlite::{Connection, TransactionBehavior};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::{Error, Result};

/// How long a statement waits for another connection (another PanDrop process, the CLI) to release the
/// database before it gives up with [`Error::Store`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The durable store. See the [module documentation](self).
pub struct Store {
    conn: Mutex<Connection>,
    /// Where the file is, for messages; `None` in memory.
    path: Option<PathBuf>,
    /// Unix time in milliseconds. Every timestamp the store writes comes from here, so tests can move time.
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
    /// How many times the connection was taken (see [`Store::uses`]).
    uses: AtomicU64,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the database at `path`, creating its parent folders, and brings its schema up to
    /// date.
    ///
    /// Fails with [`Error::Store`] naming the file when it is not a PanDrop database SQLite can read (e.g. a
    /// corrupted file) or when it was written by a newer PanDrop whose schema this one does not know: an
    /// older build never downgrades a newer database.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let doing = format!("opening the database {}", path.display());
        let mut conn = Connection::open(path).context(&doing)?;
        configure(&conn, true).context(&doing)?;
        migrations::migrate(&mut conn, migrations::MIGRATIONS, &doing)?;
        Ok(Self::from_connection(conn, Some(path.to_path_buf())))
    }

    /// Opens a fresh database that lives in memory only (for tests and throw-away sessions).
    pub fn open_in_memory() -> Result<Store> {
        let doing = "opening an in-memory database";
        let mut conn = Connection::open_in_memory().context(doing)?;
        configure(&conn, false).context(doing)?;
        migrations::migrate(&mut conn, migrations::MIGRATIONS, doing)?;
        Ok(Self::from_connection(conn, None))
    }

    /// Replaces the clock (unix milliseconds) the store stamps rows with; the default is the system clock.
    ///
    /// Meant for tests and simulations that need rows of a known age (e.g. to exercise
    /// [`PruneRule::max_history_age`]).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The database file; `None` for a store in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database (the number of migrations applied).
    pub fn schema_version(&self) -> Result<u32> {
        self.run(|conn| migrations::user_version(conn).context("reading the schema version"))
    }

    /// The newest schema version this build knows; [`Store::open`] brings every database up to it.
    pub fn latest_schema_version() -> u32 {
        migrations::latest()
    }

    fn from_connection(conn: Connection, path: Option<PathBuf>) -> Self {
        Self {
            conn: Mutex::new(conn),
            path,
            clock: Box::new(now_ms),
            uses: AtomicU64::new(0),
        }
    }

    /// The current time, from the store's clock.
    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// How many times the store has been used so far (each use is one statement or one short transaction).
    ///
    /// Work is woken by events, not by polling: a test reads this before and after an idle spell to show that
    /// an idle queue leaves the database alone.
    pub fn uses(&self) -> u64 {
        self.uses.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.uses.fetch_add(1, Ordering::Relaxed);
        // A panic while the lock was held cannot leave SQLite half-written: an open transaction rolls back when
        // it is dropped during unwinding. The connection is still good, so poisoning is ignored.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the connection outside an explicit transaction (reads, single-statement writes).
    fn run<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    /// Runs `f` in one write transaction, committed only if `f` succeeds.
    fn write<T>(&self, doing: impl fmt::Display, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context(&doing)?;
        let out = f(&tx)?;
        tx.commit().context(&doing)?;
        Ok(out)
    }
}

/// Sets the per-connection options. `file` is false for in-memory databases, which have no journal to speak
/// of.
fn configure(conn: &Connection, file: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Foreign keys are off by default in SQLite, per connection; removing a task relies on them to remove its
    // parts and resume state.
    conn.pragma_update(None, "foreign_keys", true)?;
    if file {
        // Freed pages are given back to the OS when pruning (`PRAGMA incremental_vacuum`), so the file shrinks
        // after a big clean-up. This only takes effect on a database that has no table yet, i.e. a new one.
        conn.pragma_update(None, "auto_vacuum", "incremental")?;
        // WAL: readers never block the writer, and a commit is one append instead of a rollback journal.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Some file systems (network shares) cannot hold the WAL index; SQLite then keeps its old mode,
            // which is slower but just as safe.
            tracing::warn!(journal_mode = %mode, "the database cannot use WAL; continuing in its current mode");
        }
        // In WAL mode NORMAL loses no committed data when the application crashes, only (at worst) the last
        // commits on a power loss, and never corrupts the file; FULL would add an fsync to each progress update.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    Ok(())
}

/// The system clock in unix milliseconds.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Adds what was being done to a SQLite error and makes it an [`Error::Store`].
trait Context<T> {
    fn context(self, doing: impl fmt::Display) -> Result<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn context(self, doing: impl fmt::Display) -> Result<T> {
        self.map_err(|err| Error::Store {
            message: format!("{doing}: {err}"),
            fault: fault_of(&err),
        })
    }
}

fn store_error(doing: impl fmt::Display, err: &dyn fmt::Display) -> Error {
    Error::store(format!("{doing}: {err}"))
}

/// How SQLite classed a failure.
fn fault_of(err: &rusqlite::Error) -> crate::error::StoreFault {
    use crate::error::StoreFault;
    use rusqlite::ErrorCode as Code;
    match err.sqlite_error_code() {
        Some(Code::DiskFull) => StoreFault::Full,
        Some(Code::ReadOnly | Code::CannotOpen | Code::PermissionDenied) => StoreFault::ReadOnly,
        Some(Code::DatabaseBusy | Code::DatabaseLocked) => StoreFault::Busy,
        Some(Code::DatabaseCorrupt | Code::NotADatabase) => StoreFault::Damaged,
        Some(Code::SystemIoFailure) => StoreFault::Io,
        _ => StoreFault::Other,
    }
}

/// Whether SQLite refused a statement because a referenced row (a task, a profile) does not exist.
fn is_foreign_key_violation(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// The error for an operation on a task id the store does not hold (removed, or never added).
fn no_such_task(id: TaskId) -> Error {
    Error::invalid(format!("task {id}"), "no such task in the queue")
}

/// A local path as SQLite holds it: the OS bytes on unix (paths need not be UTF-8 there), text elsewhere.
#[cfg(unix)]
fn path_to_sql(path: &Path) -> Result<Value> {
    use std::os::unix::ffi::OsStrExt;
    Ok(Value::Blob(path.as_os_str().as_bytes().to_vec()))
}

/// A local path as SQLite holds it: the OS bytes on unix (paths need not be UTF-8 there), text elsewhere.
#[cfg(not(unix))]
fn path_to_sql(path: &Path) -> Result<Value> {
    match path.to_str() {
        Some(text) => Ok(Value::Text(text.to_owned())),
        None => Err(Error::invalid(path.display().to_string(), "the path is not valid Unicode")),
    }
}

/// Reads a path written by [`path_to_sql`] (on this OS or, for UTF-8 paths, another one).
fn path_from_sql(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<PathBuf> {
    let bytes = match row.get_ref(idx)? {
        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => bytes,
        other => return Err(rusqlite::Error::InvalidColumnType(idx, "local_path".into(), other.data_type())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(PathBuf::from(text)),
            Err(e) => Err(rusqlite::Error::FromSqlConversionFailure(idx, Type::Blob, Box::new(e))),
        }
    }
}

/// Reads a text column into a type with a `FromStr` (the store's enums).
fn parse_column<T>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr<Err = Error>,
{
    let text: String = row.get(idx)?;
    text.parse()
        .map_err(|e: Error| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// Reads a JSON text column.
fn json_column(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// Refuses free-form JSON that carries a field named like a credential.
///
/// The store has no column for secrets, but profile settings and resume state are JSON chosen by their
/// callers; this is the last line that keeps a token from being written to disk by mistake. It looks at field
/// names only (a value cannot be told from a secret), anywhere in the document.
fn refuse_secret_fields(subject: &str, value: &serde_json::Value) -> Result<()> {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if looks_like_credential(key) {
                    return Err(Error::invalid(
                        subject,
                        format!("the field `{key}` looks like a credential; secrets belong in the keyring, never in the database"),
                    ));
                }
                refuse_secret_fields(subject, inner)?;
            }
            Ok(())
        }
        serde_json::Value::Array(items) => items.iter().try_for_each(|item| refuse_secret_fields(subject, item)),
        _ => Ok(()),
    }
}

/// Whether a JSON field name names a credential: `token`, `accessToken`, `upload_token`, `clientSecret`,
/// `password`… but not `tokenDeadline` or `expires_at`, which describe one without holding it.
fn looks_like_credential(key: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "token",
        "secret",
        "secretkey",
        "privatekey",
        "apikey",
        "password",
        "passwd",
        "credential",
        "credentials",
        "authorization",
        "cookie",
    ];
    let normalized: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    ENDINGS.iter().any(|ending| normalized.ends_with(ending))
}

/// Converts a count or limit for SQL, where "more than i64::MAX" means "no limit" anyway.
fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// The queue shares one store between its worker threads.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credential_names_are_recognised() {
        for key in [
            "token",
            "accessToken",
            "access_token",
            "uploadToken",
            "clientSecret",
            "client-secret",
            "PASSWORD",
            "api_key",
        ] {
            assert!(looks_like_credential(key), "{key}");
        }
        for key in [
            "tokenDeadline",
            "token_expires_at",
            "preuploadID",
            "sliceSize",
            "server",
            "ctx",
            "batch",
            "etag",
        ] {
            assert!(!looks_like_credential(key), "{key}");
        }
    }

    #[test]
    fn secret_fields_are_refused_at_any_depth() {
        assert!(refuse_secret_fields("x", &json!({"preuploadID": "p", "blocks": [{"ctx": "c"}]})).is_ok());
        let err = refuse_secret_fields("resume state", &json!({"blocks": [{"ctx": "c", "uploadToken": "t"}]})).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        assert!(err.to_string().contains("uploadToken"), "{err}");
        assert!(!err.to_string().contains("\"t\""), "the value itself is never echoed: {err}");
    }

    #[test]
    fn store_errors_carry_what_was_being_done() {
        let err = Err::<(), _>(rusqlite::Error::QueryReturnedNoRows)
            .context("reading task 3")
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Store);
        assert!(!err.is_retryable());
        assert_eq!(err.to_string(), "store: reading task 3: Query returned no rows");
    }

    #[test]
    fn store_failures_keep_what_sqlite_classed_them_as() {
        use crate::error::StoreFault;
        let failure = |code| {
            Err::<(), _>(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None))
                .context("saving")
                .unwrap_err()
        };
        for (code, fault) in [
            (rusqlite::ffi::SQLITE_FULL, StoreFault::Full),
            (rusqlite::ffi::SQLITE_READONLY, StoreFault::ReadOnly),
            (rusqlite::ffi::SQLITE_BUSY, StoreFault::Busy),
            (rusqlite::ffi::SQLITE_CORRUPT, StoreFault::Damaged),
            (rusqlite::ffi::SQLITE_IOERR, StoreFault::Io),
            (rusqlite::ffi::SQLITE_MISMATCH, StoreFault::Other),
        ] {
            assert!(matches!(failure(code), Error::Store { fault: f, .. } if f == fault), "{code}");
        }
        assert_eq!(StoreFault::Full.describe(), "the disk is full");
    }

    #[test]
    fn the_clock_can_be_replaced() {
        let store = Store::open_in_memory().unwrap().with_clock(|| 42);
        assert_eq!(store.now(), 42);
        assert!(now_ms() > 1_600_000_000_000);
    }
}
