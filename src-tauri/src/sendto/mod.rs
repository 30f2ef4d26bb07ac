//! "Send to PanDrop": paths from the file manager, a second launch or the first launch's own command line.
//!
//! Arrivals go into the [`Inbox`] at once, even before the app has finished starting (the single-instance
//! callback can fire while the store still opens). One task, owned by [`SendTo`], coalesces bursts
//! ([`coalesce`]), canonicalises and de-duplicates the paths and walks folders, then either queues the batch
//! for the remembered target or keeps it for the confirm sheet. Batches wait in Rust until the UI says it is
//! ready (`sendto_ready`), so a window that is still loading misses nothing.

pub mod args;
pub mod coalesce;
pub mod commands;
pub mod dto;
mod target;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::coalesce::Arrival;
use self::dto::{ReceivedBatch, SendToTarget, SentTo};
use crate::adding::Walked;
use crate::error::{ErrorCode, IpcError, IpcResult};
use crate::events::PathsReceived;
use crate::settings::Settings;
use crate::state::AppState;

/// Where arrivals go in; cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct Inbox(mpsc::UnboundedSender<Arrival>);

/// The receiving end of an [`Inbox`], for [`SendTo::start`].
#[derive(Debug)]
pub struct Arrivals(mpsc::UnboundedReceiver<Arrival>);

/// A new inbox and its receiving end.
pub fn inbox() -> (Inbox, Arrivals) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Inbox(tx), Arrivals(rx))
}

impl Inbox {
    /// Hands `paths` (absolute) to the app. Nothing happens for none.
    pub fn push(&self, paths: Vec<PathBuf>) {
        if !paths.is_empty() && self.0.send(paths).is_err() {
            tracing::warn!("send-to arrived after the app stopped; dropped");
        }
    }
}

/// Batches that wait for the UI or for the user's answer.
#[derive(Debug, Default)]
struct Outbox {
    /// The UI has said it listens.
    ready: bool,
    /// Announcements (batches already queued, or with nothing to queue) made before the UI was ready.
    unseen: Vec<ReceivedBatch>,
    /// Batches waiting for the confirm sheet's answer, by id: handed to the UI again by each `ready`, so a
    /// reloaded page shows its sheets again.
    asking: BTreeMap<u32, (ReceivedBatch, Walked)>,
    next_id: u32,
}

