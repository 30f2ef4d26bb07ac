//! Keeping the database small: finished tasks, old history and cold hash-cache entries are dropped by rule.

use std::time::Duration;

use super::{Context, Store, sql_count};
use crate::error::Result;

/// How much finished work the store keeps. See [`Store::prune`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PruneRule {
    /// Finished tasks (`Done`, `Instant`, `Failed`, `Cancelled`) kept in the queue; older ones go first.
    pub keep_finished_tasks: usize,
    /// History rows kept; older ones go first.
    pub keep_history: usize,
    /// History rows older than this go, whatever their number; `None` keeps them by count only.
    pub max_history_age: Option<Duration>,
    /// Hash-cache entries kept; the least recently used go first.
    pub max_hash_cache_entries: usize,
}

impl Default for PruneRule {
    /// 1000 finished tasks, 10000 history rows no older than 180 days, 50000 hash-cache entries.
    fn default() -> Self {
        Self {
            keep_finished_tasks: 1000,
            keep_history: 10_000,
            max_history_age: Some(Duration::from_secs(180 * 24 * 60 * 60)),
            max_hash_cache_entries: 50_000,
        }
    }
}

/// How many rows [`Store::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    /// Finished tasks (with their parts and resume state).
    pub tasks: usize,
    /// History rows.
    pub history: usize,
    /// Hash-cache entries.
    pub hash_cache: usize,
}

impl Store {
    /// Applies `rule` in one transaction: removes the finished tasks beyond
    /// [`PruneRule::keep_finished_tasks`] (least recently updated first), the history rows beyond
    /// [`PruneRule::keep_history`] or older than [`PruneRule::max_history_age`], and the least recently used
    /// hash-cache entries beyond [`PruneRule::max_hash_cache_entries`]. Queued, paused and running tasks are
    /// never touched. Then gives freed pages back to the file system.
    pub fn prune(&self, rule: &PruneRule) -> Result<PruneReport> {
        let now = self.now();
        let doing = "pruning the database";
        let report = self.write(doing, |conn| {
            let tasks = conn
                .execute(
                    "DELETE FROM tasks WHERE id IN (
                         SELECT id FROM tasks WHERE state IN ('done', 'instant', 'failed', 'cancelled')
                         ORDER BY updated_at DESC, id DESC LIMIT -1 OFFSET ?1)",
                    [sql_count(rule.keep_finished_tasks)],
                )
                .context(doing)?;
            let mut history = conn
                .execute(
                    "DELETE FROM history WHERE id IN (
                         SELECT id FROM history ORDER BY finished_at DESC, id DESC LIMIT -1 OFFSET ?1)",
                    [sql_count(rule.keep_history)],
                )
                .context(doing)?;
            if let Some(age) = rule.max_history_age {
                let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
                history += conn
                    .execute("DELETE FROM history WHERE finished_at < ?1", [now.saturating_sub(age_ms)])
                    .context(doing)?;
            }
            let hash_cache = conn
                .execute(
                    "DELETE FROM hash_cache WHERE rowid IN (
                         SELECT rowid FROM hash_cache ORDER BY used_at DESC, rowid DESC LIMIT -1 OFFSET ?1)",
                    [sql_count(rule.max_hash_cache_entries)],
                )
                .context(doing)?;
            Ok(PruneReport {
                tasks,
                history,
                hash_cache,
            })
        })?;
        if report != PruneReport::default() {
            // Only a database created with auto_vacuum=incremental has pages to give back; elsewhere this is a
            // no-op. Freed pages are reused by later writes either way.
            self.run(|conn| {
                conn.execute_batch("PRAGMA incremental_vacuum").context(doing)?;
                Ok(())
            })?;
        }
        Ok(report)
    }
}
