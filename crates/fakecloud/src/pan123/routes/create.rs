//! `POST /upload/v2/file/create` and `GET /upload/v2/file/domain`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use rusqlite::Connection;
use serde_json::json;

use super::input::json_body;
use crate::hashing::is_md5_hex;
use crate::pan123::envelope::{ApiError, ApiResult, ok};
use crate::pan123::sessions::{self, Session};
use crate::pan123::tree::{self, Duplicate};
use crate::pan123::{MAX_FILE_SIZE, Pan123, names};
use crate::store::Store;

/// A validated request to store a file (from create or single-create).
#[derive(Debug, Clone)]
pub(crate) struct NewFile {
    /// `parentFileID`.
    pub(crate) parent: i64,
    /// Folders of a `containDir` path, walked (and created) from `parent`.
    pub(crate) dirs: Vec<String>,
    /// File name.
    pub(crate) name: String,
    /// `etag`, lower-cased.
    pub(crate) md5: String,
    /// `size`.
    pub(crate) size: u64,
    /// `duplicate`.
    pub(crate) policy: Duplicate,
}

/// The raw parameters shared by create and single-create.
pub(crate) struct NewFileParams {
    pub(crate) parent: u64,
    pub(crate) filename: String,
    pub(crate) etag: String,
    pub(crate) size: u64,
    pub(crate) duplicate: Option<u64>,
    pub(crate) contain_dir: bool,
}

impl NewFileParams {
    /// Applies the documented rules; `max_size` differs between create (10 GB) and single-create (1 GB).
    pub(crate) fn validate(self, max_size: u64, too_big: &str) -> Result<NewFile, ApiError> {
        let (dirs, name) = names::split_upload_path(&self.filename, self.contain_dir).map_err(ApiError::failed)?;
        if !is_md5_hex(&self.etag) {
            return Err(ApiError::failed("etag格式错误,应为文件的32位十六进制MD5"));
        }
        if self.size == 0 {
            return Err(ApiError::failed("size必须大于0,不支持上传空文件"));
        }
        if self.size > max_size {
            return Err(ApiError::failed(too_big));
        }
        let policy = Duplicate::from_code(self.duplicate.unwrap_or(0))
            .ok_or_else(|| ApiError::failed("duplicate只能为1(保留两者)或2(覆盖原文件)"))?;
        let parent = i64::try_from(self.parent).map_err(|_| ApiError::failed(MSG_NO_PARENT))?;
        Ok(NewFile {
            parent,
            dirs,
            name,
            md5: self.etag.to_ascii_lowercase(),
            size: self.size,
            policy,
        })
    }
}

/// Message when the parent folder does not exist.
pub(crate) const MSG_NO_PARENT: &str = "parentFileID不存在";

/// Finds the target folder of `file`, creating the folders of a `containDir` path. Blocking.
pub(crate) fn target_folder(conn: &Connection, file: &NewFile) -> Result<i64, ApiError> {
    if !tree::is_folder(conn, file.parent)? {
        return Err(ApiError::failed(MSG_NO_PARENT));
    }
    Ok(tree::ensure_folders(conn, file.parent, &file.dirs)?)
}

/// Places an instantly reused or freshly stored file; maps a clash to its error. Blocking.
pub(crate) fn place(conn: &mut Connection, folder: i64, file: &NewFile) -> Result<i64, ApiError> {
    let tx = conn.transaction()?;
    let placed = tree::place_file(&tx, folder, &file.name, file.size, &file.md5, file.policy)?;
    let file_id = placed.map_err(|_| ApiError::failed(tree::MSG_FILE_CLASH))?;
    tx.commit()?;
    Ok(file_id)
}

enum Created {
    Reused(i64),
    Session(String),
}

/// Starts a chunked upload, or finishes it at once when the content is already stored ("秒传").
pub(crate) async fn create(State(p): State<Arc<Pan123>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let fields = json_body(&headers, &body)?;
    let file = NewFileParams {
        parent: fields.u64("parentFileID")?,
        filename: fields.string("filename")?,
        etag: fields.string("etag")?,
        size: fields.u64("size")?,
        duplicate: fields.opt_u64("duplicate")?,
        contain_dir: fields.opt_bool("containDir")?.unwrap_or(false),
    }
    .validate(MAX_FILE_SIZE, "文件大小超过限制,开发者上传单文件大小限制10GB")?;

    let slice_size = p.config.slice_size;
    let created = p
        .store
        .blocking(move |store| -> Result<Created, ApiError> {
            let mut conn = store.db();
            let folder = target_folder(&conn, &file)?;
            if Store::has_blob(&conn, &file.md5, file.size)? {
                return Ok(Created::Reused(place(&mut conn, folder, &file)?));
            }
            if tree::would_clash(&conn, folder, &file.name, file.policy)? {
                return Err(ApiError::failed(tree::MSG_FILE_CLASH));
            }
            let session = Session {
                id: sessions::new_upload_id(),
                parent_id: folder,
                name: file.name,
                md5: file.md5,
                size: file.size,
                slice_size,
                policy: file.policy,
                file_id: None,
            };
            sessions::insert(&conn, &session)?;
            Ok(Created::Session(session.id))
        })
        .await?;

    Ok(match created {
        // The documents say only that `preuploadID` is absent on reuse; the other fields keep their shape.
        Created::Reused(file_id) => ok(json!({
            "fileID": file_id, "reuse": true, "sliceSize": slice_size, "servers": p.servers(),
        })),
        Created::Session(id) => ok(json!({
            "fileID": 0, "reuse": false, "preuploadID": id, "sliceSize": slice_size, "servers": p.servers(),
        })),
    })
}

/// The upload hosts: always this server, whatever `advertise_servers` says.
pub(crate) async fn domain(State(p): State<Arc<Pan123>>) -> ApiResult {
    Ok(ok(vec![p.upload_base.clone()]))
}
