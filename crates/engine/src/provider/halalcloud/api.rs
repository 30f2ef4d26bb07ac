//! HalalCloud v6 wire types (spec §5–§6) and the mapping of error answers (spec §2), private to this folder.
//!
//! The service is grpc-gateway over protobuf, so: field names are snake_case, a field left out means zero,
//! false or empty (every reply type here defaults), and int64 fields are JSON strings both ways
//! ([`int64_string`]). Tokens and device codes are read straight into [`SecretString`]s.

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;

use super::PROVIDER;
use super::cid;
use crate::error::{Error, Result, server_text};

/// int64 fields as JSON strings (`"size":"5242880"`), the way the SDK's `,string` tags and protojson write
/// them (spec §2).
///
/// Reading also takes a plain JSON number, since the upload host's finish answer sends `size` as one
/// (spec §6 step 7), and `null` as zero. Reading is generic, so int32 fields (plain numbers on the wire) use
/// it too through `deserialize_with`, in case a server writes them as strings.
pub(crate) mod int64_string {
    use serde::{Deserializer, Serializer, de};
    use std::fmt::{self, Display};
    use std::marker::PhantomData;
    use std::str::FromStr;

    /// An integer type these helpers read.
    pub(crate) trait Int: Copy + Default + FromStr + TryFrom<i64> + TryFrom<u64> {}
    impl Int for i32 {}
    impl Int for i64 {}
    impl Int for u64 {}

    /// Writes the value as a JSON string of its decimal digits.
    pub(crate) fn serialize<T: Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Reads a JSON string of decimal digits, a JSON integer, or `null` (zero).
    pub(crate) fn deserialize<'de, T: Int, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(IntVisitor(PhantomData))
    }

    struct IntVisitor<T>(PhantomData<T>);

    impl<T: Int> de::Visitor<'_> for IntVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer in range, or a string holding one")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            // The value is not echoed: it is the server's text and may be long.
            v.parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Other("a string that is not an integer"), &self))
        }

        fn visit_unit<E: de::Error>(self) -> Result<T, E> {
            Ok(T::default())
        }
    }
}

/// Reads an optional string into a secret; empty means none.
fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<SecretString>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    Ok(text.filter(|t| !t.is_empty()).map(SecretString::from))
}

/// Reads a JSON string or number as text (the gateway's `code` is a gRPC number; H1 expects a string).
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

/// An empty request body, `{}` (`/v6/user/get`, `/v6/user/get_statistics_and_quota`).
#[derive(Debug, Serialize)]
pub(crate) struct Empty {}

/// A file reference: `{"path": …}` or `{"identity": …}` (spec §5.3); also the `/v6/userfile/get` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FileRef<'a> {
    /// By absolute path, `/`-separated.
    Path(&'a str),
    /// By the cloud's identity.
    #[allow(dead_code)] // Part of the wire contract, tested here; PanDrop sends no such request yet.
    Identity(&'a str),
}

/// A file or folder (spec §5.3, H1 `File`); the answer of `get` and `create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct File {
    /// The cloud's id.
    pub identity: String,
    /// The parent folder's identity.
    pub parent: String,
    /// The name.
    pub name: String,
    /// The absolute path.
    pub path: String,
    /// MIME type, for files.
    pub mime_type: String,
    /// Size in bytes.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub size: u64,
    /// Creation time, Unix milliseconds.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub create_ts: i64,
    /// Last change, Unix milliseconds.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub update_ts: i64,
    /// A folder.
    pub dir: bool,
    /// Deleted.
    pub deleted: bool,
    /// In the trash.
    pub trashed: bool,
    /// Hidden.
    pub hidden: bool,
    /// The server's id of the bytes; `create {path, content_identity}` makes another file of them.
    pub content_identity: String,
}

impl File {
    /// A live (not deleted, not trashed) folder.
    pub(crate) fn is_live_folder(&self) -> bool {
        self.dir && !self.deleted && !self.trashed
    }
}

/// `list_info`: paging of `list` requests and answers (H1 `ScanListRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ListInfo {
    /// Page size; 0 is left out (the server's default).
    #[serde(with = "int64_string", skip_serializing_if = "is_zero")]
    pub limit: i64,
    /// Where the previous page ended; empty for the first page, and in an answer when there is no more.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
}

/// Whether a `limit` is zero, to leave it out.
fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The page size PanDrop asks for (spec §8).
pub(crate) const LIST_LIMIT: i64 = 100;

/// `POST /v6/userfile/list`.
#[derive(Debug, Serialize)]
pub(crate) struct ListRequest<'a> {
    /// The folder to list.
    pub parent: FileRef<'a>,
    /// Page size and continuation.
    pub list_info: ListInfo,
}

