//! The one-pass file hasher: a reader feeding lanes of hashers on other threads.
//!
//! ```text
//!                        ┌─► lane 0: whole-file MD5  ─┐
//!  reader ── Chunk(Arc) ─┤                            ├─► buffer back to the pool
//!  (caller)              └─► lane 1: etag SHA-1       ─┘   (by whoever drops it last)
//! ```
//!
//! With slices, lane 1 computes the slice MD5s and both lanes share the etag blocks (`lane::plan`).
//!
//! - The calling thread reads the file in buffers of 4 MiB (one etag block, so most buffers feed exactly
//!   one SHA-1) taken from a pool of a few buffers, and sends each filled buffer, behind an `Arc`, to
//!   every lane. The pool is the only place buffers come from, so memory is bounded by
//!   `buffers × buffer_size` whatever the file size, and the reader waits when the slowest lane is that
//!   far behind.
//! - Each lane is a thread running a [`Lane`]; the lane that drops a buffer last (`Arc::into_inner`)
//!   sends it back to the pool, so buffers are allocated once and reused without copying.
//! - Cancellation is checked by the reader before every buffer and by the lanes before hashing one, so a
//!   cancelled hash stops within a buffer or two. A lane that panics cancels the same internal token, so
//!   the reader never waits forever for a buffer that will not come back; the panic is then re-raised.
//! - Files no larger than `inline_max` are hashed on the calling thread: starting threads would cost more
//!   than the overlap gains.
//!
//! Measured with `bench/hash.sh` (1 GiB, page cache warm, idle 2-core machine with SHA-NI, medians of 7):
//! `md5sum` 1.62 s; MD5 + etag 1.43 s (0.89×: the MD5 lane alone sets the pace); MD5 + etag + 16 MiB
//! slices 1.86 s (1.15×: both cores busy, close to the 2-core bound); peak RSS 22 MiB either way.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::lane::{Lane, LaneJobs, LaneOutput, etag_from, plan};
use super::{BlockSha256, ETAG_BLOCK_SIZE, FileDigest, HashRequest, SliceDigests};
use crate::error::{Error, Result};

/// Sizes that shape the pipeline. Tests shrink them to exercise buffer boundaries.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tuning {
    /// Bytes per read buffer.
    pub(super) buffer_size: usize,
    /// Buffers in the pool: the most that are read but not yet hashed by every lane.
    pub(super) buffers: usize,
    /// Files up to this size are hashed on the calling thread.
    pub(super) inline_max: u64,
    /// Bytes between two progress reports.
    pub(super) progress_step: u64,
}

impl Tuning {
    /// Four buffers of one etag block (16 MiB). Measured on a 2-core machine with a 1 GiB file: two
    /// buffers made the slice runs about 4% slower, while eight buffers or 1 MiB buffers changed nothing.
    pub(super) const DEFAULT: Self = Self {
        buffer_size: ETAG_BLOCK_SIZE as usize,
        buffers: 4,
        inline_max: 512 * 1024,
        progress_step: 4 * 1024 * 1024,
    };
}

/// How long the reader waits for a buffer before it looks at the cancel token again.
const POLL: Duration = Duration::from_millis(20);

/// Hashes a file in one read pass. Blocking: call it from a blocking thread (see [`hash_file_async`]).
///
/// `progress` receives the absolute number of bytes read so far, at most every few MiB, and once more with
/// the full size at the end (never for an empty file); it is called on the calling thread.
///
/// # Errors
///
/// - [`Error::Cancelled`] soon after `cancel` is cancelled.
/// - [`Error::Io`] naming `path` if it cannot be opened or read.
/// - [`Error::InvalidInput`] if `path` is not a regular file, if `req.slice_size` is `Some(0)`, or if the
///   file's length changed while it was read (bytes read differ from its size when opened).
pub fn hash_file(path: &Path, req: HashRequest, progress: &(dyn Fn(u64) + Sync), cancel: &CancellationToken) -> Result<FileDigest> {
    hash_file_tuned(path, req, progress, cancel, Tuning::DEFAULT)
}

