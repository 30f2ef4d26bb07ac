//! Hashes one file the way an upload does and prints its size, MD5 and etag.
//!
//! ```text
//! cargo run --release -p pandrop-engine --example hash_file -- [--slices BYTES] [--block-sha256 BYTES] [--no-md5] [--no-etag] PATH
//! ```
//!
//! With `--slices`, the MD5 of every slice of BYTES bytes is printed too, one line each; with `--block-sha256`,
//! the SHA-256 of every block (HalalCloud's block CIDs). Used by `bench/hash.sh` and `bench/halalcloud.sh`.

use std::path::PathBuf;
use std::process::ExitCode;

use pandrop_engine::hash::{HashRequest, hash_file};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let mut req = HashRequest {
        md5: true,
        etag: true,
        slice_size: None,
        block_sha256: None,
    };
    let mut path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--slices" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => req.slice_size = Some(n),
                _ => return usage("--slices needs a positive number of bytes"),
            },
            "--block-sha256" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => req.block_sha256 = Some(n),
                _ => return usage("--block-sha256 needs a positive number of bytes"),
            },
            "--no-md5" => req.md5 = false,
            "--no-etag" => req.etag = false,
            "-h" | "--help" => return usage(""),
            _ if path.is_none() && !arg.starts_with("--") => path = Some(PathBuf::from(arg)),
            _ => return usage(&format!("unexpected argument {arg}")),
        }
    }
    let Some(path) = path else {
        return usage("no file given");
    };

    match hash_file(&path, req, &|_| {}, &CancellationToken::new()) {
        Ok(digest) => {
            println!("size  {}", digest.size);
            if let Some(md5) = digest.md5 {
                println!("md5   {md5}");
            }
            if let Some(etag) = digest.etag {
                println!("etag  {etag}");
            }
            if let Some(blocks) = digest.blocks {
                for (i, sha256) in blocks.sha256.iter().enumerate() {
                    println!("block {i} {sha256}");
                }
            }
            if let Some(slices) = digest.slices {
                for (i, md5) in slices.md5.iter().enumerate() {
                    println!("slice {i} {md5}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("hash_file: {err}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("hash_file: {problem}");
    }
    eprintln!("usage: hash_file [--slices BYTES] [--block-sha256 BYTES] [--no-md5] [--no-etag] PATH");
    if problem.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) }
}
