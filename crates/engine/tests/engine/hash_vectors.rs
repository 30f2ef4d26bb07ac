//! Known-answer tests for the hash module: etags produced by the official `qiniu` Python package and MD5s
//! produced by `md5sum`, checked through every entry point (one-shot, streaming, and `hash_file` on real
//! files), plus a comparison of `hash_file` against the independent `md-5` crate.
//!
//! # How the expected values were produced
//!
//! Etags: `qiniu` 7.18.0 from PyPI (`pip install qiniu`, Python 3.11.7), whose `qiniu.etag(path)` reads
//! the file through `etag_stream`. MD5s: `md5sum` from GNU coreutils 9.1 on the same files. The script:
//!
//! ```python
//! import subprocess, qiniu
//! from qiniu import etag
//! M = 4 * 1024 * 1024
//! def pat_a(n):  # byte i = i % 251
//!     return bytes(range(251)) * (n // 251) + bytes(range(n % 251))
//! def pat_b(n):  # byte i = (i * 31 + 7) % 251
//!     return bytes((i * 31 + 7) % 251 for i in range(n))
//! cases = [
//!     ("empty", b""),
//!     ("a", b"a"),
//!     ("abc", b"abc"),
//!     ("umutech", b"UMUTech@qq.com"),
//!     ("zeros_4m_minus_1", bytes(M - 1)),
//!     ("zeros_4m", bytes(M)),
//!     ("zeros_4m_plus_1", bytes(M + 1)),
//!     ("zeros_8m", bytes(2 * M)),
//!     ("mod251_10m", pat_a(10 * 1024 * 1024)),
//!     ("mod251_40m", pat_a(40 * 1024 * 1024)),
//!     ("wcs_go_mixed", b"\x55" * (2 * 1024 * 1024) + b"\x4d" * (2 * 1024 * 1024) + b"0"),
//!     ("pat_1", pat_b(1)),
//!     ("pat_4m", pat_b(M)),
//!     ("pat_4m_plus_1", pat_b(M + 1)),
//!     ("pat_8m_minus_1", pat_b(2 * M - 1)),
//!     ("pat_10m", pat_b(10 * 1024 * 1024)),
//! ]
//! print("qiniu", qiniu.__version__)
//! for name, data in cases:
//!     path = name + ".bin"
//!     with open(path, "wb") as f:
//!         f.write(data)
//!     md5 = subprocess.check_output(["md5sum", path]).split()[0].decode()
//!     print(name, len(data), etag(path), md5)
//! ```
//!
//! The slice MD5s of `pat_10m.bin` come from `split -b SIZE -d -a 3 pat_10m.bin part && md5sum part*`
//! with SIZE = 3145728 and 4194304.
//!
//! Every etag of spec §7 (shared/protocols/wcs-6pan.md) is in the list and agrees with this run.

use md5::Digest as _;
use pandrop_engine::hash::{ETAG_BLOCK_SIZE, Etag, FileDigest, HashRequest, Md5, etag_of, hash_bytes, hash_file, md5_hex};
use std::io::Write as _;
use tokio_util::sync::CancellationToken;

const MIB: usize = 1024 * 1024;
const BLOCK: usize = ETAG_BLOCK_SIZE as usize;

