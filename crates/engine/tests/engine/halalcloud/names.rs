//! The names and sizes HalalCloud is sent, and what a folder lists. Every name is at most 255 bytes (counted
//! in UTF-8 bytes: no limit is published, and that is what file systems allow), with no control characters,
//! no blank names or path steps; an empty file goes up with no block at all; a listing reads every page.

use pandrop_engine::ErrorCode;
use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};

use super::provider;
use crate::common::{cloud, md5_of, stored, upload};

#[tokio::test]
async fn names_are_checked_before_a_request_and_the_limit_is_in_bytes() {
    let cloud = cloud().await;
    let provider = provider(&cloud).await;
    let file = cloud.file("n.bin", 100, 1);
    // 85 three-byte characters are 255 bytes: sent; 86 are 258: refused.
    let fits = "文".repeat(85);
    upload(
        provider.as_ref(),
        &file,
        &RemoteTarget {
            dir: "/names".into(),
            name: fits.clone(),
        },
        DuplicatePolicy::Fail,
    )
    .await
    .expect("255 bytes");
    assert_eq!(
        stored(&cloud, &format!("/names/{fits}")).await.expect("stored")["md5"],
        md5_of(&file)
    );
    let cases = [
        ("/names", "文".repeat(86), "258 bytes"),
        ("/names", "tab\there".to_owned(), "control character"),
        ("/names", "   ".to_owned(), "not a name"),
        ("/names", ".".to_owned(), "not a name"),
        ("/a\u{7}b", "f.txt".to_owned(), "control character"),
    ];
    for (dir, name, rule) in cases {
        let before = cloud.total_requests().await;
        let target = RemoteTarget {
            dir: dir.into(),
            name: name.clone(),
        };
        let err = upload(provider.as_ref(), &file, &target, DuplicatePolicy::Fail)
            .await
            .expect_err("refused");
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{name:?}: {err}");
        assert!(err.to_string().contains(rule), "{name:?}: {err}");
        assert_eq!(cloud.total_requests().await, before, "{name:?} reached the cloud");
    }
}

#[tokio::test]
async fn an_empty_file_is_finished_with_no_block() {
    let cloud = cloud().await;
    let provider = provider(&cloud).await;
    let empty = cloud.file("empty.txt", 0, 2);
    let target = RemoteTarget {
        dir: "/empty".into(),
        name: "empty.txt".into(),
    };
    let report = upload(provider.as_ref(), &empty, &target, DuplicatePolicy::Fail)
        .await
        .expect("empty");
    assert_eq!((report.bytes_sent, report.remote.size), (0, 0));
    assert!(stored(&cloud, "/empty/empty.txt").await.is_some());
    assert_eq!(cloud.requests("halalcloud/upload/block").await, 0);
    assert_eq!(cloud.requests("halalcloud/upload/finish").await, 1);
}

#[tokio::test]
async fn a_folder_lists_every_page_for_a_picker() {
    let cloud = cloud().await;
    let provider = provider(&cloud).await;
    // More than one page of 100.
    for i in 0..130u64 {
        let file = cloud.file(&format!("l{i}.bin"), 10, i);
        let target = RemoteTarget {
            dir: "/listed".into(),
            name: format!("f{i:03}.bin"),
        };
        upload(provider.as_ref(), &file, &target, DuplicatePolicy::Fail)
            .await
            .expect("upload");
    }
    let entries = provider.list("/listed").await.expect("list").expect("listing is wired");
    assert_eq!(entries.len(), 130);
    assert!(entries.iter().all(|e| !e.folder && e.size == 10 && e.name.starts_with('f')));
    let root = provider.list("/").await.expect("root").expect("listing");
    assert!(root.iter().any(|e| e.folder && e.name == "listed"), "{root:?}");
    assert!(cloud.requests("halalcloud/userfile/list").await >= 3, "two pages and the root");
}
