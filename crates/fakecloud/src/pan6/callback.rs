//! The upload callbacks WCS POSTs after an upload: `POST /v1/store/callback/wcs` and
//! `POST /v2/upload/wcsCallback` (route name `6pan/callback`).
//!
//! The request is a form with one field, `callbackBody`, and an `Authorization: <AccessKey>:<Sign>` header
//! that is verified (HTTP 401 with code `CALLBACK_UNAUTHORIZED` otherwise). The body's fields say which
//! stored object arrived (`hash`, `key`, `size`, `mimeType`) and where it goes (filled in at token time,
//! see `upload`). The answer is the normal envelope with the new file object; WCS passes it on to the
//! uploader as mkfile's `response`. A callback for a key that was already registered answers the same file
//! again (WCS retries callbacks).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::Pan6;
use super::envelope::{Api, Pan6Error, reply};
use super::naming::{self, base_name, check_name, noname, split_path};
use super::tree::{self, Content, Entry, now_ms};
use super::upload::{Op, V1_INNER, V2_SEPARATOR};
use crate::wcs::{guess_mime, objects};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pan6_callbacks (
    key  TEXT PRIMARY KEY NOT NULL,
    uuid TEXT NOT NULL
);
";

/// What a callback body says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Arrival {
    hash: String,
    key: String,
    mime: String,
    op: i64,
    parent_id: String,
    parent_path: String,
    name: String,
    upload_file_name: String,
}

/// Cuts `field=<start>…<end>` out of `body` and returns the text between the markers. `last`: the value
/// ends at the last `end` (for the uploader-controlled file name, which may contain anything).
fn take_marked(body: &mut String, field: &str, start: &str, end: &str, last: bool) -> Option<String> {
    let open = format!("{field}={start}");
    let at = body.find(&open)?;
    let from = at + open.len();
    let to = if last { body.rfind(end)? } else { from + body[from..].find(end)? };
    if to < from {
        return None;
    }
    let value = body[from..to].to_owned();
    body.replace_range(at..to + end.len(), "");
    Some(value)
}

/// Parses the v1 `&`-joined body.
pub(crate) fn parse_v1(body: &str) -> Arrival {
    let mut rest = body.to_owned();
    let upload_file_name = take_marked(&mut rest, "uploadFileName", "@qzyfilestart", "@qzyfileend", true).unwrap_or_default();
    let target = take_marked(&mut rest, "fileName", "@qzyfilestart", "@qzyfileend", false).unwrap_or_default();
    take_marked(&mut rest, "url", "@qzyurlstart", "@qzyurlend", false);
    let fields: HashMap<&str, &str> = rest.split('&').filter_map(|p| p.split_once('=')).collect();
    let mut parts = target.splitn(3, V1_INNER);
    let get = |k: &str| fields.get(k).copied().unwrap_or("").to_owned();
    let parent_id = parts.next().unwrap_or("").to_owned();
    let name = parts.next().unwrap_or("").to_owned();
    let full_path = parts.next().unwrap_or("").to_owned();
    let parent_path = full_path.rsplit_once('/').map(|(dir, _)| dir.to_owned()).unwrap_or_default();
    Arrival {
        hash: get("hash"),
        key: get("key"),
        mime: get("mimeType"),
        op: get("op").parse().unwrap_or(0),
        parent_id,
        parent_path,
        name,
        upload_file_name,
    }
}

/// Parses the v2 body (`k=v` fields joined by the separator). A part that is not a known `k=v` belongs to
/// the previous value (an uploaded file name may contain the separator).
pub(crate) fn parse_v2(body: &str) -> Arrival {
    const KNOWN: [&str; 14] = [
        "fileName",
        "parentPath",
        "size",
        "hash",
        "key",
        "mimeType",
        "ip",
        "bucket",
        "userId",
        "op",
        "parentId",
        "uploadFileName",
        "step",
        "type",
    ];
    let mut fields: Vec<(String, String)> = Vec::new();
    for part in body.split(V2_SEPARATOR) {
        match part.split_once('=') {
            Some((k, v)) if KNOWN.contains(&k) => fields.push((k.to_owned(), v.to_owned())),
            _ => {
                if let Some((_, v)) = fields.last_mut() {
                    v.push_str(V2_SEPARATOR);
                    v.push_str(part);
                }
            }
        }
    }
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone()).unwrap_or_default();
    Arrival {
        hash: get("hash"),
        key: get("key"),
        mime: get("mimeType"),
        op: get("op").parse().unwrap_or(0),
        parent_id: get("parentId"),
        parent_path: get("parentPath"),
        name: get("fileName"),
        upload_file_name: get("uploadFileName"),
    }
}

