//! The queue channel: a snapshot first, then state rows, progress, and one batch_finished when the queue
//! goes idle; a dead channel is dropped.

use crate::support::Shell;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::ipc::{Channel, InvokeResponseBody};

type Messages = Arc<Mutex<Vec<Value>>>;

fn capture() -> (Channel<pandrop_lib::dto::QueueEventDto>, Messages) {
    let messages: Messages = Arc::default();
    let sink = Arc::clone(&messages);
    let channel = Channel::new(move |body| {
        let value = match body {
            InvokeResponseBody::Json(text) => serde_json::from_str(&text).expect("json"),
            InvokeResponseBody::Raw(_) => panic!("the queue channel sends JSON"),
        };
        sink.lock().unwrap().push(value);
        Ok(())
    });
    (channel, messages)
}

fn wait_for(messages: &Messages, what: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = messages.lock().unwrap().clone();
        if what(&seen) {
            return seen;
        }
        assert!(Instant::now() < deadline, "never arrived; got {seen:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kinds(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(|m| m["kind"].as_str().unwrap()).collect()
}

#[test]
fn a_subscriber_sees_a_snapshot_rows_and_the_finished_batch() {
    let shell = Shell::start();
    shell.ok("sandbox_start", json!({}));
    let (channel, messages) = capture();
    tauri::async_runtime::block_on(shell.state().hub.subscribe(channel)).unwrap();
    assert_eq!(*messages.lock().unwrap(), [json!({"kind": "snapshot", "tasks": []})]);

    let file = shell.file("one.bin", 1_200_000);
    shell.ok(
        "queue_add_paths",
        json!({"paths": [file.clone()], "profileId": null, "remoteDir": "/c"}),
    );
    let seen = wait_for(&messages, |m| m.iter().any(|m| m["kind"] == "batch_finished"));
    let kinds = kinds(&seen);
    assert_eq!(kinds[1], "snapshot", "an add sends the queue again: {kinds:?}");
    assert_eq!(seen[1]["tasks"][0]["name"], "one.bin");
    let done = seen.iter().find(|m| m["kind"] == "state" && m["task"]["state"] == "done");
    assert!(done.is_some(), "{kinds:?}");
    let batch = seen.iter().find(|m| m["kind"] == "batch_finished").unwrap();
    assert_eq!(
        batch,
        &json!({"kind": "batch_finished", "uploaded": 1, "instant": 0, "failed": 0, "bytesSaved": 0})
    );

    // A second batch: the same bytes are instant and counted as saved.
    messages.lock().unwrap().clear();
    shell.ok("queue_add_paths", json!({"paths": [file], "profileId": null, "remoteDir": "/d"}));
    let seen = wait_for(&messages, |m| m.iter().any(|m| m["kind"] == "batch_finished"));
    let batch = seen.iter().find(|m| m["kind"] == "batch_finished").unwrap();
    assert_eq!(
        batch,
        &json!({"kind": "batch_finished", "uploaded": 0, "instant": 1, "failed": 0, "bytesSaved": 1_200_000})
    );
}

#[test]
fn progress_is_absolute_and_a_dead_channel_is_dropped() {
    let shell = Shell::start();
    shell.ok("sandbox_start", json!({}));
    // 400 KB/s: a 2 MB file takes long enough for several progress messages.
    let mut settings = shell.ok("settings_get", json!({}));
    settings["speedLimit"] = json!(400_000);
    shell.ok("settings_set", json!({"settings": settings}));

    let (live, messages) = capture();
    let dead_calls = Arc::new(Mutex::new(0_u32));
    let counter = Arc::clone(&dead_calls);
    let dead = Channel::new(move |_| {
        *counter.lock().unwrap() += 1;
        Err(tauri::Error::WebviewNotFound)
    });
    tauri::async_runtime::block_on(shell.state().hub.subscribe(live)).unwrap();
    tauri::async_runtime::block_on(shell.state().hub.subscribe(dead)).unwrap();

    let file = shell.file("big.bin", 2_000_000);
    shell.ok("queue_add_paths", json!({"paths": [file], "profileId": null, "remoteDir": "/p"}));
    let seen = wait_for(&messages, |m| m.iter().any(|m| m["kind"] == "batch_finished"));
    let uploading: Vec<&Value> = seen
        .iter()
        .filter(|m| m["kind"] == "progress")
        .flat_map(|m| m["tasks"].as_array().unwrap())
        .filter(|p| p["phase"] == "uploading")
        .collect();
    assert!(uploading.len() >= 2, "{seen:#?}");
    let dones: Vec<u64> = uploading.iter().map(|p| p["done"].as_u64().unwrap()).collect();
    assert!(dones.windows(2).all(|w| w[0] <= w[1]), "absolute, never going back: {dones:?}");
    assert!(uploading.iter().all(|p| p["total"] == 2_000_000 && p["bytesPerSec"].is_number()));
    assert_eq!(
        *dead_calls.lock().unwrap(),
        1,
        "the dead channel got its snapshot attempt only, then was dropped"
    );
}
