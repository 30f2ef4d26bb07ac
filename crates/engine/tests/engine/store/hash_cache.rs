//! The hash cache: hits, partial hits, merging, invalidation.

use pandrop_engine::ErrorCode;
use pandrop_engine::hash::{FileDigest, HashRequest, SliceDigests, hash_bytes, hash_file};
use pandrop_engine::store::FileKey;
use tokio_util::sync::CancellationToken;

use super::support::db;

fn key(ino: u64, size: u64, mtime_ns: i128) -> FileKey {
    FileKey {
        dev: 2049,
        ino,
        size,
        mtime_ns,
    }
}

const MD5: HashRequest = HashRequest {
    md5: true,
    etag: false,
    slice_size: None,
    block_sha256: None,
};
const ETAG: HashRequest = HashRequest {
    md5: false,
    etag: true,
    slice_size: None,
    block_sha256: None,
};

fn slices(slice_size: u64) -> HashRequest {
    HashRequest {
        md5: true,
        etag: false,
        slice_size: Some(slice_size),
        block_sha256: None,
    }
}

const DATA: &[u8] = b"hello, cached world";

#[test]
fn a_miss_then_a_hit_with_exactly_what_was_asked() {
    let db = db();
    let k = key(1, DATA.len() as u64, 1_700_000_000_123_456_789);
    assert_eq!(db.store.cached_digest(&k, &MD5).unwrap(), None);

    let all = HashRequest {
        md5: true,
        etag: true,
        slice_size: Some(8),
        block_sha256: Some(5),
    };
    db.store.cache_digest(&k, &hash_bytes(DATA, all)).unwrap();
    assert_eq!(db.store.cached_digest(&k, &all).unwrap(), Some(hash_bytes(DATA, all)));
    // Less than everything: the answer is what hashing with that request would give.
    let blocks = HashRequest {
        block_sha256: Some(5),
        ..HashRequest::default()
    };
    for request in [MD5, ETAG, slices(8), blocks, HashRequest::default()] {
        assert_eq!(
            db.store.cached_digest(&k, &request).unwrap(),
            Some(hash_bytes(DATA, request)),
            "{request:?}"
        );
    }
}

#[test]
fn a_partial_entry_is_a_miss() {
    let db = db();
    let k = key(2, DATA.len() as u64, 5);
    db.store.cache_digest(&k, &hash_bytes(DATA, MD5)).unwrap();
    assert!(db.store.cached_digest(&k, &MD5).unwrap().is_some());
    assert_eq!(db.store.cached_digest(&k, &ETAG).unwrap(), None, "md5 cached but etag asked");
    let both = HashRequest {
        md5: true,
        etag: true,
        slice_size: None,
        block_sha256: None,
    };
    assert_eq!(db.store.cached_digest(&k, &both).unwrap(), None);
    assert_eq!(db.store.cached_digest(&k, &slices(4)).unwrap(), None, "no slices cached");

    db.store.cache_digest(&k, &hash_bytes(DATA, slices(4))).unwrap();
    assert!(db.store.cached_digest(&k, &slices(4)).unwrap().is_some());
    assert_eq!(db.store.cached_digest(&k, &slices(5)).unwrap(), None, "slices of another size");
    let blocks = |size| HashRequest {
        block_sha256: Some(size),
        ..HashRequest::default()
    };
    assert_eq!(db.store.cached_digest(&k, &blocks(4)).unwrap(), None, "no blocks cached");
    db.store.cache_digest(&k, &hash_bytes(DATA, blocks(4))).unwrap();
    assert_eq!(db.store.cached_digest(&k, &blocks(4)).unwrap(), Some(hash_bytes(DATA, blocks(4))));
    assert_eq!(db.store.cached_digest(&k, &blocks(8)).unwrap(), None, "blocks of another size");
    assert!(
        db.store.cached_digest(&k, &slices(4)).unwrap().is_some(),
        "slices kept beside blocks"
    );
}

