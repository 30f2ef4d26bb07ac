//! The WCS form upload (`/file/upload`, spec §4): one multipart request, `file` last; with a callback the
//! reply is the callback server's body.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use reqwest::multipart::{Form, Part};
use secrecy::ExposeSecret;
use std::sync::{Arc, Mutex};

use super::reply::{Call, Failure};
use super::slice::{check_callback, join, send};
use super::{Completion, FORM_UPLOAD_MAX, PROVIDER, Renewal, UploadGrant};
use crate::error::{Error, Result};
use crate::http::{self, RetryPolicy};
use crate::provider::{PartBody, PartPlan, PartReceipt, RemoteFile, UploadSession};

/// New upload tokens one file may ask for.
const MAX_RENEWALS: u32 = 3;

/// One file sent as a multipart form.
pub(crate) struct FormSession {
    http: reqwest::Client,
    grant: Mutex<UploadGrant>,
    name: String,
    size: u64,
    etag: String,
    completion: Arc<dyn Completion>,
    retry: RetryPolicy,
    result: Mutex<Option<RemoteFile>>,
}

impl FormSession {
    /// A form upload of `size` bytes named `name`; refuses files the form upload cannot take.
    pub(crate) fn new(
        http: reqwest::Client,
        grant: UploadGrant,
        name: String,
        size: u64,
        etag: String,
        completion: Arc<dyn Completion>,
        retry: RetryPolicy,
    ) -> Result<Self> {
        if size > FORM_UPLOAD_MAX {
            return Err(Error::invalid(
                name,
                format!("the cloud offered only the form upload, which takes at most {FORM_UPLOAD_MAX} bytes"),
            ));
        }
        Ok(Self {
            http,
            grant: Mutex::new(grant),
            name,
            size,
            etag,
            completion,
            retry,
            result: Mutex::new(None),
        })
    }

    fn grant(&self) -> UploadGrant {
        self.grant.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn post(&self, grant: &UploadGrant, part: &PartBody) -> Result<Result<Vec<u8>, Failure>> {
        let url = if grant.is_form_only() {
            grant.url.clone()
        } else {
            join(&grant.url, "file/upload")?
        };
        http::retry(&self.retry, || async {
            let file = Part::stream_with_length(part.body_from_file()?, part.len)
                .file_name(self.name.clone())
                .mime_str("application/octet-stream")
                .map_err(|e| Error::from_transport(PROVIDER, e))?;
            let form = Form::new().text("token", grant.token.expose_secret().to_owned()).part("file", file);
            send(Call::Form, self.http.post(url.clone()).multipart(form)).await
        })
        .await
    }

    pub(crate) fn finish(&self, body: &[u8]) -> Result<RemoteFile> {
        // Base64 comes off first, so a body reads the same plain or in base64, whatever it holds.
        let outer = callback_text(body)?;
        let text = match unwrap_form_reply(outer.as_bytes())? {
            Wrapped { hash, response } => {
                if let Some(hash) = hash.filter(|h| *h != self.etag) {
                    return Err(Error::Integrity {
                        provider: PROVIDER,
                        detail: format!(
                            "the form upload stored a file with hash {}, not the local etag {}",
                            crate::error::shown(&hash),
                            self.etag
                        ),
                    });
                }
                callback_text(response.as_bytes())?
            }
            Plain => outer,
        };
        check_callback(self.completion.parse_callback(&text)?, &self.etag, self.size)
    }
}

#[async_trait]
impl UploadSession for FormSession {
    fn plan(&self) -> PartPlan {
        PartPlan {
            part_size: self.size.max(1),
            part_count: 1,
        }
    }

    async fn put_part(&self, part: &PartBody) -> Result<PartReceipt> {
        for _ in 0..=MAX_RENEWALS {
            let grant = self.grant();
            let file = match self.post(&grant, part).await? {
                Ok(body) => self.finish(&body)?,
                Err(Failure::Expired(_)) => match self.completion.renew().await? {
                    Renewal::Done(file) => file,
                    Renewal::Grant(g) => {
                        *self.grant.lock().unwrap_or_else(|p| p.into_inner()) = g;
                        continue;
                    }
                },
                Err(Failure::CallbackFailed(e)) => match self.completion.renew().await? {
                    Renewal::Done(file) => file,
                    Renewal::Grant(_) => return Err(e),
                },
                Err(other) => return Err(other.into_error()),
            };
            *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(file);
            return Ok(PartReceipt::default());
        }
        Err(Error::Auth {
            provider: PROVIDER,
            message: "every upload token the cloud issued was refused".into(),
        })
    }

    async fn complete(&self) -> Result<RemoteFile> {
        self.result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| Error::Protocol {
                provider: PROVIDER,
                detail: "completion asked before the file was sent".into(),
            })
    }
}

/// A form upload's reply: the callback's body (plain or base64), or WCS's `{hash, response}` around it (as
/// mkfile answers, and as the WCS documentation gives the reply of an upload with a callback).
enum FormReply {
    Plain,
    Wrapped { hash: Option<String>, response: String },
}
use FormReply::{Plain, Wrapped};

/// Tells the two shapes apart: an object whose `response` is a string is the wrapper (6pan's own envelope
/// has no `response`).
fn unwrap_form_reply(body: &[u8]) -> Result<FormReply> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(Plain);
    };
    match map.get("response") {
        Some(serde_json::Value::String(response)) => Ok(Wrapped {
            hash: map.get("hash").and_then(serde_json::Value::as_str).map(str::to_owned),
            response: response.clone(),
        }),
        Some(_) => Err(Error::Protocol {
            provider: PROVIDER,
            detail: "the form upload's reply has a response that is not text".into(),
        }),
        None => Ok(Plain),
    }
}

/// The callback body from a form upload's reply: JSON as is, or URL-safe base64 of it (spec §4, Q5).
fn callback_text(body: &[u8]) -> Result<String> {
    let text = String::from_utf8_lossy(body).trim().to_owned();
    if text.starts_with('{') {
        return Ok(text);
    }
    URL_SAFE
        .decode(text.as_bytes())
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.as_bytes()))
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| t.starts_with('{'))
        .ok_or_else(|| Error::Protocol {
            provider: PROVIDER,
            detail: "the form upload's reply is neither JSON nor base64 JSON".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_may_be_plain_or_base64_json() {
        assert_eq!(callback_text(br#" {"a":1} "#).expect("plain"), r#"{"a":1}"#);
        let wrapped = URL_SAFE.encode(br#"{"a":1}"#);
        assert_eq!(callback_text(wrapped.as_bytes()).expect("b64"), r#"{"a":1}"#);
        assert!(callback_text(b"Fto5o-5ea0sNMlW_75VgGJCv2AcJ").is_err());
    }

    /// Caught by the base64 round trip of the `callback_response` fuzz target: white space around wrapped
    /// JSON was kept (plain JSON has it trimmed), so a body that reads fine as JSON failed once wrapped.
    #[test]
    fn base64_json_is_trimmed_like_plain_json() {
        let json = "\u{a0}{\"a\":1}\u{2028}";
        assert_eq!(callback_text(json.as_bytes()).expect("plain"), r#"{"a":1}"#);
        for wrapped in [URL_SAFE.encode(json), URL_SAFE_NO_PAD.encode(json)] {
            assert_eq!(callback_text(wrapped.as_bytes()).expect("b64"), r#"{"a":1}"#);
        }
    }
}
