//! The HalalCloud account as the upload driver sees it: rules, hashing, opening and resuming block uploads.

use async_trait::async_trait;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use url::Url;

use super::api::{CreateUploadTaskRequest, FileRef, ListRequest, ListResponse, UploadTask, User};
use super::cid;
use super::client::{Api, upload_host};
use super::dirs::{self, DirCache};
use super::oauth::DeviceTokens;
use super::session::{BlockSession, SavedTask};
use super::{PROVIDER, api};
use crate::error::{Error, Result};
use crate::hash::HashRequest;
use crate::http::RetryPolicy;
use crate::provider::{Begin, CloudProvider, DuplicatePolicy, LocalFile, RemoteEntry, RemoteFile, RemoteTarget, SavedUpload};

/// The block size every observed upload task names (spec §6 step 3): the hashing pass computes the blocks'
/// SHA-256s for it, and a task that cuts otherwise has its blocks hashed as they are sent.
pub const EXPECTED_BLOCK_SIZE: u64 = 4 * 1024 * 1024;
/// Longest name PanDrop sends, in bytes (the service publishes no limit; this is the common file-system
/// one, so a name that works on disk works here).
const MAX_NAME_BYTES: usize = 255;

/// `POST /v6/userfile/trash` (spec §5.3).
#[derive(serde::Serialize)]
struct Trash<'a> {
    source: [FileRef<'a>; 1],
}

/// How to reach a HalalCloud account with a personal key.
#[derive(Debug, Clone)]
pub struct HalalCloudConfig {
    /// API base: [`super::DEFAULT_ENDPOINT`] or a sandbox's `http://127.0.0.1:PORT/halalcloud`.
    pub endpoint: Url,
    /// The personal key's client id.
    pub client_id: String,
    /// The personal key's client secret.
    pub client_secret: SecretString,
    /// Backoff for transient failures.
    pub retry: RetryPolicy,
}

/// A HalalCloud account ready to take uploads.
pub struct HalalCloud {
    api: Arc<Api>,
    dirs: DirCache,
}

impl HalalCloud {
    /// Builds the provider for a personal key on a shared HTTP client; fails on a client id the signature
    /// cannot carry.
    pub fn new(http: reqwest::Client, config: HalalCloudConfig) -> Result<Self> {
        Self::with_tokens(http, config, None)
    }

    /// Builds the provider for the app key in `config` and a device-code sign-in's tokens.
    pub(super) fn with_tokens(http: reqwest::Client, config: HalalCloudConfig, tokens: Option<DeviceTokens>) -> Result<Self> {
        let api = Api::new(http, config.endpoint, &config.client_id, config.client_secret, tokens, config.retry)?;
        Ok(Self {
            api: Arc::new(api),
            dirs: DirCache::default(),
        })
    }

    /// The full path the file goes to under `policy`: its own, or the first free `name (n).ext` when both
    /// are kept. The service's own behaviour on a taken path is unknown (spec §6, U1), so PanDrop looks first.
    async fn target_path(&self, dir: &str, name: &str, policy: DuplicatePolicy) -> Result<String> {
        let path_of = |name: &str| if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") };
        let path = path_of(name);
        if !self.exists(&path).await? {
            return Ok(path);
        }
        match policy {
            DuplicatePolicy::Fail => Err(Error::Conflict {
                provider: PROVIDER,
                name: path,
            }),
            DuplicatePolicy::Overwrite => {
                // The open API has no overwrite: the old file goes to the trash (where the user can still
                // find it) before the new one is sent.
                let trash = Trash {
                    source: [FileRef::Path(&path)],
                };
                self.api.call::<_, serde_json::Value>("userfile/trash", &trash, &path).await?;
                Ok(path)
            }
            DuplicatePolicy::KeepBoth => {
                let (stem, ext) = match name.rfind('.') {
                    Some(dot) if dot > 0 => name.split_at(dot),
                    _ => (name, ""),
                };
                for n in 1..1000 {
                    let candidate = path_of(&format!("{stem} ({n}){ext}"));
                    if !self.exists(&candidate).await? {
                        return Ok(candidate);
                    }
                }
                Err(Error::Conflict {
                    provider: PROVIDER,
                    name: path,
                })
            }
        }
    }

    /// The API client, for the other parts of this provider.
    pub(super) fn api(&self) -> &Api {
        &self.api
    }

    /// Makes sure the folder of `components` exists; returns its path.
    pub(super) async fn ensure_dir(&self, components: &[&str]) -> Result<String> {
        self.dirs.ensure(&self.api, components).await
    }

