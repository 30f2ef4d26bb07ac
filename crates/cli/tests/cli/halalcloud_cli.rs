//! `pandrop-cli upload --provider halalcloud` against the fake cloud: the bytes arrive, a block the cloud holds
//! is not sent (and the run says so), and a run killed mid-upload continues with only the missing blocks.

use serde_json::{Value, json};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BIN, Env, MIB, env, json_lines, md5_hex};

/// HalalCloud's blocks on the fake cloud.
const BLOCK: usize = 4 * MIB;

impl Env {
    fn halal_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(["upload", "--provider", "halalcloud", "--endpoint", &self.cloud.halalcloud_url()])
            .args(["--data-dir", self.dir.path().join("data").to_str().expect("utf-8")])
            .args(args)
            .env("PANDROP_CLIENT_ID", "demo")
            .env("PANDROP_CLIENT_SECRET", "demo-secret")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    async fn halal_upload(&self, args: &[&str]) -> Output {
        let mut cmd = self.halal_command(args);
        tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run")
    }

    async fn halal_stats(&self) -> Value {
        self.admin("stats").await["halalcloud"].clone()
    }

    async fn stored_md5(&self, path: &str) -> Option<Value> {
        let files = self.admin("files").await;
        files.as_array()?.iter().find(|f| f["path"] == path).map(|f| f["md5"].clone())
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `len` bytes of a xorshift stream from `seed`: nothing repeats, so no block is held by chance.
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    data
}

#[tokio::test]
async fn a_file_goes_up_in_blocks_and_a_held_block_is_not_sent() {
    let env = env().await;
    let big = env.dir.path().join("big.bin");
    std::fs::write(&big, random(40 * MIB, 7)).expect("write");
    let out = env.halal_upload(&["--to", "/hc", "--json", big.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = &json_lines(&out)[0];
    assert_eq!(
        (line["status"].as_str(), line["bytes_sent"].as_u64()),
        (Some("uploaded"), Some(40 * MIB as u64)),
        "{line}"
    );
    assert_eq!(env.stored_md5("/hc/big.bin").await, Some(json!(md5_hex(&big))));
    assert_eq!(env.halal_stats().await["blocks_received"], 10);

    // A new file whose middle block (the sixth of ten) is one the cloud holds already.
    let mut data = random(40 * MIB, 8);
    let held = std::fs::read(&big).expect("read")[5 * BLOCK..6 * BLOCK].to_vec();
    data[5 * BLOCK..6 * BLOCK].copy_from_slice(&held);
    let mixed = env.dir.path().join("mixed.bin");
    std::fs::write(&mixed, &data).expect("write");
    let out = env.halal_upload(&["--to", "/hc", mixed.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("4.00 MiB of 40.00 MiB was on the cloud already and not sent"),
        "{said}"
    );
    assert_eq!(env.halal_stats().await["blocks_received"], 19, "nine more blocks, not ten");
    assert_eq!(env.stored_md5("/hc/mixed.bin").await, Some(json!(md5_hex(&mixed))));
}

#[tokio::test]
async fn a_killed_upload_continues_with_only_the_missing_blocks() {
    let env = env().await;
    let file = env.dir.path().join("killed.bin");
    std::fs::write(&file, random(40 * MIB, 9)).expect("write");
    let rule = json!({"route": "halalcloud/upload/block", "times": 100_000, "action": {"kind": "latency", "ms": 300}});
    let resp = reqwest::Client::new()
        .post(format!("{}/_admin/faults", env.cloud.base_url()))
        .json(&rule)
        .send()
        .await
        .expect("faults");
    assert!(resp.status().is_success());

    let args = ["--to", "/k", "--slices", "2", file.to_str().expect("utf-8")];
    let mut child = env.halal_command(&args).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.halal_stats().await["blocks_received"].as_u64().unwrap_or(0) < 3 {
        assert!(child.try_wait().expect("try_wait").is_none(), "the run ended before it was killed");
        assert!(Instant::now() < deadline, "no block arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // A block whose body was all sent when the client died is still stored by the cloud (after the fault's
    // latency): let that settle, as it would before anyone runs the command again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = env.halal_stats().await["blocks_received"].as_u64().unwrap_or(0);
    assert!(received < 10, "killed mid-way: {received}");

    let out = env.halal_upload(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Every block arrived once: the blocks of the killed run are not sent again (one in flight at the kill
    // may have arrived without its acknowledgement: the probe then finds it).
    assert_eq!(env.halal_stats().await["blocks_received"], 10);
    assert_eq!(env.stored_md5("/k/killed.bin").await, Some(json!(md5_hex(&file))));
}
