//! Turning dropped or chosen paths into queued tasks: folders expand to their files (the engine's plan),
//! each file is checked to exist, and the batch goes to the queue at once.

use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::store::NewTask;
use pandrop_engine::transfer::plan_paths;
use std::path::PathBuf;

use crate::dto::{AddReport, RejectedPath};

/// The tasks for `paths` under `remote_dir`, and what was refused. Blocks on the file system.
pub(crate) fn plan(paths: &[String], profile_id: &str, remote_dir: &str, duplicate: DuplicatePolicy) -> (Vec<NewTask>, AddReport) {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let mut report = AddReport::default();
    let mut tasks = Vec::new();
    for planned in plan_paths(&paths, remote_dir) {
        let reject = |path: &std::path::Path, message: String| RejectedPath {
            path: path.display().to_string(),
            message,
        };
        let file = match planned {
            Ok(file) => file,
            Err((path, err)) => {
                report.rejected.push(reject(&path, err.to_string()));
                continue;
            }
        };
        match std::fs::metadata(&file.path) {
            Ok(meta) if meta.is_file() => tasks.push(NewTask {
                profile_id: profile_id.to_owned(),
                local_path: file.path,
                target: file.target,
                duplicate,
                size: meta.len(),
            }),
            Ok(_) => report.rejected.push(reject(&file.path, "not a regular file".into())),
            Err(e) => report.rejected.push(reject(&file.path, e.to_string())),
        }
    }
    report.added = u32::try_from(tasks.len()).unwrap_or(u32::MAX);
    (tasks, report)
}
