//! Blocks of slice uploads on disk (`<data_dir>/wcs-blocks/<id>`) and their state in SQLite.
//!
//! Every chunk boundary of a block is recorded with the CRC-32 of the block's bytes up to it. A bput must
//! name a boundary that exists with the CRC its ctx claims; the block file is then cut back to that
//! boundary and the chunk appended. So re-sending a chunk after a lost reply is harmless (the same bytes
//! replace themselves), and a ctx from a branch that was later overwritten no longer matches (701).
//!
//! After mkfile the block files are deleted but their rows stay, marked with the etag of the file they
//! went into, so that a repeated mkfile (e.g. after a lost reply) finds the stored object again.
//!
//! Every function here blocks (file I/O, SQLite): call it through `Store::blocking`.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use sha1::{Digest, Sha1};
use tempfile::TempPath;

use super::ctx::{Ctx, CtxSigner, batch_digest, block_name};
use super::error::WcsError;
use super::etag;
use crate::error::FakeCloudError;
use crate::hashing::Md5;
use crate::store::Store;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS wcs_blocks (
    id             TEXT PRIMARY KEY NOT NULL,
    batch          TEXT NOT NULL,
    block_order    INTEGER NOT NULL,
    block_size     INTEGER NOT NULL,
    stored         INTEGER NOT NULL,
    assembled_etag TEXT,
    created_ms     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wcs_chunks (
    block_id   TEXT NOT NULL,
    end_offset INTEGER NOT NULL,
    crc        INTEGER NOT NULL,
    PRIMARY KEY (block_id, end_offset)
);
";

/// Assembled block rows are forgotten after this long (a repeated mkfile is only expected soon after).
const ASSEMBLED_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// The reply of mkblk and bput.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ChunkReply {
    /// The new ctx.
    pub(crate) ctx: String,
    /// MD5 of this chunk, lower-case hex.
    pub(crate) checksum: String,
    /// CRC-32/IEEE of this chunk.
    pub(crate) crc32: u32,
    /// Bytes of the block stored so far.
    pub(crate) offset: u32,
}

/// A file assembled from its blocks, not yet stored.
pub(crate) struct Assembled {
    /// The bytes.
    pub(crate) temp: TempPath,
    /// Qiniu/WCS etag.
    pub(crate) etag: String,
    /// MD5, lower-case hex.
    pub(crate) md5: String,
    /// Bytes.
    pub(crate) size: u64,
}

