//! The file of an open chunked upload, `sessions/<preuploadID>` in the data dir, and writing slices into
//! it.
//!
//! Every slice is written in place at [`Session::slice_offset`], so once all slices are there the file
//! is the whole upload and completion only renames it (no assembly pass over the bytes).
//!
//! On Linux (x86 and ARM64) a slice whose offset and length are multiples of 4 KiB (every slice but the last with the
//! default slice size) is written with `O_DIRECT`, bypassing the page cache: nothing reads those bytes
//! back soon (the running MD5 takes them from memory, completion renames the file), and copying a whole
//! upload into freshly allocated page-cache pages is the largest kernel cost of an upload, much larger
//! still on a VM whose free memory is handed back to the host. `O_DIRECT` needs an aligned buffer, so
//! the slice is gathered into one of a few reused buffers (reused because first-touching a fresh buffer
//! costs as much as the page cache would). Where `O_DIRECT` is refused (tmpfs, for one) slices go
//! through the page cache.

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::sessions::{Session, SliceBody};
use crate::error::FakeCloudError;

/// An open session with its file.
#[derive(Clone)]
pub(crate) struct SessionFile {
    /// The session.
    pub(crate) session: Session,
    /// Its file.
    pub(crate) path: PathBuf,
}

impl SessionFile {
    /// Writes the content of the file `part` as slice `no`, through the page cache.
    pub(crate) fn write_from(&self, no: u32, part: &Path) -> Result<(), FakeCloudError> {
        let mut out = self.open_at(no)?;
        let mut part_file = File::open(part).map_err(|e| FakeCloudError::io(part, e))?;
        // An in-kernel copy (`copy_file_range`) on Linux.
        std::io::copy(&mut part_file, &mut out).map_err(|e| FakeCloudError::io(&self.path, e))?;
        Ok(())
    }

    /// Writes `chunks` as slice `no`, through the page cache.
    fn write_chunks(&self, no: u32, chunks: &[Bytes]) -> Result<(), FakeCloudError> {
        let mut out = self.open_at(no)?;
        write_vectored_all(&mut out, chunks).map_err(|e| FakeCloudError::io(&self.path, e))
    }

    /// The file, opened for writing (created when missing) and positioned at slice `no`.
    fn open_at(&self, no: u32) -> Result<File, FakeCloudError> {
        let at = |e| FakeCloudError::io(&self.path, e);
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(at)?;
        out.seek(SeekFrom::Start(self.session.slice_offset(no))).map_err(at)?;
        Ok(out)
    }
}

/// Writes every chunk, many per system call.
fn write_vectored_all(out: &mut File, chunks: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut pending = &mut slices[..];
    while !pending.is_empty() {
        match out.write_vectored(pending) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut pending, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes slices into session files, choosing how (see the module docs). One per server.
#[derive(Default)]
pub(crate) struct SliceWriter {
    direct: direct::DirectWriter,
}

impl SliceWriter {
    /// Writes slice `no` of `file` at its place, creating the file on first use.
    pub(crate) fn write(&self, file: &SessionFile, no: u32, body: &SliceBody) -> Result<(), FakeCloudError> {
        match body {
            SliceBody::Memory(bytes) => {
                if self.direct.write(file, no, bytes)? {
                    return Ok(());
                }
                file.write_chunks(no, bytes.chunks())
            }
            SliceBody::Spooled { temp, .. } => file.write_from(no, temp),
        }
    }

    /// Frees the reused write buffers; called when no upload is open.
    pub(crate) fn release_buffers(&self) {
        self.direct.release_buffers();
    }
}

/// `O_DIRECT` writes, where the flag's value is known (it varies between architectures).
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64")))]
mod direct;

/// Elsewhere every slice goes through the page cache.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"))))]
mod direct {
    use super::SessionFile;
    use crate::error::FakeCloudError;
    use crate::pan123::sessions::SliceBytes;

    #[derive(Default)]
    pub(super) struct DirectWriter;

    impl DirectWriter {
        pub(super) fn write(&self, _file: &SessionFile, _no: u32, _bytes: &SliceBytes) -> Result<bool, FakeCloudError> {
            Ok(false)
        }

        pub(super) fn release_buffers(&self) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pan123::sessions::SliceBytes;
    use crate::pan123::tree::Duplicate;

    fn session(size: u64, slice_size: u64) -> Session {
        Session {
            id: "s".to_owned(),
            parent_id: 0,
            name: "f".to_owned(),
            md5: String::new(),
            size,
            slice_size,
            policy: Duplicate::Reject,
            file_id: None,
        }
    }

    /// Writes `data` as slices of `slice_size` in the order `order`, each in odd-sized chunks.
    fn write_all(slice_size: u64, data: &[u8], order: &[u32]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let file = SessionFile {
            session: session(data.len() as u64, slice_size),
            path: dir.path().join("s"),
        };
        let writer = SliceWriter::default();
        for &no in order {
            let start = file.session.slice_offset(no) as usize;
            let end = start + file.session.slice_len(no) as usize;
            let mut bytes = SliceBytes::default();
            for chunk in data[start..end].chunks(1000) {
                bytes.push(Bytes::copy_from_slice(chunk));
            }
            writer.write(&file, no, &SliceBody::Memory(bytes)).unwrap();
        }
        writer.release_buffers();
        std::fs::read(&file.path).unwrap()
    }

    #[test]
    fn aligned_and_unaligned_slices_land_in_place() {
        let data: Vec<u8> = (0..5 * 8192 + 100).map(|i| (i % 253) as u8).collect();
        // 4 KiB-aligned slices (direct where the file system allows it) with a short last one.
        assert_eq!(write_all(8192, &data, &[3, 6, 1, 2, 5, 4, 1]), data);
        // Unaligned slices always go through the page cache.
        assert_eq!(write_all(1000, &data, &(1..=42).rev().collect::<Vec<_>>()), data);
    }
}
