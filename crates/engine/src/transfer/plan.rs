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

/// The rule a name that is not UTF-8 breaks: clouds store names as Unicode text, and a lossy copy would land
/// under a name the user never gave.
const NOT_UTF8: &str = "the name is not valid UTF-8; cloud drives store names as Unicode text, so rename it first";

/// The rule a link to a folder met inside a walk breaks.
const FOLDER_LINK: &str =
    "a link to a folder; links to folders inside a folder are not followed (they can loop), add the folder itself instead";

/// Expands files and folders into files with targets under `remote_dir`, keeping folder structure.
///
/// Folder entries are sorted for a stable order. Links to folders inside a walk are not followed (a loop could
/// not end) but reported, as are entries whose names are not UTF-8 (a folder's contents are then skipped with
/// it) and entries that cannot be read. Every such entry becomes an `Err` item so the rest of the batch can go on.
pub fn plan_paths(paths: &[PathBuf], remote_dir: &str) -> Vec<std::result::Result<PlannedFile, (PathBuf, Error)>> {
    let mut out = Vec::new();
    for root in paths {
        if !root.is_dir() {
            out.push(match utf8_name(root) {
                Some(name) => Ok(PlannedFile {
                    path: root.clone(),
                    target: RemoteTarget {
                        dir: remote_dir.to_owned(),
                        name,
                    },
                }),
                None => Err(refused(root, NOT_UTF8)),
            });
            continue;
        }
        let Some(root_name) = utf8_name(root) else {
            out.push(Err(refused(root, NOT_UTF8)));
            continue;
        };
        let base = format!("{}/{root_name}", remote_dir.trim_end_matches('/'));
        let mut walk = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().into_iter();
        while let Some(entry) = walk.next() {
            let e = match entry {
                Ok(e) => e,
                Err(err) => {
                    let at = err.path().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
                    let io = err.into_io_error().unwrap_or_else(|| std::io::Error::other("folder walk failed"));
                    out.push(Err((at.clone(), Error::io(&at, io))));
                    continue;
                }
            };
            if e.depth() == 0 {
                continue;
            }
            let Some(name) = utf8_name(e.path()) else {
                if e.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                out.push(Err(refused(e.path(), NOT_UTF8)));
                continue;
            };
            if e.file_type().is_dir() {
                continue;
            }
            if e.path_is_symlink() {
                match std::fs::metadata(e.path()) {
                    Ok(meta) if meta.is_dir() => {
                        out.push(Err(refused(e.path(), FOLDER_LINK)));
                        continue;
                    }
                    Ok(_) => {}
                    // A dangling link, or one that points at itself (ELOOP).
                    Err(io) => {
                        out.push(Err((e.path().to_path_buf(), Error::io(e.path(), io))));
                        continue;
                    }
                }
            }
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            let mut dir = base.clone();
            if let Some(parent) = rel.parent() {
                for c in parent.components() {
                    dir.push('/');
                    // Folders with names that are not UTF-8 were skipped above.
                    dir.push_str(&c.as_os_str().to_string_lossy());
                }
            }
            out.push(Ok(PlannedFile {
                path: e.path().to_path_buf(),
                target: RemoteTarget { dir, name },
            }));
        }
    }
    out
}

/// The last component of `path` as UTF-8; `Some("")` for a path without one (such as `/`).
fn utf8_name(path: &Path) -> Option<String> {
    match path.file_name() {
        Some(name) => name.to_str().map(str::to_owned),
        None => Some(String::new()),
    }
}

fn refused(path: &Path, rule: &str) -> (PathBuf, Error) {
    (path.to_path_buf(), Error::invalid(path.display().to_string(), rule))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn folder_links_and_non_utf8_names_are_reported_and_the_rest_planned() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::TempDir::new().expect("tempdir");
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
        std::fs::write(root.join("sub/ok.txt"), b"ok").expect("write");
        std::os::unix::fs::symlink("..", root.join("sub/up")).expect("link");
        let odd = root.join(std::ffi::OsStr::from_bytes(b"odd\xff"));
        std::fs::create_dir(&odd).expect("mkdir");
        std::fs::write(odd.join("inside.txt"), b"x").expect("write");
        let planned = plan_paths(std::slice::from_ref(&root), "/r");
        let ok: Vec<String> = planned
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|p| p.target.full_path())
            .collect();
        assert_eq!(ok, ["/r/root/sub/ok.txt"]);
        let errors: Vec<String> = planned
            .iter()
            .filter_map(|p| p.as_ref().err())
            .map(|(_, e)| e.to_string())
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors.iter().any(|e| e.contains("sub/up") && e.contains("link to a folder")),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.contains("not valid UTF-8")), "{errors:?}");
    }
}
