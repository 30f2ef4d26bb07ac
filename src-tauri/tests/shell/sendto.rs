//! Send-to on the mock runtime: arrivals become one batch, wait for the UI, go where the sheet says, and
//! with "always" later batches are queued without asking.

use pandrop_lib::sendto::SendTo;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tauri::{Listener, Manager};

use crate::support::Shell;

/// The batches the shell announces with `paths-received`, once the UI is ready.
fn announced(shell: &Shell) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    shell.app.listen_any("paths-received", move |event| {
        let payload: Value = serde_json::from_str(event.payload()).unwrap();
        let _ = tx.send(payload["batch"].clone());
    });
    rx
}

#[test]
fn a_burst_waits_for_the_ui_and_goes_where_the_sheet_says() {
    let shell = Shell::start();
    let profile = shell.ok("sandbox_start", json!({}));
    let inbox = shell.start_sendto();
    let a = shell.file("sent/a.bin", 1_100_000);
    let b = shell.file("sent/b.bin", 1_060_000);
    let folder = PathBuf::from(&a).parent().unwrap().to_path_buf();
    // One process per file, as some file managers do, plus repeats and a folder holding both files.
    inbox.push(vec![PathBuf::from(&a)]);
    inbox.push(vec![PathBuf::from(&b), PathBuf::from(&a), folder.join("../sent/b.bin")]);
    inbox.push(vec![PathBuf::from("/no/such/file")]);

    // Before the UI says it is ready, the batch waits in the shell.
    let deadline = Instant::now() + Duration::from_secs(20);
    while shell.app.state::<SendTo>().waiting() == 0 {
        assert!(Instant::now() < deadline, "the burst never became a batch");
        std::thread::sleep(Duration::from_millis(20));
    }
    let events = announced(&shell);
    let batches = shell.ok("sendto_ready", json!({}));
    assert_eq!(batches.as_array().unwrap().len(), 1, "one burst is one batch: {batches}");
    let batch = &batches[0];
    assert_eq!(batch["files"], 2, "{batch}");
    assert_eq!(batch["bytes"], 2_160_000);
    // Canonical and de-duplicated; the missing path stays, so the sheet can say why it will not go.
    let canonical = |p: &str| std::fs::canonicalize(p).unwrap().display().to_string();
    assert_eq!(batch["paths"], json!([canonical(&a), canonical(&b), "/no/such/file"]), "{batch}");
    assert_eq!(batch["rejected"][0]["path"], "/no/such/file");
    assert!(batch["sent"].is_null(), "nothing is remembered yet: the sheet asks");
    assert!(
        shell.state().store.tasks().unwrap().is_empty(),
        "nothing is queued before the answer"
    );

    // A reloaded page asks again and gets the same waiting batch back.
    assert_eq!(shell.ok("sendto_ready", json!({})), json!([batch]));
    let report = shell.ok(
        "sendto_confirm",
        json!({"batchId": batch["id"], "profileId": null, "remoteDir": "/inbox", "remember": true}),
    );
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(
        shell.err_code(
            "sendto_confirm",
            json!({"batchId": batch["id"], "profileId": null, "remoteDir": null, "remember": false})
        ),
        "not_found"
    );
    let tasks = shell.wait_finished();
    assert!(
        tasks.iter().all(|t| t["state"] == "done" && t["remoteDir"] == "/inbox"),
        "{tasks:?}"
    );
    assert_eq!(
        shell.ok("sendto_target", json!({})),
        json!({"profileId": profile["id"], "remoteDir": "/inbox"})
    );

    // A folder, with the target remembered: queued at once, its shape kept under the target.
    inbox.push(vec![folder.clone()]);
    let batch = &events.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(batch["sent"]["added"], 2, "{batch}");
    let tasks = shell.wait_finished();
    assert_eq!(tasks.len(), 4);
    assert!(
        tasks[2..]
            .iter()
            .all(|t| t["remoteDir"] == "/inbox/sent" && t["state"] == "instant"),
        "{tasks:?}"
    );

    // Forgotten: the sheet asks again; dismissed: nothing is queued.
    shell.ok("sendto_forget", json!({}));
    assert_eq!(shell.ok("sendto_target", json!({})), Value::Null);
    inbox.push(vec![PathBuf::from(&a)]);
    let batch = &events.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(batch["sent"].is_null());
    shell.ok("sendto_dismiss", json!({"batchId": batch["id"]}));
    assert_eq!(shell.state().store.tasks().unwrap().len(), 4);
}
