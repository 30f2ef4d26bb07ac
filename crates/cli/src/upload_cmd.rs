//! `pandrop-cli upload`: files and folders to a cloud folder, several files at once; `.torrent` files can
//! go on to 6pan's offline download.

use anyhow::Context;
use clap::{Args, ValueEnum};
use pandrop_engine::hash::{FileDigest, HashRequest};
use pandrop_engine::provider::pan6::{Pan6, TORRENT_DIR};
use pandrop_engine::provider::pan123::MAX_SINGLE_STEP_SIZE;
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy, RemoteFile, RemoteTarget};
use pandrop_engine::queue::{Limits, ProviderSource, Queue};
use pandrop_engine::store::{FileKey, NewTask, Profile, ProviderKind, Store, Task, TaskId, TaskState};
use pandrop_engine::transfer::{self, Outcome, TransferReport};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

use crate::CliError;
use crate::cloud::{ConnectOptions, Connection, ProviderArg};
use crate::drive::{Ending, drive};
use crate::output::Output;

/// What to do when a file of the same name exists.
#[derive(Clone, Copy, ValueEnum)]
enum DuplicateArg {
    /// Keep both; the cloud renames the new file.
    Keep,
    /// Replace the existing file.
    Overwrite,
}

/// Arguments of `upload`.
#[derive(Args)]
pub(crate) struct UploadArgs {
    /// Files and folders to upload.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Cloud to upload to.
    #[arg(long, value_enum, default_value = "123pan")]
    provider: ProviderArg,
    /// API base URL [default: the real cloud].
    #[arg(long, conflicts_with = "sandbox")]
    endpoint: Option<Url>,
    /// Use the built-in sandbox cloud (no account needed).
    #[arg(long)]
    sandbox: bool,
    /// Remote folder to upload into (created if missing).
    #[arg(long, value_name = "/remote/dir", required_unless_present = "offline_to")]
    to: Option<String>,
    /// 6pan: send `.torrent` files to offline download into this remote folder.
    #[arg(long, value_name = "/save/dir")]
    offline_to: Option<String>,
    /// On a name clash: keep both or overwrite [default: fail that file].
    #[arg(long, value_enum)]
    duplicate: Option<DuplicateArg>,
    /// Files uploaded at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=32))]
    jobs: u16,
    /// Slices (123pan) or blocks (6pan) of one file in flight at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=32))]
    slices: u16,
    /// 123pan: files up to this many bytes go in one request (single-step upload, at most 1 GB; 0 turns it off).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    single_step_max: u64,
    /// Upload at most this many bytes per second, all files together.
    #[arg(long, value_name = "BYTES_PER_SEC", value_parser = clap::value_parser!(u64).range(1024..))]
    limit_rate: Option<u64>,
    /// One JSON object per file per line on stdout.
    #[arg(long)]
    json: bool,
}

/// Uploads everything; returns whether every file succeeded.
pub(crate) async fn run(args: UploadArgs, verbose: bool) -> Result<bool, CliError> {
    for dir in args.to.iter().chain(&args.offline_to) {
        if !dir.starts_with('/') {
            return Err(CliError::Usage(format!(
                "remote folders are absolute, such as /backup; {dir:?} is not"
            )));
        }
    }
    if args.single_step_max > MAX_SINGLE_STEP_SIZE {
        return Err(CliError::Usage(format!(
            "--single-step-max is at most {MAX_SINGLE_STEP_SIZE} bytes (1 GB)"
        )));
    }
    if args.offline_to.is_some() && args.provider.pan6_api().is_none() {
        return Err(CliError::Usage("--offline-to needs --provider 6pan-v1 or 6pan-v2".into()));
    }
    let conn = Connection::open(ConnectOptions {
        provider: args.provider,
        endpoint: args.endpoint,
        sandbox: args.sandbox,
        single_step_max: args.single_step_max,
    })
    .await?;
    let duplicate = match args.duplicate {
        None => DuplicatePolicy::Fail,
        Some(DuplicateArg::Keep) => DuplicatePolicy::KeepBoth,
        Some(DuplicateArg::Overwrite) => DuplicatePolicy::Overwrite,
    };
    let to = args.to.unwrap_or_else(|| "/".to_owned());
    let output = Output::new(args.json);

    // The same durable queue as the app and `queue run`, on a store of this run's own that goes with it.
    let private = tempfile::TempDir::new().context("creating this upload's queue store")?;
    let store = Arc::new(Store::open(&private.path().join("upload.db")).map_err(anyhow::Error::from)?);
    store
        .upsert_profile(&Profile {
            id: PROFILE.into(),
            provider: provider_kind(args.provider),
            name: "upload".into(),
            endpoint: "upload".into(),
            default_dir: to.clone(),
            settings: serde_json::json!({}),
        })
        .map_err(anyhow::Error::from)?;
    let offline = args.offline_to.is_some();
    let mut all_ok = true;
    let mut new = Vec::new();
    for planned in transfer::plan_paths(&args.paths, &to) {
        match planned {
            Ok(file) => {
                let target = if offline && is_torrent(&file.path) {
                    // Torrents for offline download go to the system torrent folder (seed 003).
                    RemoteTarget {
                        dir: TORRENT_DIR.to_owned(),
                        name: file.target.name,
                    }
                } else {
                    file.target
                };
                let size = std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
                new.push(NewTask {
                    profile_id: PROFILE.into(),
                    local_path: file.path,
                    target,
                    duplicate,
                    size,
                });
            }
            Err((path, err)) => {
                all_ok = false;
                output.failure(&path, &err);
            }
        }
    }
    store.add_tasks(&new).map_err(anyhow::Error::from)?;
    let tasks = store.tasks().map_err(anyhow::Error::from)?;
    let limits = Limits {
        files: usize::from(args.jobs),
        parts_per_file: usize::from(args.slices),
        upload_bytes_per_sec: args.limit_rate,
        ..Limits::default()
    };
    let queue = Queue::start(Arc::clone(&store), Arc::new(OneAccount(Arc::clone(&conn.provider))), limits)
        .await
        .map_err(anyhow::Error::from)?;
    let reporter = Reporter {
        store: &store,
        output: &output,
        pan6: conn.pan6.clone(),
        offline_to: args.offline_to.as_deref(),
    };
    let outcome = drive(&queue, &output, &tasks, async |id| reporter.report(id).await).await;
    let store_failure = queue.store_failure();
    queue.shutdown().await;
    conn.close(verbose).await?;
    if let Some(err) = store_failure {
        return Err(anyhow::Error::from(err)
            .context(format!(
                "this upload's queue store in {} stopped taking writes (is the disk full?); no further upload was started",
                private.path().display()
            ))
            .into());
    }
    match outcome? {
        Ending::Interrupted => Err(CliError::Interrupted),
        Ending::Idle { failed } => Ok(all_ok && failed == 0),
    }
}