    async fn exists(&self, path: &str) -> Result<bool> {
        match dirs::get(&self.api, path).await {
            Ok(_) => Ok(true),
            Err(e) if api::is_not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn create_task(&self, path: &str, size: u64) -> Result<UploadTask> {
        self.api
            .call("userfile/create_upload_task", &CreateUploadTaskRequest { path, size }, path)
            .await
    }

    fn session(&self, task: &UploadTask, path: String, file: &LocalFile) -> Result<BlockSession> {
        let block_size = if file.size == 0 {
            task.block_size.max(1)
        } else {
            task.checked_block_size()?
        };
        let (codec, hash_type) = task.cid_params();
        if hash_type != cid::HASH_SHA2_256 {
            // Checked before a byte is read: every block would fail the same way.
            cid::block_cid(&[0; 32], codec, hash_type)?;
        }
        let known = file
            .digest
            .blocks
            .as_ref()
            .filter(|b| b.block_size == block_size)
            .map(|b| b.sha256.clone());
        let blocks = usize::try_from(file.size.div_ceil(block_size)).unwrap_or(usize::MAX);
        Ok(BlockSession {
            api: Arc::clone(&self.api),
            upload: upload_host(&task.upload_address)?,
            task: task.task.clone(),
            path,
            size: file.size,
            block_size,
            codec,
            hash_type,
            known,
            cids: Mutex::new(vec![None; blocks]),
        })
    }
}

#[async_trait]
impl CloudProvider for HalalCloud {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn probe(&self, dir: &str) -> Result<String> {
        let user: User = self.api.call("user/get", &super::api::Empty {}, "the account").await?;
        let components: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
        self.dirs.ensure(&self.api, &components).await?;
        let who = if user.name.is_empty() {
            String::new()
        } else {
            format!(" as {}", user.name)
        };
        Ok(format!("signed in{who}; uploads go to {dir}"))
    }

    /// Every page of `userfile/list` (100 entries each, spec §5.3), trashed and deleted entries left out.
    async fn list(&self, dir: &str) -> Result<Option<Vec<RemoteEntry>>> {
        let components: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
        let path = if components.is_empty() {
            "/".to_owned()
        } else {
            format!("/{}", components.join("/"))
        };
        let mut entries = Vec::new();
        let mut token = String::new();
        loop {
            let page: ListResponse = self
                .api
                .call("userfile/list", &ListRequest::page(FileRef::Path(&path), &token), &path)
                .await?;
            entries.extend(page.files.iter().filter(|f| !f.deleted && !f.trashed).map(|f| RemoteEntry {
                name: f.name.clone(),
                folder: f.dir,
                size: f.size,
            }));
            match page.next_token() {
                // A server that hands back the token it was given would loop forever.
                Some(next) if next != token => token = next.to_owned(),
                Some(_) => {
                    return Err(Error::Protocol {
                        provider: PROVIDER,
                        detail: "the listing repeated its continuation token".into(),
                    });
                }
                None => return Ok(Some(entries)),
            }
        }
    }

    fn offline(&self) -> Option<&dyn crate::provider::OfflineDownload> {
        Some(self)
    }

    /// A device-code sign-in's tokens as they are now: the refresh token rotates, and the account keeps the
    /// newest.
    fn current_secret(&self) -> Option<SecretString> {
        self.api.current_tokens().map(|t| t.to_secret())
    }

    fn check(&self, target: &RemoteTarget, _size: u64) -> Result<()> {
        let subject = || target.full_path();
        for component in target.dir_components().chain([target.name.as_str()]) {
            if component.len() > MAX_NAME_BYTES {
                return Err(Error::invalid(
                    subject(),
                    format!(
                        "{component:?} is {} bytes long; PanDrop sends names of at most {MAX_NAME_BYTES}",
                        component.len()
                    ),
                ));
            }
            if component.chars().any(char::is_control) {
                return Err(Error::invalid(subject(), format!("{component:?} holds a control character")));
            }
            if component.trim().is_empty() || component == "." || component == ".." {
                return Err(Error::invalid(subject(), format!("{component:?} is not a name")));
            }
        }
        Ok(())
    }

    fn hash_request(&self, _size: u64) -> HashRequest {
        HashRequest {
            block_sha256: Some(EXPECTED_BLOCK_SIZE),
            ..HashRequest::default()
        }
    }

    async fn begin(&self, file: &LocalFile, target: &RemoteTarget, policy: DuplicatePolicy) -> Result<Begin> {
        let components: Vec<&str> = target.dir_components().collect();
        let dir = self.dirs.ensure(&self.api, &components).await?;
        let path = self.target_path(&dir, &target.name, policy).await?;
        let task = match self.create_task(&path, file.size).await {
            // A folder deleted since it was cached: walk again once.
            Err(e) if api::is_not_found(&e) => {
                self.dirs.clear().await;
                self.dirs.ensure(&self.api, &components).await?;
                self.create_task(&path, file.size).await?
            }
            other => other?,
        };
        if task.created {
            let existing = dirs::get(&self.api, &path).await?;
            return Ok(Begin::Instant(RemoteFile {
                id: existing.identity,
                size: existing.size,
            }));
        }
        Ok(Begin::Upload(Box::new(self.session(&task, path, file)?)))
    }

    /// Continues a task with the saved id and block layout; the CIDs of acknowledged blocks are their receipts.
    async fn resume(
        &self,
        file: &LocalFile,
        _target: &RemoteTarget,
        _policy: DuplicatePolicy,
        saved: &SavedUpload,
    ) -> Result<Option<Begin>> {
        if saved.resume.provider != PROVIDER {
            return Ok(None);
        }
        let Ok(state) = serde_json::from_value::<SavedTask>(saved.resume.state.clone()) else {
            return Ok(None);
        };
        if state.size != file.size || state.block_size == 0 {
            return Ok(None);
        }
        let task = UploadTask {
            upload_address: state.upload_address,
            task: state.task,
            block_size: state.block_size,
            block_codec: state.codec,
            block_hash_type: state.hash_type,
            ..UploadTask::default()
        };
        let session = self.session(&task, state.path, file)?.with_receipts(&saved.parts);
        Ok(Some(Begin::Upload(Box::new(session))))
    }
}
