//! Turning dropped, chosen or sent paths into queued tasks with the engine's planner ([`Walk`]); this module
//! only shapes what the planner refused for the UI.

use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::store::NewTask;
pub(crate) use pandrop_engine::transfer::Walk as Walked;
use std::path::PathBuf;

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

/// The tasks for `paths` under `remote_dir`, and what was refused. Blocks on the file system.
pub(crate) fn plan(paths: &[String], profile_id: &str, remote_dir: &str, duplicate: DuplicatePolicy) -> (Vec<NewTask>, AddReport) {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let walked = Walked::of(&paths);
    let tasks = walked.tasks(profile_id, remote_dir, duplicate);
    let report = report(&walked, tasks.len());
    (tasks, report)
}