impl<'a> ListRequest<'a> {
    /// The page of `parent` after `token` (`""` for the first), [`LIST_LIMIT`] entries long.
    pub(crate) fn page(parent: FileRef<'a>, token: &str) -> Self {
        Self {
            parent,
            list_info: ListInfo {
                limit: LIST_LIMIT,
                token: token.to_owned(),
            },
        }
    }
}

/// The answer of `/v6/userfile/list`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ListResponse {
    /// This page's entries.
    pub files: Vec<File>,
    /// The continuation.
    pub list_info: Option<ListInfo>,
}

impl ListResponse {
    /// The token of the next page; `None` when this was the last (token empty or absent, spec §5.3).
    pub(crate) fn next_token(&self) -> Option<&str> {
        self.list_info.as_ref().map(|l| l.token.as_str()).filter(|t| !t.is_empty())
    }
}

/// `POST /v6/userfile/create`: a folder, or a file from bytes the cloud already holds (spec §5.3).
#[derive(Debug, Serialize)]
pub(crate) struct CreateRequest<'a> {
    /// The folder's full path, or (with `name`) its parent's.
    pub path: &'a str,
    /// The new folder's name inside `path`, for the `{path, name}` form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// The bytes of the new file, for the `{path, content_identity}` form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_identity: Option<&'a str>,
}

impl<'a> CreateRequest<'a> {
    /// A folder at the full path `path` (its parent must exist: create makes one level).
    pub(crate) fn folder(path: &'a str) -> Self {
        Self {
            path,
            name: None,
            content_identity: None,
        }
    }

    /// A file at `path` from the bytes the cloud knows as `content_identity`.
    #[allow(dead_code)] // Part of the wire contract, tested here; PanDrop sends no such request yet.
    pub(crate) fn known_content(path: &'a str, content_identity: &'a str) -> Self {
        Self {
            path,
            name: None,
            content_identity: Some(content_identity),
        }
    }
}

/// `POST /v6/userfile/create_upload_task` (spec §6 step 1).
#[derive(Debug, Serialize)]
pub(crate) struct CreateUploadTaskRequest<'a> {
    /// The target's full path, name included.
    pub path: &'a str,
    /// The file size in bytes.
    #[serde(with = "int64_string")]
    pub size: u64,
}

/// The answer of `create_upload_task` (H1 `UploadTask`). Its S3-style fields (`access_key`, `secret_key`,
/// `bucket`, …) are not read: PanDrop uses the block upload only, and so never holds those secrets.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UploadTask {
    /// The file exists already: nothing to send and nothing to finish (spec §6 step 2).
    pub created: bool,
    /// The upload host's base URL.
    pub upload_address: String,
    /// The task id, the first path element on the upload host.
    pub task: String,
    /// Every block but the last is this long.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub block_size: u64,
    /// Multihash code of the block hash; 0 means SHA-256.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub block_hash_type: u64,
    /// Multicodec of the blocks; 0 means `raw`.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub block_codec: u64,
    /// Block format version (int32; unused by the upload flow).
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub block_version: i32,
}

impl UploadTask {
    /// `(codec, hash type)` with the defaults for zeros, as [`cid::block_cid`] takes them.
    pub(crate) fn cid_params(&self) -> (u64, u64) {
        cid::effective(self.block_codec, self.block_hash_type)
    }

    /// The block size, which must be positive for an upload that sends bytes.
    pub(crate) fn checked_block_size(&self) -> Result<u64> {
        if self.block_size == 0 {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: "the upload task has no block size".into(),
            });
        }
        Ok(self.block_size)
    }
}

/// The upload host's answer to the finish call (spec §6 step 7, H2 `UploadedFile`): `size` is a JSON number
/// here, unlike everywhere else; either form is read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UploadedFile {
    /// The new file's identity.
    pub identity: String,
    /// The owner.
    pub user_identity: String,
    /// Where it was put.
    pub path: String,
    /// Its size in bytes.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub size: u64,
    /// The server's id of its bytes.
    pub content_identity: String,
}

/// Reads the block probe's answer (spec §6 step 5): only HTTP 200 with JSON `true` or `false` counts; `true`
/// means the host holds the block already.
pub(crate) fn probe_answer(status: u16, body: &[u8]) -> Result<bool> {
    if status != 200 {
        return Err(error_for(status, body, "block probe", None));
    }
    serde_json::from_slice::<bool>(body).map_err(|_| Error::Protocol {
        provider: PROVIDER,
        detail: "the block probe answered something other than true or false".into(),
    })
}

/// The account (`/v6/user/get {}`, H1 `User`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct User {
    /// The account's id.
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Avatar URL.
    pub icon: String,
    /// 1 user, 2 admin, 3 super admin.
    #[serde(rename = "type", deserialize_with = "int64_string::deserialize")]
    pub kind: i32,
    /// 1 normal, 2 disabled, 3 deleted.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub status: i32,
}

