//! MD5 over OpenSSL, the fastest portable implementation available to us.

use std::io::Read;
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

    /// Feeds the whole content of a file; returns how many bytes were read.
    pub(crate) fn update_from_file(&mut self, path: &Path) -> Result<u64, FakeCloudError> {
        let mut file = std::fs::File::open(path).map_err(|e| FakeCloudError::io(path, e))?;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut total = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| FakeCloudError::io(path, e))?;
            if n == 0 {
                return Ok(total);
            }
            self.update(&buf[..n])?;
            total += n as u64;
        }
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
    fn hex_shape() {
        assert!(is_md5_hex("9E107D9D372BB6826BD81D3542A419D6"));
        assert!(!is_md5_hex("9e107d9d372bb6826bd81d3542a419d"));
        assert!(!is_md5_hex("9e107d9d372bb6826bd81d3542a419dg"));
    }
}
