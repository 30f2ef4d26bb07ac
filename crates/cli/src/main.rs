//! `pandrop-cli`: hash and upload files to Chinese cloud drives from a terminal or a script.

mod cloud;
mod data;
mod drive;
mod hash_cmd;
mod login_cmd;
mod output;
mod queue_cmd;
mod sandbox;
mod upload_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status when every file succeeded.
const EXIT_OK: u8 = 0;
/// Exit status when at least one file failed.
const EXIT_FAILED: u8 = 1;
/// Exit status for usage errors (as clap uses).
const EXIT_USAGE: u8 = 2;
/// Exit status after Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

/// Upload files to 123pan and 6pan: instant when the cloud already has them, parallel slices otherwise.
#[derive(Parser)]
#[command(name = "pandrop-cli", version, about)]
struct Cli {
    /// Log more (to stderr); repeat for more detail.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Where a cloud's access token is kept between runs, so runs share one (123pan allows three per
    /// clientID): the OS keyring, a file readable only by you in the data folder, or nowhere.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHERE",
        env = "PANDROP_TOKEN_CACHE",
        default_value = "keyring"
    )]
    token_cache: cloud::TokenCacheArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print size, MD5 and Qiniu/WCS etag of files, reading each once.
    Hash(hash_cmd::HashArgs),
    /// Upload files and folders (folders keep their structure).
    Upload(upload_cmd::UploadArgs),
    /// Sign in to 6pan and keep the session token in the OS keyring.
    Login(login_cmd::LoginArgs),
    /// Run the built-in sandbox cloud on this machine and print how to reach it.
    Sandbox(sandbox::SandboxArgs),
    /// The durable upload queue: add, list, reorder, pause and run uploads that survive restarts.
    Queue(queue_cmd::QueueArgs),
}

/// What every command that talks to a cloud takes from the global options.
pub(crate) struct Globals {
    /// `-v` or more.
    pub verbose: bool,
    /// `--token-cache`.
    pub token_cache: cloud::TokenCacheArg,
}

/// A failure of the command as a whole (not of one file), with the exit status it maps to.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The command line or environment is incomplete or contradictory.
    #[error("{0}")]
    Usage(String),
    /// The user pressed Ctrl-C; what was running stays resumable.
    #[error("interrupted")]
    Interrupted,
    /// Something else stopped the command.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let globals = Globals {
        verbose: cli.verbose > 0,
        token_cache: cli.token_cache,
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Hash(args) => hash_cmd::run(args).await,
            Command::Upload(args) => upload_cmd::run(args, &globals).await,
            Command::Login(args) => login_cmd::run(args).await,
            Command::Sandbox(args) => sandbox::run(args).await,
            Command::Queue(args) => queue_cmd::run(args, &globals).await,
        }
    });
    match result {
        Ok(all_ok) => ExitCode::from(if all_ok { EXIT_OK } else { EXIT_FAILED }),
        Err(CliError::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(CliError::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(CliError::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,pandrop_engine=info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PANDROP_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
