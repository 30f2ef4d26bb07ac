//! `pandrop-cli queue`: the durable upload queue from the command line. Tasks live in a store file, so a
//! `queue run` that was stopped (Ctrl-C, a crash, a power cut) continues where it left off.

use clap::{Args, Subcommand};
use pandrop_engine::accounts::SANDBOX_ENDPOINT;
use pandrop_engine::provider::CloudProvider;
use pandrop_engine::queue::{Limits, ProviderSource};
use pandrop_engine::store::{MoveTo, Profile, RunLock, Store, Task, TaskAction, TaskId, TaskState, Transition, allowed_actions};
use pandrop_engine::transfer::Walk;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

use crate::cloud::{ConnectOptions, Connection, DuplicateArg, ProviderArg};
use crate::drive::{Ending, drive};
use crate::output::Output;
use crate::{CliError, Globals, data};

/// The store file inside the data folder.
const STORE_FILE: &str = "queue.db";

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
/// `pause`, `resume`, `cancel`, `retry`, `remove`, `move` and `clear` change the store directly, by the same
/// rules as the app's queue. They act on tasks that a `queue run` in another process is not transferring right
/// now (stop that one with Ctrl-C first; its tasks stay resumable); a run that is going picks up tasks
/// added, resumed or retried meanwhile when it is started again.
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
    /// Cancel waiting or paused tasks for good (not ones a running `queue run` is transferring).
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

/// Arguments of `queue add`.
#[derive(Args)]
struct AddArgs {
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
pub(crate) async fn run(args: QueueArgs, globals: &Globals) -> Result<bool, CliError> {
    let data_dir = data::data_dir(args.data_dir)?;
    let path = data_dir.join(STORE_FILE);
    let store = Arc::new(data::open_store(&path)?);
    match args.command {
        QueueCommand::Add(add) => add_tasks(&store, add),
        QueueCommand::List { json } => list(&store, json),
        QueueCommand::Pause(sel) => change_states(&store, &path, sel, TaskAction::Pause),
        QueueCommand::Resume(sel) => change_states(&store, &path, sel, TaskAction::Resume),
        QueueCommand::Cancel(Ids { ids }) => change_states(&store, &path, AllOrIds { ids, all: false }, TaskAction::Cancel),
        QueueCommand::Retry(RetryArgs { failed: true, .. }) => {
            let ids = store.retry_failed().map_err(anyhow::Error::from)?;
            println!("{} task(s) queued again", ids.len());
            Ok(true)
        }
        QueueCommand::Retry(RetryArgs { ids, .. }) => change_states(&store, &path, AllOrIds { ids, all: false }, TaskAction::Retry),
        QueueCommand::Remove(Ids { ids }) => change_states(&store, &path, AllOrIds { ids, all: false }, TaskAction::Remove),
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
        // One runner per store (the engine holds its run lock): a second one would take the first one's tasks
        // and send them again.
        QueueCommand::Run(run) => run_queue(&path, store, run, globals, &data_dir).await,
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
    let kind = args.provider.kind();
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
    let walk = Walk::of(&args.paths);
    for refused in &walk.refused {
        eprintln!("skipped  {}", refused.message);
    }
    let tasks = walk.tasks(&profile_id, &args.to, DuplicateArg::policy(args.duplicate));
    let ids = store.add_tasks(&tasks).map_err(anyhow::Error::from)?;
    for (id, task) in ids.iter().zip(&tasks) {
        println!("{id} {} -> {}", task.local_path.display(), task.target.full_path());
    }
    Ok(walk.refused.is_empty())
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

/// `pause`, `resume`, `cancel`, `retry`, `remove`: applies the engine's lifecycle rules (the table the app's
/// queue follows too) to the store; reports the tasks it could not change, and returns false then.
fn change_states(store: &Store, path: &Path, sel: AllOrIds, action: TaskAction) -> Result<bool, CliError> {
    // Held while editing: no run starts meanwhile. With no run on this data folder, the tasks a stopped run
    // left mid-way go back in line first, as the next run would put them.
    let no_runner = RunLock::acquire(path).ok();
    if no_runner.is_some() {
        store.recover_after_restart().map_err(anyhow::Error::from)?;
    }
    let tasks = store.tasks().map_err(anyhow::Error::from)?;
    let mut all_ok = true;
    let chosen: Vec<TaskId> = if sel.all {
        // `--all` only touches tasks the action is meant for; the rest are not an error.
        tasks
            .iter()
            .filter(|t| allowed_actions(t.state).contains(&action))
            .map(|t| t.id)
            .collect()
    } else {
        let mut chosen = Vec::new();
        for id in sel.ids {
            match tasks.iter().find(|t| t.id.0 == id) {
                Some(task) => chosen.push(task.id),
                None => {
                    all_ok = false;
                    eprintln!("no task {id}");
                }
            }
        }
        chosen
    };
    for id in chosen {
        match store.transition(id, action) {
            Ok(Transition::Changed(_) | Transition::Unchanged(_) | Transition::Removed(_)) => {}
            Ok(Transition::Running { task, .. }) => {
                all_ok = false;
                eprintln!(
                    "task {id} is {} by the `queue run` working this data folder: stop that run first (its tasks stay resumable)",
                    task.state
                );
            }
            Err(err) if err.code() == pandrop_engine::ErrorCode::InvalidInput => {
                all_ok = false;
                eprintln!("{err}");
            }
            Err(err) => return Err(anyhow::Error::from(err).into()),
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

#[async_trait::async_trait]
impl ProviderSource for Providers {
    async fn provider(&self, profile_id: &str) -> pandrop_engine::Result<Arc<dyn CloudProvider>> {
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
async fn connect(profile: &Profile, globals: &Globals, data_dir: &Path) -> Result<Connection, CliError> {
    let sandbox = profile.endpoint == SANDBOX_ENDPOINT;
    let endpoint = if sandbox {
        None
    } else {
        Some(Url::parse(&profile.endpoint).map_err(|e| CliError::Usage(format!("{:?} is not a URL: {e}", profile.endpoint)))?)
    };
    Connection::open(ConnectOptions {
        provider: ProviderArg::of(profile.provider),
        endpoint,
        sandbox,
        single_step_max: pandrop_engine::provider::registry::ConnectOptions::STANDARD.single_step_max,
        token_cache: globals.token_cache,
        data_dir: data_dir.to_path_buf(),
    })
    .await
}

/// `queue run`: uploads until the queue is idle; true when no task failed in this run.
async fn run_queue(path: &Path, store: Arc<Store>, args: RunArgs, globals: &Globals, data_dir: &Path) -> Result<bool, CliError> {
    let verbose = globals.verbose;
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
            Some(profile) => connect(&profile, globals, data_dir).await.map_err(|e| e.to_string()),
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
    let engine = data::open_engine(path, limits, Arc::new(Providers(providers))).await?;
    let queue = engine.queue();
    let output = Output::new(args.json);
    let outcome = drive(queue, &output, &runnable, async |id| report(&store, &output, id)).await;
    let store_failure = queue.store_failure();
    engine.shutdown().await;
    for conn in connections {
        conn.close(verbose).await?;
    }
    if let Some(err) = store_failure {
        let why = data::store_fault(&err);
        return Err(anyhow::Error::from(err)
            .context(format!(
                "the queue store {} stopped taking writes ({why}); no further upload was started, \
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
