//! Bursts of arrivals become one batch. Some file managers start one process per selected file; the user
//! meant one upload, so arrivals that follow each other within [`QUIET`] join the same batch.

use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A batch closes once no path has arrived for this long.
pub const QUIET: Duration = Duration::from_millis(500);
/// A batch closes after this long however busy the stream: a steady trickle must still show up.
pub const LONGEST: Duration = Duration::from_secs(3);

/// Paths from one launch: argv of a second instance, the first launch's own, a macOS "open" event.
pub type Arrival = Vec<PathBuf>;

/// Reads arrivals until `cancel` or until every sender is gone, handing each burst to `deliver` in arrival
/// order. `deliver` runs to completion before the next burst is gathered, so batches never overtake.
pub async fn run<F, Fut>(mut arrivals: mpsc::UnboundedReceiver<Arrival>, cancel: CancellationToken, mut deliver: F)
where
    F: FnMut(Vec<PathBuf>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        let mut batch = tokio::select! {
            () = cancel.cancelled() => return,
            first = arrivals.recv() => match first {
                Some(paths) => paths,
                None => return,
            },
        };
        let closes_at = Instant::now() + LONGEST;
        let mut open = true;
        while open {
            let quiet_until = (Instant::now() + QUIET).min(closes_at);
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep_until(quiet_until) => open = false,
                more = arrivals.recv() => match more {
                    Some(paths) => batch.extend(paths),
                    None => open = false,
                },
            }
        }
        if !batch.is_empty() {
            deliver(batch).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Batches = Arc<Mutex<Vec<Vec<PathBuf>>>>;

    fn start() -> (mpsc::UnboundedSender<Arrival>, Batches, CancellationToken) {
        let (tx, rx) = mpsc::unbounded_channel();
        let got = Arc::new(Mutex::new(Vec::new()));
        let cancel = CancellationToken::new();
        let sink = Arc::clone(&got);
        tokio::spawn(run(rx, cancel.clone(), move |batch| {
            sink.lock().unwrap().push(batch);
            std::future::ready(())
        }));
        (tx, got, cancel)
    }

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_one_batch_and_a_pause_starts_another() {
        let (tx, got, _cancel) = start();
        for name in ["/a", "/b", "/c"] {
            tx.send(paths(&[name])).unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(got.lock().unwrap().is_empty(), "the burst is still open");
        tokio::time::sleep(QUIET).await;
        assert_eq!(*got.lock().unwrap(), vec![paths(&["/a", "/b", "/c"])]);

        tx.send(paths(&["/d", "/e"])).unwrap();
        tokio::time::sleep(QUIET * 2).await;
        assert_eq!(got.lock().unwrap().len(), 2);
        assert_eq!(got.lock().unwrap()[1], paths(&["/d", "/e"]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_trickle_still_closes() {
        let (tx, got, _cancel) = start();
        for i in 0..40 {
            tx.send(paths(&[&format!("/f{i}")])).unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let batches = got.lock().unwrap().clone();
        assert!(!batches.is_empty(), "a batch must close within {LONGEST:?}");
        assert!(batches[0].len() <= 31, "{}", batches[0].len());
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_stops_it() {
        let (tx, got, cancel) = start();
        cancel.cancel();
        tokio::task::yield_now().await;
        let _ = tx.send(paths(&["/late"]));
        tokio::time::sleep(QUIET * 2).await;
        assert!(got.lock().unwrap().is_empty());
    }
}
