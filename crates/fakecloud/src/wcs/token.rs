//! WCS upload tokens `<AccessKey>:<EncodedSign>:<EncodedPutPolicy>` and callback signatures.
//!
//! * `EncodedPutPolicy` = URL-safe base64 (with `=` padding) of the policy JSON;
//! * `EncodedSign` = URL-safe base64 of the lower-case hex HMAC-SHA1(SecretKey, EncodedPutPolicy).
//!
//! Verification accepts base64 with or without padding and the `Authorization` header either verbatim or
//! as `UpToken <token>` (both forms ship in official SDKs).

use base64::Engine;
use base64::alphabet::URL_SAFE as URL_SAFE_ALPHABET;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha1::Sha1;

use super::error::WcsError;

type HmacSha1 = Hmac<Sha1>;

/// URL-safe base64 decoding that does not care about padding.
pub(crate) const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE_ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The WCS account keys.
#[derive(Clone)]
pub(crate) struct Keys {
    /// AccessKey, first part of every token.
    pub(crate) access_key: String,
    /// SecretKey, never sent anywhere.
    pub(crate) secret_key: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

impl Keys {
    fn mac(&self) -> HmacSha1 {
        // HMAC accepts keys of any length, so this cannot fail.
        HmacSha1::new_from_slice(self.secret_key.as_bytes()).expect("HMAC takes any key length")
    }

    /// URL-safe base64 of the hex HMAC-SHA1 of `data`: the WCS signature format.
    fn encoded_sign(&self, data: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(data);
        URL_SAFE.encode(hex::encode(mac.finalize().into_bytes()))
    }

    /// Signs `policy` into an upload token.
    pub(crate) fn upload_token(&self, policy: &Value) -> String {
        let encoded_policy = URL_SAFE.encode(policy.to_string());
        let sign = self.encoded_sign(encoded_policy.as_bytes());
        format!("{}:{sign}:{encoded_policy}", self.access_key)
    }

    /// The `Authorization` value WCS puts on its callback POST: `<AccessKey>:<EncodedSign>` over
    /// `path[?query] + "\n" + body` (the management-token format of the WCS SDKs).
    pub(crate) fn callback_authorization(&self, path_and_query: &str, body: &str) -> String {
        let signed = format!("{path_and_query}\n{body}");
        format!("{}:{}", self.access_key, self.encoded_sign(signed.as_bytes()))
    }

    /// Whether `authorization` is a valid callback signature of this request.
    pub(crate) fn verify_callback(&self, authorization: &str, path_and_query: &str, body: &str) -> bool {
        let Some((ak, sign)) = authorization.trim().split_once(':') else {
            return false;
        };
        ak == self.access_key && self.check_sign(sign, format!("{path_and_query}\n{body}").as_bytes())
    }

    /// Constant-time check of an `EncodedSign` over `data`.
    fn check_sign(&self, sign: &str, data: &[u8]) -> bool {
        let Ok(hex_text) = URL_SAFE_LENIENT.decode(sign) else {
            return false;
        };
        let Ok(raw) = hex::decode(&hex_text) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(data);
        mac.verify_slice(&raw).is_ok()
    }

    /// Verifies the token of an `Authorization` header value and decodes its policy.
    pub(crate) fn verify(&self, authorization: &str, now_ms: i64) -> Result<Policy, WcsError> {
        let value = authorization.trim();
        let token = value.strip_prefix("UpToken ").unwrap_or(value).trim();
        let parts: Vec<&str> = token.split(':').collect();
        let [ak, sign, encoded_policy] = parts[..] else {
            return Err(WcsError::unauthorized("invalid upload token: expected AccessKey:Sign:Policy"));
        };
        if ak != self.access_key {
            return Err(WcsError::unauthorized("invalid upload token: unknown AccessKey"));
        }
        if !self.check_sign(sign, encoded_policy.as_bytes()) {
            return Err(WcsError::unauthorized("invalid upload token: bad signature"));
        }
        let json = URL_SAFE_LENIENT
            .decode(encoded_policy)
            .map_err(|_| WcsError::unauthorized("invalid upload token: policy is not URL-safe base64"))?;
        let raw: RawPolicy =
            serde_json::from_slice(&json).map_err(|e| WcsError::unauthorized(format!("invalid upload token: bad policy JSON: {e}")))?;
        let policy = raw.validate()?;
        if policy.deadline_ms <= now_ms {
            return Err(WcsError::unauthorized("token is expired"));
        }
        Ok(policy)
    }
}

/// A policy as sent: numbers may come as JSON numbers or strings (6pan sends `deadline` as a string).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPolicy {
    scope: Option<String>,
    deadline: Option<Value>,
    overwrite: Option<Value>,
    fsize_limit: Option<Value>,
    save_key: Option<String>,
    return_body: Option<String>,
    callback_url: Option<String>,
    callback_body: Option<String>,
}

