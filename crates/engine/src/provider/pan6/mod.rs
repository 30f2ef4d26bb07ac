//! 6pan v1 (`/v1/store/token`) and v2 (`/v2/upload/token`) over the Wangsu WCS upload
//! (`../shared/protocols/wcs-6pan.md` §9–§11).
//!
//! The token request carries the Qiniu/WCS etag: a hit creates the file at once (instant upload); a miss
//! returns an upload token and host for [`super::wcs`]. The session token rotates: every reply may carry a
//! newer one, which replaces the stored one ([`Pan6::session_token`] tells the newest).
//!
//! A grant must be of the kind the seeds show (v2 `uploadInfo.type` `WCS/Splite`, seed 002; v1 `type` 0 and
//! `version` 1, seeds 000/001): one of another kind is refused, naming it, before a byte goes to the host.
//! Torrents go to `:torrent` (v1, seed 003) and `/:torrent` (v2, as the SixCloud client sends it; no seed
//! shows v2's): `docs/6pan.md`.

mod client;
pub(crate) mod envelope;
pub(crate) mod factory;
mod login;
mod offline;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

use self::client::{Api, SessionToken};
use super::wcs::{self, CallbackFile, Completion, FormSession, Renewal, SavedBlocks, SliceSession, UploadGrant};
use super::{Begin, CloudProvider, DuplicatePolicy, LocalFile, RemoteFile, RemoteTarget, SavedUpload};
use crate::error::{Error, Result};
use crate::hash::HashRequest;
use crate::http::RetryPolicy;

pub use login::login;
pub use offline::OfflineStarted;

/// Name used in messages.
pub(crate) const PROVIDER: &str = "6pan";

impl crate::store::ProviderKind {
    /// 6pan with the v1 token flow.
    pub const PAN6_V1: Self = Self::named("6pan-v1");
    /// 6pan with the v2 token flow.
    pub const PAN6_V2: Self = Self::named("6pan-v2");
}
/// The real cloud's API base.
pub const DEFAULT_ENDPOINT: &str = "https://api.6pan.cn";
/// The folder name that means "the system torrent folder" (seed 003).
pub const TORRENT_DIR: &str = ":torrent";
/// Longest folder name in a path (seed 002: 单个路径不得超过128字符).
const MAX_DIR_CHARS: usize = 128;
/// Largest page the folder listing serves (spec §10.4).
const LIST_PAGE_SIZE: u32 = 999;
/// Pages read at most when looking for a file (about a million entries).
const MAX_LIST_PAGES: u32 = 1000;
/// Longest file name accepted (the documents set none; common file systems stop at 255).
const MAX_NAME_CHARS: usize = 255;

/// Which generation of the 6pan API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pan6Api {
    /// `/v1/store/token`, `Authorization: Bearer`, token rotated in the body.
    V1,
    /// `/v2/upload/token`, `Qingzhen-Token` header both ways.
    V2,
}

/// How to reach and use a 6pan account.
#[derive(Debug, Clone)]
pub struct Pan6Config {
    /// API base, e.g. [`DEFAULT_ENDPOINT`] or a sandbox's `http://127.0.0.1:PORT/6pan`.
    pub endpoint: Url,
    /// API generation.
    pub api: Pan6Api,
    /// Session token from a login.
    pub token: SecretString,
    /// Files up to this size use the WCS form upload (one request) instead of blocks.
    pub form_upload_max: u64,
    /// Chunk size inside a 4 MiB block (1 MiB, as the official web uploader).
    pub chunk_size: u64,
    /// Backoff for transient failures.
    pub retry: RetryPolicy,
}

impl Pan6Config {
    /// A configuration with the documented defaults.
    pub fn new(endpoint: Url, api: Pan6Api, token: SecretString) -> Self {
        Self {
            endpoint,
            api,
            token,
            form_upload_max: wcs::BLOCK_SIZE,
            chunk_size: wcs::CHUNK_SIZE,
            retry: RetryPolicy::default(),
        }
    }
}

/// A 6pan account ready to take uploads.
pub struct Pan6 {
    api: Arc<Api>,
    config: Pan6Config,
}

