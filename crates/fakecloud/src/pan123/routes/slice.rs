//! `POST {server}/upload/v2/file/slice` (multipart: `preuploadID`, `sliceNo`, `sliceMD5`, `slice`).

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};

use super::input::{ReceivedFile, field_text, receive_file, text_u64};
use crate::pan123::envelope::{ApiError, ApiResult, ok};
use crate::pan123::sessions::{self, ReceivedSlice};
use crate::pan123::{MAX_FILE_SIZE, Pan123, ROUTE_SLICE};

/// Receives one slice. Fields may come in any order: the slice bytes go to a temp file first and are
/// only checked (length, MD5, session) once every field has been read.
pub(crate) async fn slice(State(p): State<Arc<Pan123>>, multipart: Result<Multipart, MultipartRejection>) -> ApiResult {
    let mut multipart = multipart.map_err(|e| ApiError::failed(format!("请求必须是multipart/form-data: {e}")))?;
    let mut upload_id: Option<String> = None;
    let mut slice_no: Option<String> = None;
    let mut claimed_md5: Option<String> = None;
    let mut received: Option<ReceivedFile> = None;
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
                    Some(id) => slice_cap(&p, id.clone()).await?,
                    None => MAX_FILE_SIZE,
                };
                received = Some(receive_file(&p.store, field, cap, &p.stats, ROUTE_SLICE).await?);
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
    let received = received.ok_or_else(|| ApiError::failed("slice不能为空,缺少分片文件"))?;

    let slice = ReceivedSlice {
        upload_id,
        slice_no,
        claimed_md5: claimed_md5.trim().to_owned(),
        temp: received.temp,
        len: received.len,
        md5: received.md5,
    };
    let pan = Arc::clone(&p);
    p.store
        .blocking(move |store| sessions::commit_slice(store, &pan.uploads, slice))
        .await?;
    Ok(ok(serde_json::Value::Null))
}

/// The most bytes a slice of upload `id` may have (its slice size), or an error when the upload is unknown.
async fn slice_cap(p: &Arc<Pan123>, id: String) -> Result<u64, ApiError> {
    p.store
        .blocking(move |store| Ok::<_, ApiError>(sessions::open_session(&store.db(), &id)?.slice_size))
        .await
}
