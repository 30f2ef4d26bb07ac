//! 123pan wire types and the envelope `{code, message, data, x-traceID}` (spec §2.4), private to this folder.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::PROVIDER;
use crate::error::{Error, Result};

/// Body code: success.
pub(super) const CODE_OK: i64 = 0;
/// Body code: the access token is invalid or expired, or too many tokens are live (spec §2.3).
const CODE_UNAUTHORIZED: i64 = 401;
/// Body code treated as an invalid token by some clients (spec §6.1).
const CODE_UNAUTHORIZED_ALT: i64 = 40_140_116;
/// Body code: too many requests.
const CODE_TOO_FREQUENT: i64 = 429;
/// Body code: the merged file is still being verified; poll again (spec §3.3).
pub(super) const CODE_VERIFYING: i64 = 20_103;
/// Body code: a generic business error whose message tells the cause (spec §6.1).
const CODE_GENERIC: i64 = 1;

/// Messages of code 1 that mean "the server is shedding load, try again" (spec §6.1).
const LOAD_SHEDDING: [&str; 3] = ["秒传队列", "削峰", "请慢一点"];
/// Message of code 1 on a name clash without a duplicate policy.
const NAME_CLASH: [&str; 2] = ["重名", "同名"];
/// Message of the token-count cap: refreshing would only make it worse.
pub(super) const TOO_MANY_TOKENS: &str = "tokens number has exceeded the limit";

#[derive(Deserialize)]
struct Envelope<T> {
    code: i64,
    #[serde(default)]
    message: String,
    data: Option<T>,
}

/// Decodes an envelope and returns its `data`, or the error the envelope (or HTTP status) describes.
pub(crate) fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<Option<T>> {
    let envelope: Envelope<serde_json::Value> = match serde_json::from_slice(body) {
        Ok(env) => env,
        Err(_) if !(200..300).contains(&status) => return Err(Error::from_status(PROVIDER, status, None)),
        Err(e) => {
            return Err(Error::Protocol {
                provider: PROVIDER,
                detail: format!("reply is not a 123pan envelope: {e}"),
            });
        }
    };
    if envelope.code != CODE_OK {
        return Err(error_for(envelope.code, crate::error::server_text(&envelope.message)));
    }
    if !(200..300).contains(&status) {
        return Err(Error::from_status(PROVIDER, status, None));
    }
    match envelope.data {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value).map(Some).map_err(|e| Error::Protocol {
            provider: PROVIDER,
            detail: format!("unexpected data: {e}"),
        }),
    }
}

/// Like [`decode`], but `data` must be present.
pub(crate) fn decode_data<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T> {
    decode(status, body)?.ok_or_else(|| Error::Protocol {
        provider: PROVIDER,
        detail: "reply has no data".into(),
    })
}

/// Maps a non-zero body code to a typed error (spec §6.1).
fn error_for(code: i64, message: String) -> Error {
    match code {
        CODE_UNAUTHORIZED | CODE_UNAUTHORIZED_ALT => Error::Auth {
            provider: PROVIDER,
            message,
        },
        CODE_TOO_FREQUENT => Error::RateLimited {
            provider: PROVIDER,
            message,
            retry_after: None,
        },
        CODE_GENERIC if NAME_CLASH.iter().any(|m| message.contains(m)) && !message.contains("文件夹") => Error::Conflict {
            provider: PROVIDER,
            name: message,
        },
        _ => {
            // 20103 is not retried by the generic backoff: the completion poller owns that wait (spec §3.3).
            let retryable = code == CODE_GENERIC && LOAD_SHEDDING.iter().any(|m| message.contains(m));
            Error::Api {
                provider: PROVIDER,
                code: code.to_string(),
                message,
                retryable,
            }
        }
    }
}

/// Whether an error says "too frequent": code 429, or a load-shedding code 1 (spec §6.1).
pub(crate) fn is_too_frequent(err: &Error) -> bool {
    match err {
        Error::RateLimited { .. } => true,
        Error::Api { code, retryable, .. } => *retryable && code.parse() == Ok(CODE_GENERIC),
        _ => false,
    }
}

/// Whether an error is the "still verifying" answer of `upload_complete`.
pub(crate) fn is_verifying(err: &Error) -> bool {
    matches!(err, Error::Api { code, .. } if code.parse() == Ok(CODE_VERIFYING))
}

