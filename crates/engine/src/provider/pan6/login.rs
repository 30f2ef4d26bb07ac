//! Logging in to 6pan with a phone number or user name and a password (spec §9.1, §10.1).

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;

use super::client::{endpoint, rotated_header};
use super::{PROVIDER, Pan6Api, envelope};
use crate::error::{Error, Result};
use crate::hash::md5_hex;
use crate::http;

/// Logs in and returns the session token. The password leaves this machine only as its MD5 hex, as the
/// API requires; a value of digits only is taken as a phone number by the server.
pub async fn login(http: &reqwest::Client, base: &Url, version: Pan6Api, value: &str, password: &SecretString) -> Result<SecretString> {
    let path = match version {
        Pan6Api::V1 => "v1/user/login",
        Pan6Api::V2 => "v2/user/login",
    };
    let body = json!({
        "value": value,
        "password": md5_hex(password.expose_secret().as_bytes()),
    });
    let resp = http
        .post(endpoint(base, path)?)
        .json(&body)
        .send()
        .await
        .map_err(|e| Error::from_transport(PROVIDER, e))?;
    let status = resp.status().as_u16();
    let header = rotated_header(version, resp.headers());
    let bytes = http::read_capped(PROVIDER, resp).await?;
    envelope::decode(status, &bytes, value).map_err(|e| match e {
        Error::Api { message, code, .. } => Error::Auth {
            provider: PROVIDER,
            message: format!("login refused: {message} ({code})"),
        },
        other => other,
    })?;
    let token = match version {
        Pan6Api::V1 => envelope::body_token(&bytes).or(header),
        Pan6Api::V2 => header,
    };
    token.map(SecretString::from).ok_or_else(|| Error::Protocol {
        provider: PROVIDER,
        detail: "login succeeded but no session token came back".into(),
    })
}