impl Pan6 {
    /// Builds the provider on a shared HTTP client.
    pub fn new(http: reqwest::Client, config: Pan6Config) -> Self {
        let api = Api {
            http,
            base: config.endpoint.clone(),
            version: config.api,
            session: Arc::new(SessionToken::new(config.token.clone())),
            retry: config.retry,
        };
        Self {
            api: Arc::new(api),
            config,
        }
    }

    /// The newest session token (the cloud rotates it; store this one, not the one you started with).
    pub fn session_token(&self) -> SecretString {
        self.api.session.get()
    }

    /// The token request for a file (spec §9.3 for v1, §10.2 for v2).
    fn token_request(&self, target: &RemoteTarget, etag: &str, policy: DuplicatePolicy) -> Value {
        let dirs: Vec<&str> = target.dir_components().collect();
        let overwrite = policy == DuplicatePolicy::Overwrite;
        match self.config.api {
            Pan6Api::V1 => {
                // v1 takes `:torrent` bare; the root is the empty path (seed 000: default is root '').
                let path = if dirs == [TORRENT_DIR] {
                    TORRENT_DIR.to_owned()
                } else {
                    dirs.iter().map(|d| format!("/{d}")).collect()
                };
                json!({
                    "name": target.name,
                    "hash": etag,
                    "path": path,
                    "override": i32::from(overwrite),
                    "originalFilename": target.name,
                })
            }
            Pan6Api::V2 => {
                let path = if dirs.is_empty() {
                    "/".to_owned()
                } else {
                    dirs.iter().map(|d| format!("/{d}")).collect()
                };
                let mut req = json!({ "path": path, "hash": etag, "name": target.name });
                if overwrite {
                    req["override"] = Value::Bool(true);
                }
                req
            }
        }
    }

    /// A file named like `target` in its folder whose hash is `etag`, by paging through the folder.
    async fn find_identical(&self, target: &RemoteTarget, etag: &str) -> Result<Option<RemoteFile>> {
        let dirs: Vec<&str> = target.dir_components().collect();
        let path: String = if dirs.is_empty() {
            "/".to_owned()
        } else {
            dirs.iter().map(|d| format!("/{d}")).collect()
        };
        let route = match self.config.api {
            Pan6Api::V1 => "v1/files/page",
            Pan6Api::V2 => "v2/files/page",
        };
        let subject = target.full_path();
        for page in 1..=MAX_LIST_PAGES {
            let result = self
                .api
                .call(route, &json!({ "path": path, "page": page, "pageSize": LIST_PAGE_SIZE }), &subject)
                .await?;
            let list = result.get("list").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let same = list.iter().find(|e| {
                let hash = envelope::text_field(e, "hash").or_else(|| envelope::text_field(e, "storeId"));
                e.get("name").and_then(Value::as_str) == Some(target.name.as_str()) && hash.as_deref() == Some(etag)
            });
            if let Some(entry) = same {
                return file_of(entry).map(Some);
            }
            let pages = result.get("totalPage").and_then(Value::as_u64).unwrap_or(1);
            if u64::from(page) >= pages {
                break;
            }
        }
        Ok(None)
    }

    fn token_flow(&self, target: &RemoteTarget, etag: &str, size: u64, policy: DuplicatePolicy) -> Arc<TokenFlow> {
        Arc::new(TokenFlow {
            api: Arc::clone(&self.api),
            path: self.token_path(),
            request: self.token_request(target, etag, policy),
            subject: target.full_path(),
            etag: etag.to_owned(),
            size,
        })
    }

    fn token_path(&self) -> &'static str {
        match self.config.api {
            Pan6Api::V1 => "v1/store/token",
            Pan6Api::V2 => "v2/upload/token",
        }
    }
}

#[async_trait]
impl CloudProvider for Pan6 {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn offline(&self) -> Option<&dyn super::OfflineDownload> {
        Some(self)
    }

    fn current_secret(&self) -> Option<SecretString> {
        Some(self.session_token())
    }

