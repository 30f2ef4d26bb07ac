//! Entry points for the `cargo fuzz` targets in `fuzz/` (feature `fuzzing`); not part of the engine's API.
//!
//! The providers' reply parsers are private to their folders. The thin functions here hand them bytes as a
//! server would send them and report what the provider made of them, so the fuzz targets drive the real code
//! and can check it against what the protocol documents say. Nothing here parses on its own: every function
//! is a call into the provider's own code, plus what the provider does with the parsed value right after
//! (reading a timestamp, accepting an upload host). HalalCloud's local readers are here too: a `.torrent`
//! made into a magnet link and a block CID read back, since their bytes come from outside as well.
//!
//! Every function returns an error for input a server should not send (or a file that is not a torrent);
//! none of them may panic, whatever the bytes.
#![doc(hidden)]

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use url::Url;

use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::provider::RemoteFile;
use crate::provider::halalcloud::{api as halal, cid, magnet};
use crate::provider::pan6::{self, envelope};
use crate::provider::pan123::{api, auth, client};
use crate::provider::wcs::reply::{self, ChunkReceipt, Failure, MkfileResult};
use crate::provider::wcs::{CallbackFile, Completion, FormSession, Renewal, SliceSession, UploadGrant};

/// What 6pan's parsers name in their messages.
const SUBJECT: &str = "/fuzz/file.bin";

/// A 123pan reply whose `data` the provider reads into a type of its own (protocol doc `123pan.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pan123Reply {
    /// `POST /api/v1/access_token` (§2.2): `{accessToken, expiredAt}`, `expiredAt` in RFC 3339.
    AccessToken,
    /// `POST /upload/v2/file/create` (§3.1): `{fileID, reuse, preuploadID, sliceSize, servers}`.
    Create,
    /// `POST {server}/upload/v2/file/slice` (§3.2): any `data`, usually `null`.
    Slice,
    /// `POST /upload/v2/file/upload_complete` (§3.3): `{completed, fileID}`, or code 20103 while verifying.
    UploadComplete,
    /// `GET /upload/v2/file/domain` (§3.4): an array of upload hosts.
    Domain,
    /// `POST {domain}/upload/v2/file/single/create` (§3.5): `{fileID, completed}`.
    SingleCreate,
    /// `POST /upload/v1/file/mkdir` (§5.1): `{dirID}`.
    Mkdir,
    /// `GET /api/v2/file/list` (§5.2): `{lastFileId, fileList}`.
    List,
}

impl Pan123Reply {
    /// Every reply kind.
    pub const ALL: [Self; 8] = [
        Self::AccessToken,
        Self::Create,
        Self::Slice,
        Self::UploadComplete,
        Self::Domain,
        Self::SingleCreate,
        Self::Mkdir,
        Self::List,
    ];
}

/// Decodes a 123pan envelope `{code, message, data}` answered with HTTP `status`: its `data` (`None` for
/// `null` or absent), or the error the envelope or the status describes.
pub fn pan123_envelope(status: u16, body: &[u8]) -> Result<Option<Value>> {
    api::decode(status, body)
}

/// Reads a 123pan reply as the provider reads the reply `kind`: the envelope, then its typed `data`, then
/// the values the provider uses at once (the token's expiry, the upload hosts it would send slices to).
pub fn pan123_reply(kind: Pan123Reply, status: u16, body: &[u8]) -> Result<()> {
    match kind {
        Pan123Reply::AccessToken => {
            let reply: api::TokenReply = api::decode_data(status, body)?;
            auth::parse_expiry(&reply.expired_at)
                .map(drop)
                .ok_or_else(|| protocol("123pan", "expiredAt is not an RFC 3339 time"))
        }
        Pan123Reply::Create => {
            let reply: api::CreateReply = api::decode_data(status, body)?;
            let _ = (reply.reuse, reply.file_id, reply.preupload_id, reply.slice_size);
            reply.servers.iter().try_for_each(|server| client::upload_host(server).map(drop))
        }
        Pan123Reply::Slice => api::decode::<Value>(status, body).map(drop),
        Pan123Reply::UploadComplete => match api::decode_data::<api::CompleteReply>(status, body) {
            Ok(reply) => {
                let _ = (reply.completed, reply.file_id);
                Ok(())
            }
            Err(err) => {
                let _ = api::is_verifying(&err);
                Err(err)
            }
        },
        Pan123Reply::Domain => {
            let hosts: Vec<String> = api::decode_data(status, body)?;
            hosts.iter().try_for_each(|host| client::upload_host(host).map(drop))
        }
        Pan123Reply::SingleCreate => {
            let reply: api::CompleteReply = api::decode_data(status, body)?;
            let _ = (reply.completed, reply.file_id);
            Ok(())
        }
        Pan123Reply::Mkdir => api::decode_data::<api::MkdirReply>(status, body).map(|reply| {
            let _ = reply.dir_id;
        }),
        Pan123Reply::List => {
            let reply: api::ListReply = api::decode_data(status, body)?;
            let _ = reply.last_file_id;
            for entry in &reply.file_list {
                let _ = (entry.is_live_file(), entry.is_live_folder());
            }
            Ok(())
        }
    }
}

