//! The provider conformance suite: one set of tests, run for every cloud the registry knows, against the fake
//! cloud over real HTTP, connected as the apps connect (the registry's factory and the sandbox's demo account).
//!
//! A cloud joins by its registry line and one entry in [`ENTRIES`]: the fake cloud's routes of its parts.

use pandrop_engine::http::RetryPolicy;
use pandrop_engine::provider::registry::{self, ConnectOptions, ConnectRequest};
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy, RemoteTarget};
use pandrop_engine::store::ProviderKind;
use pandrop_engine::transfer::{self, Outcome, Phase, Progress, TransferOptions};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::common::{Cloud, MemoryJournal, cloud_with, md5_of, stored, target, upload, upload_journaled};

const MIB: usize = 1024 * 1024;

/// What the suite needs to know of a cloud's fake routes.
struct Entry {
    /// The registered kind.
    kind: &'static str,
    /// The route of one part's first request (a fault there stops or slows a part).
    part_route: &'static str,
    /// The route that carries a part's bytes (the first one too, except where a part is probed first).
    send_route: &'static str,
    /// The route that opens an upload.
    begin_route: &'static str,
    /// How long a part is on the fake cloud (123pan's slices are set to 1 MiB for the suite).
    part_size: usize,
}

/// Every registered cloud's entry.
const ENTRIES: &[Entry] = &[
    Entry {
        kind: "123pan",
        part_route: "123pan/slice",
        send_route: "123pan/slice",
        begin_route: "123pan/create",
        part_size: MIB,
    },
    Entry {
        kind: "6pan-v1",
        part_route: "wcs/mkblk",
        send_route: "wcs/mkblk",
        begin_route: "6pan/v1/store_token",
        part_size: 4 * MIB,
    },
    Entry {
        kind: "6pan-v2",
        part_route: "wcs/mkblk",
        send_route: "wcs/mkblk",
        begin_route: "6pan/v2/upload_token",
        part_size: 4 * MIB,
    },
    Entry {
        kind: "halalcloud",
        part_route: "halalcloud/upload/probe",
        send_route: "halalcloud/upload/block",
        begin_route: "halalcloud/userfile/create_upload_task",
        part_size: 4 * MIB,
    },
];

/// A fake cloud and a provider of `entry`'s kind connected to it through the registry.
async fn connect(entry: &Entry, retry: RetryPolicy) -> (Cloud, Arc<dyn CloudProvider>) {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = reconnect(&cloud, entry, retry).await;
    (cloud, provider)
}

/// Another provider on the same cloud, as after a restart.
async fn reconnect(cloud: &Cloud, entry: &Entry, retry: RetryPolicy) -> Arc<dyn CloudProvider> {
    let kind: ProviderKind = entry.kind.parse().expect("a registered kind");
    let factory = registry::factory(kind);
    let base = url::Url::parse(&cloud.running.base_url()).expect("url");
    let endpoint = registry::sandbox_endpoint(kind, &base).expect("sandbox endpoint");
    let http = pandrop_engine::http::client();
    let credentials = factory.sandbox_credentials(&http, &endpoint).await.expect("demo account");
    let request = ConnectRequest {
        http,
        endpoint,
        credentials,
        tokens: pandrop_engine::secrets::SharedTokens::in_memory(),
        options: ConnectOptions { single_step_max: 0, retry },
    };
    factory.connect(request).await.expect("connect")
}

fn quick() -> RetryPolicy {
    RetryPolicy::quick()
}

#[test]
fn every_registered_cloud_has_an_entry() {
    for kind in ProviderKind::all() {
        assert!(
            ENTRIES.iter().any(|e| e.kind == kind.as_str()),
            "{kind} is registered but has no conformance entry"
        );
    }
}

#[tokio::test]
async fn the_bytes_arrive_and_progress_ends_at_the_size() {
    for entry in ENTRIES {
        let (cloud, provider) = connect(entry, quick()).await;
        let size = 3 * entry.part_size + 17;
        let path = cloud.file("whole.bin", size, 1);
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let sink = Arc::clone(&seen);
        let options = TransferOptions {
            parallel_parts: 3,
            ..TransferOptions::default()
        };
        let report = transfer::upload_file(
            provider.as_ref(),
            &path,
            &target("/c", "whole.bin"),
            &options,
            Arc::new(move |p| sink.lock().expect("lock").push(p)),
            &CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", entry.kind));
        assert_eq!(report.outcome, Outcome::Uploaded, "{}", entry.kind);
        assert_eq!(report.bytes_sent, size as u64, "{}", entry.kind);
        let file = stored(&cloud, "/c/whole.bin")
            .await
            .unwrap_or_else(|| panic!("{}: not stored", entry.kind));
        assert_eq!(file["md5"], md5_of(&path), "{}", entry.kind);
        let uploading: Vec<Progress> = seen
            .lock()
            .expect("lock")
            .iter()
            .copied()
            .filter(|p| p.phase == Phase::Uploading)
            .collect();
        let last = uploading.last().unwrap_or_else(|| panic!("{}: no upload progress", entry.kind));
        assert_eq!((last.done, last.total), (size as u64, size as u64), "{}", entry.kind);
        assert!(
            uploading.windows(2).all(|w| w[0].done <= w[1].done),
            "{}: progress went back",
            entry.kind
        );
    }
}

#[tokio::test]
async fn bytes_the_cloud_holds_finish_at_once() {
    for entry in ENTRIES {
        let (cloud, provider) = connect(entry, quick()).await;
        let path = cloud.file("first.bin", entry.part_size + 3, 2);
        upload(provider.as_ref(), &path, &target("/i", "first.bin"), DuplicatePolicy::Fail)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", entry.kind));
        let parts_before = cloud.requests(entry.send_route).await;
        let again = upload(provider.as_ref(), &path, &target("/i", "again.bin"), DuplicatePolicy::Fail)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", entry.kind));
        assert_eq!((again.outcome, again.bytes_sent), (Outcome::Instant, 0), "{}", entry.kind);
        assert_eq!(
            cloud.requests(entry.send_route).await,
            parts_before,
            "{}: a part was sent",
            entry.kind
        );
        assert!(stored(&cloud, "/i/again.bin").await.is_some(), "{}", entry.kind);
    }
}

#[tokio::test]
async fn parts_go_in_parallel() {
    for entry in ENTRIES {
        let (cloud, provider) = connect(entry, quick()).await;
        let path = cloud.file("wide.bin", 6 * entry.part_size, 3);
        cloud
            .faults(json!([{"route": entry.part_route, "times": 1000, "action": {"kind": "latency", "ms": 500}}]))
            .await;
        let started = Instant::now();
        upload(provider.as_ref(), &path, &target("/p", "wide.bin"), DuplicatePolicy::Fail)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", entry.kind));
        // Six parts of half a second each take three seconds one after another, one second three at a time.
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2500), "{}: {took:?}", entry.kind);
    }
}