    fn check(&self, target: &RemoteTarget, _size: u64) -> Result<()> {
        let subject = || target.full_path();
        for dir in target.dir_components() {
            let chars = dir.chars().count();
            if chars > MAX_DIR_CHARS {
                return Err(Error::invalid(
                    subject(),
                    format!("folder {dir:?} has {chars} characters; 6pan allows at most {MAX_DIR_CHARS} per folder"),
                ));
            }
        }
        name_rule(&target.name).map_or(Ok(()), |rule| Err(Error::invalid(subject(), rule)))
    }

    fn hash_request(&self, _size: u64) -> HashRequest {
        HashRequest {
            md5: false,
            etag: true,
            slice_size: None,
            block_sha256: None,
        }
    }

    async fn begin(&self, file: &LocalFile, target: &RemoteTarget, policy: DuplicatePolicy) -> Result<Begin> {
        // 6pan cannot rename on a clash. "Keep both" (the app's default) still means "never replace": the
        // upload goes ahead and only a real clash fails it, as under `Fail`.
        let policy = match policy {
            DuplicatePolicy::KeepBoth => DuplicatePolicy::Fail,
            other => other,
        };
        let etag = file
            .digest
            .etag
            .clone()
            .ok_or_else(|| Error::invalid(file.path.display().to_string(), "the file was not hashed"))?;
        let completion = self.token_flow(target, &etag, file.size, policy);
        let grant = match completion.renew().await {
            Ok(Renewal::Done(remote)) => return Ok(Begin::Instant(remote)),
            Ok(Renewal::Grant(grant)) => grant,
            // The same bytes already under that name count as done; anything else is a real clash.
            Err(Error::Conflict { .. }) => {
                return match self.find_identical(target, &etag).await? {
                    Some(remote) => Ok(Begin::Instant(remote)),
                    None => Err(Error::Conflict {
                        provider: PROVIDER,
                        name: target.full_path(),
                    }),
                };
            }
            Err(e) => return Err(e),
        };
        let (http, retry) = (self.api.http.clone(), self.config.retry);
        let session: Box<dyn super::UploadSession> = if grant.is_form_only() || file.size <= self.config.form_upload_max {
            Box::new(FormSession::new(
                http,
                grant,
                target.name.clone(),
                file.size,
                etag,
                completion,
                retry,
            )?)
        } else {
            Box::new(SliceSession::new(
                http,
                grant,
                file.path.clone(),
                file.size,
                etag,
                self.config.chunk_size,
                completion,
                retry,
            ))
        };
        Ok(Begin::Upload(session))
    }

    /// Asks for a fresh upload token by hash (the saved one is not kept), then continues the saved batch with
    /// the blocks it already sent; the cloud may meanwhile hold the file, which finishes it at once.
    async fn resume(&self, file: &LocalFile, target: &RemoteTarget, policy: DuplicatePolicy, saved: &SavedUpload) -> Result<Option<Begin>> {
        if saved.resume.provider != PROVIDER {
            return Ok(None);
        }
        let Ok(state) = serde_json::from_value::<SavedBlocks>(saved.resume.state.clone()) else {
            return Ok(None);
        };
        if state.size != file.size || file.digest.etag.as_deref() != Some(state.etag.as_str()) {
            return Ok(None);
        }
        let completion = self.token_flow(target, &state.etag, file.size, policy);
        let grant = match completion.renew().await? {
            Renewal::Done(remote) => return Ok(Some(Begin::Instant(remote))),
            Renewal::Grant(grant) => grant,
        };
        let ctxs: Vec<(u32, String)> = saved.parts.iter().filter_map(|(i, r)| r.0.clone().map(|c| (*i, c))).collect();
        let session = SliceSession::new(
            self.api.http.clone(),
            grant,
            file.path.clone(),
            file.size,
            state.etag,
            self.config.chunk_size,
            completion,
            self.config.retry,
        )
        .restore(state.batch, &ctxs);
        Ok(Some(Begin::Upload(Box::new(session))))
    }
}

