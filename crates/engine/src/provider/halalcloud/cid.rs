//! CIDv1 block names (spec §6.4).
//!
//! Each uploaded block is named by `0x01, varint(codec), varint(hash type), 0x20, SHA-256(block)` in
//! multibase base32: `b` followed by lower-case RFC 4648 base32 without padding (59 characters for a raw
//! block). The hashing pipeline computes the block digests; this module only names them.

use super::PROVIDER;
use crate::error::{Error, Result, shown};

/// Multicodec `raw`: what `block_codec` 0 or absent means (spec §6 step 1).
pub(crate) const CODEC_RAW: u64 = 0x55;
/// Multicodec `dag-pb`.
pub(crate) const CODEC_DAG_PB: u64 = 0x70;
/// Multihash `sha2-256`: what `block_hash_type` 0 or absent means, and the only one PanDrop computes.
pub(crate) const HASH_SHA2_256: u64 = 0x12;
/// A SHA-256 digest's length, as the multihash states it.
const SHA256_LEN: u8 = 0x20;
/// The CID version byte.
const CID_V1: u8 = 0x01;
/// The multibase prefix of lower-case base32 without padding.
const MULTIBASE_BASE32: char = 'b';
/// The longest varint the multiformats spec allows (63-bit values).
const MAX_VARINT_LEN: usize = 9;
/// The RFC 4648 base32 alphabet, lower-cased.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The codec and hash type a task asks for, with 0 meaning the defaults (`raw`, SHA-256), as the cloud
/// leaves them out when zero (spec §6 step 1).
pub(crate) fn effective(codec: u64, hash_type: u64) -> (u64, u64) {
    (
        if codec == 0 { CODEC_RAW } else { codec },
        if hash_type == 0 { HASH_SHA2_256 } else { hash_type },
    )
}

/// The CID of a block whose SHA-256 is `digest`, for the task's `block_codec` and `block_hash_type` (0 means
/// the default, see [`effective`]).
///
/// Any other hash type than SHA-256 is refused: PanDrop's hashing computes nothing else, and naming a block
/// with a SHA-256 digest under another hash type would only make the upload host reject it later.
pub(crate) fn block_cid(digest: &[u8; 32], codec: u64, hash_type: u64) -> Result<String> {
    let (codec, hash_type) = effective(codec, hash_type);
    if hash_type != HASH_SHA2_256 {
        return Err(Error::Protocol {
            provider: PROVIDER,
            detail: format!("the upload task asks for block hash type {hash_type:#x}; PanDrop computes only SHA-256 ({HASH_SHA2_256:#x})"),
        });
    }
    let mut raw = Vec::with_capacity(4 + 2 * MAX_VARINT_LEN + digest.len());
    raw.push(CID_V1);
    put_varint(&mut raw, codec);
    put_varint(&mut raw, hash_type);
    raw.push(SHA256_LEN);
    raw.extend_from_slice(digest);
    let mut text = String::with_capacity(1 + raw.len().div_ceil(5) * 8);
    text.push(MULTIBASE_BASE32);
    text.push_str(&base32(&raw));
    Ok(text)
}

/// The CID of `block`, hashing it here: for tests and the fake cloud, not for the upload path.
pub(crate) fn cid_of_block(block: &[u8], codec: u64, hash_type: u64) -> Result<String> {
    block_cid(&openssl::sha::sha256(block), codec, hash_type)
}

