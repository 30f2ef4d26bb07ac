//! `pandrop-cli hash`: size, MD5 and etag of files in one read pass each.

use clap::Args;
use pandrop_engine::hash::{self, HashRequest};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::CliError;

/// Arguments of `hash`.
#[derive(Args)]
pub(crate) struct HashArgs {
    /// Files to hash.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also compute the MD5 of every slice of this many bytes (shown with --json).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    slice_size: Option<u64>,
    /// Also compute the SHA-256 of every block of this many bytes, as HalalCloud's block CIDs need them
    /// (shown with --json).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    block_sha256: Option<u64>,
    /// One JSON object per file per line.
    #[arg(long)]
    json: bool,
}

/// Hashes each file; returns whether all succeeded.
pub(crate) async fn run(args: HashArgs) -> Result<bool, CliError> {
    let req = HashRequest {
        md5: true,
        etag: true,
        // Slice MD5s are only printed in JSON; computing them otherwise would only cost time.
        slice_size: args.slice_size.filter(|_| args.json),
        block_sha256: args.block_sha256.filter(|_| args.json),
    };
    let cancel = CancellationToken::new();
    let mut all_ok = true;
    for file in args.files {
        match hash::hash_file_async(file.clone(), req, Arc::new(|_| {}), cancel.clone()).await {
            Ok(d) if args.json => {
                let line = serde_json::json!({
                    "file": file.display().to_string(),
                    "size": d.size,
                    "md5": d.md5,
                    "etag": d.etag,
                    "slice_size": d.slices.as_ref().map(|s| s.slice_size),
                    "slice_md5": d.slices.as_ref().map(|s| &s.md5),
                    "block_size": d.blocks.as_ref().map(|b| b.block_size),
                    "block_sha256": d.blocks.as_ref().map(|b| &b.sha256),
                });
                println!("{line}");
            }
            Ok(d) => println!(
                "{}  {}  {}  {}",
                d.md5.unwrap_or_default(),
                d.etag.unwrap_or_default(),
                d.size,
                file.display()
            ),
            Err(e) => {
                all_ok = false;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"file": file.display().to_string(), "error": e.to_string()})
                    );
                } else {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    Ok(all_ok)
}
