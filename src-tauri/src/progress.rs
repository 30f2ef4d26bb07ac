//! The queue channel: engine events become [`QueueEventDto`]s for every subscribed webview.
//!
//! A subscriber first gets a snapshot, then state changes (full rows), absolute progress (about 10 Hz, as the
//! engine publishes it) and a new snapshot after adds, removes and reorders. A subscriber whose channel
//! fails (the webview reloaded or closed) is dropped. When the queue goes idle after work, a
//! `batch_finished` message goes out and the `on_batch` hook runs (the app shows a notification).

use pandrop_engine::queue::{Queue, QueueEvent};
use pandrop_engine::store::{Store, TaskState};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::ipc::Channel;
use tokio::sync::{Mutex, broadcast};
use tokio_util::sync::CancellationToken;

use crate::dto::{QueueEventDto, TaskDto, TaskProgressDto};
use crate::error::IpcResult;

/// Counts of one batch: from the first task that started after the queue was idle until it is idle again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Files sent.
    pub uploaded: u32,
    /// Files the cloud already had.
    pub instant: u32,
    /// Files that failed.
    pub failed: u32,
    /// Bytes not sent thanks to instant uploads.
    pub bytes_saved: u64,
}

impl BatchCounts {
    fn is_empty(&self) -> bool {
        self.uploaded + self.instant + self.failed == 0
    }
}

/// Totals of the running tasks, for the tray tooltip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Tasks running now.
    pub running: usize,
    /// Bytes done over all running tasks (in their current phase).
    pub done: u64,
    /// Bytes in all running tasks.
    pub total: u64,
}

/// Callbacks of the app around the channel (no-ops in tests).
pub struct Hooks {
    /// A batch finished.
    pub on_batch: Box<dyn Fn(BatchCounts) + Send + Sync>,
    /// Progress totals changed (about 10 Hz while work runs; a zero `Totals` when it stops).
    pub on_totals: Box<dyn Fn(Totals) + Send + Sync>,
    /// A task finished: a moment to save what the cloud rotated (6pan's session token).
    pub on_task_finished: Box<dyn Fn() + Send + Sync>,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            on_batch: Box::new(|_| {}),
            on_totals: Box::new(|_| {}),
            on_task_finished: Box::new(|| {}),
        }
    }
}

/// The subscribers and the queue's busy flag.
pub struct ProgressHub {
    store: Arc<Store>,
    // An async mutex: a subscriber is added under it while its snapshot is read, so no event slips between.
    subscribers: Mutex<Vec<Channel<QueueEventDto>>>,
    busy: AtomicBool,
    hooks: Hooks,
}

impl ProgressHub {
    /// A hub over the queue's store.
    pub fn new(store: Arc<Store>, hooks: Hooks) -> Self {
        Self {
            store,
            subscribers: Mutex::new(Vec::new()),
            busy: AtomicBool::new(false),
            hooks,
        }
    }

    /// Whether tasks are running or waiting to run (closing the window then hides it instead of quitting).
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed)
    }

    /// Adds a subscriber and sends it the snapshot.
    pub async fn subscribe(&self, channel: Channel<QueueEventDto>) -> IpcResult<()> {
        let mut subscribers = self.subscribers.lock().await;
        let snapshot = self.snapshot().await?;
        if channel.send(snapshot).is_ok() {
            subscribers.push(channel);
        }
        Ok(())
    }

    /// Sends every subscriber a fresh snapshot (after a change the engine does not announce).
    pub async fn resync(&self) -> IpcResult<()> {
        let snapshot = self.snapshot().await?;
        self.broadcast(snapshot).await;
        Ok(())
    }

    async fn snapshot(&self) -> IpcResult<QueueEventDto> {
        let store = Arc::clone(&self.store);
        let tasks = tokio::task::spawn_blocking(move || store.tasks()).await??;
        Ok(QueueEventDto::Snapshot {
            tasks: tasks.into_iter().map(TaskDto::from).collect(),
        })
    }

    async fn broadcast(&self, event: QueueEventDto) {
        let mut subscribers = self.subscribers.lock().await;
        let before = subscribers.len();
        subscribers.retain(|channel| channel.send(event.clone()).is_ok());
        if subscribers.len() < before {
            tracing::debug!(dropped = before - subscribers.len(), "a queue subscriber went away");
        }
    }
}

