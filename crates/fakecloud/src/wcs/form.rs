//! `POST /file/upload`: the form ("normal") upload of a whole file in one multipart request.
//!
//! Parts: `token`, optional `key`, `x:<name>` values, `mimeType`, `deadline` (days; accepted, not
//! enforced), then `file`. The documents put `file` last; any order is accepted here. The file is streamed
//! to a temp file while its MD5 and etag are computed, so memory stays at one network chunk.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{ConnectInfo, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::callback::{UploadFacts, expand};
use super::error::{WcsError, WcsResult};
use super::etag::EtagHasher;
use super::objects::{self, NewObject};
use super::token::Policy;
use super::{BUCKET, Outcome, ROUTE_FORM, Wcs, guess_mime};
use crate::error::FakeCloudError;
use crate::hashing::Md5;

/// Files above this size must use the slice upload (WCS documents 500 MB).
pub(crate) const MAX_FORM_SIZE: u64 = 500 * 1024 * 1024;

struct Received {
    temp: tempfile::TempPath,
    fname: String,
    size: u64,
    md5: String,
    etag: String,
}

async fn field_text(field: Field<'_>) -> Result<String, WcsError> {
    let name = field.name().unwrap_or("").to_owned();
    field
        .text()
        .await
        .map_err(|e| WcsError::bad_request(format!("cannot read form field {name}: {e}")))
}

/// Streams the `file` part to a temp file; `policy` (when the token came first) stops it at `fsizeLimit`.
async fn receive(w: &Wcs, mut field: Field<'_>, policy: Option<&Policy>) -> Result<Received, WcsError> {
    let fname = field.file_name().unwrap_or("").to_owned();
    let (file, temp) = w.store.temp_file()?;
    let mut out = tokio::fs::File::from_std(file);
    let io_err = |e: std::io::Error| WcsError::Internal(FakeCloudError::io(&*temp, e));
    let mut md5 = Md5::new()?;
    let mut etag = EtagHasher::default();
    let mut size = 0u64;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| WcsError::bad_request(format!("cannot read the file part: {e}")))?
    {
        size += chunk.len() as u64;
        w.stats.bytes(ROUTE_FORM, chunk.len() as u64);
        if size > MAX_FORM_SIZE {
            return Err(WcsError::bad_request(format!(
                "form upload is limited to {MAX_FORM_SIZE} bytes; use the slice upload"
            )));
        }
        if let Some(policy) = policy {
            policy.check_size(size)?;
        }
        md5.update(&chunk)?;
        etag.update(&chunk);
        out.write_all(&chunk).await.map_err(io_err)?;
    }
    out.flush().await.map_err(io_err)?;
    drop(out);
    Ok(Received {
        temp,
        fname,
        size,
        md5: md5.finish_hex()?,
        etag: etag.finish(),
    })
}

/// Handles one form upload.
pub(crate) async fn upload(
    State(w): State<Arc<Wcs>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> WcsResult {
    let mut multipart = multipart.map_err(|e| WcsError::bad_request(format!("expected multipart/form-data: {e}")))?;
    let mut policy: Option<Policy> = None;
    let mut key: Option<String> = None;
    let mut mime: Option<String> = None;
    let mut x_vars = BTreeMap::new();
    let mut received: Option<Received> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WcsError::bad_request(format!("malformed multipart body: {e}")))?
    {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "token" => policy = Some(w.check_token(&field_text(field).await?)?),
            "key" => key = Some(field_text(field).await?).filter(|k| !k.is_empty()),
            "mimeType" => mime = Some(field_text(field).await?).filter(|m| !m.is_empty()),
            "file" => received = Some(receive(&w, field, policy.as_ref()).await?),
            _ => {
                if let Some(var) = name.strip_prefix("x:") {
                    x_vars.insert(var.to_owned(), field_text(field).await?);
                }
                // `deadline` and unknown parts are skipped.
            }
        }
    }
    let policy = policy.ok_or_else(|| WcsError::unauthorized("missing form field token"))?;
    let received = received.ok_or_else(|| WcsError::bad_request("missing form field file"))?;
    policy.check_size(received.size)?;

    let mut facts = UploadFacts {
        bucket: BUCKET.to_owned(),
        fname: received.fname.clone(),
        etag: received.etag.clone(),
        fsize: received.size,
        ip: peer.map(|Extension(ConnectInfo(p))| p.ip().to_string()).unwrap_or_default(),
        x_vars,
        ..UploadFacts::default()
    };
    // The scope key wins, then the client's key, then the policy's saveKey, then the etag.
    let key = policy
        .key
        .clone()
        .or(key)
        .or_else(|| policy.save_key.as_deref().map(|t| expand(t, &facts)))
        .unwrap_or_else(|| received.etag.clone());
    let mime = mime.unwrap_or_else(|| guess_mime(if received.fname.is_empty() { &key } else { &received.fname }).to_owned());
    facts.key = key.clone();
    facts.mime = mime.clone();
    facts.url = w.object_url(&key);
    let object = NewObject {
        bucket: BUCKET.to_owned(),
        key,
        etag: received.etag,
        md5: received.md5,
        size: received.size,
        mime,
    };
    let temp = received.temp;
    let overwrite = policy.overwrite;
    let stored = object.clone();
    w.store
        .blocking(move |store| objects::put(store, Some(temp), &stored, overwrite, false))
        .await?;

    Ok(match w.complete(&policy, &facts).await? {
        // The app server's answer, in the shape this host is set to give it.
        Outcome::Callback(answer) => {
            use crate::config::FormReply;
            let text = answer.body.clone();
            match w.form_reply {
                FormReply::Raw => {
                    let content_type = answer.content_type.unwrap_or_else(|| "application/json".to_owned());
                    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], answer.body).into_response()
                }
                FormReply::Base64 => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned())],
                    URL_SAFE.encode(&answer.body),
                )
                    .into_response(),
                FormReply::Wrapped => Json(json!({ "hash": object.etag, "response": text })).into_response(),
                FormReply::WrappedBase64 => Json(json!({ "hash": object.etag, "response": URL_SAFE.encode(&answer.body) })).into_response(),
            }
        }
        Outcome::Returned(expanded) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned())],
            URL_SAFE.encode(expanded),
        )
            .into_response(),
        Outcome::Default => Json(json!({ "hash": object.etag, "key": object.key })).into_response(),
    })
}
