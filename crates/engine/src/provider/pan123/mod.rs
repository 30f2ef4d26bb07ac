//! 123pan open platform, upload v2 (`../shared/protocols/123pan.md`).
//!
//! `create` either reuses bytes the cloud already holds (instant upload by MD5 + size) or opens a session
//! whose slices go in parallel to one of the returned `servers`; `upload_complete` is then polled. Files up to
//! [`Pan123Config::single_step_max`] use the single-step upload instead.

pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod client;
mod dirs;
pub(crate) mod factory;
mod names;
pub mod pacing;
mod session;

use async_trait::async_trait;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use url::Url;

use self::api::CreateRequest;
use self::client::{Api, upload_host};
use self::dirs::DirCache;
use self::session::{SavedSlices, SingleSession, SliceSession};
use super::{Begin, CloudProvider, DuplicatePolicy, LocalFile, RemoteFile, RemoteTarget, SavedUpload};
use crate::error::{Error, Result};
use crate::hash::HashRequest;
use crate::http::RetryPolicy;
use crate::secrets::SharedTokens;

pub use auth::MIN_REMINT;
pub use names::{MAX_FILE_SIZE, MAX_SINGLE_STEP_SIZE};

/// Name used in messages.
pub(crate) const PROVIDER: &str = "123pan";

impl crate::store::ProviderKind {
    /// 123pan's open API.
    pub const PAN123: Self = Self::named(PROVIDER);
}
/// The real cloud's API base.
pub const DEFAULT_ENDPOINT: &str = "https://open-api.123pan.com";
/// The slice size every observed `create` returns; hashing computes slice MD5s for it in the same pass.
pub const EXPECTED_SLICE_SIZE: u64 = 16 * 1024 * 1024;

/// How to reach and use a 123pan account.
#[derive(Debug, Clone)]
pub struct Pan123Config {
    /// API base, e.g. [`DEFAULT_ENDPOINT`] or a sandbox's `http://127.0.0.1:PORT/123pan`.
    pub endpoint: Url,
    /// Developer clientID.
    pub client_id: String,
    /// Developer clientSecret.
    pub client_secret: SecretString,
    /// Files up to this size use the single-step upload (0 turns it off; at most [`MAX_SINGLE_STEP_SIZE`]).
    pub single_step_max: u64,
    /// Send the folder path inside `filename` with `containDir` instead of resolving folder ids first.
    pub use_contain_dir: bool,
    /// Where the access token is kept for every connection and process of this account.
    pub shared_tokens: SharedTokens,
    /// Shortest time between two tokens minted to replace rejected ones ([`MIN_REMINT`]).
    pub min_remint: Duration,
    /// Backoff for transient failures.
    pub retry: RetryPolicy,
    /// Interval between `upload_complete` polls (1 s per the docs).
    pub poll_interval: Duration,
    /// How long `upload_complete` may keep answering "still verifying"; `None` scales it with the size
    /// (five minutes plus one per GB).
    pub completion_deadline: Option<Duration>,
}

impl Pan123Config {
    /// A configuration with the documented defaults.
    pub fn new(endpoint: Url, client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            endpoint,
            client_id: client_id.into(),
            client_secret,
            single_step_max: 1024 * 1024,
            use_contain_dir: false,
            shared_tokens: SharedTokens::in_memory(),
            min_remint: auth::MIN_REMINT,
            retry: RetryPolicy::default(),
            poll_interval: Duration::from_secs(1),
            completion_deadline: None,
        }
    }
}

/// A 123pan account ready to take uploads.
pub struct Pan123 {
    api: Arc<Api>,
    config: Pan123Config,
    dirs: DirCache,
    domain: OnceCell<Url>,
}

impl Pan123 {
    /// Builds the provider on a shared HTTP client.
    pub fn new(http: reqwest::Client, config: Pan123Config) -> Result<Self> {
        if config.single_step_max > MAX_SINGLE_STEP_SIZE {
            return Err(Error::invalid(
                "single-step threshold",
                format!("must be at most {MAX_SINGLE_STEP_SIZE} bytes (1 GB)"),
            ));
        }
        let api = Api::new(
            http,
            config.endpoint.clone(),
            config.client_id.clone(),
            config.client_secret.clone(),
            config.shared_tokens.clone(),
            config.min_remint,
            config.retry,
        );
        Ok(Self {
            api: Arc::new(api),
            config,
            dirs: DirCache::default(),
            domain: OnceCell::new(),
        })
    }

