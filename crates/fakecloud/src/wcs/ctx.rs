//! The opaque `ctx` of mkblk/bput replies.
//!
//! A ctx carries what the host has verified about one block so far, so that a later bput or mkfile can be
//! checked without trusting the client: the block's id (which names its bytes on disk), its 0-based order,
//! its announced size, the bytes stored so far, the CRC-32 of those bytes and a digest of the
//! `UploadBatch`. An HMAC over all of it makes a forged or altered ctx detectable (answered with 701).
//!
//! Wire form: URL-safe base64 without padding (safe to put raw into a URL path, as clients do) of
//! `version(1) | id(16) | order(4) | size(4) | offset(4) | crc(4) | batch(8) | mac(16)`, integers big-endian.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};

type HmacSha1 = Hmac<Sha1>;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 16 + 4 + 4 + 4 + 4 + 8;
const MAC_LEN: usize = 16;

/// The verified state of one block after some chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ctx {
    /// Random id of the block (names its file and database row).
    pub(crate) block_id: [u8; 16],
    /// 0-based block order from mkblk.
    pub(crate) order: u32,
    /// Announced block size from mkblk.
    pub(crate) block_size: u32,
    /// Bytes of the block stored so far (the next chunk's offset).
    pub(crate) offset: u32,
    /// CRC-32/IEEE of those bytes.
    pub(crate) crc: u32,
    /// First bytes of SHA-1 of the `UploadBatch` the block was made under.
    pub(crate) batch: [u8; 8],
}

/// Why a ctx was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CtxError {
    /// Not base64, wrong length or unknown version.
    #[error("ctx is malformed")]
    Malformed,
    /// The MAC does not match: forged or altered.
    #[error("ctx was not issued by this host")]
    Forged,
}

/// The batch digest stored in a ctx.
pub(crate) fn batch_digest(batch: &str) -> [u8; 8] {
    let full = Sha1::digest(batch.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

/// The hex name of a block id.
pub(crate) fn block_name(id: &[u8; 16]) -> String {
    hex::encode(id)
}

/// Signs and checks ctx values; the key is derived from the WCS secret key, so ctxs survive a restart.
#[derive(Clone)]
pub(crate) struct CtxSigner {
    key: [u8; 20],
}

impl CtxSigner {
    /// A signer whose key is derived from `secret_key`.
    pub(crate) fn new(secret_key: &str) -> Self {
        let mut mac = HmacSha1::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
        mac.update(b"pandrop-fakecloud wcs ctx v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, body: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = HmacSha1::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The wire form of `ctx`.
    pub(crate) fn encode(&self, ctx: &Ctx) -> String {
        let mut raw = Vec::with_capacity(BODY_LEN + MAC_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(&ctx.block_id);
        for n in [ctx.order, ctx.block_size, ctx.offset, ctx.crc] {
            raw.extend_from_slice(&n.to_be_bytes());
        }
        raw.extend_from_slice(&ctx.batch);
        let mac = self.mac(&raw);
        raw.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes and authenticates a ctx from the wire.
    pub(crate) fn decode(&self, text: &str) -> Result<Ctx, CtxError> {
        let raw = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| CtxError::Malformed)?;
        if raw.len() != BODY_LEN + MAC_LEN || raw[0] != VERSION {
            return Err(CtxError::Malformed);
        }
        let (body, mac) = raw.split_at(BODY_LEN);
        let mut check = HmacSha1::new_from_slice(&self.key).expect("HMAC takes any key length");
        check.update(body);
        check.verify_truncated_left(mac).map_err(|_| CtxError::Forged)?;
        let u32_at = |at: usize| u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        let mut block_id = [0u8; 16];
        block_id.copy_from_slice(&body[1..17]);
        let mut batch = [0u8; 8];
        batch.copy_from_slice(&body[33..41]);
        Ok(Ctx {
            block_id,
            order: u32_at(17),
            block_size: u32_at(21),
            offset: u32_at(25),
            crc: u32_at(29),
            batch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ctx {
        Ctx {
            block_id: [7; 16],
            order: 3,
            block_size: 4 << 20,
            offset: 1 << 20,
            crc: 0xdead_beef,
            batch: batch_digest("batch-1"),
        }
    }

    #[test]
    fn round_trip_and_forgery() {
        let signer = CtxSigner::new("secret");
        let text = signer.encode(&sample());
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(signer.decode(&text), Ok(sample()));
        // One flipped character anywhere is refused.
        let mut chars: Vec<char> = text.chars().collect();
        chars[30] = if chars[30] == 'A' { 'B' } else { 'A' };
        let altered: String = chars.into_iter().collect();
        assert!(signer.decode(&altered).is_err());
        assert_eq!(CtxSigner::new("other").decode(&text), Err(CtxError::Forged));
        assert_eq!(signer.decode("abc"), Err(CtxError::Malformed));
        assert_eq!(signer.decode("!!!"), Err(CtxError::Malformed));
    }

    #[test]
    fn crc_can_be_resumed() {
        // Blocks keep a running CRC across chunks; crc32fast resumes from a finished value.
        let whole = crc32fast::hash(b"hello world");
        let mut h = crc32fast::Hasher::new_with_initial(crc32fast::hash(b"hello "));
        h.update(b"world");
        assert_eq!(h.finalize(), whole);
        assert_eq!(crc32fast::hash(b"a"), 3_904_355_907);
    }
}
