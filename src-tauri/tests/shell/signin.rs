//! Sign-in by a code entered at the cloud's website (HalalCloud's device flow) through the commands, against
//! an in-process fake cloud: start → the user approves → finish saves the account, which then uploads; cancel
//! stops a waiting finish; ids that are gone are `not_found`.

use crate::support::Shell;
use pandrop_fakecloud::RunningCloud;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(crate) fn cloud(dir: &std::path::Path) -> RunningCloud {
    let mut config = pandrop_fakecloud::Config::new(dir);
    config.halalcloud.device_poll_interval_secs = 1;
    tauri::async_runtime::block_on(pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), config)).unwrap()
}

/// Enters `code` at the website, as the user would.
pub(crate) fn approve(cloud: &RunningCloud, code: &str) {
    let url = format!("{}/_admin/halalcloud/approve", cloud.base_url());
    let answer = tauri::async_runtime::block_on(async {
        reqwest::Client::new()
            .post(url)
            .json(&json!({"user_code": code}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    assert_eq!(answer["ok"], true, "{answer}");
}

pub(crate) fn input(name: &str) -> Value {
    json!({"id": null, "provider": "halalcloud", "name": name, "endpoint": null, "defaultDir": "/signed-in",
           "fields": {}, "secret": null})
}

/// Runs `device_sign_in_finish` on another thread (it waits for the user).
pub(crate) fn finish_in_background(shell: &Shell, id: &Value, input: Value) -> std::thread::JoinHandle<Result<Value, Value>> {
    let (webview, transcript) = (shell.webview.clone(), std::sync::Arc::clone(&shell.transcript));
    let args = json!({"id": id, "input": input});
    std::thread::spawn(move || crate::support::invoke_on(&webview, &transcript, "device_sign_in_finish", args))
}

#[test]
fn a_code_approved_at_the_website_saves_an_account_that_uploads() {
    let shell = Shell::start();
    let cloud_dir = tempfile::TempDir::new().unwrap();
    let cloud = cloud(cloud_dir.path());

    let providers = shell.ok("app_info", json!({}))["providers"].clone();
    let by_kind = |kind: &str| providers.as_array().unwrap().iter().find(|p| p["kind"] == kind).unwrap().clone();
    assert_eq!(by_kind("halalcloud")["signsInByDevice"], true, "{providers}");
    assert_eq!(by_kind("123pan")["signsInByDevice"], false, "{providers}");

    let started = shell.ok(
        "device_sign_in_start",
        json!({"provider": "halalcloud", "endpoint": cloud.halalcloud_url()}),
    );
    let code = started["userCode"].as_str().unwrap().to_owned();
    assert!(!code.is_empty(), "{started}");
    assert!(started["verificationUri"].as_str().unwrap().starts_with("http"), "{started}");
    assert!(started["expiresInSecs"].as_u64().unwrap() > 60, "{started}");
    assert_eq!(
        started.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["expiresInSecs", "id", "userCode", "verificationUri"],
        "nothing but the code and the address reaches the page"
    );

    let waiting = finish_in_background(&shell, &started["id"], input("Signed in"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiting.is_finished(), "the finish waits for the user");
    approve(&cloud, &code);
    let saved = waiting.join().unwrap().expect("device_sign_in_finish");
    assert_eq!(saved["provider"], "halalcloud");
    assert_eq!(saved["name"], "Signed in");
    assert_eq!(saved["endpoint"], cloud.halalcloud_url());
    assert_eq!(saved["hasSecret"], true, "{saved}");
    assert_eq!(shell.ok("profiles_list", json!({})), json!([saved]));

    // The id is used up.
    assert_eq!(
        shell.err_code("device_sign_in_finish", json!({"id": started["id"], "input": input("again")})),
        "not_found"
    );
    assert_eq!(shell.err_code("device_sign_in_cancel", json!({"id": started["id"]})), "not_found");

    // The account works.
    let file = shell.file("signed-in.bin", 5_000_000);
    shell.ok(
        "queue_add_paths",
        json!({"paths": [file], "profileId": saved["id"], "remoteDir": null}),
    );
    let tasks = shell.wait_finished();
    assert_eq!(tasks[0]["state"], "done", "{tasks:?}");
    assert_eq!(tasks[0]["remoteDir"], "/signed-in");
    let listed = tauri::async_runtime::block_on(async {
        reqwest::get(format!("{}/_admin/files", cloud.base_url()))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["provider"] == "halalcloud" && f["path"] == "/signed-in/signed-in.bin" && f["size"] == 5_000_000),
        "{listed}"
    );
    tauri::async_runtime::block_on(cloud.shutdown());
}

#[test]
fn cancel_stops_a_waiting_finish_and_unknown_ids_are_not_found() {
    let shell = Shell::start();
    let cloud_dir = tempfile::TempDir::new().unwrap();
    let cloud = cloud(cloud_dir.path());
    let endpoint = cloud.halalcloud_url();

    assert_eq!(
        shell.err_code("device_sign_in_finish", json!({"id": 77, "input": input("x")})),
        "not_found"
    );
    assert_eq!(shell.err_code("device_sign_in_cancel", json!({"id": 77})), "not_found");
    // Clouds without a sign-in by code, and the sandbox marker, are refused.
    assert_eq!(
        shell.err_code("device_sign_in_start", json!({"provider": "123pan", "endpoint": null})),
        "invalid_input"
    );
    assert_eq!(
        shell.err_code("device_sign_in_start", json!({"provider": "halalcloud", "endpoint": "sandbox"})),
        "invalid_input"
    );

    let first = shell.ok("device_sign_in_start", json!({"provider": "halalcloud", "endpoint": endpoint}));
    let second = shell.ok("device_sign_in_start", json!({"provider": "halalcloud", "endpoint": endpoint}));
    assert_ne!(first["id"], second["id"]);
    assert_ne!(first["userCode"], second["userCode"]);

    // A finish for another cloud is refused before it waits, and the sign-in stays.
    let mut wrong = input("Wrong cloud");
    wrong["provider"] = json!("6pan-v2");
    assert_eq!(
        shell.err_code("device_sign_in_finish", json!({"id": first["id"], "input": wrong})),
        "invalid_input"
    );

    let waiting = finish_in_background(&shell, &first["id"], input("Never"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        shell.err_code("device_sign_in_finish", json!({"id": first["id"], "input": input("Twice")})),
        "conflict"
    );
    let t0 = Instant::now();
    shell.ok("device_sign_in_cancel", json!({"id": first["id"]}));
    let answer = waiting.join().unwrap().expect_err("a cancelled finish fails");
    assert_eq!(answer["code"], "cancelled", "{answer}");
    assert!(t0.elapsed() < Duration::from_secs(2), "cancel stops the wait at once");
    assert_eq!(shell.err_code("device_sign_in_cancel", json!({"id": first["id"]})), "not_found");
    // Approving the cancelled code afterwards saves nothing.
    approve(&cloud, first["userCode"].as_str().unwrap());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(shell.ok("profiles_list", json!({})), json!([]));

    // The other sign-in was left alone: it still finishes.
    let waiting = finish_in_background(&shell, &second["id"], input("Second"));
    approve(&cloud, second["userCode"].as_str().unwrap());
    let saved = waiting.join().unwrap().expect("the second sign-in finishes");
    assert_eq!(saved["name"], "Second");

    // A sign-in still waiting when the app stops is cancelled by the shutdown.
    let third = shell.ok("device_sign_in_start", json!({"provider": "halalcloud", "endpoint": endpoint}));
    let waiting = finish_in_background(&shell, &third["id"], input("At exit"));
    std::thread::sleep(Duration::from_millis(300));
    tauri::async_runtime::block_on(shell.state().shutdown());
    let answer = waiting.join().unwrap().expect_err("shutdown stops the wait");
    assert_eq!(answer["code"], "cancelled", "{answer}");
    tauri::async_runtime::block_on(cloud.shutdown());
}
