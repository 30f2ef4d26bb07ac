//! Saving, listing, activating and removing profiles; secrets stay in the secret store.

use pandrop_engine::ErrorCode;
use pandrop_engine::accounts::{Accounts, ProfileInput, SANDBOX_ENDPOINT, SANDBOX_PROFILE_ID, secret_key};
use pandrop_engine::http;
use pandrop_engine::secret::{ExposeSecret, secret};
use pandrop_engine::secrets::{MemoryStore, SecretStore};
use pandrop_engine::store::{ProviderKind, Store};
use std::sync::Arc;

pub(crate) fn accounts() -> (Accounts, Arc<Store>, Arc<MemoryStore>) {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let secrets = Arc::new(MemoryStore::default());
    let accounts = Accounts::new(Arc::clone(&store), Arc::clone(&secrets) as Arc<dyn SecretStore>, http::client());
    (accounts, store, secrets)
}

pub(crate) fn pan123_input(name: &str, endpoint: Option<String>, client_secret: Option<&str>) -> ProfileInput {
    ProfileInput {
        id: None,
        provider: ProviderKind::PAN123,
        name: name.into(),
        endpoint,
        default_dir: "/backup".into(),
        fields: [("client_id".to_owned(), "demo".to_owned())].into(),
        secret: client_secret.map(secret),
    }
}

#[test]
fn a_saved_profile_keeps_its_secret_in_the_secret_store_only() {
    let (accounts, store, secrets) = accounts();
    let saved = accounts.save(pan123_input("Mine", None, Some("sk-only-in-keyring"))).unwrap();
    assert!(saved.has_secret && saved.active, "{saved:?}");
    assert_eq!(saved.fields.get("client_id").map(String::as_str), Some("demo"));
    assert_eq!(saved.profile.endpoint, "https://open-api.123pan.com");

    let stored = store.profile(&saved.profile.id).unwrap().unwrap();
    assert!(!stored.settings.to_string().contains("sk-only"), "{stored:?}");
    let kept = secrets.get(&secret_key(&saved.profile.id)).unwrap().unwrap();
    assert_eq!(kept.expose_secret(), "sk-only-in-keyring");
    assert!(
        !format!("{saved:?}{accounts:?}").contains("sk-only"),
        "Debug never shows the secret"
    );

    // An edit without a secret keeps the stored one; a new one replaces it.
    let mut edit = pan123_input("Renamed", None, None);
    edit.id = Some(saved.profile.id.clone());
    let edited = accounts.save(edit.clone()).unwrap();
    assert_eq!((edited.profile.name.as_str(), edited.has_secret), ("Renamed", true));
    edit.secret = Some(secret("sk-2"));
    accounts.save(edit).unwrap();
    assert_eq!(
        secrets.get(&secret_key(&saved.profile.id)).unwrap().unwrap().expose_secret(),
        "sk-2"
    );
}

#[test]
fn a_new_profile_without_its_secret_is_refused() {
    let (accounts, store, _) = accounts();
    let err = accounts.save(pan123_input("Mine", None, None)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("client_secret"), "{err}");
    assert!(store.profiles().unwrap().is_empty());

    let mut missing_id = pan123_input("Mine", None, Some("s"));
    missing_id.fields.clear();
    assert_eq!(accounts.save(missing_id).unwrap_err().code(), ErrorCode::InvalidInput);
    let mut unknown = pan123_input("Mine", None, Some("s"));
    unknown.id = Some("nope".into());
    assert_eq!(accounts.save(unknown).unwrap_err().code(), ErrorCode::InvalidInput);
}

#[test]
fn the_active_profile_is_remembered_and_moves_on_when_removed() {
    let (accounts, store, secrets) = accounts();
    let a = accounts.save(pan123_input("A", None, Some("sa"))).unwrap();
    let b = accounts.save(pan123_input("B", None, Some("sb"))).unwrap();
    assert!(a.active && !b.active, "the first profile becomes active");
    accounts.activate(&b.profile.id).unwrap();

    // A second Accounts over the same store (a restart) sees the same choice.
    let again = Accounts::new(Arc::clone(&store), Arc::clone(&secrets) as Arc<dyn SecretStore>, http::client());
    assert_eq!(again.active_id().unwrap().as_deref(), Some(b.profile.id.as_str()));
    let listed: Vec<(String, bool)> = again.list().unwrap().into_iter().map(|a| (a.profile.name, a.active)).collect();
    assert_eq!(listed, [("A".to_owned(), false), ("B".to_owned(), true)]);

    accounts.remove(&b.profile.id).unwrap();
    assert!(
        secrets.get(&secret_key(&b.profile.id)).unwrap().is_none(),
        "the secret went with it"
    );
    assert_eq!(accounts.active_id().unwrap().as_deref(), Some(a.profile.id.as_str()));
    accounts.remove(&a.profile.id).unwrap();
    assert_eq!(accounts.active_id().unwrap(), None);
    assert_eq!(accounts.activate("gone").unwrap_err().code(), ErrorCode::InvalidInput);
}

#[tokio::test]
async fn the_sandbox_profile_needs_no_secret() {
    let (accounts, _, secrets) = accounts();
    assert!(!accounts.has_sandbox_profile().unwrap());
    let sandbox = accounts.ensure_sandbox_profile().unwrap();
    assert_eq!(sandbox.profile.id, SANDBOX_PROFILE_ID);
    assert_eq!(sandbox.profile.endpoint, SANDBOX_ENDPOINT);
    assert!(sandbox.sandbox && sandbox.active && !sandbox.has_secret);
    assert!(accounts.has_sandbox_profile().unwrap());
    assert!(secrets.get(&secret_key(SANDBOX_PROFILE_ID)).unwrap().is_none());

    // Without a running sandbox there is nothing to connect to.
    let err = accounts.connect(SANDBOX_PROFILE_ID).await.err().expect("no sandbox runs");
    assert!(err.to_string().contains("not running"), "{err}");
}

#[test]
fn tasks_move_before_another_task() {
    use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};
    use pandrop_engine::store::NewTask;
    let (accounts, store, _) = accounts();
    accounts.ensure_sandbox_profile().unwrap();
    let new = |name: &str| NewTask {
        profile_id: SANDBOX_PROFILE_ID.into(),
        local_path: format!("/tmp/{name}").into(),
        target: RemoteTarget {
            dir: "/".into(),
            name: name.into(),
        },
        duplicate: DuplicatePolicy::Fail,
        size: 1,
        after: None,
    };
    let ids = store.add_tasks(&[new("a"), new("b"), new("c"), new("d")]).unwrap();
    store.move_before(&[ids[3], ids[2]], ids[1]).unwrap();
    let order: Vec<String> = store.tasks().unwrap().into_iter().map(|t| t.target.name).collect();
    assert_eq!(order, ["a", "d", "c", "b"]);
    store.move_before(&[ids[1]], ids[0]).unwrap();
    let order: Vec<String> = store.tasks().unwrap().into_iter().map(|t| t.target.name).collect();
    assert_eq!(order, ["b", "a", "d", "c"]);
    assert!(store.move_before(&[ids[0]], pandrop_engine::store::TaskId(999)).is_err());
}
