//! Local rules: bad names and sizes fail before any request, naming the file and the rule.

use pandrop_engine::Error;
use pandrop_engine::provider::DuplicatePolicy;

use super::support::{cloud, target, upload};

#[tokio::test]
async fn bad_names_are_refused_without_a_request() {
    let cloud = cloud().await;
    let provider = cloud.provider();
    let path = cloud.file("ok.bin", 100, 1);
    for (dir, name, rule) in [
        ("/", "a|b.txt", "'|'"),
        ("/", "what?.txt", "'?'"),
        ("/", "   ", "only of spaces"),
        ("/bad:dir", "f.txt", "':'"),
        ("/", &"x".repeat(256), "256 characters"),
    ] {
        let err = upload(&provider, &path, &target(dir, name), DuplicatePolicy::Fail)
            .await
            .expect_err("refused");
        let Error::InvalidInput { subject, rule: said } = &err else {
            panic!("{err}");
        };
        assert!(said.contains(rule), "{said} should mention {rule}");
        assert!(subject.contains("ok.bin"), "{subject} should name the local file");
    }
    assert_eq!(cloud.total_requests().await, 0, "no request may be sent for a bad name");
}

#[tokio::test]
async fn empty_files_are_refused_with_a_clear_error() {
    let cloud = cloud().await;
    let provider = cloud.provider();
    let path = cloud.file("empty.txt", 0, 1);
    let err = upload(&provider, &path, &target("/", "empty.txt"), DuplicatePolicy::Fail)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("empty (0 bytes)"), "{err}");
    assert!(err.to_string().contains("empty.txt"), "{err}");
    assert_eq!(cloud.total_requests().await, 0);
}

#[tokio::test]
async fn folders_and_missing_files_are_refused() {
    let cloud = cloud().await;
    let provider = cloud.provider();
    let err = upload(&provider, cloud.dir.path(), &target("/", "d"), DuplicatePolicy::Fail)
        .await
        .expect_err("folder");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let missing = cloud.dir.path().join("gone.bin");
    let err = upload(&provider, &missing, &target("/", "gone.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("gone.bin"), "{err}");
    assert_eq!(cloud.total_requests().await, 0);
}
