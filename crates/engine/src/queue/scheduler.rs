//! The owner task: starts queued tasks as slots allow, applies commands, reacts to finished transfers,
//! and publishes progress.
//!
//! It keeps the tasks that wait for a slot in memory, in queue order, and wakes only for a command, a
//! transfer that ended, the end of a backoff, or (while transfers run) the progress tick: an idle queue does
//! not touch the store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::journal::StoreJournal;
use super::progress::ProgressBoard;
use super::{Command, Limits, ProviderSource, QueueEvent, blocking};
use crate::error::{Error, ErrorCode, Result, StoreFault};
use crate::http::ByteRate;
use crate::provider::{CloudProvider, OfflineStarted, UploadedTorrent};
use crate::store::{AfterUpload, FileKey, Finished, Store, Task, TaskAction, TaskError, TaskId, TaskState, Transition};
use crate::transfer::{self, Outcome, Phase, TransferOptions, TransferReport};

/// How often progress is published while transfers run.
const TICK: Duration = Duration::from_millis(100);
/// How often running tasks' byte counts are saved.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Why a running task was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Pause,
    Cancel,
    Remove,
}

impl Stop {
    /// The stop that leaves a task in `then` (see [`crate::store::lifecycle::Decision::StopWorker`]).
    fn leading_to(then: Option<TaskState>) -> Self {
        match then {
            Some(TaskState::Paused) => Self::Pause,
            Some(_) => Self::Cancel,
            None => Self::Remove,
        }
    }
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
    /// Queued tasks, in queue order: what starts next. Read from the store at start and after changes that
    /// reorder or add, then kept here.
    // A deque: tasks start from the front, so a queue of thousands does not shift on every start.
    ready: VecDeque<Task>,
    running: HashMap<TaskId, Running>,
    workers: JoinSet<(TaskId, Result<Transferred>)>,
    board: ProgressBoard,
    /// Tasks waiting out a backoff, and how many times each has waited for the network.
    not_before: HashMap<TaskId, (Instant, u32)>,
    /// The last state saved for each running task.
    phases: HashMap<TaskId, TaskState>,
    last_save: Instant,
    /// The first write the store refused; no task starts after one.
    store_failure: Arc<Mutex<Option<(String, StoreFault)>>>,
}

