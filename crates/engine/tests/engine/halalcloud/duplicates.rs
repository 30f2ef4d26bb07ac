//! A name that is taken: HalalCloud's open API cannot overwrite, so PanDrop looks first and applies the
//! user's choice itself: fail, keep both (`name (1).ext`), or replace (the old file goes to the trash).

use pandrop_engine::ErrorCode;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::provider::RemoteTarget;

use super::provider;
use crate::common::{cloud, md5_of, stored, upload};

#[tokio::test]
async fn a_taken_name_fails_keeps_both_or_is_replaced_as_asked() {
    let cloud = cloud().await;
    let provider = provider(&cloud).await;
    let target = RemoteTarget {
        dir: "/dup".into(),
        name: "report.pdf".into(),
    };
    let first = cloud.file("first.pdf", 3000, 1);
    upload(provider.as_ref(), &first, &target, DuplicatePolicy::Fail)
        .await
        .expect("first");

    let second = cloud.file("second.pdf", 4000, 2);
    let err = upload(provider.as_ref(), &second, &target, DuplicatePolicy::Fail)
        .await
        .expect_err("taken");
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");

    upload(provider.as_ref(), &second, &target, DuplicatePolicy::KeepBoth)
        .await
        .expect("both");
    assert_eq!(stored(&cloud, "/dup/report (1).pdf").await.expect("kept")["md5"], md5_of(&second));
    assert_eq!(stored(&cloud, "/dup/report.pdf").await.expect("first")["md5"], md5_of(&first));

    let third = cloud.file("third.pdf", 5000, 3);
    upload(provider.as_ref(), &third, &target, DuplicatePolicy::Overwrite)
        .await
        .expect("replaced");
    assert_eq!(stored(&cloud, "/dup/report.pdf").await.expect("new")["md5"], md5_of(&third));
    assert_eq!(cloud.requests("halalcloud/userfile/trash").await, 1);
}