type IdleWait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Forwards the queue's events to the hub's subscribers until `cancel` fires.
pub async fn forward(hub: Arc<ProgressHub>, queue: Queue, cancel: CancellationToken) {
    let mut events = queue.subscribe();
    let mut batch = BatchCounts::default();
    // Pending while a batch runs: resolves when the queue is idle again.
    let mut idle: Option<IdleWait> = None;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = async { idle.as_mut().expect("guarded").await }, if idle.is_some() => {
                idle = None;
                // Events sent before the queue went idle may still be in the channel: count them first.
                while let Ok(event) = events.try_recv() {
                    handle(&hub, &queue, event, &mut batch, &mut idle).await;
                }
                if idle.is_none() {
                    hub.busy.store(false, Ordering::Relaxed);
                    (hub.hooks.on_totals)(Totals::default());
                    let done = std::mem::take(&mut batch);
                    if !done.is_empty() {
                        finish_batch(&hub, done).await;
                    }
                }
            }
            received = events.recv() => match received {
                Ok(event) => handle(&hub, &queue, event, &mut batch, &mut idle).await,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "queue events came faster than the UI could take them; sending a snapshot");
                    resync(&hub).await;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

async fn handle(hub: &ProgressHub, queue: &Queue, event: QueueEvent, batch: &mut BatchCounts, idle: &mut Option<IdleWait>) {
    match event {
        QueueEvent::State { task } => {
            let state = task.state;
            if state.is_active() && idle.is_none() {
                hub.busy.store(true, Ordering::Relaxed);
                let queue = queue.clone();
                *idle = Some(Box::pin(async move { queue.wait_idle().await }));
            }
            if state.is_finished() {
                count(batch, state, task.size, task.bytes_held.unwrap_or(0));
                (hub.hooks.on_task_finished)();
            }
            hub.broadcast(QueueEventDto::State {
                task: Box::new((*task).into()),
            })
            .await;
        }
        QueueEvent::Progress { tasks } => {
            let totals = Totals {
                running: tasks.len(),
                done: tasks.iter().map(|p| p.done).sum(),
                total: tasks.iter().map(|p| p.total).sum(),
            };
            (hub.hooks.on_totals)(totals);
            let tasks = tasks.iter().map(TaskProgressDto::from).collect();
            hub.broadcast(QueueEventDto::Progress { tasks }).await;
        }
        QueueEvent::Reordered => resync(hub).await,
    }
}

/// Counts a finished task into its batch: what was not sent is an instant file's size, or the parts of an
/// uploaded one that the cloud held already (`held`).
fn count(batch: &mut BatchCounts, state: TaskState, size: u64, held: u64) {
    match state {
        TaskState::Done => {
            batch.uploaded += 1;
            batch.bytes_saved += held;
        }
        TaskState::Instant => {
            batch.instant += 1;
            batch.bytes_saved += size;
        }
        TaskState::Failed => batch.failed += 1,
        _ => {}
    }
}

async fn finish_batch(hub: &ProgressHub, done: BatchCounts) {
    tracing::info!(
        uploaded = done.uploaded,
        instant = done.instant,
        failed = done.failed,
        "batch finished"
    );
    hub.broadcast(QueueEventDto::BatchFinished {
        uploaded: done.uploaded,
        instant: done.instant,
        failed: done.failed,
        bytes_saved: done.bytes_saved,
    })
    .await;
    (hub.hooks.on_batch)(done);
}

async fn resync(hub: &ProgressHub) {
    if let Err(e) = hub.resync().await {
        tracing::warn!(error = %e.message, "cannot send the queue to the UI");
    }
}
