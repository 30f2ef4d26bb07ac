//! 123pan's access token is shared: runs one after another, runs at the same time and the desktop app use one
//! token per clientID, because the cloud keeps three and a fourth logs the oldest out.

use pandrop_engine::secret::ExposeSecret;
use pandrop_engine::secrets::{KeyringStore, SecretKey, SecretStore};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

use crate::common::{BIN, Env, MIB, env};

impl Env {
    /// `pandrop-cli upload` with the demo account and the given token cache, its data in `<test>/data`.
    async fn upload_with_cache(&self, cache: &str, to: &str, file: &Path) -> Output {
        let data = self.dir.path().join("data");
        tokio::process::Command::new(BIN)
            .args(["upload", "--endpoint", &self.cloud.pan123_url(), "--to", to, "--json"])
            .args(["--token-cache", cache, "--data-dir", data.to_str().expect("utf-8")])
            .arg(file)
            .env("PANDROP_CLIENT_ID", "demo")
            .env("PANDROP_CLIENT_SECRET", "demo-secret")
            .output()
            .await
            .expect("run pandrop-cli")
    }

    /// Requests the cloud has counted on a route.
    async fn route_requests(&self, route: &str) -> u64 {
        self.admin("stats").await["routes"][route]["requests"].as_u64().unwrap_or(0)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What another client of the same clientID would do: take a token of its own.
async fn mint_elsewhere(env: &Env) -> String {
    let reply: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/access_token", env.cloud.pan123_url()))
        .header("Platform", "open_platform")
        .json(&serde_json::json!({"clientID": "demo", "clientSecret": "demo-secret"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    reply["data"]["accessToken"].as_str().expect("a token").to_owned()
}

/// Whether the cloud still takes `token` (a listing of the root).
async fn still_works(env: &Env, token: &str) -> bool {
    let reply: Value = reqwest::Client::new()
        .get(format!("{}/api/v2/file/list?parentFileId=0&limit=1", env.cloud.pan123_url()))
        .header("Platform", "open_platform")
        .bearer_auth(token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    reply["code"] == 0
}

#[tokio::test]
async fn five_runs_share_one_token_kept_in_a_private_file() {
    let env = env().await;
    // Two tokens of another client on the same clientID: a PanDrop that minted two would log one out.
    let others = [mint_elsewhere(&env).await, mint_elsewhere(&env).await];
    for i in 0..5u8 {
        let file = env.file(&format!("run{i}.bin"), 2 * MIB + usize::from(i), i);
        let out = env.upload_with_cache("file", &format!("/runs/{i}"), &file).await;
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", stderr(&out));
        assert!(!stderr(&out).contains("gets a new"), "run {i} kept its token: {}", stderr(&out));
    }
    assert_eq!(
        env.route_requests("123pan/access_token").await,
        3,
        "two for the other client, one for five runs"
    );
    for token in &others {
        assert!(still_works(&env, token).await, "the other client was logged out");
    }

    // The token file: only the user may read it, and it holds the token, not the clientSecret.
    let dir = env.dir.path().join("data/tokens");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("token folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "token"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("read");
    assert!(text.contains("accessToken") && !text.contains("demo-secret"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(&files[0])), (0o700, 0o600));
    }

    // Without a cache the run says what it costs, and mints.
    let file = env.file("uncached.bin", MIB / 2, 9);
    let out = env.upload_with_cache("none", "/runs/none", &file).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("gets a new 123pan access token") && said.contains("--token-cache file"),
        "{said}"
    );
    assert_eq!(env.route_requests("123pan/access_token").await, 4);
}

#[tokio::test]
async fn runs_at_the_same_time_mint_one_token_between_them() {
    let env = env().await;
    let files: Vec<_> = (0..4u8).map(|i| env.file(&format!("c{i}.bin"), 3 * MIB, 20 + i)).collect();
    const TO: [&str; 4] = ["/together/0", "/together/1", "/together/2", "/together/3"];
    let run = |i: usize| env.upload_with_cache("file", TO[i], &files[i]);
    let (a, b, c, d) = tokio::join!(run(0), run(1), run(2), run(3));
    for (i, out) in [a, b, c, d].iter().enumerate() {
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", stderr(out));
    }
    assert_eq!(env.route_requests("123pan/access_token").await, 1);
}

/// The desktop app (the engine with the OS keyring, as the app opens it) uploads while CLI runs come and go
/// with the keyring too: one token between them, nobody logged out, no 401 loop.
#[tokio::test]
#[ignore = "needs a Secret Service; run under scripts/with-keyring.sh (scripts/test.sh does)"]
async fn the_app_and_cli_runs_share_one_token_in_the_keyring() {
    use pandrop_engine::accounts::ProfileInput;
    use pandrop_engine::provider::DuplicatePolicy;
    use pandrop_engine::queue::Limits;
    use pandrop_engine::store::{ProviderKind, TaskState};
    use pandrop_engine::{Engine, EngineConfig};
    use std::sync::Arc;

    let env = env().await;
    let endpoint = env.cloud.pan123_url();
    let key = SecretKey::new("123pan access token demo", url::Url::parse(&endpoint).expect("url").as_str());
    let others = [mint_elsewhere(&env).await, mint_elsewhere(&env).await];

    // The app, its upload slowed so that the CLI runs happen during it.
    let engine = Engine::open(EngineConfig {
        store_path: env.dir.path().join("app/pandrop.db"),
        secrets: Arc::new(KeyringStore),
        limits: Box::new(|_| {
            Ok(Limits {
                upload_bytes_per_sec: Some(2 * MIB as u64),
                ..Limits::default()
            })
        }),
        providers: None,
    })
    .await
    .expect("engine");
    let account = engine
        .accounts()
        .save(ProfileInput {
            id: None,
            provider: ProviderKind::PAN123,
            name: "app".into(),
            endpoint: Some(endpoint.clone()),
            default_dir: "/app".into(),
            fields: [("client_id".to_owned(), "demo".to_owned())].into(),
            secret: Some(pandrop_engine::secret::secret("demo-secret")),
        })
        .expect("profile");
    let big = env.file("app.bin", 12 * MIB, 40);
    let (ids, _) = engine
        .add_paths(vec![big], &account.profile.id, "/app", DuplicatePolicy::Fail)
        .await
        .expect("add");
    // The CLI runs start once the app is sending bytes (it holds its token by then).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while env.route_requests("123pan/slice").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the app never started uploading");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    for i in 0..5u8 {
        let file = env.file(&format!("k{i}.bin"), 2 * MIB, 50 + i);
        let out = env.upload_with_cache("keyring", &format!("/cli/{i}"), &file).await;
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", stderr(&out));
        assert!(!stderr(&out).contains("gets a new"), "run {i} used the keyring: {}", stderr(&out));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let task = loop {
        let task = engine.store().task(ids[0]).expect("read").expect("task");
        if task.state.is_finished() {
            break task;
        }
        assert!(std::time::Instant::now() < deadline, "the app's upload never finished: {task:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(task.state, TaskState::Done, "{task:?}");
    engine.shutdown().await;

    assert_eq!(
        env.route_requests("123pan/access_token").await,
        3,
        "two for the other client, one for PanDrop"
    );
    for token in &others {
        assert!(still_works(&env, token).await, "the other client was logged out");
    }
    let kept = KeyringStore.get(&key).expect("keyring").expect("the token is kept");
    assert!(kept.expose_secret().contains("accessToken"));
    KeyringStore.delete(&key).expect("clean up");
}
