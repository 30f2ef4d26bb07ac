//! A queue over a store in a temporary folder, uploading to a fakecloud's 123pan API.

pub(crate) use crate::common::*;

use pandrop_engine::http::{self, RetryPolicy};
use pandrop_engine::provider::pan123::{Pan123, Pan123Config};
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy};
use pandrop_engine::queue::{Limits, ProviderSource, Queue, QueueEvent};
use pandrop_engine::secret::secret;
use pandrop_engine::store::{NewTask, Profile, ProviderKind, Store, TaskId, TaskState};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const MIB: usize = 1024 * 1024;
pub(crate) const PROFILE: &str = "sandbox-123pan";

/// Providers by profile: one 123pan account at the test's endpoint.
pub(crate) struct Accounts(pub Arc<dyn CloudProvider>);

#[async_trait::async_trait]
impl ProviderSource for Accounts {
    async fn provider(&self, profile_id: &str) -> pandrop_engine::Result<Arc<dyn CloudProvider>> {
        match profile_id {
            PROFILE => Ok(Arc::clone(&self.0)),
            other => Err(pandrop_engine::Error::invalid(other, "no such profile")),
        }
    }
}

pub(crate) fn pan123_at(endpoint: &str) -> Arc<dyn CloudProvider> {
    let mut config = Pan123Config::new(url::Url::parse(endpoint).expect("url"), "demo", secret("demo-secret"));
    config.retry = RetryPolicy {
        max_retries: 1,
        ..RetryPolicy::quick()
    };
    config.poll_interval = Duration::from_millis(50);
    config.single_step_max = 0;
    Arc::new(Pan123::new(http::client(), config).expect("provider"))
}

/// A store with the sandbox profile.
pub(crate) fn store_at(path: &Path) -> Arc<Store> {
    let store = Store::open(path).expect("store");
    store
        .upsert_profile(&Profile {
            id: PROFILE.into(),
            provider: ProviderKind::PAN123,
            name: "Sandbox".into(),
            endpoint: "sandbox".into(),
            default_dir: "/".into(),
            settings: serde_json::json!({}),
        })
        .expect("profile");
    Arc::new(store)
}

pub(crate) async fn queue(store: &Arc<Store>, provider: Arc<dyn CloudProvider>, limits: Limits) -> Queue {
    Queue::start(Arc::clone(store), Arc::new(Accounts(provider)), limits)
        .await
        .expect("queue")
}

pub(crate) fn task(path: &Path, dir: &str) -> NewTask {
    NewTask {
        profile_id: PROFILE.into(),
        local_path: path.to_path_buf(),
        target: target(dir, &path.file_name().expect("name").to_string_lossy()),
        duplicate: DuplicatePolicy::Fail,
        size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        after: None,
    }
}

/// Waits (bounded) until task `id` reaches a state `want` accepts.
pub(crate) async fn wait_state(queue: &Queue, id: TaskId, want: impl Fn(TaskState) -> bool) -> TaskState {
    let mut events = queue.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state = queue
            .tasks()
            .await
            .expect("tasks")
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.state);
        if let Some(state) = state.filter(|s| want(*s)) {
            return state;
        }
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep_until(deadline) => panic!("task {id} never reached the wanted state (now {state:?})"),
        }
    }
}

/// Waits until the cloud has acknowledged at least `n` parts of task `id`.
pub(crate) async fn wait_parts(store: &Arc<Store>, id: TaskId, n: usize) {
    for _ in 0..600 {
        if store.acked_parts(id).expect("parts").len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("task {id} never acknowledged {n} parts");
}

/// The state changes the queue announced, in order, until it is idle.
pub(crate) async fn states_until_idle(queue: &Queue) -> Vec<(TaskId, TaskState)> {
    let mut events = queue.subscribe();
    let idle = queue.wait_idle();
    tokio::pin!(idle);
    let mut seen = Vec::new();
    loop {
        tokio::select! {
            () = &mut idle => return seen,
            event = events.recv() => if let Ok(QueueEvent::State { task }) = event { seen.push((task.id, task.state)) },
        }
    }
}