fn lenient_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl RawPolicy {
    fn validate(self) -> Result<Policy, WcsError> {
        let bad = |what: &str| WcsError::unauthorized(format!("invalid upload token: {what}"));
        let scope = self.scope.filter(|s| !s.is_empty()).ok_or_else(|| bad("scope is required"))?;
        let (bucket, key) = match scope.split_once(':') {
            Some((bucket, key)) => (bucket.to_owned(), Some(key.to_owned())),
            None => (scope, None),
        };
        let deadline_ms = self
            .deadline
            .as_ref()
            .and_then(lenient_i64)
            .ok_or_else(|| bad("deadline is required"))?;
        let overwrite = match self.overwrite.as_ref() {
            None | Some(Value::Null) => false,
            Some(v) => lenient_i64(v).ok_or_else(|| bad("overwrite must be 0 or 1"))? == 1,
        };
        let fsize_limit = match self.fsize_limit.as_ref() {
            None | Some(Value::Null) => 0,
            Some(v) => u64::try_from(lenient_i64(v).ok_or_else(|| bad("fsizeLimit must be a number"))?).unwrap_or(0),
        };
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(Policy {
            bucket,
            key,
            deadline_ms,
            overwrite,
            fsize_limit,
            save_key: nonempty(self.save_key),
            return_body: nonempty(self.return_body),
            callback_url: nonempty(self.callback_url),
            callback_body: self.callback_body.unwrap_or_default(),
        })
    }
}

/// A verified upload policy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Bucket part of `scope`.
    pub(crate) bucket: String,
    /// Key part of `scope`: where the upload must go (wins over any client-supplied key).
    pub(crate) key: Option<String>,
    /// `deadline`, Unix ms.
    pub(crate) deadline_ms: i64,
    /// `overwrite == 1`.
    pub(crate) overwrite: bool,
    /// `fsizeLimit`; 0 = unlimited.
    pub(crate) fsize_limit: u64,
    /// `saveKey` (form upload only).
    pub(crate) save_key: Option<String>,
    /// `returnBody`.
    pub(crate) return_body: Option<String>,
    /// `callbackUrl`.
    pub(crate) callback_url: Option<String>,
    /// `callbackBody` template.
    pub(crate) callback_body: String,
}

impl Policy {
    /// Refuses `size` bytes when over `fsizeLimit` (401, as WCS documents).
    pub(crate) fn check_size(&self, size: u64) -> Result<(), WcsError> {
        if self.fsize_limit > 0 && size > self.fsize_limit {
            return Err(WcsError::unauthorized(format!(
                "file size {size} exceeds the fsizeLimit {} of the upload token",
                self.fsize_limit
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Keys {
        Keys {
            access_key: "ak".into(),
            secret_key: "sk".into(),
        }
    }

    #[test]
    fn token_round_trip_and_tampering() {
        let k = keys();
        let token = k.upload_token(&json!({"scope": "b:dir/k.tmp", "deadline": "2000", "overwrite": 1, "fsizeLimit": 10}));
        let p = k.verify(&token, 1999).unwrap();
        assert_eq!((p.bucket.as_str(), p.key.as_deref()), ("b", Some("dir/k.tmp")));
        assert!(p.overwrite);
        assert_eq!(p.fsize_limit, 10);
        assert!(p.check_size(11).is_err() && p.check_size(10).is_ok());
        assert!(k.verify(&format!("UpToken {token}"), 0).is_ok());
        let expired = k.verify(&token, 2000).unwrap_err();
        assert!(matches!(expired, WcsError::Status { code: 401, .. }));
        // Another secret, another access key, an altered policy: all refused.
        let other = Keys {
            access_key: "ak".into(),
            secret_key: "other".into(),
        };
        assert!(other.verify(&token, 0).is_err());
        assert!(k.verify(&token.replacen("ak:", "xx:", 1), 0).is_err());
        let (head, _) = token.rsplit_once(':').unwrap();
        let forged = URL_SAFE.encode(json!({"scope": "b", "deadline": "9999999999999"}).to_string());
        assert!(k.verify(&format!("{head}:{forged}"), 0).is_err());
    }

    /// The token of seed 000 decodes to a 40-character hex sign, which is the shape produced here.
    #[test]
    fn sign_is_base64_of_hex() {
        let token = keys().upload_token(&json!({"scope": "b", "deadline": 1}));
        let sign = token.split(':').nth(1).unwrap();
        let hex_text = URL_SAFE.decode(sign).unwrap();
        assert_eq!(hex_text.len(), 40);
        assert!(hex_text.iter().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn callback_signature() {
        let k = keys();
        let auth = k.callback_authorization("/cb?x=1", "callbackBody=a");
        assert!(k.verify_callback(&auth, "/cb?x=1", "callbackBody=a"));
        assert!(!k.verify_callback(&auth, "/cb?x=1", "callbackBody=b"));
        assert!(!k.verify_callback("nonsense", "/cb", ""));
    }
}
