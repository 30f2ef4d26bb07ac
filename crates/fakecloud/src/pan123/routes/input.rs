//! Reading request parameters with 123pan-style error answers (envelope code 1 naming the field) rather
//! than axum's plain-text rejections.

use axum::extract::multipart::Field;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use crate::error::FakeCloudError;
use crate::hashing::Md5;
use crate::pan123::envelope::ApiError;
use crate::pan123::sessions::SliceBytes;
use crate::stats::Stats;
use crate::store::Store;

/// The fields of a JSON object body.
pub(crate) struct JsonFields(Map<String, Value>);

/// Parses a JSON POST body, which must be sent as `application/json` and be an object.
pub(crate) fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<JsonFields, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::failed("Content-Type必须为application/json"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(JsonFields(map)),
        Ok(_) => Err(ApiError::failed("请求体必须是JSON对象")),
        Err(e) => Err(ApiError::failed(format!("请求体不是合法的JSON: {e}"))),
    }
}

fn missing(key: &str) -> ApiError {
    ApiError::failed(format!("{key}不能为空"))
}

fn malformed(key: &str, what: &str) -> ApiError {
    ApiError::failed(format!("{key}格式错误,应为{what}"))
}

impl JsonFields {
    /// The value of `key`, treating `null` as absent.
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A required non-negative integer (a JSON number).
    pub(crate) fn u64(&self, key: &str) -> Result<u64, ApiError> {
        self.opt_u64(key)?.ok_or_else(|| missing(key))
    }

    /// An optional non-negative integer (a JSON number).
    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| malformed(key, "非负整数")),
        }
    }

    /// A required non-negative integer given as a JSON number or a string of digits.
    pub(crate) fn u64_or_string(&self, key: &str) -> Result<u64, ApiError> {
        match self.get(key) {
            None => Err(missing(key)),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| malformed(key, "非负整数")),
            Some(v) => v.as_u64().ok_or_else(|| malformed(key, "非负整数")),
        }
    }

    /// A required string.
    pub(crate) fn string(&self, key: &str) -> Result<String, ApiError> {
        match self.get(key) {
            None => Err(missing(key)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(malformed(key, "字符串")),
        }
    }

    /// An optional boolean.
    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(malformed(key, "布尔值")),
        }
    }
}

/// Parses a multipart text field holding a non-negative decimal integer.
pub(crate) fn text_u64(key: &str, text: &str) -> Result<u64, ApiError> {
    text.trim().parse().map_err(|_| malformed(key, "非负整数"))
}

/// Parses a multipart text field holding a boolean (`true`/`false`, also `1`/`0`).
pub(crate) fn text_bool(key: &str, text: &str) -> Result<bool, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(malformed(key, "布尔值")),
    }
}

/// Reads a multipart text field.
pub(crate) async fn field_text(field: Field<'_>) -> Result<String, ApiError> {
    let name = field.name().unwrap_or("").to_owned();
    field
        .text()
        .await
        .map_err(|e| ApiError::failed(format!("读取表单字段{name}失败: {e}")))
}

/// A multipart file part received into a temp file.
pub(crate) struct ReceivedFile {
    /// The bytes (deleted unless persisted).
    pub(crate) temp: tempfile::TempPath,
    /// How many bytes.
    pub(crate) len: u64,
    /// Their MD5, lower-case hex.
    pub(crate) md5: String,
}

/// How many bytes of a part [`receive_file`] gathers before handing them to the blocking pool: writing
/// every network chunk on its own would cost one hop to the pool per chunk.
const SPOOL_BUFFER: usize = 1 << 20;

/// Streams a file part to a temp file while hashing it, refusing more than `cap` bytes. Only one network
/// chunk plus the write buffer is in memory at a time; per-chunk MD5 work is tiny, so it runs inline.
pub(crate) async fn receive_file(
    store: &Store,
    mut field: Field<'_>,
    cap: u64,
    stats: &Stats,
    route: &str,
) -> Result<ReceivedFile, ApiError> {
    let (file, temp) = store.temp_file()?;
    let mut out = tokio::io::BufWriter::with_capacity(SPOOL_BUFFER, tokio::fs::File::from_std(file));
    let mut md5 = Md5::new()?;
    let mut len = 0u64;
    let io_err = |e: std::io::Error| ApiError::Internal(FakeCloudError::io(&*temp, e));
    while let Some(chunk) = next_chunk(&mut field, &mut len, cap, stats, route).await? {
        md5.update(&chunk)?;
        out.write_all(&chunk).await.map_err(io_err)?;
    }
    out.flush().await.map_err(io_err)?;
    drop(out);
    Ok(ReceivedFile {
        temp,
        len,
        md5: md5.finish_hex()?,
    })
}

/// Receives a file part into memory, refusing more than `cap` bytes. For parts whose bound is small
/// enough to hold (a slice); hashing is left to the caller, on the blocking pool.
pub(crate) async fn receive_in_memory(mut field: Field<'_>, cap: u64, stats: &Stats, route: &str) -> Result<SliceBytes, ApiError> {
    let mut bytes = SliceBytes::default();
    let mut len = 0u64;
    while let Some(chunk) = next_chunk(&mut field, &mut len, cap, stats, route).await? {
        bytes.push(chunk);
    }
    Ok(bytes)
}

/// The next network chunk of a part, counted in `len` and in the stats; an error past `cap` bytes.
async fn next_chunk(field: &mut Field<'_>, len: &mut u64, cap: u64, stats: &Stats, route: &str) -> Result<Option<Bytes>, ApiError> {
    let chunk = match field.chunk().await {
        Ok(Some(chunk)) => chunk,
        Ok(None) => return Ok(None),
        Err(e) => return Err(ApiError::failed(format!("读取上传数据失败: {e}"))),
    };
    *len += chunk.len() as u64;
    stats.bytes(route, chunk.len() as u64);
    if *len > cap {
        return Err(ApiError::failed(format!("上传数据超过{cap}字节的上限")));
    }
    Ok(Some(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields() {
        let mut headers = HeaderMap::new();
        assert!(json_body(&headers, b"{}").is_err(), "content type is required");
        headers.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        let f = json_body(&headers, br#"{"a":1,"b":"2","c":true,"d":null,"e":-1}"#).unwrap();
        assert_eq!(f.u64("a").unwrap(), 1);
        assert!(f.u64("b").is_err());
        assert_eq!(f.u64_or_string("b").unwrap(), 2);
        assert_eq!(f.opt_bool("c").unwrap(), Some(true));
        assert_eq!(f.opt_u64("d").unwrap(), None);
        assert!(f.u64("e").is_err());
        assert!(f.string("zz").is_err());
        assert!(json_body(&headers, b"[1]").is_err());
        assert!(text_bool("x", "TRUE").unwrap());
        assert!(text_u64("x", "1a").is_err());
    }
}