/// `POST /v6/oauth/device_code`, signed with the app key and an empty token (spec §5.1).
#[derive(Debug, Serialize)]
pub(crate) struct DeviceCodeRequest<'a> {
    /// The app's client ID.
    pub client_id: &'a str,
    /// A device description the user sees, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<&'a str>,
}

/// How long to wait between device-code polls when the server gives no positive interval (spec §5.1).
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The answer of `device_code`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeviceCode {
    /// The code the user types or confirms.
    pub user_code: String,
    /// The code PanDrop polls with: it yields the tokens once the user agrees, so it is kept secret.
    #[serde(deserialize_with = "secret")]
    pub device_code: Option<SecretString>,
    /// Lifetime in seconds.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub expires_in: i32,
    /// Where the user confirms.
    pub verification_uri: String,
    /// Seconds between polls.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub interval: i32,
    /// Expiry as a timestamp, as the server sends it.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub expires_in_ts: i64,
}

impl DeviceCode {
    /// Time between polls: the server's interval, or [`DEFAULT_POLL_INTERVAL`] when it gives none.
    pub(crate) fn poll_interval(&self) -> Duration {
        poll_interval(self.interval)
    }
}

/// `interval` seconds, or the default when not positive.
fn poll_interval(seconds: i32) -> Duration {
    match u64::try_from(seconds) {
        Ok(s) if s > 0 => Duration::from_secs(s),
        _ => DEFAULT_POLL_INTERVAL,
    }
}

/// `POST /v6/oauth/get_device_code_state`.
#[derive(Serialize)]
pub(crate) struct DeviceCodeStateRequest<'a> {
    /// From [`DeviceCode::device_code`]; exposed only to build this body.
    pub device_code: &'a str,
}

/// The device flow's only final success status; anything else is pending until expiry (spec §5.1, §9 U9).
pub(crate) const AUTHORIZATION_SUCCESS: &str = "AUTHORIZATION_SUCCESS";

/// The answer of `get_device_code_state`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeviceCodeState {
    /// [`AUTHORIZATION_SUCCESS`] when done.
    pub status: String,
    /// The user has signed in.
    pub login: bool,
    /// Set once authorised.
    #[serde(deserialize_with = "secret")]
    pub access_token: Option<SecretString>,
    /// Set once authorised.
    #[serde(deserialize_with = "secret")]
    pub refresh_token: Option<SecretString>,
    /// The access token's lifetime in seconds.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub expires_in: i32,
    /// Seconds until the next poll.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub interval: i32,
    /// Expiry as a timestamp, as the server sends it.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub expires_in_ts: i64,
}

impl DeviceCodeState {
    /// The user agreed and the tokens are here.
    pub(crate) fn is_authorized(&self) -> bool {
        self.status == AUTHORIZATION_SUCCESS
    }

    /// Time until the next poll.
    pub(crate) fn poll_interval(&self) -> Duration {
        poll_interval(self.interval)
    }
}

/// `POST /v6/oauth/refresh_token` (spec §5.1). Holds the exposed refresh token, so it has no `Debug`.
#[derive(Serialize)]
pub(crate) struct RefreshTokenRequest<'a> {
    /// The current refresh token.
    pub refresh_token: &'a str,
    /// Always `refresh_token`.
    pub grant_type: &'static str,
    /// The app's client ID.
    pub client_id: &'a str,
}

impl<'a> RefreshTokenRequest<'a> {
    /// The request to trade `refresh_token` for new tokens.
    pub(crate) fn new(refresh_token: &'a SecretString, client_id: &'a str) -> Self {
        Self {
            refresh_token: refresh_token.expose_secret(),
            grant_type: "refresh_token",
            client_id,
        }
    }
}

/// The answer of `refresh_token`; the new refresh token replaces the stored one.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TokenResponse {
    /// The new access token.
    #[serde(deserialize_with = "secret")]
    pub access_token: Option<SecretString>,
    /// The new refresh token.
    #[serde(deserialize_with = "secret")]
    pub refresh_token: Option<SecretString>,
    /// The access token's lifetime in seconds.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub expires_in: i32,
    /// E.g. `Bearer`.
    pub token_type: String,
    /// Scopes granted.
    pub scope: String,
    /// Expiry as a timestamp, as the server sends it.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub expires_in_ts: i64,
}

/// `POST /v6/offline_task/parse`: `{"url": …}` (a magnet, http(s) …) or `{"identity": …}` (spec §5.4).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OfflineParseRequest<'a> {
    /// A magnet or download URL.
    Url(&'a str),
    /// A parsed resource's identity.
    #[allow(dead_code)] // Part of the wire contract, tested here; PanDrop sends no such request yet.
    Identity(&'a str),
}

/// The answer of `offline_task/parse`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OfflineParseResponse {
    /// What the resource is.
    pub meta: TaskMeta,
    /// The files it holds.
    pub task_files: Vec<TaskFile>,
}

