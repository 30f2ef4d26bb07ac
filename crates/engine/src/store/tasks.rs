//! The upload queue: tasks, their order and their state.

use rusqlite::{Connection, OptionalExtension, params};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::lifecycle::{self, Decision, TaskAction};
use super::profiles::profile_exists;
use super::{Context, Store, no_such_task, parse_column, path_from_sql, path_to_sql};
use crate::error::{Error, Result};
use crate::provider::{DuplicatePolicy, OfflineStarted, RemoteTarget};

/// A task's id: unique in its database and never reused, even after the task is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a task is in its life.
///
/// `Queued → Hashing → Preparing → Uploading → Completing → Done | Instant`, with `Failed`, `Paused` and
/// `Cancelled` reachable from the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for a free slot.
    Queued,
    /// Reading the file for its digests.
    Hashing,
    /// Asking the cloud to open an upload (or finding it already has the bytes).
    Preparing,
    /// Sending parts.
    Uploading,
    /// Asking the cloud to assemble the parts.
    Completing,
    /// Uploaded.
    Done,
    /// Finished without sending the bytes: the cloud already had them (秒传).
    Instant,
    /// Gave up; see [`Task::error`].
    Failed,
    /// Held by the user; keeps its parts and resume state.
    Paused,
    /// Stopped by the user for good.
    Cancelled,
}

impl TaskState {
    /// Every state, in life order.
    pub const ALL: [TaskState; 10] = [
        Self::Queued,
        Self::Hashing,
        Self::Preparing,
        Self::Uploading,
        Self::Completing,
        Self::Done,
        Self::Instant,
        Self::Failed,
        Self::Paused,
        Self::Cancelled,
    ];

    /// The snake_case name stored in the database and used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Hashing => "hashing",
            Self::Preparing => "preparing",
            Self::Uploading => "uploading",
            Self::Completing => "completing",
            Self::Done => "done",
            Self::Instant => "instant",
            Self::Failed => "failed",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the task has ended (`Done`, `Instant`, `Failed`, `Cancelled`): nothing runs for it any more.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Instant | Self::Failed | Self::Cancelled)
    }

    /// Whether a worker is on the task (`Hashing`, `Preparing`, `Uploading`, `Completing`).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Hashing | Self::Preparing | Self::Uploading | Self::Completing)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskState {
    type Err = Error;

    /// Parses the name given by [`TaskState::as_str`].
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("task state `{s}`"), "not a known state"))
    }
}

/// Where [`Store::move_task`] moves a task in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveTo {
    /// First in the queue.
    Top,
    /// One place earlier (swaps with the task before it).
    Up,
    /// One place later (swaps with the task after it).
    Down,
    /// Last in the queue.
    Bottom,
}

/// A step that follows a task's upload, inside the same task: its progress, slot and cancel are the task's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AfterUpload {
    /// Start the cloud's offline download of the uploaded torrent into `save_dir`.
    OfflineDownload {
        /// Where the downloaded files go.
        save_dir: String,
    },
}

/// What a finished task recorded ([`Store::finish_with`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// `Done` or `Instant`.
    pub state: TaskState,
    /// The cloud's id of the file.
    pub remote_id: String,
    /// Bytes the transfer that finished it sent, when known.
    pub bytes_sent: Option<u64>,
    /// Bytes the cloud held already and the transfer did not send, when known.
    pub bytes_held: Option<u64>,
    /// What its after-upload step started, if it had one.
    pub offline: Option<OfflineStarted>,
}

/// A file to add to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// The profile (cloud account) to upload with; it must exist.
    pub profile_id: String,
    /// The local file.
    pub local_path: PathBuf,
    /// Where it goes.
    pub target: RemoteTarget,
    /// What to do when the name is taken.
    pub duplicate: DuplicatePolicy,
    /// Its size when it was queued.
    pub size: u64,
    /// A step after the upload, if any.
    pub after: Option<AfterUpload>,
}

