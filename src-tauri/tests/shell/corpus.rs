//! The first cases of the bad-input corpus (docs/robustness.md), through the app's own commands: each bad file
//! fails alone with an error naming it and the rule, before any request for it; the good file still uploads.

use crate::support::Shell;
use serde_json::{Value, json};

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