/// The block store.
pub(crate) struct Blocks {
    dir: PathBuf,
    signer: CtxSigner,
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Blocks {
    /// Opens the block folder and removes what a crash or an old run left behind. Blocking.
    pub(crate) fn open(store: &Store, signer: CtxSigner) -> Result<Self, FakeCloudError> {
        let dir = store.subdir("wcs-blocks")?;
        let conn = store.db();
        conn.execute_batch(SCHEMA)?;
        conn.execute(
            "DELETE FROM wcs_chunks WHERE block_id IN
                 (SELECT id FROM wcs_blocks WHERE assembled_etag IS NOT NULL AND created_ms < ?1)",
            params![now_ms() - ASSEMBLED_RETENTION_MS],
        )?;
        conn.execute(
            "DELETE FROM wcs_blocks WHERE assembled_etag IS NOT NULL AND created_ms < ?1",
            params![now_ms() - ASSEMBLED_RETENTION_MS],
        )?;
        let open: Vec<String> = {
            let mut stmt = conn.prepare("SELECT id FROM wcs_blocks WHERE assembled_etag IS NULL")?;
            stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        for id in &open {
            if !dir.join(id).exists() {
                conn.execute("DELETE FROM wcs_chunks WHERE block_id = ?1", params![id])?;
                conn.execute("DELETE FROM wcs_blocks WHERE id = ?1", params![id])?;
            }
        }
        let entries = std::fs::read_dir(&dir).map_err(|e| FakeCloudError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| FakeCloudError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !open.contains(&name) {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| FakeCloudError::io(&path, e))?;
            }
        }
        Ok(Self {
            dir,
            signer,
            locks: Mutex::default(),
        })
    }

    /// The ctx signer.
    pub(crate) fn signer(&self) -> &CtxSigner {
        &self.signer
    }

    fn lock_for(&self, name: &str) -> Arc<Mutex<()>> {
        Arc::clone(relock(&self.locks).entry(name.to_owned()).or_default())
    }

    fn reply(&self, ctx: &Ctx, chunk: &[u8]) -> Result<ChunkReply, WcsError> {
        let mut md5 = Md5::new()?;
        md5.update(chunk)?;
        Ok(ChunkReply {
            ctx: self.signer.encode(ctx),
            checksum: md5.finish_hex()?,
            crc32: crc32fast::hash(chunk),
            offset: ctx.offset,
        })
    }

    /// mkblk: creates block `order` of `size` bytes under `batch` with its first chunk.
    pub(crate) fn make_block(&self, store: &Store, batch: &str, order: u32, size: u32, chunk: &[u8]) -> Result<ChunkReply, WcsError> {
        let block_id: [u8; 16] = rand::random();
        let name = block_name(&block_id);
        let path = self.dir.join(&name);
        std::fs::write(&path, chunk).map_err(|e| FakeCloudError::io(&path, e))?;
        let len = u32::try_from(chunk.len()).map_err(|_| WcsError::bad_request("chunk larger than its block"))?;
        let ctx = Ctx {
            block_id,
            order,
            block_size: size,
            offset: len,
            crc: crc32fast::hash(chunk),
            batch: batch_digest(batch),
        };
        let conn = store.db();
        conn.execute(
            "INSERT INTO wcs_blocks (id, batch, block_order, block_size, stored, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, batch, order, size, len, now_ms()],
        )?;
        conn.execute(
            "INSERT INTO wcs_chunks (block_id, end_offset, crc) VALUES (?1, ?2, ?3)",
            params![name, len, ctx.crc],
        )?;
        drop(conn);
        self.reply(&ctx, chunk)
    }

    /// bput: appends `chunk` at `ctx.offset` of the block `ctx` names.
    pub(crate) fn put_chunk(&self, store: &Store, ctx: Ctx, chunk: &[u8]) -> Result<ChunkReply, WcsError> {
        let name = block_name(&ctx.block_id);
        let lock = self.lock_for(&name);
        let _held = relock(&lock);
        check_boundary(&store.db(), &name, ctx.offset, ctx.crc)?;
        let path = self.dir.join(&name);
        let io = |e| FakeCloudError::io(&path, e);
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).map_err(io)?;
        file.set_len(u64::from(ctx.offset)).map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        file.write_all(chunk).map_err(io)?;
        drop(file);
        let mut crc = crc32fast::Hasher::new_with_initial(ctx.crc);
        crc.update(chunk);
        let next = Ctx {
            offset: ctx.offset + u32::try_from(chunk.len()).map_err(|_| WcsError::bad_request("chunk too large"))?,
            crc: crc.finalize(),
            ..ctx
        };
        let conn = store.db();
        conn.execute(
            "DELETE FROM wcs_chunks WHERE block_id = ?1 AND end_offset > ?2",
            params![name, ctx.offset],
        )?;
        conn.execute(
            "INSERT OR REPLACE INTO wcs_chunks (block_id, end_offset, crc) VALUES (?1, ?2, ?3)",
            params![name, next.offset, next.crc],
        )?;
        conn.execute("UPDATE wcs_blocks SET stored = ?1 WHERE id = ?2", params![next.offset, name])?;
        drop(conn);
        self.reply(&next, chunk)
    }

