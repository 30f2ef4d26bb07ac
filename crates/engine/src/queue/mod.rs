//! The durable upload queue: tasks live in the [`Store`], an owner task schedules them, and every running
//! transfer has a cancellation token its owner holds.
//!
//! Hashing runs ahead of uploads (its own slots), an instant upload never takes an upload slot, and a
//! half-sent file continues where it stopped after a pause, a crash or a restart. Transient failures are
//! retried with backoff; a lost network never uses up a task's attempts.

mod journal;
mod progress;
mod scheduler;

pub use progress::TaskProgress;

use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result, StoreFault};
use crate::provider::CloudProvider;
use crate::store::{MoveTo, NewTask, Store, Task, TaskAction, TaskId};

/// Where the queue gets the provider of a task's profile (the caller owns credentials and the keyring).
///
/// Asked from the task's worker, never from the scheduler: a keyring that takes its time to answer holds up
/// that task only.
#[async_trait::async_trait]
pub trait ProviderSource: Send + Sync {
    /// The provider for `profile_id`. Implementations run blocking work (keyring, store) off the async
    /// threads.
    async fn provider(&self, profile_id: &str) -> Result<Arc<dyn CloudProvider>>;
}

/// How much runs at once; changeable while the queue runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files sending bytes at once.
    pub files: usize,
    /// Parts of one file in flight at once.
    pub parts_per_file: usize,
    /// Files being hashed at once (hashing already uses both cores of a small machine).
    pub hashing: usize,
    /// Attempts before a task fails on a transient error (a lost network does not count).
    pub max_attempts: u32,
    /// Upload bytes per second for all transfers together (`None`: as fast as the link allows).
    pub upload_bytes_per_sec: Option<u64>,
    /// A part that moves no byte for this long is aborted and sent again.
    pub stall_timeout: std::time::Duration,
    /// How long a task waits before its next try after a transient failure, or while the network is gone.
    pub retry: crate::http::RetryPolicy,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            files: 2,
            parts_per_file: 3,
            hashing: 1,
            max_attempts: 5,
            upload_bytes_per_sec: None,
            stall_timeout: crate::transfer::DEFAULT_STALL_TIMEOUT,
            retry: crate::http::RetryPolicy::STANDARD,
        }
    }
}

/// Something subscribers should know.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueEvent {
    /// A task changed; every change of state sends one.
    State {
        /// The task as it now stands in the store (boxed: progress events, the most frequent, stay small).
        task: Box<Task>,
    },
    /// Tasks were added, removed or moved.
    Reordered,
    /// Progress of the running tasks, about ten times a second.
    Progress {
        /// One entry per running task.
        tasks: Vec<TaskProgress>,
    },
}

/// What a command asks of the scheduler.
#[derive(Debug)]
pub(crate) enum Command {
    /// The queued tasks changed in the store (added, moved, retried in bulk): read them again.
    Reload,
    Act(TaskAction, Vec<TaskId>),
    PauseAll,
    ResumeAll,
    SetLimits(Limits),
    Done(oneshot::Sender<()>),
}

/// A handle to a running queue. Cheap to clone; the queue stops when [`Queue::shutdown`] is called or the
/// last handle is dropped.
#[derive(Clone)]
pub struct Queue {
    store: Arc<Store>,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<QueueEvent>,
    idle: watch::Receiver<bool>,
    store_failure: Arc<std::sync::Mutex<Option<(String, StoreFault)>>>,
    owner: Arc<Owner>,
}

