//! v2 routes: `POST /v2/upload/token`, `POST /v2/files/createDirectory`, `POST /v2/files/page`.
//!
//! `upload/token` takes `path` (created when missing) or `identity` (an existing folder), optional `hash`
//! and `name`, and `override: true` (or `op: 2`) to replace a file of the same name. Without it a name
//! clash is the business error `FILE_ALREADY_EXISTS`, at token time and again at callback time; a folder of
//! that name is always a clash. A path segment (or name) over 128 characters is `PATH_TOO_LONG`. Neither
//! `path` nor `identity` is `PATH_REQUIRED`. Without `name`, the callback names the file after the uploaded
//! file (form upload), else `qzy-upload-noname.<ms>.tmp`; a hit without `name` gets the random name.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::Pan6;
use super::envelope::{Api, Pan6Error, reply};
use super::input;
use super::listing;
use super::naming::{self, check_name, noname, split_path};
use super::tree::{self, Content, Entry, now_ms};
use super::upload::{Op, Target};
use super::v1::{create_directory, list_params};
use crate::wcs::{etag, guess_mime, objects};

enum TokenOutcome {
    Hit(Entry),
    Miss(Target),
}

fn exists(path: &str) -> Pan6Error {
    Pan6Error::business(Api::V2.exists_code(), format!("{path} already exists"))
}

async fn upload_token_inner(p: &Arc<Pan6>, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let f = input::parse(headers, body)?;
    let path = f.text("path");
    let identity = f.text("identity");
    let name = f.text("name");
    let hash = f.text("hash").filter(|h| etag::looks_like_etag(h));
    let overwrite = f.flag("override") || f.int("op").ok().flatten() == Some(2);
    if let Some(name) = &name {
        check_name(Api::V2, name)?;
    }
    let outcome = p
        .store
        .blocking(move |store| -> Result<TokenOutcome, Pan6Error> {
            let mut conn = store.db();
            let tx = conn.transaction()?;
            let dir = match (identity, path) {
                (Some(id), _) => match tree::get(&tx, &id)? {
                    Some(dir) if dir.is_dir => dir,
                    _ => return Err(Pan6Error::business("FILE_NOT_FOUND", format!("folder {id} does not exist"))),
                },
                (None, Some(path)) => naming::ensure_dirs(&tx, Api::V2, &split_path(&path))?,
                (None, None) => return Err(input::required("path")),
            };
            if let Some(name) = &name
                && let Some(existing) = tree::child(&tx, &dir.uuid, name)?
                && (existing.is_dir || !overwrite)
            {
                return Err(exists(&existing.path));
            }
            if let Some(hash) = &hash
                && let Some(blob) = objects::blob_by_etag(store, &tx, hash)?
            {
                let name = name.unwrap_or_else(|| noname(now_ms()));
                let content = Content {
                    size: blob.size,
                    etag: hash.clone(),
                    md5: blob.md5,
                    mime: guess_mime(&name).to_owned(),
                };
                let file = tree::place_file(&tx, &dir, &name, &content, overwrite)?.map_err(|c| exists(&c.path))?;
                tx.commit()?;
                return Ok(TokenOutcome::Hit(file));
            }
            tx.commit()?;
            let op = if overwrite { Op::Overwrite } else { Op::Fail };
            Ok(TokenOutcome::Miss(Target {
                dir,
                name: name.unwrap_or_default(),
                op,
            }))
        })
        .await?;
    Ok(match outcome {
        TokenOutcome::Hit(file) => json!({ "file": file.v2_json(), "hashCached": true }),
        TokenOutcome::Miss(target) => json!({
            "uploadInfo": {
                "uploadToken": p.upload_token(Api::V2, &target, false),
                "type": "WCS/Splite",
                "uploadUrl": p.wcs_url(),
                "filePath": "${UPLOAD_TIME_RND}",
            },
            "hashCached": false,
        }),
    })
}

/// `POST /v2/upload/token`.
pub(crate) async fn upload_token(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V2, upload_token_inner(&p, &headers, &body).await)
}

async fn create_directory_inner(p: &Arc<Pan6>, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let f = input::parse(headers, body)?;
    let dir = p.store.blocking(move |store| create_directory(&store.db(), Api::V2, &f)).await?;
    Ok(dir.v2_json())
}

/// `POST /v2/files/createDirectory`: `{path}` (whole path), `{parent, name}` or `{path, name}`.
pub(crate) async fn create_directory_route(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V2, create_directory_inner(&p, &headers, &body).await)
}

async fn page_inner(p: &Arc<Pan6>, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let f = input::parse(headers, body)?;
    let (page, size, order, kind) = list_params(&f)?;
    let (dir, list, total) = p
        .store
        .blocking(move |store| -> Result<_, Pan6Error> {
            let conn = store.db();
            let dir = match (f.text("identity"), f.text("path")) {
                (Some(id), _) => tree::get(&conn, &id)?,
                (None, Some(path)) => tree::at(&conn, &split_path(&path))?,
                (None, None) => Some(Entry::root()),
            }
            .filter(|e| e.is_dir);
            let (list, total) = match &dir {
                Some(dir) => listing::list(&conn, &dir.uuid, kind, order, page, size)?,
                None => (Vec::new(), 0),
            };
            Ok((dir, list, total))
        })
        .await?;
    Ok(json!({
        "page": page, "pageSize": size, "totalCount": total, "totalPage": total.div_ceil(size),
        "list": list.iter().map(Entry::v2_json).collect::<Vec<_>>(),
        // A missing folder is not an error in v2: `parent` is null.
        "parent": dir.as_ref().map(Entry::v2_json),
    }))
}

/// `POST /v2/files/page`.
pub(crate) async fn page(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V2, page_inner(&p, &headers, &body).await)
}
