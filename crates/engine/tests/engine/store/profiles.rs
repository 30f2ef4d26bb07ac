//! Profiles: saved, listed, replaced and deleted, without secrets.

use pandrop_engine::ErrorCode;
use pandrop_engine::store::{Profile, ProviderKind};
use serde_json::json;

use super::support::{db, profile};

#[test]
fn profiles_are_saved_listed_replaced_and_deleted() {
    let db = db();
    let second = Profile {
        id: "p2".into(),
        provider: ProviderKind::PAN6_V2,
        name: "Another".into(),
        endpoint: "http://127.0.0.1:8080".into(),
        default_dir: "/".into(),
        settings: json!({"api": "v2", "nested": {"list": [1, 2]}}),
    };
    db.store.upsert_profile(&second).unwrap();
    let third = Profile {
        id: "p3".into(),
        provider: ProviderKind::PAN6_V1,
        name: "zed".into(),
        settings: json!(null),
        ..second.clone()
    };
    db.store.upsert_profile(&third).unwrap();
    assert_eq!(db.store.profile("p2").unwrap(), Some(second.clone()));
    assert_eq!(db.store.profile("nobody").unwrap(), None);
    // By name, ignoring case: "account p1", "Another", "zed".
    let ids: Vec<String> = db.store.profiles().unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(ids, ["p1", "p2", "p3"]);

    let renamed = Profile {
        name: "Renamed".into(),
        provider: ProviderKind::PAN123,
        settings: json!({"parallel": 8}),
        ..second
    };
    db.store.upsert_profile(&renamed).unwrap();
    assert_eq!(db.store.profile("p2").unwrap(), Some(renamed));
    assert_eq!(db.store.profiles().unwrap().len(), 3);

    db.store.delete_profile("p2").unwrap();
    assert_eq!(db.store.profile("p2").unwrap(), None);
    assert_eq!(db.store.profiles().unwrap(), [profile("p1"), third]);
}

#[test]
fn profile_settings_with_a_credential_field_are_refused() {
    let db = db();
    for settings in [
        json!({"clientSecret": "s"}),
        json!({"auth": {"password": "p"}}),
        json!({"session_token": "t"}),
    ] {
        let bad = Profile {
            settings: settings.clone(),
            ..profile("bad")
        };
        let err = db.store.upsert_profile(&bad).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput, "{settings}");
    }
    assert_eq!(db.store.profile("bad").unwrap(), None);
    let err = db.store.upsert_profile(&profile("")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
}

#[test]
fn profiles_serialize_with_the_provider_names() {
    let value = serde_json::to_value(profile("p1")).unwrap();
    assert_eq!(value["provider"], "123pan");
    let back: Profile = serde_json::from_value(value).unwrap();
    assert_eq!(back, profile("p1"));
}
