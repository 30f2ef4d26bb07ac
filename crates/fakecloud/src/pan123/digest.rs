//! The running whole-file MD5 of an open chunked upload.
//!
//! The whole-file MD5 is inherently sequential and costs as much CPU as verifying every slice, so it is
//! neither left to `upload_complete` nor computed while a slice request waits. Each open upload has a
//! worker thread ([`Digester`]) that feeds the digest with the longest run of stored slices `1..next`. A
//! slice request hands the verified bytes it just stored to the worker through a bounded queue and
//! returns; the worker hashes slice `next` straight from that memory, keeps slices that arrived ahead of
//! the run in memory while a small budget allows, and otherwise reads them back from the session file
//! when the run reaches them. Completion then only waits for the worker to drain its queue.
//!
//! A re-sent slice with different bytes inside the hashed run makes the digest wrong: it is restarted and
//! rebuilt from the session file. An OpenSSL hash state cannot be saved, so after a restart the digest is
//! rebuilt the same way, by the first worker of the upload or by completion.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use super::sessions::{SessionFile, SliceBytes};
use crate::error::FakeCloudError;
use crate::hashing::Md5;

/// How many stored slices may wait in a worker's queue. A slice request blocks while it is full, which
/// bounds the memory an upload holds when the whole-file MD5 is the bottleneck.
const QUEUE_SLOTS: usize = 2;
/// How many bytes of slices that arrived ahead of the hashed run a worker keeps in memory; the others
/// are read back from the session file when the run reaches them.
const AHEAD_BUDGET: u64 = 64 << 20;
/// After this long without a new slice the worker lets go of the slices it keeps ahead of the run, so an
/// abandoned upload holds no slice bytes.
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
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<RunningDigest>>>,
}

impl Digester {
    /// Starts the worker of an upload whose slices `stored` are already in its session file; it first
    /// hashes the run they form.
    pub(super) fn spawn(file: SessionFile, stored: BTreeSet<u32>) -> Result<Self, FakeCloudError> {
        Self::spawn_with_budget(file, stored, AHEAD_BUDGET)
    }

