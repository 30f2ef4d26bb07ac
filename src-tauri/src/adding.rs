//! Turning dropped, chosen or sent paths into queued tasks with the engine's planner ([`Walked`]); this module
//! only shapes what the planner refused for the UI.

pub(crate) use pandrop_engine::transfer::Walk as Walked;

use crate::dto::{AddReport, RejectedPath};

/// What the planner refused, as the UI lists it.
pub(crate) fn rejected(walked: &Walked) -> Vec<RejectedPath> {
    walked
        .refused
        .iter()
        .map(|r| RejectedPath {
            path: r.path.display().to_string(),
            message: r.message.clone(),
        })
        .collect()
}

/// What adding `added` tasks of a walked batch did.
pub(crate) fn report(walked: &Walked, added: usize) -> AddReport {
    AddReport {
        added: u32::try_from(added).unwrap_or(u32::MAX),
        rejected: rejected(walked),
    }
}
