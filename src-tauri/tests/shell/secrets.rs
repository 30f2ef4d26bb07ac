//! The shell's secrets audit: accounts with distinctive credentials upload, fail and are refused, and one is
//! signed in by a code; then no file of the data dir (database, WAL, log at `trace`), no command answer, no
//! queue-channel message and no event the page received holds a secret, a device code or any token the cloud
//! issued.

use crate::support::Shell;
use pandrop_engine::http;
use pandrop_engine::provider::pan6::{self, Pan6Api};
use pandrop_engine::secret::{ExposeSecret, secret};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::Listener;
use tauri::ipc::{Channel, InvokeResponseBody};

const CLIENT_SECRET: &str = "sk-9d2f41-NEVER-ON-DISK-123pan";
const WRONG_SECRET: &str = "sk-0c11e7-WRONG-NEVER-ON-DISK";
const PASSWORD: &str = "pw-5e02aa-NEVER-ON-DISK-6pan";
const FORGED_TOKEN: &str = "tok-77ab03-NEVER-ON-DISK-6pan";
/// Every WCS upload token starts with the AccessKey and a colon.
const ACCESS_KEY: &str = "ak-41c9d0-NEVER-ON-DISK-wcs";
/// The JWT header `{"alg"` in base64url: every bearer token this cloud issues starts with it.
const JWT_HEAD: &str = "eyJhbGci";

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().filter_map(Result::ok) {
        if entry.file_type().is_file() {
            out.push((entry.path().display().to_string(), std::fs::read(entry.path()).unwrap_or_default()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Everything the page hears without asking: queue-channel messages and app events.
fn overhear(shell: &Shell) -> Arc<Mutex<Vec<String>>> {
    let heard: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&heard);
    let channel = Channel::new(move |body| {
        let text = match body {
            InvokeResponseBody::Json(text) => text,
            InvokeResponseBody::Raw(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        sink.lock().unwrap().push(format!("queue channel: {text}"));
        Ok(())
    });
    tauri::async_runtime::block_on(shell.state().hub.subscribe(channel)).unwrap();
    for event in ["paths-received", "queue-paused-all", "queue-resumed-all"] {
        let sink = Arc::clone(&heard);
        shell
            .app
            .listen_any(event, move |e| sink.lock().unwrap().push(format!("{event}: {}", e.payload())));
    }
    heard
}

fn upload(shell: &Shell, profile: &Value, name: &str, len: usize) -> Value {
    let file = shell.file(name, len);
    shell.ok(
        "queue_add_paths",
        json!({"paths": [file], "profileId": profile["id"], "remoteDir": null}),
    );
    shell
        .wait_finished()
        .into_iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} was queued"))
}

/// The plain credential fields: a 123pan clientID, or none.
fn fields(client_id: Option<&str>) -> Value {
    match client_id {
        Some(id) => json!({ "client_id": id }),
        None => json!({}),
    }
}

fn save(shell: &Shell, provider: &str, name: &str, endpoint: &str, client_id: Option<&str>, secret: &str) -> Value {
    let saved = shell.ok(
        "profile_save",
        json!({"input": {"id": null, "provider": provider, "name": name, "endpoint": endpoint,
                         "defaultDir": "/audit", "fields": fields(client_id), "secret": secret}}),
    );
    assert_eq!(saved["hasSecret"], true);
    saved
}

#[test]
fn no_secret_reaches_the_data_dir_the_log_or_the_page() {
    let shell = Shell::start();
    pandrop_lib::logging::init(shell.dir.path(), "trace");
    let heard = overhear(&shell);

    let cloud_dir = tempfile::TempDir::new().unwrap();
    let mut config = pandrop_fakecloud::Config::new(cloud_dir.path());
    config.pan123.client_id = "audit-client".into();
    config.pan123.client_secret = CLIENT_SECRET.into();
    config.pan6.login_value = "audit-user".into();
    config.pan6.password = PASSWORD.into();
    config.pan6.access_key = ACCESS_KEY.into();
    config.halalcloud.device_poll_interval_secs = 1;
    let cloud = tauri::async_runtime::block_on(pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), config)).unwrap();

    // 123pan with the right secret: tested, uploaded, then instant.
    let good = save(&shell, "123pan", "Audit", &cloud.pan123_url(), Some("audit-client"), CLIENT_SECRET);
    let report = shell.ok("profile_test", json!({"id": good["id"]}));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(upload(&shell, &good, "a.bin", 1_300_000)["state"], "done");
    assert_eq!(upload(&shell, &good, "a-again.bin", 1_300_000)["state"], "instant");

    // 123pan with a wrong secret: the test and an upload fail, and say why.
    let wrong = save(
        &shell,
        "123pan",
        "Wrong secret",
        &cloud.pan123_url(),
        Some("audit-client"),
        WRONG_SECRET,
    );
    let report = shell.ok("profile_test", json!({"id": wrong["id"]}));
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(upload(&shell, &wrong, "b.bin", 1000)["state"], "failed");

    // 6pan, both API generations, with real session tokens; then a forged one.
    let mut tokens = Vec::new();
    for (provider, api, len) in [("6pan-v2", Pan6Api::V2, 700_000), ("6pan-v1", Pan6Api::V1, 700_001)] {
        let endpoint = url::Url::parse(&cloud.pan6_url()).unwrap();
        let token = tauri::async_runtime::block_on(pan6::login(&http::client(), &endpoint, api, "audit-user", &secret(PASSWORD)))
            .unwrap()
            .expose_secret()
            .to_owned();
        let profile = save(&shell, provider, provider, &cloud.pan6_url(), None, &token);
        let task = upload(&shell, &profile, &format!("{provider}.bin"), len);
        assert_eq!(task["state"], "done", "{task}");
        tokens.push(token);
    }
    let forged = save(&shell, "6pan-v2", "Forged", &cloud.pan6_url(), None, FORGED_TOKEN);
    shell.ok("profile_test", json!({"id": forged["id"]}));
    assert_eq!(upload(&shell, &forged, "c.bin", 1000)["state"], "failed");
    // HalalCloud signed in by a code entered at the website: the code's tokens become the account's secret.
    let started = shell.ok(
        "device_sign_in_start",
        json!({"provider": "halalcloud", "endpoint": cloud.halalcloud_url()}),
    );
    let waiting = crate::signin::finish_in_background(&shell, &started["id"], crate::signin::input("HalalCloud"));
    crate::signin::approve(&cloud, started["userCode"].as_str().unwrap());
    let halal = waiting.join().unwrap().expect("the sign-in by code saves the account");
    assert_eq!(halal["hasSecret"], true, "{halal}");
    assert_eq!(upload(&shell, &halal, "halal.bin", 600_000)["state"], "done");
    shell.ok("queue_pause_all", json!({}));
    shell.ok("queue_resume_all", json!({}));
    shell.ok("profiles_list", json!({}));

    // A file sent from the file manager: announced by an event, then confirmed to the good account.
    let inbox = shell.start_sendto();
    shell.ok("sendto_ready", json!({}));
    let sent = shell.file("sent.bin", 90_000);
    inbox.push(vec![PathBuf::from(&sent)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let batch = loop {
        let event = heard
            .lock()
            .unwrap()
            .iter()
            .find_map(|h| h.strip_prefix("paths-received: ").map(str::to_owned));
        if let Some(event) = event {
            break serde_json::from_str::<Value>(&event).unwrap()["batch"].clone();
        }
        assert!(Instant::now() < deadline, "the batch was never announced");
        std::thread::sleep(Duration::from_millis(20));
    };
    shell.ok(
        "sendto_confirm",
        json!({"batchId": batch["id"], "profileId": good["id"], "remoteDir": "/sent", "remember": false}),
    );
    let task = shell
        .wait_finished()
        .into_iter()
        .find(|t| t["name"] == "sent.bin")
        .expect("sent.bin queued");
    assert_eq!(task["state"], "done", "{task}");

    // Every 123pan access token the cloud issued, known by value.
    let db = rusqlite::Connection::open(cloud_dir.path().join("meta.sqlite3")).unwrap();
    let issued: Vec<String> = db
        .prepare("SELECT token FROM pan123_tokens")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!issued.is_empty(), "the cloud issued access tokens");
    // Every HalalCloud device code, access token and refresh token.
    let halal_issued: Vec<String> = db
        .prepare("SELECT device_code FROM halal_device_codes UNION ALL SELECT token FROM halal_tokens")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(halal_issued.len() >= 3, "a device code and a token pair: {}", halal_issued.len());

    let mut needles: Vec<(&str, String)> = vec![
        ("the 123pan clientSecret", CLIENT_SECRET.into()),
        ("a wrong 123pan clientSecret", WRONG_SECRET.into()),
        ("the 6pan password", PASSWORD.into()),
        ("a forged 6pan token", FORGED_TOKEN.into()),
        ("a JWT-shaped token", JWT_HEAD.into()),
        ("a WCS upload token", format!("{ACCESS_KEY}:")),
    ];
    needles.extend(tokens.into_iter().map(|t| ("a 6pan session token", t)));
    needles.extend(issued.into_iter().map(|t| ("a 123pan access token", t)));
    needles.extend(halal_issued.into_iter().map(|t| ("a HalalCloud device code or token", t)));

    let page: Vec<(String, Vec<u8>)> = shell
        .transcript
        .lock()
        .unwrap()
        .iter()
        .chain(heard.lock().unwrap().iter())
        .map(|text| {
            (
                format!("IPC {}", text.chars().take(60).collect::<String>()),
                text.clone().into_bytes(),
            )
        })
        .collect();
    assert!(page.iter().any(|(_, b)| contains(b, "\"state\":\"done\"")), "the channel was heard");
    assert!(
        page.iter().any(|(name, _)| name.starts_with("IPC paths-received")),
        "events were heard"
    );
    let open = files(shell.dir.path());
    let log = open
        .iter()
        .find(|(name, _)| name.ends_with("pandrop.log"))
        .expect("the log is written");
    assert!(
        contains(&log.1, "profile saved") && contains(&log.1, "TRACE"),
        "the log holds everything"
    );
    assert!(open.iter().any(|(name, _)| name.ends_with("pandrop.db")));
    let kept = shell.stop();
    let mut hits = Vec::new();
    for (place, bytes) in page.iter().chain(&open).chain(&files(kept.path())) {
        for (what, value) in &needles {
            if contains(bytes, value) {
                hits.push(format!("{what} in {place}"));
            }
        }
    }
    assert!(hits.is_empty(), "secrets found:\n{}", hits.join("\n"));
    tauri::async_runtime::block_on(cloud.shutdown());
}
