//! The one rule book of a task's life: which action each state allows, and what it leads to.
//!
//! Every frontend asks this module instead of keeping its own sets: the scheduler applies
//! [`decide`] to the commands it gets, [`super::Store::transition`] applies it to edits made while no
//! scheduler runs (the CLI's `queue pause` and friends), and the app's buttons come from
//! [`allowed_actions`], which the task DTO carries.

use std::fmt;

use super::TaskState;

/// What a user (or a frontend on the user's behalf) asks of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    /// Hold it; a running one stops and keeps what it sent.
    Pause,
    /// Put a paused task back in the queue.
    Resume,
    /// Stop it for good; its saved session is dropped.
    Cancel,
    /// Queue a failed or cancelled task again, with a fresh attempt budget.
    Retry,
    /// Take it out of the queue (its history stays).
    Remove,
    /// Change its place in the queue.
    Move,
}

impl TaskAction {
    /// Every action, in the order the UI lists them.
    pub const ALL: [TaskAction; 6] = [Self::Pause, Self::Resume, Self::Cancel, Self::Retry, Self::Remove, Self::Move];

    /// The snake_case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Cancel => "cancel",
            Self::Retry => "retry",
            Self::Remove => "remove",
            Self::Move => "move",
        }
    }
}

impl fmt::Display for TaskAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an allowed action does to a task in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The task takes this state now.
    Become(TaskState),
    /// A worker is on the task: the worker is stopped, and when it has let go the task takes this state
    /// (`Paused`, `Cancelled`) or, with `None`, leaves the queue.
    StopWorker(Option<TaskState>),
    /// The task leaves the queue.
    Delete,
    /// The task keeps its place; only its position changes.
    Reorder,
    /// The task is already where the action would take it: nothing to do.
    AlreadyThere,
}

/// Why an action does not apply to a task in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The task has ended (done, instant, failed or cancelled); only retry (for failed and cancelled) and
    /// remove apply.
    #[error("it has finished ({0})")]
    Finished(TaskState),
    /// Retry applies to failed and cancelled tasks only.
    #[error("it has neither failed nor been cancelled (it is {0})")]
    NotFailed(TaskState),
    /// Only waiting tasks (queued or paused) have a place in the queue that still matters.
    #[error("only waiting tasks can be moved (it is {0})")]
    NotWaiting(TaskState),
}

/// What `action` does to a task in `state`, or why it does not apply. Pure: the table test below covers every
/// pair.
pub fn decide(state: TaskState, action: TaskAction) -> Result<Decision, Refusal> {
    use Decision::{AlreadyThere, Become, Delete, Reorder, StopWorker};
    use TaskAction as A;
    use TaskState as S;
    let active = state.is_active();
    match (action, state) {
        (A::Remove, _) if active => Ok(StopWorker(None)),
        (A::Remove, _) => Ok(Delete),

        (A::Pause, S::Queued) => Ok(Become(S::Paused)),
        (A::Pause, _) if active => Ok(StopWorker(Some(S::Paused))),
        (A::Pause, S::Paused) => Ok(AlreadyThere),

        (A::Resume, S::Paused) => Ok(Become(S::Queued)),
        (A::Resume, S::Queued) => Ok(AlreadyThere),
        (A::Resume, _) if active => Ok(AlreadyThere),

        (A::Cancel, S::Queued | S::Paused) => Ok(Become(S::Cancelled)),
        (A::Cancel, _) if active => Ok(StopWorker(Some(S::Cancelled))),
        (A::Cancel, S::Cancelled) => Ok(AlreadyThere),

        (A::Retry, S::Failed | S::Cancelled) => Ok(Become(S::Queued)),
        (A::Retry, s) if !s.is_finished() => Err(Refusal::NotFailed(s)),

        (A::Move, S::Queued | S::Paused) => Ok(Reorder),
        (A::Move, s) => Err(Refusal::NotWaiting(s)),

        (A::Pause | A::Resume | A::Cancel | A::Retry, s) => Err(Refusal::Finished(s)),
    }
}