impl NewTask {
    /// Makes this (a `.torrent`) a task for the cloud's offline download: it uploads to `torrent_dir`, then
    /// the download starts into `save_dir`.
    pub fn download_offline(&mut self, torrent_dir: &str, save_dir: &str) {
        self.target.dir = torrent_dir.to_owned();
        self.after = Some(AfterUpload::OfflineDownload {
            save_dir: save_dir.to_owned(),
        });
    }
}

/// Why a task failed, as the UI shows it: a closed code (see [`crate::ErrorCode`]) and a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskError {
    /// [`crate::ErrorCode::as_str`] of the error.
    pub code: String,
    /// The error's message (engine messages never hold secrets).
    pub message: String,
}

impl From<&Error> for TaskError {
    fn from(err: &Error) -> Self {
        Self {
            code: err.code().as_str().to_owned(),
            message: err.to_string(),
        }
    }
}

/// A task as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// The profile it uploads with.
    pub profile_id: String,
    /// The local file.
    pub local_path: PathBuf,
    /// Where it goes.
    pub target: RemoteTarget,
    /// What to do when the name is taken.
    pub duplicate: DuplicatePolicy,
    /// The file's size when it was queued.
    pub size: u64,
    /// Where it is in its life.
    pub state: TaskState,
    /// Bytes the cloud has acknowledged (the whole size once finished).
    pub bytes_done: u64,
    /// Why it failed, when it did.
    pub error: Option<TaskError>,
    /// The cloud's id of the uploaded file, once finished.
    pub remote_id: Option<String>,
    /// Bytes sent by the transfer that finished it (0 for an instant upload; parts acknowledged by an earlier
    /// run are not counted); `None` while unfinished or when not recorded.
    pub bytes_sent: Option<u64>,
    /// Bytes of its parts the cloud held already and were not sent (HalalCloud's blocks; an instant upload
    /// counts none here: all of it was held); `None` while unfinished or when not recorded.
    pub bytes_held: Option<u64>,
    /// A step after the upload, if any.
    pub after: Option<AfterUpload>,
    /// What the offline download of a finished torrent task started.
    pub offline: Option<OfflineStarted>,
    /// How many times a worker has started on it.
    pub attempts: u32,
    /// Its place in the queue: tasks run in increasing position (not necessarily consecutive numbers).
    pub position: i64,
    /// When it was queued (unix ms).
    pub created_at: i64,
    /// When it last changed (unix ms).
    pub updated_at: i64,
}

const TASK_COLUMNS: &str = "id, profile_id, local_path, remote_dir, remote_name, duplicate, size, state, bytes_done, \
                            error_code, error_message, remote_id, attempts, position, created_at, updated_at, bytes_sent, \
                            after_upload, after_result, bytes_held";

/// SQL for the states [`TaskState::is_active`] names.
const ACTIVE_STATES: &str = "('hashing', 'preparing', 'uploading', 'completing')";

fn task_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
    let error = match (row.get::<_, Option<String>>(9)?, row.get::<_, Option<String>>(10)?) {
        (Some(code), message) => Some(TaskError {
            code,
            message: message.unwrap_or_default(),
        }),
        (None, _) => None,
    };
    Ok(Task {
        id: TaskId(row.get(0)?),
        profile_id: row.get(1)?,
        local_path: path_from_sql(row, 2)?,
        target: RemoteTarget {
            dir: row.get(3)?,
            name: row.get(4)?,
        },
        duplicate: duplicate_from_sql(row, 5)?,
        size: row.get(6)?,
        state: parse_column(row, 7)?,
        bytes_done: row.get(8)?,
        error,
        remote_id: row.get(11)?,
        attempts: row.get(12)?,
        position: row.get(13)?,
        created_at: row.get(14)?,
        updated_at: row.get(15)?,
        bytes_sent: row.get(16)?,
        after: json_field(row, 17)?,
        offline: json_field(row, 18)?,
        bytes_held: row.get(19)?,
    })
}

