//! Local mishaps: files that cannot be read, are not regular files, vanish before their turn or change while
//! they are uploaded. Each fails alone, naming the file, and never completes a stale copy on the cloud.

use pandrop_engine::http::ByteRate;
use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};
use pandrop_engine::queue::{Limits, ProviderSource, Queue};
use pandrop_engine::store::{NewTask, Profile, ProviderKind, Store, TaskState};
use pandrop_engine::transfer::{self, Phase, TransferOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_util::sync::CancellationToken;

use super::support::{assert_refused, assert_unreadable, bounded, cloud, cloud_with, pan123, pattern, target, upload};

const MIB: usize = 1024 * 1024;

/// Whether this process reads files whatever their mode says (root, or CAP_DAC_OVERRIDE).
fn reads_past_permissions(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::write(&probe, b"x").expect("probe");
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    std::fs::read(&probe).is_ok()
}

/// A write-only sysfs attribute: a regular file of 4096 bytes that nobody, root included, may open for reading.
fn write_only_sysfs_file() -> Option<PathBuf> {
    let buses = std::fs::read_dir("/sys/bus").ok()?;
    buses
        .filter_map(Result::ok)
        .map(|bus| bus.path().join("uevent"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()) && std::fs::File::open(p).is_err())
}

#[tokio::test]
async fn unreadable_files_fail_alone_naming_the_file_before_a_request() {
    use std::os::unix::fs::PermissionsExt;
    let cloud = cloud().await;
    let provider = pan123(&cloud, |_| {});
    let mut unreadable: Vec<PathBuf> = Vec::new();
    // chmod 000 stops an ordinary user; root reads past it, so it only counts when it really stops reads.
    let locked = cloud.file("locked.bin", 1000, 1);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if !reads_past_permissions(cloud.dir.path()) {
        unreadable.push(locked);
    }
    // Stops root too: the kernel refuses to open a write-only sysfs attribute for reading.
    if let Some(sysfs) = write_only_sysfs_file() {
        unreadable.push(sysfs);
    }
    #[cfg(target_os = "linux")]
    assert!(!unreadable.is_empty(), "no unreadable file could be made on this machine");
    // A path through a regular file, as if a folder had been replaced by a file (ENOTDIR).
    let plain = cloud.file("plain.txt", 10, 2);
    unreadable.push(plain.join("inner.bin"));

    for path in &unreadable {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let err = bounded("unreadable", upload(&provider, path, &target("/u", &name), DuplicatePolicy::Fail))
            .await
            .expect_err("refused");
        assert_unreadable(&err, &path.display().to_string());
    }
    assert_eq!(
        cloud.total_requests().await,
        0,
        "nothing may be sent for a file that cannot be read"
    );
}

#[tokio::test]
async fn fifos_devices_and_folders_are_refused_without_being_opened() {
    let cloud = cloud().await;
    let provider = pan123(&cloud, |_| {});
    let fifo = cloud.dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let link = cloud.dir.path().join("null-link");
    std::os::unix::fs::symlink("/dev/null", &link).expect("symlink");
    let folder = cloud.dir.path().join("folder");
    std::fs::create_dir(&folder).expect("mkdir");
    for (path, rule) in [
        (fifo.as_path(), "a named pipe (FIFO)"),
        (Path::new("/dev/null"), "a character device"),
        (link.as_path(), "a character device"),
        (folder.as_path(), "it is a folder"),
    ] {
        // Opening a FIFO for reading would block until a writer comes: the bound catches that.
        let err = bounded(
            "special file",
            upload(&provider, path, &target("/s", "x.bin"), DuplicatePolicy::Fail),
        )
        .await
        .expect_err("refused");
        assert_refused(&err, &path.display().to_string(), rule);
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
    assert_eq!(cloud.total_requests().await, 0);
}

/// Uploads `len` bytes at 2 MiB/s in 1 MiB slices and runs `change` on the file once bytes are moving.
async fn upload_while_changing(change: fn(&Path)) -> (super::support::Cloud, pandrop_engine::Result<transfer::TransferReport>, PathBuf) {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = pan123(&cloud, |_| {});
    let path = cloud.file("moving.bin", 4 * MIB, 7);
    let rate = ByteRate::unlimited();
    rate.set(Some(2 * MIB as u64));
    let options = TransferOptions {
        parallel_parts: 1,
        rate,
        ..TransferOptions::default()
    };
    let fired = Arc::new(AtomicBool::new(false));
    let at = path.clone();
    let progress = Arc::new(move |p: transfer::Progress| {
        if p.phase == Phase::Uploading && p.done > 0 && !fired.swap(true, Ordering::SeqCst) {
            change(&at);
        }
    });
    let result = bounded(
        "changing upload",
        transfer::upload_file(
            &provider,
            &path,
            &target("/moving", "moving.bin"),
            &options,
            progress,
            &CancellationToken::new(),
        ),
    )
    .await;
    (cloud, result, path)
}

#[tokio::test]
async fn a_file_that_grows_while_uploaded_is_not_completed() {
    let (cloud, result, path) = upload_while_changing(|p| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(p).expect("open");
        f.write_all(&pattern(MIB, 9)).expect("append");
    })
    .await;
    let err = result.expect_err("refused");
    assert_refused(&err, &path.display().to_string(), "changed while it was being uploaded");
    assert!(err.to_string().contains("4194304 bytes when hashed, 5242880 now"), "{err}");
    assert_eq!(
        cloud.requests("123pan/upload_complete").await,
        0,
        "a stale copy must not be completed"
    );
    assert!(cloud.admin_files().await.is_empty());
}

#[tokio::test]
async fn a_file_that_shrinks_while_uploaded_is_not_completed() {
    let (cloud, result, path) = upload_while_changing(|p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .and_then(|f| f.set_len(MIB as u64 + MIB as u64 / 2))
            .expect("truncate");
    })
    .await;
    let err = result.expect_err("refused");
    assert_refused(&err, &path.display().to_string(), "changed while it was being uploaded");
    assert_eq!(cloud.requests("123pan/upload_complete").await, 0);
    assert!(cloud.admin_files().await.is_empty());
}

