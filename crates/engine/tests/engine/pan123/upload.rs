//! The main paths: slices in parallel, instant reuse, single-step, folders, duplicate policies.

use pandrop_engine::Error;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::transfer::{self, Outcome};

use super::support::{cloud, cloud_with, md5_of, stored, target, upload};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn multi_slice_upload_with_a_short_last_slice_then_instant() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider();
    let path = cloud.file("movie.bin", 5 * MIB + 12_345, 1);

    let first = upload(&provider, &path, &target("/videos/2026", "movie.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(first.outcome, Outcome::Uploaded);
    assert_eq!(first.bytes_sent, (5 * MIB + 12_345) as u64);
    let file = stored(&cloud, "/videos/2026/movie.bin").await.expect("stored");
    assert_eq!(file["md5"], md5_of(&path));
    assert_eq!(file["size"], 5 * MIB as u64 + 12_345);
    // Six slices, each sent once: the last one short.
    assert_eq!(cloud.requests("123pan/slice").await, 6);

    let again = upload(&provider, &path, &target("/elsewhere", "copy.bin"), DuplicatePolicy::Fail)
        .await
        .expect("instant");
    assert_eq!(again.outcome, Outcome::Instant);
    assert_eq!(again.bytes_sent, 0);
    assert_eq!(cloud.requests("123pan/slice").await, 6, "an instant upload sends no slice");
    assert_eq!(stored(&cloud, "/elsewhere/copy.bin").await.expect("copy")["md5"], md5_of(&path));
}

#[tokio::test]
async fn slice_md5s_from_the_hashing_pass_are_used_at_the_default_slice_size() {
    let cloud = cloud().await;
    let provider = cloud.provider();
    let path = cloud.file("big.bin", 40 * MIB, 2);
    let report = upload(&provider, &path, &target("/", "big.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(report.outcome, Outcome::Uploaded);
    let slices = report.digest.slices.expect("slice md5s computed while hashing");
    assert_eq!(slices.md5.len(), 3);
    assert_eq!(stored(&cloud, "/big.bin").await.expect("stored")["md5"], md5_of(&path));
}

#[tokio::test]
async fn servers_missing_falls_back_to_the_upload_domain() {
    let cloud = cloud_with(|c| {
        c.pan123.slice_size = MIB as u64;
        c.pan123.advertise_servers = false;
    })
    .await;
    let provider = cloud.provider();
    let path = cloud.file("a.bin", 2 * MIB + 1, 3);
    upload(&provider, &path, &target("/", "a.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(cloud.requests("123pan/domain").await, 1);
    assert_eq!(stored(&cloud, "/a.bin").await.expect("stored")["md5"], md5_of(&path));
}

#[tokio::test]
async fn small_files_use_the_single_step_upload() {
    let cloud = cloud().await;
    let provider = cloud.provider_with(|c| c.single_step_max = MIB as u64);
    let path = cloud.file("note.txt", 1000, 4);
    let report = upload(&provider, &path, &target("/docs", "note.txt"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(cloud.requests("123pan/single_create").await, 1);
    assert_eq!(cloud.requests("123pan/create").await, 0);
    assert_eq!(stored(&cloud, "/docs/note.txt").await.expect("stored")["md5"], md5_of(&path));

    // Sent again: the clash is recognised as the same file, not reported as a conflict.
    let again = upload(&provider, &path, &target("/docs", "note.txt"), DuplicatePolicy::Fail)
        .await
        .expect("same file");
    assert_eq!(again.remote, report.remote);
    let other = cloud.file("other.txt", 1000, 44);
    let err = upload(&provider, &other, &target("/docs", "note.txt"), DuplicatePolicy::Fail)
        .await
        .expect_err("clash");
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
}

#[tokio::test]
async fn contain_dir_places_the_file_without_mkdir() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider_with(|c| c.use_contain_dir = true);
    let path = cloud.file("x.bin", MIB + 5, 5);
    upload(&provider, &path, &target("/你好/123", "测试文件.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(cloud.requests("123pan/mkdir").await, 0);
    assert!(stored(&cloud, "/你好/123/测试文件.bin").await.is_some());
}

#[tokio::test]
async fn duplicate_policies() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider();
    let v1 = cloud.file("v1.bin", MIB + 1, 6);
    let v2 = cloud.file("v2.bin", MIB + 2, 7);
    let to = target("/d", "report.bin");
    upload(&provider, &v1, &to, DuplicatePolicy::Fail).await.expect("first");

    // The same bytes again under the same name: already there, nothing sent.
    let same = upload(&provider, &v1, &to, DuplicatePolicy::Fail).await.expect("identical file");
    assert_eq!((same.outcome, same.bytes_sent), (Outcome::Instant, 0));

    let clash = upload(&provider, &v2, &to, DuplicatePolicy::Fail).await.expect_err("clash");
    assert!(matches!(clash, Error::Conflict { .. }), "{clash}");
    assert!(clash.to_string().contains("/d/report.bin"), "{clash}");

    upload(&provider, &v2, &to, DuplicatePolicy::KeepBoth).await.expect("keep both");
    let files = cloud.admin_files().await;
    let in_d: Vec<_> = files
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.starts_with("/d/")))
        .collect();
    assert_eq!(in_d.len(), 2, "{files:?}");
    assert_eq!(stored(&cloud, "/d/report.bin").await.expect("original")["md5"], md5_of(&v1));

    upload(&provider, &v2, &to, DuplicatePolicy::Overwrite).await.expect("overwrite");
    assert_eq!(stored(&cloud, "/d/report.bin").await.expect("replaced")["md5"], md5_of(&v2));
}

#[tokio::test]
async fn completion_is_polled_through_20103_and_completed_false() {
    let cloud = cloud_with(|c| {
        c.pan123.slice_size = MIB as u64;
        c.pan123.complete_pending_polls = 3;
    })
    .await;
    let provider = cloud.provider();
    let path = cloud.file("slow.bin", 2 * MIB, 8);
    let report = upload(&provider, &path, &target("/", "slow.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(cloud.requests("123pan/upload_complete").await, 4);
}

#[tokio::test]
async fn folders_keep_their_structure() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let provider = cloud.provider();
    let root = cloud.dir.path().join("album");
    std::fs::create_dir_all(root.join("2025/summer")).expect("mkdir");
    std::fs::write(root.join("cover.jpg"), super::support::pattern(3000, 9)).expect("write");
    std::fs::write(root.join("2025/summer/beach.jpg"), super::support::pattern(MIB + 7, 10)).expect("write");
    let planned = transfer::plan_paths(&[root], "/backup");
    let mut paths = Vec::new();
    for p in planned {
        let p = p.expect("walkable");
        upload(&provider, &p.path, &p.target, DuplicatePolicy::Fail).await.expect("upload");
        paths.push(p.target.full_path());
    }
    assert_eq!(paths, ["/backup/album/2025/summer/beach.jpg", "/backup/album/cover.jpg"]);
    for p in paths {
        assert!(stored(&cloud, &p).await.is_some(), "{p} missing");
    }
    // /backup, /backup/album, /backup/album/2025, /backup/album/2025/summer: each created once.
    assert_eq!(cloud.requests("123pan/mkdir").await, 4);
}