#[test]
fn digests_from_separate_runs_merge_into_one_entry() {
    let db = db();
    let k = key(3, DATA.len() as u64, 9);
    db.store.cache_digest(&k, &hash_bytes(DATA, MD5)).unwrap();
    db.store.cache_digest(&k, &hash_bytes(DATA, ETAG)).unwrap();
    let both = HashRequest {
        md5: true,
        etag: true,
        slice_size: None,
        block_sha256: None,
    };
    assert_eq!(db.store.cached_digest(&k, &both).unwrap(), Some(hash_bytes(DATA, both)));

    // Slices of a new size replace the old ones; md5 and etag stay.
    db.store.cache_digest(&k, &hash_bytes(DATA, slices(4))).unwrap();
    db.store.cache_digest(&k, &hash_bytes(DATA, slices(16))).unwrap();
    assert_eq!(db.store.cached_digest(&k, &slices(4)).unwrap(), None);
    let full = HashRequest {
        md5: true,
        etag: true,
        slice_size: Some(16),
        block_sha256: None,
    };
    assert_eq!(db.store.cached_digest(&k, &full).unwrap(), Some(hash_bytes(DATA, full)));
}

#[test]
fn a_changed_file_misses_and_its_old_entry_is_dropped() {
    let db = db();
    let old = key(4, DATA.len() as u64, 100);
    db.store.cache_digest(&old, &hash_bytes(DATA, MD5)).unwrap();
    // Same inode, written since: new mtime (and here a new size).
    let new_data = b"hello, changed world!";
    let new = key(4, new_data.len() as u64, 200);
    assert_eq!(db.store.cached_digest(&new, &MD5).unwrap(), None);
    db.store.cache_digest(&new, &hash_bytes(new_data, MD5)).unwrap();
    assert_eq!(db.store.cached_digest(&old, &MD5).unwrap(), None, "the stale entry is gone");
    // Another file (another inode) with the same size and mtime is not confused with it.
    let other = key(5, new_data.len() as u64, 200);
    assert_eq!(db.store.cached_digest(&other, &MD5).unwrap(), None);
    // Nanoseconds count.
    assert_eq!(db.store.cached_digest(&key(4, new_data.len() as u64, 201), &MD5).unwrap(), None);
}

#[test]
fn digests_that_do_not_fit_the_key_are_refused() {
    let db = db();
    let k = key(6, 10, 1);
    let wrong_size = hash_bytes(b"abc", MD5);
    assert_eq!(db.store.cache_digest(&k, &wrong_size).unwrap_err().code(), ErrorCode::InvalidInput);
    let short = FileDigest {
        size: 10,
        md5: None,
        etag: None,
        slices: Some(SliceDigests {
            slice_size: 4,
            md5: vec!["0".repeat(32); 2],
        }),
        blocks: None,
    };
    assert_eq!(db.store.cache_digest(&k, &short).unwrap_err().code(), ErrorCode::InvalidInput);
}

#[test]
fn extreme_keys_are_stored() {
    let db = db();
    let digest = hash_bytes(b"", MD5);
    for k in [
        FileKey {
            dev: u64::MAX,
            ino: u64::MAX,
            size: 0,
            mtime_ns: -1_500_000_000,
        },
        FileKey {
            dev: 0,
            ino: 1 << 63,
            size: 0,
            mtime_ns: i128::from(i64::MAX),
        },
    ] {
        db.store.cache_digest(&k, &digest).unwrap();
        assert_eq!(db.store.cached_digest(&k, &MD5).unwrap(), Some(digest.clone()), "{k:?}");
    }
}

#[test]
fn a_real_file_is_found_again_until_it_changes() {
    let db = db();
    let path = db.dir.path().join("payload.bin");
    std::fs::write(&path, DATA).unwrap();
    let k = FileKey::of(&path, &std::fs::metadata(&path).unwrap()).unwrap();
    let digest = hash_file(&path, MD5, &|_| {}, &CancellationToken::new()).unwrap();
    db.store.cache_digest(&k, &digest).unwrap();

    let again = FileKey::of(&path, &std::fs::metadata(&path).unwrap()).unwrap();
    assert_eq!(db.store.cached_digest(&again, &MD5).unwrap(), Some(digest));

    std::fs::write(&path, b"something else entirely").unwrap();
    let changed = FileKey::of(&path, &std::fs::metadata(&path).unwrap()).unwrap();
    assert_eq!(db.store.cached_digest(&changed, &MD5).unwrap(), None);
}
