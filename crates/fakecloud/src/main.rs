//! `pandrop-fakecloud`: run the fake cloud as a standalone process.
//!
//! Prints `listening http://HOST:PORT` as the first line on stdout once the socket is bound, logs to
//! stderr, and stops gracefully on SIGINT or SIGTERM.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pandrop_fakecloud::{Config, HalalCloudConfig, Pan6Config, Pan123Config, RateLimit, serve};

/// A loopback cloud drive speaking the 123pan open-platform, 6pan, WCS upload and HalalCloud v6 protocols.
#[derive(Debug, Parser)]
#[command(name = "pandrop-fakecloud", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Data dir (created when missing); files and uploads in progress survive restarts.
    #[arg(long = "data")]
    data: PathBuf,
    /// The accepted 123pan clientID.
    #[arg(long, default_value = "demo")]
    client_id: String,
    /// The accepted 123pan clientSecret.
    #[arg(long, default_value = "demo-secret")]
    client_secret: String,
    /// Access-token lifetime in seconds (default: 30 days).
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    token_lifetime_secs: u64,
    /// sliceSize announced for chunked uploads, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    slice_size: u64,
    /// How many upload_complete polls of each upload answer "not yet" before it completes.
    #[arg(long, default_value_t = 0)]
    complete_pending_polls: u32,
    /// Answer `servers: []` in create, forcing clients to use the domain endpoint.
    #[arg(long)]
    no_servers: bool,
    /// The 6pan account name accepted by the login routes.
    #[arg(long, default_value = "demo")]
    pan6_login: String,
    /// The 6pan account password (clients send its MD5).
    #[arg(
        long,
        env = "PANDROP_FAKECLOUD_PAN6_PASSWORD",
        default_value = "demo-secret",
        hide_env_values = true
    )]
    pan6_password: String,
    /// 6pan session-token lifetime in seconds (default: 30 days).
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    session_token_lifetime_secs: u64,
    /// WCS upload-token lifetime in seconds (default: 6 hours).
    #[arg(long, default_value_t = 6 * 3600)]
    upload_token_lifetime_secs: u64,
    /// The WCS AccessKey signing upload tokens.
    #[arg(long, default_value = "fakecloud-wcs-access-key")]
    wcs_access_key: String,
    /// The WCS SecretKey signing upload tokens.
    #[arg(
        long,
        env = "PANDROP_FAKECLOUD_WCS_SECRET_KEY",
        default_value = "fakecloud-wcs-secret-key",
        hide_env_values = true
    )]
    wcs_secret_key: String,
    /// Make 6pan v1 hand out the 2018-style uploadUrl ending in /file/upload (form upload only).
    #[arg(long)]
    v1_form_upload_url: bool,
    /// fsizeLimit written into upload tokens, in bytes (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    fsize_limit: u64,
    /// The HalalCloud personal key's client_id (signs with the empty token).
    #[arg(long, default_value = "demo")]
    halal_client_id: String,
    /// The HalalCloud personal key's client_secret.
    #[arg(
        long,
        env = "PANDROP_FAKECLOUD_HALAL_CLIENT_SECRET",
        default_value = "demo-secret",
        hide_env_values = true
    )]
    halal_client_secret: String,
    /// The HalalCloud app key's client_id (runs the OAuth device-code flow).
    #[arg(long, default_value = "demo-app")]
    halal_app_id: String,
    /// The HalalCloud app key's client_secret.
    #[arg(
        long,
        env = "PANDROP_FAKECLOUD_HALAL_APP_SECRET",
        default_value = "demo-app-secret",
        hide_env_values = true
    )]
    halal_app_secret: String,
    /// HalalCloud access-token lifetime in seconds (default: 2 hours).
    #[arg(long, default_value_t = 2 * 3600)]
    halal_token_lifetime_secs: u64,
    /// HalalCloud device-code poll interval in seconds (0: no interval, no check).
    #[arg(long, default_value_t = 5)]
    halal_poll_interval_secs: u32,
    /// HalalCloud block_size announced by create_upload_task, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    halal_block_size: u64,
    /// HalalCloud upload-task lifetime in seconds (default: 24 hours).
    #[arg(long, default_value_t = 24 * 3600)]
    halal_task_lifetime_secs: u64,
    /// Limit a route to N requests in any sliding second (e.g. `--qps 123pan/create=2`); repeatable, the
    /// last one for a route wins. Refused 123pan requests get code 429 `请求太频繁`. Default: no limits.
    #[arg(long = "qps", value_name = "ROUTE=N")]
    qps: Vec<RateLimit>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config {
        data_dir: args.data,
        pan123: Pan123Config {
            client_id: args.client_id,
            client_secret: args.client_secret,
            token_lifetime: Duration::from_secs(args.token_lifetime_secs),
            slice_size: args.slice_size,
            complete_pending_polls: args.complete_pending_polls,
            advertise_servers: !args.no_servers,
        },
        pan6: Pan6Config {
            login_value: args.pan6_login,
            password: args.pan6_password,
            session_token_lifetime: Duration::from_secs(args.session_token_lifetime_secs),
            upload_token_lifetime: Duration::from_secs(args.upload_token_lifetime_secs),
            access_key: args.wcs_access_key,
            secret_key: args.wcs_secret_key,
            v1_form_upload_url: args.v1_form_upload_url,
            fsize_limit: args.fsize_limit,
            form_reply: pandrop_fakecloud::FormReply::Raw,
        },
        halalcloud: HalalCloudConfig {
            client_id: args.halal_client_id,
            client_secret: args.halal_client_secret,
            app_client_id: args.halal_app_id,
            app_client_secret: args.halal_app_secret,
            access_token_lifetime: Duration::from_secs(args.halal_token_lifetime_secs),
            device_poll_interval_secs: args.halal_poll_interval_secs,
            block_size: args.halal_block_size,
            upload_task_lifetime: Duration::from_secs(args.halal_task_lifetime_secs),
            ..HalalCloudConfig::default()
        },
        rate_limits: args.qps.into_iter().collect(),
    };
    let cloud = serve(args.addr, config).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening {}", cloud.base_url())?;
        stdout.flush()?;
    }
    wait_for_signal().await?;
    tracing::info!("signal received, shutting down");
    cloud.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
