//! The secrets audit: distinctive credentials for every provider go through uploads, refusals, server
//! faults, a run killed mid-upload and a panic. Afterwards no output, log line, process argument nor file
//! the CLI left behind (its SQLite store and WAL included) holds any of them, nor any token the cloud
//! issued: not the ones the test knows by value, and no JWT-shaped string at all.
//!
//! Every run logs at `trace`, so the HTTP stack's own logging (URLs, headers) is searched too.

use pandrop_engine::http;
use pandrop_engine::provider::pan6::{self, Pan6Api};
use pandrop_engine::secret::{ExposeSecret, secret};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_pandrop-cli");
const MIB: usize = 1024 * 1024;
/// The JWT header `{"alg"` in base64url: every bearer token this cloud issues starts with it.
const JWT_HEAD: &str = "eyJhbGci";

/// What the audit looks for, and where it has looked.
struct Audit {
    root: TempDir,
    cloud: pandrop_fakecloud::RunningCloud,
    needles: Vec<(String, String)>,
    /// (what, bytes) of every output and argument list seen.
    seen: Vec<(String, Vec<u8>)>,
}

fn marker(what: &str) -> String {
    format!("AUDIT-{what}-{}", hex::encode(rand_bytes()))
}

fn rand_bytes() -> [u8; 6] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mixed = (nanos as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id());
    let b = mixed.to_le_bytes();
    [b[0], b[1], b[2], b[3], b[4], b[5]]
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn md5_hex(text: &str) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(text.as_bytes()))
}

