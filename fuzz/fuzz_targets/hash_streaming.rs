//! Hash streaming: the engine's MD5 and Qiniu/WCS etag fed in pieces of arbitrary lengths, its one-shot
//! functions, `hash_bytes` with an arbitrary slice size and `hash_file` (the one-pass pipeline, inline for
//! small files and on two lanes above 512 KiB), all checked against a reference computed here with the
//! `md-5` and `sha1` crates.
//!
//! The etag reference follows the definition (`wcs-6pan.md` §7): SHA-1 of each 4 MiB block (the empty input
//! counts as one empty block); one block gives `0x16 ‖ SHA1(block)`, several give
//! `0x96 ‖ SHA1(SHA1(b0) ‖ SHA1(b1) ‖ …)`; URL-safe base64 with padding.
//!
//! Input layout (short inputs fall back to defaults):
//!
//! | bytes | meaning |
//! |---|---|
//! | 0 | flags: 1 = also `hash_file`; 2 / 4 / 8 = it asks for MD5 / etag / slices; 16 = slice size × 256; 32 = piece lengths × 64; 64 = repeat the payload |
//! | 1–2 | with flag 64, repetitions of the payload (u16 LE; the whole stays under 9 MiB: up to three etag blocks) |
//! | 3–4 | slice size − 1 (u16 LE) |
//! | 5 | number of piece lengths *n* (low 4 bits) |
//! | 6 … 6 + 2*n* | piece lengths (u16 LE each, used in turn; 0 is an empty update) |
//! | rest | the payload |
//!
//! Repetition is behind a flag so that most inputs stay small (a 9 MiB input takes about 50 ms, a small one
//! well under a millisecond). Inputs above 640 KiB skip the MD5 checks: MD5 has no block boundary to get
//! wrong there, and skipping it keeps those runs short. Slices are made larger when there would be more
//! than 4096 of them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use md5::Digest as _;
use pandrop_engine::hash::{ETAG_BLOCK_SIZE, Etag, HashRequest, Md5, etag_of, hash_bytes, hash_file, md5_hex};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;

const BLOCK: usize = ETAG_BLOCK_SIZE as usize;
/// Longest input after repetition: two full etag blocks and a part of a third.
const MAX_TOTAL: usize = 2 * BLOCK + 1024 * 1024;
/// Longest input that gets the MD5 checks: past the 512 KiB where `hash_file` starts its lanes on threads.
const MD5_MAX: usize = 640 * 1024;
/// Most slices per input: tiny slices over a large input would make each run take long.
const MAX_SLICES: usize = 4096;

struct Case {
    flags: u8,
    data: Vec<u8>,
    slice_size: u64,
    pieces: Vec<usize>,
}

fn case(input: &[u8]) -> Case {
    let byte = |i: usize| input.get(i).copied().unwrap_or(0);
    let word = |i: usize| u16::from_le_bytes([byte(i), byte(i + 1)]);
    let flags = byte(0);
    let n = usize::from(byte(5) & 0x0f);
    let scale = if flags & 32 != 0 { 64 } else { 1 };
    let pieces: Vec<usize> = (0..n).map(|k| usize::from(word(6 + 2 * k)) * scale).collect();
    let payload = input.get(6 + 2 * n..).unwrap_or_default();
    let reps = if flags & 64 != 0 { usize::from(word(1)).max(1) } else { 1 };
    let reps = if payload.is_empty() {
        1
    } else {
        reps.min(MAX_TOTAL / payload.len()).max(1)
    };
    let data = payload.repeat(reps);
    let slice_size = (u64::from(word(3)) + 1) * if flags & 16 != 0 { 256 } else { 1 };
    let slice_size = slice_size.max(data.len().div_ceil(MAX_SLICES) as u64);
    Case {
        flags,
        data,
        slice_size,
        pieces,
    }
}