/// A parsed resource (H1 `TaskMeta`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TaskMeta {
    /// Its identity.
    pub identity: String,
    /// Resource type.
    #[serde(rename = "type", deserialize_with = "int64_string::deserialize")]
    pub kind: i32,
    /// Parse status.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub status: i32,
    /// Its name.
    pub name: String,
    /// Total size in bytes.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub size: u64,
    /// The URL it was parsed from.
    pub url: String,
}

/// One file of a parsed resource (H1 `TaskFile`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TaskFile {
    /// Its identity.
    pub identity: String,
    /// Path inside the resource.
    pub path: String,
    /// Name.
    pub name: String,
    /// Size in bytes.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub size: u64,
    /// Position in the resource.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub index: i32,
}

/// `POST /v6/offline_task/add` (spec §5.4).
#[derive(Debug, Serialize)]
pub(crate) struct OfflineAddRequest<'a> {
    /// The magnet or URL.
    pub url: &'a str,
    /// The folder to download into.
    pub save_path: &'a str,
    /// A name for the task, if not the resource's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// Files of the resource to leave out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_files: Vec<String>,
    /// Callbacks, each made by [`callback`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<String>,
}

/// An offline-task callback: standard base64 of the JSON `{"url": …}` (spec §5.4, H1 comment).
#[allow(dead_code)] // Part of the wire contract, tested here; PanDrop sends no such request yet.
pub(crate) fn callback(url: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(serde_json::json!({ "url": url }).to_string())
}

/// The answer of `offline_task/add` (H1 `UserTask`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserTask {
    /// The task's identity.
    pub identity: String,
    /// Task status.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub status: i32,
    /// The resource's name.
    pub name: String,
    /// Size in bytes.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub size: u64,
    /// The URL it downloads.
    pub url: String,
    /// Where it saves.
    pub save_path: String,
    /// The shared task behind this user's task.
    pub task_identity: String,
    /// Creation time, Unix milliseconds.
    #[serde(deserialize_with = "int64_string::deserialize")]
    pub create_ts: i64,
}

/// The grpc-gateway error body `{code, message, details}` (spec §2, §9 U5). `code` is a gRPC number from the
/// gateway, a string in H1's reading; it is kept as text and not relied on: the HTTP status decides.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GatewayError {
    /// gRPC status code, as text.
    #[serde(deserialize_with = "string_or_number")]
    pub code: String,
    /// The server's message.
    pub message: String,
    /// Error details, unread.
    pub details: Vec<serde_json::Value>,
}

/// `Error::Api` code for HTTP 400 (gRPC `INVALID_ARGUMENT`).
pub(crate) const CODE_INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";
/// `Error::Api` code for HTTP 404 (gRPC `NOT_FOUND`); see [`is_not_found`].
pub(crate) const CODE_NOT_FOUND: &str = "NOT_FOUND";
/// `Error::Api` code for HTTP 499 (gRPC `CANCELLED`: the server gave up on the call).
pub(crate) const CODE_CANCELLED: &str = "CANCELLED";
/// `Error::Api` code for HTTP 501 (gRPC `UNIMPLEMENTED`).
pub(crate) const CODE_UNIMPLEMENTED: &str = "UNIMPLEMENTED";

/// The error a non-2xx answer means (spec §2, H4's status map). `subject` is what the call was about (the
/// path, for a 409), `retry_after` the `Retry-After` of a 429 if it had one.
///
/// Only the body's `message` is shown, cut and stripped of control characters; a body that is not the
/// gateway's JSON (an HTML page from a proxy) is not shown at all.
pub(crate) fn error_for(status: u16, body: &[u8], subject: &str, retry_after: Option<Duration>) -> Error {
    let message = gateway_message(body).unwrap_or_else(|| format!("HTTP {status}"));
    let api = |code: &str, retryable: bool| Error::Api {
        provider: PROVIDER,
        code: code.to_owned(),
        message: message.clone(),
        retryable,
    };
    match status {
        // 403 (permission denied) is an authorisation failure too, as `Error::from_status` has it; only 401
        // triggers the refresh-and-retry (spec §3).
        401 | 403 => Error::Auth {
            provider: PROVIDER,
            message,
        },
        400 => api(CODE_INVALID_ARGUMENT, false),
        404 => api(CODE_NOT_FOUND, false),
        409 => Error::Conflict {
            provider: PROVIDER,
            name: subject.to_owned(),
        },
        429 => Error::RateLimited {
            provider: PROVIDER,
            message,
            retry_after,
        },
        // The gateway's "cancelled" is the server giving up (a deadline of its own): worth another try.
        499 => api(CODE_CANCELLED, true),
        // Not implemented does not get better with retries, unlike the other 5xx.
        501 => api(CODE_UNIMPLEMENTED, false),
        500..=599 => Error::Server {
            provider: PROVIDER,
            status,
        },
        200..=299 => Error::Protocol {
            provider: PROVIDER,
            detail: format!("HTTP {status} read as an error"),
        },
        _ => api(&format!("HTTP {status}"), false),
    }
}