/// Owns the scheduler task: dropping it cancels the scheduler, which cancels every transfer.
struct Owner {
    cancel: CancellationToken,
    handle: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Queue {
    /// Starts the queue over `store`. Tasks a crash left running go back to the queue with what they had sent.
    pub async fn start(store: Arc<Store>, providers: Arc<dyn ProviderSource>, limits: Limits) -> Result<Self> {
        let recovered = blocking(&store, |s| s.recover_after_restart()).await?;
        if !recovered.is_empty() {
            tracing::info!(count = recovered.len(), "continuing tasks that were running when PanDrop stopped");
        }
        let (commands, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        let (idle_tx, idle) = watch::channel(false);
        let cancel = CancellationToken::new();
        let store_failure = Arc::new(std::sync::Mutex::new(None));
        let scheduler = scheduler::Scheduler::new(
            Arc::clone(&store),
            providers,
            limits,
            events.clone(),
            idle_tx,
            cancel.clone(),
            Arc::clone(&store_failure),
        );
        let handle = tokio::spawn(scheduler.run(rx));
        Ok(Self {
            store,
            commands,
            events,
            idle,
            store_failure,
            owner: Arc::new(Owner {
                cancel,
                handle: std::sync::Mutex::new(Some(handle)),
            }),
        })
    }

    /// Why the store stopped taking the queue's writes (a full disk, a folder made read-only), if it did.
    ///
    /// The queue then starts no further task, since it could not record how it went, and counts as idle once
    /// the running ones end: what finished before stays recorded and the rest waits for the next start.
    pub fn store_failure(&self) -> Option<Error> {
        let failure = self.store_failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failure.clone().map(|(message, fault)| Error::Store { message, fault })
    }

    /// Adds tasks at the bottom of the queue.
    pub async fn add(&self, tasks: Vec<NewTask>) -> Result<Vec<TaskId>> {
        let ids = blocking(&self.store, move |s| s.add_tasks(&tasks)).await?;
        let _ = self.events.send(QueueEvent::Reordered);
        self.send(Command::Reload);
        Ok(ids)
    }

    /// Every task in queue order.
    pub async fn tasks(&self) -> Result<Vec<Task>> {
        blocking(&self.store, |s| s.tasks()).await
    }

    /// Applies a user's action to tasks, as [`crate::store::lifecycle`] rules; tasks it does not apply to are
    /// left as they are.
    pub fn act(&self, action: TaskAction, ids: &[TaskId]) {
        self.send(Command::Act(action, ids.to_vec()));
    }

    /// Pauses tasks; a running one stops and keeps what it sent.
    pub fn pause(&self, ids: &[TaskId]) {
        self.act(TaskAction::Pause, ids);
    }

    /// Puts paused tasks back in the queue.
    pub fn resume(&self, ids: &[TaskId]) {
        self.act(TaskAction::Resume, ids);
    }

    /// Cancels tasks; a running one stops and its saved session is dropped.
    pub fn cancel(&self, ids: &[TaskId]) {
        self.act(TaskAction::Cancel, ids);
    }

    /// Puts failed or cancelled tasks back in the queue with a fresh attempt budget.
    pub fn retry(&self, ids: &[TaskId]) {
        self.act(TaskAction::Retry, ids);
    }

    /// Removes tasks from the queue (running ones are stopped first).
    pub fn remove(&self, ids: &[TaskId]) {
        self.act(TaskAction::Remove, ids);
    }

    /// Pauses every task that has not finished.
    pub fn pause_all(&self) {
        self.send(Command::PauseAll);
    }

    /// Puts every paused task back in the queue.
    pub fn resume_all(&self) {
        self.send(Command::ResumeAll);
    }

    /// Changes the limits. The byte rate applies at once to every transfer; the other limits to transfers
    /// that start from now on.
    pub fn set_limits(&self, limits: Limits) {
        self.send(Command::SetLimits(limits));
    }

    /// Moves a task in the queue.
    pub async fn move_task(&self, id: TaskId, to: MoveTo) -> Result<()> {
        blocking(&self.store, move |s| s.move_task(id, to)).await?;
        let _ = self.events.send(QueueEvent::Reordered);
        self.send(Command::Reload);
        Ok(())
    }

    /// Puts every failed task back in the queue.
    pub async fn retry_all_failed(&self) -> Result<Vec<TaskId>> {
        let ids = blocking(&self.store, |s| s.retry_failed()).await?;
        self.send(Command::Reload);
        Ok(ids)
    }

    /// Removes finished tasks (their history stays).
    pub async fn clear_finished(&self) -> Result<usize> {
        let n = blocking(&self.store, |s| s.clear_finished()).await?;
        let _ = self.events.send(QueueEvent::Reordered);
        Ok(n)
    }

    /// Events: state changes, reorders, and coalesced progress.
    pub fn subscribe(&self) -> broadcast::Receiver<QueueEvent> {
        self.events.subscribe()
    }

    /// Waits until nothing is queued or running (paused and finished tasks do not count).
    pub async fn wait_idle(&self) {
        let mut idle = self.idle.clone();
        // Make sure the scheduler has looked at the queue since the caller's last change.
        let (tx, rx) = oneshot::channel();
        self.send(Command::Done(tx));
        let _ = rx.await;
        let _ = idle.wait_for(|idle| *idle).await;
    }

    /// Stops the queue: running transfers are cancelled and stay resumable.
    pub async fn shutdown(self) {
        self.owner.cancel.cancel();
        let handle = self.owner.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }

    fn send(&self, command: Command) {
        // A closed channel means the queue has stopped; there is nothing left to tell.
        let _ = self.commands.send(command);
    }
}

/// Runs a store call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(store: &Arc<Store>, f: impl FnOnce(&Store) -> Result<T> + Send + 'static) -> Result<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| Error::store(format!("store worker failed: {e}")))?
}
