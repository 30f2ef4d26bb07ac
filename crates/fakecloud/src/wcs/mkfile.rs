//! `mkfile`: assembles the blocks named by the ctx list, stores the file and runs the callback.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::callback::UploadFacts;
use super::ctx::{Ctx, batch_digest};
use super::error::{WcsError, WcsResult};
use super::etag::BLOCK_SIZE;
use super::objects::{self, NewObject};
use super::token::URL_SAFE_LENIENT;
use super::{BUCKET, Outcome, Wcs, guess_mime, upload_batch};

/// Largest accepted ctx list (a 10 GB file has 2 560 ctxs of 76 characters).
const MAX_CTX_LIST: usize = 4 << 20;

/// Options of a mkfile request (path parameters and headers).
#[derive(Debug, Default)]
struct MkfileOptions {
    key: Option<String>,
    mime: Option<String>,
    fname: Option<String>,
    x_vars: BTreeMap<String, String>,
}

fn b64_text(what: &str, value: &str) -> Result<String, WcsError> {
    let raw = URL_SAFE_LENIENT
        .decode(value)
        .map_err(|_| WcsError::bad_request(format!("{what} must be URL-safe base64")))?;
    String::from_utf8(raw).map_err(|_| WcsError::bad_request(format!("{what} must be UTF-8")))
}

