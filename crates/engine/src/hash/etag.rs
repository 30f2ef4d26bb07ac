//! The Qiniu/WCS etag (6pan's `hash`).
//!
//! The file is cut into 4 MiB blocks (the empty file counts as one empty block) and each block is hashed
//! with SHA-1. One block: the etag is `0x16 ‖ SHA1(block)`. Several blocks: `0x96 ‖ SHA1(SHA1(b0) ‖
//! SHA1(b1) ‖ …)`. Either way the 21 bytes are encoded as URL-safe base64, which gives 28 characters
//! starting with `F` or `l`. 0x16 is 22 = log2(4 MiB); 0x96 sets the high bit to mark the two-level form.
//! A file of exactly 4 MiB is a single block (some WCS SDKs get this wrong for in-memory buffers).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use sha1::{Digest as _, Sha1};

use super::ETAG_BLOCK_SIZE;

/// Prefix byte of a one-block etag.
const SINGLE_BLOCK: u8 = 0x16;
/// Prefix byte of a several-block etag.
const MULTI_BLOCK: u8 = 0x96;

/// A SHA-1 digest.
pub(super) type Sha1Digest = [u8; 20];

/// Streaming Qiniu/WCS etag.
///
/// Memory stays constant whatever the input length: block digests are folded into the outer SHA-1 as
/// soon as they are known instead of being collected.
#[derive(Debug, Clone)]
pub struct Etag {
    /// SHA-1 of the block being filled.
    block: Sha1,
    /// Bytes already in that block.
    filled: u64,
    /// The digests of the finished blocks.
    blocks: BlockDigests,
}

impl Etag {
    /// Starts an etag over empty input.
    pub fn new() -> Self {
        Self {
            block: Sha1::new(),
            filled: 0,
            blocks: BlockDigests::new(),
        }
    }

    /// Feeds more bytes; pieces may have any length and need not line up with blocks.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = ETAG_BLOCK_SIZE - self.filled;
            let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            self.block.update(&data[..take]);
            self.filled += take as u64;
            data = &data[take..];
            if self.filled == ETAG_BLOCK_SIZE {
                self.blocks.push(self.block.finalize_reset().into());
                self.filled = 0;
            }
        }
    }

    /// Ends the input and returns the 28-character etag.
    pub fn finish(mut self) -> String {
        // A partial last block counts; an input that ended on a block boundary (or is empty) has none.
        if self.filled > 0 {
            self.blocks.push(self.block.finalize().into());
        }
        self.blocks.finish()
    }
}

impl Default for Etag {
    fn default() -> Self {
        Self::new()
    }
}

/// The etag of `data`, computed in one go.
///
/// Written independently of [`Etag`] (collect the block digests, then apply the rule) so that the two
/// check each other in tests.
pub fn etag_of(data: &[u8]) -> String {
    let block = usize::try_from(ETAG_BLOCK_SIZE).unwrap_or(usize::MAX);
    let digests: Vec<Sha1Digest> = data.chunks(block).map(|b| Sha1::digest(b).into()).collect();
    let mut raw = Vec::with_capacity(21);
    match digests.as_slice() {
        [] => {
            raw.push(SINGLE_BLOCK);
            raw.extend_from_slice(&Sha1::digest(b""));
        }
        [only] => {
            raw.push(SINGLE_BLOCK);
            raw.extend_from_slice(only);
        }
        many => {
            raw.push(MULTI_BLOCK);
            raw.extend_from_slice(&Sha1::digest(many.concat()));
        }
    }
    URL_SAFE.encode(raw)
}

/// Folds the block digests, in block order, into the final etag.
#[derive(Debug, Clone)]
pub(super) struct BlockDigests {
    /// The first digest: it is the whole answer when there is only one block.
    first: Option<Sha1Digest>,
    /// SHA-1 over all digests so far, used when there are several.
    outer: Sha1,
    /// Digests pushed so far.
    count: u64,
}

impl BlockDigests {
    /// No blocks yet.
    pub(super) fn new() -> Self {
        Self {
            first: None,
            outer: Sha1::new(),
            count: 0,
        }
    }

    /// Adds the digest of the next block.
    pub(super) fn push(&mut self, digest: Sha1Digest) {
        if self.count == 0 {
            self.first = Some(digest);
        }
        self.outer.update(digest);
        self.count += 1;
    }

    /// The etag of the blocks pushed; no block at all means the empty file (one empty block).
    pub(super) fn finish(self) -> String {
        let (prefix, digest): (u8, Sha1Digest) = match (self.count, self.first) {
            (0, _) | (1, None) => (SINGLE_BLOCK, Sha1::digest(b"").into()),
            (1, Some(first)) => (SINGLE_BLOCK, first),
            _ => (MULTI_BLOCK, self.outer.finalize().into()),
        };
        let mut raw = [0u8; 21];
        raw[0] = prefix;
        raw[1..].copy_from_slice(&digest);
        URL_SAFE.encode(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: usize = ETAG_BLOCK_SIZE as usize;

    /// Vectors of spec §7 (produced there with the `qiniu` 7.18.0 package; the full set, also checked
    /// on files, is in `tests/hash_vectors.rs`).
    #[test]
    fn small_vectors_from_the_spec() {
        assert_eq!(etag_of(b""), "Fto5o-5ea0sNMlW_75VgGJCv2AcJ");
        assert_eq!(etag_of(b"a"), "Fob35Df6paf84V0d3Lnq6uo3dme4");
        assert_eq!(etag_of(b"abc"), "FqmZPjZHBoFquj4lcXhQwmyc0Nid");
        assert_eq!(etag_of(b"UMUTech@qq.com"), "FpAEzHGOWdh-QAYhattxl1vqHLMw");
        assert_eq!(Etag::new().finish(), "Fto5o-5ea0sNMlW_75VgGJCv2AcJ");
    }

    #[test]
    fn block_boundaries_of_zeros() {
        let zeros = vec![0u8; 2 * BLOCK];
        assert_eq!(etag_of(&zeros[..BLOCK - 1]), "FojtiN9WHTdzhzAV4wrBC76RaWV0");
        assert_eq!(etag_of(&zeros[..BLOCK]), "FivMvS848VwT631aif2dhfWV4jvD");
        assert_eq!(etag_of(&zeros[..BLOCK + 1]), "lhCFgki5yzon0rjN9uJusf6qtsF6");
        assert_eq!(etag_of(&zeros), "lsCVE24-Immdd6zm-ffVVhsWYcDG");
    }

    #[test]
    fn streaming_equals_one_shot_across_splits() {
        let data: Vec<u8> = (0..(2 * BLOCK + 12_345)).map(|i| (i % 251) as u8).collect();
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, data.len()] {
            let expected = etag_of(&data[..len]);
            assert_eq!(expected.len(), 28);
            assert!(!expected.contains('='));
            for piece in [1_000_003, BLOCK, BLOCK + 17, 3 * BLOCK] {
                let mut etag = Etag::default();
                for part in data[..len].chunks(piece) {
                    etag.update(part);
                }
                etag.update(b"");
                assert_eq!(etag.finish(), expected, "{len} bytes in pieces of {piece}");
            }
        }
    }

    #[test]
    fn small_pieces_cross_a_block_boundary() {
        let data: Vec<u8> = (0..(BLOCK + 100)).map(|i| (i * 13) as u8).collect();
        let mut etag = Etag::new();
        let (head, tail) = data.split_at(BLOCK - 50);
        etag.update(head);
        for part in tail.chunks(7) {
            etag.update(part);
        }
        assert_eq!(etag.finish(), etag_of(&data));
    }
}
