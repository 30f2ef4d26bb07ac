//! Digests by file identity, so a retry or a re-upload of an unchanged file never reads it again.
//!
//! A file is identified by device, inode, size and modification time ([`FileKey`]): any write changes the
//! size or the mtime, and a different file at the same path has another inode. Entries merge: an MD5 from a
//! 123pan upload and an etag from a later 6pan upload of the same file make one entry that serves both.

use rusqlite::{OptionalExtension, params};
use std::fs::Metadata;
use std::path::Path;

use super::{Context, Store};
use crate::error::{Error, Result};
use crate::hash::{BlockSha256, FileDigest, HashRequest, SliceDigests};

/// What identifies one version of one local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileKey {
    /// Device (file system) id; 0 where the OS gives none.
    pub dev: u64,
    /// Inode number; where the OS gives none, a stable hash of the file's canonical path.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the unix epoch (negative before it).
    pub mtime_ns: i128,
}

impl FileKey {
    /// The key of the file at `path`, from its metadata.
    ///
    /// On unix the device and inode come from the metadata and `path` is not used. Elsewhere the device is 0
    /// and the inode is a stable hash of `path`, which should then be canonical
    /// ([`std::fs::canonicalize`]) so the same file always gets the same key.
    #[cfg(unix)]
    pub fn of(path: &Path, meta: &Metadata) -> Result<FileKey> {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        Ok(FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        })
    }

    /// The key of the file at `path`, from its metadata.
    ///
    /// On unix the device and inode come from the metadata and `path` is not used. Elsewhere the device is 0
    /// and the inode is a stable hash of `path`, which should then be canonical
    /// ([`std::fs::canonicalize`]) so the same file always gets the same key.
    #[cfg(not(unix))]
    pub fn of(path: &Path, meta: &Metadata) -> Result<FileKey> {
        let modified = meta.modified().map_err(|e| Error::io(path, e))?;
        let mtime_ns = match modified.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
            Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |ns| -ns),
        };
        Ok(FileKey {
            dev: 0,
            ino: path_identity(path),
            size: meta.len(),
            mtime_ns,
        })
    }

    /// The modification time as (seconds, nanoseconds within the second), each fitting SQLite's integers.
    fn mtime_parts(&self) -> Result<(i64, i64)> {
        const NANOS: i128 = 1_000_000_000;
        let seconds = i64::try_from(self.mtime_ns.div_euclid(NANOS))
            .map_err(|_| Error::invalid("file modification time", "out of the range the hash cache can store"))?;
        // rem_euclid of a positive divisor is in 0..NANOS, which always fits.
        let nanos = i64::try_from(self.mtime_ns.rem_euclid(NANOS)).unwrap_or(0);
        Ok((seconds, nanos))
    }

    /// The key's columns as SQLite integers. Device and inode are identities, not quantities: they are stored
    /// bit for bit, so values above `i64::MAX` become negative rather than failing.
    fn columns(&self) -> Result<[i64; 5]> {
        let (seconds, nanos) = self.mtime_parts()?;
        let size = i64::try_from(self.size).map_err(|_| Error::invalid("file size", "too large for the hash cache"))?;
        Ok([self.dev as i64, self.ino as i64, size, seconds, nanos])
    }
}

/// A stable 64-bit FNV-1a hash of a path, for platforms without inode numbers. Stable across runs and Rust
/// versions (unlike `std`'s `DefaultHasher`), since the cache outlives the process.
#[cfg(any(not(unix), test))]
fn path_identity(path: &Path) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    path.to_string_lossy()
        .bytes()
        .fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

const KEY_MATCH: &str = "dev = ?1 AND ino = ?2 AND size = ?3 AND mtime_s = ?4 AND mtime_ns = ?5";

