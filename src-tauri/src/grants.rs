//! The files the page may name. A command that takes paths from the page (`queue_add_paths`,
//! `offline_add_torrents`) accepts only what the user handed over: dropped on the window (the shell sees the
//! drop itself) or chosen in the shell's own file dialog (`pick_paths`). A page that went wrong, or one made to
//! run someone else's script, cannot upload `~/.ssh` by naming it. Send-to needs none of this: its paths
//! never pass through the page.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::dto::RejectedPath;

/// What a picker answers: the chosen paths, or `None` when the dialog was cancelled.
type PickAnswer = tokio::sync::oneshot::Sender<Option<Vec<PathBuf>>>;

/// Opens the native file dialog. The running app sets it up in `setup`, where it holds the window; the
/// command that uses it then needs no runtime type of its own.
pub struct Picker(Box<dyn Fn(bool, String, PickAnswer) + Send + Sync>);

impl Picker {
    /// A picker that shows the dialog with `open(directory, title, answer)` and sends the result to `answer`.
    pub fn new(open: impl Fn(bool, String, PickAnswer) + Send + Sync + 'static) -> Self {
        Self(Box::new(open))
    }

    /// Shows the dialog for files (or folders) and waits for the user.
    pub async fn pick(&self, directory: bool, title: String) -> Option<Vec<PathBuf>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (self.0)(directory, title, tx);
        rx.await.ok().flatten()
    }
}

/// Why a path was refused.
pub const NOT_GRANTED: &str = "was not dropped on the window or chosen in the file dialog, so PanDrop will not read it";

/// Paths the user handed over, canonical; a folder grants what is inside it.
#[derive(Debug, Default)]
pub struct Grants(Mutex<HashSet<PathBuf>>);

impl Grants {
    /// Records paths the user dropped or picked. Blocks on the file system (canonicalisation).
    pub fn allow<I: IntoIterator<Item = PathBuf>>(&self, paths: I) {
        let canonical: Vec<PathBuf> = paths.into_iter().map(|p| std::fs::canonicalize(&p).unwrap_or(p)).collect();
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend(canonical);
    }

    /// Splits `paths` into the granted ones and the refused. A path counts when it, or a folder it lies in, was
    /// handed over; `..` and links are resolved first, so neither can climb out of a granted folder.
    pub fn admit(&self, paths: Vec<String>) -> (Vec<String>, Vec<RejectedPath>) {
        // Resolved before taking the lock: a drop on the window must not wait behind this batch's disk reads.
        let resolved: Vec<(String, PathBuf)> = paths
            .into_iter()
            .map(|path| {
                let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path));
                (path, canonical)
            })
            .collect();
        let granted = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut admitted = Vec::new();
        let mut refused = Vec::new();
        for (path, canonical) in resolved {
            if Path::new(&path).is_absolute() && canonical.ancestors().any(|a| granted.contains(a)) {
                admitted.push(path);
            } else {
                refused.push(RejectedPath {
                    message: NOT_GRANTED.to_owned(),
                    path,
                });
            }
        }
        (admitted, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_handed_over_and_what_lies_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("dropped/sub")).unwrap();
        std::fs::write(root.join("dropped/sub/a.txt"), b"a").unwrap();
        std::fs::write(root.join("secret.txt"), b"s").unwrap();
        std::fs::write(root.join("picked.txt"), b"p").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("secret.txt"), root.join("dropped/link.txt")).unwrap();
        let grants = Grants::default();
        grants.allow([root.join("dropped"), root.join("picked.txt")]);
        let s = |p: PathBuf| p.display().to_string();
        let (ok, refused) = grants.admit(vec![
            s(root.join("dropped/sub/a.txt")),
            s(root.join("picked.txt")),
            s(root.join("secret.txt")),
            s(root.join("dropped/../secret.txt")),
            #[cfg(unix)]
            s(root.join("dropped/link.txt")),
            "relative.txt".to_owned(),
        ]);
        assert_eq!(ok, [s(root.join("dropped/sub/a.txt")), s(root.join("picked.txt"))]);
        assert_eq!(refused.len(), if cfg!(unix) { 4 } else { 3 }, "{refused:?}");
        assert!(refused.iter().all(|r| r.message == NOT_GRANTED));
    }
}
