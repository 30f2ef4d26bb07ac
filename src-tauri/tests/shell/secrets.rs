//! A secret saved through `profile_save` reaches the secret store only: no file in the data dir (database,
//! WAL, log, sandbox) holds it, even after it was used and refused.

use crate::support::Shell;
use serde_json::json;
use std::path::Path;

const CLIENT_SECRET: &str = "sk-9d2f41-NEVER-ON-DISK-123pan";
const SESSION_TOKEN: &str = "tok-77ab03-NEVER-ON-DISK-6pan";

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

#[test]
fn saved_secrets_never_reach_the_data_dir() {
    let shell = Shell::start();
    pandrop_lib::logging::init(shell.dir.path(), "debug");
    shell.ok("sandbox_start", json!({}));
    let sandbox = shell.ok("app_info", json!({}))["sandboxUrl"].as_str().unwrap().to_owned();

    // A 123pan account at the sandbox with a wrong secret: the test and an upload fail, and say why.
    let pan123 = shell.ok(
        "profile_save",
        json!({"input": {"id": null, "provider": "123pan", "name": "Wrong secret", "endpoint": format!("{sandbox}/123pan"),
                         "defaultDir": "/x", "clientId": "demo", "secret": CLIENT_SECRET}}),
    );
    assert_eq!(pan123["hasSecret"], true);
    let report = shell.ok("profile_test", json!({"id": pan123["id"]}));
    assert_eq!(report["ok"], false, "{report}");
    assert!(!report.to_string().contains(CLIENT_SECRET));
    let file = shell.file("f.bin", 1000);
    shell.ok(
        "queue_add_paths",
        json!({"paths": [file], "profileId": pan123["id"], "remoteDir": null}),
    );
    let tasks = shell.wait_finished();
    assert_eq!(tasks[0]["state"], "failed", "{tasks:?}");
    assert!(!tasks[0].to_string().contains(CLIENT_SECRET));

    // A 6pan account with a made-up token.
    let pan6 = shell.ok(
        "profile_save",
        json!({"input": {"id": null, "provider": "6pan-v2", "name": "Token", "endpoint": format!("{sandbox}/6pan"),
                         "defaultDir": "/", "clientId": null, "secret": SESSION_TOKEN}}),
    );
    shell.ok("profile_test", json!({"id": pan6["id"]}));
    let listed = shell.ok("profiles_list", json!({})).to_string();
    assert!(!listed.contains(CLIENT_SECRET) && !listed.contains(SESSION_TOKEN), "{listed}");

    let dir = shell.dir.path().to_path_buf();
    let open = files(&dir);
    assert!(
        open.iter()
            .any(|(name, bytes)| name.ends_with("pandrop.log") && contains(bytes, "profile saved")),
        "the log is written"
    );
    assert!(open.iter().any(|(name, _)| name.ends_with("pandrop.db")));
    let kept = shell.stop();
    for (name, bytes) in open.into_iter().chain(files(kept.path())) {
        assert!(!contains(&bytes, CLIENT_SECRET), "the 123pan secret is in {name}");
        assert!(!contains(&bytes, SESSION_TOKEN), "the 6pan token is in {name}");
    }
}
