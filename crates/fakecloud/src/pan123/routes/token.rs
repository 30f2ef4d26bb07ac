//! `POST /api/v1/access_token`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::json;

use super::input::json_body;
use crate::pan123::Pan123;
use crate::pan123::auth::check_platform;
use crate::pan123::envelope::{ApiError, ApiResult, CODE_UNAUTHORIZED, ok};

/// Issues a token for `{clientID, clientSecret}`.
///
/// Wrong credentials are a business answer: HTTP 200 with body code 401 (unlike an invalid token on the
/// other routes, which also sets HTTP status 401).
pub(crate) async fn issue(State(p): State<Arc<Pan123>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    check_platform(&headers)?;
    let fields = json_body(&headers, &body)?;
    let client_id = fields.string("clientID")?;
    let client_secret = fields.string("clientSecret")?;
    if client_id != p.config.client_id || client_secret != p.config.client_secret {
        tracing::info!("access token refused: wrong credentials");
        return Err(ApiError::Code {
            code: CODE_UNAUTHORIZED,
            message: "clientID或clientSecret错误".to_owned(),
        });
    }
    let lifetime = p.config.token_lifetime;
    let pan = Arc::clone(&p);
    let issued = p
        .store
        .blocking(move |store| -> Result<_, ApiError> { Ok(pan.tokens.issue(&store.db(), &client_id, lifetime)?) })
        .await?;
    Ok(ok(json!({ "accessToken": issued.token, "expiredAt": issued.expired_at })))
}
