//! Cases of the bad-input corpus (docs/robustness.md) through the app's own commands: each bad file fails alone
//! with an error naming it and the rule, before any request for it, while the good file still uploads; and a
//! second app on the same data dir is refused.

use crate::support::Shell;
use pandrop_engine::secrets::MemoryStore;
use pandrop_lib::error::ErrorCode;
use pandrop_lib::progress::Hooks;
use pandrop_lib::state::{AppState, StateConfig};
use serde_json::{Value, json};
use std::sync::Arc;

/// (file name, bytes, what the error must say).
const CASES: &[(&str, usize, &str)] = &[
    ("colon:name.txt", 10, ":"),
    ("star*name.txt", 10, "*"),
    ("ask?name.txt", 10, "?"),
    ("quote\"name.txt", 10, "\""),
    ("back\\slash.txt", 10, "\\"),
    ("pipe|name.txt", 10, "|"),
    ("angle<name.txt", 10, "<"),
    ("angle>name.txt", 10, ">"),
    ("   ", 10, "spaces"),
    ("empty.bin", 0, "empty"),
];

#[test]
fn bad_files_fail_alone_before_any_request_and_the_good_one_uploads() {
    let shell = Shell::start();
    shell.ok("sandbox_start", json!({}));
    let sandbox = shell.ok("app_info", json!({}))["sandboxUrl"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let mut paths: Vec<String> = CASES.iter().map(|(name, len, _)| shell.file(name, *len)).collect();
    paths.push(shell.file("good.bin", 50_000));

    let report = shell.ok(
        "queue_add_paths",
        json!({"paths": paths, "profileId": null, "remoteDir": "/corpus"}),
    );
    assert_eq!(
        report["rejected"],
        json!([]),
        "every file is queued; the rules are the cloud's: {report}"
    );
    let tasks = shell.wait_finished();
    let task = |name: &str| -> Value {
        tasks
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name:?} queued: {tasks:?}"))
    };
    for (name, _, rule) in CASES {
        let task = task(name);
        assert_eq!(task["state"], "failed", "{task}");
        assert_eq!(task["error"]["code"], "invalid_input", "{task}");
        let message = task["error"]["message"].as_str().unwrap();
        assert!(message.contains(name.trim()) && message.contains(rule), "{name:?}: {message}");
        assert_eq!(task["bytesDone"], 0, "{task}");
    }
    assert_eq!(task("good.bin")["state"], "done");

    // Only the good file reached the cloud.
    let stats: Value =
        tauri::async_runtime::block_on(async { reqwest::get(format!("{sandbox}/_admin/stats")).await.unwrap().json().await.unwrap() });
    let requests = |route: &str| stats["routes"][route]["requests"].as_u64().unwrap_or(0);
    assert_eq!(requests("123pan/create") + requests("123pan/single_create"), 1, "{stats}");
}

/// Two apps on one data dir (the second started where no session bus lets it hand its files to the first):
/// the second is refused before it touches the queue, the first goes on, and the dir is free once it stops.
#[test]
fn a_second_app_on_one_data_dir_is_refused_and_the_first_goes_on() {
    let shell = Shell::start();
    let second = StateConfig {
        data_dir: shell.dir.path().to_path_buf(),
        secrets: Arc::new(MemoryStore::default()),
        hooks: Hooks::default(),
    };
    let err = match tauri::async_runtime::block_on(AppState::open(second)) {
        Ok(_) => panic!("a second app opened the same queue"),
        Err(err) => err,
    };
    assert_eq!(err.code, ErrorCode::Store, "{}", err.message);
    assert!(
        err.message.contains("another process") && err.message.contains("pandrop.db"),
        "{}",
        err.message
    );

    shell.ok("sandbox_start", json!({}));
    let file = shell.file("still.bin", 20_000);
    shell.ok(
        "queue_add_paths",
        json!({"paths": [file], "profileId": null, "remoteDir": "/still"}),
    );
    assert_eq!(shell.wait_finished()[0]["state"], "done");

    let dir = shell.stop();
    let again = Shell::start_in(dir);
    assert_eq!(again.state().store.tasks().unwrap().len(), 1, "the done task stays");
}