/// Reads a CID made by [`block_cid`]: returns `(codec, hash type, SHA-256 digest)`.
///
/// Strict, for checks on the fake-cloud side: only CIDv1 in canonical lower-case base32 (what
/// [`block_cid`] writes back the same), minimal varints, and a 32-byte SHA-256 multihash.
pub(crate) fn parse_cid(text: &str) -> Result<(u64, u64, [u8; 32])> {
    let bad = |rule: &str| Error::invalid(format!("block CID {}", shown(text)), rule.to_owned());
    let body = text
        .strip_prefix(MULTIBASE_BASE32)
        .ok_or_else(|| bad("must start with the multibase prefix `b` (lower-case base32)"))?;
    let raw = unbase32(body).ok_or_else(|| bad("is not canonical lower-case base32 without padding"))?;
    let mut rest = raw.as_slice();
    let (&version, tail) = rest.split_first().ok_or_else(|| bad("is empty"))?;
    if version != CID_V1 {
        return Err(bad("is not a CIDv1"));
    }
    rest = tail;
    let codec = take_varint(&mut rest).ok_or_else(|| bad("has a malformed codec varint"))?;
    // 0 is what an upload task sends for "raw" (0x55), so a CID naming codec 0 is never one PanDrop writes.
    if codec == 0 {
        return Err(bad("names codec 0, which no block is written with"));
    }
    let hash_type = take_varint(&mut rest).ok_or_else(|| bad("has a malformed hash-type varint"))?;
    if hash_type != HASH_SHA2_256 {
        return Err(bad("does not use SHA-256 (multihash 0x12)"));
    }
    match rest.split_first() {
        Some((&SHA256_LEN, digest)) => {
            let digest: [u8; 32] = digest.try_into().map_err(|_| bad("has a digest that is not 32 bytes long"))?;
            Ok((codec, hash_type, digest))
        }
        _ => Err(bad("does not state a 32-byte digest length")),
    }
}

/// Appends `value` as an unsigned LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Takes one minimal unsigned varint of at most [`MAX_VARINT_LEN`] bytes off the front of `input`.
fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(MAX_VARINT_LEN) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A last byte of zero after others pads the value: not minimal, so not canonical.
            if byte == 0 && i > 0 {
                return None;
            }
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Lower-case RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer = 0u16;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[usize::from((buffer >> bits) & 0x1f)]));
        }
        // Only the `bits` low bits are still pending; dropping the rest keeps the shift in range.
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[usize::from((buffer << (5 - bits)) & 0x1f)]));
    }
    out
}

