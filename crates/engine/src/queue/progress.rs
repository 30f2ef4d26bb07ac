//! Progress of running tasks: absolute values, a smoothed speed and an ETA, published about ten times a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::store::TaskId;
use crate::transfer::{Phase, Progress};

/// Weight of the newest speed sample in the moving average.
const SMOOTHING: f64 = 0.3;

/// A running task's progress as subscribers see it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TaskProgress {
    /// The task.
    pub id: TaskId,
    /// What it is doing.
    pub phase: Phase,
    /// Bytes done in this phase.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
    /// Smoothed speed of this phase.
    pub bytes_per_sec: f64,
    /// Seconds left at that speed, when it is known.
    pub eta_secs: Option<f64>,
}

#[derive(Default)]
struct Sample {
    latest: Option<Progress>,
    last_done: u64,
    last_phase: Option<Phase>,
    last_at: Option<Instant>,
    speed: f64,
}

/// The latest progress of every running task, written by the transfers and read by the scheduler's tick.
#[derive(Default, Clone)]
pub(super) struct ProgressBoard {
    samples: Arc<Mutex<HashMap<TaskId, Sample>>>,
}

impl ProgressBoard {
    /// A callback that records a task's progress.
    pub(super) fn reporter(&self, id: TaskId) -> crate::transfer::ProgressFn {
        let samples = Arc::clone(&self.samples);
        Arc::new(move |p| {
            samples.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_default().latest = Some(p);
        })
    }

    /// Forgets a task that stopped.
    pub(super) fn remove(&self, id: TaskId) {
        self.samples.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    /// Every running task's progress now, with speeds updated since the last call.
    pub(super) fn snapshot(&self, now: Instant) -> Vec<TaskProgress> {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<TaskProgress> = samples
            .iter_mut()
            .filter_map(|(id, s)| {
                let p = s.latest?;
                if s.last_phase != Some(p.phase) {
                    // A new phase starts its own speed.
                    s.speed = 0.0;
                    s.last_done = 0;
                    s.last_phase = Some(p.phase);
                }
                if let Some(at) = s.last_at {
                    let secs = now.duration_since(at).as_secs_f64();
                    if secs > 0.0 {
                        let rate = p.done.saturating_sub(s.last_done) as f64 / secs;
                        s.speed = if s.speed == 0.0 {
                            rate
                        } else {
                            SMOOTHING * rate + (1.0 - SMOOTHING) * s.speed
                        };
                    }
                }
                s.last_done = p.done;
                s.last_at = Some(now);
                let left = p.total.saturating_sub(p.done) as f64;
                Some(TaskProgress {
                    id: *id,
                    phase: p.phase,
                    done: p.done,
                    total: p.total,
                    bytes_per_sec: s.speed,
                    eta_secs: (s.speed > 0.0).then(|| left / s.speed),
                })
            })
            .collect();
        out.sort_by_key(|p| p.id.0);
        out
    }
}
