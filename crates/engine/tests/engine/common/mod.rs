//! Harness shared by the conformance suites: a fakecloud per test on 127.0.0.1:0 in a temporary folder,
//! its admin view, fault plans and deterministic fixture files.

// Each test binary uses part of the harness.
#![allow(dead_code)]

use pandrop_engine::provider::{CloudProvider, DuplicatePolicy, RemoteTarget};
use pandrop_engine::transfer::{self, TransferOptions, TransferReport};
use pandrop_fakecloud::{Config, RunningCloud};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub(crate) struct Cloud {
    pub running: RunningCloud,
    pub http: reqwest::Client,
    pub dir: TempDir,
}

/// Starts fakecloud with its 123pan settings adjusted by `tune`.
pub(crate) async fn cloud_with(tune: impl FnOnce(&mut Config)) -> Cloud {
    let dir = TempDir::new().expect("tempdir");
    let mut config = Config::new(dir.path().join("cloud"));
    tune(&mut config);
    let running = pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("fakecloud starts");
    Cloud {
        running,
        http: reqwest::Client::new(),
        dir,
    }
}

pub(crate) async fn cloud() -> Cloud {
    cloud_with(|_| {}).await
}

impl Cloud {
    /// Writes `len` pseudo-random bytes (seeded) into the test folder.
    pub(crate) fn file(&self, name: &str, len: usize, seed: u64) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, pattern(len, seed)).expect("write fixture");
        path
    }

    pub(crate) async fn admin(&self, what: &str) -> Value {
        let url = format!("{}/_admin/{what}", self.running.base_url());
        self.http.get(url).send().await.expect("admin").json().await.expect("json")
    }

    pub(crate) async fn admin_files(&self) -> Vec<Value> {
        let url = format!("{}/_admin/files", self.running.base_url());
        let v: Value = self.http.get(url).send().await.expect("admin").json().await.expect("json");
        v.as_array().cloned().expect("array")
    }

    pub(crate) async fn stats(&self) -> Value {
        let url = format!("{}/_admin/stats", self.running.base_url());
        self.http.get(url).send().await.expect("stats").json().await.expect("json")
    }

    /// Requests that reached a route, e.g. `123pan/slice`.
    pub(crate) async fn requests(&self, route: &str) -> u64 {
        self.stats().await["routes"][route]["requests"].as_u64().unwrap_or(0)
    }

    /// Requests to any route.
    pub(crate) async fn total_requests(&self) -> u64 {
        let stats = self.stats().await;
        stats["routes"]
            .as_object()
            .map(|m| m.values().filter_map(|r| r["requests"].as_u64()).sum())
            .unwrap_or(0)
    }

    /// Drops every fault rule still planned.
    pub(crate) async fn clear_faults(&self) {
        let url = format!("{}/_admin/faults", self.running.base_url());
        let resp = self.http.delete(url).send().await.expect("clear faults");
        assert!(resp.status().is_success(), "faults not cleared");
    }

    pub(crate) async fn faults(&self, plan: Value) {
        let url = format!("{}/_admin/faults", self.running.base_url());
        let resp = self.http.post(url).json(&plan).send().await.expect("faults");
        assert!(
            resp.status().is_success(),
            "fault plan refused: {}",
            resp.text().await.unwrap_or_default()
        );
    }
}

/// Deterministic bytes: a xorshift stream, so files differ by seed and do not compress.
pub(crate) fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A minimal valid single-file torrent.
pub(crate) fn torrent(name: &str) -> Vec<u8> {
    let bstr = |s: &[u8]| [format!("{}:", s.len()).into_bytes(), s.to_vec()].concat();
    let mut info = b"d6:lengthi1048576e4:name".to_vec();
    info.extend(bstr(name.as_bytes()));
    info.extend(b"12:piece lengthi262144e6:pieces");
    info.extend(bstr(&[7u8; 80]));
    info.push(b'e');
    let mut out = b"d8:announce".to_vec();
    out.extend(bstr(b"http://tracker.invalid/announce"));
    out.extend(b"4:info");
    out.extend(info);
    out.push(b'e');
    out
}