/// Runs [`hash_file`] on tokio's blocking pool.
///
/// Cancelling `cancel` stops the hash and so does dropping the returned future: the blocking thread does
/// not go on reading a file nobody waits for.
///
/// # Errors
///
/// As [`hash_file`]; [`Error::Cancelled`] as well if the runtime shuts down first.
pub async fn hash_file_async(
    path: PathBuf,
    req: HashRequest,
    progress: Arc<dyn Fn(u64) + Send + Sync>,
    cancel: CancellationToken,
) -> Result<FileDigest> {
    let token = cancel.child_token();
    let _stop_when_dropped = token.clone().drop_guard();
    let task = tokio::task::spawn_blocking(move || hash_file(&path, req, &*progress, &token));
    match task.await {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(_) => Err(Error::Cancelled),
    }
}

/// [`hash_file`] with explicit sizes.
pub(super) fn hash_file_tuned(
    path: &Path,
    req: HashRequest,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &CancellationToken,
    tuning: Tuning,
) -> Result<FileDigest> {
    debug_assert!(tuning.buffer_size > 0 && tuning.buffers > 0);
    if req.slice_size == Some(0) {
        return Err(Error::invalid("slice size", "must be at least 1 byte"));
    }
    if req.block_sha256 == Some(0) {
        return Err(Error::invalid("block size", "must be at least 1 byte"));
    }
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(path.display().to_string(), "is not a regular file"));
    }
    let size = meta.len();

    // One slice that covers the whole file is the whole-file MD5: no need to compute it twice.
    let slices_alone = req.slice_size.is_some_and(|s| s < size || !req.md5);
    let threads = size > tuning.inline_max;
    let lanes = plan(req, slices_alone, threads);
    let outputs = if lanes.is_empty() {
        Vec::new()
    } else {
        let reader = Reader {
            path,
            size,
            progress,
            tuning,
        };
        if threads {
            reader.run_threaded(&mut file, lanes, cancel)?
        } else {
            // `plan` puts everything in one lane when there are no threads.
            reader.run_inline(&mut file, Lane::new(lanes[0]), cancel)?
        }
    };
    Ok(collect(size, req, outputs))
}

/// Merges what the lanes found into the answer.
fn collect(size: u64, req: HashRequest, outputs: Vec<LaneOutput>) -> FileDigest {
    let mut md5 = None;
    let mut slices = Vec::new();
    let mut blocks = Vec::new();
    let mut sha256 = Vec::new();
    for output in outputs {
        md5 = md5.or(output.md5);
        slices.extend(output.slices);
        blocks.extend(output.blocks);
        sha256.extend(output.sha256);
    }
    let sha256_blocks = req.block_sha256.map(|block_size| {
        sha256.sort_unstable_by_key(|(index, _)| *index);
        BlockSha256 {
            block_size,
            sha256: sha256.into_iter().map(|(_, digest)| digest).collect(),
        }
    });
    let slices = req.slice_size.map(|slice_size| {
        let md5 = if slices.is_empty() && size > 0 {
            // The single slice was not hashed on its own: it is the whole file.
            md5.iter().cloned().collect()
        } else {
            slices.sort_unstable_by_key(|(index, _)| *index);
            slices.into_iter().map(|(_, digest)| digest).collect()
        };
        SliceDigests { slice_size, md5 }
    });
    FileDigest {
        size,
        md5: md5.filter(|_| req.md5),
        etag: req.etag.then(|| etag_from(&mut blocks)),
        slices,
        blocks: sha256_blocks,
    }
}

/// A read buffer: `bytes` is allocated once at full size, `len` of it holds data.
struct Buffer {
    bytes: Vec<u8>,
    len: usize,
}