impl Store {
    /// The cached digests of a file version, if the cache holds everything `request` asks for: the MD5 when
    /// `md5` is set, the etag when `etag` is set, and slice MD5s of exactly `slice_size` when one is given.
    /// Anything less is a miss (`None`), and the caller hashes the file.
    ///
    /// A hit holds what was asked and nothing more, as [`crate::hash::hash_file`] would have returned it, and
    /// marks the entry as recently used.
    pub fn cached_digest(&self, key: &FileKey, request: &HashRequest) -> Result<Option<FileDigest>> {
        let columns = key.columns()?;
        let now = self.now();
        let doing = "reading the hash cache";
        self.run(|conn| {
            let found: Option<Cached> = conn
                .query_row(
                    &format!("SELECT md5, etag, slice_size, slice_md5, block_size, block_sha256 FROM hash_cache WHERE {KEY_MATCH}"),
                    columns,
                    |row| {
                        Ok(Cached {
                            md5: row.get(0)?,
                            etag: row.get(1)?,
                            slices: (row.get(2)?, row.get(3)?),
                            blocks: (row.get(4)?, row.get(5)?),
                        })
                    },
                )
                .optional()
                .context(doing)?;
            let Some(found) = found else {
                return Ok(None);
            };
            if (request.md5 && found.md5.is_none()) || (request.etag && found.etag.is_none()) {
                return Ok(None);
            }
            // A damaged list is a miss, not an error: the file can always be hashed again.
            let slices = match request.slice_size {
                None => None,
                Some(wanted) => match digest_list(found.slices, wanted) {
                    Some(md5) => Some(SliceDigests { slice_size: wanted, md5 }),
                    None => return Ok(None),
                },
            };
            let blocks = match request.block_sha256 {
                None => None,
                Some(wanted) => match digest_list(found.blocks, wanted) {
                    Some(sha256) => Some(BlockSha256 {
                        block_size: wanted,
                        sha256,
                    }),
                    None => return Ok(None),
                },
            };
            let (md5, etag) = (found.md5, found.etag);
            conn.execute(
                &format!("UPDATE hash_cache SET used_at = ?6 WHERE {KEY_MATCH}"),
                params![columns[0], columns[1], columns[2], columns[3], columns[4], now],
            )
            .context(doing)?;
            Ok(Some(FileDigest {
                size: key.size,
                md5: md5.filter(|_| request.md5),
                etag: etag.filter(|_| request.etag),
                slices,
                blocks,
            }))
        })
    }

    /// Caches the digests of a file version, merged with what is already cached for it: fields `digest` has
    /// replace the cached ones, fields it lacks keep theirs. Slices are kept for one slice size, the latest.
    ///
    /// Entries for older versions of the same file (same device and inode, other size or mtime) are dropped:
    /// they can never match again. Fails with [`Error::InvalidInput`] when `digest` is not of a file of
    /// `key.size` bytes or its slice list does not cover it.
    pub fn cache_digest(&self, key: &FileKey, digest: &FileDigest) -> Result<()> {
        if digest.size != key.size {
            return Err(Error::invalid(
                "hash cache entry",
                format!("digests of {} bytes do not describe a file of {} bytes", digest.size, key.size),
            ));
        }
        let (slice_size, slice_md5) = match &digest.slices {
            Some(slices) => (
                Some(slices.slice_size),
                Some(units_json(key.size, slices.slice_size, &slices.md5, "slice")?),
            ),
            None => (None, None),
        };
        let (block_size, block_sha256) = match &digest.blocks {
            Some(blocks) => (
                Some(blocks.block_size),
                Some(units_json(key.size, blocks.block_size, &blocks.sha256, "block")?),
            ),
            None => (None, None),
        };
        let columns = key.columns()?;
        let now = self.now();
        let doing = "writing the hash cache";
        self.write(doing, |conn| {
            conn.execute(
                "DELETE FROM hash_cache WHERE dev = ?1 AND ino = ?2 AND NOT (size = ?3 AND mtime_s = ?4 AND mtime_ns = ?5)",
                columns,
            )
            .context(doing)?;
            conn.execute(
                "INSERT INTO hash_cache (dev, ino, size, mtime_s, mtime_ns, md5, etag, slice_size, slice_md5, used_at,
                                         block_size, block_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (dev, ino, size, mtime_s, mtime_ns) DO UPDATE SET
                     md5 = COALESCE(excluded.md5, md5),
                     etag = COALESCE(excluded.etag, etag),
                     slice_size = COALESCE(excluded.slice_size, slice_size),
                     slice_md5 = CASE WHEN excluded.slice_size IS NULL THEN slice_md5 ELSE excluded.slice_md5 END,
                     block_size = COALESCE(excluded.block_size, block_size),
                     block_sha256 = CASE WHEN excluded.block_size IS NULL THEN block_sha256 ELSE excluded.block_sha256 END,
                     used_at = excluded.used_at",
                params![
                    columns[0],
                    columns[1],
                    columns[2],
                    columns[3],
                    columns[4],
                    digest.md5,
                    digest.etag,
                    slice_size,
                    slice_md5,
                    now,
                    block_size,
                    block_sha256
                ],
            )
            .context(doing)?;
            Ok(())
        })
    }
}

