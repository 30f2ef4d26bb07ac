//! The running whole-file MD5 of an open chunked upload.
//!
//! The whole-file MD5 is inherently sequential and costs as much CPU as verifying every slice, so it is
//! neither left to `upload_complete` nor computed while a slice request waits. Each open upload has a
//! worker thread ([`Digester`]) that feeds the digest with the longest run of stored slices `1..next`. A
//! slice request hands the verified bytes it just stored to the worker through a bounded queue and
//! returns; the worker hashes slice `next` straight from that memory, keeps slices that arrived ahead of
//! the run in memory while a small budget allows, and otherwise reads them back from the session file
//! when the run reaches them. Completion then only waits for the worker to drain its queue. A worker left
//! without slices for a while ends and hands its digest back, so an abandoned upload holds no thread; the
//! next slice starts a new worker from that digest.
//!
//! A re-sent slice with different bytes inside the hashed run makes the digest wrong: it is restarted and
//! rebuilt from the session file. An OpenSSL hash state cannot be saved, so after a restart the digest is
//! rebuilt the same way, by the first worker of the upload or by completion.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::session_file::SessionFile;
use super::sessions::SliceBytes;
use super::uploads::relock;
use crate::error::FakeCloudError;
use crate::hashing::Md5;

/// How many stored slices may wait in a worker's queue. A slice request blocks while it is full, which
/// bounds the memory an upload holds when the whole-file MD5 is the bottleneck.
const QUEUE_SLOTS: usize = 2;
/// How many bytes of slices that arrived ahead of the hashed run a worker keeps in memory; the others
/// are read back from the session file when the run reaches them.
const AHEAD_BUDGET: u64 = 64 << 20;
/// After this long without a new slice the worker ends (see [`Digester::send`]), so an abandoned upload
/// holds neither slice bytes nor a thread.
const IDLE: Duration = Duration::from_secs(5);

/// The MD5 of slices `1..next` of an upload.
pub(super) struct RunningDigest {
    md5: Md5,
    next: u32,
}

impl RunningDigest {
    /// The digest of no slice yet.
    pub(super) fn new() -> Result<Self, FakeCloudError> {
        Ok(Self { md5: Md5::new()?, next: 1 })
    }

    /// Feeds slice `next` from memory.
    fn feed(&mut self, bytes: &SliceBytes) -> Result<(), FakeCloudError> {
        bytes.hash_into(&mut self.md5)?;
        self.next += 1;
        Ok(())
    }

    /// Feeds slice `next` from the session file, opening it into `reader` on first use.
    fn feed_from_file(&mut self, file: &SessionFile, reader: &mut Option<File>) -> Result<(), FakeCloudError> {
        let handle = match reader {
            Some(handle) => handle,
            None => reader.insert(File::open(&file.path).map_err(|e| FakeCloudError::io(&file.path, e))?),
        };
        let (offset, len) = (file.session.slice_offset(self.next), file.session.slice_len(self.next));
        self.md5.update_from_range(handle, &file.path, offset, len)?;
        self.next += 1;
        Ok(())
    }

    /// Feeds, from the session file, every stored slice that extends the run.
    pub(super) fn catch_up(&mut self, file: &SessionFile, stored: &BTreeMap<u32, String>) -> Result<(), FakeCloudError> {
        let mut reader = None;
        while self.next <= file.session.slice_count() && stored.contains_key(&self.next) {
            self.feed_from_file(file, &mut reader)?;
        }
        Ok(())
    }

    /// Whether every slice of the upload has been fed.
    pub(super) fn covers(&self, file: &SessionFile) -> bool {
        self.next > file.session.slice_count()
    }

    /// The digest as lower-case hex.
    pub(super) fn finish_hex(self) -> Result<String, FakeCloudError> {
        self.md5.finish_hex()
    }
}

/// A slice that was just stored, for the worker.
pub(super) struct Stored {
    /// Its number.
    pub(super) no: u32,
    /// Its bytes, when they are in memory (else the worker reads them back from the session file).
    pub(super) bytes: Option<SliceBytes>,
    /// Whether it replaced an earlier copy with different bytes.
    pub(super) replaced: bool,
}

/// The worker thread keeping the running MD5 of one upload. Owned by the upload's in-memory state:
/// [`Digester::finish`] hands its digest over at completion, dropping it stops the thread.
pub(super) struct Digester {
    queue: Option<SyncSender<Stored>>,
    /// Whether the worker still takes slices: `false` once it ended for want of slices. Senders hold it
    /// while sending and the worker while deciding to end, so no slice is queued to a worker that ends.
    taking: Arc<Mutex<bool>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<RunningDigest>>>,
}

impl Digester {
    /// Starts the worker of an upload whose slices `stored` are already in its session file; it first
    /// extends `digest` (a fresh one when `None`) with the run they form.
    pub(super) fn spawn(file: SessionFile, digest: Option<RunningDigest>, stored: BTreeSet<u32>) -> Result<Self, FakeCloudError> {
        Self::spawn_with(file, digest, stored, AHEAD_BUDGET, IDLE)
    }

    fn spawn_with(
        file: SessionFile,
        digest: Option<RunningDigest>,
        stored: BTreeSet<u32>,
        budget: u64,
        idle: Duration,
    ) -> Result<Self, FakeCloudError> {
        let (queue, receiver) = sync_channel(QUEUE_SLOTS);
        let taking = Arc::new(Mutex::new(true));
        let cancel = Arc::new(AtomicBool::new(false));
        let digest = match digest {
            Some(digest) => digest,
            None => RunningDigest::new()?,
        };
        let worker = Worker {
            file,
            digest: Some(digest),
            stored,
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
            budget,
            reader: None,
            idle,
            taking: Arc::clone(&taking),
            cancel: Arc::clone(&cancel),
        };
        let thread = std::thread::Builder::new()
            .name("pan123-md5".to_owned())
            .spawn(move || worker.run(&receiver))
            .map_err(FakeCloudError::Spawn)?;
        Ok(Self {
            queue: Some(queue),
            taking,
            cancel,
            thread: Some(thread),
        })
    }

