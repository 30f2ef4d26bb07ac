//! `POST /upload/v1/file/mkdir` and `GET /api/v2/file/list`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde_json::json;

use super::input::{json_body, text_u64};
use crate::pan123::envelope::{ApiError, ApiResult, ok};
use crate::pan123::tree::{self, ListQuery};
use crate::pan123::{Pan123, names};

/// Largest accepted `limit` of a listing.
const MAX_LIST_LIMIT: u32 = 100;

/// Creates one folder: `{name, parentID}` (parentID as a number or a string of digits) → `{dirID}`.
pub(crate) async fn mkdir(State(p): State<Arc<Pan123>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let fields = json_body(&headers, &body)?;
    let name = fields.string("name")?;
    let parent = fields.u64_or_string("parentID")?;
    names::check_name(&name).map_err(ApiError::failed)?;
    let parent = i64::try_from(parent).map_err(|_| ApiError::failed("parentID不存在"))?;
    let dir_id = p
        .store
        .blocking(move |store| -> Result<i64, ApiError> {
            let conn = store.db();
            if !tree::is_folder(&conn, parent)? {
                return Err(ApiError::failed("parentID不存在"));
            }
            tree::mkdir(&conn, parent, &name)?.map_err(|_| ApiError::failed(tree::MSG_DIR_CLASH))
        })
        .await?;
    Ok(ok(json!({ "dirID": dir_id })))
}

/// Lists one folder, or searches the whole drive when `searchData` is given; pages by ascending id.
pub(crate) async fn list(State(p): State<Arc<Pan123>>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let param = |key: &str| q.get(key).map(|s| s.trim()).filter(|s| !s.is_empty());
    let parent = param("parentFileId").ok_or_else(|| ApiError::failed("parentFileId不能为空"))?;
    let parent = i64::try_from(text_u64("parentFileId", parent)?).map_err(|_| ApiError::failed("parentFileId不存在"))?;
    let limit = param("limit").ok_or_else(|| ApiError::failed("limit不能为空"))?;
    let limit = text_u64("limit", limit)?;
    if !(1..=u64::from(MAX_LIST_LIMIT)).contains(&limit) {
        return Err(ApiError::failed(format!("limit应在1到{MAX_LIST_LIMIT}之间")));
    }
    let after = match param("lastFileId") {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| ApiError::failed("lastFileId格式错误,应为整数"))?
            .max(0),
    };
    let exact = match param("searchMode") {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err(ApiError::failed("searchMode只能为0(模糊)或1(精准)")),
    };
    // `searchData` is deliberately not trimmed: an exact search compares the full name.
    let search = q.get("searchData").filter(|s| !s.is_empty()).map(|s| (s.clone(), exact));
    let query = ListQuery {
        parent,
        limit: limit as u32,
        after,
        search,
    };

    let (entries, last) = p
        .store
        .blocking(move |store| -> Result<_, ApiError> {
            let conn = store.db();
            if query.search.is_none() && !tree::is_folder(&conn, query.parent)? {
                return Err(ApiError::failed("parentFileId不存在"));
            }
            Ok(tree::list(&conn, &query)?)
        })
        .await?;
    Ok(ok(json!({ "lastFileId": last, "fileList": entries })))
}