/// Decodes a 6pan v1 or v2 envelope `{status, result, code, success, message}` answered with HTTP `status`:
/// its `result` (`null` when absent), or the error it describes.
pub fn pan6_envelope(status: u16, body: &[u8]) -> Result<Value> {
    envelope::decode(status, body, SUBJECT)
}

/// The rotated session token a 6pan v1 reply carries in its body, if any.
pub fn pan6_body_token(body: &[u8]) -> Option<String> {
    envelope::body_token(body)
}

/// What the `result` of a 6pan token request (`/v1/store/token`, `/v2/upload/token`) asks the uploader to do.
#[derive(Debug)]
pub enum Pan6Token {
    /// The cloud already holds the bytes: this is the file (instant upload).
    Done(RemoteFile),
    /// Upload to this host; the upload token's put policy expires at `deadline_ms` (unix ms) when it says.
    Grant {
        /// The upload host.
        url: Url,
        /// The `deadline` of the token's put policy.
        deadline_ms: Option<i64>,
    },
}

/// Reads the `result` of a 6pan token request as the provider does (v1: the file or `{token, uploadUrl}`;
/// v2: `{hashCached, file}` or `{uploadInfo: {uploadToken, uploadUrl}}`).
pub fn pan6_token_reply(result: &Value) -> Result<Pan6Token> {
    Ok(match pan6::renewal_of(result)? {
        Renewal::Done(file) => Pan6Token::Done(file),
        Renewal::Grant(grant) => Pan6Token::Grant {
            deadline_ms: grant.deadline_ms(),
            url: grant.url,
        },
    })
}

/// Reads the body 6pan's WCS callback returned (what mkfile's `response` or a form upload's reply carries):
/// the file it registered and the hash it recorded, if it says.
pub fn pan6_callback(body: &str) -> Result<(RemoteFile, Option<String>)> {
    pan6::callback_file(body, SUBJECT).map(|file| (file.remote, file.hash))
}

/// Which WCS call a reply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WcsCall {
    /// `mkblk` or `bput`.
    Chunk,
    /// `mkfile`.
    Mkfile,
    /// The multipart form upload.
    Form,
}

/// How the uploader reacts to a failed WCS call (spec §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WcsReaction {
    /// Send the block again.
    RedoBlock,
    /// Send the whole file again.
    RedoFile,
    /// Ask 6pan for a new upload token.
    Expired,
    /// The bytes are stored but the callback failed: ask 6pan by hash.
    CallbackFailed,
    /// Retry when transient, give up otherwise.
    Other,
}

/// Maps a non-200 WCS reply to the reaction the uploader takes, with the error it would report.
pub fn wcs_failure(call: WcsCall, status: u16, body: &[u8]) -> (WcsReaction, Error) {
    let call = match call {
        WcsCall::Chunk => reply::Call::Chunk,
        WcsCall::Mkfile => reply::Call::Mkfile,
        WcsCall::Form => reply::Call::Form,
    };
    match reply::failure(call, status, body) {
        Failure::RedoBlock(e) => (WcsReaction::RedoBlock, e),
        Failure::RedoFile(e) => (WcsReaction::RedoFile, e),
        Failure::Expired(e) => (WcsReaction::Expired, e),
        Failure::CallbackFailed(e) => (WcsReaction::CallbackFailed, e),
        Failure::Other(e) => (WcsReaction::Other, e),
    }
}

