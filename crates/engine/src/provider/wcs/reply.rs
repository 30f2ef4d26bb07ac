//! WCS replies: chunk receipts, mkfile results, and the error body `{code, message}` (spec §3.5, §3.6, §6).

use serde::Deserialize;

use super::PROVIDER;
use crate::error::{Error, Result};

/// A `mkblk` / `bput` receipt.
#[derive(Debug, Deserialize)]
pub(crate) struct ChunkReceipt {
    pub ctx: String,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub crc32: Option<u64>,
    pub offset: u64,
}

/// A `mkfile` result (with a callback: `response` is the callback server's body).
#[derive(Debug, Deserialize)]
pub(crate) struct MkfileResult {
    pub hash: String,
    #[serde(default)]
    pub response: Option<String>,
}

/// How to react to a failed WCS call.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 701, 412 before mkfile, or a receipt that does not match what was sent: send the block again.
    RedoBlock(Error),
    /// 412 at mkfile: the blocks could not be assembled; send the file again.
    RedoFile(Error),
    /// 401: the upload token expired or was refused; ask 6pan for a new one.
    Expired(Error),
    /// 579: the bytes are stored but the callback failed; ask 6pan by hash, do not repeat mkfile.
    CallbackFailed(Error),
    /// Anything else: retried by the HTTP layer when transient, final otherwise.
    Other(Error),
}

impl Failure {
    /// The error inside, for when the reaction is exhausted.
    pub(super) fn into_error(self) -> Error {
        match self {
            Self::RedoBlock(e) | Self::RedoFile(e) | Self::Expired(e) | Self::CallbackFailed(e) | Self::Other(e) => e,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Other(e)
    }
}

/// Which call a status came from; 412 means different things at mkfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    Chunk,
    Mkfile,
    Form,
}

/// Maps a non-200 reply (status and body) to the reaction §6 prescribes.
pub(crate) fn failure(call: Call, status: u16, body: &[u8]) -> Failure {
    let (code, message) = error_body(status, body);
    let err = |retryable| Error::Api {
        provider: PROVIDER,
        code: code.to_string(),
        message: message.clone(),
        retryable,
    };
    match code {
        401 => Failure::Expired(Error::Auth {
            provider: PROVIDER,
            message: format!("upload token refused: {message}"),
        }),
        406 => Failure::Other(Error::Conflict {
            provider: PROVIDER,
            name: message.clone(),
        }),
        412 if call == Call::Mkfile => Failure::RedoFile(err(false)),
        412 | 701 => Failure::RedoBlock(err(false)),
        579 => Failure::CallbackFailed(err(false)),
        // Too many requests: back off and go again, as for a 5xx (the host sheds load this way too).
        429 => Failure::Other(Error::RateLimited {
            provider: PROVIDER,
            message: message.clone(),
            retry_after: None,
        }),
        408 | 599 => Failure::Other(err(true)),
        500..=598 => Failure::Other(Error::Server {
            provider: PROVIDER,
            status: code as u16,
        }),
        _ => Failure::Other(err(false)),
    }
}

/// The error's code (the body's, else the HTTP status) and message; `code` may be a number or a string.
fn error_body(status: u16, body: &[u8]) -> (u32, String) {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        message: Option<String>,
    }
    let parsed: Option<Body> = serde_json::from_slice(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|b| b.code.as_ref())
        .and_then(|c| c.as_u64().or_else(|| c.as_str().and_then(|s| s.trim().parse().ok())))
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(u32::from(status));
    let message = parsed
        .and_then(|b| b.message)
        .map_or_else(|| format!("HTTP {status}"), |m| crate::error::server_text(&m));
    (code, message)
}

/// Parses a 200 reply as JSON of type `T`.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol {
        provider: PROVIDER,
        detail: format!("unreadable reply: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_reactions() {
        assert!(matches!(
            failure(Call::Chunk, 701, br#"{"code":701,"message":"ctx"}"#),
            Failure::RedoBlock(_)
        ));
        assert!(matches!(failure(Call::Chunk, 412, b""), Failure::RedoBlock(_)));
        assert!(matches!(failure(Call::Mkfile, 412, b""), Failure::RedoFile(_)));
        assert!(matches!(
            failure(Call::Mkfile, 579, br#"{"code":"579","message":"callback failed"}"#),
            Failure::CallbackFailed(_)
        ));
        assert!(matches!(failure(Call::Chunk, 401, b"{}"), Failure::Expired(_)));
        assert!(matches!(failure(Call::Form, 406, b"{}"), Failure::Other(Error::Conflict { .. })));
        let Failure::Other(e) = failure(Call::Chunk, 503, b"oops") else {
            panic!()
        };
        assert!(e.is_retryable());
        let Failure::Other(e) = failure(Call::Chunk, 400, br#"{"code":400,"message":"bad"}"#) else {
            panic!()
        };
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("bad"));
    }

    #[test]
    fn too_many_requests_is_retried_like_a_server_error() {
        for (status, body) in [(429, &br#"{"code":429,"message":"too many requests"}"#[..]), (429, b"")] {
            for call in [Call::Chunk, Call::Mkfile, Call::Form] {
                let Failure::Other(e) = failure(call, status, body) else {
                    panic!("{call:?}")
                };
                assert!(matches!(e, Error::RateLimited { .. }) && e.is_retryable(), "{call:?}: {e}");
            }
        }
    }

    #[test]
    fn body_code_wins_over_status() {
        assert!(matches!(failure(Call::Chunk, 200, br#"{"code":701}"#), Failure::RedoBlock(_)));
    }
}