/// The actions that change something for a task in `state` (allowed, and not [`Decision::AlreadyThere`]):
/// what the app enables for that row.
pub fn allowed_actions(state: TaskState) -> Vec<TaskAction> {
    TaskAction::ALL
        .into_iter()
        .filter(|action| decide(state, *action).is_ok_and(|d| d != Decision::AlreadyThere))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::{AlreadyThere as Same, Become, Delete, Reorder, StopWorker as Stop};
    use TaskState as S;

    /// Every state against every action: (state, pause, resume, cancel, retry, remove, move).
    #[rustfmt::skip]
    const TABLE: [(TaskState, [Result<Decision, Refusal>; 6]); 10] = [
        (S::Queued,     [Ok(Become(S::Paused)), Ok(Same), Ok(Become(S::Cancelled)), Err(Refusal::NotFailed(S::Queued)), Ok(Delete), Ok(Reorder)]),
        (S::Hashing,    [Ok(Stop(Some(S::Paused))), Ok(Same), Ok(Stop(Some(S::Cancelled))), Err(Refusal::NotFailed(S::Hashing)), Ok(Stop(None)), Err(Refusal::NotWaiting(S::Hashing))]),
        (S::Preparing,  [Ok(Stop(Some(S::Paused))), Ok(Same), Ok(Stop(Some(S::Cancelled))), Err(Refusal::NotFailed(S::Preparing)), Ok(Stop(None)), Err(Refusal::NotWaiting(S::Preparing))]),
        (S::Uploading,  [Ok(Stop(Some(S::Paused))), Ok(Same), Ok(Stop(Some(S::Cancelled))), Err(Refusal::NotFailed(S::Uploading)), Ok(Stop(None)), Err(Refusal::NotWaiting(S::Uploading))]),
        (S::Completing, [Ok(Stop(Some(S::Paused))), Ok(Same), Ok(Stop(Some(S::Cancelled))), Err(Refusal::NotFailed(S::Completing)), Ok(Stop(None)), Err(Refusal::NotWaiting(S::Completing))]),
        (S::Done,       [Err(Refusal::Finished(S::Done)), Err(Refusal::Finished(S::Done)), Err(Refusal::Finished(S::Done)), Err(Refusal::Finished(S::Done)), Ok(Delete), Err(Refusal::NotWaiting(S::Done))]),
        (S::Instant,    [Err(Refusal::Finished(S::Instant)), Err(Refusal::Finished(S::Instant)), Err(Refusal::Finished(S::Instant)), Err(Refusal::Finished(S::Instant)), Ok(Delete), Err(Refusal::NotWaiting(S::Instant))]),
        (S::Failed,     [Err(Refusal::Finished(S::Failed)), Err(Refusal::Finished(S::Failed)), Err(Refusal::Finished(S::Failed)), Ok(Become(S::Queued)), Ok(Delete), Err(Refusal::NotWaiting(S::Failed))]),
        (S::Paused,     [Ok(Same), Ok(Become(S::Queued)), Ok(Become(S::Cancelled)), Err(Refusal::NotFailed(S::Paused)), Ok(Delete), Ok(Reorder)]),
        (S::Cancelled,  [Err(Refusal::Finished(S::Cancelled)), Err(Refusal::Finished(S::Cancelled)), Ok(Same), Ok(Become(S::Queued)), Ok(Delete), Err(Refusal::NotWaiting(S::Cancelled))]),
    ];

    #[test]
    fn every_state_and_action_pair() {
        assert_eq!(TABLE.map(|(s, _)| s), TaskState::ALL, "the table lists every state once, in order");
        for (state, row) in TABLE {
            for (action, expected) in TaskAction::ALL.into_iter().zip(row) {
                assert_eq!(decide(state, action), expected, "{action} on {state}");
            }
        }
    }

    #[test]
    fn decisions_keep_the_lifecycle_shape() {
        for state in TaskState::ALL {
            for action in TaskAction::ALL {
                match decide(state, action) {
                    // Only the scheduler finishes a task, and a worker is stopped, never overwritten.
                    Ok(Decision::Become(to)) => {
                        assert!(!matches!(to, S::Done | S::Instant) && !to.is_active() && !state.is_active());
                    }
                    Ok(Decision::StopWorker(_)) => assert!(state.is_active()),
                    // Nothing but remove touches an uploaded file.
                    Ok(_) if matches!(state, S::Done | S::Instant) => assert_eq!(action, TaskAction::Remove),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn allowed_actions_leave_out_no_ops() {
        use TaskAction as A;
        assert_eq!(allowed_actions(S::Queued), [A::Pause, A::Cancel, A::Remove, A::Move]);
        assert_eq!(allowed_actions(S::Uploading), [A::Pause, A::Cancel, A::Remove]);
        assert_eq!(allowed_actions(S::Paused), [A::Resume, A::Cancel, A::Remove, A::Move]);
        assert_eq!(allowed_actions(S::Failed), [A::Retry, A::Remove]);
        assert_eq!(allowed_actions(S::Cancelled), [A::Retry, A::Remove]);
        assert_eq!(allowed_actions(S::Done), [A::Remove]);
    }

    #[test]
    fn refusals_say_why() {
        let why = decide(S::Done, TaskAction::Pause).unwrap_err().to_string();
        assert_eq!(why, "it has finished (done)");
        let why = decide(S::Uploading, TaskAction::Move).unwrap_err().to_string();
        assert_eq!(why, "only waiting tasks can be moved (it is uploading)");
    }
}
