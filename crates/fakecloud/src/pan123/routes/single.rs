//! `POST {domain}/upload/v2/file/single/create` (multipart: `parentFileID`, `filename`, `etag`, `size`,
//! `file`, optional `duplicate` and `containDir`).

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use serde_json::json;

use super::create::{NewFileParams, place, target_folder};
use super::input::{ReceivedFile, field_text, receive_file, text_bool, text_u64};
use crate::pan123::envelope::{ApiError, ApiResult, ok};
use crate::pan123::tree;
use crate::pan123::{MAX_SINGLE_SIZE, Pan123, ROUTE_SINGLE_CREATE};

/// Message when a single-step upload is over its size limit.
const MSG_TOO_BIG: &str = "文件大小超过限制,单步上传接口限制单文件大小为1GB";

/// Uploads a whole file in one request. The body is always read and checked against `size` and `etag`,
/// even when the content is already stored (then only the new file entry is created).
pub(crate) async fn single_create(State(p): State<Arc<Pan123>>, multipart: Result<Multipart, MultipartRejection>) -> ApiResult {
    let mut multipart = multipart.map_err(|e| ApiError::failed(format!("请求必须是multipart/form-data: {e}")))?;
    let mut parent = None;
    let mut filename = None;
    let mut etag = None;
    let mut size = None;
    let mut duplicate = None;
    let mut contain_dir = false;
    let mut received: Option<ReceivedFile> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(ApiError::failed(format!("multipart解析失败: {e}"))),
        };
        match field.name() {
            Some("parentFileID") => parent = Some(text_u64("parentFileID", &field_text(field).await?)?),
            Some("filename") => filename = Some(field_text(field).await?),
            Some("etag") => etag = Some(field_text(field).await?.trim().to_owned()),
            Some("size") => size = Some(text_u64("size", &field_text(field).await?)?),
            Some("duplicate") => {
                let text = field_text(field).await?;
                duplicate = if text.trim().is_empty() {
                    None
                } else {
                    Some(text_u64("duplicate", &text)?)
                };
            }
            Some("containDir") => contain_dir = text_bool("containDir", &field_text(field).await?)?,
            Some("file") => {
                // One byte over the limit is enough to know the file is too big.
                let cap = size.map_or(MAX_SINGLE_SIZE, |s: u64| s.min(MAX_SINGLE_SIZE)) + 1;
                received = Some(receive_file(&p.store, field, cap, &p.stats, ROUTE_SINGLE_CREATE).await?);
            }
            _ => {}
        }
    }

    let required = |name: &str| ApiError::failed(format!("{name}不能为空"));
    let file = NewFileParams {
        parent: parent.ok_or_else(|| required("parentFileID"))?,
        filename: filename.ok_or_else(|| required("filename"))?,
        etag: etag.ok_or_else(|| required("etag"))?,
        size: size.ok_or_else(|| required("size"))?,
        duplicate,
        contain_dir,
    }
    .validate(MAX_SINGLE_SIZE, MSG_TOO_BIG)?;
    let received = received.ok_or_else(|| required("file"))?;
    if received.len != file.size {
        return Err(ApiError::failed(format!(
            "文件大小与size不一致:size为{},实际收到{}字节",
            file.size, received.len
        )));
    }
    if received.md5 != file.md5 {
        return Err(ApiError::failed(format!(
            "etag与文件内容不一致:etag为{},实际MD5为{}",
            file.md5, received.md5
        )));
    }

    let file_id = p
        .store
        .blocking(move |store| -> Result<i64, ApiError> {
            let folder = {
                let conn = store.db();
                let folder = target_folder(&conn, &file)?;
                if tree::would_clash(&conn, folder, &file.name, file.policy)? {
                    return Err(ApiError::failed(tree::MSG_FILE_CLASH));
                }
                store.put_blob(&conn, &file.md5, file.size, received.temp)?;
                folder
            };
            place(&mut store.db(), folder, &file)
        })
        .await?;
    Ok(ok(json!({ "fileID": file_id, "completed": true })))
}