/// The profile id of this run's only account.
const PROFILE: &str = "upload";

/// The one account of an `upload` run.
struct OneAccount(Arc<dyn CloudProvider>);

impl ProviderSource for OneAccount {
    fn provider(&self, _profile_id: &str) -> pandrop_engine::Result<Arc<dyn CloudProvider>> {
        Ok(Arc::clone(&self.0))
    }
}

fn provider_kind(provider: ProviderArg) -> ProviderKind {
    match provider {
        ProviderArg::Pan123 => ProviderKind::Pan123,
        ProviderArg::Pan6V1 => ProviderKind::Pan6V1,
        ProviderArg::Pan6V2 => ProviderKind::Pan6V2,
    }
}

/// Prints one line per finished file, and sends finished torrents on to offline download.
struct Reporter<'a> {
    store: &'a Store,
    output: &'a Output,
    pan6: Option<Arc<Pan6>>,
    offline_to: Option<&'a str>,
}

impl Reporter<'_> {
    /// Reports task `id`; returns whether it failed.
    async fn report(&self, id: TaskId) -> Result<bool, CliError> {
        let Some(task) = self.store.task(id).map_err(anyhow::Error::from)? else {
            return Ok(false);
        };
        let outcome = match task.state {
            TaskState::Done => Outcome::Uploaded,
            TaskState::Instant => Outcome::Instant,
            TaskState::Failed | TaskState::Cancelled => {
                let message = task.error.as_ref().map_or("cancelled", |e| e.message.as_str());
                self.output.failure_text(&task.local_path, message);
                return Ok(true);
            }
            _ => return Ok(false),
        };
        let report = TransferReport {
            outcome,
            remote: RemoteFile {
                id: task.remote_id.clone().unwrap_or_default(),
                size: task.size,
            },
            digest: self.digest(&task),
            // This run's store is new, so nothing was sent by an earlier run.
            bytes_sent: if outcome == Outcome::Uploaded { task.size } else { 0 },
        };
        let mut started = None;
        if let (Some(save_dir), Some(pan6)) = (self.offline_to.filter(|_| is_torrent(&task.local_path)), &self.pan6) {
            let etag = report.digest.etag.as_deref().unwrap_or_default();
            match pan6.offline_download(&report.remote, etag, save_dir).await {
                Ok(s) => started = Some(s),
                Err(err) => {
                    let message = format!("the torrent was uploaded, but offline download failed: {err}");
                    self.output.failure_text(&task.local_path, &message);
                    return Ok(true);
                }
            }
        }
        self.output
            .success(&task.local_path, &task.target.full_path(), &report, started.as_ref());
        Ok(false)
    }

    /// What hashing found, from the hash cache (the file as it is now).
    fn digest(&self, task: &Task) -> FileDigest {
        let key = std::fs::metadata(&task.local_path)
            .ok()
            .and_then(|m| FileKey::of(&task.local_path, &m).ok());
        let cached = |md5, etag| {
            let req = HashRequest {
                md5,
                etag,
                slice_size: None,
            };
            key.as_ref().and_then(|k| self.store.cached_digest(k, &req).ok().flatten())
        };
        FileDigest {
            size: task.size,
            md5: cached(true, false).and_then(|d| d.md5),
            etag: cached(false, true).and_then(|d| d.etag),
            slices: None,
        }
    }
}

fn is_torrent(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("torrent"))
}
