//! What the CLI's end-to-end tests share: a fake cloud serving from the test's temporary folder, and test files
//! of recognisable bytes.

#![allow(dead_code)] // Each test binary uses a part.

use std::path::{Path, PathBuf};

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
