//! The names and sizes HalalCloud is sent: every name at most 255 bytes (counted in UTF-8 bytes: no limit is
//! published, and that is what file systems allow), no control characters, no blank names or path steps; an
//! empty file goes up with no block at all.

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