impl Scheduler {
    pub(super) fn new(
        store: Arc<Store>,
        providers: Arc<dyn ProviderSource>,
        limits: Limits,
        events: broadcast::Sender<QueueEvent>,
        idle: watch::Sender<bool>,
        cancel: CancellationToken,
        store_failure: Arc<Mutex<Option<(String, StoreFault)>>>,
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
            ready: VecDeque::new(),
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
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        self.reload().await;
        loop {
            self.fill().await;
            self.update_idle();
            let backoff_ends = self.next_backoff_end();
            let ticking = !self.running.is_empty();
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
                _ = tick.tick(), if ticking => self.tick().await,
                () = sleep_until(backoff_ends), if backoff_ends.is_some() => {}
            }
        }
        self.stop_all().await;
    }

    /// Reads the queued tasks again (after adds, moves and bulk retries).
    async fn reload(&mut self) {
        match blocking(&self.store, |s| s.next_queued(usize::MAX)).await {
            Ok(queued) => self.ready = queued.into_iter().filter(|t| !self.running.contains_key(&t.id)).collect(),
            // A store that cannot even be read cannot record a transfer either: nothing starts.
            Err(e) => {
                tracing::error!(error = %e, "cannot read the queue");
                self.note_store_failure(e);
            }
        }
    }

    /// Starts queued tasks while there is room: every upload slot, plus the hashing slots so hashing runs
    /// ahead of uploads.
    async fn fill(&mut self) {
        let now = Instant::now();
        let mut at = 0;
        while !self.store_failed() && self.running.len() < self.limits.files + self.limits.hashing && at < self.ready.len() {
            let id = self.ready[at].id;
            if self.not_before.get(&id).is_some_and(|(until, _)| *until > now) {
                at += 1;
                continue;
            }
            let _ = self.ready.remove(at);
            match blocking(&self.store, move |s| s.claim(id)).await {
                Ok(Some(task)) => self.start(task),
                // Changed by another process since it was read: it is no longer this queue's to start.
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(task = %id, error = %e, "cannot start a task");
                    self.note_store_failure(e);
                }
            }
        }
    }

    /// When the first task waiting out a backoff may start.
    fn next_backoff_end(&self) -> Option<Instant> {
        if self.running.len() >= self.limits.files + self.limits.hashing {
            return None;
        }
        self.ready
            .iter()
            .filter_map(|t| self.not_before.get(&t.id).map(|(until, _)| *until))
            .min()
    }

    /// Runs a claimed task (now `Hashing`) on a worker.
    fn start(&mut self, task: Task) {
        let id = task.id;
        let providers = Arc::clone(&self.providers);
        let store = Arc::clone(&self.store);
        let hash_slots = Arc::clone(&self.hash_slots);
        let upload_slots = Arc::clone(&self.upload_slots);
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
        self.emit(task.clone());
        self.workers.spawn(async move {
            let result = async {
                // Credentials may come from the keyring and the file is looked at on disk: both off the
                // scheduler, which keeps answering commands meanwhile.
                let provider = providers.provider(&task.profile_id).await?;
                let key = file_key(task.local_path.clone()).await;
                let journal = StoreJournal {
                    store,
                    task: id,
                    key,
                    hash_slots,
                    upload_slots,
                    permit: Mutex::new(None),
                };
                let report = transfer::upload_file_with(
                    provider.as_ref(),
                    &task.local_path,
                    &task.target,
                    &options,
                    progress,
                    &journal,
                    &cancel,
                )
                .await?;
                let offline = match &task.after {
                    Some(AfterUpload::OfflineDownload { save_dir }) => {
                        Some(offline_download(provider.as_ref(), &report, &task.local_path, save_dir, &cancel).await?)
                    }
                    None => None,
                };
                Ok(Transferred { report, offline })
            }
            .await;
            (id, result)
        });
    }

    async fn finished(&mut self, id: TaskId, result: Result<Transferred>) {
        let stop = self.running.remove(&id).and_then(|r| r.stop);
        self.board.remove(id);
        self.phases.remove(&id);
        match (result, stop) {
            (Ok(Transferred { report, offline }), _) => {
                self.not_before.remove(&id);
                let finished = Finished {
                    state: match report.outcome {
                        Outcome::Uploaded => TaskState::Done,
                        Outcome::Instant => TaskState::Instant,
                    },
                    remote_id: report.remote.id.clone(),
                    bytes_sent: Some(report.bytes_sent),
                    bytes_held: Some(report.bytes_held),
                    offline,
                };
                match blocking(&self.store, move |s| s.finish_with(id, &finished)).await {
                    Ok(task) => self.emit(task),
                    Err(e) => {
                        tracing::error!(task = %id, error = %e, "cannot record a finished upload");
                        self.note_store_failure(e);
                    }
                }
            }
            (Err(_), Some(Stop::Pause)) => drop(self.set(id, TaskState::Paused, None).await),
            (Err(_), Some(Stop::Cancel)) => self.cancel_stopped(id).await,
            (Err(_), Some(Stop::Remove)) => self.remove_stopped(id).await,
            // Stopping with the queue: the task goes back in line with what it sent.
            (Err(Error::Cancelled), None) => self.requeue(id, None).await,
            (Err(e), None) => self.failed(id, e).await,
        }
    }

    /// A transfer failed on its own: wait and try again, or give up.
    async fn failed(&mut self, id: TaskId, err: Error) {
        if err.code() == ErrorCode::Network {
            // No network: wait for it without spending attempts (a laptop closing its lid is not a failure).
            let waits = self.not_before.get(&id).map_or(0, |(_, n)| n + 1);
            tracing::warn!(task = %id, error = %err, "the cloud is unreachable; waiting to try again");
            self.not_before.insert(id, (Instant::now() + self.limits.retry.delay(waits), waits));
            return self.requeue(id, Some(TaskError::from(&err))).await;
        }
        if err.is_retryable() {
            match blocking(&self.store, move |s| s.bump_attempts(id)).await {
                Ok(attempts) if attempts < self.limits.max_attempts => {
                    tracing::warn!(task = %id, attempts, error = %err, "transfer failed; trying again");
                    self.not_before.insert(id, (Instant::now() + self.limits.retry.delay(attempts), 0));
                    return self.requeue(id, Some(TaskError::from(&err))).await;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(task = %id, error = %e, "cannot count attempts"),
            }
        }
        self.not_before.remove(&id);
        let _ = self.set(id, TaskState::Failed, Some(TaskError::from(&err))).await;
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Reload => self.reload().await,
            Command::Done(reply) => {
                let _ = reply.send(());
            }
            Command::Act(action, ids) => {
                for id in ids {
                    self.act(action, id).await;
                }
            }
            Command::PauseAll => {
                for task in self.all().await {
                    if !task.state.is_finished() && task.state != TaskState::Paused {
                        self.act(TaskAction::Pause, task.id).await;
                    }
                }
            }
            Command::ResumeAll => {
                for task in self.all().await {
                    if task.state == TaskState::Paused {
                        self.act(TaskAction::Resume, task.id).await;
                    }
                }
            }
            Command::SetLimits(limits) => self.set_limits(limits),
        }
    }

    /// Applies a user's action as the store's lifecycle rules say; a task a worker is on is stopped first.
    async fn act(&mut self, action: TaskAction, id: TaskId) {
        match blocking(&self.store, move |s| s.transition(id, action)).await {
            Ok(Transition::Changed(task)) => {
                self.not_before.remove(&id);
                self.ready.retain(|t| t.id != id);
                if task.state == TaskState::Queued {
                    self.enqueue(task.clone());
                }
                self.emit(task);
            }
            Ok(Transition::Unchanged(_)) => {}
            Ok(Transition::Removed(_)) => self.forget(id),
            Ok(Transition::Running { task, then }) => {
                let stop = Stop::leading_to(then);
                match self.running.get_mut(&id) {
                    Some(r) => {
                        r.stop = Some(stop);
                        r.cancel.cancel();
                    }
                    None => tracing::warn!(task = %id, state = %task.state, "no worker of this queue is on the task"),
                }
            }
            // The UI offers only allowed actions and bulk commands skip the rest, so a refusal is a race with a
            // change a moment ago: the task stays as it now is.
            Err(e) => tracing::debug!(task = %id, %action, error = %e, "action not applied"),
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
                let _ = self.set(p.id, state, None).await;
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

    fn update_idle(&mut self) {
        let idle = self.running.is_empty() && (self.store_failed() || self.ready.is_empty());
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

    /// A worker stopped for a cancel: its saved session goes, and the task is cancelled.
    async fn cancel_stopped(&mut self, id: TaskId) {
        self.not_before.remove(&id);
        if let Err(e) = blocking(&self.store, move |s| s.clear_resume(id)).await {
            tracing::warn!(task = %id, error = %e, "cannot drop the saved session");
        }
        let _ = self.set(id, TaskState::Cancelled, None).await;
    }

    /// A worker stopped for a removal: the task leaves the queue.
    async fn remove_stopped(&mut self, id: TaskId) {
        match blocking(&self.store, move |s| s.remove_tasks(&[id])).await {
            Ok(()) => self.forget(id),
            Err(e) => tracing::error!(task = %id, error = %e, "cannot remove a task"),
        }
    }

    /// Drops what this queue knows of a task that left the store.
    fn forget(&mut self, id: TaskId) {
        self.not_before.remove(&id);
        self.ready.retain(|t| t.id != id);
        let _ = self.events.send(QueueEvent::Reordered);
    }

    async fn all(&self) -> Vec<Task> {
        blocking(&self.store, |s| s.tasks()).await.unwrap_or_default()
    }

    /// Puts a task that stopped back in line (`error`: why it waits, if it does).
    async fn requeue(&mut self, id: TaskId, error: Option<TaskError>) {
        if let Some(task) = self.set(id, TaskState::Queued, error).await {
            self.enqueue(task);
        }
    }

    /// Adds a queued task to the ready list at its place in the queue.
    fn enqueue(&mut self, task: Task) {
        self.ready.retain(|t| t.id != task.id);
        let at = self.ready.partition_point(|t| (t.position, t.id) < (task.position, task.id));
        self.ready.insert(at, task);
    }

    /// Saves a worker's state change and announces it; the task as saved, or `None` when the store refused.
    async fn set(&mut self, id: TaskId, state: TaskState, error: Option<TaskError>) -> Option<Task> {
        match blocking(&self.store, move |s| s.set_state(id, state, error.as_ref())).await {
            Ok(task) => {
                self.emit(task.clone());
                Some(task)
            }
            Err(e) => {
                tracing::error!(task = %id, error = %e, "cannot save a task's state");
                self.note_store_failure(e);
                None
            }
        }
    }

    /// Remembers the first refused write: from then on no task starts, since none could be recorded.
    fn note_store_failure(&self, err: Error) {
        let Error::Store { message, fault } = err else { return };
        let mut failure = self.store_failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if failure.is_none() {
            *failure = Some((message, fault));
        }
    }

    fn store_failed(&self) -> bool {
        self.store_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    fn emit(&self, task: Task) {
        let _ = self.events.send(QueueEvent::State { task: Box::new(task) });
    }
}

/// What a worker did: the transfer, and what its after-upload step started.
struct Transferred {
    report: TransferReport,
    offline: Option<OfflineStarted>,
}

/// A torrent task's after-upload step: the cloud's offline download of the uploaded torrent, cancelled with
/// the task.
async fn offline_download(
    provider: &dyn CloudProvider,
    report: &TransferReport,
    local: &std::path::Path,
    save_dir: &str,
    cancel: &CancellationToken,
) -> Result<OfflineStarted> {
    let offline = provider
        .offline()
        .ok_or_else(|| Error::invalid(provider.name(), "has no offline download"))?;
    let torrent = UploadedTorrent {
        remote: &report.remote,
        digest: &report.digest,
        local,
    };
    let started = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(Error::Cancelled),
        started = offline.start(&torrent, save_dir) => started,
    };
    started.map_err(|e| Error::AfterUpload {
        step: "the torrent was uploaded, but its offline download did not start",
        source: Box::new(e),
    })
}

/// The hash-cache key of a file as it is now: a changed file is hashed again.
async fn file_key(path: std::path::PathBuf) -> Option<FileKey> {
    tokio::task::spawn_blocking(move || {
        let meta = std::fs::metadata(&path).ok()?;
        FileKey::of(&path, &meta).ok()
    })
    .await
    .ok()
    .flatten()
}

/// Sleeps until `at`; never resolves without one (the select arm is disabled then anyway).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
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
