//! `O_DIRECT` writes of block-aligned slices on Linux (see the parent module for why), where the flag's
//! value is known: it varies between architectures.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::SessionFile;
use crate::error::FakeCloudError;
use crate::pan123::sessions::SliceBytes;
use crate::pan123::uploads::relock;

/// `O_DIRECT` from `<fcntl.h>`.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
const O_DIRECT: i32 = 0o40000;
#[cfg(target_arch = "aarch64")]
const O_DIRECT: i32 = 0o200000;
/// Alignment of buffer, offset and length: 4 KiB suits devices with 512-byte and 4 KiB blocks.
const ALIGN: u64 = 4096;
/// How many idle buffers are kept for reuse: about one per slice request in flight.
const IDLE_BUFFERS: usize = 4;

/// `O_DIRECT` writes with reused aligned buffers.
#[derive(Default)]
pub(super) struct DirectWriter {
    idle: Mutex<Vec<Vec<u8>>>,
    /// Set once the data dir's file system refused `O_DIRECT`; then every write is buffered.
    refused: AtomicBool,
}

impl DirectWriter {
    /// Writes slice `no` with `O_DIRECT` when it is aligned and the file system allows it; `false`
    /// when it did not (the caller writes it through the page cache).
    pub(super) fn write(&self, file: &SessionFile, no: u32, bytes: &SliceBytes) -> Result<bool, FakeCloudError> {
        let offset = file.session.slice_offset(no);
        if !offset.is_multiple_of(ALIGN) || !bytes.len().is_multiple_of(ALIGN) || self.refused.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let at = |e| FakeCloudError::io(&file.path, e);
        let opened = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(O_DIRECT)
            .open(&file.path);
        let out = match opened {
            Ok(out) => out,
            // `EINVAL`: this file system has no `O_DIRECT`.
            Err(e) if e.kind() == ErrorKind::InvalidInput => return Ok(self.refuse()),
            Err(e) => return Err(at(e)),
        };
        let len = usize::try_from(bytes.len()).map_err(|_| FakeCloudError::Corrupt("slice too big".into()))?;
        let mut buffer = self.take(len);
        let pad = buffer.as_ptr().align_offset(ALIGN as usize);
        let aligned = &mut buffer[pad..pad + len];
        let mut at_byte = 0;
        for chunk in bytes.chunks() {
            aligned[at_byte..at_byte + chunk.len()].copy_from_slice(chunk);
            at_byte += chunk.len();
        }
        let written = out.write_all_at(aligned, offset);
        self.give_back(buffer);
        match written {
            Ok(()) => Ok(true),
            // A device with blocks over 4 KiB; the buffered write that follows covers the slice.
            Err(e) if e.kind() == ErrorKind::InvalidInput => Ok(self.refuse()),
            Err(e) => Err(at(e)),
        }
    }

    fn refuse(&self) -> bool {
        if !self.refused.swap(true, Ordering::Relaxed) {
            tracing::info!("the data dir refuses O_DIRECT; slices are written through the page cache");
        }
        false
    }

    /// An idle buffer able to hold `len` aligned bytes, or a new one.
    fn take(&self, len: usize) -> Vec<u8> {
        let need = len + ALIGN as usize;
        let mut idle = relock(&self.idle);
        match idle.iter().position(|b| b.len() >= need) {
            Some(i) => idle.swap_remove(i),
            None => vec![0; need],
        }
    }

    fn give_back(&self, buffer: Vec<u8>) {
        let mut idle = relock(&self.idle);
        if idle.len() < IDLE_BUFFERS {
            idle.push(buffer);
        }
    }

    pub(super) fn release_buffers(&self) {
        relock(&self.idle).clear();
    }
}