impl Buffer {
    fn filled(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A filled buffer on its way to the lanes.
struct Chunk {
    /// Where the buffer starts in the file.
    offset: u64,
    buffer: Arc<Buffer>,
}

/// Hands a chunk's buffer back to the pool once nobody else holds it.
fn recycle(buffer: Arc<Buffer>, pool: &SyncSender<Buffer>) {
    if let Some(buffer) = Arc::into_inner(buffer) {
        // The pool channel has room for every buffer there is, so this cannot be full; if the reader
        // is gone the buffer is simply freed.
        let _ = pool.try_send(buffer);
    }
}

/// The bounded set of read buffers.
struct Pool {
    free: Receiver<Buffer>,
    returns: SyncSender<Buffer>,
    created: usize,
    limit: usize,
    capacity: usize,
}

impl Pool {
    fn new(limit: usize, capacity: usize) -> Self {
        let (returns, free) = sync_channel(limit);
        Self {
            free,
            returns,
            created: 0,
            limit,
            capacity,
        }
    }

    /// A free buffer, waiting for one to come back if all are in use.
    fn take(&mut self, stop: &CancellationToken) -> Result<Buffer> {
        if let Ok(buffer) = self.free.try_recv() {
            return Ok(buffer);
        }
        if self.created < self.limit {
            // Allocated lazily: a small file never needs the whole pool.
            self.created += 1;
            return Ok(Buffer {
                bytes: vec![0; self.capacity],
                len: 0,
            });
        }
        loop {
            match self.free.recv_timeout(POLL) {
                Ok(buffer) => return Ok(buffer),
                Err(RecvTimeoutError::Timeout) if !stop.is_cancelled() => {}
                // The pool holds a sender itself, so this means `stop` was cancelled.
                Err(_) => return Err(Error::Cancelled),
            }
        }
    }
}

/// The reading side of one hash.
struct Reader<'a> {
    path: &'a Path,
    size: u64,
    progress: &'a (dyn Fn(u64) + Sync),
    tuning: Tuning,
}

impl Reader<'_> {
    /// Reads and hashes on the calling thread.
    fn run_inline(&self, file: &mut File, mut lane: Lane, cancel: &CancellationToken) -> Result<Vec<LaneOutput>> {
        let mut pool = self.pool(1);
        let returns = pool.returns.clone();
        self.read(file, &mut pool, cancel, |chunk| {
            lane.consume(chunk.offset, chunk.buffer.filled());
            recycle(chunk.buffer, &returns);
            true
        })?;
        Ok(vec![lane.finish()])
    }

    /// Reads on the calling thread and hashes on one thread per lane.
    fn run_threaded(&self, file: &mut File, lanes: Vec<LaneJobs>, cancel: &CancellationToken) -> Result<Vec<LaneOutput>> {
        let mut pool = self.pool(self.tuning.buffers);
        // Cancelled by the caller's token, by a read error (so lanes drop queued work) or by a lane
        // that panicked (so the reader stops waiting for buffers).
        let stop = cancel.child_token();
        thread::scope(|scope| {
            let mut senders = Vec::with_capacity(lanes.len());
            let mut handles = Vec::with_capacity(lanes.len());
            for (index, jobs) in lanes.into_iter().enumerate() {
                // Room for every buffer there is: the reader never blocks on a send.
                let (sender, chunks) = sync_channel::<Chunk>(self.tuning.buffers);
                let returns = pool.returns.clone();
                let stop = &stop;
                let handle = thread::Builder::new()
                    .name(format!("pandrop-hash-{index}"))
                    .spawn_scoped(scope, move || run_lane(Lane::new(jobs), chunks, returns, stop))
                    .map_err(|e| Error::io(self.path, e))?;
                senders.push(sender);
                handles.push(handle);
            }

            let read = self.read(file, &mut pool, &stop, |chunk| {
                // The reader keeps no reference: the last lane to finish with a buffer must be the one
                // that drops it, or it would be freed instead of going back to the pool.
                let (last, others) = senders.split_last().expect("at least one lane");
                let shared = others.iter().all(|lane| {
                    let copy = Chunk {
                        offset: chunk.offset,
                        buffer: Arc::clone(&chunk.buffer),
                    };
                    lane.send(copy).is_ok()
                });
                shared && last.send(chunk).is_ok()
            });
            if read.is_err() {
                stop.cancel();
            }
            // Closing the channels tells the lanes the file has ended.
            drop(senders);
            let mut outputs = Vec::with_capacity(handles.len());
            for handle in handles {
                match handle.join() {
                    Ok(output) => outputs.push(output),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            read?;
            // Lanes skip work once `stop` is cancelled: their results are then incomplete.
            if stop.is_cancelled() {
                return Err(Error::Cancelled);
            }
            Ok(outputs)
        })
    }

    fn pool(&self, buffers: usize) -> Pool {
        // A small file needs no 4 MiB buffers.
        let capacity = usize::try_from(self.size.max(1)).unwrap_or(usize::MAX).min(self.tuning.buffer_size);
        Pool::new(buffers, capacity)
    }

    /// Reads the whole file into pool buffers and hands each to `emit`, which returns false if a lane
    /// has gone away. Checks the size, reports progress and honours `stop`.
    fn read(&self, file: &mut File, pool: &mut Pool, stop: &CancellationToken, mut emit: impl FnMut(Chunk) -> bool) -> Result<()> {
        let mut offset = 0u64;
        let mut reported = 0u64;
        loop {
            if stop.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let mut buffer = pool.take(stop)?;
            let len = fill(file, &mut buffer.bytes).map_err(|e| Error::io(self.path, e))?;
            if len == 0 {
                break;
            }
            buffer.len = len;
            let start = offset;
            offset += len as u64;
            if offset > self.size {
                return Err(self.changed(offset, true));
            }
            let full = len == buffer.bytes.len();
            if !emit(Chunk {
                offset: start,
                buffer: Arc::new(buffer),
            }) {
                // Only a lane that panicked stops receiving: let the caller join it and re-raise.
                return Err(Error::Cancelled);
            }
            if offset - reported >= self.tuning.progress_step {
                (self.progress)(offset);
                reported = offset;
            }
            // `fill` stops short only at the end of the file: no need for another read to find it.
            if !full {
                break;
            }
        }
        if offset != self.size {
            return Err(self.changed(offset, false));
        }
        if offset > reported {
            (self.progress)(offset);
        }
        Ok(())
    }

    fn changed(&self, read: u64, grew: bool) -> Error {
        let what = if grew { "at least " } else { "" };
        Error::invalid(
            self.path.display().to_string(),
            format!(
                "the file changed while being hashed: it had {} bytes when opened, {what}{read} bytes were read",
                self.size
            ),
        )
    }
}

/// Fills `buf` from `file`; returns fewer bytes than `buf.len()` only at the end of the file.
fn fill(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// The body of a lane thread: hash every chunk until the reader closes the channel.
fn run_lane(mut lane: Lane, chunks: Receiver<Chunk>, returns: SyncSender<Buffer>, stop: &CancellationToken) -> LaneOutput {
    let _guard = StopOnPanic(stop);
    for chunk in chunks {
        if !stop.is_cancelled() {
            lane.consume(chunk.offset, chunk.buffer.filled());
        }
        recycle(chunk.buffer, &returns);
    }
    lane.finish()
}

/// Cancels the token if the thread unwinds, so the reader does not wait for its buffers.
struct StopOnPanic<'a>(&'a CancellationToken);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::hash::hash_bytes;

    const BLOCK: usize = ETAG_BLOCK_SIZE as usize;
    const MIB: usize = 1024 * 1024;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
    }

