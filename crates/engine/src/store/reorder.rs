//! Moving tasks to a place in the queue named by another task (a row dropped before another one).

use rusqlite::{OptionalExtension, params};

use super::{Context, Store, no_such_task};
use crate::error::Result;
use crate::store::TaskId;

impl Store {
    /// Moves `ids`, in that order, right before the task `before` (which stays where it is, after them).
    /// Ids the store does not hold, and `before` itself, are skipped; a missing `before` is an error.
    pub fn move_before(&self, ids: &[TaskId], before: TaskId) -> Result<()> {
        let now = self.now();
        self.write(format_args!("moving tasks before task {before}"), |conn| {
            let doing = format!("moving tasks before task {before}");
            let anchor: i64 = conn
                .query_row("SELECT position FROM tasks WHERE id = ?1", [before.0], |row| row.get(0))
                .optional()
                .context(&doing)?
                .ok_or_else(|| no_such_task(before))?;
            let moving: Vec<TaskId> = ids.iter().copied().filter(|id| *id != before).collect();
            let count = i64::try_from(moving.len()).unwrap_or(i64::MAX);
            // Make room: everything from the anchor on shifts down by the number of moved tasks, then the moved
            // tasks take the freed positions in the given order. Queue order is (position, id), so equal
            // positions left behind by the moved tasks do not matter.
            conn.execute(
                "UPDATE tasks SET position = position + ?1, updated_at = ?2 WHERE position >= ?3",
                params![count, now, anchor],
            )
            .context(&doing)?;
            let mut set = conn
                .prepare_cached("UPDATE tasks SET position = ?1, updated_at = ?2 WHERE id = ?3")
                .context(&doing)?;
            for (offset, id) in (0_i64..).zip(&moving) {
                set.execute(params![anchor + offset, now, id.0]).context(&doing)?;
            }
            Ok(())
        })
    }
}