impl Audit {
    async fn start() -> Self {
        let root = TempDir::new().expect("tempdir");
        let client_secret = marker("123pan-client-secret");
        let halal_secret = marker("halalcloud-client-secret");
        let password = marker("6pan-password");
        let wcs_secret = marker("wcs-secret-key");
        // Every WCS upload token starts with the AccessKey: finding it finds a leaked upload token.
        let access_key = marker("wcs-access-key");
        let mut config = pandrop_fakecloud::Config::new(root.path().join("cloud"));
        config.pan123.client_id = "audit-client".into();
        config.pan123.client_secret = client_secret.clone();
        config.pan123.slice_size = MIB as u64;
        config.pan6.login_value = "audit-user".into();
        config.pan6.password = password.clone();
        config.pan6.secret_key = wcs_secret.clone();
        config.pan6.access_key = access_key.clone();
        config.halalcloud.client_id = "audit-halal".into();
        config.halalcloud.client_secret = halal_secret.clone();
        let cloud = pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), config)
            .await
            .expect("fakecloud");
        for dir in ["home", "data", "files", "config", "cache", "state"] {
            std::fs::create_dir_all(root.path().join(dir)).expect("mkdir");
        }
        let needles = vec![
            ("the 123pan clientSecret".into(), client_secret),
            ("the HalalCloud client secret".into(), halal_secret),
            ("the 6pan password".into(), password.clone()),
            // 6pan logins send the password's MD5: as good as the password.
            ("the 6pan password's MD5".into(), md5_hex(&password)),
            ("the WCS SecretKey".into(), wcs_secret),
            ("a WCS upload token".into(), format!("{access_key}:")),
            ("a JWT-shaped token".into(), JWT_HEAD.into()),
        ];
        Self {
            root,
            cloud,
            needles,
            seen: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn secret(&self, what: &str) -> String {
        self.needles
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, v)| v.clone())
            .expect("known secret")
    }

    fn file(&self, name: &str, len: usize, seed: u8) -> String {
        let path = self.path("files").join(name);
        let data: Vec<u8> = (0..len).map(|i| ((i as u64 * 2_654_435_761) >> 13) as u8 ^ seed).collect();
        std::fs::write(&path, data).expect("write");
        path.display().to_string()
    }

    async fn pan6_token(&mut self, api: Pan6Api) -> String {
        let endpoint = url::Url::parse(&self.cloud.pan6_url()).expect("url");
        let password = secret(self.secret("the 6pan password"));
        let token = pan6::login(&http::client(), &endpoint, api, "audit-user", &password)
            .await
            .expect("login");
        let token = token.expose_secret().to_owned();
        self.needles.push((format!("the 6pan {api:?} session token"), token.clone()));
        token
    }

    async fn faults(&self, plan: Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/_admin/faults", self.cloud.base_url()))
            .json(&plan)
            .send()
            .await
            .expect("faults");
        assert!(resp.status().is_success(), "fault plan refused");
    }

    async fn slice_requests(&self) -> u64 {
        let stats: Value = reqwest::get(format!("{}/_admin/stats", self.cloud.base_url()))
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        stats["routes"]["123pan/slice"]["requests"].as_u64().unwrap_or(0)
    }

    /// The CLI with a private HOME and XDG dirs, logging everything, credentials in the environment only.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("-vv")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("PANDROP_LOG", "trace")
            .env("RUST_BACKTRACE", "full")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn pan123_env(&self) -> [(&'static str, String); 2] {
        [
            ("PANDROP_CLIENT_ID", "audit-client".to_owned()),
            ("PANDROP_CLIENT_SECRET", self.secret("the 123pan clientSecret")),
        ]
    }

    /// Runs the CLI to the end, keeping its argument list (read from `/proc` while it runs) and its output.
    async fn run(&mut self, label: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let child = self.command(args, env).spawn().expect("spawn pandrop-cli");
        self.keep_cmdline(label, child.id());
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("wait");
        self.keep_output(label, &out);
        out
    }

    /// Reads the process's argument list once it has become `pandrop-cli` (right after the fork it is still
    /// a copy of this test).
    fn keep_cmdline(&mut self, label: &str, pid: u32) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match std::fs::read(format!("/proc/{pid}/cmdline")) {
                Ok(cmdline) if contains(&cmdline, "pandrop-cli") => {
                    self.seen.push((format!("{label}: process arguments"), cmdline));
                    return;
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(1)),
                Err(_) => return,
            }
        }
        panic!("{label}: the process never showed its arguments");
    }

    fn keep_output(&mut self, label: &str, out: &Output) {
        self.seen.push((format!("{label}: stdout"), out.stdout.clone()));
        self.seen.push((format!("{label}: stderr"), out.stderr.clone()));
    }

    /// Every file the CLI may have written: its data dir, HOME and the XDG dirs (not the cloud's own), but
    /// the token files of `--token-cache file` (see [`Audit::token_files`]).
    fn files_left(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for dir in ["home", "data", "config", "cache", "state", "queue"] {
            for entry in walk(&self.path(dir)).into_iter().filter(|p| !is_token_file(p)) {
                let bytes = std::fs::read(&entry).unwrap_or_default();
                out.push((entry.display().to_string(), bytes));
            }
        }
        out
    }

    /// The files `--token-cache file` wrote, checked: readable by the user alone, and holding the access
    /// token's record and nothing else a needle finds (no clientSecret, no password).
    fn token_files(&self) -> Vec<PathBuf> {
        let files: Vec<PathBuf> = walk(&self.path("data")).into_iter().filter(|p| is_token_file(p)).collect();
        for file in &files {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(file).expect("stat").permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", file.display());
            }
            let bytes = std::fs::read(file).expect("read");
            assert!(contains(&bytes, "accessToken"), "{}", file.display());
            for (what, value) in self.needles.iter().filter(|(what, _)| what != "a JWT-shaped token") {
                assert!(!contains(&bytes, value), "{what} in {}", file.display());
            }
        }
        files
    }

    fn assert_clean(&self) {
        let files = self.files_left();
        assert!(
            files.iter().any(|(name, _)| name.ends_with(".db") || name.contains("sqlite")),
            "the queue's store is among the files searched: {:?}",
            files.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
        let mut hits = Vec::new();
        for (place, bytes) in self.seen.iter().chain(files.iter()) {
            for (what, value) in &self.needles {
                if contains(bytes, value) {
                    hits.push(format!("{what} in {place}"));
                }
            }
        }
        assert!(hits.is_empty(), "secrets found:\n{}", hits.join("\n"));
    }
}