/// Asking 6pan for a file by its hash, and reading what its WCS callback returned.
struct TokenFlow {
    api: Arc<Api>,
    path: &'static str,
    request: Value,
    subject: String,
    /// The file's etag and size, which an instant hit must match.
    etag: String,
    size: u64,
}

#[async_trait]
impl Completion for TokenFlow {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn parse_callback(&self, body: &str) -> Result<CallbackFile> {
        callback_file(body, &self.subject)
    }

    /// The token request: a hit is the finished file, a miss a grant to upload with.
    async fn renew(&self) -> Result<Renewal> {
        let result = self.api.call(self.path, &self.request, &self.subject).await?;
        match renewal_of(&result)? {
            Renewal::Done(remote) => check_hit(&result, remote, &self.etag, self.size).map(Renewal::Done),
            grant => Ok(grant),
        }
    }
}

/// Reads the body 6pan's WCS callback returned (its envelope around the new file); `subject` names the file.
pub(crate) fn callback_file(body: &str, subject: &str) -> Result<CallbackFile> {
    let result = envelope::decode(200, body.as_bytes(), subject)?;
    file_of(&result).map(|remote| CallbackFile {
        remote,
        hash: hash_of(&result),
        size: size_of(&result),
    })
}

/// Checks the file of an instant hit against what was asked for: a cloud that answers a hit for another hash
/// or size would otherwise make a wrong file count as uploaded.
fn check_hit(result: &Value, remote: RemoteFile, etag: &str, size: u64) -> Result<RemoteFile> {
    let file = hit_file(result).unwrap_or(result);
    if let Some(hash) = hash_of(file).filter(|h| h != etag) {
        return Err(Error::Integrity {
            provider: PROVIDER,
            detail: format!("the instant upload named a file with hash {hash:.64}, not the local etag {etag}"),
        });
    }
    if let Some(stated) = size_of(file).filter(|s| *s != size) {
        return Err(Error::Integrity {
            provider: PROVIDER,
            detail: format!("the instant upload named a file of {stated} bytes, not {size}"),
        });
    }
    Ok(RemoteFile { size, ..remote })
}

/// The content hash a file object states: v2 `hash`, v1 `storeId`.
fn hash_of(file: &Value) -> Option<String> {
    envelope::text_field(file, "hash").or_else(|| envelope::text_field(file, "storeId"))
}

/// The size a file object states, as a number or a string of digits.
fn size_of(file: &Value) -> Option<u64> {
    match file.get("size")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads the `result` of a token request: a hit is the finished file, a miss a grant to upload with.
pub(crate) fn renewal_of(result: &Value) -> Result<Renewal> {
    if let Some(file) = hit_file(result) {
        return file_of(file).map(Renewal::Done);
    }
    let info = result.get("uploadInfo").unwrap_or(result);
    check_grant_kind(info)?;
    let token = envelope::text_field(info, "uploadToken").or_else(|| envelope::text_field(info, "token"));
    let url = envelope::text_field(info, "uploadUrl");
    match (token, url) {
        (Some(token), Some(url)) => Ok(Renewal::Grant(UploadGrant {
            url: upload_host(&url)?,
            token: SecretString::from(token),
        })),
        _ => Err(Error::Protocol {
            provider: PROVIDER,
            detail: "the token reply has neither a file nor an upload token and URL".into(),
        }),
    }
}

/// The kinds of grant the WCS uploader takes: v2 `uploadInfo.type` `WCS/Splite` (seed 002), v1 `type` 0 with
/// token `version` 1 (seeds 000, 001). A grant stating another kind is refused, naming it, before a byte is
/// sent; one that states none is taken as WCS (both seeds always state it, so that is a lenient reading).
fn check_grant_kind(info: &Value) -> Result<()> {
    let refuse = |what: String| {
        Err(Error::Protocol {
            provider: PROVIDER,
            detail: format!(
                "the upload grant is of {what}, which PanDrop cannot upload to (it knows WCS: v2 type \"WCS/Splite\", \
                 v1 type 0, version 1)"
            ),
        })
    };
    match info.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "WCS/Splite" => {}
        Some(kind) if kind.as_i64() == Some(0) || kind.as_str().map(str::trim) == Some("0") => {}
        Some(kind) => return refuse(format!("type {}", crate::error::shown(&kind.to_string()))),
    }
    match info.get("version") {
        None | Some(Value::Null) => Ok(()),
        Some(version) if version.as_i64() == Some(1) || version.as_str().map(str::trim) == Some("1") => Ok(()),
        Some(version) => refuse(format!("token version {}", crate::error::shown(&version.to_string()))),
    }
}

