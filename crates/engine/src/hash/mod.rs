//! One read pass over a file, feeding every digest an upload needs.
//!
//! Clouds ask for different fingerprints of the same bytes: 123pan wants the whole-file MD5 and an MD5 per
//! slice, 6pan (Wangsu WCS) wants the Qiniu-style etag (SHA-1 per 4 MiB block), HalalCloud a SHA-256 per
//! block for its block CIDs. Reading a large file once
//! per digest would double or triple the time to the first uploaded byte, so [`hash_file`] reads it once
//! and hands every buffer to all the hashers that were asked for.
//!
//! # How the work is spread
//!
//! MD5 is inherently sequential and is the slowest of the three, so it sets the pace: the whole-file MD5
//! gets a thread of its own and nothing else to do, while the etag's SHA-1 (less than half the cost of MD5
//! with SHA-NI) runs on a second thread and the calling thread only reads. When per-slice MD5s are asked
//! for too, they are a second sequential MD5 stream: each MD5 stream gets a thread and the etag blocks are
//! dealt out between the two. SHA-256 blocks are independent like the etag's and are dealt out the same way
//! (alone, they are halved between two threads). Buffers are read once into a small fixed pool and shared read-only between
//! the threads, so memory stays at a few MiB whatever the size of the file. See `pipeline.rs` for the
//! details and the measured speeds.
//!
//! [`hash_bytes`], [`md5_hex`] and [`etag_of`] are plain one-shot versions over a byte slice; they serve
//! small inputs and act as the reference the pipeline is tested against.

mod etag;
mod lane;
mod md5;
mod pipeline;

pub use etag::{Etag, etag_of};
pub use md5::{Md5, md5_hex};
pub use pipeline::{hash_file, hash_file_async};

/// Block size of the Qiniu/WCS etag.
pub const ETAG_BLOCK_SIZE: u64 = 4 * 1024 * 1024;

/// What to compute in the one read pass.
///
/// The default asks for nothing: [`hash_file`] then only reports the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashRequest {
    /// The lower-case hex MD5 of the whole file.
    pub md5: bool,
    /// The Qiniu/WCS etag (see [`Etag`]).
    pub etag: bool,
    /// The MD5 of each consecutive slice of this many bytes (the last one may be shorter). Must not be 0.
    pub slice_size: Option<u64>,
    /// The SHA-256 of each consecutive block of this many bytes (the last one may be shorter), as
    /// HalalCloud's block CIDs need them. Must not be 0.
    pub block_sha256: Option<u64>,
}

/// The digests of one file (or buffer).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileDigest {
    /// Number of bytes hashed.
    pub size: u64,
    /// Lower-case hex MD5 of everything, if it was requested.
    pub md5: Option<String>,
    /// The Qiniu/WCS etag, if it was requested.
    pub etag: Option<String>,
    /// Per-slice MD5s, if a slice size was requested.
    pub slices: Option<SliceDigests>,
    /// Per-block SHA-256s, if a block size was requested.
    #[serde(default)]
    pub blocks: Option<BlockSha256>,
}

/// SHA-256 of each block of a file: block `i` covers bytes `[i * block_size, min((i + 1) * block_size,
/// size))`, so an empty file has none.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlockSha256 {
    /// The block size the digests were computed with.
    pub block_size: u64,
    /// Lower-case hex SHA-256 of each block, in file order.
    pub sha256: Vec<String>,
}

/// MD5 of each slice of a file.
///
/// Slice `i` (0-based) covers bytes `[i * slice_size, min((i + 1) * slice_size, size))`, so there are
/// `size.div_ceil(slice_size)` of them: an empty file has none, as in 123pan's slicing rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SliceDigests {
    /// The slice size the digests were computed with.
    pub slice_size: u64,
    /// Lower-case hex MD5 of each slice, in file order.
    pub md5: Vec<String>,
}

impl SliceDigests {
    /// The MD5 of slice `index` (0-based), or `None` past the last slice.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.md5.get(index).map(String::as_str)
    }
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(data))
}

/// Computes the requested digests of an in-memory buffer in one go.
///
/// This is the straightforward reference for [`hash_file`] (same results for the same bytes) and the
/// cheapest way to hash small inputs: it uses no threads.
///
/// # Panics
///
/// If `req.slice_size` or `req.block_sha256` is `Some(0)`.
pub fn hash_bytes(data: &[u8], req: HashRequest) -> FileDigest {
    let blocks = req.block_sha256.map(|block_size| {
        assert!(block_size > 0, "block size must be at least 1 byte");
        let step = usize::try_from(block_size).unwrap_or(usize::MAX);
        BlockSha256 {
            block_size,
            sha256: data.chunks(step).map(sha256_hex).collect(),
        }
    });
    let slices = req.slice_size.map(|slice_size| {
        assert!(slice_size > 0, "slice size must be at least 1 byte");
        // A slice longer than the address space simply holds the whole buffer.
        let step = usize::try_from(slice_size).unwrap_or(usize::MAX);
        SliceDigests {
            slice_size,
            md5: data.chunks(step).map(md5_hex).collect(),
        }
    });
    FileDigest {
        size: data.len() as u64,
        md5: req.md5.then(|| md5_hex(data)),
        etag: req.etag.then(|| etag_of(data)),
        slices,
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_bytes_computes_only_what_is_asked() {
        let none = hash_bytes(b"abc", HashRequest::default());
        assert_eq!(
            none,
            FileDigest {
                size: 3,
                md5: None,
                etag: None,
                slices: None,
                blocks: None,
            }
        );

        let all = hash_bytes(
            b"abcd",
            HashRequest {
                md5: true,
                etag: true,
                slice_size: Some(3),
                block_sha256: Some(2),
            },
        );
        let blocks = all.blocks.as_ref().expect("blocks were requested");
        assert_eq!(blocks.sha256, vec![sha256_hex(b"ab"), sha256_hex(b"cd")]);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(all.md5.as_deref(), Some("e2fc714c4727ee9395f324cd2e7f331f"));
        assert_eq!(all.etag.as_deref(), Some(etag_of(b"abcd").as_str()));
        let slices = all.slices.expect("slices were requested");
        assert_eq!(slices.slice_size, 3);
        assert_eq!(slices.md5, vec![md5_hex(b"abc"), md5_hex(b"d")]);
        assert_eq!(slices.get(1), Some(md5_hex(b"d").as_str()));
        assert_eq!(slices.get(2), None);
    }

    #[test]
    fn empty_input_has_no_slices_but_an_etag_and_md5() {
        let digest = hash_bytes(
            b"",
            HashRequest {
                md5: true,
                etag: true,
                slice_size: Some(4),
                block_sha256: Some(4),
            },
        );
        assert_eq!(digest.md5.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(digest.etag.as_deref(), Some("Fto5o-5ea0sNMlW_75VgGJCv2AcJ"));
        assert_eq!(digest.slices.map(|s| s.md5.len()), Some(0));
        assert_eq!(digest.blocks.map(|b| b.sha256.len()), Some(0));
    }

    #[test]
    fn file_digest_round_trips_through_json() {
        let digest = hash_bytes(
            b"hello",
            HashRequest {
                md5: true,
                etag: true,
                slice_size: Some(2),
                block_sha256: Some(3),
            },
        );
        let json = serde_json::to_string(&digest).expect("serialize");
        let back: FileDigest = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, digest);
    }

    #[test]
    #[should_panic(expected = "slice size")]
    fn zero_slice_size_is_refused() {
        hash_bytes(
            b"x",
            HashRequest {
                slice_size: Some(0),
                ..HashRequest::default()
            },
        );
    }
}
