//! Expanding the user's files and folders into single files with their remote targets.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::provider::RemoteTarget;

/// A local file and where it should land, as a folder walk produces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Path on disk.
    pub path: PathBuf,
    /// Remote destination.
    pub target: RemoteTarget,
}

/// Expands files and folders into files with targets under `remote_dir`, keeping folder structure.
///
/// Folder entries are sorted for a stable order; symlinks to folders are not followed (a loop could not end).
/// An unreadable entry becomes an `Err` item so the rest of the batch can go on.
pub fn plan_paths(paths: &[PathBuf], remote_dir: &str) -> Vec<std::result::Result<PlannedFile, (PathBuf, Error)>> {
    let mut out = Vec::new();
    for root in paths {
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !root.is_dir() {
            out.push(Ok(PlannedFile {
                path: root.clone(),
                target: RemoteTarget {
                    dir: remote_dir.to_owned(),
                    name: name(root),
                },
            }));
            continue;
        }
        let base = format!("{}/{}", remote_dir.trim_end_matches('/'), name(root));
        for entry in walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) => {
                    let rel = e.path().strip_prefix(root).unwrap_or(e.path());
                    let mut dir = base.clone();
                    if let Some(parent) = rel.parent() {
                        for c in parent.components() {
                            dir.push('/');
                            dir.push_str(&c.as_os_str().to_string_lossy());
                        }
                    }
                    out.push(Ok(PlannedFile {
                        path: e.path().to_path_buf(),
                        target: RemoteTarget { dir, name: name(e.path()) },
                    }));
                }
                Err(err) => {
                    let at = err.path().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
                    let io = err.into_io_error().unwrap_or_else(|| std::io::Error::other("folder walk failed"));
                    out.push(Err((at.clone(), Error::io(&at, io))));
                }
            }
        }
    }
    out
}