/// Byte `i` is `i % 251` (the pattern of spec §7).
fn mod251(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Byte `i` is `(i * 31 + 7) % 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

/// 2 MiB of 0x55, 2 MiB of 0x4D, then `'0'`: the vector of wcs-go-sdk's etag test.
fn wcs_go_mixed() -> Vec<u8> {
    let mut data = vec![0x55; 2 * MIB];
    data.resize(4 * MIB, 0x4D);
    data.push(b'0');
    data
}

struct Vector {
    name: &'static str,
    data: fn() -> Vec<u8>,
    size: usize,
    etag: &'static str,
    md5: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector {
        name: "empty",
        data: Vec::new,
        size: 0,
        etag: "Fto5o-5ea0sNMlW_75VgGJCv2AcJ",
        md5: "d41d8cd98f00b204e9800998ecf8427e",
    },
    Vector {
        name: "a",
        data: || b"a".to_vec(),
        size: 1,
        etag: "Fob35Df6paf84V0d3Lnq6uo3dme4",
        md5: "0cc175b9c0f1b6a831c399e269772661",
    },
    Vector {
        name: "abc",
        data: || b"abc".to_vec(),
        size: 3,
        etag: "FqmZPjZHBoFquj4lcXhQwmyc0Nid",
        md5: "900150983cd24fb0d6963f7d28e17f72",
    },
    Vector {
        name: "umutech",
        data: || b"UMUTech@qq.com".to_vec(),
        size: 14,
        etag: "FpAEzHGOWdh-QAYhattxl1vqHLMw",
        md5: "5443254df11a13bd1d1b2fe04508de00",
    },
    Vector {
        name: "zeros_4m_minus_1",
        data: || vec![0; BLOCK - 1],
        size: BLOCK - 1,
        etag: "FojtiN9WHTdzhzAV4wrBC76RaWV0",
        md5: "b2bb8e07fe6860f096a847eab205b550",
    },
    Vector {
        name: "zeros_4m",
        data: || vec![0; BLOCK],
        size: BLOCK,
        etag: "FivMvS848VwT631aif2dhfWV4jvD",
        md5: "b5cfa9d6c8febd618f91ac2843d50a1c",
    },
    Vector {
        name: "zeros_4m_plus_1",
        data: || vec![0; BLOCK + 1],
        size: BLOCK + 1,
        etag: "lhCFgki5yzon0rjN9uJusf6qtsF6",
        md5: "0512b81efac65efad48880543d4d60af",
    },
    Vector {
        name: "zeros_8m",
        data: || vec![0; 2 * BLOCK],
        size: 2 * BLOCK,
        etag: "lsCVE24-Immdd6zm-ffVVhsWYcDG",
        md5: "96995b58d4cbf6aaa9041b4f00c7f6ae",
    },
    Vector {
        name: "mod251_10m",
        data: || mod251(10 * MIB),
        size: 10 * MIB,
        etag: "lpWW94Kd7uuN_TCTi_xpbr4WtvSz",
        md5: "d9a6fbf6e6dbdfe64365f218c62dbcd7",
    },
    Vector {
        name: "mod251_40m",
        data: || mod251(40 * MIB),
        size: 40 * MIB,
        etag: "loDph-wexHRSuLDGcVU0F8bcVwEk",
        md5: "e30369062f229ceac7d04738db473cac",
    },
    Vector {
        name: "wcs_go_mixed",
        data: wcs_go_mixed,
        size: BLOCK + 1,
        etag: "ljQoZqmvLKtOnK_5OHnMRw1djggC",
        md5: "c9ecae48d9d5bc9b9691a5819d92a84e",
    },
    Vector {
        name: "pat_1",
        data: || pattern(1),
        size: 1,
        etag: "Fl0b5-ndoe6Ilr5bfjSoXuFkUqe0",
        md5: "89e74e640b8c46257a29de0616794d5d",
    },
    Vector {
        name: "pat_4m",
        data: || pattern(BLOCK),
        size: BLOCK,
        etag: "FuzrG4jlHVyozcJGXVljVd4cQ3Op",
        md5: "306775ce72065202ee1f370c7652c654",
    },
    Vector {
        name: "pat_4m_plus_1",
        data: || pattern(BLOCK + 1),
        size: BLOCK + 1,
        etag: "lgncbbZdKxcTzCACSLIvsek6wGWP",
        md5: "b1294168abcc6c54ef4cbdf94f9e27f1",
    },
    Vector {
        name: "pat_8m_minus_1",
        data: || pattern(2 * BLOCK - 1),
        size: 2 * BLOCK - 1,
        etag: "lg_Ujnblnid8OG5r2RlLeb2ZgaRl",
        md5: "c46ffa1c787410196807ba2add75e9d9",
    },
    Vector {
        name: "pat_10m",
        data: || pattern(10 * MIB),
        size: 10 * MIB,
        etag: "lg-7_w2rQSv9EcVnGA93nvMMM-LL",
        md5: "9b344b7f2bf041493fe5d3dbd6a051b9",
    },
];

/// Slice MD5s of `pattern(10 MiB)` from `split` + `md5sum`.
const PATTERN_10M_SLICES: &[(u64, &[&str])] = &[
    (
        3 * MIB as u64,
        &[
            "758d000988ff2631c440d48aefe73c87",
            "5a569c3b9dbf55f6e85379445d9b60ec",
            "6c2667e5ea55185cb9fdea376accc6d0",
            "b30c3fd51de3ad616575943f9156de2c",
        ],
    ),
    (
        4 * MIB as u64,
        &[
            "306775ce72065202ee1f370c7652c654",
            "e65287e7fea0a1fb7babf57333da5cfd",
            "75da5b264db5a778b20b76ef018e0480",
        ],
    ),
];

const ALL: HashRequest = HashRequest {
    md5: true,
    etag: true,
    slice_size: None,
    block_sha256: None,
};

fn temp_file(data: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(data).expect("write temp file");
    file.flush().expect("flush temp file");
    file
}

fn hash_path(path: &std::path::Path, req: HashRequest) -> FileDigest {
    hash_file(path, req, &|_| {}, &CancellationToken::new()).expect("hash_file")
}

/// The independent MD5 reference: the pure-Rust `md-5` crate.
fn reference_md5(data: &[u8]) -> String {
    hex::encode(md5::Md5::digest(data))
}

#[test]
fn one_shot_and_streaming_match_the_vectors() {
    for v in VECTORS {
        let data = (v.data)();
        assert_eq!(data.len(), v.size, "{}", v.name);
        assert_eq!(etag_of(&data), v.etag, "etag_of {}", v.name);
        assert_eq!(md5_hex(&data), v.md5, "md5_hex {}", v.name);
        assert_eq!(reference_md5(&data), v.md5, "md-5 crate {}", v.name);

        // Odd piece sizes so that pieces straddle the 4 MiB block boundaries.
        let mut etag = Etag::new();
        let mut md5 = Md5::new();
        for piece in data.chunks(1_048_579) {
            etag.update(piece);
            md5.update(piece);
        }
        assert_eq!(etag.finish(), v.etag, "Etag {}", v.name);
        assert_eq!(md5.finish_hex(), v.md5, "Md5 {}", v.name);
    }
}

#[test]
fn hash_file_matches_the_vectors() {
    for v in VECTORS {
        let data = (v.data)();
        let file = temp_file(&data);
        let digest = hash_path(file.path(), ALL);
        assert_eq!(digest.size, v.size as u64, "{}", v.name);
        assert_eq!(digest.etag.as_deref(), Some(v.etag), "{}", v.name);
        assert_eq!(digest.md5.as_deref(), Some(v.md5), "{}", v.name);
        assert_eq!(digest, hash_bytes(&data, ALL), "{}", v.name);
    }
}

/// The trap of spec §7: exactly 4 MiB is one block (etag starting with `F`), one byte more is two.
#[test]
fn exactly_one_block_uses_the_single_block_form() {
    let data = vec![0u8; BLOCK + 1];
    assert!(etag_of(&data[..BLOCK]).starts_with('F'));
    assert!(etag_of(&data).starts_with('l'));
    assert_ne!(etag_of(&data[..BLOCK]), "lu69rF5ZX8yMKaG0z96hA9QCBju1");
}

#[test]
fn slice_md5s_match_md5sum_of_split_files() {
    let data = pattern(10 * MIB);
    let file = temp_file(&data);
    for &(slice_size, expected) in PATTERN_10M_SLICES {
        let req = HashRequest {
            slice_size: Some(slice_size),
            ..ALL
        };
        let digest = hash_path(file.path(), req);
        let slices = digest.slices.expect("slices were requested");
        assert_eq!(slices.slice_size, slice_size);
        assert_eq!(slices.md5, expected, "slices of {slice_size}");
        for (i, md5) in expected.iter().enumerate() {
            assert_eq!(slices.get(i), Some(*md5));
        }
        assert_eq!(slices.get(expected.len()), None);
        assert_eq!(digest.md5.as_deref(), Some("9b344b7f2bf041493fe5d3dbd6a051b9"));
        assert_eq!(digest.etag.as_deref(), Some("lg-7_w2rQSv9EcVnGA93nvMMM-LL"));
    }
}

/// `hash_file` on disk, `hash_bytes` in memory and the `md-5` crate agree, for sizes around the
/// block and buffer boundaries and for slice sizes that do and do not divide the 4 MiB buffers.
#[test]
fn hash_file_agrees_with_hash_bytes_and_the_md5_crate() {
    let data = pattern(3 * BLOCK + 777);
    for len in [0, 1, 100_000, 600_000, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, data.len()] {
        let data = &data[..len];
        let file = temp_file(data);
        for slice_size in [
            None,
            Some(1_000_003),
            Some(4 * MIB as u64),
            Some(5 * MIB as u64),
            Some(16 * MIB as u64),
        ] {
            let req = HashRequest { slice_size, ..ALL };
            let digest = hash_path(file.path(), req);
            assert_eq!(digest, hash_bytes(data, req), "{len} bytes, {req:?}");
            assert_eq!(digest.md5, Some(reference_md5(data)), "{len} bytes");
            if let Some(slices) = digest.slices {
                let step = slices.slice_size as usize;
                let expected: Vec<String> = data.chunks(step).map(reference_md5).collect();
                assert_eq!(slices.md5, expected, "{len} bytes, slices of {step}");
            }
        }
    }
}