/// Registers an arrived upload as a user file. Blocking.
fn register(store: &crate::store::Store, api: Api, a: &Arrival) -> Result<Entry, Pan6Error> {
    let mut conn = store.db();
    let known: Option<String> = conn
        .query_row("SELECT uuid FROM pan6_callbacks WHERE key = ?1", params![a.key], |r| r.get(0))
        .optional()?;
    if let Some(uuid) = known
        && let Some(entry) = tree::get(&conn, &uuid)?
    {
        return Ok(entry);
    }
    let blob = objects::blob_by_etag(store, &conn, &a.hash)?
        .ok_or_else(|| Pan6Error::business("FILE_NOT_FOUND_ON_STORE", format!("no stored object has hash {}", a.hash)))?;
    let tx = conn.transaction()?;
    let dir = match tree::get(&tx, &a.parent_id)? {
        Some(dir) if dir.is_dir && !a.parent_id.is_empty() => dir,
        // The folder given at token time is gone (or none was given): go by its path.
        _ => naming::ensure_dirs(&tx, api, &split_path(&a.parent_path))?,
    };
    let name = if !a.name.is_empty() {
        a.name.clone()
    } else if !base_name(&a.upload_file_name).is_empty() {
        base_name(&a.upload_file_name).to_owned()
    } else {
        noname(now_ms())
    };
    check_name(api, &name)?;
    let op = Op::from_code(a.op);
    let existing = tree::child(&tx, &dir.uuid, &name)?;
    let entry = match existing {
        Some(file) if op == Op::Keep && !file.is_dir => file,
        _ => {
            // Slice uploads know no file name, so WCS reports the generic type: the final name says more.
            let generic = a.mime.is_empty() || a.mime == "application/octet-stream";
            let mime = if generic { guess_mime(&name).to_owned() } else { a.mime.clone() };
            let content = Content {
                size: blob.size,
                etag: a.hash.clone(),
                md5: blob.md5,
                mime,
            };
            tree::place_file(&tx, &dir, &name, &content, op == Op::Overwrite)?
                .map_err(|c| Pan6Error::business(api.exists_code(), format!("{} already exists", c.path)))?
        }
    };
    tx.execute(
        "INSERT OR REPLACE INTO pan6_callbacks (key, uuid) VALUES (?1, ?2)",
        params![a.key, entry.uuid],
    )?;
    tx.commit()?;
    Ok(entry)
}

async fn handle(p: &Arc<Pan6>, api: Api, uri: &OriginalUri, headers: &HeaderMap, body: &Bytes) -> Result<Value, Pan6Error> {
    let text = std::str::from_utf8(body).map_err(|_| Pan6Error::business("BAD_REQUEST_BODY", "the callback body must be UTF-8"))?;
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let path_and_query = uri
        .0
        .path_and_query()
        .map_or_else(|| uri.0.path().to_owned(), |pq| pq.as_str().to_owned());
    if !p.keys.verify_callback(authorization, &path_and_query, text) {
        return Err(Pan6Error::unauthorized(
            "CALLBACK_UNAUTHORIZED",
            "the callback signature is missing or wrong",
        ));
    }
    let callback_body = form_urlencoded::parse(body)
        .find(|(k, _)| k == "callbackBody")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| Pan6Error::business("CALLBACK_BODY_REQUIRED", "the form field callbackBody is missing"))?;
    let arrival = match api {
        Api::V1 => parse_v1(&callback_body),
        Api::V2 => parse_v2(&callback_body),
    };
    if arrival.hash.is_empty() || arrival.key.is_empty() {
        return Err(Pan6Error::business(
            "CALLBACK_BODY_NOT_VALID",
            "the callback body names no hash or key",
        ));
    }
    let entry = p.store.blocking(move |store| register(store, api, &arrival)).await?;
    tracing::info!(path = %entry.path, "upload registered by callback");
    Ok(match api {
        Api::V1 => entry.v1_json(),
        Api::V2 => entry.v2_json(),
    })
}

/// `POST /v1/store/callback/wcs`.
pub(crate) async fn v1(State(p): State<Arc<Pan6>>, uri: OriginalUri, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V1, handle(&p, Api::V1, &uri, &headers, &body).await)
}

/// `POST /v2/upload/wcsCallback`.
pub(crate) async fn v2(State(p): State<Arc<Pan6>>, uri: OriginalUri, headers: HeaderMap, body: Bytes) -> Response {
    reply(Api::V2, handle(&p, Api::V2, &uri, &headers, &body).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_body_with_hostile_file_name() {
        let body = "size=3&hash=H&key=k/1&mimeType=text/plain&ip=1&avinfo=&bucket=b&url=@qzyurlstartaHR0cA==@qzyurlend\
                    &userId=1&op=2&fileName=@qzyfilestartP|@qzy_inner@|n.txt|@qzy_inner@|/d/n.txt@qzyfileend\
                    &uploadFileName=@qzyfilestarta&b=@qzyfileend&c.txt@qzyfileend";
        let a = parse_v1(body);
        assert_eq!(a.hash, "H");
        assert_eq!(a.key, "k/1");
        assert_eq!(a.op, 2);
        assert_eq!(
            (a.parent_id.as_str(), a.name.as_str(), a.parent_path.as_str()),
            ("P", "n.txt", "/d")
        );
        assert_eq!(a.upload_file_name, "a&b=@qzyfileend&c.txt");
        assert_eq!(a.mime, "text/plain");
    }

    #[test]
    fn v2_body_with_separator_in_file_name() {
        let body = [
            "fileName=",
            "parentPath=/lol-test",
            "size=1397",
            "hash=H",
            "key=k",
            "mimeType=m",
            "op=0",
            "parentId=",
            "uploadFileName=x",
            "y=z.txt",
            "step=1",
            "type=wcs",
        ]
        .join(V2_SEPARATOR);
        let a = parse_v2(&body);
        assert_eq!(a.parent_path, "/lol-test");
        assert_eq!(a.upload_file_name, format!("x{V2_SEPARATOR}y=z.txt"));
        assert_eq!((a.hash.as_str(), a.key.as_str(), a.name.as_str()), ("H", "k", ""));
    }
}
