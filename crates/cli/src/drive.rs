//! Works a queue until it is idle or the user presses Ctrl-C: progress bars from the queue's events, and one
//! report per finished task (the caller decides what a report looks like).

use pandrop_engine::queue::{Queue, QueueEvent};
use pandrop_engine::store::{Task, TaskId};
use std::collections::{HashMap, HashSet};
use tokio::sync::broadcast::error::RecvError;

use crate::CliError;
use crate::output::{FileBar, Output};

/// How a run ended.
pub(crate) enum Ending {
    /// Nothing left to do; `failed` tasks were reported as failed.
    Idle { failed: usize },
    /// Ctrl-C; the tasks stay resumable.
    Interrupted,
}

/// Runs until idle or Ctrl-C. `report` is called once for every task of `tasks` that finished and returns
/// whether it failed.
pub(crate) async fn drive(
    queue: &Queue,
    output: &Output,
    tasks: &[Task],
    mut report: impl AsyncFnMut(TaskId) -> Result<bool, CliError>,
) -> Result<Ending, CliError> {
    let mut events = queue.subscribe();
    let by_id: HashMap<TaskId, &Task> = tasks.iter().map(|t| (t.id, t)).collect();
    let mut bars: HashMap<TaskId, FileBar> = HashMap::new();
    let mut reported = HashSet::new();
    let mut failed = 0usize;
    let interrupted = {
        let idle = queue.wait_idle();
        tokio::pin!(idle);
        loop {
            tokio::select! {
                () = &mut idle => break false,
                _ = tokio::signal::ctrl_c() => break true,
                event = events.recv() => match event {
                    Ok(QueueEvent::State { task }) if task.state.is_finished() && by_id.contains_key(&task.id) => {
                        let id = task.id;
                        if let Some((_, Some(bar))) = bars.remove(&id) {
                            bar.finish_and_clear();
                        }
                        if reported.insert(id) {
                            failed += usize::from(report(id).await?);
                        }
                    }
                    Ok(QueueEvent::Progress { tasks }) => {
                        for p in tasks {
                            let Some(task) = by_id.get(&p.id) else { continue };
                            let (callback, _) = bars.entry(p.id).or_insert_with(|| output.file_progress(&task.local_path, p.total));
                            callback(&p);
                        }
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break false,
                },
            }
        }
    };
    for (_, bar) in bars.into_values() {
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
    if interrupted {
        return Ok(Ending::Interrupted);
    }
    // Events can be missed (one sent before the subscription, or a lagging receiver): the store has the word.
    for task in tasks {
        if !reported.contains(&task.id) {
            failed += usize::from(report(task.id).await?);
        }
    }
    Ok(Ending::Idle { failed })
}
