//! The schema, as an ordered list of migrations.
//!
//! Migration `i` (0-based) takes a database from schema version `i` to `i + 1`; the version is SQLite's
//! `PRAGMA user_version`, which lives in the file header and so changes atomically with the migration's
//! transaction. Migrations are only ever appended: a released one is never edited, because databases in the
//! field already ran it. The schema snapshot test (`tests/store/schema.rs`) fails on any change to the
//! resulting schema, so every change is deliberate.
//!
//! Tables are `STRICT` (SQLite checks column types) and enum-like columns (state, provider, outcome) carry no
//! `CHECK`: the code validates them when reading, and a new provider or state then needs no table rebuild.

use rusqlite::{Connection, TransactionBehavior};

use super::{Context, store_error};
use crate::error::Result;

/// Every migration, in order. Append only.
pub(super) const MIGRATIONS: &[&str] = &[V1_INITIAL, V2_APP_SETTINGS, V3_BYTES_SENT, V4_BLOCK_SHA256, V5_BYTES_HELD];

/// Version 1: profiles, the queue, parts and resume state, the hash cache and history.
const V1_INITIAL: &str = r#"
-- A cloud account. Its secret (client secret, session token) is in the OS keyring under `id`, never here.
CREATE TABLE profiles (
    id          TEXT PRIMARY KEY NOT NULL,
    provider    TEXT NOT NULL,
    name        TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    default_dir TEXT NOT NULL,
    settings    TEXT NOT NULL CHECK (json_valid(settings))
) STRICT;

-- The upload queue. AUTOINCREMENT: a task id is never reused, since history rows keep pointing at it.
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id    TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    local_path    ANY NOT NULL,
    remote_dir    TEXT NOT NULL,
    remote_name   TEXT NOT NULL,
    duplicate     TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    state         TEXT NOT NULL,
    bytes_done    INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done >= 0),
    error_code    TEXT,
    error_message TEXT,
    remote_id     TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    position      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX tasks_by_position ON tasks (position);
CREATE INDEX tasks_by_state ON tasks (state, position);
CREATE INDEX tasks_by_profile ON tasks (profile_id);

-- Parts the cloud acknowledged, with what it handed back (a WCS block context); gone with their task.
CREATE TABLE parts (
    task_id  INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL CHECK (idx >= 0),
    receipt  TEXT,
    acked_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, idx)
) STRICT, WITHOUT ROWID;

-- What a provider needs to continue its upload session, without any token.
CREATE TABLE resume_states (
    task_id    INTEGER PRIMARY KEY NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (json_valid(state)),
    expires_at INTEGER,
    saved_at   INTEGER NOT NULL
) STRICT;

-- Digests by file identity; mtime is split in seconds and nanoseconds to fit SQLite's 64-bit integers.
CREATE TABLE hash_cache (
    dev        INTEGER NOT NULL,
    ino        INTEGER NOT NULL,
    size       INTEGER NOT NULL CHECK (size >= 0),
    mtime_s    INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    md5        TEXT,
    etag       TEXT,
    slice_size INTEGER CHECK (slice_size > 0),
    slice_md5  TEXT CHECK (slice_md5 IS NULL OR json_valid(slice_md5)),
    used_at    INTEGER NOT NULL,
    PRIMARY KEY (dev, ino, size, mtime_s, mtime_ns)
) STRICT;
CREATE INDEX hash_cache_by_use ON hash_cache (used_at);

-- Finished uploads. No foreign keys: history outlives its task and profile.
CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER NOT NULL,
    profile_id  TEXT NOT NULL,
    local_path  ANY NOT NULL,
    remote_path TEXT NOT NULL,
    remote_id   TEXT NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    outcome     TEXT NOT NULL,
    finished_at INTEGER NOT NULL
) STRICT;
CREATE INDEX history_by_time ON history (finished_at);
"#;

/// Version 2: application settings (the active profile, the user's choices) as JSON values by name.
const V2_APP_SETTINGS: &str = r#"
-- Never a secret: values are refused when a field is named like a credential.
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at INTEGER NOT NULL
) STRICT;
"#;

