//! `pandrop-cli login` stores the 6pan session token in a real Secret Service; `upload` then finds it there
//! and writes the rotated token back. Run by `scripts/test.sh` under `scripts/with-keyring.sh`.

use pandrop_engine::secret::ExposeSecret;
use pandrop_engine::secrets::{KeyringStore, SecretKey, SecretStore};
use std::io::Write;
use std::process::Stdio;

const BIN: &str = env!("CARGO_BIN_EXE_pandrop-cli");

#[tokio::test]
#[ignore = "needs a Secret Service; run under scripts/with-keyring.sh (scripts/test.sh does)"]
async fn login_stores_the_token_and_upload_rotates_it_in_place() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let cloud = pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), pandrop_fakecloud::Config::new(dir.path().join("cloud")))
        .await
        .expect("fakecloud");
    let endpoint = cloud.pan6_url();

    let mut login = std::process::Command::new(BIN)
        .args(["login", "6pan-v2", "--endpoint", &endpoint, "--user", "demo", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn login");
    login.stdin.take().expect("stdin").write_all(b"demo-secret\n").expect("password");
    let out = tokio::task::spawn_blocking(move || login.wait_with_output())
        .await
        .expect("join")
        .expect("login");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("OS keyring") && stdout.contains("6pan-v2 token"), "{stdout}");

    let key = SecretKey::new("6pan-v2 token", url::Url::parse(&endpoint).expect("url").as_str());
    let first = KeyringStore
        .get(&key)
        .expect("keyring")
        .expect("token stored")
        .expose_secret()
        .to_owned();
    assert!(!stdout.contains(&first), "the token itself is never printed");
    assert!(!stdout.contains("demo-secret"));

    let file = dir.path().join("k.bin");
    std::fs::write(&file, b"keyring round trip").expect("write");
    let out = tokio::process::Command::new(BIN)
        .args([
            "upload",
            "--provider",
            "6pan-v2",
            "--endpoint",
            &endpoint,
            "--to",
            "/k",
            "--json",
            file.to_str().expect("utf-8"),
        ])
        .env_remove("PANDROP_6PAN_TOKEN")
        .output()
        .await
        .expect("upload");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rotated = KeyringStore
        .get(&key)
        .expect("keyring")
        .expect("token kept")
        .expose_secret()
        .to_owned();
    assert_ne!(rotated, first, "the rotated token replaced the stored one");
    let shown = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!shown.contains(&first) && !shown.contains(&rotated), "tokens leaked: {shown}");
    KeyringStore.delete(&key).expect("clean up");
}

/// `pandrop-cli login halalcloud`: prints a code, waits while the user enters it at the website, keeps the
/// sign-in in the keyring; `upload` then signs its calls with it, without any key in the environment.
#[tokio::test]
#[ignore = "needs a Secret Service; run under scripts/with-keyring.sh (scripts/test.sh does)"]
async fn login_by_code_keeps_the_sign_in_and_upload_uses_it() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::TempDir::new().expect("tempdir");
    let mut config = pandrop_fakecloud::Config::new(dir.path().join("cloud"));
    config.halalcloud.device_poll_interval_secs = 1;
    let cloud = pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("fakecloud");
    let endpoint = cloud.halalcloud_url();
    let mut login = tokio::process::Command::new(BIN)
        .args(["login", "halalcloud", "--endpoint", &endpoint])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn login");
    let mut lines = tokio::io::BufReader::new(login.stdout.take().expect("stdout")).lines();
    let first = lines.next_line().await.expect("read").expect("a line");
    let code = first.rsplit(' ').next().expect("the code").to_owned();
    assert!(first.starts_with("open http") && first.contains("enter the code"), "{first}");
    let approved = reqwest::Client::new()
        .post(format!("{}/_admin/halalcloud/approve", cloud.base_url()))
        .json(&serde_json::json!({"user_code": code}))
        .send()
        .await
        .expect("approve");
    assert!(approved.status().is_success());
    let done = lines.next_line().await.expect("read").unwrap_or_default();
    let status = login.wait().await.expect("login");
    assert!(status.success() && done.contains("signed in"), "{done}");

    let key = SecretKey::new("halalcloud token", url::Url::parse(&endpoint).expect("url").as_str());
    let stored = KeyringStore.get(&key).expect("keyring").expect("the sign-in is kept");
    assert!(!done.contains(stored.expose_secret()), "the tokens are never printed");

    let file = dir.path().join("h.bin");
    std::fs::write(&file, b"signed in by code").expect("write");
    let out = tokio::process::Command::new(BIN)
        .args(["upload", "--provider", "halalcloud", "--endpoint", &endpoint, "--to", "/code"])
        .arg(&file)
        .env_remove("PANDROP_CLIENT_ID")
        .env_remove("PANDROP_CLIENT_SECRET")
        .output()
        .await
        .expect("upload");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    KeyringStore.delete(&key).expect("clean up");
}