/// A `mkblk` / `bput` receipt as the uploader reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WcsReceipt {
    /// The context the next `bput` (or `mkfile`) names.
    pub ctx: String,
    /// Hex MD5 of the chunk, when the server says.
    pub checksum: Option<String>,
    /// CRC-32 of the chunk, when the server says.
    pub crc32: Option<u64>,
    /// Bytes of the block stored so far.
    pub offset: u64,
}

/// Reads a 200 reply of `mkblk` / `bput`.
pub fn wcs_chunk_receipt(body: &[u8]) -> Result<WcsReceipt> {
    let receipt: ChunkReceipt = reply::parse(body)?;
    Ok(WcsReceipt {
        ctx: receipt.ctx,
        checksum: receipt.checksum,
        crc32: receipt.crc32,
        offset: receipt.offset,
    })
}

/// Reads a 200 reply of `mkfile` (`{hash, response}`) and finishes the upload of a file of `size` bytes whose
/// local etag is `etag`, as a 6pan slice upload does: the hash must be the etag, and `response` must be
/// 6pan's callback body naming the file (and agreeing with the etag and size where it states them).
///
/// The session behind it keeps a slot per 4 MiB block: keep `size` to a few GiB.
pub fn wcs_mkfile(body: &[u8], etag: &str, size: u64) -> Result<RemoteFile> {
    let result: MkfileResult = reply::parse(body)?;
    slice_session(etag, size).finish(result)
}

/// Finishes a 6pan form upload of a file of `size` bytes whose local etag is `etag` from the form reply
/// `body` (6pan's callback body, as JSON or URL-safe base64 of it).
pub fn wcs_form(body: &[u8], etag: &str, size: u64) -> Result<RemoteFile> {
    form_session(etag, size)?.finish(body)
}

/// The `deadline` (unix ms) of a WCS upload token's put policy (`ak:sign:base64(policy)`).
pub fn wcs_token_deadline(token: &str) -> Option<i64> {
    grant(token).deadline_ms()
}

/// What HalalCloud's errors name as the call's subject (the path, in a 409's `Conflict`).
const HALAL_SUBJECT: &str = "/PanDrop/fuzz.bin";

/// A HalalCloud v6 answer the provider reads into a type of its own (protocol doc `halalcloud.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HalalReply {
    /// `POST /v6/userfile/create_upload_task` (§6 step 1): `UploadTask`, its int64 fields JSON strings.
    UploadTask,
    /// The upload host's finish answer (§6 step 7): `UploadedFile`, with `size` a JSON number.
    UploadedFile,
    /// `POST /v6/userfile/get` and `/create` (§5.3): a `File`.
    File,
    /// `POST /v6/userfile/list` (§5.3): `{files, list_info}`.
    List,
    /// `POST /v6/user/get` (§5.2): the account.
    User,
    /// `POST /v6/oauth/device_code` (§5.1).
    DeviceCode,
    /// `POST /v6/oauth/get_device_code_state` (§5.1).
    DeviceCodeState,
    /// `POST /v6/oauth/refresh_token` (§5.1).
    Token,
    /// `POST /v6/offline_task/parse` (§5.4).
    OfflineParse,
    /// `POST /v6/offline_task/add` (§5.4): a `UserTask`.
    UserTask,
}

impl HalalReply {
    /// Every reply kind.
    pub const ALL: [Self; 10] = [
        Self::UploadTask,
        Self::UploadedFile,
        Self::File,
        Self::List,
        Self::User,
        Self::DeviceCode,
        Self::DeviceCodeState,
        Self::Token,
        Self::OfflineParse,
        Self::UserTask,
    ];
}

/// What the provider makes at once of a HalalCloud answer it accepted.
#[derive(Debug)]
pub enum HalalRead {
    /// An upload task.
    UploadTask {
        /// `created`: the file exists already.
        created: bool,
        /// `block_size` as read.
        block_size: u64,
        /// What `checked_block_size()` made of it.
        checked_block_size: Result<u64>,
        /// `cid_params()`: `(codec, hash type)` as the CIDs are made with, zeros replaced by the defaults.
        cid_params: (u64, u64),
    },
    /// A list page.
    List {
        /// How many entries it holds.
        files: usize,
        /// `next_token()`: the continuation, `None` on the last page.
        next_token: Option<String>,
    },
    /// A device-code answer, or a poll of its state.
    DeviceFlow {
        /// How long to wait before the next poll.
        poll_interval: Duration,
        /// `is_authorized()` for a state; `false` for the code itself.
        authorized: bool,
    },
    /// Any other answer: read, with nothing computed from it at once.
    Other,
}