/// An optional JSON column read into its type.
fn json_field<T: serde::de::DeserializeOwned>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<T>> {
    let Some(text) = row.get::<_, Option<String>>(idx)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// A value for an optional JSON column.
fn json_text<T: serde::Serialize>(value: Option<&T>) -> Option<String> {
    value.and_then(|v| serde_json::to_string(v).ok())
}

fn duplicate_to_sql(policy: DuplicatePolicy) -> &'static str {
    match policy {
        DuplicatePolicy::Fail => "fail",
        DuplicatePolicy::KeepBoth => "keep_both",
        DuplicatePolicy::Overwrite => "overwrite",
    }
}

fn duplicate_from_sql(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<DuplicatePolicy> {
    let text: String = row.get(idx)?;
    match text.as_str() {
        "fail" => Ok(DuplicatePolicy::Fail),
        "keep_both" => Ok(DuplicatePolicy::KeepBoth),
        "overwrite" => Ok(DuplicatePolicy::Overwrite),
        _ => Err(rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("unknown duplicate policy `{text}`").into(),
        )),
    }
}

/// Reads one task inside a statement sequence.
fn task_in(conn: &Connection, id: TaskId) -> Result<Option<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1");
    conn.query_row(&sql, [id.0], task_from_row)
        .optional()
        .context(format_args!("reading task {id}"))
}

/// Runs a single-row UPDATE on a task that leaves finished (`Done` / `Instant`) tasks alone, and turns "no row
/// changed" into [`no_such_task`], or into a refusal when the task is there but finished.
fn update_one(conn: &Connection, id: TaskId, doing: fmt::Arguments<'_>, sql: &str, params: impl rusqlite::Params) -> Result<()> {
    let changed = conn.execute(sql, params).context(doing)?;
    if changed == 0 {
        return Err(refused_change(conn, id)?);
    }
    Ok(())
}

/// Why a guarded update changed no row: the task is finished (and keeps its state), or it is not there.
fn refused_change(conn: &Connection, id: TaskId) -> Result<Error> {
    Ok(match task_in(conn, id)? {
        Some(task) => Error::invalid(
            format!("task {id}"),
            format!("is {}: a finished upload keeps its state and progress", task.state),
        ),
        None => no_such_task(id),
    })
}

/// What [`Store::transition`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The task changed; here it is as it now stands.
    Changed(Task),
    /// The action found the task where it would have taken it (or, for a move, allowed it): nothing changed.
    Unchanged(Task),
    /// The task left the queue.
    Removed(TaskId),
    /// A worker is on the task. Whoever owns that worker stops it; then the task takes `then`, or leaves the
    /// queue with `None`.
    Running {
        /// The task as it stands.
        task: Task,
        /// Its state once the worker let go; `None`: it leaves the queue.
        then: Option<TaskState>,
    },
}

/// Ids of the tasks in `where_sql`, in queue order.
fn ids_where(conn: &Connection, where_sql: &str, doing: &str) -> Result<Vec<TaskId>> {
    let sql = format!("SELECT id FROM tasks WHERE {where_sql} ORDER BY position, id");
    let mut stmt = conn.prepare(&sql).context(doing)?;
    let rows = stmt.query_map([], |row| row.get(0).map(TaskId)).context(doing)?;
    rows.collect::<rusqlite::Result<_>>().context(doing)
}

