//! `pandrop-cli queue`: the durable upload queue from the command line. Tasks live in a store file, so a
//! `queue run` that was stopped (Ctrl-C, a crash, a power cut) continues where it left off.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy};
use pandrop_engine::queue::{Limits, ProviderSource, Queue};
use pandrop_engine::store::{MoveTo, NewTask, Profile, ProviderKind, RunLock, Store, Task, TaskId, TaskState};
use pandrop_engine::transfer;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

use crate::CliError;
use crate::cloud::{ConnectOptions, Connection, ProviderArg};
use crate::drive::{Ending, drive};
use crate::output::Output;

/// The endpoint stored for profiles that use the built-in sandbox cloud.
const SANDBOX_ENDPOINT: &str = "sandbox";
/// The store file inside the data folder.
const STORE_FILE: &str = "queue.db";
/// 123pan files up to this size go in one request, as `upload` does by default.
const SINGLE_STEP_MAX: u64 = 1024 * 1024;

/// Arguments of `queue`.
#[derive(Args)]
pub(crate) struct QueueArgs {
    /// Folder holding the queue's store [default: the user's data folder, PanDrop].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: QueueCommand,
}

/// The `queue` subcommands.
///
/// `pause`, `resume`, `cancel`, `retry`, `remove`, `move` and `clear` change the store directly: they act on
/// tasks that a `queue run` in another process is not transferring right now (stop that one with Ctrl-C
/// first; its tasks stay resumable).
#[derive(Subcommand)]
enum QueueCommand {
    /// Add files and folders (folders keep their structure) to the bottom of the queue; prints the task ids.
    Add(AddArgs),
    /// Show the queue in order: id, state, bytes done / size, remote path, error.
    List {
        /// One JSON object per task per line.
        #[arg(long)]
        json: bool,
    },
    /// Hold queued tasks (not ones a running `queue run` is transferring).
    Pause(AllOrIds),
    /// Put paused tasks back in the queue.
    Resume(AllOrIds),
    /// Cancel tasks for good (not ones a running `queue run` is transferring).
    Cancel(Ids),
    /// Put failed or cancelled tasks back in the queue.
    Retry(RetryArgs),
    /// Remove tasks from the queue (not ones a running `queue run` is transferring).
    Remove(Ids),
    /// Move a task in the queue.
    Move(MoveArgs),
    /// Remove finished tasks (their history stays).
    Clear,
    /// Upload what is queued until nothing is left; Ctrl-C stops and keeps every task resumable.
    Run(RunArgs),
}

/// What to do when a file of the same name exists.
#[derive(Clone, Copy, ValueEnum)]
enum DuplicateArg {
    /// Keep both; the cloud renames the new file.
    Keep,
    /// Replace the existing file.
    Overwrite,
}

/// Arguments of `queue add`.
#[derive(Args)]
struct AddArgs {
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
    #[arg(long, value_name = "/remote/dir")]
    to: String,
    /// On a name clash: keep both or overwrite [default: fail that file].
    #[arg(long, value_enum)]
    duplicate: Option<DuplicateArg>,
}

/// Task ids.
#[derive(Args)]
struct Ids {
    /// Task ids (see `queue list`).
    #[arg(required = true)]
    ids: Vec<i64>,
}

/// Task ids, or `--all`.
#[derive(Args)]
struct AllOrIds {
    /// Task ids (see `queue list`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    ids: Vec<i64>,
    /// Every task it applies to.
    #[arg(long)]
    all: bool,
}

/// Arguments of `queue retry`.
#[derive(Args)]
struct RetryArgs {
    /// Task ids (see `queue list`).
    #[arg(required_unless_present = "failed", conflicts_with = "failed")]
    ids: Vec<i64>,
    /// Every failed task (with a fresh budget of automatic retries).
    #[arg(long)]
    failed: bool,
}

/// Arguments of `queue move`.
#[derive(Args)]
struct MoveArgs {
    /// The task to move.
    id: i64,
    #[command(flatten)]
    to: MoveDirection,
}

