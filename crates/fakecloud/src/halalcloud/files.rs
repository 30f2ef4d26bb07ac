//! `/v6/user/*` and the folder routes of `/v6/userfile/*` (spec §5.2, §5.3).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::Connection;
use serde_json::Value;

use super::Halal;
use super::proto::{self, Msg, Obj};
use super::status::{HalalError, reply};
use super::tree::{self, Entry, USER_IDENTITY};

/// Largest `list_info.limit`.
pub(crate) const MAX_LIMIT: i64 = 100;

/// Runs `f` on the blocking pool with the parsed body and a database connection.
pub(crate) async fn with_db<F>(h: &Arc<Halal>, body: Bytes, f: F) -> Response
where
    F: FnOnce(&Halal, &mut Connection, Msg) -> Result<Value, HalalError> + Send + 'static,
{
    let msg = match proto::parse(&body) {
        Ok(m) => m,
        Err(e) => return reply(Err(e)),
    };
    let h2 = Arc::clone(h);
    reply(h.store.blocking(move |s| f(&h2, &mut s.db(), msg)).await)
}

/// `POST /v6/user/get`.
pub(crate) async fn user_get(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, _, _| {
        Ok(Obj::new()
            .str("identity", USER_IDENTITY)
            .str("name", "demo")
            .int32("type", 1)
            .int32("status", 1)
            .into_value())
    })
    .await
}

/// `POST /v6/user/get_statistics_and_quota`. Fields of the traffic and offline quotas are not documented;
/// these are invented and filled with generous constants.
pub(crate) async fn user_quota(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |h, conn, _| {
        let (used, files) = tree::usage(conn)?;
        let quota = i64::try_from(h.config.quota_bytes).unwrap_or(i64::MAX);
        let disk = Obj::new()
            .int64("bytes_quota", quota)
            .int64("bytes_used", used)
            .int64("bytes_free", quota.saturating_sub(used).max(0))
            .int64("files_quota", 1_000_000)
            .int64("files_used", files);
        let traffic = Obj::new()
            .int64("bytes_quota", 1 << 40)
            .int64("bytes_used", 0)
            .int64("bytes_free", 1 << 40);
        let offline = Obj::new().int64("tasks_quota", 1000);
        Ok(Obj::new()
            .msg("disk_statistics_quota", disk)
            .msg("traffic_statistics_quota", traffic)
            .msg("offline_task_statistics_quota", offline)
            .into_value())
    })
    .await
}

/// Resolves a reference `{path}` or `{identity}`; missing → 404.
pub(crate) fn resolve(conn: &Connection, r: &Msg) -> Result<Entry, HalalError> {
    let found = match (r.str("path")?, r.str("identity")?) {
        (Some(_), Some(_)) => return Err(HalalError::invalid("a reference has either path or identity, not both")),
        (None, None) => return Err(HalalError::invalid("a reference needs path or identity")),
        (Some(path), None) => (tree::by_path(conn, &path)?, path),
        (None, Some(identity)) => (tree::by_identity(conn, &identity)?, identity),
    };
    found.0.ok_or_else(|| HalalError::not_found(format!("file {} not found", found.1)))
}

/// `POST /v6/userfile/get`.
pub(crate) async fn get(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, conn, msg| Ok(resolve(conn, &msg)?.json())).await
}

/// `list_info.limit` (1..=100, absent → 100) and the continuation token of a list request.
pub(crate) fn list_info(msg: &Msg) -> Result<(i64, Option<String>), HalalError> {
    let info = msg.msg("list_info")?;
    let limit = info.int64("limit")?.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(HalalError::invalid(format!("list_info.limit must be 1..={MAX_LIMIT}, not {limit}")));
    }
    Ok((limit, info.str("token")?))
}

/// An opaque continuation token: the listing it belongs to and the last key answered.
pub(crate) fn make_token(scope: &str, last: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{scope}\n{last}"))
}

