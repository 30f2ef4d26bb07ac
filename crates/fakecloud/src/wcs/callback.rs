//! After an upload: the callback to the app server (`callbackUrl` + `callbackBody`), or the reply built
//! from `returnBody`, or the default `{hash, key}`.
//!
//! The callback is a real HTTP POST, form-encoded with the single field `callbackBody` holding the
//! expanded template, and an `Authorization: <AccessKey>:<EncodedSign>` header over `path?query\nbody`
//! that the app server may verify. Only HTTP 200 counts as delivered; anything else (or no answer) makes
//! the upload answer 579: the bytes stay stored, the app server may not know the file.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;

use super::error::{CALLBACK_FAILED, WcsError};
use super::token::Keys;

/// How long the app server gets to answer a callback.
pub(crate) const CALLBACK_TIMEOUT: Duration = Duration::from_secs(30);

/// The values of the `$(…)` variables of one upload.
#[derive(Debug, Clone, Default)]
pub(crate) struct UploadFacts {
    /// `$(bucket)`.
    pub(crate) bucket: String,
    /// `$(key)`.
    pub(crate) key: String,
    /// `$(fname)`: the file name of a form upload; empty for slice uploads unless mkfile names one.
    pub(crate) fname: String,
    /// `$(hash)`: the etag.
    pub(crate) etag: String,
    /// `$(fsize)`.
    pub(crate) fsize: u64,
    /// `$(mimeType)`.
    pub(crate) mime: String,
    /// `$(ip)`: the uploader's address.
    pub(crate) ip: String,
    /// Plain URL of the object; `$(url)` is its URL-safe base64.
    pub(crate) url: String,
    /// `$(x:name)` values.
    pub(crate) x_vars: BTreeMap<String, String>,
}

impl UploadFacts {
    fn value(&self, name: &str) -> String {
        match name {
            "bucket" => self.bucket.clone(),
            "key" => self.key.clone(),
            "fname" => self.fname.clone(),
            "hash" => self.etag.clone(),
            "fsize" => self.fsize.to_string(),
            "mimeType" => self.mime.clone(),
            "ip" => self.ip.clone(),
            "url" => URL_SAFE.encode(&self.url),
            "costTime" => "0".to_owned(),
            _ => name
                .strip_prefix("x:")
                .and_then(|x| self.x_vars.get(x))
                .cloned()
                // Variables this host does not produce (avinfo, persistentId, …) expand to nothing.
                .unwrap_or_default(),
        }
    }
}

/// Replaces every `$(name)` in `template`; values are inserted as they are (no escaping).
pub(crate) fn expand(template: &str, facts: &UploadFacts) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("$(") {
        let Some(len) = rest[start + 2..].find(')') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&facts.value(&rest[start + 2..start + 2 + len]));
        rest = &rest[start + 2 + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The app server's answer to a delivered callback.
#[derive(Debug, Clone)]
pub(crate) struct CallbackAnswer {
    /// Its `Content-Type`, if any.
    pub(crate) content_type: Option<String>,
    /// Its body.
    pub(crate) body: String,
}

/// POSTs the expanded `callbackBody` to `url`.
pub(crate) async fn deliver(http: &reqwest::Client, keys: &Keys, url: &str, body: &str) -> Result<CallbackAnswer, WcsError> {
    let failed = |why: String| WcsError::new(CALLBACK_FAILED, format!("callback failed: {why}"));
    let parsed = reqwest::Url::parse(url).map_err(|e| failed(format!("invalid callbackUrl: {e}")))?;
    let path_and_query = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("callbackBody", body)
        .finish();
    let authorization = keys.callback_authorization(&path_and_query, &form);
    let resp = http
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::AUTHORIZATION, authorization)
        .timeout(CALLBACK_TIMEOUT)
        .body(form)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.text().await.map_err(|e| failed(e.to_string()))?;
    if status != reqwest::StatusCode::OK {
        return Err(failed(format!("the app server answered HTTP {}", status.as_u16())));
    }
    Ok(CallbackAnswer { content_type, body: text })
}

/// The fields of an expanded `returnBody` in `k=v&k=v` form, in order.
pub(crate) fn return_fields(expanded: &str) -> Vec<(String, String)> {
    expanded
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        let facts = UploadFacts {
            bucket: "b".into(),
            key: "k/1.tmp".into(),
            fname: "a&b=c.txt".into(),
            etag: "Fob35Df6paf84V0d3Lnq6uo3dme4".into(),
            fsize: 1,
            mime: "text/plain".into(),
            ip: "127.0.0.1".into(),
            url: "http://h/k".into(),
            x_vars: [("n".to_owned(), "v".to_owned())].into(),
        };
        let t = "size=$(fsize)&fileName=@qzyfilestart$(fname)@qzyfileend&x=$(x:n)&av=$(avinfo)&u=$(url)&open=$(";
        assert_eq!(
            expand(t, &facts),
            format!(
                "size=1&fileName=@qzyfilestarta&b=c.txt@qzyfileend&x=v&av=&u={}&open=$(",
                URL_SAFE.encode("http://h/k")
            )
        );
        assert_eq!(
            return_fields("a=1&b&c=x=y"),
            [("a".into(), "1".into()), ("b".into(), String::new()), ("c".into(), "x=y".into())]
        );
    }
}
