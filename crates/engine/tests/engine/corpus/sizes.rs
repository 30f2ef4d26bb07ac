//! Sizes: 0 bytes, the 10 GB per-file ceiling (spec §6.2) and the 1 GB single-step ceiling (spec §3.5), with
//! sparse files, so no test writes or reads gigabytes.

use pandrop_engine::Error;
use pandrop_engine::hash::FileDigest;
use pandrop_engine::provider::pan123::{MAX_FILE_SIZE, MAX_SINGLE_STEP_SIZE, Pan123};
use pandrop_engine::provider::{Begin, CloudProvider, DuplicatePolicy, LocalFile};
use pandrop_engine::transfer::{self, Phase, TransferOptions};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use super::support::{Cloud, assert_refused, bounded, cloud, pan123, target, upload};

/// A sparse file of `len` bytes: no disk blocks, reads as zeros.
fn sparse(cloud: &Cloud, name: &str, len: u64) -> PathBuf {
    let path = cloud.dir.path().join(name);
    std::fs::File::create(&path).and_then(|f| f.set_len(len)).expect("sparse file");
    path
}

#[tokio::test]
async fn an_empty_file_is_refused_before_a_request() {
    let cloud = cloud().await;
    let path = cloud.file("empty.bin", 0, 1);
    let err = bounded(
        "empty",
        upload(&pan123(&cloud, |_| {}), &path, &target("/", "empty.bin"), DuplicatePolicy::Fail),
    )
    .await
    .expect_err("refused");
    assert_refused(&err, "empty.bin", "empty (0 bytes)");
    assert_eq!(cloud.total_requests().await, 0);
}

#[tokio::test]
async fn a_sparse_file_over_10_gb_is_refused_at_once_without_reading_it() {
    let cloud = cloud().await;
    let path = sparse(&cloud, "huge.bin", MAX_FILE_SIZE + 1);
    let started = Instant::now();
    let err = bounded(
        "over 10 GB",
        upload(&pan123(&cloud, |_| {}), &path, &target("/", "huge.bin"), DuplicatePolicy::Fail),
    )
    .await
    .expect_err("refused");
    assert_refused(&err, "huge.bin", "at most 10 GB");
    // Reading 10 GB would take far longer than this.
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(cloud.total_requests().await, 0);
}

#[tokio::test]
async fn a_sparse_file_of_exactly_10_gb_passes_the_rules_and_stops_when_cancelled() {
    let cloud = cloud().await;
    let provider = pan123(&cloud, |_| {});
    let path = sparse(&cloud, "ten.bin", MAX_FILE_SIZE);
    let cancel = CancellationToken::new();
    let trip = cancel.clone();
    let hashed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = Arc::clone(&hashed);
    // Cancel as soon as hashing has read something: the rules let the file through.
    let progress = Arc::new(move |p: transfer::Progress| {
        if p.phase == Phase::Hashing && p.done > 0 {
            seen.store(p.done, std::sync::atomic::Ordering::SeqCst);
            trip.cancel();
        }
    });
    let started = Instant::now();
    let result = bounded(
        "10 GB cancelled",
        transfer::upload_file(
            &provider,
            &path,
            &target("/", "ten.bin"),
            &TransferOptions::default(),
            progress,
            &cancel,
        ),
    )
    .await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(hashed.load(std::sync::atomic::Ordering::SeqCst) > 0, "hashing never started");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert_eq!(cloud.total_requests().await, 0, "nothing may be sent before the hash is known");
}

/// A hashed file as `begin` sees it; its MD5 is made up (nothing is sent before the cloud asks for bytes).
fn hashed(path: PathBuf, size: u64) -> LocalFile {
    LocalFile {
        path,
        size,
        digest: FileDigest {
            size,
            md5: Some("0123456789abcdef0123456789abcdef".into()),
            etag: None,
            slices: None,
            blocks: None,
        },
    }
}

#[tokio::test]
async fn over_1_gb_never_takes_the_single_step_upload() {
    let cloud = cloud().await;
    let provider = pan123(&cloud, |c| c.single_step_max = MAX_SINGLE_STEP_SIZE);
    // The hashing pass prepares slice MD5s above the ceiling only.
    assert_eq!(provider.hash_request(MAX_SINGLE_STEP_SIZE).slice_size, None);
    assert!(provider.hash_request(MAX_SINGLE_STEP_SIZE + 1).slice_size.is_some());

    let over = hashed(sparse(&cloud, "over.bin", MAX_SINGLE_STEP_SIZE + 1), MAX_SINGLE_STEP_SIZE + 1);
    let begin = bounded(
        "begin over 1 GB",
        provider.begin(&over, &target("/big", "over.bin"), DuplicatePolicy::Fail),
    )
    .await
    .expect("begin");
    let Begin::Upload(session) = begin else { panic!("not an upload") };
    assert_eq!(session.plan().part_size, 16 * 1024 * 1024, "sliced as the cloud said");
    assert_eq!(session.plan().part_count, 65);
    assert_eq!(cloud.requests("123pan/create").await, 1);
    assert_eq!(cloud.requests("123pan/single_create").await, 0);

    // Exactly 1 GB still may go in one request (nothing is sent until its one part is put).
    let at = hashed(sparse(&cloud, "at.bin", MAX_SINGLE_STEP_SIZE), MAX_SINGLE_STEP_SIZE);
    let begin = bounded(
        "begin at 1 GB",
        provider.begin(&at, &target("/big", "at.bin"), DuplicatePolicy::Fail),
    )
    .await
    .expect("begin");
    let Begin::Upload(session) = begin else { panic!("not an upload") };
    assert_eq!(session.plan().part_count, 1, "one request");
    assert_eq!(cloud.requests("123pan/create").await, 1, "no chunked create for it");
    assert_eq!(
        cloud.requests("123pan/slice").await + cloud.requests("123pan/single_create").await,
        0
    );
}

#[tokio::test]
async fn a_single_step_ceiling_over_1_gb_is_refused() {
    let cloud = cloud().await;
    let endpoint = url::Url::parse(&cloud.running.pan123_url()).expect("url");
    let mut config = pandrop_engine::provider::pan123::Pan123Config::new(endpoint, "demo", pandrop_engine::secret::secret("x"));
    config.single_step_max = MAX_SINGLE_STEP_SIZE + 1;
    let err = Pan123::new(pandrop_engine::http::client(), config).err().expect("refused");
    assert_refused(&err, "single-step threshold", "1 GB");
}