/// A 6pan v2 account at `endpoint` with a session token, as the account form saves it.
pub(crate) fn pan6_profile(endpoint: &url::Url, token: secrecy::SecretString) -> pandrop_engine::accounts::ProfileInput {
    pandrop_engine::accounts::ProfileInput {
        id: None,
        provider: pandrop_engine::store::ProviderKind::PAN6_V2,
        name: "6pan".into(),
        endpoint: Some(endpoint.to_string()),
        default_dir: "/".into(),
        fields: Default::default(),
        secret: Some(token),
    }
}

pub(crate) fn md5_of(path: &Path) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(std::fs::read(path).expect("read")))
}

pub(crate) fn target(dir: &str, name: &str) -> RemoteTarget {
    RemoteTarget {
        dir: dir.into(),
        name: name.into(),
    }
}

pub(crate) async fn upload(
    provider: &dyn CloudProvider,
    path: &Path,
    to: &RemoteTarget,
    duplicate: DuplicatePolicy,
) -> pandrop_engine::Result<TransferReport> {
    let options = TransferOptions {
        parallel_parts: 3,
        duplicate,
        ..TransferOptions::default()
    };
    transfer::upload_file(provider, path, to, &options, Arc::new(|_| {}), &CancellationToken::new()).await
}

/// The stored file at `path`, from the admin view.
pub(crate) async fn stored(cloud: &Cloud, path: &str) -> Option<Value> {
    cloud.admin_files().await.into_iter().find(|f| f["path"] == path)
}

/// A journal kept in memory, standing in for the durable store across "restarts" within one test.
#[derive(Default)]
pub(crate) struct MemoryJournal {
    pub saved: std::sync::Mutex<Option<pandrop_engine::provider::ResumeState>>,
    pub parts: std::sync::Mutex<Vec<(u32, pandrop_engine::provider::PartReceipt)>>,
    pub digest: std::sync::Mutex<Option<pandrop_engine::hash::FileDigest>>,
    pub discarded: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl pandrop_engine::transfer::Journal for MemoryJournal {
    async fn cached_digest(&self, _request: &pandrop_engine::hash::HashRequest) -> Option<pandrop_engine::hash::FileDigest> {
        self.digest.lock().expect("lock").clone()
    }
    async fn digest_computed(&self, digest: &pandrop_engine::hash::FileDigest) -> pandrop_engine::Result<()> {
        *self.digest.lock().expect("lock") = Some(digest.clone());
        Ok(())
    }
    async fn saved_upload(&self) -> Option<pandrop_engine::provider::SavedUpload> {
        let resume = self.saved.lock().expect("lock").clone()?;
        Some(pandrop_engine::provider::SavedUpload {
            resume,
            parts: self.parts.lock().expect("lock").clone(),
        })
    }
    async fn session_opened(&self, state: &pandrop_engine::provider::ResumeState) -> pandrop_engine::Result<()> {
        *self.saved.lock().expect("lock") = Some(state.clone());
        self.parts.lock().expect("lock").clear();
        Ok(())
    }
    async fn part_done(&self, index: u32, receipt: &pandrop_engine::provider::PartReceipt) -> pandrop_engine::Result<()> {
        self.parts.lock().expect("lock").push((index, receipt.clone()));
        Ok(())
    }
    async fn session_discarded(&self) -> pandrop_engine::Result<()> {
        *self.saved.lock().expect("lock") = None;
        self.parts.lock().expect("lock").clear();
        self.discarded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// Uploads through `journal`, as the queue does.
pub(crate) async fn upload_journaled(
    provider: &dyn CloudProvider,
    path: &Path,
    to: &RemoteTarget,
    journal: &MemoryJournal,
) -> pandrop_engine::Result<TransferReport> {
    let options = TransferOptions {
        parallel_parts: 3,
        duplicate: DuplicatePolicy::Fail,
        ..TransferOptions::default()
    };
    transfer::upload_file_with(provider, path, to, &options, Arc::new(|_| {}), journal, &CancellationToken::new()).await
}
