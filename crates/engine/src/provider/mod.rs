//! One small seam between the upload driver and each cloud.
//!
//! A provider checks local rules ([`CloudProvider::check`]), says what it needs hashed
//! ([`CloudProvider::hash_request`]) and opens an upload ([`CloudProvider::begin`]), which either finishes at
//! once because the cloud already holds the bytes ([`Begin::Instant`]) or returns an [`UploadSession`] whose
//! parts the driver sends in parallel before calling [`UploadSession::complete`]. Wire types stay private in
//! each provider's folder.

pub mod halalcloud;
pub mod pan123;
pub mod pan6;
mod part;
pub mod registry;
pub(crate) mod wcs;

use async_trait::async_trait;
use secrecy::SecretString;
use std::path::PathBuf;

use crate::error::Result;
use crate::hash::{FileDigest, HashRequest};

pub use part::PartBody;

/// What to do when the target folder already holds a file of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Fail with [`crate::Error::Conflict`].
    #[default]
    Fail,
    /// Keep both; the cloud renames the new file.
    KeepBoth,
    /// Replace the existing file.
    Overwrite,
}

/// Where a file goes: an absolute remote folder path (`/` is the root) and a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTarget {
    /// Remote folder, `/`-separated, absolute.
    pub dir: String,
    /// File name inside `dir`.
    pub name: String,
}

impl RemoteTarget {
    /// The folder's components, without empty ones.
    pub fn dir_components(&self) -> impl Iterator<Item = &str> {
        self.dir.split('/').filter(|c| !c.is_empty())
    }

    /// `dir/name`, normalised to one leading slash.
    pub fn full_path(&self) -> String {
        let mut path = String::from("/");
        for c in self.dir_components() {
            path.push_str(c);
            path.push('/');
        }
        path.push_str(&self.name);
        path
    }
}

/// A local file that has been hashed for this provider.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Path on disk.
    pub path: PathBuf,
    /// Size in bytes at hashing time.
    pub size: u64,
    /// What [`CloudProvider::hash_request`] asked for.
    pub digest: FileDigest,
}

/// A file as the cloud stores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemoteFile {
    /// The cloud's id for the file.
    pub id: String,
    /// Size in bytes.
    pub size: u64,
}

/// How an upload starts.
pub enum Begin {
    /// The cloud already holds these bytes; the file exists now (秒传).
    Instant(RemoteFile),
    /// Bytes must be sent.
    Upload(Box<dyn UploadSession>),
}

/// How a session wants its bytes cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    /// Every part is this long except the last, which holds the remainder.
    pub part_size: u64,
    /// How many parts the file has.
    pub part_count: u32,
}

impl PartPlan {
    /// Cuts `size` bytes into parts of `part_size` (at least one part, even for an empty file).
    pub fn new(size: u64, part_size: u64) -> Self {
        let part_size = part_size.max(1);
        let count = size.div_ceil(part_size).max(1);
        Self {
            part_size,
            part_count: u32::try_from(count).unwrap_or(u32::MAX),
        }
    }

    /// Byte range `(offset, len)` of the 0-based part `index` in a file of `size` bytes.
    pub fn range(&self, index: u32, size: u64) -> (u64, u64) {
        let offset = u64::from(index) * self.part_size;
        (offset, self.part_size.min(size.saturating_sub(offset)))
    }
}

/// What the cloud handed back for an acknowledged part, kept so a resumed upload can finish without
/// sending it again (a WCS block's last `ctx`; nothing for a 123pan slice).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartReceipt(pub Option<String>);

/// What a session needs to continue after a restart. Never holds a secret: tokens are asked for again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResumeState {
    /// Provider name ([`CloudProvider::name`]).
    pub provider: String,
    /// Provider-specific fields.
    pub state: serde_json::Value,
    /// When the cloud forgets the session (unix ms), if known.
    pub expires_at: Option<i64>,
}

/// A saved session and the parts it had acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedUpload {
    /// From [`UploadSession::resume_state`].
    pub resume: ResumeState,
    /// Acknowledged parts, 0-based, with their receipts.
    pub parts: Vec<(u32, PartReceipt)>,
}