impl Store {
    /// Appends tasks at the bottom of the queue, in the given order, all in one transaction (all or none),
    /// as [`TaskState::Queued`].
    ///
    /// Fails with [`Error::InvalidInput`] when a task names a profile the store does not hold, or when a
    /// path cannot be stored (outside unix, a path that is not valid Unicode).
    pub fn add_tasks(&self, tasks: &[NewTask]) -> Result<Vec<TaskId>> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let paths = tasks.iter().map(|t| path_to_sql(&t.local_path)).collect::<Result<Vec<_>>>()?;
        let now = self.now();
        self.write("adding tasks", |conn| {
            let mut checked: Vec<&str> = Vec::new();
            for task in tasks {
                if !checked.contains(&task.profile_id.as_str()) {
                    if !profile_exists(conn, &task.profile_id)? {
                        return Err(Error::invalid(format!("profile {}", task.profile_id), "no such profile"));
                    }
                    checked.push(&task.profile_id);
                }
            }
            let last: i64 = conn
                .query_row("SELECT COALESCE(MAX(position), 0) FROM tasks", [], |row| row.get(0))
                .context("adding tasks")?;
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO tasks (profile_id, local_path, remote_dir, remote_name, duplicate, size, state, position,
                                        created_at, updated_at, after_upload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?8, ?9)",
                )
                .context("adding tasks")?;
            let mut ids = Vec::with_capacity(tasks.len());
            for (offset, (task, path)) in (1_i64..).zip(tasks.iter().zip(paths)) {
                let doing = format!("adding {} to the queue", task.local_path.display());
                stmt.execute(params![
                    task.profile_id,
                    path,
                    task.target.dir,
                    task.target.name,
                    duplicate_to_sql(task.duplicate),
                    task.size,
                    last.saturating_add(offset),
                    now,
                    json_text(task.after.as_ref()),
                ])
                .context(&doing)?;
                ids.push(TaskId(conn.last_insert_rowid()));
            }
            Ok(ids)
        })
    }

    /// The task with this id, if the store holds it.
    pub fn task(&self, id: TaskId) -> Result<Option<Task>> {
        self.run(|conn| task_in(conn, id))
    }

    /// Every task, in queue order.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        self.run(|conn| {
            let sql = format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY position, id");
            let mut stmt = conn.prepare_cached(&sql).context("listing tasks")?;
            let rows = stmt.query_map([], task_from_row).context("listing tasks")?;
            rows.collect::<rusqlite::Result<_>>().context("listing tasks")
        })
    }

    /// Up to `limit` [`TaskState::Queued`] tasks, in queue order: the next ones to start.
    pub fn next_queued(&self, limit: usize) -> Result<Vec<Task>> {
        self.run(|conn| {
            let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE state = 'queued' ORDER BY position, id LIMIT ?1");
            let mut stmt = conn.prepare_cached(&sql).context("listing queued tasks")?;
            let rows = stmt
                .query_map([super::sql_count(limit)], task_from_row)
                .context("listing queued tasks")?;
            rows.collect::<rusqlite::Result<_>>().context("listing queued tasks")
        })
    }

    /// Moves a task to another state and records why it failed (`error`; `None` clears a previous error).
    ///
    /// `Done` and `Instant` are refused with [`Error::InvalidInput`]: a task finishes through
    /// [`Store::finish`], which also records the remote id and the history row. For the same reason a task
    /// that is `Done` or `Instant` is refused too: it stays finished (until it is removed), so a late or stale
    /// change (another process acting on what it read a moment ago) cannot queue an uploaded file again.
    pub fn set_state(&self, id: TaskId, state: TaskState, error: Option<&TaskError>) -> Result<Task> {
        if matches!(state, TaskState::Done | TaskState::Instant) {
            return Err(Error::invalid(
                format!("task {id}"),
                format!("a task becomes {state} only through finish(), which also records its history"),
            ));
        }
        let now = self.now();
        // `UPDATE … RETURNING` makes its change on the first step and commits when the statement is reset,
        // where a failed commit would go unseen: an explicit transaction reports it.
        self.write(format_args!("setting task {id} to {state}"), |conn| {
            let sql = format!(
                "UPDATE tasks SET state = ?1, error_code = ?2, error_message = ?3, updated_at = ?4
                 WHERE id = ?5 AND state NOT IN ('done', 'instant') RETURNING {TASK_COLUMNS}"
            );
            let doing = format!("setting task {id} to {state}");
            let params = params![state.as_str(), error.map(|e| &e.code), error.map(|e| &e.message), now, id.0];
            match conn.query_row(&sql, params, task_from_row).optional().context(&doing)? {
                Some(task) => Ok(task),
                None => Err(refused_change(conn, id)?),
            }
        })
    }

    /// Takes a [`TaskState::Queued`] task for a worker: it becomes [`TaskState::Hashing`] in one statement, so
    /// a task that another process paused, cancelled or removed a moment ago is never started. `None` when the
    /// task is no longer queued.
    pub fn claim(&self, id: TaskId) -> Result<Option<Task>> {
        let now = self.now();
        // In a transaction, so a failed commit is reported (see `set_state`).
        self.write(format_args!("starting task {id}"), |conn| {
            let sql =
                format!("UPDATE tasks SET state = 'hashing', updated_at = ?1 WHERE id = ?2 AND state = 'queued' RETURNING {TASK_COLUMNS}");
            conn.query_row(&sql, params![now, id.0], task_from_row)
                .optional()
                .context(format_args!("starting task {id}"))
        })
    }

    /// Applies a user's action to a task as [`lifecycle::decide`] rules, checking and writing in one write
    /// transaction, so a task that changed a moment ago (in this process or another) is judged as it is now.
    ///
    /// A task a worker is on is not changed: the answer says so, and the worker's owner stops it. `Retry` gives
    /// the task a fresh budget of automatic retries; `Cancel` drops its saved session. [`TaskAction::Move`] is
    /// only checked here (the move itself is [`Store::move_task`]). A refused action is
    /// [`Error::InvalidInput`] naming the task and the rule.
    pub fn transition(&self, id: TaskId, action: TaskAction) -> Result<Transition> {
        let now = self.now();
        self.write(format_args!("{action} task {id}"), |conn| {
            let task = task_in(conn, id)?.ok_or_else(|| no_such_task(id))?;
            let decision = lifecycle::decide(task.state, action)
                .map_err(|why| Error::invalid(format!("task {id}"), format!("cannot {action}: {why}")))?;
            let doing = format!("{action} task {id}");
            match decision {
                Decision::AlreadyThere | Decision::Reorder => Ok(Transition::Unchanged(task)),
                Decision::StopWorker(then) => Ok(Transition::Running { task, then }),
                Decision::Delete => {
                    conn.execute("DELETE FROM tasks WHERE id = ?1", [id.0]).context(&doing)?;
                    Ok(Transition::Removed(id))
                }
                Decision::Become(to) => {
                    if action == TaskAction::Cancel {
                        conn.execute("DELETE FROM parts WHERE task_id = ?1", [id.0]).context(&doing)?;
                        conn.execute("DELETE FROM resume_states WHERE task_id = ?1", [id.0])
                            .context(&doing)?;
                    }
                    let sql = format!(
                        "UPDATE tasks SET state = ?1, error_code = NULL, error_message = NULL,
                             attempts = CASE WHEN ?2 THEN 0 ELSE attempts END, updated_at = ?3
                         WHERE id = ?4 AND state = ?5 RETURNING {TASK_COLUMNS}"
                    );
                    let fresh_budget = action == TaskAction::Retry;
                    let params = params![to.as_str(), fresh_budget, now, id.0, task.state.as_str()];
                    let changed = conn.query_row(&sql, params, task_from_row).context(&doing)?;
                    Ok(Transition::Changed(changed))
                }
            }
        })
    }

    /// Records how many bytes of the task the cloud has acknowledged.
    ///
    /// Refused with [`Error::InvalidInput`] for a task that is `Done` or `Instant`: its count is its size.
    pub fn set_progress(&self, id: TaskId, bytes_done: u64) -> Result<()> {
        let now = self.now();
        self.run(|conn| {
            update_one(
                conn,
                id,
                format_args!("saving the progress of task {id}"),
                "UPDATE tasks SET bytes_done = ?1, updated_at = ?2 WHERE id = ?3 AND state NOT IN ('done', 'instant')",
                params![bytes_done, now, id.0],
            )
        })
    }

    /// Marks a task uploaded (`Done`) or instantly uploaded (`Instant`) as the cloud file `remote_id`, and
    /// writes its history row, in one transaction. Its parts and resume state are dropped: nothing will
    /// resume it. Returns the finished task.
    ///
    /// Finishing a task that is already `Done` or `Instant` changes nothing (and writes no second history
    /// row). Other states are refused with [`Error::InvalidInput`].
    pub fn finish(&self, id: TaskId, state: TaskState, remote_id: &str) -> Result<Task> {
        self.finish_with(
            id,
            &Finished {
                state,
                remote_id: remote_id.to_owned(),
                bytes_sent: None,
                bytes_held: None,
                offline: None,
            },
        )
    }

    /// [`Store::finish`], recording what the transfer sent and what its after-upload step started.
    pub fn finish_with(&self, id: TaskId, finished: &Finished) -> Result<Task> {
        let (state, remote_id, bytes_sent) = (finished.state, finished.remote_id.as_str(), finished.bytes_sent);
        let offline = json_text(finished.offline.as_ref());
        let outcome = match state {
            TaskState::Done => "uploaded",
            TaskState::Instant => "instant",
            other => {
                return Err(Error::invalid(
                    format!("task {id}"),
                    format!("finish() takes done or instant, not {other}"),
                ));
            }
        };
        let now = self.now();
        self.write(format_args!("finishing task {id}"), |conn| {
            let task = task_in(conn, id)?.ok_or_else(|| no_such_task(id))?;
            if matches!(task.state, TaskState::Done | TaskState::Instant) {
                return Ok(task);
            }
            let doing = format!("finishing task {id}");
            conn.execute(
                "UPDATE tasks SET state = ?1, remote_id = ?2, bytes_done = size, error_code = NULL, error_message = NULL,
                     updated_at = ?3, bytes_sent = ?5, after_result = ?6, bytes_held = ?7
                 WHERE id = ?4",
                params![state.as_str(), remote_id, now, id.0, bytes_sent, offline, finished.bytes_held],
            )
            .context(&doing)?;
            conn.execute("DELETE FROM parts WHERE task_id = ?1", [id.0]).context(&doing)?;
            conn.execute("DELETE FROM resume_states WHERE task_id = ?1", [id.0])
                .context(&doing)?;
            conn.execute(
                "INSERT INTO history (task_id, profile_id, local_path, remote_path, remote_id, size, outcome, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id.0,
                    task.profile_id,
                    path_to_sql(&task.local_path)?,
                    task.target.full_path(),
                    remote_id,
                    task.size,
                    outcome,
                    now
                ],
            )
            .context(&doing)?;
            task_in(conn, id)?.ok_or_else(|| no_such_task(id))
        })
    }

    /// Counts one more start of the task and returns the new count.
    pub fn bump_attempts(&self, id: TaskId) -> Result<u32> {
        let now = self.now();
        // In a transaction, so a failed commit is reported (see `set_state`).
        self.write(format_args!("counting an attempt of task {id}"), |conn| {
            conn.query_row(
                "UPDATE tasks SET attempts = attempts + 1, updated_at = ?1 WHERE id = ?2 RETURNING attempts",
                params![now, id.0],
                |row| row.get(0),
            )
            .optional()
            .context(format_args!("counting an attempt of task {id}"))?
            .ok_or_else(|| no_such_task(id))
        })
    }

    /// Moves a task in the queue. `Up` and `Down` swap it with its neighbour; moving the first task up (or
    /// to the top), or the last one down (or to the bottom), changes nothing.
    pub fn move_task(&self, id: TaskId, to: MoveTo) -> Result<()> {
        let now = self.now();
        self.write(format_args!("moving task {id}"), |conn| {
            let doing = format!("moving task {id}");
            let position: i64 = conn
                .query_row("SELECT position FROM tasks WHERE id = ?1", [id.0], |row| row.get(0))
                .optional()
                .context(&doing)?
                .ok_or_else(|| no_such_task(id))?;
            // The neighbour in the direction of the move (queue order is (position, id)).
            let neighbour_sql = match to {
                MoveTo::Top | MoveTo::Up => {
                    "SELECT id, position FROM tasks WHERE (position, id) < (?1, ?2) ORDER BY position DESC, id DESC LIMIT 1"
                }
                MoveTo::Down | MoveTo::Bottom => {
                    "SELECT id, position FROM tasks WHERE (position, id) > (?1, ?2) ORDER BY position, id LIMIT 1"
                }
            };
            let Some((other, other_position)) = conn
                .query_row(neighbour_sql, params![position, id.0], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()
                .context(&doing)?
            else {
                return Ok(()); // already at that end
            };
            let set = "UPDATE tasks SET position = ?1, updated_at = ?2 WHERE id = ?3";
            match to {
                MoveTo::Up | MoveTo::Down => {
                    conn.execute(set, params![other_position, now, id.0]).context(&doing)?;
                    conn.execute(set, params![position, now, other]).context(&doing)?;
                }
                MoveTo::Top => {
                    let first: i64 = conn
                        .query_row("SELECT MIN(position) FROM tasks", [], |row| row.get(0))
                        .context(&doing)?;
                    conn.execute(set, params![first.saturating_sub(1), now, id.0]).context(&doing)?;
                }
                MoveTo::Bottom => {
                    let last: i64 = conn
                        .query_row("SELECT MAX(position) FROM tasks", [], |row| row.get(0))
                        .context(&doing)?;
                    conn.execute(set, params![last.saturating_add(1), now, id.0]).context(&doing)?;
                }
            }
            Ok(())
        })
    }

    /// Removes tasks with their parts and resume state (history stays). Ids the store does not hold are
    /// skipped.
    pub fn remove_tasks(&self, ids: &[TaskId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write("removing tasks", |conn| {
            let mut stmt = conn.prepare_cached("DELETE FROM tasks WHERE id = ?1").context("removing tasks")?;
            for id in ids {
                stmt.execute([id.0]).context(format_args!("removing task {id}"))?;
            }
            Ok(())
        })
    }

    /// Removes the `Done`, `Instant` and `Cancelled` tasks (their history stays; `Failed` ones stay for a
    /// retry). Returns how many were removed.
    pub fn clear_finished(&self) -> Result<usize> {
        self.run(|conn| {
            conn.execute("DELETE FROM tasks WHERE state IN ('done', 'instant', 'cancelled')", [])
                .context("clearing finished tasks")
        })
    }

    /// Puts every `Failed` task back in the queue, with its error cleared and its attempt count reset (a
    /// retry the user asked for gets a fresh budget of automatic retries). Parts and resume state are kept.
    /// Returns them in queue order.
    pub fn retry_failed(&self) -> Result<Vec<TaskId>> {
        let now = self.now();
        self.write("retrying failed tasks", |conn| {
            let ids = ids_where(conn, "state = 'failed'", "retrying failed tasks")?;
            conn.execute(
                "UPDATE tasks SET state = 'queued', error_code = NULL, error_message = NULL, attempts = 0, updated_at = ?1
                 WHERE state = 'failed'",
                [now],
            )
            .context("retrying failed tasks")?;
            Ok(ids)
        })
    }

    /// After a crash, puts the tasks a worker was on (`Hashing`, `Preparing`, `Uploading`, `Completing`) back
    /// in the queue, keeping their parts, resume state and progress so they continue where they stopped.
    /// Call once at start-up, before the queue runs. Returns them in queue order.
    pub fn recover_after_restart(&self) -> Result<Vec<TaskId>> {
        let now = self.now();
        self.write("recovering interrupted tasks", |conn| {
            let active = format!("state IN {ACTIVE_STATES}");
            let ids = ids_where(conn, &active, "recovering interrupted tasks")?;
            conn.execute(&format!("UPDATE tasks SET state = 'queued', updated_at = ?1 WHERE {active}"), [now])
                .context("recovering interrupted tasks")?;
            Ok(ids)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip_and_classify() {
        for state in TaskState::ALL {
            assert_eq!(state.as_str().parse::<TaskState>().unwrap(), state);
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state.as_str().into())
            );
            assert!(!(state.is_active() && state.is_finished()));
            assert_eq!(state.is_active(), ACTIVE_STATES.contains(&format!("'{state}'")), "{state}");
        }
        let finished: Vec<_> = TaskState::ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(
            finished,
            [TaskState::Done, TaskState::Instant, TaskState::Failed, TaskState::Cancelled]
        );
        assert!("running".parse::<TaskState>().is_err());
    }

    #[test]
    fn duplicate_policy_names_match_serde() {
        for policy in [DuplicatePolicy::Fail, DuplicatePolicy::KeepBoth, DuplicatePolicy::Overwrite] {
            assert_eq!(
                serde_json::to_value(policy).unwrap(),
                serde_json::Value::String(duplicate_to_sql(policy).into())
            );
        }
    }

    #[test]
    fn task_ids_display_and_serialize_as_numbers() {
        assert_eq!(TaskId(7).to_string(), "7");
        assert_eq!(serde_json::to_string(&TaskId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<TaskId>("8").unwrap(), TaskId(8));
    }

    /// Found by the `queue_store` fuzz target: a state or progress write after `finish` used to succeed,
    /// leaving a `Done` task short of its size or putting an uploaded file back in the queue.
    #[test]
    fn finished_tasks_keep_their_state_and_progress() {
        let store = Store::open_in_memory().unwrap();
        store
            .upsert_profile(&super::super::Profile {
                id: "p".into(),
                provider: super::super::ProviderKind::PAN123,
                name: "p".into(),
                endpoint: "sandbox".into(),
                default_dir: "/".into(),
                settings: serde_json::json!({}),
            })
            .unwrap();
        let task = |name: &str| NewTask {
            profile_id: "p".into(),
            local_path: PathBuf::from(format!("/data/{name}")),
            target: RemoteTarget {
                dir: "/".into(),
                name: name.into(),
            },
            duplicate: DuplicatePolicy::Fail,
            size: 10,
            after: None,
        };
        let ids = store.add_tasks(&[task("a"), task("b")]).unwrap();
        store.finish(ids[0], TaskState::Done, "r1").unwrap();
        store.finish(ids[1], TaskState::Instant, "r2").unwrap();
        for id in ids.iter().copied() {
            for state in [TaskState::Queued, TaskState::Failed, TaskState::Cancelled, TaskState::Uploading] {
                let err = store.set_state(id, state, None).unwrap_err();
                assert_eq!(err.code(), crate::ErrorCode::InvalidInput, "{err}");
                assert!(err.to_string().contains("finished upload"), "{err}");
            }
            assert_eq!(store.set_progress(id, 3).unwrap_err().code(), crate::ErrorCode::InvalidInput);
            let kept = store.task(id).unwrap().unwrap();
            assert!(matches!(kept.state, TaskState::Done | TaskState::Instant));
            assert_eq!(kept.bytes_done, 10);
        }
        // A task that is not there is still reported as such.
        assert!(
            store
                .set_state(TaskId(999), TaskState::Queued, None)
                .unwrap_err()
                .to_string()
                .contains("no such task")
        );
        assert_eq!(store.history(10).unwrap().len(), 2);
    }

    #[test]
    fn task_error_from_an_engine_error() {
        let err = TaskError::from(&Error::Cancelled);
        assert_eq!(err.code, "cancelled");
        assert_eq!(err.message, "cancelled");
    }
}