/// Reads a HalalCloud answer given with HTTP `status` as the provider reads the reply `kind` (`api::decode`),
/// then what the provider uses of it at once.
pub fn halalcloud_reply(kind: HalalReply, status: u16, body: &[u8]) -> Result<HalalRead> {
    Ok(match kind {
        HalalReply::UploadTask => {
            let task: halal::UploadTask = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (&task.upload_address, &task.task, task.block_version);
            HalalRead::UploadTask {
                created: task.created,
                block_size: task.block_size,
                checked_block_size: task.checked_block_size(),
                cid_params: task.cid_params(),
            }
        }
        HalalReply::UploadedFile => {
            let file: halal::UploadedFile = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (&file.identity, &file.user_identity, &file.path, file.size, &file.content_identity);
            HalalRead::Other
        }
        HalalReply::File => {
            let file: halal::File = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (file.is_live_folder(), &file.identity, file.size, file.create_ts, file.update_ts);
            HalalRead::Other
        }
        HalalReply::List => {
            let page: halal::ListResponse = halal::decode(status, body, HALAL_SUBJECT)?;
            for file in &page.files {
                let _ = file.is_live_folder();
            }
            HalalRead::List {
                files: page.files.len(),
                next_token: page.next_token().map(str::to_owned),
            }
        }
        HalalReply::User => {
            let user: halal::User = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (&user.identity, &user.name, user.kind, user.status);
            HalalRead::Other
        }
        HalalReply::DeviceCode => {
            let code: halal::DeviceCode = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (&code.user_code, code.device_code.is_some(), code.expires_in, code.expires_in_ts);
            HalalRead::DeviceFlow {
                poll_interval: code.poll_interval(),
                authorized: false,
            }
        }
        HalalReply::DeviceCodeState => {
            let state: halal::DeviceCodeState = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (
                state.login,
                state.access_token.is_some(),
                state.refresh_token.is_some(),
                state.expires_in,
            );
            HalalRead::DeviceFlow {
                poll_interval: state.poll_interval(),
                authorized: state.is_authorized(),
            }
        }
        HalalReply::Token => {
            let tokens: halal::TokenResponse = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (tokens.access_token.is_some(), tokens.refresh_token.is_some(), tokens.expires_in);
            HalalRead::Other
        }
        HalalReply::OfflineParse => {
            let parsed: halal::OfflineParseResponse = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (&parsed.meta.identity, parsed.meta.kind, parsed.meta.size, parsed.task_files.len());
            HalalRead::Other
        }
        HalalReply::UserTask => {
            let task: halal::UserTask = halal::decode(status, body, HALAL_SUBJECT)?;
            let _ = (&task.identity, task.status, task.size, task.create_ts);
            HalalRead::Other
        }
    })
}

/// Reads the upload host's answer to a block probe (§6 step 5): whether it holds the block already.
pub fn halalcloud_probe(status: u16, body: &[u8]) -> Result<bool> {
    halal::probe_answer(status, body)
}

/// A `.torrent` as the magnet link the offline download is given (§5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentMagnet {
    /// `btih()`: the info-hash, SHA-1 of the `info` dictionary's bytes, in hex.
    pub btih: String,
    /// The torrent's name, when it has one in UTF-8.
    pub name: Option<String>,
    /// The trackers, in order, without repeats.
    pub trackers: Vec<String>,
    /// `uri()`: the whole `magnet:?xt=urn:btih:…` link.
    pub uri: String,
}

/// Reads the bytes of a `.torrent` (named `fuzz.torrent` in errors) into its magnet link.
pub fn torrent_magnet(bytes: &[u8]) -> Result<TorrentMagnet> {
    let magnet = magnet::magnet_from_torrent("fuzz.torrent", bytes)?;
    Ok(TorrentMagnet {
        btih: magnet.btih(),
        uri: magnet.uri(),
        name: magnet.name,
        trackers: magnet.trackers,
    })
}

