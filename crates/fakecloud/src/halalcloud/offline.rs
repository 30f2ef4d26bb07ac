//! Offline download tasks (spec §5.4): `/v6/offline_task/{parse,add,list}`.
//!
//! `parse {url}` knows two kinds of URL: a magnet link `magnet:?xt=urn:btih:<40 hex | 32 base32>[&dn=…]`
//! (meta `type` 1, `identity` `<info hash hex>_otp_btv1`, `name` the `dn` or else the info hash) and an
//! http(s) URL with a host (meta `type` 2, `identity` `<SHA-1 hex of the URL>_otp_http`, `name` the last
//! path segment or else the host). Anything else — and `parse {identity}`, which this server does not
//! serve — is HTTP 400. No metadata is fetched, so `size` and `task_files` are absent.
//!
//! `add {url, save_path, name?, callbacks?}` checks the URL the same way, needs `save_path` to be an
//! existing folder (404, or 400 for a file) and each callback to be standard base64 of a JSON object
//! `{"url": "http(s)://…"}` (else 400). It records a UserTask (never downloaded: this is a sandbox without a
//! network) and answers it. `list {list_info}` pages the tasks in the order they were added (limit
//! 1..=100, opaque token). `GET /_admin/offline` lists them with provider `halalcloud`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rusqlite::{Connection, params};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::Halal;
use super::cid::base32_decode;
use super::files::{list_info, make_token, read_token, with_db};
use super::proto::{Msg, Obj};
use super::status::HalalError;
use super::tokens::now_ms;
use super::tree::{self, USER_IDENTITY};
use crate::error::FakeCloudError;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS halal_offline_tasks (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    identity   TEXT NOT NULL UNIQUE,
    url        TEXT NOT NULL,
    kind       INTEGER NOT NULL,
    name       TEXT NOT NULL,
    save_path  TEXT NOT NULL,
    info_hash  TEXT NOT NULL,
    create_ts  INTEGER NOT NULL
);
";

/// Meta `type` of a magnet link.
const TYPE_MAGNET: i32 = 1;
/// Meta `type` of an http(s) URL.
const TYPE_HTTP: i32 = 2;
/// The listing scope of continuation tokens.
const LIST_SCOPE: &str = "offline_task";

/// What a URL is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) identity: String,
    pub(crate) kind: i32,
    pub(crate) name: String,
    pub(crate) url: String,
    /// Lower-case hex info hash of a magnet link, else `""`.
    pub(crate) info_hash: String,
}

impl Meta {
    fn obj(&self) -> Obj {
        Obj::new()
            .str("identity", &self.identity)
            .int32("type", self.kind)
            .str("name", &self.name)
            .str("url", &self.url)
    }
}

fn percent_decoded(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The info hash of `urn:btih:…` as lower-case hex.
fn btih(xt: &str) -> Option<String> {
    let hash = xt.strip_prefix("urn:btih:")?;
    match hash.len() {
        40 if hash.bytes().all(|b| b.is_ascii_hexdigit()) => Some(hash.to_ascii_lowercase()),
        32 => base32_decode(&hash.to_ascii_lowercase())
            .filter(|raw| raw.len() == 20)
            .map(hex::encode),
        _ => None,
    }
}

/// Parses a URL handed to `parse` or `add`.
pub(crate) fn meta_of(url: &str) -> Result<Meta, HalalError> {
    let lower = url.to_ascii_lowercase();
    if let Some(query) = lower.starts_with("magnet:?").then(|| &url["magnet:?".len()..]) {
        let mut info_hash = None;
        let mut name = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "xt" if info_hash.is_none() => info_hash = btih(&v),
                "dn" if name.is_none() => name = Some(v.into_owned()),
                _ => {}
            }
        }
        let info_hash = info_hash.ok_or_else(|| HalalError::invalid("a magnet link needs xt=urn:btih:<40 hex or 32 base32>"))?;
        return Ok(Meta {
            identity: format!("{info_hash}_otp_btv1"),
            kind: TYPE_MAGNET,
            name: name.filter(|n| !n.is_empty()).unwrap_or_else(|| info_hash.clone()),
            url: url.to_owned(),
            info_hash,
        });
    }
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| lower.starts_with(scheme).then(|| &url[scheme.len()..]))
        .ok_or_else(|| HalalError::invalid(format!("unsupported URL {url:?}: only magnet links and http(s) URLs")))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(HalalError::invalid(format!("URL {url:?} has no host")));
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    let last = percent_decoded(path.rsplit('/').next().unwrap_or(""));
    Ok(Meta {
        identity: format!("{}_otp_http", hex::encode(Sha1::digest(url.as_bytes()))),
        kind: TYPE_HTTP,
        name: if last.is_empty() { host.to_owned() } else { last },
        url: url.to_owned(),
        info_hash: String::new(),
    })
}