struct OneAccount(Arc<dyn pandrop_engine::provider::CloudProvider>);

#[async_trait::async_trait]
impl ProviderSource for OneAccount {
    async fn provider(&self, _profile_id: &str) -> pandrop_engine::Result<Arc<dyn pandrop_engine::provider::CloudProvider>> {
        Ok(Arc::clone(&self.0))
    }
}

fn new_task(path: &Path) -> NewTask {
    NewTask {
        profile_id: "p".into(),
        local_path: path.to_path_buf(),
        target: RemoteTarget {
            dir: "/turn".into(),
            name: path.file_name().expect("name").to_string_lossy().into_owned(),
        },
        duplicate: DuplicatePolicy::Fail,
        size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        after: None,
    }
}

#[tokio::test]
async fn a_file_deleted_before_its_turn_fails_alone_and_done_work_stays_done() {
    let cloud = cloud().await;
    let provider: Arc<dyn pandrop_engine::provider::CloudProvider> = Arc::new(pan123(&cloud, |_| {}));
    let store = Arc::new(Store::open(&cloud.dir.path().join("queue.db")).expect("store"));
    store
        .upsert_profile(&Profile {
            id: "p".into(),
            provider: ProviderKind::PAN123,
            name: "p".into(),
            endpoint: "sandbox".into(),
            default_dir: "/".into(),
            settings: serde_json::json!({}),
        })
        .expect("profile");
    let limits = Limits {
        files: 1,
        ..Limits::default()
    };
    // An earlier run finished one file.
    let earlier = cloud.file("earlier.bin", 3000, 1);
    let earlier_id = store.add_tasks(&[new_task(&earlier)]).expect("add")[0];
    let queue = Queue::start(Arc::clone(&store), Arc::new(OneAccount(Arc::clone(&provider))), limits)
        .await
        .expect("queue");
    bounded("first run", queue.wait_idle()).await;
    queue.shutdown().await;

    // Three more; the middle one is deleted after it was queued.
    let files = [("a.bin", 2), ("gone.bin", 3), ("c.bin", 4)].map(|(n, seed)| cloud.file(n, 2 * MIB, seed));
    let ids = store
        .add_tasks(&files.iter().map(|f| new_task(f)).collect::<Vec<_>>())
        .expect("add");
    std::fs::remove_file(&files[1]).expect("delete");
    let queue = Queue::start(Arc::clone(&store), Arc::new(OneAccount(provider)), limits)
        .await
        .expect("queue");
    bounded("second run", queue.wait_idle()).await;
    queue.shutdown().await;

    let state = |id| store.task(id).expect("task").expect("exists");
    assert_eq!(state(earlier_id).state, TaskState::Done, "done work stays done");
    assert_eq!(state(ids[0]).state, TaskState::Done);
    assert_eq!(state(ids[2]).state, TaskState::Done, "the rest of the queue finishes");
    let gone = state(ids[1]);
    assert_eq!(gone.state, TaskState::Failed);
    let error = gone.error.expect("error");
    assert_eq!(error.code, "io");
    assert!(error.message.contains(&files[1].display().to_string()), "{}", error.message);
    assert!(error.message.contains("No such file"), "{}", error.message);
    assert_eq!(cloud.requests("123pan/create").await, 3, "one create per file that exists");
    assert_eq!(store.history(10).expect("history").len(), 3);
}
