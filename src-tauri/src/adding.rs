//! Turning dropped, chosen or sent paths into queued tasks: folders expand to their files (the engine's plan),
//! each file is checked to exist, and the batch goes to the queue at once.

use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};
use pandrop_engine::store::NewTask;
use pandrop_engine::transfer::plan_paths;
use std::path::{Path, PathBuf};

use crate::dto::{AddReport, RejectedPath};

/// A file found under the given paths, with its place relative to wherever the batch goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WalkedFile {
    path: PathBuf,
    /// Folder below the target folder: empty for a file given directly, `/photos/2024` inside a folder.
    sub_dir: String,
    name: String,
    size: u64,
}

/// The files under some paths, and what could not be taken. Walking does not depend on the target, so a
/// batch is walked once and can still be sent wherever the user picks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Walked {
    pub(crate) files: Vec<WalkedFile>,
    pub(crate) rejected: Vec<RejectedPath>,
}

impl Walked {
    /// Walks `paths`. Blocks on the file system.
    pub(crate) fn walk(paths: &[PathBuf]) -> Self {
        let mut walked = Walked::default();
        let reject = |path: &Path, message: String| RejectedPath {
            path: path.display().to_string(),
            message,
        };
        // An empty remote folder leaves each file's own sub-folder, ready to hang under any target later.
        for planned in plan_paths(paths, "") {
            let file = match planned {
                Ok(file) => file,
                Err((path, err)) => {
                    walked.rejected.push(reject(&path, err.to_string()));
                    continue;
                }
            };
            match std::fs::metadata(&file.path) {
                Ok(meta) if meta.is_file() => walked.files.push(WalkedFile {
                    path: file.path,
                    sub_dir: file.target.dir,
                    name: file.target.name,
                    size: meta.len(),
                }),
                Ok(_) => walked.rejected.push(reject(&file.path, "not a regular file".into())),
                Err(e) => walked.rejected.push(reject(&file.path, e.to_string())),
            }
        }
        walked
    }

    /// Bytes in all files.
    pub(crate) fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The tasks that send these files to `remote_dir` of a profile.
    pub(crate) fn tasks(&self, profile_id: &str, remote_dir: &str, duplicate: DuplicatePolicy) -> Vec<NewTask> {
        self.files
            .iter()
            .map(|f| NewTask {
                profile_id: profile_id.to_owned(),
                local_path: f.path.clone(),
                target: RemoteTarget {
                    dir: under(remote_dir, &f.sub_dir),
                    name: f.name.clone(),
                },
                duplicate,
                size: f.size,
            })
            .collect()
    }

    /// What adding these tasks did.
    pub(crate) fn report(&self, added: usize) -> AddReport {
        AddReport {
            added: u32::try_from(added).unwrap_or(u32::MAX),
            rejected: self.rejected.clone(),
        }
    }
}

/// `sub_dir` (empty or starting with `/`) inside `remote_dir`.
fn under(remote_dir: &str, sub_dir: &str) -> String {
    if sub_dir.is_empty() {
        remote_dir.to_owned()
    } else {
        format!("{}{sub_dir}", remote_dir.trim_end_matches('/'))
    }
}

/// The tasks for `paths` under `remote_dir`, and what was refused. Blocks on the file system.
pub(crate) fn plan(paths: &[String], profile_id: &str, remote_dir: &str, duplicate: DuplicatePolicy) -> (Vec<NewTask>, AddReport) {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let walked = Walked::walk(&paths);
    let tasks = walked.tasks(profile_id, remote_dir, duplicate);
    let report = walked.report(tasks.len());
    (tasks, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_keep_their_shape_under_any_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        std::fs::create_dir_all(root.join("2024")).unwrap();
        std::fs::write(root.join("2024/a.jpg"), b"abc").unwrap();
        std::fs::write(dir.path().join("b.txt"), b"hello").unwrap();
        let walked = Walked::walk(&[root, dir.path().join("b.txt"), dir.path().join("missing")]);
        assert_eq!(walked.bytes(), 8);
        assert_eq!(walked.rejected.len(), 1);
        assert!(walked.rejected[0].path.ends_with("missing"), "{:?}", walked.rejected);
        for (target, photo_dir, text_dir) in [
            ("/", "/photos/2024", "/"),
            ("/up/", "/up/photos/2024", "/up/"),
            ("/up", "/up/photos/2024", "/up"),
        ] {
            let tasks = walked.tasks("p", target, DuplicatePolicy::KeepBoth);
            let dirs: Vec<&str> = tasks.iter().map(|t| t.target.dir.as_str()).collect();
            assert_eq!(dirs, [photo_dir, text_dir], "target {target}");
        }
    }
}