    fn spawn_with_budget(file: SessionFile, stored: BTreeSet<u32>, budget: u64) -> Result<Self, FakeCloudError> {
        let (queue, receiver) = sync_channel(QUEUE_SLOTS);
        let cancel = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            file,
            digest: Some(RunningDigest::new()?),
            stored,
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
            budget,
            reader: None,
            cancel: Arc::clone(&cancel),
        };
        let thread = std::thread::Builder::new()
            .name("pan123-md5".to_owned())
            .spawn(move || worker.run(&receiver))
            .map_err(FakeCloudError::Spawn)?;
        Ok(Self {
            queue: Some(queue),
            cancel,
            thread: Some(thread),
        })
    }

    /// Hands a stored slice to the worker, waiting while its queue is full. `false` when the worker is
    /// gone (it failed); the digest must then be rebuilt.
    pub(super) fn send(&self, stored: Stored) -> bool {
        self.queue.as_ref().is_some_and(|queue| queue.send(stored).is_ok())
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
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("the MD5 worker of an upload panicked");
            }
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
    cancel: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self, queue: &Receiver<Stored>) -> Option<RunningDigest> {
        self.advance();
        loop {
            match queue.recv_timeout(IDLE) {
                Ok(stored) => {
                    if self.cancelled() {
                        return None;
                    }
                    self.apply(stored);
                    self.advance();
                }
                Err(RecvTimeoutError::Timeout) => self.drop_ahead(),
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

    /// Feeds every stored slice that extends the run.
    fn advance(&mut self) {
        let count = self.file.session.slice_count();
        while let Some(digest) = self.digest.as_mut() {
            let no = digest.next;
            if no > count || !self.stored.contains(&no) || self.cancel.load(Ordering::Relaxed) {
                return;
            }
            let fed = match self.ahead.remove(&no) {
                Some(bytes) => {
                    self.ahead_bytes -= bytes.len();
                    digest.feed(&bytes)
                }
                None => digest.feed_from_file(&self.file, &mut self.reader),
            };
            if let Err(e) = fed {
                return self.fail(&e);
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
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::hashing::md5_hex_of;
    use crate::pan123::sessions::{Session, SliceBody};
    use crate::pan123::tree::Duplicate;

    const SLICE: u64 = 7;

    /// 67 bytes in 10 slices of 7 (the last one of 4), in a session file under a temp dir.
    struct Fixture {
        _dir: tempfile::TempDir,
        file: SessionFile,
        data: Vec<u8>,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let data: Vec<u8> = (0..67u8).map(|b| b.wrapping_mul(31)).collect();
            let session = Session {
                id: "s".to_owned(),
                parent_id: 0,
                name: "f".to_owned(),
                md5: md5_hex_of(&data),
                size: data.len() as u64,
                slice_size: SLICE,
                policy: Duplicate::Reject,
                file_id: None,
            };
            let file = SessionFile {
                path: dir.path().join("s"),
                session,
            };
            Self { _dir: dir, file, data }
        }

        fn bytes(&self, no: u32, fill: Option<u8>) -> SliceBytes {
            let start = self.file.session.slice_offset(no) as usize;
            let end = start + self.file.session.slice_len(no) as usize;
            let mut bytes = SliceBytes::default();
            for chunk in self.data[start..end].chunks(3) {
                let chunk = fill.map_or_else(|| chunk.to_vec(), |b| vec![b; chunk.len()]);
                bytes.push(Bytes::from(chunk));
            }
            bytes
        }

        /// Writes slice `no` (its own bytes, or `fill` repeated) and returns what the worker is sent.
        fn store(&self, no: u32, fill: Option<u8>, in_memory: bool, replaced: bool) -> Stored {
            self.file.write(no, &SliceBody::Memory(self.bytes(no, fill))).unwrap();
            Stored {
                no,
                bytes: in_memory.then(|| self.bytes(no, fill)),
                replaced,
            }
        }

        fn finish(&self, digester: Digester) -> String {
            let mut digest = digester.finish().expect("the worker should not fail");
            assert!(digest.covers(&self.file));
            // Nothing left to catch up with when every slice was sent.
            digest.catch_up(&self.file, &BTreeMap::new()).unwrap();
            digest.finish_hex().unwrap()
        }
    }

    #[test]
    fn slices_in_any_order_from_memory_or_from_the_file() {
        let f = Fixture::new();
        // Room for two slices ahead of the run: the others are read back from the file.
        let digester = Digester::spawn_with_budget(f.file.clone(), BTreeSet::new(), 2 * SLICE).unwrap();
        for (no, in_memory) in [(5, true), (3, true), (2, true), (10, true), (1, false), (4, true)] {
            assert!(digester.send(f.store(no, None, in_memory, false)));
        }
        for no in 6..=9 {
            assert!(digester.send(f.store(no, None, no % 2 == 0, false)));
        }
        assert_eq!(f.finish(digester), md5_hex_of(&f.data));
    }

    #[test]
    fn a_changed_slice_inside_the_run_restarts_it() {
        let f = Fixture::new();
        let digester = Digester::spawn(f.file.clone(), BTreeSet::new()).unwrap();
        assert!(digester.send(f.store(2, Some(0xaa), true, false)));
        assert!(digester.send(f.store(1, None, true, false)));
        assert!(digester.send(f.store(3, None, true, false)));
        // Slice 2 is inside the hashed run when its right bytes come.
        assert!(digester.send(f.store(2, None, true, true)));
        // A slice ahead of the run replaced while kept in memory: the later copy is used.
        assert!(digester.send(f.store(6, Some(0xbb), true, false)));
        assert!(digester.send(f.store(6, None, true, true)));
        for no in [4, 5, 7, 8, 9, 10] {
            assert!(digester.send(f.store(no, None, true, false)));
        }
        assert_eq!(f.finish(digester), md5_hex_of(&f.data));
    }

    #[test]
    fn a_worker_starts_from_the_slices_in_the_file() {
        let f = Fixture::new();
        for no in 1..=6 {
            f.store(no, None, false, false);
        }
        let digester = Digester::spawn(f.file.clone(), (1..=6).collect()).unwrap();
        for no in 7..=10 {
            assert!(digester.send(f.store(no, None, true, false)));
        }
        assert_eq!(f.finish(digester), md5_hex_of(&f.data));
    }

    #[test]
    fn completion_catches_up_with_what_the_worker_missed() {
        let f = Fixture::new();
        let digester = Digester::spawn(f.file.clone(), BTreeSet::new()).unwrap();
        assert!(digester.send(f.store(1, None, true, false)));
        let mut digest = digester.finish().unwrap();
        let mut stored = BTreeMap::new();
        for no in 1..=10 {
            f.store(no, None, false, false);
            stored.insert(no, String::new());
        }
        digest.catch_up(&f.file, &stored).unwrap();
        assert!(digest.covers(&f.file));
        assert_eq!(digest.finish_hex().unwrap(), md5_hex_of(&f.data));
    }

    #[test]
    fn a_missing_file_fails_the_worker_and_dropping_stops_it() {
        let f = Fixture::new();
        // Slice 1 is said to be stored, but there is no file to read it from.
        let digester = Digester::spawn(f.file.clone(), BTreeSet::from([1])).unwrap();
        assert!(digester.finish().is_none());
        let digester = Digester::spawn(f.file.clone(), BTreeSet::new()).unwrap();
        drop(digester);
    }
}
