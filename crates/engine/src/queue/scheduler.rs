//! The owner task: starts queued tasks as slots allow, applies commands, reacts to finished transfers,
//! and publishes progress.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::journal::StoreJournal;
use super::progress::ProgressBoard;
use super::{Command, Limits, ProviderSource, QueueEvent, blocking};
use crate::error::{Error, ErrorCode, Result};
use crate::http::ByteRate;
use crate::store::{FileKey, Store, Task, TaskError, TaskId, TaskState};
use crate::transfer::{self, Outcome, Phase, TransferOptions, TransferReport};

/// How often progress is published.
const TICK: Duration = Duration::from_millis(100);
/// How often running tasks' byte counts are saved.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// Longest wait before trying again after a transient failure or while the network is gone.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why a running task was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Pause,
    Cancel,
    Remove,
}

struct Running {
    cancel: CancellationToken,
    stop: Option<Stop>,
}

pub(super) struct Scheduler {
    store: Arc<Store>,
    providers: Arc<dyn ProviderSource>,
    limits: Limits,
    events: broadcast::Sender<QueueEvent>,
    idle: watch::Sender<bool>,
    cancel: CancellationToken,
    hash_slots: Arc<Semaphore>,
    upload_slots: Arc<Semaphore>,
    rate: ByteRate,
    running: HashMap<TaskId, Running>,
    workers: JoinSet<(TaskId, Result<TransferReport>)>,
    board: ProgressBoard,
    /// Tasks waiting out a backoff, and how many times each has waited for the network.
    not_before: HashMap<TaskId, (Instant, u32)>,
    /// The last state saved for each running task.
    phases: HashMap<TaskId, TaskState>,
    last_save: Instant,
    /// The first write the store refused; no task starts after one.
    store_failure: Arc<Mutex<Option<String>>>,
}