/// `POST /api/v1/access_token` request.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenRequest<'a> {
    #[serde(rename = "clientID")]
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

/// `POST /api/v1/access_token` data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenReply {
    pub access_token: String,
    pub expired_at: String,
}

/// `POST /upload/v2/file/create` request.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateRequest<'a> {
    #[serde(rename = "parentFileID")]
    pub parent_file_id: u64,
    pub filename: &'a str,
    pub etag: &'a str,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub contain_dir: bool,
}

/// `POST /upload/v2/file/create` data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateReply {
    #[serde(rename = "fileID", default)]
    pub file_id: u64,
    #[serde(default)]
    pub reuse: bool,
    #[serde(rename = "preuploadID", default)]
    pub preupload_id: Option<String>,
    #[serde(default)]
    pub slice_size: u64,
    #[serde(default)]
    pub servers: Vec<String>,
}

/// `POST /upload/v2/file/upload_complete` request.
#[derive(Serialize)]
pub(super) struct CompleteRequest<'a> {
    #[serde(rename = "preuploadID")]
    pub preupload_id: &'a str,
}

/// `upload_complete` and `single/create` data.
#[derive(Deserialize)]
pub(crate) struct CompleteReply {
    #[serde(default)]
    pub completed: bool,
    #[serde(rename = "fileID", default)]
    pub file_id: u64,
}

/// `POST /upload/v1/file/mkdir` request.
#[derive(Serialize)]
pub(super) struct MkdirRequest<'a> {
    pub name: &'a str,
    #[serde(rename = "parentID")]
    pub parent_id: u64,
}

/// `POST /upload/v1/file/mkdir` data.
#[derive(Deserialize)]
pub(crate) struct MkdirReply {
    #[serde(rename = "dirID")]
    pub dir_id: u64,
}

/// `GET /api/v2/file/list` data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListReply {
    pub last_file_id: i64,
    #[serde(default)]
    pub file_list: Vec<ListEntry>,
}

/// One entry of a listing (note the `fileId` casing of this endpoint, spec §5.2).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListEntry {
    pub file_id: u64,
    pub filename: String,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub etag: String,
    #[serde(default)]
    pub trashed: u8,
}

impl ListEntry {
    /// A live (not trashed) folder.
    pub(crate) fn is_live_folder(&self) -> bool {
        self.kind == 1 && self.trashed == 0
    }

    /// A live (not trashed) file.
    pub(crate) fn is_live_file(&self) -> bool {
        self.kind == 0 && self.trashed == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(code: i64, message: &str) -> Vec<u8> {
        serde_json::json!({"code": code, "message": message, "data": null, "x-traceID": "t"})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn success_returns_data() {
        let body = br#"{"code":0,"message":"ok","data":{"dirID":7},"x-traceID":""}"#;
        let reply: MkdirReply = decode_data(200, body).expect("data");
        assert_eq!(reply.dir_id, 7);
    }

    #[test]
    fn codes_map_to_kinds() {
        assert!(matches!(decode::<()>(200, &env(401, "access_token无效")), Err(Error::Auth { .. })));
        assert!(matches!(decode::<()>(200, &env(429, "请求太频繁")), Err(Error::RateLimited { .. })));
        let verifying = decode::<()>(200, &env(20103, "文件正在校验中,请间隔1秒后再试")).unwrap_err();
        assert!(is_verifying(&verifying) && !verifying.is_retryable());
        let shed = decode::<()>(200, &env(1, "秒传队列已满")).unwrap_err();
        assert!(shed.is_retryable());
        let clash = decode::<()>(200, &env(1, "当前目录有重名文件")).unwrap_err();
        assert!(matches!(clash, Error::Conflict { .. }));
        let other = decode::<()>(200, &env(1, "parentFileID不存在")).unwrap_err();
        assert!(matches!(other, Error::Api { retryable: false, .. }));
    }

    #[test]
    fn http_errors_without_envelope() {
        assert!(matches!(
            decode::<()>(502, b"<html>bad gateway</html>"),
            Err(Error::Server { status: 502, .. })
        ));
        assert!(matches!(decode::<()>(200, b"{trunc"), Err(Error::Protocol { .. })));
    }
}
