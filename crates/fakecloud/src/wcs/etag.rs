//! The Qiniu/WCS etag ("hash" in 6pan), written from the published algorithm:
//!
//! 1. split the content into 4 MiB blocks (the empty content is one empty block);
//! 2. one block (including exactly 4 MiB): `raw = 0x16 || SHA1(block)`;
//! 3. more blocks: `raw = 0x96 || SHA1(SHA1(b0) || SHA1(b1) || …)`;
//! 4. `etag = URL-safe base64(raw)`: 28 characters, starting with `F` or `l`.
//!
//! 0x16 is log2(4 MiB); 0x96 sets the high bit to mark the two-level form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use sha1::{Digest, Sha1};

/// Block size of the etag and of WCS slice uploads: 4 MiB.
pub(crate) const BLOCK_SIZE: u64 = 4 * 1024 * 1024;

const SINGLE: u8 = 0x16;
const MULTI: u8 = 0x96;

/// The etag from the SHA-1 of every block, in order. An empty list means the empty content.
pub(crate) fn from_block_digests(digests: &[[u8; 20]]) -> String {
    let mut raw = Vec::with_capacity(21);
    match digests {
        [] => {
            raw.push(SINGLE);
            raw.extend_from_slice(&Sha1::digest(b""));
        }
        [one] => {
            raw.push(SINGLE);
            raw.extend_from_slice(one);
        }
        many => {
            let mut outer = Sha1::new();
            for d in many {
                outer.update(d);
            }
            raw.push(MULTI);
            raw.extend_from_slice(&outer.finalize());
        }
    }
    URL_SAFE.encode(raw)
}

/// Whether `s` has the shape of an etag (28 URL-safe base64 characters).
pub(crate) fn looks_like_etag(s: &str) -> bool {
    s.len() == 28 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An incremental etag computation fed with arbitrary pieces.
#[derive(Default)]
pub(crate) struct EtagHasher {
    digests: Vec<[u8; 20]>,
    current: Sha1,
    in_block: u64,
}

impl EtagHasher {
    /// Feeds more bytes.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = usize::try_from(BLOCK_SIZE - self.in_block).unwrap_or(usize::MAX);
            let take = room.min(data.len());
            self.current.update(&data[..take]);
            self.in_block += take as u64;
            data = &data[take..];
            if self.in_block == BLOCK_SIZE {
                self.digests.push(std::mem::take(&mut self.current).finalize().into());
                self.in_block = 0;
            }
        }
    }

    /// The etag of everything fed.
    pub(crate) fn finish(mut self) -> String {
        if self.in_block > 0 {
            self.digests.push(self.current.finalize().into());
        }
        from_block_digests(&self.digests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etag(data: &[u8]) -> String {
        let mut h = EtagHasher::default();
        // Odd piece sizes exercise the block-boundary logic.
        for piece in data.chunks(1_000_003) {
            h.update(piece);
        }
        h.finish()
    }

    /// Vectors computed with the official `qiniu` package (see the protocol spec, §7).
    #[test]
    fn published_vectors() {
        let mib4 = BLOCK_SIZE as usize;
        assert_eq!(etag(b""), "Fto5o-5ea0sNMlW_75VgGJCv2AcJ");
        assert_eq!(etag(b"a"), "Fob35Df6paf84V0d3Lnq6uo3dme4");
        assert_eq!(etag(b"abc"), "FqmZPjZHBoFquj4lcXhQwmyc0Nid");
        assert_eq!(etag(b"UMUTech@qq.com"), "FpAEzHGOWdh-QAYhattxl1vqHLMw");
        assert_eq!(etag(&vec![0; mib4 - 1]), "FojtiN9WHTdzhzAV4wrBC76RaWV0");
        assert_eq!(etag(&vec![0; mib4]), "FivMvS848VwT631aif2dhfWV4jvD");
        assert_eq!(etag(&vec![0; mib4 + 1]), "lhCFgki5yzon0rjN9uJusf6qtsF6");
        assert_eq!(etag(&vec![0; 2 * mib4]), "lsCVE24-Immdd6zm-ffVVhsWYcDG");
        let ramp: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        assert_eq!(etag(&ramp), "lpWW94Kd7uuN_TCTi_xpbr4WtvSz");
        let mut mixed = vec![0x55; 2 * 1024 * 1024];
        mixed.extend(vec![0x4D; 2 * 1024 * 1024]);
        mixed.push(b'0');
        assert_eq!(etag(&mixed), "ljQoZqmvLKtOnK_5OHnMRw1djggC");
    }

    #[test]
    fn per_block_digests_agree_with_streaming() {
        let data: Vec<u8> = (0..9 * 1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
        let digests: Vec<[u8; 20]> = data.chunks(BLOCK_SIZE as usize).map(|b| Sha1::digest(b).into()).collect();
        assert_eq!(from_block_digests(&digests), etag(&data));
        assert!(looks_like_etag(&etag(&data)));
        assert!(!looks_like_etag("short"));
    }
}