/// The last key of a continuation token made for `scope`.
pub(crate) fn read_token(scope: &str, token: &str) -> Result<String, HalalError> {
    let bad = || HalalError::invalid("invalid list_info.token");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    match text.split_once('\n') {
        Some((s, last)) if s == scope => Ok(last.to_owned()),
        _ => Err(bad()),
    }
}

/// `POST /v6/userfile/list`.
pub(crate) async fn list(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, conn, msg| {
        let parent_ref = msg.msg("parent")?;
        let parent = resolve(conn, &parent_ref)?;
        if !parent.dir {
            return Err(HalalError::precondition(format!("{} is a file, not a folder", parent.path)));
        }
        let (limit, token) = list_info(&msg)?;
        let after = token.map(|t| read_token(&parent.identity, &t)).transpose()?.unwrap_or_default();
        let mut page = tree::children(conn, &parent.identity, &after, limit)?;
        let more = page.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = match page.last() {
            Some(last) if more => make_token(&parent.identity, &last.name),
            _ => String::new(),
        };
        Ok(Obj::new()
            .list("files", page.iter().map(Entry::json).collect())
            .msg("list_info", Obj::new().str("token", &next))
            .into_value())
    })
    .await
}

/// `POST /v6/userfile/create`: a folder (`{path}` or `{path, name}`) or a file of known content
/// (`{path, content_identity}`, with or without `name`).
pub(crate) async fn create(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, conn, msg| {
        let path = msg.required_str("path")?;
        let (parent_path, name) = match msg.str("name")? {
            Some(name) => {
                tree::segments(&path)?;
                (path, name)
            }
            None => tree::split(&path)?,
        };
        tree::check_name(&name)?;
        let content = match msg.str("content_identity")? {
            Some(id) => Some(tree::content(conn, &id)?.ok_or_else(|| HalalError::not_found(format!("content {id} not found")))?),
            None => None,
        };
        let tx = conn.transaction()?;
        let parent = tree::folder(&tx, &parent_path)?;
        let entry = tree::create(&tx, &parent, &name, content.as_ref())?;
        tx.commit()?;
        Ok(entry.json())
    })
    .await
}

/// `POST /v6/userfile/trash {source: [ref]}` (spec §5.3): the files (and folders, with what they hold) leave the drive.
/// Every reference must resolve (404 otherwise, and nothing is removed); the root cannot be trashed.
pub(crate) async fn trash(State(h): State<Arc<Halal>>, body: Bytes) -> Response {
    with_db(&h, body, |_, conn, msg| {
        let sources = msg.msgs("source")?;
        if sources.is_empty() {
            return Err(HalalError::invalid("field source must name at least one file"));
        }
        let tx = conn.transaction()?;
        let mut affected = 0i64;
        for source in sources {
            let entry = resolve(&tx, &source)?;
            if entry.path == "/" {
                return Err(HalalError::invalid("the root folder cannot be trashed"));
            }
            affected += tree::remove(&tx, &entry)?;
        }
        tx.commit()?;
        Ok(Obj::new().int64("affected", affected).into_value())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_listing() {
        let t = make_token("dir-a", "name\nwith newline");
        assert_eq!(read_token("dir-a", &t).unwrap(), "name\nwith newline");
        assert!(read_token("dir-b", &t).is_err());
        assert!(read_token("dir-a", "!!").is_err());
    }

    #[test]
    fn limits() {
        let m = proto::parse(br#"{"list_info":{"limit":"100","token":"x"}}"#).unwrap();
        assert_eq!(list_info(&m).unwrap(), (100, Some("x".to_owned())));
        assert_eq!(list_info(&Msg::default()).unwrap(), (100, None));
        for bad in [
            r#"{"list_info":{"limit":"101"}}"#,
            r#"{"list_info":{"limit":100}}"#,
            r#"{"list_info":{"limit":"-1"}}"#,
        ] {
            assert!(list_info(&proto::parse(bad.as_bytes()).unwrap()).is_err(), "{bad}");
        }
    }
}