    /// Resolves (creating if needed) a remote folder path and returns its id, e.g. to check a connection.
    pub async fn folder_id(&self, dir: &str) -> Result<u64> {
        let components: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
        self.dirs.resolve(&self.api, &components).await
    }

    fn single_step(&self, size: u64) -> bool {
        size <= self.config.single_step_max
    }

    /// Where the file goes: a parent id and the `filename` field (a path when `containDir` is used).
    async fn placement(&self, target: &RemoteTarget) -> Result<(u64, String, bool)> {
        if self.config.use_contain_dir && target.dir_components().next().is_some() {
            return Ok((0, target.full_path(), true));
        }
        let components: Vec<&str> = target.dir_components().collect();
        let parent = self.dirs.resolve(&self.api, &components).await?;
        Ok((parent, target.name.clone(), false))
    }

    async fn upload_domain(&self) -> Result<Url> {
        self.domain
            .get_or_try_init(|| async {
                let domains = self.api.domain().await?;
                let first = domains.first().ok_or_else(|| Error::Protocol {
                    provider: PROVIDER,
                    detail: "the upload domain list is empty".into(),
                })?;
                self.api.secure(&upload_host(first)?).await
            })
            .await
            .cloned()
    }

    async fn begin_single(&self, file: &LocalFile, target: &RemoteTarget, policy: DuplicatePolicy, md5: &str) -> Result<Begin> {
        let (parent, filename, contain_dir) = self.placement(target).await?;
        Ok(Begin::Upload(Box::new(SingleSession {
            api: Arc::clone(&self.api),
            domain: self.upload_domain().await?,
            parent_file_id: parent,
            filename,
            md5: md5.to_owned(),
            size: file.size,
            duplicate: duplicate_field(policy),
            contain_dir,
            file_id: Mutex::new(None),
        })))
    }

    /// After a name clash: the same bytes under the same name count as done (nothing to send); anything else
    /// is a conflict the user must resolve with a duplicate policy.
    async fn already_there(&self, file: &LocalFile, target: &RemoteTarget, md5: &str) -> Result<RemoteFile> {
        let components: Vec<&str> = target.dir_components().collect();
        let parent = self.dirs.resolve(&self.api, &components).await?;
        match dirs::find_identical_file(&self.api, parent, &target.name, file.size, md5).await? {
            Some(id) => Ok(RemoteFile {
                id: id.to_string(),
                size: file.size,
            }),
            None => Err(Error::Conflict {
                provider: PROVIDER,
                name: target.full_path(),
            }),
        }
    }

    async fn create(&self, file: &LocalFile, target: &RemoteTarget, policy: DuplicatePolicy, md5: &str) -> Result<api::CreateReply> {
        let (parent, filename, contain_dir) = self.placement(target).await?;
        let req = CreateRequest {
            parent_file_id: parent,
            filename: &filename,
            etag: md5,
            size: file.size,
            duplicate: duplicate_field(policy),
            contain_dir,
        };
        self.api.create(&req).await
    }
}

#[async_trait]
impl CloudProvider for Pan123 {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn probe(&self, dir: &str) -> Result<String> {
        self.folder_id(dir).await?;
        Ok(format!("signed in; uploads go to {dir}"))
    }

    fn check(&self, target: &RemoteTarget, size: u64) -> Result<()> {
        let subject = || target.full_path();
        for component in target.dir_components().chain([target.name.as_str()]) {
            if let Some(rule) = names::name_rule(component) {
                return Err(Error::invalid(subject(), format!("{component:?}: {rule}")));
            }
        }
        if self.config.use_contain_dir {
            // With containDir the whole path travels in `filename`, which the length limit covers (spec §5.3).
            let chars = target.full_path().chars().count();
            if chars > names::MAX_NAME_CHARS {
                return Err(Error::invalid(
                    subject(),
                    format!(
                        "the path has {chars} characters; 123pan allows at most {} in one filename",
                        names::MAX_NAME_CHARS
                    ),
                ));
            }
        }
        match names::size_rule(size) {
            Some(rule) => Err(Error::invalid(subject(), rule)),
            None => Ok(()),
        }
    }

