//! Offline download (离线下载) from an uploaded `.torrent` (route name `6pan/offline`).
//!
//! | route | request | result |
//! |---|---|---|
//! | `POST /v1/offline/parseTorrent` | `{uuid}` or `{path}` of the uploaded torrent | `{taskHash, name, server: false, size, infoHash, type: 20, files: [{path, size, order}]}` |
//! | `POST /v1/offline/start` | `{taskHash, copyFile: "*" \| "0,2", savePath}` | the task |
//! | `POST /v1/offline/page` | `{page, pageSize ≤ 100}` | `{list, page, pageSize, totalCount, totalPage}` |
//! | `POST /v2/offline/parseTorrent` | `{hash: [etag, …]}` | `[{identity, name, size, infoHash, files: [{pathIdentity, name, path, size, fileIndex, hash}]}]` |
//! | `POST /v2/offline/add` | `{path, task: [{identity, iginreFiles?: [pathIdentity]}]}` | `{success: <tasks added>, count: <tasks asked>}` |
//! | `POST /v2/offline/page` | `{page, pageSize ≤ 100}` | as v1 |
//!
//! The torrent really is parsed (bencode, info hash over the raw `info` bytes); a file that is not a
//! torrent is `UNSUPPORTED_FILE`. `taskHash`/`identity` are opaque: URL-safe base64 of
//! `{type: 20, storeId: <torrent etag>, infoHash, name}`. The save folder is created. Tasks are recorded
//! with `status` 0 (queued) and never downloaded: this is a sandbox without a swarm. `GET /_admin/offline`
//! lists them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::Pan6;
use super::envelope::{Api, Pan6Error, reply};
use super::input::{self, Fields, required};
use super::naming::{self, split_path};
use super::torrent::{Torrent, TorrentFile, parse_torrent};
use super::tree::{self, now_ms};
use crate::error::FakeCloudError;
use crate::store::{Store, to_i64};
use crate::wcs::objects;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pan6_offline_tasks (
    id           TEXT PRIMARY KEY NOT NULL,
    api          TEXT NOT NULL,
    name         TEXT NOT NULL,
    save_path    TEXT NOT NULL,
    files        TEXT NOT NULL,
    torrent_etag TEXT NOT NULL,
    info_hash    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    status       INTEGER NOT NULL,
    created_ms   INTEGER NOT NULL
);
";

/// Task type of a torrent task.
const TYPE_TORRENT: i64 = 20;
/// Largest torrent file parsed.
const MAX_TORRENT: u64 = 16 << 20;
/// Largest `pageSize` of a task listing.
const MAX_TASK_PAGE: i64 = 100;

fn unsupported(why: impl std::fmt::Display) -> Pan6Error {
    Pan6Error::business("UNSUPPORTED_FILE", format!("not a torrent: {why}"))
}

/// Reads and parses the stored torrent with this etag. Blocking.
fn load(store: &Store, conn: &Connection, etag: &str) -> Result<Torrent, Pan6Error> {
    let blob = objects::blob_by_etag(store, conn, etag)?
        .ok_or_else(|| Pan6Error::business("FILE_NOT_FOUND_ON_STORE", format!("no stored file has hash {etag}")))?;
    if blob.size > MAX_TORRENT {
        return Err(unsupported("too large"));
    }
    let path = store.blob_path(&blob.md5);
    let data = std::fs::read(&path).map_err(|e| FakeCloudError::io(&path, e))?;
    parse_torrent(&data).map_err(unsupported)
}

/// The opaque task reference (`taskHash` / `identity`).
fn task_ref(etag: &str, t: &Torrent) -> String {
    let json = json!({ "type": TYPE_TORRENT, "storeId": etag, "infoHash": t.info_hash, "name": t.name });
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// Decodes a task reference back to its torrent. Blocking.
fn resolve_ref(store: &Store, conn: &Connection, text: &str, code: &str) -> Result<(String, Torrent), Pan6Error> {
    let invalid = || Pan6Error::business(code, "unknown or malformed task reference");
    let json: Value = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(invalid)?;
    let etag = json["storeId"].as_str().ok_or_else(invalid)?.to_owned();
    let torrent = load(store, conn, &etag)?;
    if json["infoHash"].as_str() != Some(torrent.info_hash.as_str()) {
        return Err(invalid());
    }
    Ok((etag, torrent))
}

fn path_identity(info_hash: &str, index: usize) -> String {
    let text = format!("{info_hash}/{index}");
    crate::hashing::md5_hex_of(text.as_bytes())
}

/// Records a task; returns its id. Blocking.
fn record(
    conn: &Connection,
    api: Api,
    etag: &str,
    t: &Torrent,
    files: &[(usize, &TorrentFile)],
    save_path: &str,
) -> Result<String, FakeCloudError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let files_json: Vec<Value> = files
        .iter()
        .map(|(i, f)| json!({ "path": f.path, "size": f.size, "index": i }))
        .collect();
    let size: u64 = files.iter().map(|(_, f)| f.size).sum();
    conn.execute(
        "INSERT INTO pan6_offline_tasks (id, api, name, save_path, files, torrent_etag, info_hash, size, status, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)",
        params![
            id,
            api.name(),
            t.name,
            save_path,
            Value::Array(files_json).to_string(),
            etag,
            t.info_hash,
            to_i64(size)?,
            now_ms()
        ],
    )?;
    Ok(id)
}