/// Where `queue move` puts the task.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct MoveDirection {
    /// To the top of the queue.
    #[arg(long)]
    top: bool,
    /// One place up.
    #[arg(long)]
    up: bool,
    /// One place down.
    #[arg(long)]
    down: bool,
    /// To the bottom of the queue.
    #[arg(long)]
    bottom: bool,
}

/// Arguments of `queue run`.
#[derive(Args)]
struct RunArgs {
    /// Files uploaded at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=32))]
    jobs: u16,
    /// Slices (123pan) or blocks (6pan) of one file in flight at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=32))]
    slices: u16,
    /// One JSON object per finished task per line on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs a `queue` subcommand; returns whether everything it was asked to do was done.
pub(crate) async fn run(args: QueueArgs, verbose: bool) -> Result<bool, CliError> {
    let path = store_path(args.data_dir)?;
    let store = Arc::new(open_store(&path)?);
    match args.command {
        QueueCommand::Add(add) => add_tasks(&store, add),
        QueueCommand::List { json } => list(&store, json),
        QueueCommand::Pause(sel) => change_states(&store, sel, Change::Pause),
        QueueCommand::Resume(sel) => change_states(&store, sel, Change::Resume),
        QueueCommand::Cancel(Ids { ids }) => change_states(&store, AllOrIds { ids, all: false }, Change::Cancel),
        QueueCommand::Retry(RetryArgs { failed: true, .. }) => {
            let ids = store.retry_failed().map_err(anyhow::Error::from)?;
            println!("{} task(s) queued again", ids.len());
            Ok(true)
        }
        QueueCommand::Retry(RetryArgs { ids, .. }) => change_states(&store, AllOrIds { ids, all: false }, Change::Retry),
        QueueCommand::Remove(Ids { ids }) => change_states(&store, AllOrIds { ids, all: false }, Change::Remove),
        QueueCommand::Move(args) => {
            let to = match args.to {
                MoveDirection { top: true, .. } => MoveTo::Top,
                MoveDirection { up: true, .. } => MoveTo::Up,
                MoveDirection { down: true, .. } => MoveTo::Down,
                MoveDirection { .. } => MoveTo::Bottom,
            };
            let id = TaskId(args.id);
            if store.task(id).map_err(anyhow::Error::from)?.is_none() {
                eprintln!("no task {id}");
                return Ok(false);
            }
            store.move_task(id, to).map_err(anyhow::Error::from)?;
            Ok(true)
        }
        QueueCommand::Clear => {
            let n = store.clear_finished().map_err(anyhow::Error::from)?;
            println!("{n} finished task(s) removed");
            Ok(true)
        }
        QueueCommand::Run(run) => {
            // One runner per store: a second one would take the first one's tasks and send them again.
            let _lock = RunLock::acquire(&path).map_err(anyhow::Error::from)?;
            run_queue(store, run, verbose).await
        }
    }
}

/// The store file in `data_dir`, by default `<user data dir>/PanDrop`.
fn store_path(data_dir: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let dir = match data_dir {
        Some(dir) => dir,
        None => directories::ProjectDirs::from("", "", "PanDrop")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or_else(|| CliError::Usage("this system has no user data folder; pass --data-dir".into()))?,
    };
    Ok(dir.join(STORE_FILE))
}

/// Opens (creating it and its folder if needed) the store at `path`.
fn open_store(path: &Path) -> Result<Store, CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the data folder {}", dir.display()))?;
    }
    Ok(Store::open(path).with_context(|| format!("opening the queue store {}", path.display()))?)
}

fn provider_kind(arg: ProviderArg) -> ProviderKind {
    match arg {
        ProviderArg::Pan123 => ProviderKind::Pan123,
        ProviderArg::Pan6V1 => ProviderKind::Pan6V1,
        ProviderArg::Pan6V2 => ProviderKind::Pan6V2,
    }
}

fn provider_arg(kind: ProviderKind) -> ProviderArg {
    match kind {
        ProviderKind::Pan123 => ProviderArg::Pan123,
        ProviderKind::Pan6V1 => ProviderArg::Pan6V1,
        ProviderKind::Pan6V2 => ProviderArg::Pan6V2,
    }
}

