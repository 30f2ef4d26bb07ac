//! `pandrop-cli upload`: files and folders to a cloud folder, several files at once; `.torrent` files can
//! go on to 6pan's offline download.

use clap::{Args, ValueEnum};
use pandrop_engine::Error;
use pandrop_engine::http::ByteRate;
use pandrop_engine::provider::pan6::{Pan6, TORRENT_DIR};
use pandrop_engine::provider::pan123::MAX_SINGLE_STEP_SIZE;
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy, RemoteTarget};
use pandrop_engine::transfer::{self, PlannedFile, TransferOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::CliError;
use crate::cloud::{ConnectOptions, Connection, ProviderArg};
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

/// What every file task shares.
struct Batch {
    provider: Arc<dyn CloudProvider>,
    pan6: Option<Arc<Pan6>>,
    offline_to: Option<String>,
    options: TransferOptions,
    output: Output,
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
    let batch = Arc::new(Batch {
        provider: Arc::clone(&conn.provider),
        pan6: conn.pan6.clone(),
        offline_to: args.offline_to,
        options: TransferOptions {
            parallel_parts: usize::from(args.slices),
            duplicate: match args.duplicate {
                None => DuplicatePolicy::Fail,
                Some(DuplicateArg::Keep) => DuplicatePolicy::KeepBoth,
                Some(DuplicateArg::Overwrite) => DuplicatePolicy::Overwrite,
            },
            rate: {
                let rate = ByteRate::unlimited();
                rate.set(args.limit_rate);
                rate
            },
            ..TransferOptions::default()
        },
        output: Output::new(args.json),
    });
    let to = args.to.unwrap_or_else(|| "/".to_owned());
    let all_ok = upload_all(batch, &args.paths, &to, usize::from(args.jobs)).await;
    conn.close(verbose).await?;
    Ok(all_ok)
}

/// Runs the batch, `jobs` files at a time; Ctrl-C cancels what is running.
async fn upload_all(batch: Arc<Batch>, paths: &[PathBuf], remote_dir: &str, jobs: usize) -> bool {
    let cancel = CancellationToken::new();
    let slots = Arc::new(Semaphore::new(jobs));
    let mut tasks = JoinSet::new();
    let mut all_ok = true;
    for planned in transfer::plan_paths(paths, remote_dir) {
        match planned {
            Ok(file) => {
                let (batch, slots, cancel) = (Arc::clone(&batch), Arc::clone(&slots), cancel.child_token());
                tasks.spawn(async move {
                    let Ok(_slot) = slots.acquire_owned().await else {
                        return false;
                    };
                    upload_one(&batch, file, &cancel).await
                });
            }
            Err((path, err)) => {
                all_ok = false;
                batch.output.failure(&path, &err);
            }
        }
    }
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok(ok)) => all_ok &= ok,
                Some(Err(_)) => all_ok = false,
                None => break,
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("cancelling…");
                cancel.cancel();
            }
        }
    }
    all_ok
}

async fn upload_one(batch: &Batch, mut file: PlannedFile, cancel: &CancellationToken) -> bool {
    let offline_to = batch.offline_to.as_deref().filter(|_| is_torrent(&file.path));
    if offline_to.is_some() {
        // Torrents for offline download go to the system torrent folder (seed 003).
        file.target = RemoteTarget {
            dir: TORRENT_DIR.to_owned(),
            name: file.target.name,
        };
    }
    let size = std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
    let (progress, bar) = batch.output.file_progress(&file.path, size);
    let result = transfer::upload_file(batch.provider.as_ref(), &file.path, &file.target, &batch.options, progress, cancel).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            batch.output.failure(&file.path, &err);
            return false;
        }
    };
    let mut offline = None;
    if let (Some(save_dir), Some(pan6)) = (offline_to, &batch.pan6) {
        let etag = report.digest.etag.as_deref().unwrap_or_default();
        match pan6.offline_download(&report.remote, etag, save_dir).await {
            Ok(started) => offline = Some(started),
            Err(err) => {
                let err = Error::invalid(
                    file.path.display().to_string(),
                    format!("the torrent was uploaded, but offline download failed: {err}"),
                );
                batch.output.failure(&file.path, &err);
                return false;
            }
        }
    }
    batch
        .output
        .success(&file.path, &file.target.full_path(), &report, offline.as_ref());
    true
}

fn is_torrent(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("torrent"))
}
