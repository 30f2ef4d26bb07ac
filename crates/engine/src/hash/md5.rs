//! MD5 backed by OpenSSL.
//!
//! OpenSSL's assembly MD5 runs at `md5sum` speed on our machines, while the pure-Rust `md-5` crate takes
//! 1.17–1.23× as long. MD5 is the critical path of a whole-file hash, so that difference is the whole
//! margin of the hashing time budget.

use openssl::hash::{Hasher, MessageDigest};

/// Streaming MD5, for callers that hash data piece by piece (a slice while it is read, a whole file).
///
/// # Panics
///
/// The methods panic only if OpenSSL has no usable MD5 (a FIPS-only OpenSSL build); the engine cannot
/// work with such a library at all, as every cloud it speaks to needs MD5.
#[derive(Clone)]
pub struct Md5 {
    hasher: Hasher,
}

impl Md5 {
    /// Starts an empty digest.
    pub fn new() -> Self {
        Self {
            hasher: Hasher::new(MessageDigest::md5()).expect("OpenSSL provides MD5"),
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data).expect("OpenSSL MD5 update");
    }

    /// Ends the digest and returns it as 32 lower-case hex digits.
    pub fn finish_hex(mut self) -> String {
        hex::encode(self.hasher.finish().expect("OpenSSL MD5 finish"))
    }
}

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Md5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Md5").finish_non_exhaustive()
    }
}

/// The lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    let mut md5 = Md5::new();
    md5.update(data);
    md5.finish_hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // RFC 1321, appendix A.5.
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn streaming_equals_one_shot_for_any_split() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
        let expected = md5_hex(&data);
        for piece in [1, 63, 64, 65, 1000, 4096, 9999, 10_000] {
            let mut md5 = Md5::default();
            for part in data.chunks(piece) {
                md5.update(part);
            }
            assert_eq!(md5.finish_hex(), expected, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn a_clone_continues_independently() {
        let mut md5 = Md5::new();
        md5.update(b"ab");
        let mut other = md5.clone();
        md5.update(b"c");
        other.update(b"d");
        assert_eq!(md5.finish_hex(), md5_hex(b"abc"));
        assert_eq!(other.finish_hex(), md5_hex(b"abd"));
        assert_eq!(format!("{:?}", Md5::new()), "Md5 { .. }");
    }
}
