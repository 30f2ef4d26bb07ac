//! Secrets stay out of the database file: the profile's secret goes to the (here in-memory) keyring, and
//! nothing the store writes holds it.

use pandrop_engine::secrets::{MemoryStore, SecretKey, SecretStore};
use pandrop_engine::store::TaskState;
use secrecy::SecretString;
use std::path::Path;

use super::support::{add, db, profile};

/// The bytes of every file in the database's folder (the database, its WAL and shared-memory files).
fn files_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_secret_reaches_the_database_file() {
    const SECRET: &str = "sk-7f3a9c1e-NEVER-ON-DISK-5b2d";
    const MARKER: &str = "pre-upload-id-5b2d-on-disk";

    let db = db();
    let keyring = MemoryStore::default();
    let p = profile("p1");
    // What the app does on login: the profile to the store, its secret to the keyring under the profile id.
    keyring
        .set(
            &SecretKey::new("123pan client secret", &p.id),
            &SecretString::from(SECRET.to_string()),
        )
        .unwrap();
    db.store.upsert_profile(&p).unwrap();
    let ids = add(&db.store, &["a", "b"]);
    let state = serde_json::json!({"preuploadID": MARKER, "sliceSize": 16_777_216, "server": "http://upload"});
    db.store.save_resume(ids[0], "123pan", &state, Some(1)).unwrap();
    db.store.ack_part(ids[0], 0, Some("ctx-0")).unwrap();
    db.store.finish(ids[1], TaskState::Done, "remote").unwrap();

    let folder = db.path.parent().unwrap().to_path_buf();
    let open = files_bytes(&folder);
    // The scan sees what the store wrote (so it would see a secret, too)…
    assert!(
        open.iter().any(|(_, bytes)| contains(bytes, MARKER.as_bytes())),
        "the scan finds written data"
    );
    // …and the secret is in none of the files.
    for (name, bytes) in &open {
        assert!(!contains(bytes, SECRET.as_bytes()), "the secret is in {name}");
    }

    // Closed (the WAL folded into the main file), still nothing.
    drop(db.store);
    for (name, bytes) in files_bytes(&folder) {
        assert!(!contains(&bytes, SECRET.as_bytes()), "the secret is in {name}");
    }
    assert!(keyring.get(&SecretKey::new("123pan client secret", "p1")).unwrap().is_some());
}
