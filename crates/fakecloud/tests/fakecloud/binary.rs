//! The `pandrop-fakecloud` binary: first stdout line, real HTTP, graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

#[tokio::test]
async fn binary_prints_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pandrop-fakecloud"))
        .args(["--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args([
            "--client-id",
            "cid",
            "--client-secret",
            "csecret",
            "--slice-size",
            "4096",
            "--no-servers",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = first
        .trim_end()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("{first:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/123pan/api/v1/access_token"))
        .header("Platform", "open_platform")
        .json(&json!({ "clientID": "cid", "clientSecret": "csecret" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["data"]["accessToken"].as_str().unwrap().to_owned();
    let created: Value = http
        .post(format!("{base}/123pan/upload/v2/file/create"))
        .header("Platform", "open_platform")
        .bearer_auth(&token)
        .json(&json!({ "parentFileID": 0, "filename": "a", "etag": "0cc175b9c0f1b6a831c399e269772661", "size": 9000 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["data"]["sliceSize"], 4096, "{created}");
    assert_eq!(created["data"]["servers"], json!([]), "{created}");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(code) = child.try_wait().unwrap() {
            exited = Some(code);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let code = exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the server did not stop on SIGTERM")
    });
    assert!(code.success(), "{code:?}");
}

#[tokio::test]
async fn binary_takes_the_6pan_and_wcs_flags() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pandrop-fakecloud"))
        .args(["--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args([
            "--pan6-login",
            "someone",
            "--v1-form-upload-url",
            "--fsize-limit",
            "10",
            "--upload-token-lifetime-secs",
            "60",
            "--wcs-access-key",
            "ak",
        ])
        .env("PANDROP_FAKECLOUD_PAN6_PASSWORD", "pw")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = first.trim_end().strip_prefix("listening ").unwrap().to_owned();
    let http = reqwest::Client::new();
    let password = hex::encode(openssl::hash::hash(openssl::hash::MessageDigest::md5(), b"pw").unwrap());
    let login = http
        .post(format!("{base}/6pan/v1/user/login"))
        .json(&json!({ "value": "someone", "password": password }))
        .send()
        .await
        .unwrap();
    let login: Value = login.json().await.unwrap();
    let token = login["token"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned();
    let miss: Value = http
        .post(format!("{base}/6pan/v1/store/token"))
        .bearer_auth(&token)
        .json(&json!({ "name": "a.bin" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(miss["result"]["uploadUrl"], format!("{base}/wcs/file/upload"), "{miss}");
    let upload_token = miss["result"]["token"].as_str().unwrap();
    assert!(upload_token.starts_with("ak:"), "{upload_token}");
    let policy = upload_token.rsplit(':').next().unwrap();
    let policy: Value =
        serde_json::from_slice(&base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE, policy).unwrap()).unwrap();
    assert_eq!(policy["fsizeLimit"], 10);
    let deadline: i64 = policy["deadline"].as_str().unwrap().parse().unwrap();
    let left = deadline - chrono::Utc::now().timestamp_millis();
    assert!((50_000..=61_000).contains(&left), "{left}");

    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn binary_takes_qps_flags() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pandrop-fakecloud"))
        .args(["--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args([
            "--qps",
            "123pan/access_token=1",
            "--qps",
            "123pan/mkdir=2",
            "--qps",
            "123pan/list=3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = first.trim_end().strip_prefix("listening ").unwrap().to_owned();
    let http = reqwest::Client::new();
    let limits: Value = http
        .get(format!("{base}/_admin/rate-limits"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(limits, json!({ "123pan/access_token": 1, "123pan/list": 3, "123pan/mkdir": 2 }));
    let mut codes = Vec::new();
    for _ in 0..2 {
        let token: Value = http
            .post(format!("{base}/123pan/api/v1/access_token"))
            .header("Platform", "open_platform")
            .json(&json!({ "clientID": "demo", "clientSecret": "demo-secret" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        codes.push(token["code"].clone());
    }
    assert_eq!(codes, [json!(0), json!(429)]);

    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn binary_refuses_bad_qps_flags() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, expected) in [
        ("123pan/nope=2", "unknown route \"123pan/nope\""),
        ("123pan/create=0", "at least 1"),
        ("123pan/create", "ROUTE=N"),
        ("123pan/create=x", "ROUTE=N"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pandrop-fakecloud"))
            .args(["--addr", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .args(["--qps", flag])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        // clap's usage error.
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--qps") && stderr.contains(expected), "{flag}: {stderr}");
    }
}
