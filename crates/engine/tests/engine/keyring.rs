//! The OS keyring store against a real Secret Service (gnome-keyring on a private D-Bus session).
//!
//! Needs a Secret Service, so it is not part of a plain `cargo test`: `scripts/test.sh` runs it with
//! `scripts/with-keyring.sh cargo test -p pandrop-engine --test engine -- --ignored keyring::`.

use pandrop_engine::secret::{ExposeSecret, secret};
use pandrop_engine::secrets::{KeyringStore, MemoryStore, SecretKey, SecretStore};

/// Stores, replaces, reads and deletes a secret under a key unique to `case` (tests run in parallel).
fn round_trip(store: &dyn SecretStore, case: &str) {
    let key = SecretKey::new("test token", &format!("http://127.0.0.1:1/{}/{case}", std::process::id()));
    assert!(store.get(&key).expect("read").is_none());
    store.set(&key, &secret("s3cr3t-one")).expect("store");
    assert_eq!(store.get(&key).expect("read").expect("present").expose_secret(), "s3cr3t-one");
    store.set(&key, &secret("s3cr3t-two")).expect("replace");
    assert_eq!(store.get(&key).expect("read").expect("present").expose_secret(), "s3cr3t-two");
    store.delete(&key).expect("delete");
    assert!(store.get(&key).expect("read").is_none());
    store.delete(&key).expect("deleting twice is fine");
}

#[test]
#[ignore = "needs a Secret Service; run under scripts/with-keyring.sh (scripts/test.sh does)"]
fn keyring_store_set_get_delete() {
    round_trip(&KeyringStore, "sync");
}

#[tokio::test]
#[ignore = "needs a Secret Service; run under scripts/with-keyring.sh (scripts/test.sh does)"]
async fn keyring_store_works_inside_an_async_runtime() {
    tokio::task::spawn_blocking(|| round_trip(&KeyringStore, "blocking-pool"))
        .await
        .expect("join");
    round_trip(&KeyringStore, "runtime-thread");
}

#[test]
fn memory_store_set_get_delete() {
    round_trip(&MemoryStore::default(), "memory");
}

#[test]
fn an_unreachable_keyring_is_reported_not_bypassed() {
    // No session bus here: the store must fail plainly rather than fall back to a file.
    let run = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--ignored", "--exact", "keyring::keyring_store_set_get_delete", "--nocapture"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .expect("rerun");
    let out = String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "the keyring test passed without a keyring: {out}");
    assert!(out.contains("keyring:") && out.contains("does not write secrets to disk"), "{out}");
}
