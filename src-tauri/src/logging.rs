//! The log file: `<data dir>/logs/pandrop.log`. Engine messages never hold secrets, and the shell logs none.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

/// Sends `tracing` output to the log file. `PANDROP_LOG` sets the filter, else `default_filter` (e.g. `info`).
/// Only the first call in a process installs it.
pub fn init(data_dir: &Path, default_filter: &str) {
    let dir = data_dir.join("logs");
    let file = std::fs::create_dir_all(&dir).and_then(|()| OpenOptions::new().create(true).append(true).open(dir.join("pandrop.log")));
    let filter = EnvFilter::try_from_env("PANDROP_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false);
    let installed = match file {
        Ok(file) => builder.with_writer(Mutex::new(file)).try_init(),
        Err(e) => {
            eprintln!("cannot open the log file in {}: {e}", dir.display());
            builder.with_writer(std::io::stderr).try_init()
        }
    };
    // A second app in the same process (tests) keeps the first subscriber.
    drop(installed);
}
