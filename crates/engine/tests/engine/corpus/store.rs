//! The store as a local mishap: a second runner on one store file (two app instances, two `queue run`s).

use pandrop_engine::store::{RunLock, Store};

use super::support::cloud;

#[tokio::test]
async fn a_second_runner_on_one_store_is_refused_naming_it_and_the_store_stays_usable() {
    let cloud = cloud().await;
    let path = cloud.dir.path().join("queue.db");
    let store = Store::open(&path).expect("store");
    let first = RunLock::acquire(&path).expect("first runner");
    let err = RunLock::acquire(&path).expect_err("second runner");
    assert!(
        err.to_string().contains("queue.db") && err.to_string().contains("another process"),
        "{err}"
    );
    // The store itself stays open to both: adding and listing do not need the runner lock.
    let again = Store::open(&path).expect("second connection");
    assert_eq!(again.tasks().expect("tasks").len(), store.tasks().expect("tasks").len());
    drop(first);
    RunLock::acquire(&path).expect("free once the first runner ends");
}