fn task_json(r: &rusqlite::Row<'_>, api: Api) -> rusqlite::Result<Value> {
    let files: String = r.get(4)?;
    let created: i64 = r.get(9)?;
    let (id_key, created) = match api {
        Api::V1 => ("taskId", created),
        Api::V2 => ("identity", created / 1000),
    };
    Ok(json!({
        id_key: r.get::<_, String>(0)?, "api": r.get::<_, String>(1)?, "name": r.get::<_, String>(2)?,
        "savePath": r.get::<_, String>(3)?, "files": serde_json::from_str::<Value>(&files).unwrap_or(Value::Null),
        "torrentHash": r.get::<_, String>(5)?, "infoHash": r.get::<_, String>(6)?, "size": r.get::<_, i64>(7)?,
        "status": r.get::<_, i64>(8)?, "progress": 0, "type": TYPE_TORRENT, "createTime": created,
    }))
}

const TASK_COLUMNS: &str = "id, api, name, save_path, files, torrent_etag, info_hash, size, status, created_ms";

fn page_of(conn: &Connection, api: Api, f: &Fields) -> Result<Value, Pan6Error> {
    let page = f.int("page")?.unwrap_or(1).max(1);
    let size = f.int("pageSize")?.unwrap_or(20);
    if !(1..=MAX_TASK_PAGE).contains(&size) {
        return Err(Pan6Error::business(
            "PAGE_SIZE_NOT_VALID",
            format!("pageSize must be 1..={MAX_TASK_PAGE}"),
        ));
    }
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM pan6_offline_tasks", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {TASK_COLUMNS} FROM pan6_offline_tasks ORDER BY created_ms DESC, id LIMIT ?1 OFFSET ?2"
    ))?;
    let list = stmt
        .query_map(params![size, (page - 1) * size], |r| task_json(r, api))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "list": list, "page": page, "pageSize": size, "totalCount": total, "totalPage": (total + size - 1) / size }))
}

fn v1_parse(store: &Store, f: &Fields) -> Result<Value, Pan6Error> {
    let conn = store.db();
    let entry = match (f.text("uuid"), f.text("path")) {
        (Some(id), _) => tree::get(&conn, &id)?,
        (None, Some(path)) => tree::at(&conn, &split_path(&path))?,
        (None, None) => return Err(required("uuid")),
    }
    .filter(|e| !e.is_dir)
    .ok_or_else(|| Pan6Error::business("FILE_NOT_FOUND", "no such file"))?;
    let t = load(store, &conn, &entry.etag)?;
    let files: Vec<Value> = t
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| json!({ "path": f.path, "size": f.size, "order": i }))
        .collect();
    Ok(json!({
        "taskHash": task_ref(&entry.etag, &t), "name": t.name, "server": false, "size": t.size(),
        "infoHash": t.info_hash, "type": TYPE_TORRENT, "files": files,
    }))
}

fn v1_start(store: &Store, f: &Fields) -> Result<Value, Pan6Error> {
    let task_hash = f.text("taskHash").ok_or_else(|| required("taskHash"))?;
    let mut conn = store.db();
    let (etag, t) = resolve_ref(store, &conn, &task_hash, "TASK_HASH_NOT_VALID")?;
    let selected: Vec<(usize, &TorrentFile)> = match f.text("copyFile").as_deref() {
        None | Some("*") => t.files.iter().enumerate().collect(),
        Some(list) => {
            let mut picked = Vec::new();
            for part in list.split(',') {
                let i: usize = part.trim().parse().ok().filter(|&i| i < t.files.len()).ok_or_else(|| {
                    Pan6Error::business(
                        "COPY_FILE_NOT_VALID",
                        format!("copyFile must be * or file orders below {}", t.files.len()),
                    )
                })?;
                if !picked.iter().any(|(j, _)| *j == i) {
                    picked.push((i, &t.files[i]));
                }
            }
            picked
        }
    };
    let tx = conn.transaction()?;
    let dir = naming::ensure_dirs(&tx, Api::V1, &split_path(&f.text("savePath").unwrap_or_default()))?;
    let id = record(&tx, Api::V1, &etag, &t, &selected, &dir.path)?;
    let task = tx.query_row(
        &format!("SELECT {TASK_COLUMNS} FROM pan6_offline_tasks WHERE id = ?1"),
        params![id],
        |r| task_json(r, Api::V1),
    )?;
    tx.commit()?;
    Ok(task)
}

