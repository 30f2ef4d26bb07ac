//! Acknowledged parts and provider resume state: what lets an upload continue after a restart.
//!
//! A provider's upload session is described by a small JSON document (123pan: `preuploadID`, `sliceSize`,
//! the upload server; WCS: the batch, the upload host, the etag) plus the parts the cloud acknowledged, each
//! with its receipt (a WCS block's last `ctx`). Tokens are not part of it: a resumed session asks for a fresh
//! one, so nothing here is a secret.

use rusqlite::{OptionalExtension, params};

use super::{Context, Store, is_foreign_key_violation, json_column, no_such_task, refuse_secret_fields};
use crate::error::Result;
use crate::store::TaskId;

/// A saved provider session, as [`Store::load_resume`] returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeRecord {
    /// The provider that saved it (its `name()`).
    pub provider: String,
    /// The provider's own description of the session.
    pub state: serde_json::Value,
    /// When the cloud forgets the session (unix ms), if the provider knows.
    pub expires_at: Option<i64>,
}

impl Store {
    /// Records that the cloud acknowledged part `index` (0-based) of a task, with what it handed back for it
    /// (`receipt`, e.g. a WCS block context; `None` for a 123pan slice).
    ///
    /// Idempotent: acknowledging the same part again keeps one row, with the latest receipt. Fails with
    /// [`crate::Error::InvalidInput`] when the task is not in the store.
    pub fn ack_part(&self, id: TaskId, index: u32, receipt: Option<&str>) -> Result<()> {
        let now = self.now();
        self.run(|conn| {
            let result = conn.execute(
                "INSERT INTO parts (task_id, idx, receipt, acked_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (task_id, idx) DO UPDATE SET receipt = excluded.receipt, acked_at = excluded.acked_at",
                params![id.0, index, receipt, now],
            );
            match result {
                Err(err) if is_foreign_key_violation(&err) => Err(no_such_task(id)),
                other => other.map(drop).context(format_args!("saving part {index} of task {id}")),
            }
        })
    }

    /// The acknowledged parts of a task with their receipts, by index.
    pub fn acked_parts(&self, id: TaskId) -> Result<Vec<(u32, Option<String>)>> {
        self.run(|conn| {
            let doing = format!("reading the parts of task {id}");
            let mut stmt = conn
                .prepare_cached("SELECT idx, receipt FROM parts WHERE task_id = ?1 ORDER BY idx")
                .context(&doing)?;
            let rows = stmt.query_map([id.0], |row| Ok((row.get(0)?, row.get(1)?))).context(&doing)?;
            rows.collect::<rusqlite::Result<_>>().context(&doing)
        })
    }

    /// Saves what `provider` needs to continue the task's upload session, replacing what was saved before.
    ///
    /// **The caller must not put secrets in `state`**: no access token, session token or WCS upload token.
    /// A resumed session asks for a fresh token; a token's deadline (`expires_at`, unix ms) is fine. As a last
    /// line of defence, a `state` with a field named like a credential (`token`, `uploadToken`,
    /// `clientSecret`, `password`…) is refused with [`crate::Error::InvalidInput`].
    ///
    /// When a session was saved before and its `provider` or `state` differs from the new one, the task's
    /// acknowledged parts are dropped in the same transaction: they belonged to the old session, and the new
    /// one must not skip them. Saving the same state again (e.g. with a new `expires_at`) keeps them.
    pub fn save_resume(&self, id: TaskId, provider: &str, state: &serde_json::Value, expires_at: Option<i64>) -> Result<()> {
        refuse_secret_fields(&format!("resume state of task {id}"), state)?;
        let text = state.to_string();
        let now = self.now();
        let doing = format!("saving the resume state of task {id}");
        self.write(&doing, |conn| {
            let previous: Option<(String, serde_json::Value)> = conn
                .query_row("SELECT provider, state FROM resume_states WHERE task_id = ?1", [id.0], |row| {
                    Ok((row.get(0)?, json_column(row, 1)?))
                })
                .optional()
                .context(&doing)?;
            // Parts acknowledged before the first save belong to the session being saved; only a different
            // saved session makes them stale.
            let replaced = previous.is_some_and(|(p, s)| p != provider || &s != state);
            if replaced {
                conn.execute("DELETE FROM parts WHERE task_id = ?1", [id.0]).context(&doing)?;
            }
            let result = conn.execute(
                "INSERT INTO resume_states (task_id, provider, state, expires_at, saved_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (task_id) DO UPDATE SET provider = excluded.provider, state = excluded.state,
                     expires_at = excluded.expires_at, saved_at = excluded.saved_at",
                params![id.0, provider, text, expires_at, now],
            );
            match result {
                Err(err) if is_foreign_key_violation(&err) => Err(no_such_task(id)),
                other => other.map(drop).context(&doing),
            }
        })
    }

    /// The saved session of a task, if any.
    pub fn load_resume(&self, id: TaskId) -> Result<Option<ResumeRecord>> {
        self.run(|conn| {
            conn.query_row(
                "SELECT provider, state, expires_at FROM resume_states WHERE task_id = ?1",
                [id.0],
                |row| {
                    Ok(ResumeRecord {
                        provider: row.get(0)?,
                        state: json_column(row, 1)?,
                        expires_at: row.get(2)?,
                    })
                },
            )
            .optional()
            .context(format_args!("reading the resume state of task {id}"))
        })
    }

    /// Forgets a task's saved session and its acknowledged parts (the upload will begin afresh). A task
    /// without any is not an error.
    pub fn clear_resume(&self, id: TaskId) -> Result<()> {
        let doing = format!("clearing the resume state of task {id}");
        self.write(&doing, |conn| {
            conn.execute("DELETE FROM parts WHERE task_id = ?1", [id.0]).context(&doing)?;
            conn.execute("DELETE FROM resume_states WHERE task_id = ?1", [id.0])
                .context(&doing)?;
            Ok(())
        })
    }
}
