//! The `pandrop-cli` binary end to end: real processes, real HTTP to an in-process fakecloud.

use crate::common::{BIN, Env, MIB, env, json_lines, md5_hex};

use std::process::Output;

impl Env {
    async fn upload(&self, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("upload")
            .args(["--endpoint", &self.cloud.pan123_url()])
            .args(args)
            .env("PANDROP_CLIENT_ID", "demo")
            .env("PANDROP_CLIENT_SECRET", "demo-secret");
        cmd.output().await.expect("run pandrop-cli")
    }
}

#[tokio::test]
async fn upload_then_instant_on_the_second_run() {
    let env = env().await;
    let path = env.file("r.bin", 40 * MIB, 1);
    let p = path.to_str().expect("utf-8");

    let out = env.upload(&["--to", "/acc", "--json", p]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "uploaded");
    assert_eq!(lines[0]["bytes_sent"], 40 * MIB as u64);
    assert_eq!(lines[0]["md5"], md5_hex(&path));
    let files = env.admin("files").await;
    assert_eq!(files[0]["md5"], md5_hex(&path));
    assert_eq!(files[0]["path"], "/acc/r.bin");

    let out = env.upload(&["--to", "/acc", "--json", p]).await;
    assert_eq!(out.status.code(), Some(0));
    let again = &json_lines(&out)[0];
    assert_eq!(again["status"], "instant");
    assert_eq!(again["bytes_sent"], 0);
    assert_eq!(again["remote_id"], lines[0]["remote_id"]);
}

#[tokio::test]
async fn a_bad_name_fails_alone_and_sends_nothing() {
    let env = env().await;
    let bad = env.file("a|b.txt", 10, 2);
    let good = env.file("good.bin", 2 * MIB, 3);
    let out = env
        .upload(&[
            "--to",
            "/batch",
            "--json",
            "--jobs",
            "1",
            bad.to_str().expect("utf-8"),
            good.to_str().expect("utf-8"),
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let failed = lines
        .iter()
        .find(|l| l["file"].as_str().is_some_and(|f| f.ends_with("a|b.txt")))
        .expect("bad line");
    assert_eq!(failed["status"], "failed");
    let msg = failed["error"].as_str().expect("message");
    assert!(msg.contains("a|b.txt") && msg.contains("'|'") && msg.contains("forbids"), "{msg}");
    let ok = lines
        .iter()
        .find(|l| l["file"].as_str().is_some_and(|f| f.ends_with("good.bin")))
        .expect("good line");
    assert_eq!(ok["status"], "uploaded");
    // Only the good file reached the cloud: one create, nothing named a|b.txt.
    let stats = env.admin("stats").await;
    assert_eq!(stats["routes"]["123pan/create"]["requests"], 1);
    let files = env.admin("files").await;
    assert_eq!(files.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn folders_upload_recursively_in_plain_text_mode() {
    let env = env().await;
    let root = env.dir.path().join("photos");
    std::fs::create_dir_all(root.join("2026")).expect("mkdir");
    std::fs::write(root.join("a.jpg"), b"jpeg-a").expect("write");
    std::fs::write(root.join("2026/b.jpg"), b"jpeg-b").expect("write");
    let out = env.upload(&["--to", "/", root.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("uploaded") && text.contains("/photos/2026/b.jpg"), "{text}");
    let files = env.admin("files").await;
    let mut paths: Vec<&str> = files.as_array().expect("array").iter().filter_map(|f| f["path"].as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/photos/2026/b.jpg", "/photos/a.jpg"]);
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let env = env().await;
    let f = env.file("f.bin", 10, 4);
    let out = tokio::process::Command::new(BIN)
        .args(["upload", "--to", "/x", f.to_str().expect("utf-8")])
        .env_remove("PANDROP_CLIENT_ID")
        .env_remove("PANDROP_CLIENT_SECRET")
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PANDROP_CLIENT_ID"));
    let out = env.upload(&["--to", "relative/dir", f.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = env.upload(&["--to", "/x", "--no-such-flag"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn hash_prints_md5_and_etag() {
    let env = env().await;
    let f = env.file("h.bin", 5 * MIB + 3, 5);
    let out = tokio::process::Command::new(BIN)
        .args(["hash", f.to_str().expect("utf-8")])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields[0], md5_hex(&f));
    assert_eq!(fields[1].len(), 28, "etag is 28 url-safe base64 chars");
    assert_eq!(fields[2], (5 * MIB + 3).to_string());

    let out = tokio::process::Command::new(BIN)
        .args(["hash", "--json", "--slice-size", "1048576", f.to_str().expect("utf-8")])
        .output()
        .await
        .expect("run");
    let line = &json_lines(&out)[0];
    assert_eq!(line["slice_md5"].as_array().map(Vec::len), Some(6));
    assert_eq!(line["md5"], md5_hex(&f));

    let out = tokio::process::Command::new(BIN)
        .args(["hash", "/no/such/file"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file"));
}

#[tokio::test]
async fn sandbox_upload_needs_no_account() {
    let env = env().await;
    let data_home = env.dir.path().join("xdg");
    let f = env.file("s.bin", 3 * MIB, 6);
    let run = || {
        tokio::process::Command::new(BIN)
            .args(["upload", "--sandbox", "--json", "--to", "/demo", f.to_str().expect("utf-8")])
            .env("XDG_DATA_HOME", &data_home)
            .env("HOME", env.dir.path())
            .env_remove("PANDROP_CLIENT_ID")
            .env_remove("PANDROP_CLIENT_SECRET")
            .output()
    };
    let first = run().await.expect("run");
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(json_lines(&first)[0]["status"], "uploaded");
    // The sandbox keeps its files between runs.
    let second = run().await.expect("run");
    assert_eq!(json_lines(&second)[0]["status"], "instant");
    assert!(data_home.join("pandrop/sandbox").exists() || data_home.join("PanDrop/sandbox").exists());
}
