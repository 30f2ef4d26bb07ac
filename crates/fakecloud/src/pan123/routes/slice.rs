//! `POST {server}/upload/v2/file/slice` (multipart: `preuploadID`, `sliceNo`, `sliceMD5`, `slice`).

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};

use super::input::{field_text, receive_file, receive_in_memory, text_u64};
use crate::pan123::envelope::{ApiError, ApiResult, ok};
use crate::pan123::sessions::{ReceivedSlice, SliceBody};
use crate::pan123::uploads::{self, Upload};
use crate::pan123::{MAX_FILE_SIZE, Pan123, ROUTE_SLICE};

/// Sessions whose slices are at most this big have each slice received into memory; bigger ones (a
/// configured `slice_size` can be anything) are spooled to a temp file.
const MEMORY_SLICE_LIMIT: u64 = 64 << 20;

/// Receives one slice. Fields may come in any order: the slice bytes are only checked (length, MD5,
/// session) once every field has been read. When `preuploadID` comes first, as clients send it, the slice
/// is bounded by its session's slice size and is received into memory; then its MD5 and its single write
/// happen in one go on the blocking pool.
pub(crate) async fn slice(State(p): State<Arc<Pan123>>, multipart: Result<Multipart, MultipartRejection>) -> ApiResult {
    let mut multipart = multipart.map_err(|e| ApiError::failed(format!("请求必须是multipart/form-data: {e}")))?;
    let mut upload_id: Option<String> = None;
    let mut slice_no: Option<String> = None;
    let mut claimed_md5: Option<String> = None;
    let mut body: Option<SliceBody> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(ApiError::failed(format!("multipart解析失败: {e}"))),
        };
        match field.name() {
            Some("preuploadID") => upload_id = Some(field_text(field).await?),
            Some("sliceNo") => slice_no = Some(field_text(field).await?),
            Some("sliceMD5") => claimed_md5 = Some(field_text(field).await?),
            Some("slice") => {
                let cap = match &upload_id {
                    Some(id) => Some(open_upload(&p, id).await?.session().slice_size),
                    None => None,
                };
                body = Some(match cap {
                    Some(cap) if cap <= MEMORY_SLICE_LIMIT => {
                        SliceBody::Memory(receive_in_memory(field, cap, &p.stats, ROUTE_SLICE).await?)
                    }
                    _ => {
                        let cap = cap.unwrap_or(MAX_FILE_SIZE);
                        let file = receive_file(&p.store, field, cap, &p.stats, ROUTE_SLICE).await?;
                        SliceBody::Spooled {
                            temp: file.temp,
                            len: file.len,
                            md5: file.md5,
                        }
                    }
                });
            }
            // Unknown parts are skipped, as a tolerant server would.
            _ => {}
        }
    }

    let upload_id = upload_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::failed("preuploadID不能为空"))?;
    let slice_no = slice_no.ok_or_else(|| ApiError::failed("sliceNo不能为空"))?;
    let slice_no = u32::try_from(text_u64("sliceNo", &slice_no)?).map_err(|_| ApiError::failed("sliceNo超出范围"))?;
    p.stats.slice(&upload_id, slice_no);
    let claimed_md5 = claimed_md5.ok_or_else(|| ApiError::failed("sliceMD5不能为空"))?;
    let body = body.ok_or_else(|| ApiError::failed("slice不能为空,缺少分片文件"))?;

    let slice = ReceivedSlice {
        upload_id,
        slice_no,
        claimed_md5: claimed_md5.trim().to_owned(),
        body,
    };
    let pan = Arc::clone(&p);
    p.store
        .blocking(move |store| uploads::commit_slice(store, &pan.uploads, slice))
        .await?;
    Ok(ok(serde_json::Value::Null))
}

/// The open upload `id` (from memory when it is there), or an error when it is unknown or completed.
async fn open_upload(p: &Arc<Pan123>, id: &str) -> Result<Arc<Upload>, ApiError> {
    if let Some(upload) = p.uploads.cached(id) {
        return Ok(upload);
    }
    let pan = Arc::clone(p);
    let id = id.to_owned();
    p.store.blocking(move |store| pan.uploads.open(store, &id)).await
}