/// Version 3: what a finished task sent, so a report says it from the record instead of guessing, and what
/// follows a task's upload (a torrent's offline download) with what came of it.
const V3_BYTES_SENT: &str = r#"
-- Bytes sent by the transfer that finished the task (parts acknowledged before it and bytes the cloud already
-- held are not counted).
ALTER TABLE tasks ADD COLUMN bytes_sent INTEGER CHECK (bytes_sent >= 0);
-- A step after the upload, as JSON (`{"kind": "offline_download", "save_dir": …}`), and its result.
ALTER TABLE tasks ADD COLUMN after_upload TEXT CHECK (after_upload IS NULL OR json_valid(after_upload));
ALTER TABLE tasks ADD COLUMN after_result TEXT CHECK (after_result IS NULL OR json_valid(after_result));
"#;

/// Version 4: SHA-256 per block in the hash cache (HalalCloud's block CIDs), kept for one block size like
/// the slice MD5s.
const V4_BLOCK_SHA256: &str = r#"
ALTER TABLE hash_cache ADD COLUMN block_size INTEGER CHECK (block_size > 0);
ALTER TABLE hash_cache ADD COLUMN block_sha256 TEXT CHECK (block_sha256 IS NULL OR json_valid(block_sha256));
"#;

/// Version 5: bytes of a finished task that the cloud held already and were not sent (HalalCloud's blocks).
const V5_BYTES_HELD: &str = r#"
ALTER TABLE tasks ADD COLUMN bytes_held INTEGER CHECK (bytes_held >= 0);
"#;

/// The newest schema version this build knows.
pub(super) fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// Reads `PRAGMA user_version`.
pub(super) fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies the migrations the database has not run yet, each in its own transaction. `doing` names the
/// database for messages.
///
/// Returns the resulting version. A database newer than `migrations` is refused, never downgraded.
pub(super) fn migrate(conn: &mut Connection, migrations: &[&str], doing: &str) -> Result<u32> {
    let known = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    // Reading the header is also the first real read of the file: a file that is not a database fails here.
    let mut version = user_version(conn).context(doing)?;
    refuse_newer(version, known, doing)?;
    while version < known {
        let next = version + 1;
        let step = format!("{doing}: migrating the schema to version {next}");
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).context(&step)?;
        // Another process may have migrated while we waited for the write lock: read the version again under it.
        let current = user_version(&tx).context(&step)?;
        refuse_newer(current, known, doing)?;
        if current == version {
            let sql = migrations[version as usize];
            tx.execute_batch(sql).context(&step)?;
            tx.pragma_update(None, "user_version", next).context(&step)?;
        }
        tx.commit().context(&step)?;
        version = user_version(conn).context(doing)?;
    }
    Ok(version)
}

fn refuse_newer(version: u32, known: u32, doing: &str) -> Result<()> {
    if version > known {
        return Err(store_error(
            doing,
            &format_args!(
                "its schema version {version} is newer than this version of PanDrop understands ({known}); \
                 update PanDrop to open it"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOY: &[&str] = &[
        "CREATE TABLE a (x INTEGER);",
        "ALTER TABLE a ADD COLUMN y TEXT;",
        "CREATE TABLE b (z INTEGER);",
    ];

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn migrations_apply_in_order_and_only_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn, &TOY[..1], "db").unwrap(), 1);
        assert_eq!(tables(&conn), ["a"]);
        // A later build with more migrations picks up where the database stopped.
        assert_eq!(migrate(&mut conn, TOY, "db").unwrap(), 3);
        assert_eq!(tables(&conn), ["a", "b"]);
        conn.execute("INSERT INTO a (x, y) VALUES (1, 'two')", []).unwrap();
        // Running them again changes nothing (a second CREATE TABLE would fail).
        assert_eq!(migrate(&mut conn, TOY, "db").unwrap(), 3);
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version_intact() {
        let mut conn = Connection::open_in_memory().unwrap();
        let broken: &[&str] = &[TOY[0], "CREATE TABLE c (x INTEGER); THIS IS NOT SQL;"];
        let err = migrate(&mut conn, broken, "db").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Store);
        assert!(err.to_string().contains("migrating the schema to version 2"), "{err}");
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert_eq!(tables(&conn), ["a"], "the half-run migration was rolled back");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, TOY, "db").unwrap();
        let err = migrate(&mut conn, &TOY[..2], "opening x.db").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Store);
        assert!(err.to_string().contains("opening x.db"), "{err}");
        assert!(err.to_string().contains("schema version 3 is newer"), "{err}");
        assert_eq!(user_version(&conn).unwrap(), 3, "never downgraded");
    }

    #[test]
    fn the_real_migrations_run_on_an_empty_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn, MIGRATIONS, "db").unwrap(), latest());
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        let problems: Vec<String> = conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(problems.is_empty());
    }
}