/// A block CID as read by `parse_cid`, and what `block_cid` writes for what was read.
#[derive(Debug)]
pub struct CidRoundTrip {
    /// The multicodec.
    pub codec: u64,
    /// The multihash code.
    pub hash_type: u64,
    /// `block_cid(digest, codec, hash_type)`.
    pub rewritten: Result<String>,
}

/// Reads a block CID (§6.4) and writes it again from the parts read.
pub fn cid_round_trip(text: &str) -> Result<CidRoundTrip> {
    let (codec, hash_type, digest) = cid::parse_cid(text)?;
    Ok(CidRoundTrip {
        codec,
        hash_type,
        rewritten: cid::block_cid(&digest, codec, hash_type),
    })
}

/// The 6pan half of finishing a WCS upload, without the network: callback bodies are read by 6pan's own
/// parser, and asking the cloud again is refused.
struct Pan6Callback;

#[async_trait]
impl Completion for Pan6Callback {
    fn provider(&self) -> &'static str {
        pan6::PROVIDER
    }

    fn parse_callback(&self, body: &str) -> Result<CallbackFile> {
        pan6::callback_file(body, SUBJECT)
    }

    async fn renew(&self) -> Result<Renewal> {
        Err(protocol(pan6::PROVIDER, "no cloud to ask while fuzzing"))
    }
}

/// One HTTP client for every session made here (it is never used to send anything).
fn http() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new).clone()
}

fn grant(token: &str) -> UploadGrant {
    UploadGrant {
        url: Url::parse("http://127.0.0.1:9/").expect("a valid URL"),
        token: SecretString::from(token.to_owned()),
    }
}

fn slice_session(etag: &str, size: u64) -> SliceSession {
    SliceSession::new(
        http(),
        grant("ak:sign:e30"),
        "fuzz.bin".into(),
        size,
        etag.to_owned(),
        1,
        Arc::new(Pan6Callback),
        RetryPolicy::quick(),
    )
}

fn form_session(etag: &str, size: u64) -> Result<FormSession> {
    FormSession::new(
        http(),
        grant("ak:sign:e30"),
        "fuzz.bin".into(),
        size,
        etag.to_owned(),
        Arc::new(Pan6Callback),
        RetryPolicy::quick(),
    )
}