    fn temp_file(data: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(data).expect("write temp file");
        file.flush().expect("flush temp file");
        file
    }

    fn all(slice_size: Option<u64>) -> HashRequest {
        HashRequest {
            md5: true,
            etag: true,
            slice_size,
            // An odd block size, so SHA-256 blocks never line up with buffers or etag blocks.
            block_sha256: Some(MIB as u64 + 5),
        }
    }

    fn no_progress(_: u64) {}

    fn tuning(buffer_size: usize, buffers: usize, inline_max: u64) -> Tuning {
        Tuning {
            buffer_size,
            buffers,
            inline_max,
            progress_step: Tuning::DEFAULT.progress_step,
        }
    }

    fn hash(path: &Path, req: HashRequest, tuning: Tuning) -> Result<FileDigest> {
        hash_file_tuned(path, req, &no_progress, &CancellationToken::new(), tuning)
    }

    /// The pipeline agrees with the one-shot reference for buffers and slices of awkward sizes, on the
    /// threaded and the inline path, and for every combination of requested digests.
    #[test]
    fn streaming_equals_one_shot_across_odd_sizes() {
        let data = pattern(2 * BLOCK + 12_345);
        for len in [0, 1, 4095, BLOCK - 1, BLOCK, BLOCK + 1, data.len()] {
            let file = temp_file(&data[..len]);
            for buffer in [65_537, MIB + 3, BLOCK, 3 * MIB + 7] {
                for slices in [None, Some(1), Some(MIB as u64 + 3), Some(BLOCK as u64), Some(5 * MIB as u64)] {
                    if slices == Some(1) && len > 4095 {
                        continue; // one MD5 per byte: slow, and the small lengths cover it
                    }
                    for inline_max in [0, u64::MAX] {
                        let req = all(slices);
                        let got = hash(file.path(), req, tuning(buffer, 3, inline_max)).expect("hash");
                        assert_eq!(got, hash_bytes(&data[..len], req), "len {len} buffer {buffer} {req:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_subset_of_digests_matches() {
        let data = pattern(3 * BLOCK + 1000);
        let file = temp_file(&data);
        for md5 in [false, true] {
            for etag in [false, true] {
                for slice_size in [None, Some(3 * MIB as u64), Some(u64::MAX)] {
                    for block_sha256 in [None, Some(BLOCK as u64), Some(u64::MAX)] {
                        let req = HashRequest {
                            md5,
                            etag,
                            slice_size,
                            block_sha256,
                        };
                        let got = hash(file.path(), req, tuning(MIB, 2, 0)).expect("hash");
                        assert_eq!(got, hash_bytes(&data, req), "{req:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_single_slice_reuses_the_whole_md5() {
        let data = pattern(BLOCK + 5);
        let file = temp_file(&data);
        let got = hash_file(file.path(), all(Some(BLOCK as u64 + 5)), &no_progress, &CancellationToken::new()).expect("hash");
        let slices = got.slices.expect("slices");
        assert_eq!(slices.md5.len(), 1);
        assert_eq!(slices.get(0), got.md5.as_deref());
    }

    #[test]
    fn empty_file() {
        let file = temp_file(b"");
        let calls = AtomicU64::new(0);
        let progress = |_: u64| {
            calls.fetch_add(1, Ordering::Relaxed);
        };
        let got = hash_file(file.path(), all(Some(MIB as u64)), &progress, &CancellationToken::new()).expect("hash");
        assert_eq!(got, hash_bytes(b"", all(Some(MIB as u64))));
        assert_eq!(got.etag.as_deref(), Some("Fto5o-5ea0sNMlW_75VgGJCv2AcJ"));
        assert_eq!(got.md5.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(got.slices.map(|s| s.md5), Some(Vec::new()));
        assert_eq!(calls.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn nothing_requested_only_reports_the_size() {
        let file = temp_file(b"12345");
        let got = hash_file(file.path(), HashRequest::default(), &no_progress, &CancellationToken::new()).expect("hash");
        assert_eq!(got, hash_bytes(b"12345", HashRequest::default()));
    }

    #[test]
    fn progress_is_absolute_increasing_and_ends_at_the_size() {
        let data = pattern(3 * BLOCK + 100);
        let file = temp_file(&data);
        let seen = Mutex::new(Vec::new());
        let progress = |n: u64| seen.lock().expect("lock").push(n);
        let mut tuned = tuning(MIB, 4, 0);
        tuned.progress_step = 2 * MIB as u64;
        hash_file_tuned(file.path(), all(None), &progress, &CancellationToken::new(), tuned).expect("hash");
        let seen = seen.into_inner().expect("lock");
        assert_eq!(seen.last().copied(), Some(data.len() as u64));
        // Every 2 MiB, then the odd 100 bytes at the end.
        let mib2 = 2 * MIB as u64;
        let expected: Vec<u64> = (1..=6).map(|i| i * mib2).chain([data.len() as u64]).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn cancelled_before_start() {
        let file = temp_file(b"abc");
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = hash_file(file.path(), all(None), &no_progress, &cancel).expect_err("cancelled");
        assert!(matches!(err, Error::Cancelled), "{err:?}");
    }

    #[test]
    fn cancelled_while_reading_stops_early() {
        let data = pattern(8 * BLOCK);
        let file = temp_file(&data);
        for inline_max in [0, u64::MAX] {
            let cancel = CancellationToken::new();
            let last = AtomicU64::new(0);
            let progress = |n: u64| {
                last.store(n, Ordering::Relaxed);
                if n >= 2 * MIB as u64 {
                    cancel.cancel();
                }
            };
            let mut tuned = tuning(MIB, 3, inline_max);
            tuned.progress_step = MIB as u64;
            let err = hash_file_tuned(file.path(), all(Some(MIB as u64)), &progress, &cancel, tuned).expect_err("cancelled");
            assert!(matches!(err, Error::Cancelled), "{err:?}");
            assert!(last.load(Ordering::Relaxed) < 4 * MIB as u64, "read on after the cancel");
        }
    }

    #[test]
    fn a_file_that_grows_while_hashed_is_refused() {
        let data = pattern(3 * MIB);
        let file = temp_file(&data);
        let path = file.path().to_path_buf();
        let grow = |n: u64| {
            if n == MIB as u64 {
                let mut f = OpenOptions::new().append(true).open(&path).expect("open");
                f.write_all(b"more").expect("append");
            }
        };
        for inline_max in [0, u64::MAX] {
            // Start from the original content each time.
            std::fs::write(&path, &data).expect("reset");
            let mut tuned = tuning(MIB, 2, inline_max);
            tuned.progress_step = MIB as u64;
            let err = hash_file_tuned(&path, all(None), &grow, &CancellationToken::new(), tuned).expect_err("changed");
            assert_changed(&err, &path);
        }
    }

    #[test]
    fn a_file_that_shrinks_while_hashed_is_refused() {
        let data = pattern(3 * MIB);
        let file = temp_file(&data);
        let path = file.path().to_path_buf();
        let shrink = |n: u64| {
            if n == MIB as u64 {
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(2 * MIB as u64 + 10))
                    .expect("truncate");
            }
        };
        let mut tuned = tuning(MIB, 2, 0);
        tuned.progress_step = MIB as u64;
        let err = hash_file_tuned(&path, all(Some(MIB as u64)), &shrink, &CancellationToken::new(), tuned).expect_err("changed");
        assert_changed(&err, &path);
    }

    fn assert_changed(err: &Error, path: &Path) {
        match err {
            Error::InvalidInput { subject, rule } => {
                assert_eq!(subject, &path.display().to_string());
                assert!(rule.contains("changed while being hashed"), "{rule}");
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn read_errors_name_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.bin");
        match hash_file(&missing, all(None), &no_progress, &CancellationToken::new()) {
            Err(Error::Io { path, .. }) => assert_eq!(path, missing),
            other => panic!("expected Io, got {other:?}"),
        }
        match hash_file(dir.path(), all(None), &no_progress, &CancellationToken::new()) {
            Err(Error::InvalidInput { subject, .. }) => assert_eq!(subject, dir.path().display().to_string()),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn zero_slice_size_is_invalid_input() {
        let file = temp_file(b"abc");
        let err = hash_file(file.path(), all(Some(0)), &no_progress, &CancellationToken::new()).expect_err("invalid");
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }

    #[test]
    fn pool_buffers_are_reused() {
        // With a pool of one buffer the file can only be hashed if every buffer comes back from the lanes.
        let data = pattern(5 * BLOCK + 3);
        let file = temp_file(&data);
        let got = hash(file.path(), all(Some(3 * MIB as u64)), tuning(MIB, 1, 0)).expect("hash");
        assert_eq!(got, hash_bytes(&data, all(Some(3 * MIB as u64))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_wrapper_hashes_and_cancels() {
        let data = pattern(2 * BLOCK + 1);
        let file = temp_file(&data);
        let got = hash_file_async(
            file.path().to_path_buf(),
            all(Some(MIB as u64)),
            Arc::new(|_| {}),
            CancellationToken::new(),
        )
        .await
        .expect("hash");
        assert_eq!(got, hash_bytes(&data, all(Some(MIB as u64))));

        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = hash_file_async(file.path().to_path_buf(), all(None), Arc::new(|_| {}), cancel)
            .await
            .expect_err("cancelled");
        assert!(matches!(err, Error::Cancelled), "{err:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_async_future_stops_the_hash() {
        let data = pattern(6 * BLOCK);
        let file = temp_file(&data);
        let (seen_tx, seen_rx) = std::sync::mpsc::channel::<u64>();
        let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
        let first = Mutex::new(Some(first_tx));
        let progress = Arc::new(move |n: u64| {
            let _ = seen_tx.send(n);
            if let Some(tx) = first.lock().expect("lock").take() {
                let _ = tx.send(());
            }
            // Slow the reader down so that the drop lands mid-file.
            std::thread::sleep(Duration::from_millis(30));
        });
        let hashing = hash_file_async(file.path().to_path_buf(), all(None), progress, CancellationToken::new());
        tokio::select! {
            _ = hashing => panic!("the hash should not finish first"),
            _ = first_rx => {}
        }
        // The future is dropped here; the blocking thread must stop without reading the rest.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let seen: Vec<u64> = seen_rx.try_iter().collect();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|&n| n < data.len() as u64), "read to the end: {seen:?}");
    }
}