    /// For mkfile: the etag the blocks were already assembled into, if all of them were (a repeated
    /// mkfile); `None` when none was; 701 when the ctxs do not match what is stored.
    pub(crate) fn check_complete(&self, conn: &Connection, ctxs: &[Ctx]) -> Result<Option<String>, WcsError> {
        let mut assembled: Vec<Option<String>> = Vec::with_capacity(ctxs.len());
        for ctx in ctxs {
            let name = block_name(&ctx.block_id);
            check_boundary(conn, &name, ctx.offset, ctx.crc)?;
            let etag: Option<String> =
                conn.query_row("SELECT assembled_etag FROM wcs_blocks WHERE id = ?1", params![name], |r| r.get(0))?;
            assembled.push(etag);
        }
        if assembled.iter().all(Option::is_none) {
            return Ok(None);
        }
        let first = assembled.first().cloned().flatten();
        if first.is_some() && assembled.iter().all(|e| *e == first) {
            return Ok(first);
        }
        Err(WcsError::bad_ctx("some blocks were already assembled into another file"))
    }

    /// Concatenates the blocks into a temp file, computing the etag (SHA-1 per block) and the MD5.
    pub(crate) fn assemble(&self, store: &Store, ctxs: &[Ctx]) -> Result<Assembled, WcsError> {
        let (mut out, temp) = store.temp_file()?;
        let mut md5 = Md5::new()?;
        let mut digests = Vec::with_capacity(ctxs.len());
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        for ctx in ctxs {
            let name = block_name(&ctx.block_id);
            let lock = self.lock_for(&name);
            let _held = relock(&lock);
            check_boundary(&store.db(), &name, ctx.offset, ctx.crc)?;
            let path = self.dir.join(&name);
            let io = |e| FakeCloudError::io(&path, e);
            let mut file = std::fs::File::open(&path).map_err(io)?;
            let mut sha = Sha1::new();
            let mut in_block = 0u64;
            loop {
                let n = file.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                sha.update(&buf[..n]);
                md5.update(&buf[..n])?;
                out.write_all(&buf[..n]).map_err(|e| FakeCloudError::io(&*temp, e))?;
                in_block += n as u64;
            }
            if in_block != u64::from(ctx.block_size) {
                return Err(WcsError::assembly(format!(
                    "block {} holds {in_block} bytes, not {}",
                    ctx.order, ctx.block_size
                )));
            }
            size += in_block;
            digests.push(sha.finalize().into());
        }
        out.flush().map_err(|e| FakeCloudError::io(&*temp, e))?;
        drop(out);
        Ok(Assembled {
            temp,
            etag: etag::from_block_digests(&digests),
            md5: md5.finish_hex()?,
            size,
        })
    }

    /// Marks the blocks as assembled into `etag` and deletes their bytes.
    pub(crate) fn consume(&self, store: &Store, ctxs: &[Ctx], etag: &str) -> Result<(), FakeCloudError> {
        for ctx in ctxs {
            let name = block_name(&ctx.block_id);
            {
                let conn = store.db();
                conn.execute("UPDATE wcs_blocks SET assembled_etag = ?1 WHERE id = ?2", params![etag, name])?;
                conn.execute(
                    "DELETE FROM wcs_chunks WHERE block_id = ?1 AND end_offset <> ?2",
                    params![name, ctx.offset],
                )?;
            }
            let path = self.dir.join(&name);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(error = %e, "could not delete an assembled block");
            }
            relock(&self.locks).remove(&name);
        }
        Ok(())
    }
}

/// 701 unless block `name` exists and has a chunk boundary at `offset` with CRC `crc`.
fn check_boundary(conn: &Connection, name: &str, offset: u32, crc: u32) -> Result<(), WcsError> {
    let stored: Option<u32> = conn
        .query_row(
            "SELECT crc FROM wcs_chunks WHERE block_id = ?1 AND end_offset = ?2",
            params![name, offset],
            |r| r.get(0),
        )
        .optional()?;
    match stored {
        Some(c) if c == crc => Ok(()),
        Some(_) => Err(WcsError::bad_ctx("ctx does not match the bytes stored for this block")),
        None => Err(WcsError::bad_ctx("ctx names no stored block chunk (unknown or expired block)")),
    }
}