/// `POST /v6/offline_task/parse`.
pub(crate) async fn parse(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, _, msg| {
        let Some(url) = msg.str("url")? else {
            return Err(HalalError::invalid("field url is required (parse by identity is not served)"));
        };
        Ok(Obj::new().msg("meta", meta_of(&url)?.obj()).into_value())
    })
    .await
}

fn check_callbacks(msg: &Msg) -> Result<(), HalalError> {
    for cb in msg.strs("callbacks")? {
        let raw = STANDARD
            .decode(&cb)
            .map_err(|_| HalalError::invalid("each callback must be standard base64"))?;
        let url = serde_json::from_slice::<Value>(&raw)
            .ok()
            .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| HalalError::invalid("each callback must be base64 of {\"url\": \"http(s)://…\"}"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(HalalError::invalid(format!("callback URL {url:?} is not http(s)")));
        }
    }
    Ok(())
}

/// A recorded task as a UserTask message.
fn user_task(identity: &str, meta: &Meta, name: &str, save_path: &str, create_ts: i64) -> Value {
    Obj::new()
        .str("identity", identity)
        .str("user_identity", USER_IDENTITY)
        .str("task_identity", &meta.identity)
        .int32("type", meta.kind)
        .str("name", name)
        .str("url", &meta.url)
        .str("save_path", save_path)
        .int64("create_ts", create_ts)
        .into_value()
}

/// `POST /v6/offline_task/add`.
pub(crate) async fn add(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, conn, msg| {
        let meta = meta_of(&msg.required_str("url")?)?;
        let save_path = msg.required_str("save_path")?;
        check_callbacks(&msg)?;
        tree::folder(conn, &save_path)?;
        let name = msg.str("name")?.unwrap_or_else(|| meta.name.clone());
        let identity = uuid::Uuid::new_v4().simple().to_string();
        let now = now_ms();
        conn.execute(
            "INSERT INTO halal_offline_tasks (identity, url, kind, name, save_path, info_hash, create_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![identity, meta.url, meta.kind, name, save_path, meta.info_hash, now],
        )?;
        Ok(user_task(&identity, &meta, &name, &save_path, now))
    })
    .await
}

/// `POST /v6/offline_task/list`.
pub(crate) async fn list(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, conn, msg| {
        let (limit, token) = list_info(&msg)?;
        let after: i64 = match token {
            Some(t) => read_token(LIST_SCOPE, &t)?
                .parse()
                .map_err(|_| HalalError::invalid("invalid list_info.token"))?,
            None => 0,
        };
        let mut stmt = conn.prepare(
            "SELECT seq, identity, url, name, save_path, create_ts FROM halal_offline_tasks WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit + 1], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut rows = rows.collect::<Result<Vec<_>, _>>()?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = match rows.last() {
            Some(last) if more => make_token(LIST_SCOPE, &last.0.to_string()),
            _ => String::new(),
        };
        let mut tasks = Vec::with_capacity(rows.len());
        for (_, identity, url, name, save_path, ts) in &rows {
            let meta = meta_of(url)?;
            tasks.push(user_task(identity, &meta, name, save_path, *ts));
        }
        Ok(Obj::new()
            .list("tasks", tasks)
            .msg("list_info", Obj::new().str("token", &next))
            .into_value())
    })
    .await
}

/// Every recorded task, for `GET /_admin/offline`. Blocking.
pub(crate) fn admin_tasks(conn: &Connection) -> Result<Vec<Value>, FakeCloudError> {
    let mut stmt = conn.prepare("SELECT identity, name, save_path, url, info_hash FROM halal_offline_tasks ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        Ok(json!({
            "provider": "halalcloud", "id": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?,
            "save_path": r.get::<_, String>(2)?, "url": r.get::<_, String>(3)?, "info_hash": r.get::<_, String>(4)?,
        }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
        let m = meta_of(&format!("magnet:?xt=urn:btih:{}&dn=Some%20Name&tr=udp://t", hex.to_uppercase())).unwrap();
        assert_eq!((m.kind, m.name.as_str(), m.info_hash.as_str()), (TYPE_MAGNET, "Some Name", hex));
        assert_eq!(m.identity, format!("{hex}_otp_btv1"));
        let b32 = super::super::cid::base32(&hex::decode(hex).unwrap()).to_uppercase();
        assert_eq!(meta_of(&format!("magnet:?xt=urn:btih:{b32}")).unwrap().name, hex);
        let h = meta_of("https://example.com/dir/a%20b.iso?x=1").unwrap();
        assert_eq!((h.kind, h.name.as_str()), (TYPE_HTTP, "a b.iso"));
        assert_eq!(meta_of("http://example.com").unwrap().name, "example.com");
        for bad in ["ftp://x/y", "magnet:?dn=x", "magnet:?xt=urn:btih:123", "http:///x", "nonsense"] {
            assert!(meta_of(bad).is_err(), "{bad}");
        }
    }
}