/// `queue add`: one task per file, under a profile for (provider, endpoint). The profile holds no secret:
/// `queue run` reads credentials from the environment or the keyring, as `upload` does.
fn add_tasks(store: &Store, args: AddArgs) -> Result<bool, CliError> {
    if !args.to.starts_with('/') {
        return Err(CliError::Usage(format!(
            "remote folders are absolute, such as /backup; {:?} is not",
            args.to
        )));
    }
    let kind = provider_kind(args.provider);
    let endpoint = if args.sandbox {
        SANDBOX_ENDPOINT.to_owned()
    } else {
        match args.endpoint {
            Some(url) => url.to_string(),
            None => args.provider.default_endpoint().to_owned(),
        }
    };
    let profile_id = format!("{kind} {endpoint}");
    if store.profile(&profile_id).map_err(anyhow::Error::from)?.is_none() {
        store
            .upsert_profile(&Profile {
                id: profile_id.clone(),
                provider: kind,
                name: profile_id.clone(),
                endpoint,
                default_dir: "/".into(),
                settings: serde_json::json!({}),
            })
            .map_err(anyhow::Error::from)?;
    }
    let duplicate = match args.duplicate {
        None => DuplicatePolicy::Fail,
        Some(DuplicateArg::Keep) => DuplicatePolicy::KeepBoth,
        Some(DuplicateArg::Overwrite) => DuplicatePolicy::Overwrite,
    };
    let mut all_ok = true;
    let mut tasks = Vec::new();
    for planned in transfer::plan_paths(&args.paths, &args.to) {
        let file = match planned {
            Ok(file) => file,
            Err((path, err)) => {
                all_ok = false;
                eprintln!("skipped  {}: {err}", path.display());
                continue;
            }
        };
        // The plan takes any path that is not a folder as a file; a missing one would only fail at run time.
        let size = match std::fs::metadata(&file.path) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => {
                all_ok = false;
                eprintln!("skipped  {}: not a regular file", file.path.display());
                continue;
            }
            Err(err) => {
                all_ok = false;
                eprintln!("skipped  {}: {err}", file.path.display());
                continue;
            }
        };
        // Store absolute paths: `queue run` may start in another folder.
        let local_path = std::path::absolute(&file.path).unwrap_or(file.path);
        tasks.push(NewTask {
            profile_id: profile_id.clone(),
            local_path,
            target: file.target,
            duplicate,
            size,
        });
    }
    let ids = store.add_tasks(&tasks).map_err(anyhow::Error::from)?;
    for (id, task) in ids.iter().zip(&tasks) {
        println!("{id} {} -> {}", task.local_path.display(), task.target.full_path());
    }
    Ok(all_ok)
}

/// `queue list`.
fn list(store: &Store, json: bool) -> Result<bool, CliError> {
    for task in store.tasks().map_err(anyhow::Error::from)? {
        let error = task.error.as_ref().map(|e| e.message.clone());
        if json {
            let line = serde_json::json!({
                "id": task.id.0,
                "state": task.state.as_str(),
                "bytes_done": task.bytes_done,
                "size": task.size,
                "file": task.local_path.display().to_string(),
                "remote_path": task.target.full_path(),
                "remote_id": task.remote_id,
                "profile": task.profile_id,
                "error": error,
            });
            println!("{line}");
        } else {
            let mut line = format!(
                "{:>5} {:10} {:>12}/{:<12} {}",
                task.id.0,
                task.state.as_str(),
                task.bytes_done,
                task.size,
                task.target.full_path()
            );
            if let Some(error) = error {
                line.push_str(&format!("  ({error})"));
            }
            println!("{line}");
        }
    }
    Ok(true)
}

/// A state change made directly in the store.
#[derive(Clone, Copy)]
enum Change {
    Pause,
    Resume,
    Cancel,
    Retry,
    Remove,
}

