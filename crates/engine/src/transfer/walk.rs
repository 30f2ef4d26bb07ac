//! The one planner from the user's paths to queued tasks, for every frontend: a drop on the window, the file
//! dialog, "Send to PanDrop", `pandrop-cli upload` and `pandrop-cli queue add`.
//!
//! A batch is walked once ([`Walk::of`]); where it goes is chosen afterwards ([`Walk::tasks`]), so a batch that
//! waits for the user to pick an account and folder is not walked again.

use std::path::{Path, PathBuf};

use super::plan::plan_paths;
use crate::error::{Error, ErrorCode};
use crate::provider::{DuplicatePolicy, RemoteTarget};
use crate::store::NewTask;

/// A regular file found under the given paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkedFile {
    /// Absolute path on disk (a queue may run from another working folder).
    pub path: PathBuf,
    /// Folder below the batch's target: empty for a file given directly, `/photos/2024` inside a folder.
    pub sub_dir: String,
    /// File name.
    pub name: String,
    /// Size when walked.
    pub size: u64,
}

/// A path refused before any request, with the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The path as given or found in the walk.
    pub path: PathBuf,
    /// What kind of problem it is.
    pub code: ErrorCode,
    /// The rule it broke, naming the file.
    pub message: String,
}

impl Refused {
    /// A refusal of `path` for `err`.
    pub fn new(path: PathBuf, err: &Error) -> Self {
        Self {
            path,
            code: err.code(),
            message: err.to_string(),
        }
    }
}

/// The files under some paths, and what could not be taken, each with the rule it broke.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// Files to upload, in walk order.
    pub files: Vec<WalkedFile>,
    /// Paths refused before any request.
    pub refused: Vec<Refused>,
}

impl Walk {
    /// Walks `paths`: folders keep their structure, and anything that is not a readable regular file (a
    /// missing path, a pipe, a device, a folder link, a name that is not UTF-8) is refused with its reason.
    /// Blocks on the file system.
    pub fn of(paths: &[PathBuf]) -> Self {
        let mut walk = Walk::default();
        // An empty remote folder leaves each file's own sub-folder, ready to hang under any target later.
        for planned in plan_paths(paths, "") {
            let file = match planned {
                Ok(file) => file,
                Err((path, err)) => {
                    walk.refused.push(Refused::new(path, &err));
                    continue;
                }
            };
            match std::fs::metadata(&file.path) {
                Ok(meta) if meta.is_file() => walk.files.push(WalkedFile {
                    path: std::path::absolute(&file.path).unwrap_or(file.path),
                    sub_dir: file.target.dir,
                    name: file.target.name,
                    size: meta.len(),
                }),
                Ok(meta) => {
                    let err = super::not_a_regular_file(&file.path, &meta.file_type());
                    walk.refused.push(Refused::new(file.path, &err));
                }
                Err(io) => {
                    let err = Error::io(&file.path, io);
                    walk.refused.push(Refused::new(file.path, &err));
                }
            }
        }
        walk
    }

    /// [`Walk::of`] off the async threads.
    pub async fn of_owned(paths: Vec<PathBuf>) -> crate::error::Result<Self> {
        tokio::task::spawn_blocking(move || Self::of(&paths))
            .await
            .map_err(|e| Error::store(format!("folder walk failed: {e}")))
    }

    /// Bytes in all files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The tasks that send these files to `remote_dir` with a profile.
    pub fn tasks(&self, profile_id: &str, remote_dir: &str, duplicate: DuplicatePolicy) -> Vec<NewTask> {
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
                after: None,
            })
            .collect()
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

/// Whether a path names a `.torrent` file (for 6pan's offline download).
pub fn is_torrent(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("torrent"))
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
        let walk = Walk::of(&[root, dir.path().join("b.txt"), dir.path().join("missing")]);
        assert_eq!(walk.bytes(), 8);
        assert_eq!(walk.refused.len(), 1);
        assert!(walk.refused[0].path.ends_with("missing"), "{:?}", walk.refused);
        assert!(walk.files.iter().all(|f| f.path.is_absolute()));
        for (target, photo_dir, text_dir) in [
            ("/", "/photos/2024", "/"),
            ("/up/", "/up/photos/2024", "/up/"),
            ("/up", "/up/photos/2024", "/up"),
        ] {
            let tasks = walk.tasks("p", target, DuplicatePolicy::KeepBoth);
            let dirs: Vec<&str> = tasks.iter().map(|t| t.target.dir.as_str()).collect();
            assert_eq!(dirs, [photo_dir, text_dir], "target {target}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn pipes_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here
        }
        let walk = Walk::of(std::slice::from_ref(&fifo));
        assert!(walk.files.is_empty());
        assert!(walk.refused[0].message.contains("a named pipe (FIFO)"), "{:?}", walk.refused);
        assert_eq!(walk.refused[0].code, ErrorCode::InvalidInput);
    }
}