fn v2_parse(store: &Store, f: &Fields) -> Result<Value, Pan6Error> {
    let hashes: Vec<String> = match f.value("hash") {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    if hashes.is_empty() {
        return Err(required("hash"));
    }
    let conn = store.db();
    let mut out = Vec::new();
    for etag in hashes {
        let t = load(store, &conn, &etag)?;
        let files: Vec<Value> = t
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let name = f.path.rsplit('/').next().unwrap_or(&f.path);
                json!({ "pathIdentity": path_identity(&t.info_hash, i), "name": name, "path": f.path, "size": f.size,
                        "fileIndex": i, "hash": "" })
            })
            .collect();
        out.push(json!({ "identity": task_ref(&etag, &t), "name": t.name, "size": t.size(), "infoHash": t.info_hash, "files": files }));
    }
    Ok(Value::Array(out))
}

fn v2_add(store: &Store, f: &Fields) -> Result<Value, Pan6Error> {
    let Some(Value::Array(tasks)) = f.value("task") else {
        return Err(required("task"));
    };
    let mut conn = store.db();
    let tx = conn.transaction()?;
    let dir = naming::ensure_dirs(&tx, Api::V2, &split_path(&f.text("path").unwrap_or_default()))?;
    let mut added = 0u64;
    for task in tasks {
        let Some(identity) = task["identity"].as_str() else { continue };
        let Ok((etag, t)) = resolve_ref(store, &tx, identity, "IDENTITY_NOT_VALID") else {
            continue;
        };
        // The field really is spelled `iginreFiles`; the correct spelling is accepted too.
        let ignored: Vec<&str> = ["iginreFiles", "ignoreFiles"]
            .iter()
            .filter_map(|k| task[*k].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let selected: Vec<(usize, &TorrentFile)> = t
            .files
            .iter()
            .enumerate()
            .filter(|(i, _)| !ignored.contains(&path_identity(&t.info_hash, *i).as_str()))
            .collect();
        if !selected.is_empty() {
            record(&tx, Api::V2, &etag, &t, &selected, &dir.path)?;
            added += 1;
        }
    }
    tx.commit()?;
    Ok(json!({ "success": added, "count": tasks.len() }))
}

/// Which offline operation a route performs.
#[derive(Debug, Clone, Copy)]
enum Op {
    V1Parse,
    V1Start,
    V1Page,
    V2Parse,
    V2Add,
    V2Page,
}

async fn run(p: &Arc<Pan6>, op: Op, headers: &HeaderMap, body: &[u8]) -> Result<Value, Pan6Error> {
    let f = input::parse(headers, body)?;
    p.store
        .blocking(move |store| match op {
            Op::V1Parse => v1_parse(store, &f),
            Op::V1Start => v1_start(store, &f),
            Op::V1Page => page_of(&store.db(), Api::V1, &f),
            Op::V2Parse => v2_parse(store, &f),
            Op::V2Add => v2_add(store, &f),
            Op::V2Page => page_of(&store.db(), Api::V2, &f),
        })
        .await
}

macro_rules! route {
    ($name:ident, $op:expr, $api:expr, $doc:literal) => {
        #[doc = $doc]
        pub(crate) async fn $name(State(p): State<Arc<Pan6>>, headers: HeaderMap, body: Bytes) -> Response {
            reply($api, run(&p, $op, &headers, &body).await)
        }
    };
}

route!(v1_parse_torrent, Op::V1Parse, Api::V1, "`POST /v1/offline/parseTorrent`.");
route!(v1_start_task, Op::V1Start, Api::V1, "`POST /v1/offline/start`.");
route!(v1_page, Op::V1Page, Api::V1, "`POST /v1/offline/page`.");
route!(v2_parse_torrent, Op::V2Parse, Api::V2, "`POST /v2/offline/parseTorrent`.");
route!(v2_add_tasks, Op::V2Add, Api::V2, "`POST /v2/offline/add`.");
route!(v2_page, Op::V2Page, Api::V2, "`POST /v2/offline/page`.");

/// Every recorded task, for `GET /_admin/offline`. Blocking.
pub(crate) fn admin_tasks(conn: &Connection) -> Result<Vec<Value>, FakeCloudError> {
    let mut stmt = conn.prepare(&format!("SELECT {TASK_COLUMNS} FROM pan6_offline_tasks ORDER BY created_ms, id"))?;
    let rows = stmt.query_map([], |r| {
        let files: String = r.get(4)?;
        Ok(json!({
            "provider": "6pan", "api": r.get::<_, String>(1)?, "id": r.get::<_, String>(0)?, "name": r.get::<_, String>(2)?,
            "save_path": r.get::<_, String>(3)?, "files": serde_json::from_str::<Value>(&files).unwrap_or(Value::Null),
            "torrent_etag": r.get::<_, String>(5)?, "info_hash": r.get::<_, String>(6)?,
        }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