#[tokio::test]
async fn a_restarted_upload_sends_only_the_missing_parts() {
    for entry in ENTRIES {
        let (cloud, provider) = connect(entry, RetryPolicy { max_retries: 0, ..quick() }).await;
        let parts = 8;
        let path = cloud.file("half.bin", parts * entry.part_size, 4);
        let journal = MemoryJournal::default();
        // The first run loses the cloud after four parts began.
        cloud
            .faults(json!([{"route": entry.part_route, "skip": 4, "times": 1000, "action": {"kind": "status", "status": 400}}]))
            .await;
        let err = upload_journaled(provider.as_ref(), &path, &target("/h", "half.bin"), &journal)
            .await
            .expect_err("interrupted");
        let acked = journal.parts.lock().expect("lock").len();
        assert!(acked >= 1, "{}: nothing was acknowledged ({err})", entry.kind);
        cloud.clear_faults().await;
        let before = cloud.requests(entry.part_route).await;

        let restarted = reconnect(&cloud, entry, quick()).await;
        upload_journaled(restarted.as_ref(), &path, &target("/h", "half.bin"), &journal)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", entry.kind));
        let sent = cloud.requests(entry.part_route).await - before;
        assert_eq!(sent, (parts - acked) as u64, "{}: only the missing parts go again", entry.kind);
        let file = stored(&cloud, "/h/half.bin")
            .await
            .unwrap_or_else(|| panic!("{}: not stored", entry.kind));
        assert_eq!(file["md5"], md5_of(&path), "{}", entry.kind);
    }
}

#[tokio::test]
async fn a_passing_fault_is_retried_and_a_refusal_is_not() {
    for entry in ENTRIES {
        let (cloud, provider) = connect(entry, quick()).await;
        let path = cloud.file("f.bin", 2 * entry.part_size, 5);
        cloud
            .faults(json!([{"route": entry.part_route, "times": 1, "action": {"kind": "status", "status": 503}}]))
            .await;
        upload(provider.as_ref(), &path, &target("/f", "f.bin"), DuplicatePolicy::Fail)
            .await
            .unwrap_or_else(|e| panic!("{}: a 503 is retried: {e}", entry.kind));

        let other = cloud.file("g.bin", 2 * entry.part_size, 6);
        cloud
            .faults(json!([{"route": entry.begin_route, "times": 1000, "action": {"kind": "status", "status": 400}}]))
            .await;
        let before = cloud.requests(entry.begin_route).await;
        let err = upload(provider.as_ref(), &other, &target("/f", "g.bin"), DuplicatePolicy::Fail)
            .await
            .expect_err("refused");
        assert!(!err.is_retryable(), "{}: {err}", entry.kind);
        assert_eq!(
            cloud.requests(entry.begin_route).await - before,
            1,
            "{}: a refusal is asked once",
            entry.kind
        );
        assert!(stored(&cloud, "/f/g.bin").await.is_none(), "{}", entry.kind);
    }
}

#[tokio::test]
async fn names_the_cloud_cannot_hold_are_refused_before_a_request() {
    for entry in ENTRIES {
        let (cloud, provider) = connect(entry, quick()).await;
        let long = "名".repeat(256);
        for (name, why) in [(long.as_str(), "256 characters"), ("", "an empty name"), ("..", "a dot step")] {
            let bad = RemoteTarget {
                dir: "/n".into(),
                name: name.into(),
            };
            let path = cloud.file("n.bin", 10, 7);
            let before = cloud.total_requests().await;
            let err = upload(provider.as_ref(), &path, &bad, DuplicatePolicy::Fail).await.expect_err(why);
            assert_eq!(err.code(), pandrop_engine::ErrorCode::InvalidInput, "{}: {why}: {err}", entry.kind);
            assert_eq!(cloud.total_requests().await, before, "{}: {why} reached the cloud", entry.kind);
        }
        assert!(provider.check(&target("/n", "fine.txt"), 10).is_ok(), "{}", entry.kind);
    }
}
