//! What the CLI's end-to-end tests share: a fake cloud serving from the test's temporary folder, and test files
//! of recognisable bytes.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_pandrop-cli");
/// A mebibyte.
pub(crate) const MIB: usize = 1024 * 1024;

/// A fake cloud serving from a temporary folder that test files live in too.
pub(crate) struct Env {
    pub(crate) cloud: pandrop_fakecloud::RunningCloud,
    pub(crate) dir: TempDir,
}

/// A fresh [`Env`].
pub(crate) async fn env() -> Env {
    let dir = TempDir::new().expect("tempdir");
    let cloud = fake_cloud(dir.path()).await;
    Env { cloud, dir }
}

impl Env {
    /// Writes a test file of `len` bytes at `rel` in the test folder.
    pub(crate) fn file(&self, rel: &str, len: usize, seed: u8) -> PathBuf {
        write_pattern(self.dir.path().join(rel), len, seed)
    }

    /// One of the fake cloud's admin views (`files`, `stats`, `offline`).
    pub(crate) async fn admin(&self, what: &str) -> Value {
        let url = format!("{}/_admin/{what}", self.cloud.base_url());
        reqwest::get(url).await.expect("admin").json().await.expect("json")
    }
}

/// Each line of standard output as JSON.
pub(crate) fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// A file's MD5, lower-case hex.
pub(crate) fn md5_hex(path: &Path) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(std::fs::read(path).expect("read")))
}

/// Serves a fake cloud on a free loopback port, keeping its data in `<dir>/cloud`.
pub(crate) async fn fake_cloud(dir: &Path) -> pandrop_fakecloud::RunningCloud {
    let config = pandrop_fakecloud::Config::new(dir.join("cloud"));
    pandrop_fakecloud::serve(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("fakecloud")
}

/// Writes `len` bytes that differ by `seed` at `path`, creating its folders.
pub(crate) fn write_pattern(path: PathBuf, len: usize, seed: u8) -> PathBuf {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let data: Vec<u8> = (0..len).map(|i| ((i as u64 * 2_654_435_761) >> 13) as u8 ^ seed).collect();
    std::fs::write(&path, data).expect("write");
    path
}
