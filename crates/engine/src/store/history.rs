//! The record of finished uploads, kept after their tasks are cleared from the queue.

use std::path::PathBuf;

use super::{Context, Store, path_from_sql, sql_count};
use crate::error::Result;

/// One finished upload. Written by [`Store::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The task it finished (the task itself may be gone).
    pub task_id: i64,
    /// The profile it was uploaded with (which may be gone too).
    pub profile_id: String,
    /// The local file.
    pub local_path: PathBuf,
    /// Where it went: `/dir/name`.
    pub remote_path: String,
    /// The cloud's id of the file.
    pub remote_id: String,
    /// Its size in bytes.
    pub size: u64,
    /// `uploaded` (bytes were sent) or `instant` (the cloud already had them).
    pub outcome: String,
    /// When it finished (unix ms).
    pub finished_at: i64,
}

impl Store {
    /// The `limit` most recent finished uploads, newest first.
    pub fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>> {
        self.run(|conn| {
            let doing = "reading the upload history";
            let mut stmt = conn
                .prepare_cached(
                    "SELECT task_id, profile_id, local_path, remote_path, remote_id, size, outcome, finished_at
                     FROM history ORDER BY finished_at DESC, id DESC LIMIT ?1",
                )
                .context(doing)?;
            let rows = stmt
                .query_map([sql_count(limit)], |row| {
                    Ok(HistoryEntry {
                        task_id: row.get(0)?,
                        profile_id: row.get(1)?,
                        local_path: path_from_sql(row, 2)?,
                        remote_path: row.get(3)?,
                        remote_id: row.get(4)?,
                        size: row.get(5)?,
                        outcome: row.get(6)?,
                        finished_at: row.get(7)?,
                    })
                })
                .context(doing)?;
            rows.collect::<rusqlite::Result<_>>().context(doing)
        })
    }
}