impl Change {
    /// Whether the change applies to a task in `state`; `Ok(false)` when it is there already.
    fn applies(self, state: TaskState) -> Result<bool, &'static str> {
        if state.is_active() {
            return Err("is being transferred (stop `queue run` first)");
        }
        match (self, state) {
            (Self::Pause, TaskState::Queued)
            | (Self::Resume, TaskState::Paused)
            | (Self::Cancel, TaskState::Queued | TaskState::Paused | TaskState::Failed)
            | (Self::Retry, TaskState::Failed | TaskState::Cancelled)
            | (Self::Remove, _) => Ok(true),
            (Self::Pause, TaskState::Paused) | (Self::Resume, TaskState::Queued) | (Self::Cancel, TaskState::Cancelled) => Ok(false),
            (Self::Pause, _) => Err("cannot be paused"),
            (Self::Resume, _) => Err("is not paused"),
            (Self::Cancel, _) => Err("has finished"),
            (Self::Retry, _) => Err("has neither failed nor been cancelled"),
        }
    }

    fn apply(self, store: &Store, id: TaskId) -> pandrop_engine::Result<()> {
        match self {
            Self::Pause => store.set_state(id, TaskState::Paused, None),
            Self::Resume | Self::Retry => store.set_state(id, TaskState::Queued, None),
            Self::Cancel => {
                store.clear_resume(id)?;
                store.set_state(id, TaskState::Cancelled, None)
            }
            Self::Remove => store.remove_tasks(&[id]),
        }
    }
}

/// `pause`, `resume`, `cancel`, `retry`, `remove`: reports tasks it could not change and returns false then.
fn change_states(store: &Store, sel: AllOrIds, change: Change) -> Result<bool, CliError> {
    let tasks = store.tasks().map_err(anyhow::Error::from)?;
    let mut all_ok = true;
    let chosen: Vec<&Task> = if sel.all {
        // `--all` only touches tasks the change is meant for; the rest are not an error.
        tasks.iter().filter(|t| change.applies(t.state) == Ok(true)).collect()
    } else {
        let mut chosen = Vec::new();
        for id in sel.ids {
            match tasks.iter().find(|t| t.id.0 == id) {
                Some(task) => chosen.push(task),
                None => {
                    all_ok = false;
                    eprintln!("no task {id}");
                }
            }
        }
        chosen
    };
    for task in chosen {
        match change.applies(task.state) {
            Ok(true) => change.apply(store, task.id).map_err(anyhow::Error::from)?,
            Ok(false) => {}
            Err(why) => {
                all_ok = false;
                eprintln!("task {} {why}: it is {}", task.id, task.state);
            }
        }
    }
    Ok(all_ok)
}

/// Providers by profile id, connected before the queue starts (connecting may need the network, which the
/// queue's synchronous lookup cannot wait for).
struct Providers(HashMap<String, Connected>);

/// A profile's provider, or why it could not be connected (its tasks fail with that reason).
enum Connected {
    Ready(Arc<dyn CloudProvider>),
    Unavailable { reason: String },
}

impl ProviderSource for Providers {
    fn provider(&self, profile_id: &str) -> pandrop_engine::Result<Arc<dyn CloudProvider>> {
        match self.0.get(profile_id) {
            Some(Connected::Ready(provider)) => Ok(Arc::clone(provider)),
            Some(Connected::Unavailable { reason }) => Err(pandrop_engine::Error::invalid(format!("profile {profile_id}"), reason.clone())),
            None => Err(pandrop_engine::Error::invalid(
                format!("profile {profile_id}"),
                "added after this `queue run` started; run it again",
            )),
        }
    }
}

/// Connects to the cloud of a stored profile: credentials come from the environment or the keyring, the
/// sandbox profile starts the built-in cloud.
async fn connect(profile: &Profile) -> Result<Connection, CliError> {
    let sandbox = profile.endpoint == SANDBOX_ENDPOINT;
    let endpoint = if sandbox {
        None
    } else {
        Some(Url::parse(&profile.endpoint).map_err(|e| CliError::Usage(format!("{:?} is not a URL: {e}", profile.endpoint)))?)
    };
    Connection::open(ConnectOptions {
        provider: provider_arg(profile.provider),
        endpoint,
        sandbox,
        single_step_max: SINGLE_STEP_MAX,
    })
    .await
}

