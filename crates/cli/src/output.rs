//! How results and progress reach the user: progress bars on a terminal, plain lines otherwise, or one
//! JSON object per file per line.

use indicatif::{HumanBytes, HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pandrop_engine::provider::OfflineStarted;
use pandrop_engine::queue::TaskProgress;
use pandrop_engine::transfer::{Outcome, Phase, TransferReport};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A file's progress callback and its bar (none off a terminal).
pub(crate) type FileBar = (Arc<dyn Fn(&TaskProgress) + Send + Sync>, Option<ProgressBar>);

/// Where output goes.
pub(crate) struct Output {
    json: bool,
    bars: Option<MultiProgress>,
}

impl Output {
    /// JSON lines when asked; bars only when stderr is a terminal and not in JSON mode.
    pub(crate) fn new(json: bool) -> Self {
        let bars = (!json && std::io::stderr().is_terminal()).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { json, bars }
    }

    /// A progress callback for one file (a bar on a terminal, nothing otherwise). Speed and time left are the
    /// engine's, smoothed once for every frontend.
    pub(crate) fn file_progress(&self, path: &Path, size: u64) -> FileBar {
        let Some(bars) = &self.bars else {
            return (Arc::new(|_| {}), None);
        };
        let bar = bars.add(ProgressBar::new(size));
        let style = ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {binary_bytes}/{binary_total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let handle = bar.clone();
        let last_phase = std::sync::Mutex::new(None);
        let callback = move |p: &TaskProgress| {
            let mut last = last_phase.lock().unwrap_or_else(|e| e.into_inner());
            if *last != Some(p.phase) {
                handle.reset();
                handle.set_length(p.total);
                *last = Some(p.phase);
            }
            handle.set_position(p.done);
            handle.set_message(format!("{:10} {}", phase_name(p.phase), speed_and_eta(p)));
        };
        (Arc::new(callback), Some(bar))
    }

    /// Reports a finished file.
    pub(crate) fn success(&self, path: &Path, remote_path: &str, report: &TransferReport, offline: Option<&OfflineStarted>) {
        let status = status_name(report.outcome);
        if self.json {
            let mut line = serde_json::json!({
                "file": path.display().to_string(),
                "status": status,
                "remote_id": report.remote.id,
                "size": report.digest.size,
                "md5": report.digest.md5,
                "bytes_sent": report.bytes_sent,
                "bytes_held": report.bytes_held,
                "error": null,
            });
            if let Some(started) = offline {
                line["offline"] = serde_json::json!(started);
            }
            println!("{line}");
        } else {
            // Parts the cloud already held (HalalCloud's blocks) were not sent: say how much.
            let held = if report.bytes_held > 0 {
                format!(
                    "; {} of {} was on the cloud already and not sent",
                    HumanBytes(report.bytes_held),
                    HumanBytes(report.digest.size)
                )
            } else {
                String::new()
            };
            self.line(format!(
                "{status:8} {} -> {remote_path} (id {}){held}",
                path.display(),
                report.remote.id
            ));
            if let Some(started) = offline {
                self.line(format!(
                    "offline  {} task(s) started for {}",
                    started.tasks,
                    started.name.as_deref().unwrap_or("the torrent")
                ));
            }
        }
    }

    /// Reports a failed file whose error is already words (as the queue stores it).
    pub(crate) fn failure_text(&self, path: &Path, message: &str) {
        if self.json {
            let line = serde_json::json!({
                "file": path.display().to_string(),
                "status": "failed",
                "remote_id": null,
                "size": null,
                "md5": null,
                "bytes_sent": 0,
                "bytes_held": 0,
                "error": message,
            });
            println!("{line}");
        } else {
            self.line(format!("failed   {}: {message}", path.display()));
        }
    }

    /// Whether results go out as JSON lines.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a line of text above the progress bars (or plainly when there are none).
    pub(crate) fn line(&self, text: String) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => println!("{text}"),
        }
    }
}

/// "12.5 MiB/s ETA 3s" from the engine's smoothed figures (per phase: hashing and sending run at different
/// rates).
fn speed_and_eta(p: &TaskProgress) -> String {
    // The speed is a finite, non-negative number of bytes per second.
    let speed = format!("{}/s", HumanBytes(p.bytes_per_sec.max(0.0) as u64));
    match p.eta_secs.filter(|s| s.is_finite() && *s >= 0.0) {
        Some(secs) => format!("{speed} ETA {}", HumanDuration(Duration::from_secs_f64(secs))),
        None => speed,
    }
}

fn status_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Uploaded => "uploaded",
        Outcome::Instant => "instant",
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Hashing => "hashing",
        Phase::Preparing => "preparing",
        Phase::Uploading => "uploading",
        Phase::Completing => "verifying",
    }
}
