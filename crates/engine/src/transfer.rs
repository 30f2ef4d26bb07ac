//! Moves one local file to a cloud: check the rules, hash in one pass, begin, send the parts in parallel,
//! complete. Progress is reported as absolute values; the whole transfer stops when its owner cancels.

use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::hash::{self, FileDigest};
use crate::provider::{Begin, CloudProvider, DuplicatePolicy, LocalFile, PartBody, RemoteFile, RemoteTarget, UploadSession};

/// How often in-flight byte counts are reported.
const PROGRESS_TICK: Duration = Duration::from_millis(100);

/// Knobs of one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOptions {
    /// Parts of this file in flight at once.
    pub parallel_parts: usize,
    /// What to do on a name clash.
    pub duplicate: DuplicatePolicy,
}

impl Default for TransferOptions {
    /// Three parts at once (what production 123pan clients use), fail on a name clash.
    fn default() -> Self {
        Self {
            parallel_parts: 3,
            duplicate: DuplicatePolicy::Fail,
        }
    }
}

/// What a transfer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the file to hash it.
    Hashing,
    /// Asking the cloud for an upload.
    Preparing,
    /// Sending bytes.
    Uploading,
    /// Waiting for the cloud to assemble and verify the file.
    Completing,
}

/// An absolute progress snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Bytes done in this phase.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// How the file reached the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The bytes were sent.
    Uploaded,
    /// The cloud already held the bytes; nothing was sent (秒传).
    Instant,
}

/// The result of a finished transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    /// Uploaded or instant.
    pub outcome: Outcome,
    /// The file on the cloud.
    pub remote: RemoteFile,
    /// What the hashing pass computed.
    pub digest: FileDigest,
    /// File bytes sent (0 for an instant upload).
    pub bytes_sent: u64,
}

/// Uploads `path` to `target`.
///
/// Rules are checked before the file is read and before any request, so a bad name fails at once with
/// [`Error::InvalidInput`] naming the file and the rule. Returns [`Error::Cancelled`] soon after `cancel` fires.
pub async fn upload_file(
    provider: &dyn CloudProvider,
    path: &Path,
    target: &RemoteTarget,
    options: &TransferOptions,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: &CancellationToken,
) -> Result<TransferReport> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Error::Cancelled),
        report = run(provider, path, target, options, progress, cancel) => report,
    }
}

async fn run(
    provider: &dyn CloudProvider,
    path: &Path,
    target: &RemoteTarget,
    options: &TransferOptions,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: &CancellationToken,
) -> Result<TransferReport> {
    let size = regular_file_size(path).await?;
    provider.check(target, size).map_err(|e| name_the_file(e, path))?;

    let report = Arc::clone(&progress);
    let on_hash = Arc::new(move |done| {
        report(Progress {
            phase: Phase::Hashing,
            done,
            total: size,
        })
    });
    let digest = hash::hash_file_async(path.to_path_buf(), provider.hash_request(size), on_hash, cancel.child_token()).await?;
    if digest.size != size {
        return Err(Error::invalid(
            path.display().to_string(),
            "the file changed size while it was being hashed",
        ));
    }
    progress(Progress {
        phase: Phase::Preparing,
        done: 0,
        total: size,
    });

    let local = LocalFile {
        path: path.to_path_buf(),
        size,
        digest,
    };
    match provider.begin(&local, target, options.duplicate).await? {
        Begin::Instant(remote) => Ok(TransferReport {
            outcome: Outcome::Instant,
            remote,
            digest: local.digest,
            bytes_sent: 0,
        }),
        Begin::Upload(session) => {
            send_parts(session.as_ref(), &local, options.parallel_parts.max(1), &progress).await?;
            progress(Progress {
                phase: Phase::Completing,
                done: size,
                total: size,
            });
            let remote = session.complete().await?;
            Ok(TransferReport {
                outcome: Outcome::Uploaded,
                remote,
                digest: local.digest,
                bytes_sent: size,
            })
        }
    }
}

/// Sends every part, `parallel` at a time, reporting absolute progress about ten times a second.
async fn send_parts(
    session: &dyn UploadSession,
    file: &LocalFile,
    parallel: usize,
    progress: &Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<()> {
    let plan = session.plan();
    // Slice MD5s from the hashing pass are reused only when the cloud cut the file the way we guessed.
    let known = file.digest.slices.as_ref().filter(|s| s.slice_size == plan.part_size);
    let parts: Vec<PartBody> = (0..plan.part_count)
        .map(|index| {
            let (offset, len) = plan.range(index, file.size);
            let md5 = known.and_then(|s| s.get(index as usize)).map(str::to_owned);
            PartBody::new(index, offset, len, file.path.clone(), md5)
        })
        .collect();
    let mut finished = vec![false; parts.len()];
    // Clones share their `sent` counters with `parts`, which the progress report reads.
    let mut results = futures::stream::iter(parts.clone())
        .map(|part| async move { session.put_part(&part).await.map(|()| part.index) })
        .buffer_unordered(parallel);
    let mut tick = tokio::time::interval(PROGRESS_TICK);
    let report = |finished: &[bool]| {
        let done = parts
            .iter()
            .zip(finished)
            .map(|(p, f)| if *f { p.len } else { p.sent().min(p.len) })
            .sum();
        progress(Progress {
            phase: Phase::Uploading,
            done,
            total: file.size,
        });
    };
    loop {
        tokio::select! {
            next = results.next() => match next {
                Some(Ok(index)) => finished[index as usize] = true,
                Some(Err(e)) => return Err(e),
                None => break,
            },
            _ = tick.tick() => report(&finished),
        }
    }
    report(&finished);
    Ok(())
}

/// The size of a regular file; anything else (folder, FIFO, device) is refused before it is opened.
async fn regular_file_size(path: &Path) -> Result<u64> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(path.display().to_string(), "not a regular file"));
    }
    Ok(meta.len())
}

/// Provider checks name the remote path; the user also needs the local file.
fn name_the_file(err: Error, path: &Path) -> Error {
    match err {
        Error::InvalidInput { subject, rule } => Error::InvalidInput {
            subject: format!("{} (as {subject})", path.display()),
            rule,
        },
        other => other,
    }
}

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
