//! `pandrop-cli sandbox` and `upload --sandbox`: the built-in cloud that runs on this machine, so PanDrop
//! works with no account.

use anyhow::Context;
use clap::Args;
use pandrop_fakecloud::{Config, RunningCloud};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::CliError;

use pandrop_engine::accounts::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

/// Arguments of `sandbox`.
#[derive(Args)]
pub(crate) struct SandboxArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Where the sandbox keeps its files [default: the user's data folder].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

/// Runs the sandbox until Ctrl-C.
pub(crate) async fn run(args: SandboxArgs) -> Result<bool, CliError> {
    let data = args.data.unwrap_or_else(default_data_dir);
    let cloud = start(args.addr, data.clone()).await?;
    println!("listening {}", cloud.base_url());
    println!("123pan endpoint: {}", cloud.pan123_url());
    println!("123pan clientID: {DEMO_CLIENT_ID}");
    println!("123pan clientSecret: {DEMO_CLIENT_SECRET}");
    println!("data: {}", data.display());
    println!(
        "try: PANDROP_CLIENT_ID={DEMO_CLIENT_ID} PANDROP_CLIENT_SECRET={DEMO_CLIENT_SECRET} pandrop-cli upload --endpoint {} --to /demo FILE",
        cloud.pan123_url()
    );
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    cloud.shutdown().await;
    Ok(true)
}

/// Starts the sandbox cloud in this process.
pub(crate) async fn start(addr: SocketAddr, data: PathBuf) -> Result<RunningCloud, CliError> {
    std::fs::create_dir_all(&data).with_context(|| format!("creating the sandbox folder {}", data.display()))?;
    let cloud = pandrop_fakecloud::serve(addr, Config::new(&data))
        .await
        .with_context(|| format!("starting the sandbox cloud on {addr}"))?;
    Ok(cloud)
}

/// `<user data dir>/PanDrop/sandbox`, or `./pandrop-sandbox` where the platform has no such folder.
pub(crate) fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "PanDrop")
        .map(|d| d.data_dir().join("sandbox"))
        .unwrap_or_else(|| PathBuf::from("pandrop-sandbox"))
}