impl Scheduler {
    pub(super) fn new(
        store: Arc<Store>,
        providers: Arc<dyn ProviderSource>,
        limits: Limits,
        events: broadcast::Sender<QueueEvent>,
        idle: watch::Sender<bool>,
        cancel: CancellationToken,
        store_failure: Arc<Mutex<Option<String>>>,
    ) -> Self {
        Self {
            store,
            providers,
            hash_slots: Arc::new(Semaphore::new(limits.hashing.max(1))),
            upload_slots: Arc::new(Semaphore::new(limits.files.max(1))),
            rate: {
                let rate = ByteRate::unlimited();
                rate.set(limits.upload_bytes_per_sec);
                rate
            },
            limits,
            events,
            idle,
            cancel,
            running: HashMap::new(),
            workers: JoinSet::new(),
            board: ProgressBoard::default(),
            not_before: HashMap::new(),
            phases: HashMap::new(),
            last_save: Instant::now(),
            store_failure,
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            if let Err(e) = self.fill().await {
                tracing::error!(error = %e, "cannot read the queue");
            }
            self.update_idle().await;
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => break,
                command = commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => break,
                },
                Some(joined) = self.workers.join_next(), if !self.workers.is_empty() => match joined {
                    Ok((id, result)) => self.finished(id, result).await,
                    Err(e) => tracing::error!(error = %e, "a transfer task failed to run to the end"),
                },
                _ = tick.tick() => self.tick().await,
            }
        }
        self.stop_all().await;
    }

    /// Starts queued tasks while there is room: every upload slot, plus the hashing slots so hashing runs
    /// ahead of uploads.
    async fn fill(&mut self) -> Result<()> {
        if self.store_failed() {
            return Ok(());
        }
        let room = (self.limits.files + self.limits.hashing).saturating_sub(self.running.len());
        if room == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let want = room + self.running.len() + self.not_before.len();
        let queued = blocking(&self.store, move |s| s.next_queued(want)).await?;
        let ready = queued
            .into_iter()
            .filter(|t| !self.running.contains_key(&t.id))
            .filter(|t| self.not_before.get(&t.id).is_none_or(|(at, _)| *at <= now))
            .take(room)
            .collect::<Vec<_>>();
        for task in ready {
            self.start(task).await;
        }
        Ok(())
    }

    async fn start(&mut self, task: Task) {
        let id = task.id;
        let provider = match self.providers.provider(&task.profile_id) {
            Ok(p) => p,
            Err(e) => return self.set(id, TaskState::Failed, Some(TaskError::from(&e))).await,
        };
        // The hash cache is keyed by the file as it is now: a changed file is hashed again.
        let key = std::fs::metadata(&task.local_path)
            .ok()
            .and_then(|m| FileKey::of(&task.local_path, &m).ok());
        let journal = StoreJournal {
            store: Arc::clone(&self.store),
            task: id,
            key,
            hash_slots: Arc::clone(&self.hash_slots),
            upload_slots: Arc::clone(&self.upload_slots),
            permit: Mutex::new(None),
        };
        let options = TransferOptions {
            parallel_parts: self.limits.parts_per_file.max(1),
            duplicate: task.duplicate,
            rate: self.rate.clone(),
            stall_timeout: self.limits.stall_timeout,
        };
        let cancel = self.cancel.child_token();
        let progress = self.board.reporter(id);
        self.running.insert(
            id,
            Running {
                cancel: cancel.clone(),
                stop: None,
            },
        );
        self.phases.insert(id, TaskState::Hashing);
        self.set(id, TaskState::Hashing, None).await;
        self.workers.spawn(async move {
            let result = transfer::upload_file_with(
                provider.as_ref(),
                &task.local_path,
                &task.target,
                &options,
                progress,
                &journal,
                &cancel,
            )
            .await;
            (id, result)
        });
    }

    async fn finished(&mut self, id: TaskId, result: Result<TransferReport>) {
        let stop = self.running.remove(&id).and_then(|r| r.stop);
        self.board.remove(id);
        self.phases.remove(&id);
        match (result, stop) {
            (Ok(report), _) => {
                self.not_before.remove(&id);
                let state = match report.outcome {
                    Outcome::Uploaded => TaskState::Done,
                    Outcome::Instant => TaskState::Instant,
                };
                let remote = report.remote.id.clone();
                match blocking(&self.store, move |s| s.finish(id, state, &remote)).await {
                    Ok(()) => self.emit(id, state),
                    Err(e) => {
                        tracing::error!(task = %id, error = %e, "cannot record a finished upload");
                        self.note_store_failure(&e);
                    }
                }
            }
            (Err(_), Some(Stop::Pause)) => self.set(id, TaskState::Paused, None).await,
            (Err(_), Some(Stop::Cancel)) => self.cancel_saved(id).await,
            (Err(_), Some(Stop::Remove)) => self.remove_now(id).await,
            // Stopping with the queue: the task goes back in line with what it sent.
            (Err(Error::Cancelled), None) => self.set(id, TaskState::Queued, None).await,
            (Err(e), None) => self.failed(id, e).await,
        }
    }

    /// A transfer failed on its own: wait and try again, or give up.
    async fn failed(&mut self, id: TaskId, err: Error) {
        if err.code() == ErrorCode::Network {
            // No network: wait for it without spending attempts (a laptop closing its lid is not a failure).
            let waits = self.not_before.get(&id).map_or(0, |(_, n)| n + 1);
            tracing::warn!(task = %id, error = %err, "the cloud is unreachable; waiting to try again");
            self.not_before.insert(id, (Instant::now() + backoff(waits), waits));
            return self.set(id, TaskState::Queued, Some(TaskError::from(&err))).await;
        }
        if err.is_retryable() {
            match blocking(&self.store, move |s| s.bump_attempts(id)).await {
                Ok(attempts) if attempts < self.limits.max_attempts => {
                    tracing::warn!(task = %id, attempts, error = %err, "transfer failed; trying again");
                    self.not_before.insert(id, (Instant::now() + backoff(attempts), 0));
                    return self.set(id, TaskState::Queued, Some(TaskError::from(&err))).await;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(task = %id, error = %e, "cannot count attempts"),
            }
        }
        self.not_before.remove(&id);
        self.set(id, TaskState::Failed, Some(TaskError::from(&err))).await;
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Wake => {}
            Command::Done(reply) => {
                let _ = reply.send(());
            }
            Command::Pause(ids) => {
                for id in ids {
                    self.pause(id).await;
                }
            }
            Command::Resume(ids) => {
                for id in ids {
                    self.resume(id).await;
                }
            }
            Command::Cancel(ids) => {
                for id in ids {
                    if !self.stop_running(id, Stop::Cancel) && self.is(id, |s| !s.is_finished()).await {
                        self.cancel_saved(id).await;
                    }
                }
            }
            Command::Retry(ids) => {
                for id in ids {
                    if self.is(id, |s| matches!(s, TaskState::Failed | TaskState::Cancelled)).await {
                        self.not_before.remove(&id);
                        self.set(id, TaskState::Queued, None).await;
                    }
                }
            }
            Command::Remove(ids) => {
                for id in ids {
                    if !self.stop_running(id, Stop::Remove) {
                        self.remove_now(id).await;
                    }
                }
            }
            Command::PauseAll => {
                for task in self.all().await {
                    if !task.state.is_finished() && task.state != TaskState::Paused {
                        self.pause(task.id).await;
                    }
                }
            }
            Command::ResumeAll => {
                for task in self.all().await {
                    self.resume(task.id).await;
                }
            }
            Command::SetLimits(limits) => self.set_limits(limits),
        }
    }

    async fn pause(&mut self, id: TaskId) {
        if !self.stop_running(id, Stop::Pause) && self.is(id, |s| s == TaskState::Queued).await {
            self.set(id, TaskState::Paused, None).await;
        }
    }

    async fn resume(&mut self, id: TaskId) {
        if self.is(id, |s| s == TaskState::Paused).await {
            self.not_before.remove(&id);
            self.set(id, TaskState::Queued, None).await;
        }
    }

    /// Asks a running task to stop; false when it is not running.
    fn stop_running(&mut self, id: TaskId, why: Stop) -> bool {
        match self.running.get_mut(&id) {
            Some(r) => {
                r.stop = Some(why);
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }

    fn set_limits(&mut self, limits: Limits) {
        resize(&self.upload_slots, self.limits.files.max(1), limits.files.max(1));
        resize(&self.hash_slots, self.limits.hashing.max(1), limits.hashing.max(1));
        if limits.upload_bytes_per_sec != self.limits.upload_bytes_per_sec {
            self.rate.set(limits.upload_bytes_per_sec);
        }
        self.limits = limits;
    }

    /// Publishes progress, and saves phase changes and byte counts of running tasks.
    async fn tick(&mut self) {
        let now = Instant::now();
        let progress = self.board.snapshot(now.into_std());
        if progress.is_empty() {
            return;
        }
        for p in &progress {
            let state = match p.phase {
                Phase::Hashing => TaskState::Hashing,
                Phase::Preparing => TaskState::Preparing,
                Phase::Uploading => TaskState::Uploading,
                Phase::Completing => TaskState::Completing,
            };
            if self.running.get(&p.id).is_some_and(|r| r.stop.is_none()) && self.phases.get(&p.id) != Some(&state) {
                self.phases.insert(p.id, state);
                self.set(p.id, state, None).await;
            }
        }
        if now.duration_since(self.last_save) >= SAVE_EVERY {
            self.last_save = now;
            let counts: Vec<(TaskId, u64)> = progress
                .iter()
                .filter(|p| p.phase == Phase::Uploading)
                .map(|p| (p.id, p.done))
                .collect();
            let saved = blocking(&self.store, move |s| {
                counts.iter().try_for_each(|(id, done)| s.set_progress(*id, *done))
            })
            .await;
            if let Err(e) = saved {
                tracing::warn!(error = %e, "cannot save progress");
            }
        }
        let _ = self.events.send(QueueEvent::Progress { tasks: progress });
    }

    async fn update_idle(&mut self) {
        let idle = self.running.is_empty()
            && (self.store_failed() || blocking(&self.store, |s| s.next_queued(1)).await.is_ok_and(|q| q.is_empty()));
        self.idle.send_if_modified(|was| std::mem::replace(was, idle) != idle);
    }

    /// Stops every transfer; they stay resumable and go back in line.
    async fn stop_all(&mut self) {
        for r in self.running.values() {
            r.cancel.cancel();
        }
        while let Some(joined) = self.workers.join_next().await {
            if let Ok((id, result)) = joined {
                self.finished(id, result).await;
            }
        }
    }

    async fn cancel_saved(&mut self, id: TaskId) {
        self.not_before.remove(&id);
        if let Err(e) = blocking(&self.store, move |s| s.clear_resume(id)).await {
            tracing::warn!(task = %id, error = %e, "cannot drop the saved session");
        }
        self.set(id, TaskState::Cancelled, None).await;
    }

    async fn remove_now(&mut self, id: TaskId) {
        self.not_before.remove(&id);
        match blocking(&self.store, move |s| s.remove_tasks(&[id])).await {
            Ok(()) => {
                let _ = self.events.send(QueueEvent::Reordered);
            }
            Err(e) => tracing::error!(task = %id, error = %e, "cannot remove a task"),
        }
    }

    async fn all(&self) -> Vec<Task> {
        blocking(&self.store, |s| s.tasks()).await.unwrap_or_default()
    }

    async fn is(&self, id: TaskId, test: impl Fn(TaskState) -> bool) -> bool {
        blocking(&self.store, move |s| s.task(id))
            .await
            .ok()
            .flatten()
            .is_some_and(|t| test(t.state))
    }

    async fn set(&mut self, id: TaskId, state: TaskState, error: Option<TaskError>) {
        match blocking(&self.store, move |s| s.set_state(id, state, error.as_ref())).await {
            Ok(()) => self.emit(id, state),
            Err(e) => {
                tracing::error!(task = %id, error = %e, "cannot save a task's state");
                self.note_store_failure(&e);
            }
        }
    }

    /// Remembers the first refused write: from then on no task starts, since none could be recorded.
    fn note_store_failure(&self, err: &Error) {
        let mut failure = self.store_failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if failure.is_none() {
            let message = match err {
                Error::Store { message } => message.clone(),
                other => other.to_string(),
            };
            *failure = Some(message);
        }
    }

    fn store_failed(&self) -> bool {
        self.store_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    fn emit(&self, id: TaskId, state: TaskState) {
        let _ = self.events.send(QueueEvent::State { id, state });
    }
}

/// 1 s, 2 s, 4 s … up to [`MAX_BACKOFF`].
fn backoff(times: u32) -> Duration {
    Duration::from_secs(1u64 << times.min(5)).min(MAX_BACKOFF)
}

/// Grows or shrinks a semaphore from `from` to `to` permits. Shrinking takes free permits only: transfers
/// already holding a slot finish with it.
fn resize(slots: &Semaphore, from: usize, to: usize) {
    if to > from {
        slots.add_permits(to - from);
    } else {
        let _ = slots.forget_permits(from - to);
    }
}
