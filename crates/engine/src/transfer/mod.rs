//! Moves one local file to a cloud: check the rules, hash in one pass, begin (or continue a saved session),
//! send the missing parts in parallel, complete. Progress is reported as absolute values; the whole transfer
//! stops when its owner cancels.

mod journal;
mod plan;
mod walk;

pub use journal::{Journal, NoJournal};
pub use plan::{PlannedFile, plan_paths};
pub use walk::{Refused, Walk, WalkedFile, is_torrent};

use futures::StreamExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::hash::{self, FileDigest};
use crate::http::ByteRate;
use crate::provider::{Begin, CloudProvider, DuplicatePolicy, LocalFile, PartBody, PartReceipt, RemoteFile, RemoteTarget, UploadSession};

/// How often in-flight byte counts are reported.
const PROGRESS_TICK: Duration = Duration::from_millis(100);

/// How long a part may send no byte before it is aborted and sent again.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Times a stalled part is sent again before the transfer fails (and its owner retries it later).
const STALL_RETRIES: u32 = 2;

/// Knobs of one transfer.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Parts of this file in flight at once.
    pub parallel_parts: usize,
    /// What to do on a name clash.
    pub duplicate: DuplicatePolicy,
    /// The upload byte rate shared with other transfers.
    pub rate: ByteRate,
    /// A part whose body moves no byte for this long is aborted and sent again.
    pub stall_timeout: Duration,
}

impl Default for TransferOptions {
    /// Three parts at once (what production 123pan clients use), fail on a name clash, no rate limit.
    fn default() -> Self {
        Self {
            parallel_parts: 3,
            duplicate: DuplicatePolicy::Fail,
            rate: ByteRate::unlimited(),
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

/// What a transfer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    /// File bytes sent by this run (0 for an instant upload; parts sent by an earlier run are not counted).
    pub bytes_sent: u64,
    /// File bytes of parts this run found on the cloud already and did not send (HalalCloud's held blocks);
    /// 0 for an instant upload, which is all held.
    pub bytes_held: u64,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Uploads `path` to `target`.
///
/// Rules are checked before the file is read and before any request, so a bad name fails at once with
/// [`Error::InvalidInput`] naming the file and the rule. Returns [`Error::Cancelled`] soon after `cancel` fires.
pub async fn upload_file(
    provider: &dyn CloudProvider,
    path: &Path,
    target: &RemoteTarget,
    options: &TransferOptions,
    progress: ProgressFn,
    cancel: &CancellationToken,
) -> Result<TransferReport> {
    upload_file_with(provider, path, target, options, progress, &NoJournal, cancel).await
}

/// Like [`upload_file`], recording progress in `journal` and continuing what it saved earlier.
///
/// A saved session continues with only the parts the cloud had not acknowledged. If the cloud no longer
/// knows it, the upload starts over with a fresh request (which may now be instant), and says so in the log.
pub async fn upload_file_with(
    provider: &dyn CloudProvider,
    path: &Path,
    target: &RemoteTarget,
    options: &TransferOptions,
    progress: ProgressFn,
    journal: &dyn Journal,
    cancel: &CancellationToken,
) -> Result<TransferReport> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Error::Cancelled),
        report = run(provider, path, target, options, progress, journal, cancel) => report,
    }
}

async fn run(
    provider: &dyn CloudProvider,
    path: &Path,
    target: &RemoteTarget,
    options: &TransferOptions,
    progress: ProgressFn,
    journal: &dyn Journal,
    cancel: &CancellationToken,
) -> Result<TransferReport> {
    let size = regular_file_size(path).await?;
    check_steps(target).map_err(|e| name_the_file(e, path))?;
    provider.check(target, size).map_err(|e| name_the_file(e, path))?;
    let local = LocalFile {
        path: path.to_path_buf(),
        size,
        digest: digest_of(provider, path, size, &progress, journal, cancel).await?,
    };
    progress(Progress {
        phase: Phase::Preparing,
        done: 0,
        total: size,
    });
    let run = Run {
        provider: provider.name(),
        local: &local,
        options,
        progress: &progress,
        journal,
    };

    if let Some(saved) = journal.saved_upload().await {
        match provider.resume(&local, target, options.duplicate, &saved).await {
            Ok(Some(begin)) => match run.finish(begin, &saved.parts, false).await {
                Err(e) if is_session_gone(&e) => {
                    tracing::warn!(file = %path.display(), error = %e, "the cloud no longer knows the half-sent upload; starting over");
                }
                other => return other,
            },
            Ok(None) => tracing::info!(file = %path.display(), "the saved upload cannot be continued; starting over"),
            Err(e) if is_session_gone(&e) => {
                tracing::warn!(file = %path.display(), error = %e, "the saved upload was refused; starting over");
            }
            Err(e) => return Err(e),
        }
        journal.session_discarded().await?;
    }
    let begin = provider.begin(&local, target, options.duplicate).await?;
    run.finish(begin, &[], true).await
}