/// The gateway body's `message`, fit to show: control characters as spaces, trimmed, cut to the usual
/// length; `None` when the body is not the gateway's JSON or says nothing.
fn gateway_message(body: &[u8]) -> Option<String> {
    let error: GatewayError = serde_json::from_slice(body).ok()?;
    let cleaned: String = error.message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| server_text(cleaned))
}

/// Whether `err` is HalalCloud's "not found" (HTTP 404): a missing folder when creating, a missing file.
pub(crate) fn is_not_found(err: &Error) -> bool {
    matches!(err, Error::Api { provider, code, .. } if *provider == PROVIDER && code == CODE_NOT_FOUND)
}

/// Reads an API answer: a 2xx body as `T`, anything else as [`error_for`] maps it (no `Retry-After`).
pub(crate) fn decode<T: DeserializeOwned>(status: u16, body: &[u8], subject: &str) -> Result<T> {
    if !(200..300).contains(&status) {
        return Err(error_for(status, body, subject, None));
    }
    serde_json::from_slice(body).map_err(|e| Error::Protocol {
        provider: PROVIDER,
        detail: format!("unexpected reply: {}", server_text(&e.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
        serde_json::to_value(value).unwrap()
    }

    #[test]
    fn int64_fields_go_out_as_strings() {
        let req = CreateUploadTaskRequest {
            path: "/PanDrop/a.bin",
            size: 5_242_880,
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"path":"/PanDrop/a.bin","size":"5242880"}"#
        );
        let empty = CreateUploadTaskRequest { path: "/e", size: 0 };
        assert_eq!(to_json(&empty), json!({"path": "/e", "size": "0"}));
    }

    #[test]
    fn int64_fields_come_in_as_strings_or_numbers() {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(deserialize_with = "int64_string::deserialize")]
            n: i64,
        }
        let read = |text: &str| serde_json::from_str::<Probe>(text).map(|p| p.n);
        assert_eq!(read(r#"{"n":"-12"}"#).unwrap(), -12);
        assert_eq!(read(r#"{"n":42}"#).unwrap(), 42);
        assert_eq!(read(r#"{"n":null}"#).unwrap(), 0);
        assert_eq!(read(r#"{"n":"9223372036854775807"}"#).unwrap(), i64::MAX);
        assert!(read(r#"{"n":"9223372036854775808"}"#).is_err());
        assert!(read(r#"{"n":"12abc"}"#).is_err());
        assert!(read(r#"{"n":""}"#).is_err());
        assert!(read(r#"{"n":1.5}"#).is_err());
        assert!(read(r#"{"n":true}"#).is_err());
        assert!(
            serde_json::from_str::<UploadedFile>(r#"{"size":-1}"#).is_err(),
            "a negative size does not fit u64"
        );
    }

    #[test]
    fn upload_task() {
        let body = r#"{"created":false,"upload_address":"https://upload.2dland.cn/v6/upload","task":"t-123",
            "upload_token":"u","access_key":"AK","secret_key":"SK","bucket":"b",
            "block_size":"4194304","block_hash_type":"18","block_codec":"85","block_version":1}"#;
        let task: UploadTask = decode(200, body.as_bytes(), "/a.bin").unwrap();
        assert!(!task.created);
        assert_eq!(task.upload_address, "https://upload.2dland.cn/v6/upload");
        assert_eq!(task.task, "t-123");
        assert_eq!(task.checked_block_size().unwrap(), 4_194_304);
        assert_eq!(task.cid_params(), (0x55, 0x12));
        assert_eq!(task.block_version, 1);

        // Omitted zeros: the defaults apply, and a missing block size is refused when bytes must go.
        let task: UploadTask = decode(200, br#"{"upload_address":"https://u","task":"t"}"#, "/a").unwrap();
        assert_eq!(task.cid_params(), (cid::CODEC_RAW, cid::HASH_SHA2_256));
        assert!(matches!(task.checked_block_size(), Err(Error::Protocol { .. })));
        let created: UploadTask = decode(200, br#"{"created":true}"#, "/a").unwrap();
        assert!(created.created);
    }

    #[test]
    fn finish_answer_takes_a_number_or_a_string() {
        let body = br#"{"identity":"f-1","user_identity":"u-1","path":"/PanDrop/a.bin","size":5242880,"content_identity":"c-1"}"#;
        let file: UploadedFile = decode(200, body, "/PanDrop/a.bin").unwrap();
        assert_eq!(file.size, 5_242_880);
        assert_eq!(file.identity, "f-1");
        assert_eq!(file.content_identity, "c-1");
        let file: UploadedFile = decode(201, br#"{"identity":"f-1","size":"7"}"#, "/a").unwrap();
        assert_eq!(file.size, 7);
    }

    #[test]
    fn probe_answers() {
        assert!(probe_answer(200, b"true").unwrap());
        assert!(!probe_answer(200, b" false\n").unwrap());
        assert!(matches!(probe_answer(200, b"\"true\""), Err(Error::Protocol { .. })));
        assert!(matches!(probe_answer(200, b""), Err(Error::Protocol { .. })));
        assert!(matches!(probe_answer(502, b"<html>"), Err(Error::Server { status: 502, .. })));
    }

    #[test]
    fn file_and_list() {
        let body = br#"{"files":[
            {"identity":"d-1","parent":"root","name":"PanDrop","path":"/PanDrop","dir":true,
             "create_ts":"1735787045000","update_ts":"1735787046000"},
            {"identity":"f-1","name":"a.bin","path":"/PanDrop/a.bin","size":"5242880","mime_type":"application/octet-stream",
             "content_identity":"c-1","trashed":true}
        ],"list_info":{"token":"next-page","limit":"100"}}"#;
        let list: ListResponse = decode(200, body, "/PanDrop").unwrap();
        assert_eq!(list.files.len(), 2);
        assert!(list.files[0].is_live_folder());
        assert_eq!(list.files[0].create_ts, 1_735_787_045_000);
        assert_eq!(list.files[1].size, 5_242_880);
        assert!(!list.files[1].dir && list.files[1].trashed);
        assert_eq!(list.next_token(), Some("next-page"));

        let last: ListResponse = decode(200, br#"{"files":[],"list_info":{}}"#, "/").unwrap();
        assert_eq!(last.next_token(), None);
        let bare: ListResponse = decode(200, b"{}", "/").unwrap();
        assert!(bare.files.is_empty() && bare.next_token().is_none());

        let first = ListRequest::page(FileRef::Path("/PanDrop"), "");
        assert_eq!(
            to_json(&first),
            json!({"parent": {"path": "/PanDrop"}, "list_info": {"limit": "100"}})
        );
        let next = ListRequest::page(FileRef::Identity("d-1"), "next-page");
        assert_eq!(
            to_json(&next),
            json!({"parent": {"identity": "d-1"}, "list_info": {"limit": "100", "token": "next-page"}})
        );

        let folder: File = decode(
            200,
            br#"{"identity":"d-2","path":"/PanDrop/x","name":"x","dir":true}"#,
            "/PanDrop/x",
        )
        .unwrap();
        assert!(folder.is_live_folder());
        assert_eq!(folder.size, 0);
    }

    #[test]
    fn create_and_get_requests() {
        assert_eq!(to_json(&FileRef::Path("/a/b")), json!({"path": "/a/b"}));
        assert_eq!(to_json(&FileRef::Identity("id-1")), json!({"identity": "id-1"}));
        assert_eq!(to_json(&CreateRequest::folder("/a/b")), json!({"path": "/a/b"}));
        assert_eq!(
            to_json(&CreateRequest::known_content("/a/b.bin", "c-1")),
            json!({"path": "/a/b.bin", "content_identity": "c-1"})
        );
        let named = CreateRequest {
            path: "/a",
            name: Some("b"),
            content_identity: None,
        };
        assert_eq!(to_json(&named), json!({"path": "/a", "name": "b"}));
        assert_eq!(serde_json::to_string(&Empty {}).unwrap(), "{}");
    }

    #[test]
    fn user() {
        let body = br#"{"identity":"u-1","name":"Alice","icon":"https://i/x.png","type":1,"status":1,"create_ts":"1"}"#;
        let user: User = decode(200, body, "account").unwrap();
        assert_eq!(
            (user.identity.as_str(), user.name.as_str(), user.kind, user.status),
            ("u-1", "Alice", 1, 1)
        );
        let user: User = decode(200, br#"{"identity":"u-1","type":"2"}"#, "account").unwrap();
        assert_eq!((user.kind, user.status), (2, 0));
    }

    #[test]
    fn oauth_device_flow() {
        let req = DeviceCodeRequest {
            client_id: "app-1",
            device: Some("PanDrop on laptop"),
        };
        assert_eq!(to_json(&req), json!({"client_id": "app-1", "device": "PanDrop on laptop"}));
        let bare = DeviceCodeRequest {
            client_id: "app-1",
            device: None,
        };
        assert_eq!(to_json(&bare), json!({"client_id": "app-1"}));

        let body = br#"{"user_code":"ABCD-EFGH","device_code":"dc-secret","expires_in":600,
            "verification_uri":"https://auth.2dland.cn/device","interval":3,"expires_in_ts":"1735787645000"}"#;
        let code: DeviceCode = decode(200, body, "sign-in").unwrap();
        assert_eq!(code.user_code, "ABCD-EFGH");
        assert_eq!(code.device_code.as_ref().map(|s| s.expose_secret()), Some("dc-secret"));
        assert_eq!((code.expires_in, code.interval, code.expires_in_ts), (600, 3, 1_735_787_645_000));
        assert_eq!(code.poll_interval(), Duration::from_secs(3));
        assert!(!format!("{code:?}").contains("dc-secret"));
        let no_interval: DeviceCode = decode(200, br#"{"interval":0}"#, "sign-in").unwrap();
        assert_eq!(no_interval.poll_interval(), DEFAULT_POLL_INTERVAL);
        assert!(no_interval.device_code.is_none());

        let state_req = DeviceCodeStateRequest { device_code: "dc-secret" };
        assert_eq!(to_json(&state_req), json!({"device_code": "dc-secret"}));

        let pending: DeviceCodeState = decode(200, br#"{"status":"AUTHORIZATION_PENDING_LOGIN","interval":-1}"#, "sign-in").unwrap();
        assert!(!pending.is_authorized());
        assert!(pending.access_token.is_none());
        assert_eq!(pending.poll_interval(), DEFAULT_POLL_INTERVAL);
        let body = br#"{"status":"AUTHORIZATION_SUCCESS","login":true,"access_token":"at-1","refresh_token":"rt-1",
            "expires_in":7200,"interval":5,"expires_in_ts":"1735794245000","access_token_extra":"x"}"#;
        let done: DeviceCodeState = decode(200, body, "sign-in").unwrap();
        assert!(done.is_authorized() && done.login);
        assert_eq!(done.access_token.as_ref().map(|s| s.expose_secret()), Some("at-1"));
        assert_eq!(done.refresh_token.as_ref().map(|s| s.expose_secret()), Some("rt-1"));
        assert_eq!(done.expires_in, 7200);
        let shown = format!("{done:?}");
        assert!(!shown.contains("at-1") && !shown.contains("rt-1"), "{shown}");
    }

    #[test]
    fn oauth_refresh() {
        let refresh = SecretString::from("rt-1");
        let req = RefreshTokenRequest::new(&refresh, "app-1");
        assert_eq!(
            to_json(&req),
            json!({"refresh_token": "rt-1", "grant_type": "refresh_token", "client_id": "app-1"})
        );
        let body = br#"{"access_token":"at-2","refresh_token":"rt-2","expires_in":7200,"token_type":"Bearer",
            "scope":"all","expires_in_ts":"1735794245000"}"#;
        let tokens: TokenResponse = decode(200, body, "token refresh").unwrap();
        assert_eq!(tokens.access_token.as_ref().map(|s| s.expose_secret()), Some("at-2"));
        assert_eq!(tokens.refresh_token.as_ref().map(|s| s.expose_secret()), Some("rt-2"));
        assert_eq!(
            (tokens.expires_in, tokens.token_type.as_str(), tokens.expires_in_ts),
            (7200, "Bearer", 1_735_794_245_000)
        );
        let empty: TokenResponse = decode(200, br#"{"access_token":""}"#, "token refresh").unwrap();
        assert!(empty.access_token.is_none());
    }

    #[test]
    fn offline_parse_and_add() {
        let magnet = "magnet:?xt=urn:btih:90170fe6e79eede7610019fc30a4d2d16c691b7e";
        assert_eq!(to_json(&OfflineParseRequest::Url(magnet)), json!({"url": magnet}));
        assert_eq!(
            to_json(&OfflineParseRequest::Identity("90170fe6e79eede7610019fc30a4d2d16c691b7e_otp_btv1")),
            json!({"identity": "90170fe6e79eede7610019fc30a4d2d16c691b7e_otp_btv1"})
        );
        let body = r#"{"meta":{"identity":"90170fe6e79eede7610019fc30a4d2d16c691b7e_otp_btv1","type":1,"status":2,
            "name":"PanDrop 测试.bin","size":"40000","url":"magnet:?xt=urn:btih:90170fe6"},
            "task_files":[{"identity":"tf-1","path":"/PanDrop 测试.bin","name":"PanDrop 测试.bin","size":"40000","index":0}]}"#;
        let parsed: OfflineParseResponse = decode(200, body.as_bytes(), "offline parse").unwrap();
        assert_eq!(parsed.meta.name, "PanDrop 测试.bin");
        assert_eq!((parsed.meta.kind, parsed.meta.status, parsed.meta.size), (1, 2, 40_000));
        assert_eq!(parsed.task_files.len(), 1);
        assert_eq!((parsed.task_files[0].size, parsed.task_files[0].index), (40_000, 0));
        let empty: OfflineParseResponse = decode(200, b"{}", "offline parse").unwrap();
        assert!(empty.meta.identity.is_empty() && empty.task_files.is_empty());

        let add = OfflineAddRequest {
            url: magnet,
            save_path: "/PanDrop/downloads",
            name: None,
            ignore_files: Vec::new(),
            callbacks: vec![callback("https://example.com/done")],
        };
        assert_eq!(
            to_json(&add),
            json!({"url": magnet, "save_path": "/PanDrop/downloads",
                   "callbacks": ["eyJ1cmwiOiJodHRwczovL2V4YW1wbGUuY29tL2RvbmUifQ=="]})
        );
        let body = r#"{"identity":"ut-1","status":1,"name":"PanDrop 测试.bin","size":"40000","save_path":"/PanDrop/downloads",
            "task_identity":"t-1","create_ts":"1735787045000","callbacks":["x"]}"#;
        let task: UserTask = decode(200, body.as_bytes(), "offline add").unwrap();
        assert_eq!((task.identity.as_str(), task.status, task.size), ("ut-1", 1, 40_000));
        assert_eq!(task.task_identity, "t-1");
    }

    #[test]
    fn gateway_errors_map_by_status() {
        let body = |code: i32, message: &str| json!({"code": code, "message": message, "details": []}).to_string().into_bytes();
        let err = error_for(401, &body(16, "token expired"), "/a", None);
        assert!(matches!(&err, Error::Auth { message, .. } if message == "token expired"));
        assert!(matches!(error_for(403, &body(7, "denied"), "/a", None), Error::Auth { .. }));

        let missing = error_for(404, &body(5, "parent not found"), "/a/b", None);
        assert!(is_not_found(&missing));
        assert!(!missing.is_retryable());
        assert_eq!(missing.to_string(), "halalcloud: parent not found (code NOT_FOUND)");

        let clash = error_for(409, &body(6, "already exists"), "/a/b", None);
        assert!(matches!(&clash, Error::Conflict { name, .. } if name == "/a/b"));
        assert!(!is_not_found(&clash));

        let slow = error_for(429, &body(8, "slow down"), "/a", Some(Duration::from_secs(3)));
        assert!(matches!(slow, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3)));

        let invalid = error_for(400, &body(3, "bad path"), "/a", None);
        assert!(matches!(&invalid, Error::Api { code, retryable: false, .. } if code == CODE_INVALID_ARGUMENT));
        assert!(error_for(499, &body(1, "canceled"), "/a", None).is_retryable());
        assert!(!error_for(501, &body(12, "nope"), "/a", None).is_retryable());
        for status in [500, 503, 504] {
            let err = error_for(status, &body(14, "unavailable"), "/a", None);
            assert!(matches!(err, Error::Server { status: s, .. } if s == status));
            assert!(err.is_retryable());
        }
        let other = error_for(413, b"", "/a", None);
        assert!(matches!(&other, Error::Api { code, message, .. } if code == "HTTP 413" && message == "HTTP 413"));
    }

    #[test]
    fn error_bodies_are_not_echoed_raw() {
        // H1's shape: a string code and a status code; the message is what is shown.
        let h1 = br#"{"code":"NotFound","message":"file\nnot\tfound","status_code":404}"#;
        let err = error_for(404, h1, "/a", None);
        assert!(matches!(&err, Error::Api { message, .. } if message == "file not found"));

        let html = b"<html><body>502 Bad Gateway <script>token=abc</script></body></html>";
        let err = error_for(404, html, "/a", None);
        assert!(matches!(&err, Error::Api { message, .. } if message == "HTTP 404"));
        assert!(!err.to_string().contains("token"));

        let long = json!({"code": 3, "message": "x".repeat(5000)}).to_string();
        let err = error_for(400, long.as_bytes(), "/a", None);
        assert!(err.to_string().chars().count() < 400, "{err}");

        let blank = error_for(401, br#"{"code":16,"message":"  "}"#, "/a", None);
        assert!(matches!(&blank, Error::Auth { message, .. } if message == "HTTP 401"));
    }

    #[test]
    fn decode_checks_status_and_shape() {
        assert!(matches!(decode::<User>(200, b"not json", "account"), Err(Error::Protocol { .. })));
        assert!(matches!(
            decode::<User>(200, br#"{"type":"x"}"#, "account"),
            Err(Error::Protocol { .. })
        ));
        assert!(matches!(decode::<User>(401, b"{}", "account"), Err(Error::Auth { .. })));
        let gateway: GatewayError = serde_json::from_slice(br#"{"code":5,"message":"m","details":[{"a":1}]}"#).unwrap();
        assert_eq!((gateway.code.as_str(), gateway.details.len()), ("5", 1));
        let h1: GatewayError = serde_json::from_slice(br#"{"code":"NotFound"}"#).unwrap();
        assert_eq!(h1.code, "NotFound");
    }
}