/// Decodes [`base32`] output; `None` for any other character, a length no encoding yields, or non-zero
/// padding bits (so each byte string has exactly one accepted spelling).
fn unbase32(text: &str) -> Option<Vec<u8>> {
    // 1, 3 and 6 trailing characters cannot come from whole bytes.
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer = 0u16;
    let mut bits = 0u32;
    for c in text.bytes() {
        let value = BASE32.iter().position(|&a| a == c)?;
        buffer = (buffer << 5) | value as u16;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    (buffer == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256(data: &[u8]) -> [u8; 32] {
        openssl::sha::sha256(data)
    }

    /// The two examples of spec §6.4.
    #[test]
    fn spec_examples() {
        let abc = sha256(b"abc");
        assert_eq!(hex::encode(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let cid = block_cid(&abc, CODEC_RAW, HASH_SHA2_256).unwrap();
        assert_eq!(cid, "bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu");
        assert_eq!(cid.len(), 59);
        let zeros = vec![0u8; 4 * 1024 * 1024];
        assert_eq!(
            cid_of_block(&zeros, CODEC_RAW, HASH_SHA2_256).unwrap(),
            "bafkreif3t6g7mfdu2jphd6qaoirrrtjyoolmufzwmbpbesecdtan4pj27a"
        );
    }

    #[test]
    fn zero_means_the_defaults() {
        let abc = sha256(b"abc");
        assert_eq!(block_cid(&abc, 0, 0).unwrap(), block_cid(&abc, CODEC_RAW, HASH_SHA2_256).unwrap());
        assert_eq!(effective(0, 0), (CODEC_RAW, HASH_SHA2_256));
        assert_eq!(effective(CODEC_DAG_PB, 0), (CODEC_DAG_PB, HASH_SHA2_256));
    }

    // Computed independently with Python 3:
    //
    //   import hashlib, base64
    //   def varint(n):
    //       out = bytearray()
    //       while True:
    //           b = n & 0x7f; n >>= 7
    //           out.append(b | (0x80 if n else 0))
    //           if not n: return bytes(out)
    //   def cid(block, codec=0x55, ht=0x12):
    //       raw = b"\x01" + varint(codec) + varint(ht) + b"\x20" + hashlib.sha256(block).digest()
    //       return "b" + base64.b32encode(raw).decode().lower().rstrip("=")
    //   cid(b"abc", 0x70); cid(b"abc", 0x0129); cid(b"")
    #[test]
    fn other_codecs_and_multi_byte_varints() {
        let abc = sha256(b"abc");
        assert_eq!(
            block_cid(&abc, CODEC_DAG_PB, 0).unwrap(),
            "bafybeif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu"
        );
        // dag-json, 0x0129: a two-byte varint (a9 02), so the CID is 61 characters long.
        let dag_json = block_cid(&abc, 0x0129, HASH_SHA2_256).unwrap();
        assert_eq!(dag_json, "baguqeeraxj4bnp4pahh6uqkbidpf3lrceoyagyndsylxvhfucd7wd4qacwwq");
        assert_eq!(dag_json.len(), 61);
        assert_eq!(
            cid_of_block(b"", 0, 0).unwrap(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }

    #[test]
    fn other_hash_types_are_refused() {
        let err = block_cid(&sha256(b"abc"), CODEC_RAW, 0x13).unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }));
        assert!(err.to_string().contains("0x13"), "{err}");
    }

    #[test]
    fn parse_round_trips() {
        let abc = sha256(b"abc");
        for codec in [CODEC_RAW, CODEC_DAG_PB, 0x0129, 0x7f, 0x80, 0x3fff, 0x4000, u64::MAX >> 1] {
            let cid = block_cid(&abc, codec, HASH_SHA2_256).unwrap();
            assert_eq!(parse_cid(&cid).unwrap(), (codec, HASH_SHA2_256, abc), "{cid}");
        }
    }

    #[test]
    fn parse_rejects_non_canonical_and_foreign_cids() {
        let good = "bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu";
        let cases = [
            ("", "multibase"),
            ("Bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu", "multibase"),
            ("bAFKREIF2PALL7DYBZ7VECQKA3ZO24IRDWABWDI4WC55JZNAQ75Q7EAAVVU", "base32"),
            ("bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu====", "base32"),
            // The last character carries two padding bits; `v` sets one of them.
            ("bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvv", "base32"),
            ("b", "empty"),
        ];
        for (text, rule) in cases {
            let err = parse_cid(text).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{text}");
            assert!(err.to_string().contains(rule), "{text}: {err}");
        }
        assert!(parse_cid(good).is_ok());
        let digest = sha256(b"abc");
        let encoded = |head: &[u8], digest: &[u8]| format!("b{}", base32(&[head, digest].concat()));
        let raw_cases: [(String, &str); 5] = [
            // A CIDv0-style bare multihash (0x12 0x20 …): its first byte is no CIDv1 version.
            (encoded(&[0x12, 0x20], &digest), "CIDv1"),
            // A SHA-1 multihash (0x11) names something PanDrop cannot check.
            (encoded(&[0x01, 0x55, 0x11, 0x14], &[7; 20]), "SHA-256"),
            // 0x55 padded to two bytes (d5 00) is not minimal.
            (encoded(&[0x01, 0xd5, 0x00, 0x12, 0x20], &digest), "codec varint"),
            (encoded(&[0x01, 0x55, 0x12, 0x20], &digest[..31]), "32 bytes"),
            (encoded(&[0x01, 0x55, 0x12, 0x1f], &digest[..31]), "32-byte digest length"),
        ];
        for (text, rule) in raw_cases {
            let err = parse_cid(&text).unwrap_err();
            assert!(err.to_string().contains(rule), "{text}: {err}");
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        // RFC 4648 §10, lower-cased and unpadded.
        for (input, output) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32(input.as_bytes()), output);
            assert_eq!(unbase32(output).as_deref(), Some(input.as_bytes()));
        }
        assert_eq!(unbase32("m"), None);
        assert_eq!(unbase32("mzx"), None);
    }

    #[test]
    fn a_cid_with_codec_zero_is_refused() {
        // 01 00 12 20 + SHA-256("abc"): what the fuzzer found `parse_cid` took but `block_cid` would write
        // as codec 0x55.
        let err = parse_cid("baeabeif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu").unwrap_err();
        assert!(err.to_string().contains("codec 0"), "{err}");
    }
}