/// The file object of a token reply that is an instant hit: v2 sets `hashCached` and nests the file, v1 answers
/// with the file itself (it has a `uuid`). `None` for a miss.
fn hit_file(result: &Value) -> Option<&Value> {
    if result.get("hashCached").and_then(Value::as_bool) == Some(true) {
        return Some(result.get("file").unwrap_or(&Value::Null));
    }
    result.get("uuid").is_some().then_some(result)
}

/// The id of a 6pan file object: v1 `uuid`, v2 `identity`, a non-empty string (a number or `0` is not an id).
fn file_of(value: &Value) -> Result<RemoteFile> {
    let text = |key| value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let id = text("uuid").or_else(|| text("identity"));
    let size = size_of(value).unwrap_or(0);
    id.map(|id| RemoteFile { id: id.to_owned(), size }).ok_or_else(|| Error::Protocol {
        provider: PROVIDER,
        detail: "the file object has no uuid or identity string".into(),
    })
}

/// Accepts an upload host only if it is plain HTTP(S).
fn upload_host(text: &str) -> Result<Url> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(Error::Protocol {
            provider: PROVIDER,
            detail: format!("upload URL {text:?} is not an http(s) URL"),
        }),
    }
}

/// The rule a 6pan file name breaks, if any.
fn name_rule(name: &str) -> Option<String> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        Some("the name is empty or only spaces".into())
    } else if name == "." || name == ".." {
        Some("the name may not be . or ..".into())
    } else if let Some(c) = name.chars().find(|c| *c == '/' || *c == '\\' || c.is_control()) {
        Some(format!("the name contains {c:?}, which 6pan paths cannot hold"))
    } else if chars > MAX_NAME_CHARS {
        Some(format!("the name has {chars} characters; at most {MAX_NAME_CHARS} are accepted"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name_rule("幸运星.torrent"), None);
        assert!(name_rule("   ").is_some());
        assert!(name_rule("..").is_some());
        assert!(name_rule("a/b").is_some());
        assert!(name_rule("a\u{0}b").is_some());
    }

    #[test]
    fn grants_of_another_kind_are_refused_naming_it() {
        let grant = |info: Value| renewal_of(&serde_json::json!({ "uploadInfo": info }));
        let wcs = |extra: Value| {
            let mut info = serde_json::json!({"uploadToken": "t", "uploadUrl": "https://upload-v1.6pan.cn"});
            info.as_object_mut()
                .expect("object")
                .extend(extra.as_object().expect("object").clone());
            info
        };
        // The seeds' kinds, and none stated.
        for ok in [
            serde_json::json!({"type": "WCS/Splite"}),
            serde_json::json!({"type": 0, "version": 1}),
            serde_json::json!({"type": "0", "version": "1"}),
            serde_json::json!({}),
        ] {
            assert!(matches!(grant(wcs(ok.clone())), Ok(Renewal::Grant(_))), "{ok}");
        }
        for (bad, named) in [
            (serde_json::json!({"type": "S3/Multipart"}), "S3/Multipart"),
            (serde_json::json!({"type": 2}), "type \"2\""),
            (serde_json::json!({"type": 0, "version": 2}), "version \"2\""),
        ] {
            let err = grant(wcs(bad.clone())).err().expect("refused");
            assert!(err.to_string().contains(named), "{bad}: {err}");
        }
    }

    #[test]
    fn upload_hosts_must_be_http() {
        assert!(upload_host("https://upload-v1.6pan.cn").is_ok());
        assert!(upload_host("file:///etc/passwd").is_err());
    }
}