/// The send-to desk: its batches and the task that makes them. Managed by the app.
pub struct SendTo {
    outbox: Arc<Mutex<Outbox>>,
    cancel: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SendTo {
    /// Starts the task that turns arrivals into batches. `app` must manage an [`AppState`] by the time the
    /// first burst closes, and this desk once returned.
    pub fn start<R: Runtime>(app: &AppHandle<R>, arrivals: Arrivals) -> Self {
        let outbox = Arc::new(Mutex::new(Outbox::default()));
        let cancel = CancellationToken::new();
        let (app, shared) = (app.clone(), Arc::clone(&outbox));
        let task = tauri::async_runtime::spawn(coalesce::run(arrivals.0, cancel.child_token(), move |paths| {
            let (app, outbox) = (app.clone(), Arc::clone(&shared));
            async move { deliver(&app, &outbox, paths).await }
        }));
        Self {
            outbox,
            cancel,
            task: Mutex::new(Some(task)),
        }
    }

    /// The UI listens from now on; answers, oldest first, the batches still waiting for an answer and the
    /// announcements it missed.
    pub fn ready(&self) -> Vec<ReceivedBatch> {
        let mut outbox = lock(&self.outbox);
        outbox.ready = true;
        let mut batches: Vec<ReceivedBatch> = outbox.asking.values().map(|(batch, _)| batch.clone()).collect();
        batches.append(&mut outbox.unseen);
        batches.sort_by_key(|b| b.id);
        batches
    }

    /// How many batches wait: for an answer, or for the UI to listen.
    pub fn waiting(&self) -> usize {
        let outbox = lock(&self.outbox);
        outbox.asking.len() + outbox.unseen.len()
    }

    /// Takes a batch the confirm sheet answered.
    fn take(&self, id: u32) -> IpcResult<Walked> {
        lock(&self.outbox)
            .asking
            .remove(&id)
            .map(|(_, walked)| walked)
            .ok_or_else(|| IpcError::new(ErrorCode::NotFound, format!("no send-to batch {id} is waiting")))
    }

    /// Stops the task; batches not yet answered are dropped (the paths are still where the user left them).
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

fn lock(outbox: &Mutex<Outbox>) -> std::sync::MutexGuard<'_, Outbox> {
    outbox.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One closed burst: tidy and walk it, queue it for the remembered target or keep it for the sheet, tell the UI.
async fn deliver<R: Runtime>(app: &AppHandle<R>, outbox: &Mutex<Outbox>, paths: Vec<PathBuf>) {
    let state = app.state::<AppState>();
    let (accounts, store) = (state.accounts.clone(), Arc::clone(&state.store));
    let walked = tokio::task::spawn_blocking(move || {
        let roots = tidy(paths);
        let walked = Walked::of(&roots);
        // The remembered target counts only while its profile exists.
        let target = target::load(&store)
            .ok()
            .flatten()
            .filter(|t| accounts.get(&t.profile_id).ok().flatten().is_some());
        (roots, walked, target)
    })
    .await;
    let Ok((roots, walked, target)) = walked else {
        tracing::error!("walking sent paths failed");
        return;
    };
    let sent = match target {
        Some(target) if !walked.files.is_empty() => match enqueue(&state, &walked, &target).await {
            Ok(sent) => Some(sent),
            Err(e) => {
                tracing::warn!(error = %e, "cannot queue sent files for the remembered target; asking instead");
                None
            }
        },
        _ => None,
    };
    let batch = {
        let mut outbox = lock(outbox);
        outbox.next_id += 1;
        let batch = ReceivedBatch {
            id: outbox.next_id,
            paths: roots.iter().map(|p| p.display().to_string()).collect(),
            files: u32::try_from(walked.files.len()).unwrap_or(u32::MAX),
            bytes: walked.bytes(),
            rejected: crate::adding::rejected(&walked),
            sent,
        };
        tracing::info!(
            id = batch.id,
            paths = batch.paths.len(),
            files = batch.files,
            asked = batch.sent.is_none(),
            "send-to batch"
        );
        let asks = batch.sent.is_none() && !walked.files.is_empty();
        if asks {
            outbox.asking.insert(batch.id, (batch.clone(), walked));
        }
        // Until the UI listens, the batch waits here; `sendto_ready` hands it over.
        if outbox.ready {
            Some(batch)
        } else {
            if !asks {
                outbox.unseen.push(batch);
            }
            None
        }
    };
    if let Some(batch) = batch
        && let Err(e) = (PathsReceived { batch }).emit(app)
    {
        tracing::warn!(error = %e, "cannot tell the window about sent files");
    }
    crate::show_main_window(app);
}

/// Queues a walked batch for `target` with the user's duplicate rule.
async fn enqueue(state: &AppState, walked: &Walked, target: &SendToTarget) -> IpcResult<SentTo> {
    let store = Arc::clone(&state.store);
    let duplicate = crate::commands::blocking(move || Settings::load(&store)).await?.duplicate_policy();
    let tasks = walked.tasks(&target.profile_id, &target.remote_dir, duplicate);
    let added = u32::try_from(tasks.len()).unwrap_or(u32::MAX);
    state.queue.add(tasks).await?;
    Ok(SentTo {
        profile_id: target.profile_id.clone(),
        remote_dir: target.remote_dir.clone(),
        added,
    })
}

/// Canonical paths, each once, in the order given; a path inside another given folder is dropped (the
/// folder's walk finds it). A path that cannot be resolved stays as given, so the walk can say why it fails.
fn tidy(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let canonical: Vec<PathBuf> = paths
        .into_iter()
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
        .filter(|p| seen.insert(p.clone()))
        .collect();
    let folders: HashSet<&Path> = canonical.iter().filter(|p| p.is_dir()).map(PathBuf::as_path).collect();
    canonical
        .iter()
        .filter(|p| !p.ancestors().skip(1).any(|a| folders.contains(a)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_resolves_repeats_links_and_nesting() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("folder")).unwrap();
        std::fs::write(root.join("folder/inner.txt"), b"x").unwrap();
        std::fs::write(root.join("a.bin"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a.bin"), root.join("link.bin")).unwrap();
        let given = vec![
            root.join("a.bin"),
            root.join("folder/../a.bin"),
            #[cfg(unix)]
            root.join("link.bin"),
            root.join("folder/inner.txt"),
            root.join("folder"),
            root.join("missing.bin"),
        ];
        assert_eq!(tidy(given), vec![root.join("a.bin"), root.join("folder"), root.join("missing.bin")]);
    }
}
