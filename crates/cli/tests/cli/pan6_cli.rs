//! `pandrop-cli` against the sandbox's 6pan API: uploads by each API generation, instant re-uploads, and a
//! torrent sent on to offline download.

use crate::common::{BIN, Env, env};

use pandrop_engine::http;
use pandrop_engine::provider::pan6::{self, Pan6Api};
use pandrop_engine::secret::{ExposeSecret, secret};
use serde_json::Value;
use std::process::Output;

impl Env {
    async fn token(&self, api: Pan6Api) -> String {
        let endpoint = url::Url::parse(&self.cloud.pan6_url()).expect("url");
        let token = pan6::login(&http::client(), &endpoint, api, "demo", &secret("demo-secret"))
            .await
            .expect("login");
        token.expose_secret().to_owned()
    }

    async fn upload_6pan(&self, provider: &str, token: &str, args: &[&str]) -> Output {
        tokio::process::Command::new(BIN)
            .args(["upload", "--provider", provider, "--endpoint", &self.cloud.pan6_url(), "--json"])
            .args(args)
            .env("PANDROP_6PAN_TOKEN", token)
            .output()
            .await
            .expect("run pandrop-cli")
    }
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[tokio::test]
async fn upload_then_instant_with_each_api() {
    for (name, api) in [("6pan-v2", Pan6Api::V2), ("6pan-v1", Pan6Api::V1)] {
        let env = env().await;
        let token = env.token(api).await;
        let path = env.dir.path().join("random.bin");
        let data: Vec<u8> = (0..20 * 1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        std::fs::write(&path, &data).expect("write");
        let etag = pandrop_engine::hash::etag_of(&data);

        let out = env
            .upload_6pan(name, &token, &["--to", "/six", path.to_str().expect("utf-8")])
            .await;
        assert_eq!(out.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(lines(&out)[0]["status"], "uploaded", "{name}");
        let files = env.admin("files").await;
        let stored = files
            .as_array()
            .expect("array")
            .iter()
            .find(|f| f["path"] == "/six/random.bin")
            .expect("stored");
        assert_eq!(stored["etag"], etag, "{name}");

        let out = env
            .upload_6pan(name, &token, &["--to", "/six", path.to_str().expect("utf-8")])
            .await;
        let again = &lines(&out)[0];
        assert_eq!(again["status"], "instant", "{name}: {again}");
        assert_eq!(again["bytes_sent"], 0, "{name}");
        // Nothing secret on stdout, even though the token rotated.
        assert!(!String::from_utf8_lossy(&out.stdout).contains(&token), "{name}: token on stdout");
    }
}

#[tokio::test]
async fn verbose_says_the_token_was_renewed_without_printing_it() {
    let env = env().await;
    let token = env.token(Pan6Api::V2).await;
    let path = env.dir.path().join("small.bin");
    std::fs::write(&path, b"hello 6pan").expect("write");
    let out = tokio::process::Command::new(BIN)
        .args([
            "-v",
            "upload",
            "--provider",
            "6pan-v2",
            "--endpoint",
            &env.cloud.pan6_url(),
            "--to",
            "/",
            path.to_str().expect("utf-8"),
        ])
        .env("PANDROP_6PAN_TOKEN", &token)
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("renewed the session token") && l.contains("pandrop-cli login")),
        "{stderr}"
    );
    // Neither the first token nor any renewed one (every token is a JWT) is printed.
    let both = format!("{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(!both.contains(&token) && !both.contains("eyJhbGci"), "{both}");
}

#[tokio::test]
async fn a_torrent_goes_to_offline_download() {
    let env = env().await;
    let token = env.token(Pan6Api::V2).await;
    let bstr = |s: &[u8]| [format!("{}:", s.len()).into_bytes(), s.to_vec()].concat();
    let mut torrent = b"d4:infod6:lengthi4096e4:name".to_vec();
    torrent.extend(bstr(b"ubuntu.iso"));
    torrent.extend(b"12:piece lengthi16384e6:pieces");
    torrent.extend(bstr(&[1u8; 20]));
    torrent.extend(b"ee");
    let path = env.dir.path().join("ubuntu.torrent");
    std::fs::write(&path, &torrent).expect("write");

    let out = env
        .upload_6pan("6pan-v2", &token, &["--offline-to", "/dl", path.to_str().expect("utf-8")])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let line = &lines(&out)[0];
    assert_eq!(line["offline"]["tasks"], 1, "{line}");
    let tasks = env.admin("offline").await;
    assert_eq!(tasks[0]["name"], "ubuntu.iso", "{tasks}");
    assert_eq!(tasks[0]["save_path"], "/dl", "{tasks}");
}

#[tokio::test]
async fn offline_to_needs_6pan_and_a_token() {
    let env = env().await;
    let f = env.dir.path().join("x.torrent");
    std::fs::write(&f, b"d4:infodee").expect("write");
    let out = tokio::process::Command::new(BIN)
        .args(["upload", "--provider", "123pan", "--offline-to", "/dl", f.to_str().expect("utf-8")])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = tokio::process::Command::new(BIN)
        .args([
            "upload",
            "--provider",
            "6pan-v1",
            "--endpoint",
            &env.cloud.pan6_url(),
            "--to",
            "/",
            f.to_str().expect("utf-8"),
        ])
        .env_remove("PANDROP_6PAN_TOKEN")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pandrop-cli login 6pan-v1"));
}