/// `queue run`: uploads until the queue is idle; true when no task failed in this run.
async fn run_queue(store: Arc<Store>, args: RunArgs, verbose: bool) -> Result<bool, CliError> {
    let tasks = store.tasks().map_err(anyhow::Error::from)?;
    // The tasks this run will work on: queued ones and ones a stopped run left mid-way.
    let runnable: Vec<Task> = tasks
        .into_iter()
        .filter(|t| t.state == TaskState::Queued || t.state.is_active())
        .collect();
    let mut connections = Vec::new();
    let mut providers = HashMap::new();
    let profile_ids: HashSet<&str> = runnable.iter().map(|t| t.profile_id.as_str()).collect();
    for id in profile_ids {
        let connected = match store.profile(id).map_err(anyhow::Error::from)? {
            Some(profile) => connect(&profile).await.map_err(|e| e.to_string()),
            None => Err("no such profile".to_owned()),
        };
        let entry = match connected {
            Ok(conn) => {
                let provider = Arc::clone(&conn.provider);
                connections.push(conn);
                Connected::Ready(provider)
            }
            Err(reason) => {
                eprintln!("error: profile {id}: {reason}");
                Connected::Unavailable { reason }
            }
        };
        providers.insert(id.to_owned(), entry);
    }
    let limits = Limits {
        files: usize::from(args.jobs),
        parts_per_file: usize::from(args.slices),
        ..Limits::default()
    };
    let queue = Queue::start(Arc::clone(&store), Arc::new(Providers(providers)), limits)
        .await
        .map_err(anyhow::Error::from)?;
    let output = Output::new(args.json);
    let outcome = drive(&queue, &output, &runnable, async |id| report(&store, &output, id)).await;
    let store_failure = queue.store_failure();
    queue.shutdown().await;
    for conn in connections {
        conn.close(verbose).await?;
    }
    if let Some(err) = store_failure {
        return Err(anyhow::Error::from(err)
            .context(format!(
                "the queue store {} stopped taking writes (is its disk full or its folder read-only?); no further upload was started, \
                 what finished before stays recorded, and the rest continues with the next `queue run`",
                store.path().map_or_else(|| "in memory".to_owned(), |p| p.display().to_string())
            ))
            .into());
    }
    match outcome? {
        Ending::Interrupted => {
            eprintln!("stopping; the tasks stay in the queue and continue with the next `queue run`");
            Err(CliError::Interrupted)
        }
        Ending::Idle { failed } => Ok(failed == 0),
    }
}

/// Prints the line of a finished task; returns whether it failed.
fn report(store: &Store, output: &Output, id: TaskId) -> Result<bool, CliError> {
    let Some(task) = store.task(id).map_err(anyhow::Error::from)? else {
        return Ok(false);
    };
    let status = match task.state {
        TaskState::Done => "uploaded",
        TaskState::Instant => "instant",
        TaskState::Failed => "failed",
        TaskState::Cancelled => "cancelled",
        // Still paused or queued (changed by another process): nothing finished.
        _ => return Ok(false),
    };
    let error = task.error.as_ref().map(|e| e.message.clone());
    if output.is_json() {
        let line = serde_json::json!({
            "id": task.id.0,
            "file": task.local_path.display().to_string(),
            "status": status,
            "remote_id": task.remote_id,
            "error": error,
        });
        println!("{line}");
    } else {
        output.line(plain_line(&task, status, error.as_deref(), &task.local_path));
    }
    Ok(task.state == TaskState::Failed)
}

fn plain_line(task: &Task, status: &str, error: Option<&str>, path: &Path) -> String {
    match error {
        Some(error) if task.state == TaskState::Failed => format!("{status:9} {} {}: {error}", task.id, path.display()),
        _ => format!(
            "{status:9} {} {} -> {} (id {})",
            task.id,
            path.display(),
            task.target.full_path(),
            task.remote_id.as_deref().unwrap_or("-")
        ),
    }
}