/// A cached row's digests.
struct Cached {
    md5: Option<String>,
    etag: Option<String>,
    /// Slice size and the JSON list of slice MD5s.
    slices: (Option<u64>, Option<String>),
    /// Block size and the JSON list of block SHA-256s.
    blocks: (Option<u64>, Option<String>),
}

/// The cached list of per-unit digests when it was made for units of `wanted` bytes.
fn digest_list((size, json): (Option<u64>, Option<String>), wanted: u64) -> Option<Vec<String>> {
    match (size, json) {
        (Some(size), Some(json)) if size == wanted => serde_json::from_str(&json).ok(),
        _ => None,
    }
}

/// The JSON list of per-unit digests to cache, checked to cover a file of `size` bytes in units of `unit`.
fn units_json(size: u64, unit: u64, digests: &[String], what: &str) -> Result<String> {
    let expected = if unit == 0 { None } else { Some(size.div_ceil(unit)) };
    if expected != Some(digests.len() as u64) {
        return Err(Error::invalid(
            "hash cache entry",
            format!("{} {what} digests do not cover {size} bytes in {what}s of {unit}", digests.len()),
        ));
    }
    serde_json::to_string(digests).map_err(|e| Error::store(format!("encoding {what} digests: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtime_splits_into_seconds_and_nanoseconds() {
        let key = |mtime_ns| FileKey {
            dev: 1,
            ino: 2,
            size: 3,
            mtime_ns,
        };
        assert_eq!(key(1_500_000_000_123_456_789).mtime_parts().unwrap(), (1_500_000_000, 123_456_789));
        // Before the epoch the nanoseconds stay positive and the seconds round down.
        assert_eq!(key(-1).mtime_parts().unwrap(), (-1, 999_999_999));
        assert_eq!(key(i128::MAX).mtime_parts().unwrap_err().code(), crate::ErrorCode::InvalidInput);
    }

    #[test]
    fn large_device_and_inode_numbers_are_kept_bit_for_bit() {
        let key = FileKey {
            dev: u64::MAX,
            ino: 1 << 63,
            size: 0,
            mtime_ns: 0,
        };
        let columns = key.columns().unwrap();
        assert_eq!(columns[0] as u64, u64::MAX);
        assert_eq!(columns[1] as u64, 1 << 63);
    }

    #[test]
    fn path_identity_is_stable() {
        // FNV-1a 64 of "" and "a", the published test vectors.
        assert_eq!(path_identity(Path::new("")), 0xcbf2_9ce4_8422_2325);
        assert_eq!(path_identity(Path::new("a")), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(path_identity(Path::new("/a/b")), path_identity(Path::new("/a/c")));
    }

    #[cfg(unix)]
    #[test]
    fn key_of_a_real_file_changes_when_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"one").unwrap();
        let first = FileKey::of(&path, &std::fs::metadata(&path).unwrap()).unwrap();
        assert_eq!(first.size, 3);
        std::fs::write(&path, b"three").unwrap();
        let second = FileKey::of(&path, &std::fs::metadata(&path).unwrap()).unwrap();
        assert_eq!((first.dev, first.ino), (second.dev, second.ino));
        assert_ne!(first, second);
    }
}
