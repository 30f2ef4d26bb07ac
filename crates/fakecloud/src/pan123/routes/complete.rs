//! `POST /upload/v2/file/upload_complete`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;

use super::input::json_body;
use crate::pan123::Pan123;
use crate::pan123::completion::{self, Readiness};
use crate::pan123::envelope::{ApiError, ApiResult, CODE_VERIFYING, MSG_VERIFYING, ok};

/// Completes a chunked upload.
///
/// With `complete_pending_polls = N`, the first N calls of an upload whose slices are all present answer
/// "not yet": odd calls `{completed:false, fileID:0}`, even calls code 20103, so clients must handle both.
pub(crate) async fn complete(State(p): State<Arc<Pan123>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let fields = json_body(&headers, &body)?;
    let id = fields.string("preuploadID")?;
    if id.is_empty() {
        return Err(ApiError::failed("preuploadID不能为空"));
    }

    let probe_id = id.clone();
    let readiness = p.store.blocking(move |store| completion::readiness(&store.db(), &probe_id)).await?;
    if let Readiness::Completed(file_id) = readiness {
        return Ok(ok(json!({ "completed": true, "fileID": file_id })));
    }

    let pending_polls = p.config.complete_pending_polls;
    if pending_polls > 0 {
        let poll = p.uploads.next_poll(&id);
        if poll <= pending_polls {
            if poll % 2 == 1 {
                return Ok(ok(json!({ "completed": false, "fileID": 0 })));
            }
            return Err(ApiError::Code {
                code: CODE_VERIFYING,
                message: MSG_VERIFYING.to_owned(),
            });
        }
    }

    let pan = Arc::clone(&p);
    let file_id = p.store.blocking(move |store| completion::finish(store, &pan.uploads, &id)).await?;
    Ok(ok(json!({ "completed": true, "fileID": file_id })))
}
