//! Upload tokens handed out by 6pan: the WCS policy with the callback that tells 6pan where the file goes.
//!
//! Policies (all signed with the configured WCS keys):
//!
//! | | scope | callbackUrl | callbackBody |
//! |---|---|---|---|
//! | v1 | `other-storage:user-upload/v1/<date>/1_<ms>_<rnd>.tmp` (form-style config: bucket only + `saveKey`) | `…/6pan/v1/store/callback/wcs` | `&`-joined; free text between `@qzy…start`/`@qzy…end` markers |
//! | v2 | `other-storage:user-upload/direct/<date>/1_<ms>-<rnd>.tmp_ip` | `…/6pan/v2/upload/wcsCallback` | fields joined by `$$$!QZSPLIT$!$$` |
//!
//! Both carry `deadline` (Unix ms as a string), `overwrite: 1` (as the seeds' tokens do; keys are unique per
//! token anyway) and `fsizeLimit`. The callback body names the target folder (id and path), the file
//! name chosen at token time and `op` (0: fail on a name clash, 2: overwrite, 32: keep the existing file).

use serde_json::{Value, json};

use super::Pan6;
use super::envelope::Api;
use super::tree::{Entry, USER_ID, now_ms};
use crate::wcs::BUCKET;

/// The v2 callback field separator.
pub(crate) const V2_SEPARATOR: &str = "$$$!QZSPLIT$!$$";
/// Separator of the v1 target triple `parent|name|path`.
pub(crate) const V1_INNER: &str = "|@qzy_inner@|";

/// What the callback does when the name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Refuse (the default).
    Fail,
    /// Replace the existing file.
    Overwrite,
    /// Answer the existing file and create nothing (v1: `path` named an existing file).
    Keep,
}

impl Op {
    /// Wire value.
    pub(crate) fn code(self) -> i64 {
        match self {
            Self::Fail => 0,
            Self::Overwrite => 2,
            Self::Keep => 32,
        }
    }

    /// From the wire value (unknown values fail on a clash).
    pub(crate) fn from_code(code: i64) -> Self {
        match code {
            2 => Self::Overwrite,
            32 => Self::Keep,
            _ => Self::Fail,
        }
    }
}

/// Where an upload goes.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The folder.
    pub(crate) dir: Entry,
    /// The file name; empty (v2 only) means "the uploaded file's name, else a random one".
    pub(crate) name: String,
    /// Clash behaviour.
    pub(crate) op: Op,
}

fn v1_body(t: &Target) -> String {
    let path = if t.dir.path == "/" {
        format!("/{}", t.name)
    } else {
        format!("{}/{}", t.dir.path, t.name)
    };
    format!(
        "size=$(fsize)&hash=$(hash)&key=$(key)&mimeType=$(mimeType)&ip=$(ip)&avinfo=$(avinfo)&bucket=$(bucket)\
         &url=@qzyurlstart$(url)@qzyurlend&userId={USER_ID}&op={op}\
         &fileName=@qzyfilestart{parent}{V1_INNER}{name}{V1_INNER}{path}@qzyfileend\
         &uploadFileName=@qzyfilestart$(fname)@qzyfileend",
        op = t.op.code(),
        parent = t.dir.uuid,
        name = t.name,
    )
}

fn v2_body(t: &Target) -> String {
    [
        format!("fileName={}", t.name),
        format!("parentPath={}", t.dir.path),
        "size=$(fsize)".to_owned(),
        "hash=$(hash)".to_owned(),
        "key=$(key)".to_owned(),
        "mimeType=$(mimeType)".to_owned(),
        "ip=$(ip)".to_owned(),
        "bucket=$(bucket)".to_owned(),
        format!("userId={USER_ID}"),
        format!("op={}", t.op.code()),
        format!("parentId={}", t.dir.uuid),
        "uploadFileName=$(fname)".to_owned(),
        "step=1".to_owned(),
        "type=wcs".to_owned(),
    ]
    .join(V2_SEPARATOR)
}

impl Pan6 {
    /// `http://HOST:PORT/wcs`.
    pub(crate) fn wcs_url(&self) -> String {
        format!("{}/wcs", self.base_url)
    }

    /// A signed upload token for `target`. `form_style`: the 2018 v1 shape (bucket-only scope + `saveKey`).
    pub(crate) fn upload_token(&self, api: Api, target: &Target, form_style: bool) -> String {
        let now = now_ms();
        let date = chrono::Utc::now().format("%Y-%m-%d");
        let rnd = hex::encode(rand::random::<[u8; 4]>());
        let (key, callback_url, body) = match api {
            Api::V1 => (
                format!("user-upload/v1/{date}/{USER_ID}_{now}_{rnd}.tmp"),
                format!("{}/6pan/v1/store/callback/wcs", self.base_url),
                v1_body(target),
            ),
            Api::V2 => (
                format!("user-upload/direct/{date}/{USER_ID}_{now}-{rnd}.tmp_ip"),
                format!("{}/6pan/v2/upload/wcsCallback", self.base_url),
                v2_body(target),
            ),
        };
        let lifetime = i64::try_from(self.config.upload_token_lifetime.as_millis()).unwrap_or(i64::MAX / 4);
        let mut policy = json!({
            "scope": format!("{BUCKET}:{key}"),
            "deadline": now.saturating_add(lifetime).to_string(),
            "overwrite": 1,
            "fsizeLimit": self.config.fsize_limit,
            "callbackUrl": callback_url,
            "callbackBody": body,
        });
        if let Value::Object(map) = &mut policy {
            if form_style {
                map.insert("scope".to_owned(), json!(BUCKET));
                map.insert("saveKey".to_owned(), json!(key));
            }
            if api == Api::V2 {
                map.insert("separate".to_owned(), json!("0"));
            }
        }
        self.keys.upload_token(&policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_bodies() {
        let mut dir = Entry::root();
        dir.uuid = "u1".into();
        dir.path = "/a".into();
        let t = Target {
            dir,
            name: "n.bin".into(),
            op: Op::Overwrite,
        };
        let v1 = v1_body(&t);
        assert!(v1.contains("&op=2&"), "{v1}");
        assert!(
            v1.contains("fileName=@qzyfilestartu1|@qzy_inner@|n.bin|@qzy_inner@|/a/n.bin@qzyfileend"),
            "{v1}"
        );
        assert!(v1.ends_with("uploadFileName=@qzyfilestart$(fname)@qzyfileend"));
        let v2 = v2_body(&t);
        assert!(
            v2.starts_with("fileName=n.bin$$$!QZSPLIT$!$$parentPath=/a$$$!QZSPLIT$!$$size=$(fsize)"),
            "{v2}"
        );
        assert!(v2.contains("parentId=u1$$$!QZSPLIT$!$$uploadFileName=$(fname)"), "{v2}");
        assert_eq!(Op::from_code(32), Op::Keep);
    }
}
