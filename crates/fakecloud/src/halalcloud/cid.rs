//! Block content identifiers (spec §6.4): CIDv1 with codec raw (0x55) and multihash sha2-256 (0x12, 32
//! bytes), written as `b` + lower-case RFC 4648 base32 without padding (59 characters).

use sha2::{Digest, Sha256};

/// Multicodec `raw`, the only `block_codec` this server hands out.
pub(crate) const CODEC_RAW: u8 = 0x55;
/// Multihash `sha2-256`, the only `block_hash_type` this server hands out.
pub(crate) const HASH_SHA2_256: u8 = 0x12;
/// Length of a CID string.
pub(crate) const CID_LEN: usize = 59;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Lower-case RFC 4648 base32 without padding.
pub(crate) fn base32(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes lower-case RFC 4648 base32 without padding; `None` for any other character or a bad length.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)?;
        buffer = (buffer << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    // Leftover bits must be padding zeros, fewer than 5 of them.
    (bits < 5 && buffer & ((1 << bits) - 1) == 0).then_some(out)
}

/// The CID of a block.
pub(crate) fn cid_of(block: &[u8]) -> String {
    let mut raw = vec![0x01, CODEC_RAW, HASH_SHA2_256, 0x20];
    raw.extend_from_slice(&Sha256::digest(block));
    format!("b{}", base32(&raw))
}

/// Whether `cid` is the canonical text of a CIDv1 raw/sha2-256 (any other codec, hash or spelling is not).
pub(crate) fn is_valid(cid: &str) -> bool {
    cid.len() == CID_LEN
        && cid
            .strip_prefix('b')
            .and_then(base32_decode)
            .is_some_and(|raw| raw.len() == 36 && raw[..4] == [0x01, CODEC_RAW, HASH_SHA2_256, 0x20])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_of_the_spec() {
        assert_eq!(cid_of(b"abc"), "bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu");
        assert_eq!(
            cid_of(&vec![0u8; 4 * 1024 * 1024]),
            "bafkreif3t6g7mfdu2jphd6qaoirrrtjyoolmufzwmbpbesecdtan4pj27a"
        );
        assert!(is_valid(&cid_of(b"abc")));
        assert_eq!(cid_of(b"").len(), CID_LEN);
    }

    #[test]
    fn rfc_4648_vectors_and_validation() {
        for (plain, coded) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32(plain.as_bytes()), coded);
            assert_eq!(base32_decode(coded).unwrap(), plain.as_bytes());
        }
        assert!(base32_decode("MZXW6").is_none(), "upper case is not the canonical spelling");
        let good = cid_of(b"abc");
        assert!(!is_valid(&good.to_uppercase()));
        assert!(!is_valid(&good[1..]));
        // The last character carries 2 padding bits, which must be zero ('7' sets them).
        assert!(!is_valid(&format!("{}7", &good[..58])));
        // Another codec (dag-pb 0x70) is refused.
        let mut raw = vec![0x01, 0x70, 0x12, 0x20];
        raw.extend_from_slice(&[0u8; 32]);
        assert!(!is_valid(&format!("b{}", base32(&raw))));
    }
}