/// Parses `x:{name}/{b64}`, `key/{b64}`, `mimeType/{b64}`, `fname/{b64}` pairs after the size.
fn parse_options(params: &str, headers: &HeaderMap) -> Result<MkfileOptions, WcsError> {
    let mut opts = MkfileOptions::default();
    let parts: Vec<&str> = params.split('/').filter(|p| !p.is_empty()).collect();
    if !parts.len().is_multiple_of(2) {
        return Err(WcsError::bad_request("mkfile parameters must come in name/value pairs"));
    }
    for pair in parts.chunks(2) {
        let (name, value) = (pair[0], pair[1]);
        match name {
            "key" => opts.key = Some(b64_text("key", value)?),
            "mimeType" => opts.mime = Some(b64_text("mimeType", value)?),
            "fname" => opts.fname = Some(b64_text("fname", value)?),
            _ => match name.strip_prefix("x:") {
                Some(var) => {
                    opts.x_vars.insert(var.to_owned(), b64_text(name, value)?);
                }
                None => tracing::debug!(name, "ignoring an unknown mkfile parameter"),
            },
        }
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if opts.key.is_none()
        && let Some(key) = header("key")
    {
        opts.key = Some(b64_text("Key header", key)?);
    }
    if opts.mime.is_none() {
        opts.mime = header("mimetype").map(str::to_owned);
    }
    Ok(opts)
}

/// Checks that the ctxs describe exactly the file: 4 MiB blocks in order, all complete, adding up.
fn check_layout(ctxs: &[Ctx], file_size: u64) -> Result<(), WcsError> {
    let mut total = 0u64;
    for (i, ctx) in ctxs.iter().enumerate() {
        if usize::try_from(ctx.order).ok() != Some(i) {
            return Err(WcsError::assembly(format!(
                "ctx #{i} belongs to block {}: blocks out of order",
                ctx.order
            )));
        }
        if ctx.offset != ctx.block_size {
            return Err(WcsError::assembly(format!(
                "block {i} is incomplete: {} of {} bytes",
                ctx.offset, ctx.block_size
            )));
        }
        let last = i + 1 == ctxs.len();
        if !last && u64::from(ctx.block_size) != BLOCK_SIZE {
            return Err(WcsError::assembly(format!(
                "block {i} has {} bytes; only the last may be short",
                ctx.block_size
            )));
        }
        if ctx.block_size == 0 && !(last && i == 0) {
            return Err(WcsError::assembly("only the empty file may have an empty block"));
        }
        total += u64::from(ctx.block_size);
    }
    if total != file_size {
        return Err(WcsError::assembly(format!("blocks hold {total} bytes, not fileSize {file_size}")));
    }
    Ok(())
}

/// `POST /mkfile/{fileSize}[/…]`.
pub(crate) async fn mkfile(
    State(w): State<Arc<Wcs>>,
    Path(path): Path<HashMap<String, String>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> WcsResult {
    let policy = w.authorize(&headers)?;
    let size_text = path.get("size").map(String::as_str).unwrap_or_default();
    let file_size: u64 = size_text
        .parse()
        .map_err(|_| WcsError::bad_request(format!("fileSize must be a decimal integer, not {size_text:?}")))?;
    policy.check_size(file_size)?;
    let opts = parse_options(path.get("params").map(String::as_str).unwrap_or_default(), &headers)?;

    let body = axum::body::to_bytes(body, MAX_CTX_LIST)
        .await
        .map_err(|e| WcsError::bad_request(format!("ctx list too long or unreadable: {e}")))?;
    let text = std::str::from_utf8(&body).map_err(|_| WcsError::bad_request("ctx list must be UTF-8 text"))?;
    if text.trim().is_empty() {
        return Err(WcsError::bad_request("the body must list the last ctx of every block"));
    }
    let batch = batch_digest(&upload_batch(&headers));
    let ctxs = text
        .trim()
        .split(',')
        .map(|c| {
            let ctx = w.blocks.signer().decode(c).map_err(|e| WcsError::bad_ctx(e.to_string()))?;
            if ctx.batch != batch {
                return Err(WcsError::bad_ctx("ctx belongs to another UploadBatch"));
            }
            Ok(ctx)
        })
        .collect::<Result<Vec<Ctx>, WcsError>>()?;
    check_layout(&ctxs, file_size)?;

    // The scope key wins over the client's key; without either the key is the etag (known after assembly).
    // The overwrite check comes after the blocks are checked: a repeated mkfile may find its own result.
    let key = policy.key.clone().or(opts.key);
    let mime = opts
        .mime
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| guess_mime(opts.fname.as_deref().or(key.as_deref()).unwrap_or("")).to_owned());
    let wcs = Arc::clone(&w);
    let overwrite = policy.overwrite;
    let object = w
        .store
        .blocking(move |store| -> Result<NewObject, WcsError> {
            let already = wcs.blocks.check_complete(&store.db(), &ctxs)?;
            let (temp, etag, md5, size) = match &already {
                Some(etag) => {
                    let blob = objects::blob_by_etag(store, &store.db(), etag)?
                        .ok_or_else(|| WcsError::bad_ctx("the blocks were assembled before but the file is gone"))?;
                    (None, etag.clone(), blob.md5, blob.size)
                }
                None => {
                    let a = wcs.blocks.assemble(store, &ctxs)?;
                    (Some(a.temp), a.etag, a.md5, a.size)
                }
            };
            if size != file_size {
                return Err(WcsError::assembly(format!("assembled {size} bytes, not {file_size}")));
            }
            let object = NewObject {
                bucket: BUCKET.to_owned(),
                key: key.unwrap_or_else(|| etag.clone()),
                etag,
                md5,
                size,
                mime,
            };
            objects::put(store, temp, &object, overwrite, already.is_some())?;
            if already.is_none() {
                wcs.blocks.consume(store, &ctxs, &object.etag)?;
            }
            Ok(object)
        })
        .await?;

    let facts = UploadFacts {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        fname: opts.fname.unwrap_or_default(),
        etag: object.etag.clone(),
        fsize: object.size,
        mime: object.mime.clone(),
        ip: peer.map(|Extension(ConnectInfo(p))| p.ip().to_string()).unwrap_or_default(),
        url: w.object_url(&object.key),
        x_vars: opts.x_vars,
    };
    let reply = match w.complete(&policy, &facts).await? {
        Outcome::Callback(answer) => json!({ "hash": object.etag, "response": answer.body }),
        Outcome::Returned(expanded) => {
            let mut map: Map<String, Value> = super::callback::return_fields(&expanded)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            map.insert("key".to_owned(), Value::String(object.key.clone()));
            map.insert("hash".to_owned(), Value::String(object.etag.clone()));
            Value::Object(map)
        }
        Outcome::Default => json!({ "hash": object.etag, "key": object.key }),
    };
    Ok(Json(reply).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(order: u32, size: u32, offset: u32) -> Ctx {
        Ctx {
            block_id: [0; 16],
            order,
            block_size: size,
            offset,
            crc: 0,
            batch: [0; 8],
        }
    }

    #[test]
    fn layout_rules() {
        let full = BLOCK_SIZE as u32;
        assert!(check_layout(&[ctx(0, full, full), ctx(1, 5, 5)], BLOCK_SIZE + 5).is_ok());
        assert!(check_layout(&[ctx(0, 0, 0)], 0).is_ok());
        let code = |r: Result<(), WcsError>| match r {
            Err(WcsError::Status { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(check_layout(&[ctx(1, 5, 5), ctx(0, full, full)], BLOCK_SIZE + 5)), 412);
        assert_eq!(code(check_layout(&[ctx(0, full, 10), ctx(1, 5, 5)], BLOCK_SIZE + 5)), 412);
        assert_eq!(code(check_layout(&[ctx(0, 5, 5), ctx(1, 5, 5)], 10)), 412);
        assert_eq!(code(check_layout(&[ctx(0, 5, 5)], 6)), 412);
        assert_eq!(code(check_layout(&[ctx(0, full, full), ctx(1, 0, 0)], BLOCK_SIZE)), 412);
    }

    #[test]
    fn options() {
        let mut headers = HeaderMap::new();
        headers.insert("key", base64::engine::general_purpose::URL_SAFE.encode("h/k").parse().unwrap());
        headers.insert("mimetype", "text/plain".parse().unwrap());
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE.encode(s);
        let opts = parse_options(&format!("x:a/{}/fname/{}", b64("1"), b64("n.txt")), &headers).unwrap();
        assert_eq!(opts.key.as_deref(), Some("h/k"));
        assert_eq!(opts.mime.as_deref(), Some("text/plain"));
        assert_eq!(opts.fname.as_deref(), Some("n.txt"));
        assert_eq!(opts.x_vars["a"], "1");
        let opts = parse_options(&format!("key/{}", b64("p/k")), &headers).unwrap();
        assert_eq!(opts.key.as_deref(), Some("p/k"));
        assert!(parse_options("key", &headers).is_err());
        assert!(parse_options("key/%%%", &headers).is_err());
    }
}