    /// Hands a stored slice to the worker, waiting while its queue is full. Gives the slice back when the
    /// worker has ended (for want of slices, or it panicked): the caller then takes its digest with
    /// [`Digester::finish`] and starts a new worker from it.
    pub(super) fn send(&self, stored: Stored) -> Result<(), Stored> {
        let taking = relock(&self.taking);
        match &self.queue {
            // The worker only ever tries this lock, so waiting here for room in the queue cannot deadlock.
            Some(queue) if *taking => queue.send(stored).map_err(|e| e.0),
            _ => Err(stored),
        }
    }

    /// Waits until the worker has hashed everything it was sent, stops it and returns its digest (`None`
    /// when it failed: the caller rebuilds it from the session file and meets the error itself).
    pub(super) fn finish(mut self) -> Option<RunningDigest> {
        // Closing the queue lets the worker drain it and return.
        self.queue = None;
        self.thread.take()?.join().ok().flatten()
    }
}

impl Drop for Digester {
    /// Stops the worker without waiting for its queue: the upload was discarded or the server stops.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.queue = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the MD5 worker of an upload panicked");
        }
    }
}

/// The state of a worker thread.
struct Worker {
    file: SessionFile,
    /// `None` once hashing failed; completion then rebuilds the digest and reports the error.
    digest: Option<RunningDigest>,
    /// Every slice stored so far.
    stored: BTreeSet<u32>,
    /// Stored slices after the run whose bytes are still in memory.
    ahead: BTreeMap<u32, SliceBytes>,
    ahead_bytes: u64,
    /// The most bytes `ahead` may hold.
    budget: u64,
    /// The session file, opened on the first slice read back from it.
    reader: Option<File>,
    /// How long the worker waits for a slice before it ends.
    idle: Duration,
    /// See [`Digester::taking`].
    taking: Arc<Mutex<bool>>,
    cancel: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self, queue: &Receiver<Stored>) -> Option<RunningDigest> {
        self.advance(queue);
        loop {
            match queue.recv_timeout(self.idle) {
                Ok(stored) => {
                    if self.cancelled() {
                        return None;
                    }
                    self.apply(stored);
                    self.advance(queue);
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Not waiting for the lock: its holder may be a sender waiting for room in the queue.
                    let mut taking = match self.taking.try_lock() {
                        Ok(taking) => taking,
                        Err(TryLockError::Poisoned(p)) => p.into_inner(),
                        Err(TryLockError::WouldBlock) => continue,
                    };
                    // A slice may have been queued since the wait ended; none can be once `taking` is false.
                    if let Ok(stored) = queue.try_recv() {
                        drop(taking);
                        self.apply(stored);
                        self.advance(queue);
                        continue;
                    }
                    *taking = false;
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if self.cancelled() { None } else { self.digest }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn drop_ahead(&mut self) {
        self.ahead.clear();
        self.ahead_bytes = 0;
    }

    /// Takes note of a stored slice, keeping its bytes when the run will need them soon.
    fn apply(&mut self, Stored { no, bytes, replaced }: Stored) {
        if let Some(stale) = self.ahead.remove(&no) {
            self.ahead_bytes -= stale.len();
        }
        self.stored.insert(no);
        let Some(digest) = self.digest.as_ref() else {
            return;
        };
        if replaced && no < digest.next {
            // The run was hashed with the earlier bytes of this slice: start over.
            match RunningDigest::new() {
                Ok(fresh) => self.digest = Some(fresh),
                Err(e) => return self.fail(&e),
            }
        }
        let next = self.digest.as_ref().map_or(u32::MAX, |d| d.next);
        if let Some(bytes) = bytes {
            // Slice `next` is hashed right away, whatever the budget.
            if no == next || (no > next && self.ahead_bytes + bytes.len() <= self.budget) {
                self.ahead_bytes += bytes.len();
                self.ahead.insert(no, bytes);
            }
        }
    }

    /// Feeds every stored slice that extends the run. While slices are read back from the file (a
    /// rebuild after a restart or a changed slice), the slices stored meanwhile are taken from the queue
    /// between two of them, so that a long rebuild does not hold up the slice requests waiting for room
    /// in the queue. Otherwise the queue is left alone: a full queue is what slows the requests down
    /// when this digest falls behind, instead of their bytes being dropped and read back later.
    fn advance(&mut self, queue: &Receiver<Stored>) {
        let count = self.file.session.slice_count();
        while let Some(digest) = self.digest.as_mut() {
            let no = digest.next;
            if no > count || !self.stored.contains(&no) || self.cancel.load(Ordering::Relaxed) {
                return;
            }
            let (fed, from_file) = match self.ahead.remove(&no) {
                Some(bytes) => {
                    self.ahead_bytes -= bytes.len();
                    (digest.feed(&bytes), false)
                }
                None => (digest.feed_from_file(&self.file, &mut self.reader), true),
            };
            if let Err(e) = fed {
                return self.fail(&e);
            }
            if from_file {
                while let Ok(stored) = queue.try_recv() {
                    self.apply(stored);
                }
            }
        }
    }

    fn fail(&mut self, error: &FakeCloudError) {
        tracing::warn!(%error, "running MD5 of an upload failed; completion will rebuild it");
        self.digest = None;
        self.drop_ahead();
    }
}

#[cfg(test)]
mod tests;