/// `data` cut into the case's pieces, used in turn (one piece for all when there are none).
fn pieces<'a>(data: &'a [u8], lengths: &[usize]) -> Vec<&'a [u8]> {
    if lengths.is_empty() || lengths.iter().all(|l| *l == 0) {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut rest = data;
    for len in lengths.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at((*len).min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

fn reference_md5(data: &[u8]) -> String {
    hex(&md5::Md5::digest(data))
}

fn reference_etag(data: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::{Digest as _, Sha1};
    let blocks: Vec<[u8; 20]> = if data.is_empty() {
        vec![Sha1::digest(b"").into()]
    } else {
        data.chunks(BLOCK).map(|b| Sha1::digest(b).into()).collect()
    };
    let mut raw = Vec::with_capacity(21);
    if let [only] = blocks.as_slice() {
        raw.push(0x16);
        raw.extend_from_slice(only);
    } else {
        raw.push(0x96);
        raw.extend_from_slice(&Sha1::digest(blocks.concat()));
    }
    base64::engine::general_purpose::URL_SAFE.encode(raw)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

fuzz_target!(|input: &[u8]| {
    let Case {
        flags,
        data,
        slice_size,
        pieces: lengths,
    } = case(input);
    let parts = pieces(&data, &lengths);
    let with_md5 = data.len() <= MD5_MAX;

    // The etag, streamed (with a copy taken half way that must go on independently) and in one go.
    let etag = reference_etag(&data);
    assert_eq!(etag_of(&data), etag, "etag_of of {} bytes", data.len());
    let mut streamed = Etag::new();
    let mut copy = None;
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() / 2 {
            copy = Some(streamed.clone());
        }
        streamed.update(part);
        if let Some(copy) = copy.as_mut() {
            copy.update(part);
        }
    }
    assert_eq!(
        streamed.finish(),
        etag,
        "streamed etag of {} bytes in {} pieces",
        data.len(),
        parts.len()
    );
    if let Some(copy) = copy {
        assert_eq!(copy.finish(), etag, "etag of a copy taken half way");
    }

    let md5 = with_md5.then(|| reference_md5(&data));
    if let Some(md5) = &md5 {
        if data.len() <= 64 * 1024 {
            assert_eq!(&md5_hex(&data), md5, "md5_hex");
        }
        let mut streamed = Md5::new();
        for part in &parts {
            streamed.update(part);
        }
        assert_eq!(&streamed.finish_hex(), md5, "streamed MD5 in {} pieces", parts.len());

        let slices: Vec<String> = data.chunks(slice_size as usize).map(reference_md5).collect();
        let digest = hash_bytes(
            &data,
            HashRequest {
                md5: true,
                etag: true,
                slice_size: Some(slice_size),
                block_sha256: None,
            },
        );
        assert_eq!(digest.size, data.len() as u64);
        assert_eq!(digest.md5.as_ref(), Some(md5));
        assert_eq!(digest.etag.as_ref(), Some(&etag));
        assert_eq!(
            digest.slices.map(|s| s.md5),
            Some(slices),
            "hash_bytes slices of {slice_size} bytes"
        );
    }

    if flags & 1 != 0 {
        check_hash_file(&data, flags, slice_size, md5.as_deref(), &etag);
    }
});

/// Hashes `data` from a file with the one-pass pipeline and checks what it asked for, and its progress.
fn check_hash_file(data: &[u8], flags: u8, slice_size: u64, md5: Option<&str>, etag: &str) {
    let req = HashRequest {
        md5: flags & 2 != 0 && md5.is_some(),
        etag: flags & 4 != 0,
        slice_size: (flags & 8 != 0 && md5.is_some()).then_some(slice_size),
        block_sha256: None,
    };
    let path = std::env::temp_dir().join(format!("pandrop-fuzz-hash-{}.bin", std::process::id()));
    std::fs::write(&path, data).expect("write the input file");
    let size = data.len() as u64;
    let last = AtomicU64::new(0);
    let progress = |done: u64| {
        let before = last.swap(done, Ordering::SeqCst);
        assert!(done >= before && done <= size, "progress {done} after {before} of {size}");
    };
    let digest = hash_file(&path, req, &progress, &CancellationToken::new());
    // Removed at once: up to 9 MiB a process would otherwise be left in the temporary folder.
    let _ = std::fs::remove_file(&path);
    let digest = digest.expect("hash_file");
    assert_eq!(digest.size, size);
    assert_eq!(digest.md5.as_deref(), md5.filter(|_| req.md5), "hash_file MD5");
    assert_eq!(digest.etag.as_deref(), req.etag.then_some(etag), "hash_file etag of {size} bytes");
    if let Some(slice_size) = req.slice_size {
        let slices: Vec<String> = data.chunks(slice_size as usize).map(reference_md5).collect();
        assert_eq!(digest.slices.map(|s| s.md5), Some(slices), "hash_file slices of {slice_size} bytes");
    }
    // The file is read (and its progress reported) only when something is asked for.
    let asked = req.md5 || req.etag || req.slice_size.is_some();
    if size > 0 && asked {
        assert_eq!(last.load(Ordering::SeqCst), size, "the last progress report is the size");
    }
}