    fn hash_request(&self, size: u64) -> HashRequest {
        HashRequest {
            md5: true,
            etag: false,
            slice_size: (!self.single_step(size)).then_some(EXPECTED_SLICE_SIZE),
            block_sha256: None,
        }
    }

    async fn begin(&self, file: &LocalFile, target: &RemoteTarget, policy: DuplicatePolicy) -> Result<Begin> {
        let md5 = file
            .digest
            .md5
            .as_deref()
            .ok_or_else(|| Error::invalid(file.path.display().to_string(), "the file was not hashed"))?;
        if self.single_step(file.size) {
            return self.begin_single(file, target, policy, md5).await;
        }
        let reply = match self.create(file, target, policy, md5).await {
            // A cached parent id may point at a folder deleted meanwhile: resolve again once.
            Err(Error::Api { message, .. }) if message.contains("parentFileID不存在") => {
                self.dirs.clear().await;
                self.create(file, target, policy, md5).await
            }
            other => other,
        };
        let reply = match reply {
            Err(Error::Conflict { .. }) => return self.already_there(file, target, md5).await.map(Begin::Instant),
            other => other?,
        };
        if reply.reuse {
            if reply.file_id == 0 {
                return Err(Error::Protocol {
                    provider: PROVIDER,
                    detail: "instant upload reported without a file id".into(),
                });
            }
            return Ok(Begin::Instant(RemoteFile {
                id: reply.file_id.to_string(),
                size: file.size,
            }));
        }
        let preupload_id = reply.preupload_id.filter(|id| !id.is_empty()).ok_or_else(|| Error::Protocol {
            provider: PROVIDER,
            detail: "create returned neither reuse nor a preuploadID".into(),
        })?;
        if reply.slice_size == 0 {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: "create returned a zero sliceSize".into(),
            });
        }
        // Any listed server will do (seed 004), as long as it is an http(s) one; without any, ask for the
        // upload domain (spec §3.4). A list of nothing but unusable entries is a broken answer.
        let server = match reply.servers.as_slice() {
            [] => self.upload_domain().await?,
            servers => servers.iter().find_map(|s| upload_host(s).ok()).ok_or_else(|| Error::Protocol {
                provider: PROVIDER,
                detail: format!(
                    "none of the {} upload servers create listed is an http(s) URL (the first is {})",
                    servers.len(),
                    crate::error::shown(&servers[0])
                ),
            })?,
        };
        let server = self.api.secure(&server).await?;
        Ok(Begin::Upload(Box::new(SliceSession {
            api: Arc::clone(&self.api),
            preupload_id,
            slice_size: reply.slice_size,
            server,
            size: file.size,
            md5: md5.to_owned(),
            part_name: target.name.clone(),
            poll_interval: self.config.poll_interval,
            completion_deadline: self.config.completion_deadline,
        })))
    }

    /// Continues a chunked upload with the saved `preuploadID`, as long as the file is still the one hashed.
    async fn resume(
        &self,
        file: &LocalFile,
        target: &RemoteTarget,
        _policy: DuplicatePolicy,
        saved: &SavedUpload,
    ) -> Result<Option<Begin>> {
        if saved.resume.provider != PROVIDER {
            return Ok(None);
        }
        let Ok(state) = serde_json::from_value::<SavedSlices>(saved.resume.state.clone()) else {
            return Ok(None);
        };
        if state.size != file.size || file.digest.md5.as_deref() != Some(state.md5.as_str()) || state.slice_size == 0 {
            return Ok(None);
        }
        Ok(Some(Begin::Upload(Box::new(SliceSession {
            api: Arc::clone(&self.api),
            preupload_id: state.preupload_id,
            slice_size: state.slice_size,
            server: self.api.secure(&upload_host(&state.server)?).await?,
            size: state.size,
            md5: state.md5,
            part_name: target.name.clone(),
            poll_interval: self.config.poll_interval,
            completion_deadline: self.config.completion_deadline,
        }))))
    }
}

/// The `duplicate` field: absent means "fail on a clash".
fn duplicate_field(policy: DuplicatePolicy) -> Option<u8> {
    match policy {
        DuplicatePolicy::Fail => None,
        DuplicatePolicy::KeepBoth => Some(1),
        DuplicatePolicy::Overwrite => Some(2),
    }
}
