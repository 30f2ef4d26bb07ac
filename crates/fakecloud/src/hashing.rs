//! MD5 over OpenSSL, the fastest portable implementation available to us.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use openssl::hash::{Hasher, MessageDigest};

use crate::error::FakeCloudError;

/// Read buffer for hashing files from disk: large enough to keep syscalls off the profile.
const READ_CHUNK: usize = 1 << 20;

/// An incremental MD5 computation.
pub(crate) struct Md5 {
    hasher: Hasher,
}

impl Md5 {
    /// Starts a new, empty digest.
    pub(crate) fn new() -> Result<Self, FakeCloudError> {
        Ok(Self {
            hasher: Hasher::new(MessageDigest::md5())?,
        })
    }

    /// Feeds more bytes.
    pub(crate) fn update(&mut self, data: &[u8]) -> Result<(), FakeCloudError> {
        Ok(self.hasher.update(data)?)
    }

    /// Feeds `len` bytes of `file` starting at `offset` (the file's position is moved).
    pub(crate) fn update_from_range(&mut self, file: &mut std::fs::File, path: &Path, offset: u64, len: u64) -> Result<(), FakeCloudError> {
        file.seek(SeekFrom::Start(offset)).map_err(|e| FakeCloudError::io(path, e))?;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(READ_CHUNK);
            file.read_exact(&mut buf[..want]).map_err(|e| FakeCloudError::io(path, e))?;
            self.update(&buf[..want])?;
            left -= want as u64;
        }
        Ok(())
    }

    /// Finishes the digest and returns it as lower-case hex.
    pub(crate) fn finish_hex(mut self) -> Result<String, FakeCloudError> {
        Ok(hex::encode(self.hasher.finish()?))
    }
}

/// MD5 of a small in-memory value as lower-case hex (`""` in the practically impossible case that OpenSSL
/// fails), for ids derived from names.
pub(crate) fn md5_hex_of(data: &[u8]) -> String {
    openssl::hash::hash(MessageDigest::md5(), data).map(hex::encode).unwrap_or_default()
}

/// Whether `s` looks like an MD5 digest in hex (either case).
pub(crate) fn is_md5_hex(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let empty = Md5::new().unwrap().finish_hex().unwrap();
        assert_eq!(empty, "d41d8cd98f00b204e9800998ecf8427e");
        let mut h = Md5::new().unwrap();
        h.update(b"The quick brown fox ").unwrap();
        h.update(b"jumps over the lazy dog").unwrap();
        assert_eq!(h.finish_hex().unwrap(), "9e107d9d372bb6826bd81d3542a419d6");
    }

    #[test]
    fn ranges_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..3 * READ_CHUNK + 5).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        for (start, len) in [(0, 0), (3, 10), (1, 2 * READ_CHUNK + 7), (0, data.len())] {
            let mut h = Md5::new().unwrap();
            h.update_from_range(&mut file, &path, start as u64, len as u64).unwrap();
            assert_eq!(h.finish_hex().unwrap(), md5_hex_of(&data[start..start + len]));
        }
        let mut h = Md5::new().unwrap();
        assert!(
            h.update_from_range(&mut file, &path, 10, data.len() as u64).is_err(),
            "past the end"
        );
    }

    #[test]
    fn hex_shape() {
        assert!(is_md5_hex("9E107D9D372BB6826BD81D3542A419D6"));
        assert!(!is_md5_hex("9e107d9d372bb6826bd81d3542a419d"));
        assert!(!is_md5_hex("9e107d9d372bb6826bd81d3542a419dg"));
    }
}
