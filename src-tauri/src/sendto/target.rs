//! The target remembered by "always use this" on the confirm sheet.

use pandrop_engine::store::Store;

use super::dto::SendToTarget;
use crate::error::{ErrorCode, IpcError, IpcResult};

/// The application setting the target is stored under.
const KEY: &str = "send_to_target";

/// The remembered target, if any (one that no longer parses counts as none).
pub(crate) fn load(store: &Store) -> IpcResult<Option<SendToTarget>> {
    Ok(store.app_setting(KEY)?.and_then(|v| serde_json::from_value(v).ok()))
}

/// Remembers `target` for the next batches.
pub(crate) fn save(store: &Store, target: &SendToTarget) -> IpcResult<()> {
    let value = serde_json::to_value(target).map_err(|e| IpcError::new(ErrorCode::Store, e.to_string()))?;
    Ok(store.set_app_setting(KEY, &value)?)
}

/// Forgets the target: the next batch asks again.
pub(crate) fn forget(store: &Store) -> IpcResult<()> {
    Ok(store.set_app_setting(KEY, &serde_json::Value::Null)?)
}