/// An upload in progress on the cloud side.
#[async_trait]
pub trait UploadSession: Send + Sync {
    /// How the bytes are cut.
    fn plan(&self) -> PartPlan;

    /// Sends one part; the provider retries transient failures itself. Parts may be sent concurrently and in
    /// any order.
    async fn put_part(&self, part: &PartBody) -> Result<PartReceipt>;

    /// Finishes the upload once every part is acknowledged.
    async fn complete(&self) -> Result<RemoteFile>;

    /// What to save so the upload can continue after a restart; `None` when it cannot (one-request uploads).
    fn resume_state(&self) -> Option<ResumeState> {
        None
    }
}

/// A cloud drive that files can be uploaded to.
#[async_trait]
pub trait CloudProvider: Send + Sync {
    /// Short name used in messages (`123pan`, `6pan`).
    fn name(&self) -> &'static str;

    /// Checks the target and size against the cloud's rules, without any request.
    fn check(&self, target: &RemoteTarget, size: u64) -> Result<()>;

    /// What the one read pass over a file of `size` bytes must compute.
    fn hash_request(&self, size: u64) -> HashRequest;

    /// Opens an upload for a hashed file.
    async fn begin(&self, file: &LocalFile, target: &RemoteTarget, policy: DuplicatePolicy) -> Result<Begin>;

    /// Reopens a saved upload of the same file, whose acknowledged parts need not be sent again.
    /// `Ok(None)` when this provider cannot continue it (the caller then begins afresh).
    async fn resume(
        &self,
        _file: &LocalFile,
        _target: &RemoteTarget,
        _policy: DuplicatePolicy,
        _saved: &SavedUpload,
    ) -> Result<Option<Begin>> {
        Ok(None)
    }

    /// Checks the account with the cloud and says what it found, in words for the user: where the cloud
    /// allows it without an upload, a sign-in and the folder `dir` (created when missing).
    async fn probe(&self, _dir: &str) -> Result<String> {
        Ok(format!(
            "the credentials are stored; {} checks them with the first upload",
            self.name()
        ))
    }

    /// The entries of the remote folder `dir` (all pages), for a folder picker; `Ok(None)` where the cloud's
    /// listing is not wired in.
    async fn list(&self, _dir: &str) -> Result<Option<Vec<RemoteEntry>>> {
        Ok(None)
    }

    /// The cloud's offline download, where it has one.
    fn offline(&self) -> Option<&dyn OfflineDownload> {
        None
    }

    /// The account's secret as the cloud now knows it, where the cloud renews it during a session (6pan
    /// rotates its session token): what to store in place of the one the connection started with.
    fn current_secret(&self) -> Option<SecretString> {
        None
    }
}

/// One entry of a remote folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemoteEntry {
    /// Its name in the folder.
    pub name: String,
    /// A folder (else a file).
    pub folder: bool,
    /// Bytes, for a file.
    pub size: u64,
}

/// What an offline download accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OfflineStarted {
    /// The torrent's name as the cloud parsed it.
    pub name: Option<String>,
    /// Offline tasks created.
    pub tasks: u64,
}

/// A cloud that downloads torrents into the account itself (离线下载).
#[async_trait]
pub trait OfflineDownload: Send + Sync {
    /// The remote folder a torrent is uploaded to before its download starts.
    fn torrent_dir(&self) -> &'static str;

    /// Starts downloading an uploaded torrent into `save_dir`: the cloud's copy, or what the local file says
    /// (a cloud that takes magnet links reads the torrent itself).
    async fn start(&self, torrent: &UploadedTorrent<'_>, save_dir: &str) -> Result<OfflineStarted>;
}

/// A `.torrent` that was just uploaded for an offline download.
#[derive(Debug, Clone, Copy)]
pub struct UploadedTorrent<'a> {
    /// The cloud's copy.
    pub remote: &'a RemoteFile,
    /// What hashing it found.
    pub digest: &'a FileDigest,
    /// The local file.
    pub local: &'a std::path::Path,
}