/// A token file of `--token-cache file`: the one place a minted token may be, by the user's choice.
fn is_token_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "token") && path.parent().is_some_and(|d| d.ends_with("tokens"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => out.extend(walk(&path)),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The tokens the cloud issued to the CLI, read from its own database.
fn issued_123pan_tokens(cloud_dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(cloud_dir.join("meta.sqlite3")).expect("cloud db");
    let mut stmt = conn.prepare("SELECT token FROM pan123_tokens").expect("prepare");
    stmt.query_map([], |row| row.get::<_, String>(0))
        .expect("query")
        .map(|t| t.expect("row"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaves_the_keyring_or_the_wire() {
    let mut audit = Audit::start().await;
    let endpoint123 = audit.cloud.pan123_url();
    let endpoint6 = audit.cloud.pan6_url();
    let [(id_key, id), (secret_key, client_secret)] = audit.pan123_env();
    let env123 = [(id_key, id.as_str()), (secret_key, client_secret.as_str())];

    // 1. A 123pan upload in slices, then the same bytes again (instant).
    let small = audit.file("small.bin", 3 * MIB + 5, 1);
    for label in ["123pan upload", "123pan instant"] {
        let out = audit
            .run(
                label,
                &["upload", "--endpoint", &endpoint123, "--to", "/audit", "--json", &small],
                &env123,
            )
            .await;
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
    }

    // 2. A wrong clientSecret, refused.
    let wrong = marker("wrong-123pan-secret");
    audit.needles.push(("the wrong clientSecret".into(), wrong.clone()));
    let out = audit
        .run(
            "123pan wrong secret",
            &["upload", "--endpoint", &endpoint123, "--to", "/audit", &small],
            &[env123[0], ("PANDROP_CLIENT_SECRET", wrong.as_str())],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(said.contains("authentication failed"), "{said}");

    // 3. An expired token mid-upload (the CLI signs in again) and a permanent server error.
    let other = audit.file("other.bin", 2 * MIB + 9, 2);
    audit
        .faults(json!([
            {"route": "123pan/slice", "skip": 1, "action": {"kind": "expired_token"}},
            {"route": "123pan/upload_complete", "times": 1, "action": {"kind": "code", "code": 1, "message": "文件校验失败"}}
        ]))
        .await;
    let out = audit
        .run(
            "123pan faults",
            &["upload", "--endpoint", &endpoint123, "--to", "/audit", &other],
            &env123,
        )
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the refused completion fails the upload: {}",
        stderr(&out)
    );

    // 4. 6pan, both API generations, with a session token in the environment.
    for (provider, api) in [("6pan-v2", Pan6Api::V2), ("6pan-v1", Pan6Api::V1)] {
        let token = audit.pan6_token(api).await;
        let file = audit.file(&format!("{provider}.bin"), 5 * MIB + 3, 3);
        let label = format!("{provider} upload");
        let out = audit
            .run(
                &label,
                &["upload", "--provider", provider, "--endpoint", &endpoint6, "--to", "/audit", &file],
                &[("PANDROP_6PAN_TOKEN", token.as_str())],
            )
            .await;
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
    }
    // A 6pan token the cloud does not know.
    let forged = marker("forged-6pan-token");
    audit.needles.push(("a forged 6pan token".into(), forged.clone()));
    let out = audit
        .run(
            "6pan forged token",
            &[
                "upload",
                "--provider",
                "6pan-v2",
                "--endpoint",
                &endpoint6,
                "--to",
                "/audit",
                &small,
            ],
            &[("PANDROP_6PAN_TOKEN", forged.as_str())],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // 4b. HalalCloud with a personal key: an upload in blocks, then a wrong secret, refused.
    let halal_secret = audit.secret("the HalalCloud client secret");
    let halal_endpoint = audit.cloud.halalcloud_url();
    let file = audit.file("halal.bin", 5 * MIB + 7, 7);
    let halal_env = [
        ("PANDROP_CLIENT_ID", "audit-halal"),
        ("PANDROP_CLIENT_SECRET", halal_secret.as_str()),
    ];
    let out = audit
        .run(
            "halalcloud upload",
            &[
                "upload",
                "--provider",
                "halalcloud",
                "--endpoint",
                &halal_endpoint,
                "--to",
                "/audit",
                &file,
            ],
            &halal_env,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let wrong_halal = marker("wrong-halal-secret");
    audit.needles.push(("the wrong HalalCloud secret".into(), wrong_halal.clone()));
    let out = audit
        .run(
            "halalcloud wrong secret",
            &[
                "upload",
                "--provider",
                "halalcloud",
                "--endpoint",
                &halal_endpoint,
                "--to",
                "/audit",
                &small,
            ],
            &[halal_env[0], ("PANDROP_CLIENT_SECRET", wrong_halal.as_str())],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // 5. The durable queue: a run killed (SIGKILL) mid-upload, then finished by the next run.
    let queued = audit.file("queued.bin", 8 * MIB, 4);
    let data = audit.path("queue").display().to_string();
    audit
        .faults(json!({"route": "123pan/slice", "times": 1000, "action": {"kind": "latency", "ms": 100}}))
        .await;
    let out = audit
        .run(
            "queue add",
            &[
                "queue",
                "--data-dir",
                &data,
                "add",
                "--endpoint",
                &endpoint123,
                "--to",
                "/q",
                &queued,
            ],
            &env123,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = audit.slice_requests().await;
    let mut child = audit
        .command(&["queue", "--data-dir", &data, "run"], &env123)
        .spawn()
        .expect("queue run");
    audit.keep_cmdline("queue run (killed)", child.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    while audit.slice_requests().await < before + 2 {
        assert!(child.try_wait().expect("try_wait").is_none(), "the run ended before it was killed");
        assert!(Instant::now() < deadline, "no slices were sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let out = child.wait_with_output().expect("wait");
    audit.keep_output("queue run (killed)", &out);
    let out = audit
        .run("queue run (resumed)", &["queue", "--data-dir", &data, "run"], &env123)
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // 6. A panic: standard output is closed under the CLI, so its first report line panics.
    let mut child = audit
        .command(&["upload", "--endpoint", &endpoint123, "--to", "/audit", "--json", &small], &env123)
        .spawn()
        .expect("spawn");
    audit.keep_cmdline("panic", child.id());
    drop(child.stdout.take());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    audit.keep_output("panic", &out);
    assert!(stderr(&out).contains("panicked"), "the run did crash: {}", stderr(&out));

    // 7. The token kept in a file, as the user may ask for on a machine without a keyring: the second run
    // uses the first one's token.
    for label in ["token file (first)", "token file (second)"] {
        let out = audit
            .run(
                label,
                &[
                    "upload",
                    "--token-cache",
                    "file",
                    "--endpoint",
                    &endpoint123,
                    "--to",
                    "/audit",
                    &small,
                ],
                &env123,
            )
            .await;
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
    }
    let kept = audit.token_files();
    assert_eq!(kept.len(), 1, "one token file: {kept:?}");

    // Every access token the cloud issued, known by value.
    for token in issued_123pan_tokens(&audit.path("cloud")) {
        audit.needles.push(("a 123pan access token".into(), token));
    }
    assert!(audit.needles.len() >= 10, "tokens were issued: {}", audit.needles.len());

    // The search itself finds a planted copy, so a clean result means something.
    let planted = audit.path("home").join("planted");
    std::fs::write(&planted, format!("x{}x", audit.secret("the 6pan password"))).expect("plant");
    let hits = audit
        .files_left()
        .iter()
        .filter(|(_, b)| contains(b, &audit.secret("the 6pan password")))
        .count();
    assert_eq!(hits, 1, "the search finds the planted secret");
    std::fs::remove_file(planted).expect("unplant");

    audit.assert_clean();
}
