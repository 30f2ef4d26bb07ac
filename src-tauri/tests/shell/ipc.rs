//! Commands through the real invoke handler on the mock runtime, against the built-in sandbox cloud.

use crate::support::Shell;
use serde_json::json;

#[test]
fn app_info_reports_the_data_dir_and_the_keyring() {
    let shell = Shell::start();
    let info = shell.ok("app_info", json!({}));
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["dataDir"], shell.dir.path().display().to_string());
    assert_eq!(info["keyring"], json!({"available": true, "message": null}));
    assert_eq!(info["sandboxUrl"], json!(null));
}

#[test]
fn without_an_account_adding_files_says_so() {
    let shell = Shell::start();
    let file = shell.file("a.txt", 10);
    assert_eq!(
        shell.err_code("queue_add_paths", json!({"paths": [file], "profileId": null, "remoteDir": null})),
        "no_profile"
    );
    assert_eq!(shell.err_code("profile_activate", json!({"id": "nope"})), "not_found");
    assert_eq!(shell.err_code("profile_test", json!({"id": "nope"})), "not_found");
    assert_eq!(shell.ok("profiles_list", json!({})), json!([]));
}

#[test]
fn the_sandbox_takes_an_upload_and_then_an_instant_one() {
    let shell = Shell::start();
    let profile = shell.ok("sandbox_start", json!({}));
    assert_eq!(profile["sandbox"], true);
    assert_eq!(profile["active"], true);
    assert_eq!(profile["provider"], "123pan");
    assert!(
        shell.ok("app_info", json!({}))["sandboxUrl"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(shell.ok("profile_test", json!({"id": profile["id"]}))["ok"], true);

    let file = shell.file("photo.jpg", 1_300_000);
    let report = shell.ok(
        "queue_add_paths",
        json!({"paths": [file, "/no/such/file"], "profileId": null, "remoteDir": "/demo"}),
    );
    assert_eq!(report["added"], 1, "{report}");
    assert_eq!(report["rejected"][0]["path"], "/no/such/file");
    let tasks = shell.wait_finished();
    assert_eq!(tasks[0]["state"], "done", "{tasks:?}");
    assert_eq!(tasks[0]["remoteDir"], "/demo");

    // The same bytes again: the cloud already has them.
    shell.ok(
        "queue_add_paths",
        json!({"paths": [file], "profileId": profile["id"], "remoteDir": "/again"}),
    );
    let tasks = shell.wait_finished();
    assert_eq!(tasks[1]["state"], "instant", "{tasks:?}");

    assert_eq!(shell.ok("queue_clear_finished", json!({})), 2);
    assert_eq!(shell.ok("queue_retry_failed", json!({})), 0);
}

#[test]
fn tasks_move_and_pause_through_commands() {
    let shell = Shell::start();
    shell.ok("sandbox_start", json!({}));
    let files: Vec<String> = ["a", "b", "c"].iter().map(|n| shell.file(n, 10)).collect();
    // One byte a second: the tasks are still there to pause and move.
    shell.ok("settings_set", json!({"settings": {"filesInParallel": 1, "slicesPerFile": 1, "speedLimit": 1, "duplicate": "keep_both", "language": "en", "theme": "dark"}}));
    shell.ok("queue_add_paths", json!({"paths": files, "profileId": null, "remoteDir": null}));
    let ids: Vec<i64> = shell.state().store.tasks().unwrap().iter().map(|t| t.id.0).collect();
    shell.ok("queue_pause", json!({"ids": ids}));
    shell.ok("queue_move", json!({"ids": [ids[2]], "to": {"before": ids[0]}}));
    shell.ok("queue_move", json!({"ids": [ids[1]], "to": "top"}));
    let order: Vec<String> = shell.state().store.tasks().unwrap().into_iter().map(|t| t.target.name).collect();
    assert_eq!(order, ["b", "c", "a"]);
    shell.ok("queue_remove", json!({"ids": ids}));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !shell.state().store.tasks().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "tasks were not removed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn settings_are_checked_stored_and_kept() {
    let shell = Shell::start();
    let defaults = shell.ok("settings_get", json!({}));
    assert_eq!(defaults["language"], "system");
    let mut changed = defaults.clone();
    changed["filesInParallel"] = json!(4);
    changed["speedLimit"] = json!(5_000_000);
    changed["language"] = json!("zh-CN");
    assert_eq!(shell.ok("settings_set", json!({"settings": changed})), changed);
    assert_eq!(shell.ok("settings_get", json!({})), changed);
    changed["slicesPerFile"] = json!(0);
    assert_eq!(shell.err_code("settings_set", json!({"settings": changed})), "invalid_input");
}

#[test]
fn profiles_are_saved_listed_and_removed() {
    let shell = Shell::start();
    let input = json!({"id": null, "provider": "6pan-v2", "name": "Mine", "endpoint": null, "defaultDir": "backup",
                       "fields": {}, "secret": "token-1"});
    let saved = shell.ok("profile_save", json!({"input": input}));
    assert_eq!(saved["hasSecret"], true);
    assert_eq!(saved["defaultDir"], "/backup");
    assert_eq!(saved["endpoint"], "https://api.6pan.cn");
    let listed = shell.ok("profiles_list", json!({}));
    assert_eq!(listed, json!([saved]));

    let mut edit = input.clone();
    edit["id"] = saved["id"].clone();
    edit["secret"] = json!(null);
    edit["name"] = json!("Renamed");
    assert_eq!(shell.ok("profile_save", json!({"input": edit}))["name"], "Renamed");
    edit["id"] = json!("missing");
    assert_eq!(shell.err_code("profile_save", json!({"input": edit})), "not_found");

    let mut bad = input.clone();
    bad["provider"] = json!("123pan");
    assert_eq!(shell.err_code("profile_save", json!({"input": bad})), "invalid_input");

    shell.ok("profile_remove", json!({"id": saved["id"]}));
    assert_eq!(shell.ok("profiles_list", json!({})), json!([]));
    assert_eq!(shell.err_code("profile_remove", json!({"id": saved["id"]})), "not_found");
}

#[test]
fn a_restart_starts_the_sandbox_again() {
    let shell = Shell::start();
    shell.ok("sandbox_start", json!({}));
    let again = Shell::start_in(shell.stop());
    let info = again.ok("app_info", json!({}));
    assert!(info["sandboxUrl"].is_string(), "{info}");
    assert_eq!(again.ok("profiles_list", json!({}))[0]["active"], true);
}

#[test]
fn the_page_can_queue_only_what_the_user_handed_over() {
    let shell = Shell::start();
    shell.ok("sandbox_start", json!({}));
    let outside = shell.dir.path().join("not-dropped.txt");
    std::fs::write(&outside, b"private").unwrap();
    let dropped = shell.dir.path().join("dropped");
    std::fs::create_dir_all(&dropped).unwrap();
    std::fs::write(dropped.join("inside.txt"), b"shared").unwrap();
    shell.state().grants.allow([dropped.clone()]);
    let report = shell.ok(
        "queue_add_paths",
        json!({"paths": [outside, dropped.join("inside.txt"), dropped.join("../not-dropped.txt")], "profileId": null, "remoteDir": null}),
    );
    assert_eq!(report["added"], 1, "{report}");
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{report}");
    assert!(
        rejected.iter().all(|r| r["message"] == pandrop_lib::grants::NOT_GRANTED),
        "{report}"
    );
    let torrents = shell.ok("offline_add_torrents", json!({"paths": [outside], "profileId": null}));
    assert_eq!(torrents["rejected"][0]["message"], pandrop_lib::grants::NOT_GRANTED);
}
