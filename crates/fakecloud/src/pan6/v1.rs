//! v1 routes: `POST /v1/store/token`, `POST /v1/files/createDirectory`, `POST /v1/files/page`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::Pan6;
use super::envelope::{Api, Pan6Error, reply};
use super::input::{self, Fields};
use super::listing;
use super::naming::{self, V1Request, V1Target, check_name, parent_dir, split_path};
use super::tree::{self, Content, Entry, USER_ID, now_ms};
use super::upload::{Op, Target};
use crate::wcs::{etag, guess_mime, objects};

/// Largest `pageSize` of a listing.
pub(crate) const MAX_PAGE_SIZE: i64 = 999;

enum TokenOutcome {
    Hit(Entry),
    Miss(Target),
}

fn exists(api: Api, path: &str) -> Pan6Error {
    Pan6Error::business(api.exists_code(), format!("{path} already exists"))
}

async fn store_token_inner(p: &Arc<Pan6>, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let f = input::parse(headers, body)?;
    let req = V1Request {
        name: f.text("name"),
        parent: f.text("parent"),
        path: f.text("path"),
        original: f.text("originalFilename"),
    };
    let hash = f.text("hash").or_else(|| f.text("fileHash")).filter(|h| etag::looks_like_etag(h));
    let overwrite = f.flag("override") || f.flag("rewrite");
    let outcome = p
        .store
        .blocking(move |store| -> Result<TokenOutcome, Pan6Error> {
            let mut conn = store.db();
            let tx = conn.transaction()?;
            let target = naming::resolve_v1(&tx, &req, now_ms())?;
            let (dir, name, op) = match target {
                V1Target::Existing(file) => {
                    tx.commit()?;
                    // Hit or not, nothing is created: the upload (if any) is answered with this file.
                    if hash
                        .as_deref()
                        .is_some_and(|h| objects::blob_by_etag(store, &conn, h).ok().flatten().is_some())
                    {
                        return Ok(TokenOutcome::Hit(file));
                    }
                    let dir = tree::get(&conn, &file.parent)?.unwrap_or_else(Entry::root);
                    return Ok(TokenOutcome::Miss(Target {
                        dir,
                        name: file.name,
                        op: Op::Keep,
                    }));
                }
                V1Target::New { dir, name } => (dir, name, if overwrite { Op::Overwrite } else { Op::Fail }),
            };
            if let Some(existing) = tree::child(&tx, &dir.uuid, &name)?
                && (existing.is_dir || !overwrite)
            {
                return Err(exists(Api::V1, &existing.path));
            }
            if let Some(hash) = &hash
                && let Some(blob) = objects::blob_by_etag(store, &tx, hash)?
            {
                let content = Content {
                    size: blob.size,
                    etag: hash.clone(),
                    md5: blob.md5,
                    mime: guess_mime(&name).to_owned(),
                };
                let file = tree::place_file(&tx, &dir, &name, &content, overwrite)?.map_err(|c| exists(Api::V1, &c.path))?;
                tx.commit()?;
                return Ok(TokenOutcome::Hit(file));
            }
            tx.commit()?;
            Ok(TokenOutcome::Miss(Target { dir, name, op }))
        })
        .await?;
    Ok(match outcome {
        TokenOutcome::Hit(file) => file.v1_json(),
        TokenOutcome::Miss(target) => {
            let form_style = p.config.v1_form_upload_url;
            let token = p.upload_token(Api::V1, &target, form_style);
            let upload_url = if form_style {
                format!("{}/file/upload", p.wcs_url())
            } else {
                p.wcs_url()
            };
            json!({
                "name": target.name, "parent": target.dir.uuid, "token": token, "type": 0,
                "uploadUrl": upload_url, "version": 1, "userId": USER_ID,
            })
        }
    })
}

/// `POST /v1/store/token`: an upload token, or the file at once when `hash` is already stored.
pub(crate) async fn store_token(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V1, store_token_inner(&p, &headers, &body).await)
}

/// Creates a folder from `{parent?, path?, name?}` (both versions): `path` is created whole (`mkdir -p`)
/// and `name` inside it; else `name` inside `parent` (default: the root). An existing folder is answered
/// as is; a file in the way is a clash. Blocking.
pub(crate) fn create_directory(conn: &rusqlite::Connection, api: Api, f: &Fields) -> Result<Entry, Pan6Error> {
    let name = f.text("name");
    let base = match f.text("path") {
        Some(path) => naming::ensure_dirs(conn, api, &split_path(&path))?,
        None if name.is_none() => return Err(input::required("name")),
        None => parent_dir(conn, f.text("parent").as_deref())?,
    };
    match name {
        None => Ok(base),
        Some(name) => {
            check_name(api, &name)?;
            tree::mkdir(conn, &base, &name)?.map_err(|c| exists(api, &c.path))
        }
    }
}

async fn create_directory_inner(p: &Arc<Pan6>, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let f = input::parse(headers, body)?;
    let dir = p.store.blocking(move |store| create_directory(&store.db(), Api::V1, &f)).await?;
    Ok(dir.v1_json())
}

/// `POST /v1/files/createDirectory`.
pub(crate) async fn create_directory_route(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V1, create_directory_inner(&p, &headers, &body).await)
}

/// Listing parameters shared by both versions: `page` (from 1), `pageSize` (1..=999, default 20),
/// `orderBy` (0 name, 1 time) and `type` (0 files, 1 folders, -1 both).
pub(crate) fn list_params(f: &Fields) -> Result<(u64, u64, listing::Order, listing::Kind), Pan6Error> {
    let page = f.int("page")?.unwrap_or(1).max(1);
    let size = f.int("pageSize")?.unwrap_or(20);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(Pan6Error::business(
            "PAGE_SIZE_NOT_VALID",
            format!("pageSize must be 1..={MAX_PAGE_SIZE}"),
        ));
    }
    let order = if f.int("orderBy")? == Some(1) {
        listing::Order::Time
    } else {
        listing::Order::Name
    };
    let kind = match f.int("type")? {
        Some(0) => listing::Kind::Files,
        Some(1) => listing::Kind::Dirs,
        _ => listing::Kind::Both,
    };
    Ok((u64::try_from(page).unwrap_or(1), u64::try_from(size).unwrap_or(20), order, kind))
}

async fn page_inner(p: &Arc<Pan6>, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let f = input::parse(headers, body)?;
    let (page, size, order, kind) = list_params(&f)?;
    let (dir, list, total) = p
        .store
        .blocking(move |store| -> Result<_, Pan6Error> {
            let conn = store.db();
            let dir = match f.text("path") {
                Some(path) => tree::at(&conn, &split_path(&path))?.filter(|e| e.is_dir),
                None => {
                    let id = f.text("parent").or_else(|| f.text("uuid"));
                    tree::get(&conn, id.as_deref().unwrap_or(tree::ROOT))?.filter(|e| e.is_dir)
                }
            }
            .ok_or_else(|| Pan6Error::business("FILE_NOT_FOUND", "no such folder"))?;
            let (list, total) = listing::list(&conn, &dir.uuid, kind, order, page, size)?;
            Ok((dir, list, total))
        })
        .await?;
    Ok(json!({
        "list": list.iter().map(Entry::v1_json).collect::<Vec<_>>(), "info": dir.v1_json(),
        "page": page, "pageSize": size, "totalCount": total, "totalPage": total.div_ceil(size),
    }))
}

/// `POST /v1/files/page`.
pub(crate) async fn page(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V1, page_inner(&p, &headers, &body).await)
}