fn protocol(provider: &'static str, detail: &str) -> Error {
    Error::Protocol {
        provider,
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "FqmZPjZHBoFquj4lcXhQwmyc0Nid";

    #[test]
    fn documented_replies_read_as_the_providers_read_them() {
        let token = br#"{"code":0,"message":"ok","data":{"accessToken":"eyJ","expiredAt":"2025-03-23T15:48:37+08:00"},"x-traceID":""}"#;
        pan123_reply(Pan123Reply::AccessToken, 200, token).expect("token");
        let create = br#"{"code":0,"message":"ok","data":{"fileID":0,"reuse":false,"preuploadID":"p","sliceSize":16777216,"servers":["http://openapi-upload.123242.com"]}}"#;
        pan123_reply(Pan123Reply::Create, 200, create).expect("create");
        let bad_host = br#"{"code":0,"message":"ok","data":{"servers":["file:///etc/passwd"]}}"#;
        assert!(pan123_reply(Pan123Reply::Create, 200, bad_host).is_err());
        assert!(matches!(pan123_envelope(200, br#"{"code":0,"data":null}"#), Ok(None)));

        let v2_miss = serde_json::json!({"uploadInfo": {"uploadToken": "ak:sign:eyJkZWFkbGluZSI6MTIzfQ==", "uploadUrl": "https://upload-v1.6pan.cn"}, "hashCached": false});
        assert!(matches!(
            pan6_token_reply(&v2_miss),
            Ok(Pan6Token::Grant {
                deadline_ms: Some(123),
                ..
            })
        ));
        let v1_hit = serde_json::json!({"uuid": "u-1", "size": 3});
        assert!(matches!(pan6_token_reply(&v1_hit), Ok(Pan6Token::Done(RemoteFile { size: 3, .. }))));
        assert_eq!(pan6_body_token(br#"{"success":true,"token":"t"}"#).as_deref(), Some("t"));
    }

    #[test]
    fn mkfile_and_form_replies_finish_through_the_callback() {
        let callback = format!(r#"{{"status":0,"result":{{"identity":"id-1","hash":"{ETAG}","size":3}},"code":"OK","success":true}}"#);
        let mkfile = serde_json::json!({"hash": ETAG, "response": callback}).to_string();
        assert_eq!(wcs_mkfile(mkfile.as_bytes(), ETAG, 3).expect("mkfile").id, "id-1");
        assert!(matches!(wcs_mkfile(mkfile.as_bytes(), "Fother", 3), Err(Error::Integrity { .. })));
        assert_eq!(wcs_form(callback.as_bytes(), ETAG, 3).expect("form").id, "id-1");
        let (file, hash) = pan6_callback(&callback).expect("callback");
        assert_eq!((file.id.as_str(), hash.as_deref()), ("id-1", Some(ETAG)));
        assert_eq!(wcs_failure(WcsCall::Mkfile, 579, b"{}").0, WcsReaction::CallbackFailed);
        let receipt = wcs_chunk_receipt(br#"{"ctx":"c","checksum":"x","crc32":1,"offset":4}"#).expect("receipt");
        assert_eq!(receipt.offset, 4);
        assert_eq!(wcs_token_deadline("ak:sign:eyJkZWFkbGluZSI6IjQ1NiJ9"), Some(456));
    }

    #[test]
    fn halalcloud_replies_torrents_and_cids_read_as_the_provider_reads_them() {
        let task = br#"{"upload_address":"https://upload.2dland.cn/v6/upload","task":"t-1","block_size":"4194304","block_codec":"85"}"#;
        match halalcloud_reply(HalalReply::UploadTask, 200, task).expect("upload task") {
            HalalRead::UploadTask {
                block_size,
                checked_block_size,
                cid_params,
                created: false,
            } => {
                assert_eq!(
                    (block_size, checked_block_size.ok(), cid_params),
                    (4_194_304, Some(4_194_304), (0x55, 0x12))
                );
            }
            other => panic!("{other:?}"),
        }
        let created = halalcloud_reply(HalalReply::UploadTask, 200, br#"{"created":true}"#).expect("created");
        assert!(matches!(
            created,
            HalalRead::UploadTask {
                block_size: 0,
                checked_block_size: Err(_),
                ..
            }
        ));
        let finish = br#"{"identity":"f-1","size":5242880}"#;
        assert!(matches!(
            halalcloud_reply(HalalReply::UploadedFile, 201, finish),
            Ok(HalalRead::Other)
        ));
        let page = br#"{"files":[{"identity":"d-1","dir":true}],"list_info":{"token":"next"}}"#;
        assert!(matches!(
            halalcloud_reply(HalalReply::List, 200, page),
            Ok(HalalRead::List { files: 1, next_token: Some(t) }) if t == "next"
        ));
        let state = br#"{"status":"AUTHORIZATION_SUCCESS","access_token":"at","interval":0}"#;
        assert!(matches!(
            halalcloud_reply(HalalReply::DeviceCodeState, 200, state),
            Ok(HalalRead::DeviceFlow { authorized: true, poll_interval }) if poll_interval == halal::DEFAULT_POLL_INTERVAL
        ));
        let missing = br#"{"code":5,"message":"not found","details":[]}"#;
        for kind in HalalReply::ALL {
            assert!(matches!(halalcloud_reply(kind, 404, missing), Err(Error::Api { .. })), "{kind:?}");
        }
        assert!(matches!(halalcloud_reply(HalalReply::User, 409, b""), Err(Error::Conflict { .. })));
        assert!(halalcloud_probe(200, b" true\n").expect("probe"));
        assert!(halalcloud_probe(201, b"true").is_err());

        let info = b"d6:lengthi3e4:name5:a.txt12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";
        let torrent = [&b"d4:info"[..], info, b"e"].concat();
        let magnet = torrent_magnet(&torrent).expect("torrent");
        assert_eq!(magnet.btih, hex::encode(<sha1::Sha1 as sha1::Digest>::digest(info)));
        assert_eq!(magnet.uri, format!("magnet:?xt=urn:btih:{}&dn=a.txt", magnet.btih));
        assert!(matches!(torrent_magnet(b"d4:infod4:name1:xee"), Err(Error::InvalidInput { .. })));

        let abc = "bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu";
        let read = cid_round_trip(abc).expect("cid");
        assert_eq!(
            (read.codec, read.hash_type, read.rewritten.as_deref().ok()),
            (0x55, 0x12, Some(abc))
        );
        assert!(cid_round_trip("Bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu").is_err());
    }
}
