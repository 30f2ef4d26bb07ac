//! `pandrop-cli upload`: files and folders to a cloud folder, several files at once; `.torrent` files can
//! go on to 6pan's offline download.

use clap::Args;
use pandrop_engine::hash::{FileDigest, HashRequest, md5_hex};
use pandrop_engine::provider::pan123::MAX_SINGLE_STEP_SIZE;
use pandrop_engine::provider::registry;
use pandrop_engine::provider::{CloudProvider, RemoteFile};
use pandrop_engine::queue::{Limits, ProviderSource, Queue};
use pandrop_engine::store::{FileKey, NewTask, Profile, Store, Task, TaskId, TaskState};
use pandrop_engine::transfer::{Outcome, TransferReport, Walk, is_torrent};
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

use crate::cloud::{ConnectOptions, Connection, DuplicateArg, ProviderArg};
use crate::drive::{Ending, drive};
use crate::output::Output;
use crate::{CliError, Globals, data};

/// Arguments of `upload`.
#[derive(Args)]
pub(crate) struct UploadArgs {
    /// Files and folders to upload.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Cloud to upload to.
    #[arg(long, value_parser = ProviderArg::parser(), default_value = ProviderArg::default_name())]
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
    #[arg(long, value_name = "BYTES", default_value_t = registry::ConnectOptions::STANDARD.single_step_max)]
    single_step_max: u64,
    /// Upload at most this many bytes per second, all files together.
    #[arg(long, value_name = "BYTES_PER_SEC", value_parser = clap::value_parser!(u64).range(1024..))]
    limit_rate: Option<u64>,
    /// One JSON object per file per line on stdout.
    #[arg(long)]
    json: bool,
    /// Where a stopped run keeps its tasks until the same command runs again [default: the user's data
    /// folder, PanDrop].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Uploads everything; returns whether every file succeeded.
pub(crate) async fn run(args: UploadArgs, globals: &Globals) -> Result<bool, CliError> {
    let verbose = globals.verbose;
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
    let data_dir = data::data_dir(args.data_dir.clone())?;
    let conn = Connection::open(ConnectOptions {
        provider: args.provider,
        endpoint: args.endpoint.clone(),
        sandbox: args.sandbox,
        single_step_max: args.single_step_max,
        token_cache: globals.token_cache,
        data_dir: data_dir.clone(),
    })
    .await?;
    if args.offline_to.is_some() && conn.provider.offline().is_none() {
        let name = args.provider.name();
        conn.close(verbose).await?;
        return Err(CliError::Usage(format!("--offline-to: {name} has no offline download")));
    }
    let duplicate = DuplicateArg::policy(args.duplicate);
    let to = args.to.clone().unwrap_or_else(|| "/".to_owned());
    let output = Output::new(args.json);

    // The same durable queue as the app and `queue run`, on a store of this command's own in the data folder:
    // an interrupted run leaves it there, and the same command run again continues the half-sent files.
    let path = data_dir.join(UPLOADS_DIR).join(format!("{}.db", run_key(&args, &to)));
    let limits = Limits {
        files: usize::from(args.jobs),
        parts_per_file: usize::from(args.slices),
        upload_bytes_per_sec: args.limit_rate,
        ..Limits::default()
    };
    // The engine holds the store's run lock: the same command running in another terminal is refused.
    let engine = data::open_engine(&path, limits, Arc::new(OneAccount(Arc::clone(&conn.provider)))).await?;
    let (store, queue) = (engine.store(), engine.queue());
    store
        .upsert_profile(&Profile {
            id: PROFILE.into(),
            provider: args.provider.kind(),
            name: "upload".into(),
            endpoint: "upload".into(),
            default_dir: to.clone(),
            settings: serde_json::json!({}),
        })
        .map_err(anyhow::Error::from)?;
    let walk = Walk::of(&args.paths);
    for refused in &walk.refused {
        output.failure_text(&refused.path, &refused.message);
    }
    let all_ok = walk.refused.is_empty();
    let mut planned = walk.tasks(PROFILE, &to, duplicate);
    if let (Some(save_dir), Some(offline)) = (args.offline_to.as_deref(), conn.provider.offline()) {
        // Torrents go to the cloud's torrent folder, then on to its offline download, as one task each.
        for task in planned.iter_mut().filter(|t| is_torrent(&t.local_path)) {
            task.download_offline(offline.torrent_dir(), save_dir);
        }
    }
    let tasks = continue_or_add(queue, planned).await?;
    let reporter = Reporter { store, output: &output };
    let outcome = drive(queue, &output, &tasks, async |id| reporter.report(id).await).await;
    let store_failure = queue.store_failure();
    engine.shutdown().await;
    conn.close(verbose).await?;
    if let Some(err) = store_failure {
        let why = data::store_fault(&err);
        return Err(anyhow::Error::from(err)
            .context(format!(
                "this upload's queue store {} stopped taking writes ({why}); no further upload was started, \
                 and the same command run again continues the rest",
                path.display()
            ))
            .into());
    }
    match outcome? {
        Ending::Interrupted => {
            eprintln!("stopped; run the same command again to continue: half-sent files go on where they stopped");
            Err(CliError::Interrupted)
        }
        Ending::Idle { failed } => {
            // Every file has its answer: nothing is left to continue.
            drop(engine);
            data::remove_store(&path);
            Ok(all_ok && failed == 0)
        }
    }
}

/// The folder of the data folder where `upload` keeps the tasks of runs that have not finished.
const UPLOADS_DIR: &str = "uploads";

/// Names the store of one upload command: the same cloud, target, options and paths give the same name, so
/// running a stopped command again finds its tasks.
fn run_key(args: &UploadArgs, to: &str) -> String {
    let mut identity = format!(
        "{}\0{}\0{to}\0{:?}\0{:?}",
        args.provider.name(),
        args.endpoint
            .as_ref()
            .map_or(if args.sandbox { "sandbox" } else { "" }, Url::as_str),
        args.offline_to,
        DuplicateArg::policy(args.duplicate),
    );
    for path in &args.paths {
        identity.push('\0');
        identity.push_str(&std::path::absolute(path).unwrap_or_else(|_| path.clone()).to_string_lossy());
    }
    md5_hex(identity.as_bytes())
}

/// The tasks of this run: those an interrupted run of the same command left (what failed is tried again with
/// a fresh budget, what finished is reported as it was recorded), plus the planned files it did not have.
async fn continue_or_add(queue: &Queue, planned: Vec<NewTask>) -> Result<Vec<Task>, CliError> {
    let earlier = queue.tasks().await.map_err(anyhow::Error::from)?;
    if !earlier.is_empty() {
        eprintln!("continuing where an earlier run of this command stopped");
    }
    let again: Vec<TaskId> = earlier
        .iter()
        .filter(|t| matches!(t.state, TaskState::Failed | TaskState::Cancelled))
        .map(|t| t.id)
        .collect();
    queue.retry(&again);
    let known = |n: &NewTask| earlier.iter().any(|t| t.local_path == n.local_path && t.target == n.target);
    let new: Vec<NewTask> = planned.into_iter().filter(|n| !known(n)).collect();
    queue.add(new).await.map_err(anyhow::Error::from)?;
    Ok(queue.tasks().await.map_err(anyhow::Error::from)?)
}

/// The profile id of this run's only account.
const PROFILE: &str = "upload";

/// The one account of an `upload` run.
struct OneAccount(Arc<dyn CloudProvider>);

#[async_trait::async_trait]
impl ProviderSource for OneAccount {
    async fn provider(&self, _profile_id: &str) -> pandrop_engine::Result<Arc<dyn CloudProvider>> {
        Ok(Arc::clone(&self.0))
    }
}

/// Prints one line per finished file, from what its task recorded.
struct Reporter<'a> {
    store: &'a Store,
    output: &'a Output,
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
            // What the transfer that finished it sent, as recorded then.
            bytes_sent: task.bytes_sent.unwrap_or(0),
            bytes_held: task.bytes_held.unwrap_or(0),
        };
        self.output
            .success(&task.local_path, &task.target.full_path(), &report, task.offline.as_ref());
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
                block_sha256: None,
            };
            key.as_ref().and_then(|k| self.store.cached_digest(k, &req).ok().flatten())
        };
        FileDigest {
            size: task.size,
            md5: cached(true, false).and_then(|d| d.md5),
            etag: cached(false, true).and_then(|d| d.etag),
            slices: None,
            blocks: None,
        }
    }
}
