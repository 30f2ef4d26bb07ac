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
