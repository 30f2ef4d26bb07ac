//! The schema after migrations, compared with a snapshot so every change is deliberate.

use pandrop_engine::store::Store;
use rusqlite::Connection;

use super::support::db;

/// `type name` and the SQL of every schema object, by name.
fn dump(conn: &Connection) -> String {
    let mut stmt = conn.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").unwrap();
    let rows = stmt
        .query_map([], |row| {
            let (kind, name, sql): (String, String, Option<String>) = (row.get(0)?, row.get(1)?, row.get(2)?);
            Ok(format!("{kind} {name}\n{}\n", sql.unwrap_or_else(|| "-".into())))
        })
        .unwrap();
    rows.collect::<rusqlite::Result<Vec<_>>>().unwrap().join("\n")
}

const EXPECTED: &str = r#"table app_settings
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at INTEGER NOT NULL
) STRICT

table hash_cache
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
    used_at    INTEGER NOT NULL, block_size INTEGER CHECK (block_size > 0), block_sha256 TEXT CHECK (block_sha256 IS NULL OR json_valid(block_sha256)),
    PRIMARY KEY (dev, ino, size, mtime_s, mtime_ns)
) STRICT

index hash_cache_by_use
CREATE INDEX hash_cache_by_use ON hash_cache (used_at)

table history
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
) STRICT

index history_by_time
CREATE INDEX history_by_time ON history (finished_at)

table parts
CREATE TABLE parts (
    task_id  INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL CHECK (idx >= 0),
    receipt  TEXT,
    acked_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, idx)
) STRICT, WITHOUT ROWID

table profiles
CREATE TABLE profiles (
    id          TEXT PRIMARY KEY NOT NULL,
    provider    TEXT NOT NULL,
    name        TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    default_dir TEXT NOT NULL,
    settings    TEXT NOT NULL CHECK (json_valid(settings))
) STRICT

table resume_states
CREATE TABLE resume_states (
    task_id    INTEGER PRIMARY KEY NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (json_valid(state)),
    expires_at INTEGER,
    saved_at   INTEGER NOT NULL
) STRICT

index sqlite_autoindex_app_settings_1
-

index sqlite_autoindex_hash_cache_1
-

index sqlite_autoindex_profiles_1
-

table sqlite_sequence
CREATE TABLE sqlite_sequence(name,seq)

table tasks
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
, bytes_sent INTEGER CHECK (bytes_sent >= 0), after_upload TEXT CHECK (after_upload IS NULL OR json_valid(after_upload)), after_result TEXT CHECK (after_result IS NULL OR json_valid(after_result)), bytes_held INTEGER CHECK (bytes_held >= 0)) STRICT

index tasks_by_position
CREATE INDEX tasks_by_position ON tasks (position)

index tasks_by_profile
CREATE INDEX tasks_by_profile ON tasks (profile_id)

index tasks_by_state
CREATE INDEX tasks_by_state ON tasks (state, position)
"#;

#[test]
fn schema_matches_the_snapshot() {
    let db = db();
    let conn = Connection::open(&db.path).unwrap();
    let actual = dump(&conn);
    assert!(
        actual == EXPECTED,
        "the schema changed; if that is deliberate (a new migration), update EXPECTED to:\n{actual}"
    );
    assert_eq!(db.store.schema_version().unwrap(), Store::latest_schema_version());
    assert_eq!(Store::latest_schema_version(), 5);
}

#[test]
fn reopening_runs_no_migration_again() {
    let db = db();
    let before = dump(&Connection::open(&db.path).unwrap());
    let db = db.reopen().reopen();
    assert_eq!(db.store.schema_version().unwrap(), Store::latest_schema_version());
    assert_eq!(dump(&Connection::open(&db.path).unwrap()), before);
    // The data written before is untouched.
    assert_eq!(db.store.profiles().unwrap().len(), 1);
}

#[test]
fn no_column_could_hold_a_secret() {
    let db = db();
    let conn = Connection::open(&db.path).unwrap();
    let mut stmt = conn
        .prepare("SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'")
        .unwrap();
    let columns: Vec<(String, String)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(columns.len() > 40, "{columns:?}");
    for (table, column) in &columns {
        let lower = column.to_lowercase();
        for word in ["token", "secret", "password", "passwd", "credential", "cookie", "auth"] {
            assert!(!lower.contains(word), "{table}.{column} looks like it could hold a secret");
        }
    }
}