/// The file's digest: from the journal when it has one for this very file, else one read pass.
async fn digest_of(
    provider: &dyn CloudProvider,
    path: &Path,
    size: u64,
    progress: &ProgressFn,
    journal: &dyn Journal,
    cancel: &CancellationToken,
) -> Result<FileDigest> {
    let request = provider.hash_request(size);
    if let Some(digest) = journal.cached_digest(&request).await.filter(|d| d.size == size) {
        return Ok(digest);
    }
    journal.before_hashing().await;
    let report = Arc::clone(progress);
    let on_hash = Arc::new(move |done| {
        report(Progress {
            phase: Phase::Hashing,
            done,
            total: size,
        })
    });
    let digest = hash::hash_file_async(path.to_path_buf(), request, on_hash, cancel.child_token()).await?;
    if digest.size != size {
        return Err(Error::invalid(
            path.display().to_string(),
            "the file changed size while it was being hashed",
        ));
    }
    journal.digest_computed(&digest).await?;
    Ok(digest)
}

/// One attempt at sending a hashed file.
struct Run<'a> {
    provider: &'static str,
    local: &'a LocalFile,
    options: &'a TransferOptions,
    progress: &'a ProgressFn,
    journal: &'a dyn Journal,
}

impl Run<'_> {
    /// Sends what is missing and completes; `done` are parts acknowledged by an earlier run.
    async fn finish(&self, begin: Begin, done: &[(u32, PartReceipt)], fresh: bool) -> Result<TransferReport> {
        let session = match begin {
            Begin::Instant(remote) => {
                self.journal.session_discarded().await?;
                return Ok(TransferReport {
                    outcome: Outcome::Instant,
                    remote,
                    digest: self.local.digest.clone(),
                    bytes_sent: 0,
                    bytes_held: 0,
                });
            }
            Begin::Upload(session) => session,
        };
        if fresh && let Some(state) = session.resume_state() {
            self.journal.session_opened(&state).await?;
        }
        self.journal.before_sending().await;
        let sent = self.send_parts(session.as_ref(), done).await;
        // A file that changed under the upload must not be completed: the cloud would keep a stale copy. When a
        // part failed because of the change, the change is the error worth telling.
        self.unchanged_since_hashing().await?;
        let (sent, held) = sent?;
        (self.progress)(Progress {
            phase: Phase::Completing,
            done: self.local.size,
            total: self.local.size,
        });
        let remote = session.complete().await?;
        self.journal.session_discarded().await?;
        // A fresh upload that moved no byte of a non-empty file found every part on the cloud already.
        let all_held = sent == 0 && self.local.size > 0 && done.is_empty();
        Ok(TransferReport {
            outcome: if all_held { Outcome::Instant } else { Outcome::Uploaded },
            remote,
            digest: self.local.digest.clone(),
            bytes_sent: sent,
            bytes_held: if all_held { 0 } else { held },
        })
    }

    /// Sends every part not in `done`, `parallel_parts` at a time, reporting absolute progress about ten
    /// times a second and journaling each acknowledged part. Returns the bytes sent and the bytes of parts the
    /// cloud held already (their bodies moved nothing).
    async fn send_parts(&self, session: &dyn UploadSession, done: &[(u32, PartReceipt)]) -> Result<(u64, u64)> {
        let file = self.local;
        let plan = session.plan();
        // Slice MD5s from the hashing pass are reused only when the cloud cut the file the way we guessed.
        let known = file.digest.slices.as_ref().filter(|s| s.slice_size == plan.part_size);
        let parts: Vec<PartBody> = (0..plan.part_count)
            .map(|index| {
                let (offset, len) = plan.range(index, file.size);
                let md5 = known.and_then(|s| s.get(index as usize)).map(str::to_owned);
                PartBody::new(index, offset, len, file.path.clone(), md5).with_rate(self.options.rate.clone())
            })
            .collect();
        let mut finished = vec![false; parts.len()];
        for (index, _) in done {
            if let Some(f) = finished.get_mut(*index as usize) {
                *f = true;
            }
        }
        // Clones share their `sent` counters with `parts`, which the progress report reads.
        let todo: Vec<PartBody> = parts.iter().filter(|p| !finished[p.index as usize]).cloned().collect();
        let todo_indices: Vec<usize> = todo.iter().map(|p| p.index as usize).collect();
        let journal = self.journal;
        let mut results = futures::stream::iter(todo)
            .map(|part| async move {
                let receipt = self.put_watched(session, &part).await?;
                journal.part_done(part.index, &receipt).await?;
                Ok::<_, Error>(part.index)
            })
            .buffer_unordered(self.options.parallel_parts.max(1));
        let mut tick = tokio::time::interval(PROGRESS_TICK);
        let report = |finished: &[bool]| {
            let done = parts
                .iter()
                .zip(finished)
                .map(|(p, f)| if *f { p.len } else { p.sent().min(p.len) })
                .sum();
            (self.progress)(Progress {
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
        // What the bodies moved, not what the parts hold: a part the cloud already had (a HalalCloud block its
        // probe found) sends nothing.
        let sent = todo_indices.iter().map(|&i| parts[i].sent().min(parts[i].len)).sum();
        let held = todo_indices.iter().filter(|&&i| parts[i].sent() == 0).map(|&i| parts[i].len).sum();
        Ok((sent, held))
    }
}

impl Run<'_> {
    /// Fails when the file no longer has the size it was hashed at.
    async fn unchanged_since_hashing(&self) -> Result<()> {
        let path = &self.local.path;
        let now = tokio::fs::metadata(path).await.map_err(|e| Error::io(path, e))?.len();
        if now == self.local.size {
            return Ok(());
        }
        Err(Error::invalid(
            path.display().to_string(),
            format!(
                "the file changed while it was being uploaded ({} bytes when hashed, {now} now); it was not completed on the cloud, add it again once it is finished",
                self.local.size
            ),
        ))
    }

    /// Sends a part, aborting and resending it when its body moves no byte for the stall timeout. Waiting for
    /// the reply after the last byte is not a stall (the read timeout covers that).
    async fn put_watched(&self, session: &dyn UploadSession, part: &PartBody) -> Result<PartReceipt> {
        let stall = self.options.stall_timeout;
        for _ in 0..=STALL_RETRIES {
            let put = session.put_part(part);
            tokio::pin!(put);
            let mut check = tokio::time::interval((stall / 4).max(Duration::from_millis(20)));
            let (mut seen, mut since) = (part.sent(), tokio::time::Instant::now());
            loop {
                tokio::select! {
                    result = &mut put => return result,
                    _ = check.tick() => {
                        let sent = part.sent();
                        if sent != seen || sent >= part.len {
                            (seen, since) = (sent, tokio::time::Instant::now());
                        } else if since.elapsed() >= stall {
                            tracing::warn!(part = part.index, ?stall, "no byte moved; sending the part again");
                            break;
                        }
                    }
                }
            }
        }
        Err(Error::Network {
            provider: self.provider,
            message: format!(
                "part {} stalled: no byte moved for {} s, {} times",
                part.index + 1,
                stall.as_secs(),
                STALL_RETRIES + 1
            ),
        })
    }
}

/// Errors that mean "the cloud does not know this session any more", as opposed to a fault to report.
fn is_session_gone(err: &Error) -> bool {
    matches!(err, Error::Api { retryable: false, .. } | Error::Protocol { .. })
}

/// The size of a regular file; anything else (folder, FIFO, device) is refused before it is opened.
async fn regular_file_size(path: &Path) -> Result<u64> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_a_regular_file(path, &meta.file_type()));
    }
    Ok(meta.len())
}

/// The refusal of a path that is not a regular file, saying what it is.
pub(crate) fn not_a_regular_file(path: &Path, kind: &std::fs::FileType) -> Error {
    let what = kind_of(kind);
    Error::invalid(
        path.display().to_string(),
        format!("not a regular file: it is {what}, and only regular files can be uploaded"),
    )
}

/// What a path that is not a regular file is, in words.
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() { "a folder" } else { "not a file" }
}

/// Refuses `.` and `..` as remote folder or file names: a cloud would take them as a step in a path (with
/// `containDir`) or store a folder literally named so; either way not where the user meant.
fn check_steps(target: &RemoteTarget) -> Result<()> {
    for step in target.dir_components().chain([target.name.as_str()]) {
        if step == "." || step == ".." {
            return Err(Error::invalid(
                target.full_path(),
                format!("{step:?} is a step in a path, not a name; remote paths must name every folder"),
            ));
        }
    }
    Ok(())
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
