//! A `queue run` killed with SIGKILL mid-upload continues with the next `queue run`: only the slices that were
//! in flight when it died are sent again.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_pandrop-cli");
const MIB: usize = 1024 * 1024;
/// 200 MiB in the fakecloud's 16 MiB slices.
const SLICES: u64 = 13;
/// Slices in flight at once (`queue run`'s default `--slices`).
const PARALLEL: u64 = 3;

/// Random-looking bytes (xorshift), so nothing compresses or repeats.
fn write_random(path: &Path, len: usize) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    std::fs::write(path, data).expect("write");
}

fn md5_hex(path: &Path) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(std::fs::read(path).expect("read")))
}

fn queue_cmd(data: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.arg("queue")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("PANDROP_CLIENT_ID", "demo")
        .env("PANDROP_CLIENT_SECRET", "demo-secret")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

async fn admin(base: &str, what: &str) -> Value {
    reqwest::get(format!("{base}/_admin/{what}"))
        .await
        .expect("admin")
        .json()
        .await
        .expect("json")
}

/// Checks the cloud holds `path` with these bytes.
async fn assert_stored(base: &str, path: &str, md5: &str) {
    let files = admin(base, "files").await;
    let stored = files
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not stored"));
    assert_eq!(stored["md5"], md5);
}

/// A fake cloud keeping its data in `dir` whose 123pan slices each take 150 ms, so a run can be stopped mid-way;
/// with its base URL.
async fn slow_cloud(dir: &Path) -> (pandrop_fakecloud::RunningCloud, String) {
    let cloud = pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), pandrop_fakecloud::Config::new(dir))
        .await
        .expect("fakecloud");
    let base = cloud.base_url();
    let rule = json!({"route": "123pan/slice", "times": 100_000, "action": {"kind": "latency", "ms": 150}});
    let resp = reqwest::Client::new()
        .post(format!("{base}/_admin/faults"))
        .json(&rule)
        .send()
        .await
        .expect("faults");
    assert!(resp.status().is_success(), "fault refused");
    (cloud, base)
}

/// Uploads `file` with `queue run`, kills the run after `kill_after` slice requests, runs again, and checks
/// the file arrived with few slices sent twice. Returns how long the round took and the slice requests made.
async fn kill_and_resume(root: &Path, file: &Path, md5: &str, kill_after: u64) -> (Duration, u64) {
    let started = Instant::now();
    let dir = root.join(format!("k{kill_after}"));
    let (cloud, base) = slow_cloud(&dir.join("cloud")).await;

    let data = dir.join("data");
    let endpoint = cloud.pan123_url();
    let added = queue_cmd(
        &data,
        &["add", "--endpoint", &endpoint, "--to", "/big", file.to_str().expect("utf-8")],
    )
    .output()
    .expect("queue add");
    assert_eq!(added.status.code(), Some(0), "{}", String::from_utf8_lossy(&added.stderr));

    let mut child = queue_cmd(&data, &["run", "--json"]).spawn().expect("queue run");
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let stats = admin(&base, "stats").await;
        let requests = stats["routes"]["123pan/slice"]["requests"].as_u64().unwrap_or(0);
        if requests >= kill_after {
            break;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("queue run ended ({status}) before {kill_after} slice requests");
        }
        assert!(Instant::now() < deadline, "no {kill_after} slice requests in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let rerun = tokio::task::spawn_blocking(move || queue_cmd(&data, &["run", "--json"]).output())
        .await
        .expect("join")
        .expect("queue run again");
    let stdout = String::from_utf8_lossy(&rerun.stdout);
    assert_eq!(rerun.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&rerun.stderr));
    assert!(stdout.contains("\"status\":\"uploaded\""), "{stdout}");

    assert_stored(&base, "/big/big.bin", md5).await;

    let stats = admin(&base, "stats").await;
    let uploads = stats["slices"].as_object().expect("slices");
    let mut total = 0;
    for (preupload, slices) in uploads {
        for (slice, n) in slices.as_object().expect("per slice") {
            let n = n.as_u64().expect("count");
            assert!(
                n <= 2,
                "kill after {kill_after}: slice {slice} of {preupload} was sent {n} times: {stats}"
            );
            total += n;
        }
    }
    assert!(
        total <= SLICES + PARALLEL,
        "kill after {kill_after}: {total} slice requests for {SLICES} slices: {stats}"
    );
    cloud.shutdown().await;
    (started.elapsed(), total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_continues_where_it_stopped() {
    let root = TempDir::new().expect("tempdir");
    let file: PathBuf = root.path().join("big.bin");
    write_random(&file, 200 * MIB);
    let md5 = md5_hex(&file);
    for kill_after in [1, 6, 11] {
        let (took, total) = kill_and_resume(root.path(), &file, &md5, kill_after).await;
        eprintln!("kill after {kill_after} slice requests: {total} slice requests in all, {took:?}");
    }
}

/// `upload` stopped with Ctrl-C keeps its tasks in the data folder, and the same command run again sends only
/// the slices the cloud does not have yet; once it has finished, nothing is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_continues_when_run_again() {
    let root = TempDir::new().expect("tempdir");
    let file = root.path().join("big.bin");
    write_random(&file, 160 * MIB);
    let md5 = md5_hex(&file);
    let (cloud, base) = slow_cloud(&root.path().join("cloud")).await;
    let data = root.path().join("data");
    let endpoint = cloud.pan123_url();
    let upload = || {
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(["upload", "--json", "--endpoint", &endpoint, "--to", "/big", "--data-dir"])
            .arg(&data)
            .arg(&file)
            .env("PANDROP_CLIENT_ID", "demo")
            .env("PANDROP_CLIENT_SECRET", "demo-secret")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    };

    let child = upload().spawn().expect("upload");
    let deadline = Instant::now() + Duration::from_secs(40);
    while admin(&base, "stats").await["routes"]["123pan/slice"]["requests"]
        .as_u64()
        .unwrap_or(0)
        < 4
    {
        assert!(Instant::now() < deadline, "no 4 slice requests in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    let first = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    let kept = std::fs::read_dir(data.join("uploads")).expect("uploads").count();
    assert!(kept > 0, "the stopped run keeps its tasks");
    let sent_before = admin(&base, "stats").await["routes"]["123pan/slice"]["requests"]
        .as_u64()
        .unwrap_or(0);

    let mut second = upload();
    let again = tokio::task::spawn_blocking(move || second.output())
        .await
        .expect("join")
        .expect("upload again");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&again.stderr));
    let line: Value = serde_json::from_str(stdout.lines().last().expect("a line")).expect("json");
    assert_eq!(line["status"], "uploaded", "{line}");
    let sent = line["bytes_sent"].as_u64().expect("bytes_sent");
    assert!(sent < 160 * MIB as u64, "the second run sent only what was missing: {line}");

    let stats = admin(&base, "stats").await;
    let total = stats["routes"]["123pan/slice"]["requests"].as_u64().unwrap_or(0);
    // 160 MiB is ten 16 MiB slices; at most the ones in flight at the stop went twice.
    assert!(
        total <= 10 + PARALLEL,
        "{total} slice requests ({sent_before} before the stop): {stats}"
    );
    assert!(total > sent_before, "{stats}");
    assert_stored(&base, "/big/big.bin", &md5).await;
    assert_eq!(
        std::fs::read_dir(data.join("uploads")).expect("uploads").count(),
        0,
        "a finished run keeps nothing"
    );
    cloud.shutdown().await;
}
